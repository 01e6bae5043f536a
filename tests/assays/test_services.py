import inspect

import pytest

from assays import services
from assays.models import AssayRun, Instrument, Result, Specification
from assays.services import (
    LIMITS_FOR_QUANTITATIVE,
    METHOD_DOES_NOT_REPORT,
    OUTCOMES_FOR_QUALITATIVE,
    REASON_FOR_REVISION,
    RESULT_ON_OTHER_ATTRIBUTE,
    SIZE_NEEDS_METHOD,
    SPEC_IN_FORCE,
    SPEC_RETIRED,
    UNKNOWN_ATTRIBUTE,
    UNKNOWN_OUTCOMES,
    assay_run_record,
    instruments_for,
    result_correct,
    result_record,
    specification_create,
    specification_revise,
)
from batches.access import LOCKED, NOT_A_MEMBER, REASON_REQUIRED, ROLE_TOO_LOW, STALE
from batches.models import AuditEvent
from batches.services import isolation_step_add
from evqc import batch_record as record
from evqc.exceptions import (
    AccessDenied,
    BatchError,
    BatchErrorCode,
    Conflict,
    SpecErrorCode,
    UnitError,
    UnitErrorCode,
)
from evqc.specs import LOWER_ABOVE_UPPER, Verdict
from evqc.units import KINDS, OTHER_DIMENSION
from evqc.vocabulary import BatchStatus, LabRole
from tests.batches import conftest as shared
from tests.batches.conftest import (
    LOT,
    PRODUCT_CODE,
    AuditFailed,
    Case,
    Change,
    World,
    db_state,
    dumped,
    events_since,
    expected_event,
    fail_after_audit,
    quantity,
)

# The lab, its people, its product and batches (tests/batches/conftest.py).
lab = shared.lab
other_lab = shared.other_lab
people = shared.people
product = shared.product
import_batch = shared.import_batch
world = shared.world

S = BatchStatus
PASS, WARN, FAIL, NO_SPEC = Verdict.PASS, Verdict.WARN, Verdict.FAIL, Verdict.NO_SPEC
REASON = "Transcription error in the run sheet."
NTA_RESULT = {"attribute": "particle_concentration", "value": "2.1e11 particle/mL"}


def spec_snapshot(spec, **changes):
    """A specification as the audit trail shows it."""
    return {
        "attribute": spec.attribute,
        "method": spec.method,
        "version": spec.version,
        "lower_limit": None,
        "lower_inclusive": True,
        "upper_limit": None,
        "upper_inclusive": True,
        "warn_lower": None,
        "warn_upper": None,
        "acceptable_outcomes": [],
        "required_for_release": False,
        "reference": "",
        "effective_from": spec.effective_from.isoformat(),
        "retired_at": None,
    } | changes


def endotoxin_limit(world, upper="0.5 EU/mL", **limits):
    return specification_create(
        world.product,
        attribute="endotoxin",
        upper_limit=upper,
        acting_user=world.people.admin,
        **limits,
    )


def recorded(world, batch, method, result, **assay):
    """Record one assay run of `batch` with one result, and return the stored result."""
    run = assay_run_record(
        batch,
        record.Assay.model_validate(
            {"method": method, "performed_at": "2026-03-02T09:00:00Z", "results": [result]} | assay
        ),
        acting_user=world.people.analyst,
    )
    return run.results.get()


# One prepared call per public write service (see tests/batches/conftest.py: Case)
# ------------------------------------------------------------------------------


def _instruments_for(world: World) -> Change:
    return Change(
        run=lambda user, reason: instruments_for(
            world.lab, {"ZetaView PMX-120", ""}, acting_user=user
        ),
        events=lambda found, user, reason: [
            expected_event(
                "evqc.instrument.registered",
                found["ZetaView PMX-120"],
                actor=user,
                lab=world.lab,
                after={"name": "ZetaView PMX-120"},
            )
        ],
    )


def _specification_create(world: World) -> Change:
    return Change(
        run=lambda user, reason: specification_create(
            world.product,
            attribute="endotoxin",
            upper_limit="0.5 EU/mL",
            required_for_release=True,
            reference="USP <85>",
            acting_user=user,
        ),
        events=lambda spec, user, reason: [
            expected_event(
                "evqc.specification.created",
                spec,
                actor=user,
                lab=world.lab,
                after=spec_snapshot(
                    spec,
                    upper_limit=quantity(0.5, "EU/mL", 0.5, "EU/mL", "0.5 EU/mL"),
                    required_for_release=True,
                    reference="USP <85>",
                ),
            )
        ],
    )


