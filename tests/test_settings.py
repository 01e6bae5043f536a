import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "config.settings.base",
    "DJANGO_SECRET_KEY": "x7#kq!-production-like-secret-key-of-fifty-or-more-characters-2026",
    "DJANGO_ALLOWED_HOSTS": "evqc.example.org",
    "DATABASE_URL": "sqlite:///:memory:",
}


def manage(*args, **env):
    configured = ("DJANGO_", "DATABASE_", "CELERY_")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(configured)}
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_production_settings_pass_the_deployment_checklist():
    completed = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)

    assert completed.returncode == 0, completed.stderr + completed.stdout


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS"])
def test_without_debug_the_secret_key_and_hosts_are_required(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}

    completed = manage("check", **env, DJANGO_DEBUG="False")

    assert completed.returncode != 0
    assert f"Set the {missing} environment variable" in completed.stderr


def test_a_developer_checkout_runs_without_any_configuration():
    completed = manage("check", DATABASE_URL="sqlite:///:memory:")

    assert completed.returncode == 0, completed.stderr
