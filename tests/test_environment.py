"""CI runs the suite a second time on PostgreSQL + Redis; these make sure it really does."""

import os

import pytest
from django.db import connection

from config.celery_app import app as celery_app


@pytest.mark.skipif(
    "EVQC_EXPECT_DATABASE" not in os.environ, reason="EVQC_EXPECT_DATABASE is set only by CI"
)
def test_the_suite_runs_on_the_database_ci_asked_for(db):
    assert connection.vendor == os.environ["EVQC_EXPECT_DATABASE"]


@pytest.mark.skipif(
    "EVQC_EXPECT_BROKER" not in os.environ, reason="EVQC_EXPECT_BROKER is set only by CI"
)
def test_the_suite_runs_on_the_broker_ci_asked_for():
    assert celery_app.conf.broker_url.startswith(os.environ["EVQC_EXPECT_BROKER"] + "://")