def _specification_revise(world: World) -> Change:
    first = endotoxin_limit(world)
    return Change(
        run=lambda user, reason: specification_revise(
            first, upper_limit="0.3 EU/mL", acting_user=user, reason=reason
        ),
        events=lambda revised, user, reason: [
            expected_event(
                "evqc.specification.revised",
                revised,
                actor=user,
                lab=world.lab,
                before=spec_snapshot(
                    first,
                    upper_limit=quantity(0.5, "EU/mL", 0.5, "EU/mL", "0.5 EU/mL"),
                    retired_at=Specification.objects.get(pk=first.pk).retired_at.isoformat(),
                ),
                after=spec_snapshot(
                    revised, upper_limit=quantity(0.3, "EU/mL", 0.3, "EU/mL", "0.3 EU/mL")
                ),
                reason=reason,
            )
        ],
    )


def _assay_run_record(world: World) -> Change:
    batch = world.batch()
    assay = {
        "method": "bca",
        "instrument": "Plate reader 2",
        "performed_at": "2026-03-02T09:00:00Z",
        "lysis_buffer": "RIPA",
        "results": [{"attribute": "protein_concentration", "value": "120 µg/mL"}],
    }
    return Change(
        run=lambda user, reason: assay_run_record(
            batch, record.Assay.model_validate(assay), acting_user=user
        ),
        events=lambda run, user, reason: [
            expected_event(
                "evqc.instrument.registered",
                Instrument.objects.get(name="Plate reader 2"),
                actor=user,
                lab=world.lab,
                after={"name": "Plate reader 2"},
            ),
            expected_event(
                "evqc.assay_run.recorded",
                run,
                actor=user,
                lab=world.lab,
                batch=batch,
                after=dumped(record.Assay, assay),
            ),
        ],
    )


def _result_record(world: World) -> Change:
    batch = world.batch()
    run = AssayRun.objects.get(batch=batch)
    result = {"attribute": "size_mode", "value": "112 nm"}
    return Change(
        run=lambda user, reason: result_record(
            run, record.Result.model_validate(result), acting_user=user
        ),
        events=lambda row, user, reason: [
            expected_event(
                "evqc.result.recorded",
                row,
                actor=user,
                lab=world.lab,
                batch=batch,
                after=dumped(record.Result, result),
            )
        ],
    )


def _result_correct(world: World) -> Change:
    batch = world.batch()
    row = Result.objects.get(assay_run__batch=batch)
    corrected = {"attribute": "particle_concentration", "value": "2.2e11 particle/mL"}
    return Change(
        run=lambda user, reason: result_correct(
            row,
            record.Result.model_validate(corrected),
            expected_version=1,
            acting_user=user,
            reason=reason,
        ),
        events=lambda returned, user, reason: [
            expected_event(
                "evqc.result.corrected",
                row,
                actor=user,
                lab=world.lab,
                batch=batch,
                # A stored concentration says it is the stock's.
                before=dumped(record.Result, NTA_RESULT | {"basis": "stock"}),
                after=dumped(record.Result, corrected),
                reason=reason,
            )
        ],
    )


CASES = [
    # Runs inside the transaction of assay_run_record / batch_record_import.
    Case(instruments_for, _instruments_for, batch_level=False, atomic=False, checks_access=False),
    Case(
        specification_create,
        _specification_create,
        LabRole.ADMIN,
        "set specifications",
        batch_level=False,
    ),
    Case(
        specification_revise,
        _specification_revise,
        LabRole.ADMIN,
        "revise specifications",
        batch_level=False,
        reason="Tighter limit after process validation.",
    ),
    Case(assay_run_record, _assay_run_record, what="record assay runs"),
    Case(result_record, _result_record, what="record results"),
    Case(result_correct, _result_correct, what="correct a result", amends=True, reason=REASON),
]
# Public functions of assays.services that write nothing of their own.
DOES_NOT_WRITE = {
    "specifications_in_force": "reads",
    "spec_limits": "computes limits from a row",
    "result_build": "builds an unsaved row",
    "judge": "computes a verdict",
    "result_part": "reads a row back as a batch-record part",
    # Its callers (assay_run_record, batch_record_import) hold the transaction and write
    # the event that holds the runs; it is covered through their cases.
    "assay_runs_create": "stores runs under its caller's audit event",
    "assay_runs_build": "builds unsaved runs",
    "specification_for": "picks the specification that judges a result",
    "assay_runs_store": "stores runs under its caller's audit event",
}


