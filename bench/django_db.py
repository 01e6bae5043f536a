"""A throwaway evqc database for the benchmarks that need one.

SQLite in a temporary folder by default (what a new user runs); set
EVQC_BENCH_DATABASE_URL to measure on PostgreSQL instead (the database must be empty:
the benchmark migrates it and fills it).
"""

import os
import tempfile
from pathlib import Path

_folder: tempfile.TemporaryDirectory[str] | None = None


def setup() -> None:
    """Configure Django on a new database and migrate it (once per process)."""
    global _folder
    if _folder is not None:
        return
    _folder = tempfile.TemporaryDirectory(prefix="evqc-bench-")
    default = f"sqlite:///{Path(_folder.name) / 'bench.sqlite3'}"
    os.environ["DATABASE_URL"] = os.environ.get("EVQC_BENCH_DATABASE_URL", default)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["CELERY_BROKER_URL"] = "memory://"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
