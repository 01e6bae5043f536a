"""Reporting gaps: a batch checked against the guideline catalogues (`evqc.guidelines`),
and what it lacks stored for the portal, the API, the reports and the release gate.

Gaps are derived data: a check replaces them whole, so checking twice gives the same
rows, and they are not audited (the changes that caused them are).
"""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from batches.models import Batch, CheckSweep, GuidelineCheck, ReportingGap
from batches.selectors import batch_record_of, record_queryset
from evqc.guidelines import Finding, Status, check_record, rules_of
from evqc.guidelines.scores import completeness

STORED = frozenset({Status.GAP, Status.WARNING, Status.EXCEPTED})
# Database connections drop and locks time out: those are worth another try.
TRANSIENT = (OperationalError, InterfaceError)
logger = logging.getLogger(__name__)


MAX_CHECK_ATTEMPTS = 3
GAVE_UP = "stopped after {attempts} attempts: the check failed or was killed each time"


def batch_check_attempt(batch_id: int) -> bool:
    """Run a check of a batch that counts its attempts, for the task that asks for it.

    A check whose worker was killed is delivered again (acks_late); one that kills its
    worker every time would be delivered forever. So each attempt is counted before it
    runs, and after MAX_CHECK_ATTEMPTS the batch is marked failed instead. A check that
    raises anything but a transient database error is marked failed at once.
    """
    started = Batch.objects.filter(pk=batch_id, check_attempts__lt=MAX_CHECK_ATTEMPTS).update(
        check_pending=False, check_attempts=F("check_attempts") + 1
    )
    if not started:
        if Batch.objects.filter(pk=batch_id).exists():  # else: deleted, nothing to check
            _mark_failed(batch_id, GAVE_UP.format(attempts=MAX_CHECK_ATTEMPTS))
        return False
    try:
        done = batch_check(batch_id)
    except TRANSIENT:
        raise  # the task retries it, and counts the attempt
    except Exception as error:
        _mark_failed(batch_id, f"{type(error).__name__}: {error}")
        raise
    Batch.objects.filter(pk=batch_id).update(
        check_attempts=0, check_failed_at=None, check_error=""
    )
    return done


def _mark_failed(batch_id: int, error: str) -> None:
    logger.error("checking batch %s failed: %s", batch_id, error)
    Batch.objects.filter(pk=batch_id).update(
        check_failed_at=timezone.now(), check_error=error[:2000], check_attempts=0
    )


def batch_check(batch_id: int) -> bool:
    """Check a batch against every catalogue and replace its gaps and check rows in one
    transaction; False (and nothing done) when the batch no longer exists.

    1. Lock the batch row, so two checks of one batch run one after the other.
    2. Load its record (a fixed number of queries) and run the rules (pure).
    3. Replace the batch's ReportingGap and GuidelineCheck rows.
    """
    with transaction.atomic():
        batch = Batch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None:
            return False
        loaded = record_queryset().get(pk=batch_id)
        findings = check_record(batch_record_of(loaded))
        exceptions = {exception.rule: exception for exception in loaded.rule_exceptions.all()}
        _replace(batch, findings, exceptions)
    return True


def _replace(batch: Batch, findings: list[Finding], exceptions: dict[str, object]) -> None:
    rules = {rule.id: rule for rule in rules_of()}
    now = timezone.now()
    ReportingGap.objects.filter(batch=batch).delete()
    ReportingGap.objects.bulk_create(
        ReportingGap(
            batch=batch,
            catalogue=found.catalogue,
            rule_id=found.rule_id,
            status=found.status.value,
            severity=found.severity.value,
            confidence=rules[found.rule_id].confidence.value,
            guideline=rules[found.rule_id].guideline,
            title=rules[found.rule_id].title,
            message=rules[found.rule_id].message,
            how_to_fix=rules[found.rule_id].how_to_fix,
            missing=list(found.missing),
            exception=exceptions.get(found.rule_id) if found.status == Status.EXCEPTED else None,
            checked_at=now,
        )
        for found in findings
        if found.status in STORED
    )
    GuidelineCheck.objects.filter(batch=batch).delete()
    GuidelineCheck.objects.bulk_create(
        GuidelineCheck(
            batch=batch,
            catalogue=catalogue,
            applicable=counts.applicable,
            fulfilled=counts.fulfilled,
            excepted=counts.excepted,
            gaps=counts.gaps,
            warnings=counts.warnings,
            batch_version=batch.version,
            checked_at=now,
        )
        for catalogue, counts in completeness(findings).items()
    )


SWEEP_CHUNK = 100
MAX_FAILURES_KEPT = 100


def sweep_start() -> tuple[CheckSweep, list[list[int]]]:
    """Begin a re-check of every batch: the sweep's row, and the batch ids in chunks."""
    ids = list(Batch.objects.order_by("pk").values_list("pk", flat=True))
    sweep = CheckSweep.objects.create(started_at=timezone.now(), total=len(ids))
    return sweep, [ids[start : start + SWEEP_CHUNK] for start in range(0, len(ids), SWEEP_CHUNK)]


def sweep_check_chunk(sweep_id: int, batch_ids: list[int]) -> None:
    """Check a chunk of a sweep's batches and add the counts to the sweep's row. A batch
    whose check fails is counted and named, and the others are still checked; one that
    keeps killing the worker is given up after its attempts (so is the chunk's rerun)."""
    checked, failures = 0, []
    for batch_id in batch_ids:
        try:
            batch_check_attempt(batch_id)
        except Exception as error:  # one broken batch must not stop the night's sweep
            logger.exception("sweep %s: checking batch %s failed", sweep_id, batch_id)
            failures.append({"batch": batch_id, "error": f"{type(error).__name__}: {error}"})
        else:
            checked += 1
    with transaction.atomic():
        sweep = CheckSweep.objects.select_for_update().get(pk=sweep_id)
        sweep.checked = F("checked") + checked
        sweep.failed = F("failed") + len(failures)
        sweep.failures = (sweep.failures + failures)[:MAX_FAILURES_KEPT]
        sweep.save(update_fields=["checked", "failed", "failures"])
        sweep.refresh_from_db()
        if sweep.done and sweep.finished_at is None:
            sweep.finished_at = timezone.now()
            sweep.save(update_fields=["finished_at"])