def case_id(case: Case) -> str:
    return case.id


def cases(**flags):
    return [case for case in CASES if all(getattr(case, k) == v for k, v in flags.items())]


# Audit completeness
# ------------------------------------------------------------------------------


def test_every_public_function_of_assays_services_has_an_audit_case_or_writes_nothing():
    public = {
        name
        for name, function in inspect.getmembers(services, inspect.isfunction)
        if function.__module__ == services.__name__ and not name.startswith("_")
    }

    audited = {case.service.__name__ for case in CASES}

    assert sorted(public) == sorted(audited | set(DOES_NOT_WRITE))
    assert audited.isdisjoint(DOES_NOT_WRITE)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_each_change_writes_exactly_its_audit_events(case, world):
    # given
    change = case.prepare(world)
    actor = case.actor(world.people)
    count = AuditEvent.objects.count()

    # when
    returned = change.run(actor, case.reason)

    # then
    assert events_since(count) == change.events(returned, actor, case.reason)


@pytest.mark.parametrize("case", cases(atomic=True), ids=case_id)
def test_a_change_that_fails_after_writing_its_audit_event_leaves_neither(
    case, world, monkeypatch
):
    # given
    change = case.prepare(world)
    actor = case.actor(world.people)
    before = db_state()
    saved = fail_after_audit(monkeypatch)

    # when
    with pytest.raises(AuditFailed):
        change.run(actor, case.reason)

    # then
    assert len(saved) >= 1
    assert db_state() == before


# Access
# ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", cases(checks_access=True), ids=case_id)
def test_a_non_member_is_refused_and_nothing_is_written(case, world):
    # given
    change = case.prepare(world)
    before = db_state()

    # when
    with pytest.raises(AccessDenied) as caught:
        change.run(world.people.outsider, case.reason)

    # then
    assert caught.value.message == NOT_A_MEMBER.format(user="outsider", lab="lab-a")
    assert caught.value.code == BatchErrorCode.NOT_A_MEMBER
    assert db_state() == before


@pytest.mark.parametrize("case", cases(checks_access=True), ids=case_id)
def test_a_viewer_cannot_record_anything(case, world):
    # given
    change = case.prepare(world)
    before = db_state()

    # when
    with pytest.raises(AccessDenied) as caught:
        change.run(world.people.viewer, case.reason)

    # then
    assert caught.value.message == ROLE_TOO_LOW.format(
        user="viewer", role=case.role.value, lab="lab-a", what=case.what, have="a viewer"
    )
    assert caught.value.code == BatchErrorCode.ROLE_TOO_LOW
    assert db_state() == before


@pytest.mark.parametrize("case", cases(role=LabRole.ADMIN), ids=case_id)
def test_an_analyst_cannot_set_specifications(case, world):
    # given
    change = case.prepare(world)
    before = db_state()

    # when
    with pytest.raises(AccessDenied) as caught:
        change.run(world.people.analyst, case.reason)

    # then
    assert caught.value.message == ROLE_TOO_LOW.format(
        user="analyst", role="admin", lab="lab-a", what=case.what, have="an analyst"
    )
    assert db_state() == before


# Locking and reasons
# ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [S.RELEASED, S.REJECTED])
@pytest.mark.parametrize("case", cases(batch_level=True), ids=case_id)
def test_a_released_or_rejected_batch_refuses_every_change(case, status, world):
    # given
    change = case.prepare(world.at(status))
    before = db_state()

    # when
    with pytest.raises(BatchError) as caught:
        change.run(case.actor(world.people), REASON)

    # then
    assert caught.value.message == LOCKED.format(lot=LOT, status=status.label)
    assert caught.value.code == BatchErrorCode.LOCKED
    assert db_state() == before


