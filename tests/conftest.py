import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.contrib.auth import get_user_model

from config.celery_app import app as celery_app


@pytest.fixture(scope="session")
def _running_worker(django_db_setup, django_db_blocker):
    """One real Celery worker for the session, in a thread, consuming from the configured
    broker (memory:// by default, Redis in CI)."""
    with django_db_blocker.unblock():
        celery_app.control.purge()  # messages a crashed earlier run may have left behind
    with start_worker(celery_app, pool="solo", perform_ping_check=False) as worker:
        yield worker


@pytest.fixture
def celery_worker(transactional_db, _running_worker):
    """The real worker; tasks it runs see committed data only, hence transactional_db.
    At the end it waits for the tasks the test set off (an import's gap check, say):
    emptying the database under a running task deadlocks on PostgreSQL."""
    yield _running_worker
    _wait_until_idle()


def _wait_until_idle(timeout: float = 20.0) -> None:
    from celery.worker import state

    from batches.models import Batch

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = state.active_requests or state.reserved_requests
        if not busy and not Batch.objects.filter(check_pending=True).exists():
            return
        time.sleep(0.05)


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user(
        username="ana", password="a-long-test-password", first_name="Ana", last_name="Silva"
    )


@pytest.fixture
def signed_in_client(client, user):
    client.force_login(user)
    return client
