"""Settings for the test suite: base settings with speed knobs turned.

DATABASE_URL and CELERY_BROKER_URL still come from the environment, so the same suite
runs on SQLite with the in-memory broker (the default) or on PostgreSQL with Redis (CI).
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "insecure-key-for-the-test-suite-only")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "False")

from .base import *  # noqa: F403
from .base import STORAGES

# Tests prove the asynchronous path with a real worker (tests/conftest.py), never eagerly.
CELERY_TASK_ALWAYS_EAGER = False

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# Models that exercise evqc's quantity fields in tests/evqc/test_fields.py.
INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp.apps.TestAppConfig"]  # noqa: F405

if CELERY_BROKER_URL == "memory://":  # noqa: F405
    # The in-memory transport polls once a second by default; tests wait on it.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"polling_interval": 0.05}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not SQLite's shared in-memory database: the real Celery worker of the tests
    # writes from its own connection, and shared-cache memory databases lock whole
    # tables without waiting ("database table is locked"); a file in WAL mode waits.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}  # noqa: F405