@pytest.mark.parametrize("case", cases(batch_level=True, amends=True), ids=case_id)
def test_once_in_qc_a_correction_needs_a_reason(case, world):
    # given
    change = case.prepare(world.at(S.IN_QC))
    before = db_state()

    # when
    with pytest.raises(BatchError) as caught:
        change.run(case.actor(world.people), " ")

    # then
    assert caught.value.message == REASON_REQUIRED.format(what=case.what, lot=LOT, status="in QC")
    assert caught.value.code == BatchErrorCode.REASON_REQUIRED
    assert db_state() == before


@pytest.mark.parametrize("case", cases(batch_level=True, amends=True), ids=case_id)
def test_while_in_production_a_correction_needs_no_reason(case, world):
    # given
    change = case.prepare(world.at(S.IN_PRODUCTION))
    actor = case.actor(world.people)
    count = AuditEvent.objects.count()

    # when
    returned = change.run(actor, "")

    # then
    assert events_since(count) == change.events(returned, actor, "")


@pytest.mark.parametrize("case", cases(batch_level=True, amends=False), ids=case_id)
def test_recording_new_data_after_production_needs_no_reason(case, world):
    # given
    change = case.prepare(world.at(S.UNDER_REVIEW))
    actor = case.actor(world.people)
    count = AuditEvent.objects.count()

    # when
    returned = change.run(actor, "")

    # then
    assert events_since(count) == change.events(returned, actor, "")


# Optimistic locking of results
# ------------------------------------------------------------------------------


def test_a_result_correction_from_a_stale_version_is_refused_and_changes_nothing(world):
    # given: someone else's correction moved the result to version 2
    batch = world.import_batch("L-2", full=True)
    row = Result.objects.get(assay_run__batch=batch)
    first = record.Result.model_validate(NTA_RESULT | {"value": "2.2e11 particle/mL"})
    result_correct(row, first, expected_version=1, acting_user=world.people.reviewer)
    before = db_state()

    # when
    with pytest.raises(Conflict) as caught:
        result_correct(
            row,
            record.Result.model_validate(NTA_RESULT | {"value": "2.3e11 particle/mL"}),
            expected_version=1,
            acting_user=world.people.analyst,
        )

    # then
    assert caught.value.message == STALE.format(
        what="Result particle_concentration of L-2", expected=1, actual=2
    )
    assert caught.value.code == BatchErrorCode.CONFLICT
    assert caught.value.extra == {"expected_version": 1, "current_version": 2}
    assert db_state() == before
    assert Result.objects.get(pk=row.pk).stock_canonical == 2.2e11


def test_a_result_correction_with_the_current_version_succeeds_and_bumps_it(world):
    batch = world.import_batch("L-2", full=True)
    row = Result.objects.get(assay_run__batch=batch)

    corrected = result_correct(
        row,
        record.Result.model_validate(NTA_RESULT | {"value": "2.2e11 particle/mL"}),
        expected_version=1,
        acting_user=world.people.analyst,
    )

    reloaded = Result.objects.get(pk=row.pk)
    assert (reloaded.version, corrected.version, reloaded.stock_canonical) == (2, 2, 2.2e11)
    assert (reloaded.position, reloaded.created_at) == (row.position, row.created_at)


def test_a_correction_keeps_the_attribute_of_the_result(world):
    batch = world.import_batch("L-2", full=True)
    row = Result.objects.get(assay_run__batch=batch)
    before = db_state()

    with pytest.raises(BatchError) as caught:
        result_correct(
            row,
            record.Result(attribute="size_mode", value="110 nm"),
            expected_version=1,
            acting_user=world.people.analyst,
        )

    assert caught.value.message == RESULT_ON_OTHER_ATTRIBUTE.format(
        attribute="particle_concentration"
    )
    assert db_state() == before


# Specifications that are refused
# ------------------------------------------------------------------------------


def wrong_dimension(field, given, dimension, kind):
    return UnitError(
        UnitErrorCode.WRONG_DIMENSION,
        field=field,
        given=given,
        problem=OTHER_DIMENSION.format(article="a", dimension=dimension),
        expected=KINDS[kind].expected,
    ).message


