"""A real prefork worker, SIGKILLed in the middle of a sweep chunk: the chunk is delivered
again and the batches end with the gaps a fresh check gives. Needs a broker that another
process can reach (Redis or RabbitMQ, as in CI's second pass)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from batches import tasks
from batches.gaps import batch_check
from batches.models import Batch, CheckSweep, GuidelineCheck, Lab, LabMembership, ReportingGap
from batches.services import BatchRecordImporter
from tests.batches.test_gaps import document

pytestmark = pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith(("redis", "amqp")),
    reason="a worker in another process needs a shared broker (Redis or RabbitMQ); the "
    "in-memory broker lives in one process",
)
QUEUE = "evqc-worker-killed-test"
BATCHES = 150
ROOT = Path(__file__).resolve().parents[2]


def database_url():
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db["USER"] or "postgres"
    return f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def wait_for(condition, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def gaps_of(batches):
    return {
        batch.pk: sorted(
            ReportingGap.objects.filter(batch=batch).values_list("rule_id", "status", "missing")
        )
        for batch in batches
    }


@pytest.fixture
def prefork_worker(transactional_db):
    environment = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    worker = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            "-Q",
            QUEUE,
            "--loglevel=WARNING",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=environment,
    )
    yield worker
    worker.terminate()
    worker.wait(timeout=30)


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_chunk_reruns_it_to_the_same_gaps(prefork_worker, monkeypatch):
    # given: batches whose imports ask for no checks of their own
    monkeypatch.setattr(tasks, "_send", lambda batch_id: None)
    user = get_user_model().objects.create_user("killer")
    lab = Lab.objects.create(code="lab-k", name="Lab K")
    LabMembership.objects.create(lab=lab, user=user, role="admin")
    BatchRecordImporter(lab=lab, acting_user=user).import_records(
        document(f"EV-K{index:03d}") for index in range(BATCHES)
    )
    batches = list(Batch.objects.filter(lab=lab).order_by("pk"))
    sweep = CheckSweep.objects.create(started_at=timezone.now(), total=len(batches))

    # when: the chunk is half done, its worker process is killed
    tasks.batch_check_chunk_task.apply_async((sweep.pk, [b.pk for b in batches]), queue=QUEUE)
    assert wait_for(lambda: GuidelineCheck.objects.filter(batch__lab=lab).count() >= 40, 60)
    child = int(subprocess.check_output(["pgrep", "-P", str(prefork_worker.pid)]).split()[0])  # noqa: S603, S607
    os.kill(child, signal.SIGKILL)
    killed_at = GuidelineCheck.objects.filter(batch__lab=lab).count() // 4

    # then: the chunk runs again to the end, and every batch has what a check gives
    assert killed_at < BATCHES
    assert wait_for(lambda: CheckSweep.objects.get(pk=sweep.pk).finished_at is not None, 120)
    sweep.refresh_from_db()
    assert (sweep.checked, sweep.failed) == (BATCHES, 0)
    after_rerun = gaps_of(batches)
    for batch in batches:
        batch_check(batch.pk)
    assert gaps_of(batches) == after_rerun
    assert all(GuidelineCheck.objects.filter(batch=b).count() == 4 for b in batches)
