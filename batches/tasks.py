"""Celery tasks of batches: thin wrappers around services, given ids only."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction

from batches.gaps import TRANSIENT

logger = logging.getLogger(__name__)


@shared_task(
    name="batches.batch_check",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    max_retries=5,
)
def batch_check_task(batch_id: int) -> None:
    """Check one batch's reporting gaps (idempotent: a second run stores the same gaps);
    transient database errors are retried, anything else marks the check failed."""
    from batches.gaps import batch_check_attempt

    batch_check_attempt(batch_id)


def batch_check_request(batch_id: int) -> None:
    """Ask for a check of a batch once the current transaction commits (none for a
    rolled-back change), unless one is already waiting for that batch."""
    transaction.on_commit(lambda: _send(batch_id))


def _send(batch_id: int) -> None:
    from batches.models import Batch

    # The conditional update claims "a check is pending": at most one waits per batch. A
    # new change gives a batch whose checks failed its attempts back.
    claimed = Batch.objects.filter(pk=batch_id, check_pending=False)
    if not claimed.update(check_pending=True, check_attempts=0):
        return
    try:
        batch_check_task.delay(batch_id)
    except Exception:
        # The change is committed whatever happens to its check: a broker that is down
        # (or, run eagerly, a failing check, already marked on the batch) must not turn
        # a saved change into an error. The next change or the nightly sweep checks it.
        logger.exception("could not run or send the check of batch %s", batch_id)
        Batch.objects.filter(pk=batch_id).update(check_pending=False)


@shared_task(name="batches.batch_sweep", acks_late=True, reject_on_worker_lost=True)
def batch_sweep_task() -> None:
    """The nightly re-check of every batch, in chunks of about 100 (Celery beat)."""
    from batches.gaps import sweep_start

    sweep, chunks = sweep_start()
    for chunk in chunks:
        batch_check_chunk_task.delay(sweep.pk, chunk)


@shared_task(
    name="batches.batch_check_chunk",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    max_retries=5,
)
def batch_check_chunk_task(sweep_id: int, batch_ids: list[int]) -> None:
    from batches.gaps import sweep_check_chunk

    sweep_check_chunk(sweep_id, batch_ids)


@shared_task(name="batches.idempotency_prune")
def idempotency_prune_task() -> int:
    """Forget Idempotency-Key answers older than a week."""
    from batches.idempotency import prune

    return prune()