SPEC_REFUSALS = {
    "unknown-attribute": (
        {"attribute": "colour", "upper_limit": "1 mg/mL"},
        UNKNOWN_ATTRIBUTE.format(attribute="colour"),
        BatchErrorCode.INVALID,
        "attribute",
    ),
    "size-without-method": (
        {"attribute": "size_mode", "upper_limit": "150 nm"},
        SIZE_NEEDS_METHOD.format(attribute="size_mode"),
        BatchErrorCode.INVALID,
        "method",
    ),
    "method-that-does-not-report-it": (
        {"attribute": "endotoxin", "method": "bca", "upper_limit": "0.5 EU/mL"},
        METHOD_DOES_NOT_REPORT.format(method="bca", attribute="endotoxin"),
        BatchErrorCode.INVALID,
        "method",
    ),
    "limits-on-a-qualitative-attribute": (
        {"attribute": "sterility", "upper_limit": "0 cfu/mL", "acceptable_outcomes": ["growth"]},
        OUTCOMES_FOR_QUALITATIVE.format(attribute="sterility", outcomes="no_growth, growth"),
        BatchErrorCode.INVALID,
        "acceptable_outcomes",
    ),
    "qualitative-without-outcomes": (
        {"attribute": "mycoplasma"},
        OUTCOMES_FOR_QUALITATIVE.format(attribute="mycoplasma", outcomes="not_detected, detected"),
        BatchErrorCode.INVALID,
        "acceptable_outcomes",
    ),
    "an-outcome-the-attribute-does-not-have": (
        {"attribute": "sterility", "acceptable_outcomes": ["no_growth", "sterile"]},
        UNKNOWN_OUTCOMES.format(
            outcomes="sterile", attribute="sterility", known="no_growth, growth"
        ),
        BatchErrorCode.INVALID,
        "acceptable_outcomes",
    ),
    "outcomes-on-a-quantitative-attribute": (
        {"attribute": "endotoxin", "acceptable_outcomes": ["no_growth"]},
        LIMITS_FOR_QUANTITATIVE.format(attribute="endotoxin"),
        BatchErrorCode.INVALID,
        "acceptable_outcomes",
    ),
    "a-limit-in-the-wrong-dimension": (
        {"attribute": "endotoxin", "upper_limit": "0.5 mg/mL"},
        wrong_dimension("upper_limit", "0.5 mg/mL", "mass per volume", "endotoxin_concentration"),
        UnitErrorCode.WRONG_DIMENSION,
        "upper_limit",
    ),
    "a-warning-limit-in-the-wrong-dimension": (
        {"attribute": "endotoxin", "upper_limit": "0.5 EU/mL", "warn_upper": "0.3 mL"},
        wrong_dimension("warn_upper", "0.3 mL", "volume", "endotoxin_concentration"),
        UnitErrorCode.WRONG_DIMENSION,
        "warn_upper",
    ),
    "lower-above-upper": (
        {
            "attribute": "particle_concentration",
            "lower_limit": "5e11 particle/mL",
            "upper_limit": "1e8 particle/µL",
        },
        LOWER_ABOVE_UPPER.format(
            lower="lower_limit", lower_value=5e11, upper="upper_limit", upper_value=1e11
        ),
        SpecErrorCode.LOWER_ABOVE_UPPER,
        "lower_limit",
    ),
}


@pytest.mark.parametrize(
    ("given", "message", "code", "field"), SPEC_REFUSALS.values(), ids=SPEC_REFUSALS.keys()
)
def test_a_specification_that_cannot_judge_is_refused(given, message, code, field, world):
    before = db_state()

    with pytest.raises(BatchError) as caught:
        specification_create(world.product, acting_user=world.people.admin, **given)

    assert caught.value.message == message
    assert caught.value.code == code
    assert caught.value.extra == {"field": field}
    assert db_state() == before


def test_a_specification_for_an_unknown_method_is_refused_naming_the_field(world):
    before = db_state()

    with pytest.raises(BatchError) as caught:
        specification_create(
            world.product,
            attribute="endotoxin",
            method="lal",
            upper_limit="0.5 EU/mL",
            acting_user=world.people.admin,
        )

    assert caught.value.code == BatchErrorCode.INVALID
    assert caught.value.extra == {"field": "method"}
    assert db_state() == before


@pytest.mark.parametrize(
    ("method", "bound"), [("", ""), ("nta", " by nta")], ids=["any-method", "bound-to-nta"]
)
def test_a_second_specification_in_force_for_the_same_attribute_and_method_is_refused(
    method, bound, world
):
    # given
    limits = {"attribute": "size_mode", "upper_limit": "150 nm"} if method else {}
    given = {"attribute": "endotoxin", "upper_limit": "0.5 EU/mL"} | limits
    specification_create(world.product, method=method, acting_user=world.people.admin, **given)
    before = db_state()

    # when
    with pytest.raises(Conflict) as caught:
        specification_create(world.product, method=method, acting_user=world.people.admin, **given)

    # then
    assert caught.value.message == SPEC_IN_FORCE.format(
        product=PRODUCT_CODE, attribute=given["attribute"], bound=bound, version=1
    )
    assert caught.value.code == BatchErrorCode.ALREADY_EXISTS
    assert db_state() == before


def test_a_revision_needs_a_reason(world):
    spec = endotoxin_limit(world)
    before = db_state()

    with pytest.raises(BatchError) as caught:
        specification_revise(
            spec, upper_limit="0.3 EU/mL", acting_user=world.people.admin, reason="  "
        )

    assert caught.value.message == REASON_FOR_REVISION
    assert caught.value.code == BatchErrorCode.REASON_REQUIRED
    assert db_state() == before


def test_a_retired_specification_cannot_be_revised_again(world):
    # given
    first = endotoxin_limit(world)
    specification_revise(
        first, upper_limit="0.3 EU/mL", acting_user=world.people.admin, reason="Tighter."
    )
    retired_at = Specification.objects.get(pk=first.pk).retired_at
    before = db_state()

    # when
    with pytest.raises(Conflict) as caught:
        specification_revise(
            first, upper_limit="0.2 EU/mL", acting_user=world.people.admin, reason="Tighter."
        )

    # then
    assert caught.value.message == SPEC_RETIRED.format(date=f"{retired_at:%Y-%m-%d}")
    assert db_state() == before


def test_a_revision_puts_the_next_version_in_force(world):
    # given
    first = endotoxin_limit(world)

    # when
    second = specification_revise(
        first, upper_limit="0.3 EU/mL", acting_user=world.people.admin, reason="Tighter."
    )

    # then
    in_force = Specification.objects.filter(product=world.product, retired_at__isnull=True)
    assert list(in_force) == [second]
    assert (second.version, second.upper_limit_canonical) == (2, 0.3)
    with pytest.raises(Conflict) as caught:
        endotoxin_limit(world)
    assert caught.value.message == SPEC_IN_FORCE.format(
        product=PRODUCT_CODE, attribute="endotoxin", bound="", version=2
    )


# Verdicts
# ------------------------------------------------------------------------------


@pytest.fixture
def batch(world):
    return world.import_batch("L-V", status="in_qc")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.4 EU/mL", PASS),
        ("500 EU/L", PASS),  # = 0.5 EU/mL, on the inclusive limit
        ("0.5 EU/mL", PASS),
        ("501 EU/L", FAIL),
        ("0.6 EU/mL", FAIL),
    ],
)
def test_an_endotoxin_limit_judges_results_in_any_volume_unit(value, expected, world, batch):
    spec = endotoxin_limit(world, upper="0.5 EU/mL")

    result = recorded(world, batch, "lal_endotoxin", {"attribute": "endotoxin", "value": value})

    assert (result.verdict, result.specification) == (expected, spec)


