import os
import time

import pytest
from django.conf import settings
from django.db import transaction

from config.celery_app import app as celery_app
from tests.testapp.models import Sample


@celery_app.task(name="tests.record_sample")
def record_sample(label: str) -> None:
    Sample.objects.create(label=label)


def wait_for_sample(label: str, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Sample.objects.filter(label=label).exists():
            return True
        time.sleep(0.05)
    return False


def test_a_task_enqueued_in_a_transaction_runs_on_a_real_worker_after_commit(celery_worker):
    with transaction.atomic():
        record_sample.delay_on_commit("after-commit")

    assert wait_for_sample("after-commit")


def test_a_rolled_back_transaction_sends_no_task(celery_worker):
    with pytest.raises(RuntimeError), transaction.atomic():  # noqa: PT012
        record_sample.delay_on_commit("rolled-back")
        raise RuntimeError("the change is abandoned")
    # The worker takes one message at a time, in order: once a later task has run, an
    # earlier one would have run too.
    record_sample.delay("sentinel")

    assert wait_for_sample("sentinel")
    assert not Sample.objects.filter(label="rolled-back").exists()


def test_tasks_travel_as_json_and_survive_a_worker_dying_mid_task():
    conf = celery_app.conf

    assert (conf.task_serializer, conf.accept_content) == ("json", ["json"])
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1


def test_the_worker_uses_the_configured_broker():
    expected = os.environ.get("CELERY_BROKER_URL", "memory://")

    assert celery_app.conf.broker_url == expected == settings.CELERY_BROKER_URL
    assert celery_app.conf.task_always_eager is False
