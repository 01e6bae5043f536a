"""WSGI entry point for production web servers (e.g. `gunicorn config.wsgi`)."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

application = get_wsgi_application()

# What is loaded by now (Django, the apps, pint's registry, the rule catalogues) lives as
# long as the process: freeze it, so that full garbage collections do not walk it again
# on every few requests; and collect the young generation every 20,000 allocations
# instead of 700, since one bulk request builds ~100,000 short-lived objects. Together
# they took garbage collection from 12 % to ~2 % of an instrument's bulk ingest
# (bench/bench_api_ingest.py).
gc.freeze()
gc.set_threshold(20_000, 10, 10)