@pytest.mark.parametrize(
    ("value", "expected"), [("0.49 EU/mL", PASS), ("0.5 EU/mL", FAIL), ("500 EU/L", FAIL)]
)
def test_an_exclusive_upper_limit_fails_a_result_on_the_limit(value, expected, world, batch):
    endotoxin_limit(world, upper="0.5 EU/mL", upper_inclusive=False)

    result = recorded(world, batch, "lal_endotoxin", {"attribute": "endotoxin", "value": value})

    assert result.verdict == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2e11 particle/mL", PASS), ("1e11 particle/mL", PASS), ("9.9e10 particle/mL", FAIL)],
)
def test_a_limit_per_microlitre_judges_results_per_millilitre(value, expected, world, batch):
    # given
    spec = specification_create(
        world.product,
        attribute="particle_concentration",
        lower_limit="1e8 particle/µL",
        acting_user=world.people.admin,
    )

    # when
    result = recorded(world, batch, "nta", {"attribute": "particle_concentration", "value": value})

    # then
    assert spec.lower_limit_canonical == 1e11
    assert result.verdict == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.3 EU/mL", PASS),  # on the warning limit
        ("0.31 EU/mL", WARN),  # just beyond it
        ("0.5 EU/mL", WARN),  # on the inclusive action limit, beyond the warning one
        ("0.51 EU/mL", FAIL),
    ],
)
def test_an_upper_warning_band_warns_between_its_limit_and_the_action_limit(
    value, expected, world, batch
):
    endotoxin_limit(world, upper="0.5 EU/mL", warn_upper="0.3 EU/mL")

    result = recorded(world, batch, "lal_endotoxin", {"attribute": "endotoxin", "value": value})

    assert result.verdict == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2e11 particle/mL", PASS),
        ("1.9e11 particle/mL", WARN),
        ("1e11 particle/mL", WARN),
        ("9e10 particle/mL", FAIL),
    ],
)
def test_a_lower_warning_band_warns_between_its_limit_and_the_action_limit(
    value, expected, world, batch
):
    specification_create(
        world.product,
        attribute="particle_concentration",
        lower_limit="1e11 particle/mL",
        warn_lower="2e11 particle/mL",
        acting_user=world.people.admin,
    )

    result = recorded(world, batch, "nta", {"attribute": "particle_concentration", "value": value})

    assert result.verdict == expected


@pytest.mark.parametrize(
    ("basis", "stock", "expected"),
    [("measured", 2.2e11, PASS), ("stock", 1.1e9, FAIL)],
)
def test_a_diluted_measurement_is_judged_on_the_stock_value(basis, stock, expected, world, batch):
    # given
    specification_create(
        world.product,
        attribute="particle_concentration",
        lower_limit="1e11 particle/mL",
        acting_user=world.people.admin,
    )

    # when
    result = recorded(
        world,
        batch,
        "nta",
        {"attribute": "particle_concentration", "value": "1.1e9 particle/mL", "basis": basis},
        dilution_factor=200,
    )

    # then
    assert (result.basis, result.stock_canonical, result.verdict) == (basis, stock, expected)
    assert result.value.canonical_value == 1.1e9


def test_a_result_added_to_a_diluted_run_is_judged_on_the_stock_value(world, batch):
    # given
    specification_create(
        world.product,
        attribute="particle_concentration",
        lower_limit="1e11 particle/mL",
        acting_user=world.people.admin,
    )
    first = recorded(
        world,
        batch,
        "nta",
        {"attribute": "particle_concentration", "value": "1.1e9 particle/mL", "basis": "stock"},
        dilution_factor=200,
    )

    # when
    added = result_record(
        first.assay_run,
        record.Result(attribute="particle_concentration", value="1.1e9 /mL", basis="measured"),
        acting_user=world.people.analyst,
    )

    # then
    assert (added.position, added.stock_canonical, added.verdict) == (2, 2.2e11, PASS)


def test_a_size_specification_bound_to_nta_does_not_judge_a_tem_size(world, batch):
    # given
    spec = specification_create(
        world.product,
        attribute="size_mode",
        method="nta",
        upper_limit="150 nm",
        acting_user=world.people.admin,
    )

    # when
    by_tem = recorded(world, batch, "tem", {"attribute": "size_mode", "value": "200 nm"})
    by_nta = recorded(world, batch, "nta", {"attribute": "size_mode", "value": "200 nm"})

    # then
    assert (by_tem.verdict, by_tem.specification) == (NO_SPEC, None)
    assert (by_nta.verdict, by_nta.specification) == (FAIL, spec)


def test_a_method_bound_specification_judges_its_method_before_the_general_one(world, batch):
    # given
    general = specification_create(
        world.product,
        attribute="particle_concentration",
        lower_limit="1e9 particle/mL",
        acting_user=world.people.admin,
    )
    by_nta = specification_create(
        world.product,
        attribute="particle_concentration",
        method="nta",
        lower_limit="1e11 particle/mL",
        acting_user=world.people.admin,
    )
    result = {"attribute": "particle_concentration", "value": "5e10 particle/mL"}

    # when
    nta = recorded(world, batch, "nta", result)
    trps = recorded(world, batch, "trps", result)

    # then
    assert (nta.specification, nta.verdict) == (by_nta, FAIL)
    assert (trps.specification, trps.verdict) == (general, PASS)


@pytest.mark.parametrize(("value", "expected"), [("<0.05 EU/mL", PASS), ("<0.6 EU/mL", FAIL)])
def test_a_result_below_the_quantitation_limit_passes_only_if_the_limit_is_within_spec(
    value, expected, world, batch
):
    endotoxin_limit(world, upper="0.5 EU/mL")

    result = recorded(world, batch, "lal_endotoxin", {"attribute": "endotoxin", "value": value})

    assert (result.qualifier, result.verdict) == ("<", expected)


@pytest.mark.parametrize(("outcome", "expected"), [("no_growth", PASS), ("growth", FAIL)])
def test_a_sterility_outcome_is_judged_against_the_acceptable_ones(
    outcome, expected, world, batch
):
    specification_create(
        world.product,
        attribute="sterility",
        acceptable_outcomes=["no_growth"],
        acting_user=world.people.admin,
    )

    result = recorded(world, batch, "sterility", {"attribute": "sterility", "value": outcome})

    assert (result.outcome, result.value, result.verdict) == (outcome, None, expected)


def test_a_result_without_a_specification_has_no_verdict(world, batch):
    result = recorded(
        world, batch, "lal_endotoxin", {"attribute": "endotoxin", "value": "9 EU/mL"}
    )

    assert (result.verdict, result.specification) == (NO_SPEC, None)


def test_a_verdict_is_kept_with_the_specification_version_it_was_judged_against(world, batch):
    # given: 0.4 EU/mL passes version 1 (NMT 0.5) and fails version 2 (NMT 0.3)
    first = endotoxin_limit(world, upper="0.5 EU/mL")
    old = recorded(world, batch, "lal_endotoxin", {"attribute": "endotoxin", "value": "0.4 EU/mL"})

    # when
    second = specification_revise(
        first, upper_limit="0.3 EU/mL", acting_user=world.people.admin, reason="Tighter."
    )
    new = recorded(world, batch, "lal_endotoxin", {"attribute": "endotoxin", "value": "0.4 EU/mL"})

    # then
    stored = Result.objects.get(pk=old.pk)
    assert (stored.specification, stored.verdict) == (first, PASS)
    assert (new.specification, new.verdict) == (second, FAIL)


@pytest.mark.parametrize(
    ("revised_limit", "corrected_value", "expected"),
    [
        ("0.3 EU/mL", "0.45 EU/mL", PASS),  # fails version 2, passes version 1
        ("1 EU/mL", "0.7 EU/mL", FAIL),  # passes version 2, fails version 1
    ],
    ids=["tightened", "loosened"],
)
def test_a_correction_is_judged_again_against_the_version_it_was_recorded_under(
    revised_limit, corrected_value, expected, world, batch
):
    # given
    first = endotoxin_limit(world, upper="0.5 EU/mL")
    old = recorded(world, batch, "lal_endotoxin", {"attribute": "endotoxin", "value": "0.4 EU/mL"})
    specification_revise(
        first, upper_limit=revised_limit, acting_user=world.people.admin, reason="Revised."
    )

    # when
    corrected = result_correct(
        old,
        record.Result(attribute="endotoxin", value=corrected_value),
        expected_version=1,
        acting_user=world.people.analyst,
        reason="Read from the wrong well.",
    )

    # then
    stored = Result.objects.get(pk=old.pk)
    assert (corrected.specification, corrected.verdict) == (first, expected)
    assert (stored.specification, stored.verdict, stored.version) == (first, expected, 2)


@pytest.mark.parametrize("stage", ["harvest", "in_process"])
def test_a_sample_that_is_not_the_product_is_not_judged_by_the_release_specification(
    stage, world, batch
):
    # given: conditioned medium or an in-process sample holds far fewer particles than the
    # product, and the release specification is the product's
    specification_create(
        world.product,
        attribute="particle_concentration",
        lower_limit="1e11 particle/mL",
        acting_user=world.people.admin,
    )
    step = {"isolation_step": 1} if stage == "in_process" else {}
    if step:
        isolation_step_add(
            batch,
            record.isolation_step_model("tff").model_validate({"order": 1, "method": "tff"}),
            acting_user=world.people.analyst,
        )

    # when
    result = recorded(
        world,
        batch,
        "nta",
        {"attribute": "particle_concentration", "value": "8e8 particle/mL"},
        sample_stage=stage,
        **step,
    )

    # then
    assert (result.specification, result.verdict) == (None, "no_spec")
