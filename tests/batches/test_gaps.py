import json
import time

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction

from batches import gaps, tasks
from batches.gaps import batch_check
from batches.models import (
    Batch,
    CheckSweep,
    GuidelineCheck,
    Lab,
    LabMembership,
    ReportingGap,
)
from batches.services import batch_record_import, rule_exception_record


def document(lot="EV-001", sizes=1):
    """A batch with no imaging, no protein assay and only tetraspanins: known gaps."""
    return {
        "schema": "evqc.batch-record/1",
        "lot_number": lot,
        "product": {"code": "PL", "name": "Plasma EVs"},
        "status": "in_qc",
        "source": {"kind": "biofluid", "material": "plasma"},
        "isolation_steps": [
            {
                "order": 1,
                "method": "precipitation",
                "parameters": {"kit_name": "ExoQuick", "kit_lot": "L1"},
            },
        ],
        "assays": [
            {
                "method": "nta",
                "performed_at": "2026-03-05T10:00:00Z",
                "results": [
                    {"attribute": "size_mode", "value": 90 + index % 40, "unit": "nm"}
                    for index in range(sizes)
                ],
            },
            {
                "method": "western_blot",
                "performed_at": "2026-03-06T10:00:00Z",
                "markers": [{"protein": p, "detected": True} for p in ("CD9", "CD63", "CD81")],
            },
        ],
    }


@pytest.fixture
def analyst(db):
    user = get_user_model().objects.create_user("ana")
    lab = Lab.objects.create(code="lab-a", name="Lab A")
    LabMembership.objects.create(lab=lab, user=user, role="admin")
    return user


def imported(user, **kwargs):
    return batch_record_import(document(**kwargs), lab=Lab.objects.get(), acting_user=user)


def stored_gaps(batch):
    return sorted(ReportingGap.objects.filter(batch=batch).values_list("rule_id", "status"))


def test_a_check_stores_the_gaps_and_the_counts_behind_each_guideline(analyst):
    batch = imported(analyst)

    assert batch_check(batch.pk) is True

    assert ("M18-SGL-01", "gap") in stored_gaps(batch)
    assert ("M18-QNT-03", "warning") in stored_gaps(batch)
    misev2018 = GuidelineCheck.objects.get(batch=batch, catalogue="misev2018")
    assert (
        misev2018.gaps
        == ReportingGap.objects.filter(batch=batch, catalogue="misev2018", status="gap").count()
    )
    assert misev2018.applicable == misev2018.fulfilled + misev2018.gaps + misev2018.warnings


def test_checking_again_replaces_the_gaps_without_duplicating_them(analyst):
    batch = imported(analyst)
    batch_check(batch.pk)
    first = stored_gaps(batch)

    batch_check(batch.pk)

    assert stored_gaps(batch) == first
    assert GuidelineCheck.objects.filter(batch=batch).count() == 4


def test_an_exception_survives_a_recheck_and_shows_as_excepted_with_its_justification(analyst):
    batch = imported(analyst)
    rule_exception_record(
        batch,
        rule="M18-SGL-01",
        justification="EM done by a partner lab, report attached.",
        acting_user=analyst,
    )

    batch_check(batch.pk)
    batch_check(batch.pk)

    gap = ReportingGap.objects.get(batch=batch, rule_id="M18-SGL-01")
    assert (gap.status, gap.exception.justification) == (
        "excepted",
        "EM done by a partner lab, report attached.",
    )


def test_checking_a_deleted_batch_is_a_harmless_no_op(db, caplog):
    assert batch_check(987654) is False
    assert gaps.batch_check_attempt(987654) is False
    assert not ReportingGap.objects.exists()
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


@pytest.mark.parametrize("sizes", [5, 500])
def test_checking_a_batch_costs_the_same_queries_whatever_its_size(
    analyst, sizes, django_assert_num_queries
):
    batch = imported(analyst, sizes=sizes)

    # the lock (SELECT ... FOR UPDATE); the record: the batch with its one-to-one parts,
    # then steps, engineering, aliquots, parents, exceptions, runs, results, markers,
    # images, distributions (11); gaps deleted and inserted; guideline checks deleted and
    # inserted; the savepoint and its release inside the test's transaction
    with django_assert_num_queries(18):
        batch_check(batch.pk)


def test_a_change_asks_for_one_check_after_commit_and_not_twice_while_one_waits(
    analyst, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(tasks.batch_check_task, "delay", sent.append)

    with django_capture_on_commit_callbacks(execute=True):
        batch = imported(analyst)
    with django_capture_on_commit_callbacks(execute=True):
        rule_exception_record(
            batch, rule="M18-SGL-01", justification="Partner lab.", acting_user=analyst
        )

    assert sent == [batch.pk]
    assert Batch.objects.get(pk=batch.pk).check_pending is True


def test_a_rolled_back_change_asks_for_no_check(analyst, django_capture_on_commit_callbacks):
    def abandoned_import():
        with transaction.atomic():
            imported(analyst)
            raise RuntimeError("the import is abandoned")

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError):
        abandoned_import()

    assert callbacks == []


def wait_for(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.django_db(transaction=True)
def test_a_committed_change_is_checked_by_a_real_worker(celery_worker):
    # given
    user = get_user_model().objects.create_user("worker-test")
    lab = Lab.objects.create(code="lab-w", name="Lab W")
    LabMembership.objects.create(lab=lab, user=user, role="admin")

    # when
    batch = batch_record_import(document("EV-W1"), lab=lab, acting_user=user)

    # then
    assert wait_for(lambda: ReportingGap.objects.filter(batch=batch, rule_id="M18-SGL-01"))
    assert wait_for(lambda: not Batch.objects.get(pk=batch.pk).check_pending)


def test_the_gaps_endpoint_lists_a_batchs_gaps_for_its_lab_only(analyst, client):
    batch = imported(analyst)
    batch_check(batch.pk)
    client.force_login(analyst)

    listed = client.get("/api/v1/batches/EV-001/gaps/").json()

    assert {(gap["rule_id"], gap["status"]) for gap in listed} == set(stored_gaps(batch))
    outsider = get_user_model().objects.create_user("outsider")
    client.force_login(outsider)
    refused = client.get("/api/v1/batches/EV-001/gaps/")
    assert (refused.status_code, refused.json()["message"]) == (404, "No batch EV-001.")


def test_the_compliance_endpoint_gives_the_percentage_met_per_guideline(analyst, client):
    batch = imported(analyst)
    batch_check(batch.pk)
    client.force_login(analyst)

    compliance = {
        c["catalogue"]: c for c in client.get("/api/v1/batches/EV-001/compliance/").json()
    }

    misev2018 = GuidelineCheck.objects.get(batch=batch, catalogue="misev2018")
    assert compliance["misev2018"]["percent"] == pytest.approx(
        100 * misev2018.fulfilled / misev2018.applicable
    )


def test_check_all_rechecks_every_batch_and_counts_what_it_did(analyst, capsys):
    # given: three batches, one of them already checked
    batches = [imported(analyst, lot=f"EV-{index}") for index in range(3)]
    batch_check(batches[0].pk)

    # when
    call_command("check_all")

    # then
    sweep = CheckSweep.objects.get()
    assert (sweep.total, sweep.checked, sweep.failed) == (3, 3, 0)
    assert sweep.finished_at is not None
    assert all(GuidelineCheck.objects.filter(batch=batch).count() == 4 for batch in batches)
    captured = capsys.readouterr()
    assert captured.out.strip() == "Checked 3 of 3 batches; 0 failed."
    assert "3/3" in captured.err


def test_a_sweep_counts_a_failing_batch_and_checks_the_others(analyst, monkeypatch):
    batches = [imported(analyst, lot=f"EV-{index}") for index in range(3)]
    real_check = gaps.batch_check

    def check(batch_id):
        if batch_id == batches[1].pk:
            raise ValueError("a broken record")
        return real_check(batch_id)

    monkeypatch.setattr(gaps, "batch_check", check)
    sweep, chunks = gaps.sweep_start()

    for chunk in chunks:
        gaps.sweep_check_chunk(sweep.pk, chunk)

    sweep.refresh_from_db()
    assert (sweep.checked, sweep.failed, sweep.done) == (2, 1, True)
    assert sweep.failures == [{"batch": batches[1].pk, "error": "ValueError: a broken record"}]
    assert not GuidelineCheck.objects.filter(batch=batches[1]).exists()


def test_check_batch_prints_the_gaps_of_a_batch(analyst, capsys):
    imported(analyst)

    call_command("check_batch", "EV-001", "--format", "json")

    printed = json.loads(capsys.readouterr().out)
    assert printed["lot_number"] == "EV-001"
    assert [check["catalogue"] for check in printed["compliance"]] == [
        "evmetric",
        "misev2018",
        "misev2023",
        "release",
    ]
    assert "M18-SGL-01" in {gap["rule_id"] for gap in printed["gaps"]}


def test_the_nightly_sweep_is_scheduled():
    schedule = settings.CELERY_BEAT_SCHEDULE["nightly-batch-sweep"]

    assert schedule["task"] == tasks.batch_sweep_task.name


def test_a_check_that_fails_is_marked_failed_and_not_retried(analyst, monkeypatch):
    batch = imported(analyst)

    def broken(batch_id):
        raise ValueError("a broken record")

    monkeypatch.setattr(gaps, "batch_check", broken)

    with pytest.raises(ValueError, match="a broken record"):
        tasks.batch_check_task.apply(args=[batch.pk], throw=True)

    batch.refresh_from_db()
    assert batch.check_error == "ValueError: a broken record"
    assert batch.check_failed_at is not None


def test_a_check_that_keeps_killing_its_worker_is_given_up_after_its_attempts(analyst):
    # given: three deliveries that each died mid-check (each counted before it ran)
    batch = imported(analyst)
    Batch.objects.filter(pk=batch.pk).update(check_attempts=gaps.MAX_CHECK_ATTEMPTS)

    # when: the message comes a fourth time
    assert gaps.batch_check_attempt(batch.pk) is False

    # then: it is marked failed, and nothing was checked
    batch.refresh_from_db()
    assert batch.check_error == gaps.GAVE_UP.format(attempts=gaps.MAX_CHECK_ATTEMPTS)
    assert not GuidelineCheck.objects.filter(batch=batch).exists()


def test_a_successful_check_clears_an_earlier_failure(analyst):
    batch = imported(analyst)
    Batch.objects.filter(pk=batch.pk).update(check_attempts=2, check_error="earlier")

    assert gaps.batch_check_attempt(batch.pk) is True

    batch.refresh_from_db()
    assert (batch.check_attempts, batch.check_error, batch.check_failed_at) == (0, "", None)


def test_a_check_that_cannot_be_sent_leaves_the_change_saved_and_can_be_asked_again(
    analyst, django_capture_on_commit_callbacks, monkeypatch
):
    def broker_down(batch_id):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.batch_check_task, "delay", broker_down)

    with django_capture_on_commit_callbacks(execute=True):
        batch = imported(analyst)

    assert Batch.objects.filter(pk=batch.pk).exists()
    assert Batch.objects.get(pk=batch.pk).check_pending is False
