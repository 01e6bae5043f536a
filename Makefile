# evqc: `make run` serves it with demo data, `make test` runs the whole suite.
# Both create .venv and install from pyproject.toml; nothing else needs to be installed.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install run test bench lint check clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "evqc needs Python 3.11 or newer (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

# A local, single-user evqc with the demo lab's products and batches: SQLite, and Celery
# tasks run eagerly in the web process.
run: export DJANGO_DEBUG ?= True
run: $(STAMP)
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo
	$(PY) manage.py demo_login
	$(PY) manage.py runserver 127.0.0.1:8000

# SQLite and an in-process Celery worker by default; set DATABASE_URL and
# CELERY_BROKER_URL to run the same suite against PostgreSQL and Redis (see README).
test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m bench

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache
