import pytest

from batches import services
from batches.access import (
    LOCKED,
    NOT_A_MEMBER,
    REASON_REQUIRED,
    ROLE_TOO_LOW,
    STALE,
)
from batches.models import (
    Aliquot,
    AuditEvent,
    Batch,
    BatchParent,
    CellSource,
    IsolationStep,
    LabMembership,
    Product,
    ProductionRun,
    RuleException,
    SourceSample,
    Storage,
)
from batches.services import (
    ALIQUOT_EXISTS,
    ALREADY_THERE,
    CELL_SOURCE_DIFFERS,
    EXCEPTION_EXISTS,
    HELD_FROM_REQUIRED,
    HOLD_RETURNS,
    ILLEGAL_TRANSITION,
    IMPORT_DECIDED,
    LAB_EXISTS,
    LAST_ADMIN,
    LOT_EXISTS,
    NO_PARENT,
    NO_PRODUCT,
    NO_TRANSITION,
    NOT_SUPERUSER,
    PARENT_ALREADY,
    PARENT_CYCLE,
    PARENT_OTHER_PRODUCT,
    PRODUCT_EXISTS,
    PRODUCT_NAMED,
    PRODUCTION_ONLY_CELL_CULTURE,
    REASON_FOR_MOVE,
    SOURCE_CHANGES_KIND,
    STEP_EXISTS,
    STEP_IN_USE,
    UNKNOWN_CHANGE,
    UNKNOWN_STATUS,
    BatchRecordImporter,
    aliquot_add,
    aliquot_update,
    batch_create,
    batch_parent_add,
    batch_record_import,
    batch_source_set,
    batch_transition,
    batch_update,
    cell_source_for,
    engineering_step_add,
    isolation_step_add,
    isolation_step_remove,
    isolation_step_update,
    lab_create,
    lab_member_remove,
    lab_member_set,
    product_create,
    product_update,
    production_run_set,
    rule_exception_record,
    rule_exception_withdraw,
    storage_set,
)
from evqc import batch_record as record
from evqc.exceptions import AccessDenied, BatchError, BatchErrorCode, Conflict, NotFound
from evqc.vocabulary import BatchStatus, LabRole
from tests.batches.conftest import (
    CELL_BANK,
    LOT,
    PRODUCT_CODE,
    PRODUCT_NAME,
    AuditFailed,
    Case,
    Change,
    World,
    batch_document,
    batch_snapshot,
    db_state,
    dumped,
    events_since,
    expected_event,
    fail_after_audit,
    make_user,
    public_callables,
    quantity,
)

S = BatchStatus
REASON = "Sterility sample leaked; repeat."

# What the full batch of `batch_document(full=True)` holds, as parts.
FULL_SOURCE = {"kind": "cell_culture", "name": CELL_BANK, "species": "human"}
FULL_PRODUCTION = {"vessel_type": "flask", "working_volume": "20 mL"}
FULL_STEP = {
    "order": 1,
    "method": "ultracentrifugation",
    "parameters": {"g_force": "100000 x g", "duration": "70 min"},
}
FULL_STORAGE = {"temperature": "-80 °C", "buffer": "PBS"}
FULL_ALIQUOT = {"label": "A1", "volume": "100 µL"}
UC_STEP = record.isolation_step_model("ultracentrifugation")


def product_fields(**changes):
    """A product as the audit trail shows it (PRODUCT_FIELDS), blank unless changed."""
    return {
        "name": PRODUCT_NAME,
        "description": "",
        "intended_use": "",
        "product_class": "",
        "preparation_term": "",
        "route": "",
        "max_dose_volume": None,
        "body_weight": None,
        "storage_temperature": None,
        "shelf_life": None,
        "max_freeze_thaw_cycles": None,
        "misev_release_criterion": False,
    } | changes


# One prepared call per public write service (see tests/batches/conftest.py: Case)
# ------------------------------------------------------------------------------


def _lab_create(world: World) -> Change:
    return Change(
        run=lambda user, reason: lab_create(code="lab-c", name="Lab C", acting_user=user),
        events=lambda lab, user, reason: [
            expected_event(
                "evqc.lab.created",
                lab,
                actor=user,
                lab=lab,
                after={"code": "lab-c", "name": "Lab C"},
            )
        ],
    )


def _lab_member_set(world: World) -> Change:
    newcomer = make_user("newcomer")
    return Change(
        run=lambda user, reason: lab_member_set(
            world.lab, newcomer, role="analyst", acting_user=user
        ),
        events=lambda membership, user, reason: [
            expected_event(
                "evqc.lab.member_set",
                membership,
                actor=user,
                lab=world.lab,
                after={"user": "newcomer", "role": "analyst"},
            )
        ],
    )


def _lab_member_set_changes_a_role(world: World) -> Change:
    member = make_user("member")
    LabMembership.objects.create(lab=world.lab, user=member, role=LabRole.VIEWER)
    return Change(
        run=lambda user, reason: lab_member_set(
            world.lab, member, role=LabRole.REVIEWER, acting_user=user
        ),
        events=lambda membership, user, reason: [
            expected_event(
                "evqc.lab.member_set",
                membership,
                actor=user,
                lab=world.lab,
                before={"role": "viewer"},
                after={"user": "member", "role": "reviewer"},
            )
        ],
    )


def _lab_member_remove(world: World) -> Change:
    leaver = make_user("leaver")
    membership = LabMembership.objects.create(lab=world.lab, user=leaver, role=LabRole.ANALYST)
    return Change(
        run=lambda user, reason: lab_member_remove(world.lab, leaver, acting_user=user),
        events=lambda returned, user, reason: [
            expected_event(
                "evqc.lab.member_removed",
                LabMembership,
                object_id=membership.pk,
                actor=user,
                lab=world.lab,
                before={"user": "leaver", "role": "analyst"},
            )
        ],
    )


def _product_create(world: World) -> Change:
    return Change(
        run=lambda user, reason: product_create(
            world.lab,
            code="EXO-2",
            name="Exosomes 2",
            max_dose_volume="10 mL",
            acting_user=user,
        ),
        events=lambda product, user, reason: [
            expected_event(
                "evqc.product.created",
                product,
                actor=user,
                lab=world.lab,
                after=product_fields(
                    code="EXO-2",
                    name="Exosomes 2",
                    max_dose_volume=quantity(10.0, "mL", 10.0, "mL", "10 mL"),
                ),
            )
        ],
    )


def _product_update(world: World) -> Change:
    return Change(
        run=lambda user, reason: product_update(
            world.product,
            changes={"route": "intravenous", "body_weight": "70 kg"},
            expected_version=1,
            acting_user=user,
            reason=reason,
        ),
        events=lambda product, user, reason: [
            expected_event(
                "evqc.product.updated",
                product,
                actor=user,
                lab=world.lab,
                before=product_fields(),
                after=product_fields(
                    route="intravenous", body_weight=quantity(70.0, "kg", 70e6, "mg", "70 kg")
                ),
                reason=reason,
            )
        ],
    )


def _batch_create(world: World) -> Change:
    return Change(
        run=lambda user, reason: batch_create(
            world.lab, product=world.product, lot_number="L-NEW", acting_user=user
        ),
        events=lambda batch, user, reason: [
            expected_event(
                "evqc.batch.created",
                batch,
                actor=user,
                lab=world.lab,
                batch=batch,
                after={
                    "lot_number": "L-NEW",
                    "product": str(world.product.pk),
                    "status": "planned",
                    "held_from": "",
                    "source_kind": "",
                    "cell_source": None,
                    "preparation_term": "",
                    "description": "",
                    "evtrack_id": "",
                    "version": 1,
                },
            )
        ],
    )


def _batch_update(world: World) -> Change:
    batch = world.batch()
    return Change(
        run=lambda user, reason: batch_update(
            batch,
            changes={"description": "Second harvest."},
            expected_version=batch.version,
            acting_user=user,
            reason=reason,
        ),
        events=lambda returned, user, reason: [
            expected_event(
                "evqc.batch.updated",
                batch,
                actor=user,
                lab=world.lab,
                batch=batch,
                before=batch_snapshot(batch),
                after=batch_snapshot(
                    batch, description="Second harvest.", version=batch.version + 1
                ),
                reason=reason,
            )
        ],
    )


def _batch_transition(world: World) -> Change:
    batch = world.batch()
    return Change(
        run=lambda user, reason: batch_transition(
            batch, to=S.QUARANTINED, acting_user=user, reason=reason
        ),
        events=lambda returned, user, reason: [
            expected_event(
                "evqc.batch.quarantined",
                batch,
                actor=user,
                lab=world.lab,
                batch=batch,
                before=batch_snapshot(batch),
                after=batch_snapshot(
                    batch, status="quarantined", held_from="in_qc", version=batch.version + 1
                ),
                reason=reason,
            )
        ],
    )


def _batch_source_set(world: World) -> Change:
    batch = world.batch()
    new_bank = {"kind": "cell_culture", "name": "MSC bank 13", "species": "human"}
    return Change(
        run=lambda user, reason: batch_source_set(
            batch,
            record.CellCultureSource.model_validate(new_bank),
            acting_user=user,
            reason=reason,
        ),
        events=lambda returned, user, reason: [
            expected_event(
                "evqc.cell_source.registered",
                CellSource.objects.get(name="MSC bank 13"),
                actor=user,
                lab=world.lab,
                after=dumped(record.CellCultureSource, new_bank),
            ),
            expected_event(
                "evqc.batch.source_set",
                batch,
                actor=user,
                lab=world.lab,
                batch=batch,
                before=dumped(record.CellCultureSource, FULL_SOURCE),
                after=dumped(record.CellCultureSource, new_bank),
                reason=reason,
            ),
        ],
    )


def _production_run_set(world: World) -> Change:
    batch = world.batch()
    corrected = {"vessel_type": "flask", "working_volume": "25 mL"}
    return Change(
        run=lambda user, reason: production_run_set(
            batch, record.Production.model_validate(corrected), acting_user=user, reason=reason
        ),
        events=lambda run, user, reason: [
            expected_event(
                "evqc.production_run.set",
                ProductionRun.objects.get(batch=batch),
                actor=user,
                lab=world.lab,
                batch=batch,
                before=dumped(record.Production, FULL_PRODUCTION),
                after=dumped(record.Production, corrected),
                reason=reason,
            )
        ],
    )


def _storage_set(world: World) -> Change:
    batch = world.batch()
    corrected = {"temperature": "-80 °C", "buffer": "PBS with 25 mM trehalose"}
    return Change(
        run=lambda user, reason: storage_set(
            batch, record.Storage.model_validate(corrected), acting_user=user, reason=reason
        ),
        events=lambda row, user, reason: [
            expected_event(
                "evqc.storage.set",
                Storage.objects.get(batch=batch),
                actor=user,
                lab=world.lab,
                batch=batch,
                before=dumped(record.Storage, FULL_STORAGE),
                after=dumped(record.Storage, corrected),
                reason=reason,
            )
        ],
    )


def _isolation_step_add(world: World) -> Change:
    batch = world.batch()
    step = {"order": 2, "method": "sec", "parameters": {"resin": "CL-2B", "bed_volume": "10 mL"}}
    model = record.isolation_step_model("sec")
    return Change(
        run=lambda user, reason: isolation_step_add(
            batch, model.model_validate(step), acting_user=user
        ),
        events=lambda row, user, reason: [
            expected_event(
                "evqc.isolation_step.added",
                row,
                actor=user,
                lab=world.lab,
                batch=batch,
                after=dumped(model, step),
            )
        ],
    )


def _isolation_step_update(world: World) -> Change:
    batch = world.batch()
    row = IsolationStep.objects.get(batch=batch, order=1)
    corrected = {**FULL_STEP, "parameters": {"g_force": "100000 x g", "duration": "90 min"}}
    return Change(
        run=lambda user, reason: isolation_step_update(
            row, UC_STEP.model_validate(corrected), acting_user=user, reason=reason
        ),
        events=lambda returned, user, reason: [
            expected_event(
                "evqc.isolation_step.updated",
                row,
                actor=user,
                lab=world.lab,
                batch=batch,
                before=dumped(UC_STEP, FULL_STEP),
                after=dumped(UC_STEP, corrected),
                reason=reason,
            )
        ],
    )


def _isolation_step_remove(world: World) -> Change:
    batch = world.batch()
    row = IsolationStep.objects.get(batch=batch, order=1)
    pk = row.pk
    return Change(
        run=lambda user, reason: isolation_step_remove(row, acting_user=user, reason=reason),
        events=lambda returned, user, reason: [
            expected_event(
                "evqc.isolation_step.removed",
                IsolationStep,
                object_id=pk,
                actor=user,
                lab=world.lab,
                batch=batch,
                before=dumped(UC_STEP, FULL_STEP),
                reason=reason,
            )
        ],
    )


def _engineering_step_add(world: World) -> Change:
    batch = world.batch()
    part = {"method": "electroporation", "cargo": "miR-21", "voltage": "400 V"}
    return Change(
        run=lambda user, reason: engineering_step_add(
            batch, record.Engineering.model_validate(part), acting_user=user
        ),
        events=lambda row, user, reason: [
            expected_event(
                "evqc.engineering.added",
                row,
                actor=user,
                lab=world.lab,
                batch=batch,
                after=dumped(record.Engineering, part),
            )
        ],
    )


def _aliquot_add(world: World) -> Change:
    batch = world.batch()
    part = {"label": "A2", "volume": "50 µL"}
    return Change(
        run=lambda user, reason: aliquot_add(
            batch, record.Aliquot.model_validate(part), acting_user=user
        ),
        events=lambda row, user, reason: [
            expected_event(
                "evqc.aliquot.added",
                row,
                actor=user,
                lab=world.lab,
                batch=batch,
                after=dumped(record.Aliquot, part),
            )
        ],
    )


def _aliquot_update(world: World) -> Change:
    batch = world.batch()
    row = Aliquot.objects.get(batch=batch, label="A1")
    used = {**FULL_ALIQUOT, "status": "used"}
    return Change(
        run=lambda user, reason: aliquot_update(
            row, record.Aliquot.model_validate(used), acting_user=user, reason=reason
        ),
        events=lambda returned, user, reason: [
            expected_event(
                "evqc.aliquot.updated",
                row,
                actor=user,
                lab=world.lab,
                batch=batch,
                before=dumped(record.Aliquot, FULL_ALIQUOT),
                after=dumped(record.Aliquot, used),
                reason=reason,
            )
        ],
    )


def _batch_parent_add(world: World) -> Change:
    child = world.batch()
    parent = world.import_batch("L-PARENT")
    return Change(
        run=lambda user, reason: batch_parent_add(
            child, parent, relation="pooled", volume="5 mL", acting_user=user
        ),
        events=lambda link, user, reason: [
            expected_event(
                "evqc.batch.parent_added",
                link,
                actor=user,
                lab=world.lab,
                batch=child,
                after={
                    "parent": "L-PARENT",
                    "relation": "pooled",
                    "volume": quantity(5.0, "mL", 5.0, "mL", "5 mL"),
                },
            )
        ],
    )


def _rule_exception_record(world: World) -> Change:
    batch = world.batch()
    return Change(
        run=lambda user, reason: rule_exception_record(
            batch, rule="M18-MRK-03", justification="Calnexin blot pending.", acting_user=user
        ),
        events=lambda row, user, reason: [
            expected_event(
                "evqc.rule_exception.recorded",
                row,
                actor=user,
                lab=world.lab,
                batch=batch,
                after={"rule": "M18-MRK-03", "justification": "Calnexin blot pending."},
                reason="Calnexin blot pending.",
            )
        ],
    )


def _rule_exception_withdraw(world: World) -> Change:
    batch = world.batch()
    row = RuleException.objects.get(batch=batch)
    pk = row.pk
    return Change(
        run=lambda user, reason: rule_exception_withdraw(row, acting_user=user, reason=reason),
        events=lambda returned, user, reason: [
            expected_event(
                "evqc.rule_exception.withdrawn",
                RuleException,
                object_id=pk,
                actor=user,
                lab=world.lab,
                batch=batch,
                before={
                    "rule": "M18-QNT-03",
                    "justification": "No protein assay yet.",
                    "recorded_by": str(world.people.admin.pk),
                },
                reason=reason,
            )
        ],
    )


def _batch_record_import(world: World) -> Change:
    document = batch_document("L-IMP", status="in_production", full=True)
    from assays.models import Instrument

    return Change(
        run=lambda user, reason: batch_record_import(document, lab=world.lab, acting_user=user),
        events=lambda batch, user, reason: [
            expected_event(
                "evqc.cell_source.registered",
                CellSource.objects.get(name=CELL_BANK),
                actor=user,
                lab=world.lab,
                after=dumped(record.CellCultureSource, FULL_SOURCE),
            ),
            expected_event(
                "evqc.instrument.registered",
                Instrument.objects.get(name="NS300"),
                actor=user,
                lab=world.lab,
                after={"name": "NS300"},
            ),
            expected_event(
                "evqc.batch.imported",
                batch,
                actor=user,
                lab=world.lab,
                batch=batch,
                after=record.batch_record_json(record.parse_batch_record(document)),
            ),
        ],
    )


def _importer_import_record(world: World) -> Change:
    document = batch_document("L-IMP", status="under_review")
    return Change(
        run=lambda user, reason: BatchRecordImporter(
            lab=world.lab, acting_user=user
        ).import_record(document),
        events=lambda batch, user, reason: [
            expected_event(
                "evqc.batch.imported",
                batch,
                actor=user,
                lab=world.lab,
                batch=batch,
                after=record.batch_record_json(record.parse_batch_record(document)),
            )
        ],
    )


def _cell_source_for(world: World) -> Change:
    source = {"kind": "cell_culture", "name": "HEK293 bank 3", "species": "human"}
    return Change(
        run=lambda user, reason: cell_source_for(
            world.lab, record.CellCultureSource.model_validate(source), acting_user=user
        ),
        events=lambda row, user, reason: [
            expected_event(
                "evqc.cell_source.registered",
                row,
                actor=user,
                lab=world.lab,
                after=dumped(record.CellCultureSource, source),
            )
        ],
    )


ADMIN, REVIEWER = LabRole.ADMIN, LabRole.REVIEWER
CASES = [
    Case(lab_create, _lab_create, role=None, batch_level=False),
    Case(lab_member_set, _lab_member_set, ADMIN, "manage members", batch_level=False),
    Case(
        lab_member_set,
        _lab_member_set_changes_a_role,
        ADMIN,
        "manage members",
        batch_level=False,
        name="lab_member_set-changes-a-role",
    ),
    Case(lab_member_remove, _lab_member_remove, ADMIN, "manage members", batch_level=False),
    Case(product_create, _product_create, ADMIN, "create products", batch_level=False),
    Case(
        product_update,
        _product_update,
        ADMIN,
        "change products",
        batch_level=False,
        reason="Dose set by the IND.",
    ),
    Case(batch_create, _batch_create, what="create batches", batch_level=False),
    Case(batch_update, _batch_update, what="change the batch", amends=True, reason=REASON),
    # The lifecycle has its own tests below (a released batch may still be quarantined).
    Case(
        batch_transition,
        _batch_transition,
        REVIEWER,
        "move a batch to quarantined",
        batch_level=False,
        reason="Mycoplasma suspected.",
    ),
    Case(
        batch_source_set, _batch_source_set, what="change the source", amends=True, reason=REASON
    ),
    Case(
        production_run_set,
        _production_run_set,
        what="change the production run",
        amends=True,
        reason=REASON,
    ),
    Case(storage_set, _storage_set, what="change the storage", amends=True, reason=REASON),
    Case(isolation_step_add, _isolation_step_add, what="record isolation steps"),
    Case(
        isolation_step_update,
        _isolation_step_update,
        what="correct an isolation step",
        amends=True,
        reason=REASON,
    ),
    Case(
        isolation_step_remove,
        _isolation_step_remove,
        what="remove an isolation step",
        amends=True,
        reason=REASON,
    ),
    Case(engineering_step_add, _engineering_step_add, what="record engineering"),
    Case(aliquot_add, _aliquot_add, what="record aliquots"),
    Case(aliquot_update, _aliquot_update, what="change an aliquot", amends=True, reason=REASON),
    Case(batch_parent_add, _batch_parent_add, what="record lineage"),
    Case(rule_exception_record, _rule_exception_record, what="record rule exceptions"),
    Case(
        rule_exception_withdraw,
        _rule_exception_withdraw,
        what="withdraw a rule exception",
        amends=True,
        reason=REASON,
    ),
    Case(
        batch_record_import, _batch_record_import, what="import batch records", batch_level=False
    ),
    Case(
        BatchRecordImporter.import_record,
        _importer_import_record,
        what="import batch records",
        batch_level=False,
    ),
    # Runs inside the transaction of batch_source_set / batch_record_import.
    Case(cell_source_for, _cell_source_for, batch_level=False, atomic=False, checks_access=False),
]
# Public functions of batches.services that write nothing.
DOES_NOT_WRITE = {
    "BatchRecordImporter.check": "checks a document and the importer's right to import it",
    # Writes through the same path as import_record (covered by its case); its chunks and
    # fallback are tested in tests/batches/test_batch_record_io.py.
    "BatchRecordImporter.import_records": "imports each record as import_record does",
    "isolation_step_row": "builds an unsaved row for the services that save it",
    "isolation_step_part": "reads a row back as a batch-record part",
}


def case_id(case: Case) -> str:
    return case.id


def cases(**flags):
    return [case for case in CASES if all(getattr(case, k) == v for k, v in flags.items())]


# Audit completeness
# ------------------------------------------------------------------------------


def test_every_public_function_of_batches_services_has_an_audit_case_or_writes_nothing():
    public = public_callables(services)

    audited = {case.service.__qualname__ for case in CASES}

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
    if case.role is None:
        assert caught.value.message == NOT_SUPERUSER
        assert caught.value.code == BatchErrorCode.ROLE_TOO_LOW
    else:
        assert caught.value.message == NOT_A_MEMBER.format(user="outsider", lab="lab-a")
        assert caught.value.code == BatchErrorCode.NOT_A_MEMBER
    assert db_state() == before


def marked(selected, xfail):
    """The cases as parameters; `xfail` maps a case id to the bug that makes it fail."""
    return [
        pytest.param(
            case,
            id=case.id,
            marks=[pytest.mark.xfail(strict=True, reason=xfail[case.id])]
            if case.id in xfail
            else [],
        )
        for case in selected
    ]


@pytest.mark.parametrize(
    "case",
    marked(cases(checks_access=True), {}),
)
def test_a_viewer_cannot_change_anything(case, world):
    # given
    change = case.prepare(world)
    before = db_state()

    # when
    with pytest.raises(AccessDenied) as caught:
        change.run(world.people.viewer, case.reason)

    # then
    if case.role is None:
        assert caught.value.message == NOT_SUPERUSER
    else:
        assert caught.value.message == ROLE_TOO_LOW.format(
            user="viewer", role=case.role.value, lab="lab-a", what=case.what, have="a viewer"
        )
    assert caught.value.code == BatchErrorCode.ROLE_TOO_LOW
    assert db_state() == before


@pytest.mark.parametrize("role", [LabRole.ANALYST, LabRole.REVIEWER])
@pytest.mark.parametrize("case", cases(role=LabRole.ADMIN), ids=case_id)
def test_only_a_lab_admin_manages_members_and_products(case, role, world):
    # given
    change = case.prepare(world)
    before = db_state()

    # when
    with pytest.raises(AccessDenied) as caught:
        change.run(world.people.with_role(role), case.reason)

    # then
    assert caught.value.message == ROLE_TOO_LOW.format(
        user=role.value,
        role="admin",
        lab="lab-a",
        what=case.what,
        have=f"{'an' if role == LabRole.ANALYST else 'a'} {role.value}",
    )
    assert db_state() == before


def test_a_lab_code_is_used_once(world):
    before = db_state()

    with pytest.raises(Conflict) as caught:
        lab_create(code="lab-a", name="Lab A again", acting_user=world.people.superuser)

    assert caught.value.message == LAB_EXISTS.format(code="lab-a")
    assert db_state() == before


def test_a_lab_admin_cannot_create_a_lab(world):
    with pytest.raises(AccessDenied) as caught:
        lab_create(code="lab-c", name="Lab C", acting_user=world.people.admin)

    assert caught.value.message == NOT_SUPERUSER


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


@pytest.mark.parametrize("reason", ["", "   "])
@pytest.mark.parametrize("case", cases(batch_level=True, amends=True), ids=case_id)
def test_once_in_qc_a_correction_needs_a_reason(case, reason, world):
    # given
    change = case.prepare(world.at(S.IN_QC))
    before = db_state()

    # when
    with pytest.raises(BatchError) as caught:
        change.run(case.actor(world.people), reason)

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


def test_a_first_production_run_or_storage_after_production_needs_no_reason(world):
    # given
    batch = world.import_batch("L-2", status="in_qc")

    # when
    production_run_set(
        batch, record.Production(vessel_type="flask"), acting_user=world.people.analyst
    )
    storage_set(batch, record.Storage(buffer="PBS"), acting_user=world.people.analyst)

    # then
    assert ProductionRun.objects.filter(batch=batch).count() == 1
    assert Storage.objects.filter(batch=batch).count() == 1


# Optimistic locking
# ------------------------------------------------------------------------------


def test_batch_update_with_a_stale_version_is_refused_and_changes_nothing(world):
    # given
    batch = world.import_batch("L-2")
    batch_update(
        batch,
        changes={"description": "first"},
        expected_version=1,
        acting_user=world.people.analyst,
    )
    before = db_state()

    # when
    with pytest.raises(Conflict) as caught:
        batch_update(
            batch,
            changes={"description": "second"},
            expected_version=1,
            acting_user=world.people.analyst,
        )

    # then
    assert caught.value.message == STALE.format(what="Batch L-2", expected=1, actual=2)
    assert caught.value.code == BatchErrorCode.CONFLICT
    assert caught.value.extra == {"expected_version": 1, "current_version": 2}
    assert db_state() == before
    assert Batch.objects.get(pk=batch.pk).description == "first"


def test_batch_update_with_the_current_version_succeeds_and_bumps_it(world):
    batch = world.import_batch("L-2")

    updated = batch_update(
        batch,
        changes={"evtrack_id": "EV260001"},
        expected_version=1,
        acting_user=world.people.analyst,
    )

    reloaded = Batch.objects.get(pk=batch.pk)
    assert (reloaded.evtrack_id, reloaded.version, updated.version) == ("EV260001", 2, 2)


def test_product_update_with_a_stale_version_is_refused(world):
    before = db_state()

    with pytest.raises(Conflict) as caught:
        product_update(
            world.product,
            changes={"route": "intravenous"},
            expected_version=7,
            acting_user=world.people.admin,
            reason="Dose set.",
        )

    assert caught.value.message == STALE.format(
        what=f"Product {PRODUCT_CODE}", expected=7, actual=1
    )
    assert db_state() == before


def test_a_part_change_moves_the_batch_version_on(world):
    # given
    batch = world.import_batch("L-2", status="in_production", full=True)

    # when
    storage_set(
        batch, record.Storage(buffer="PBS"), acting_user=world.people.analyst, reason="moved"
    )

    # then
    assert Batch.objects.get(pk=batch.pk).version == batch.version + 1
    with pytest.raises(Conflict):
        batch_update(
            batch,
            changes={"description": "late"},
            expected_version=batch.version,
            acting_user=world.people.analyst,
        )


# The lifecycle
# ------------------------------------------------------------------------------

LIFECYCLE = {
    S.PLANNED: {S.IN_PRODUCTION},
    S.IN_PRODUCTION: {S.IN_QC, S.QUARANTINED, S.REJECTED},
    S.IN_QC: {S.UNDER_REVIEW, S.QUARANTINED, S.REJECTED},
    S.UNDER_REVIEW: {S.RELEASED, S.REJECTED, S.IN_QC, S.QUARANTINED},
    S.QUARANTINED: {S.IN_PRODUCTION, S.IN_QC, S.UNDER_REVIEW, S.RELEASED, S.REJECTED},
    S.RELEASED: {S.QUARANTINED},
    S.REJECTED: set(),
}
MOVES = [(start, to) for start in S for to in S if to in LIFECYCLE[start]]
NOT_MOVES = [(start, to) for start in S for to in S if to not in LIFECYCLE[start]]


def needs_reviewer(start, to):
    """QA decides releases, rejections and holds, and lifts holds."""
    return to in {S.RELEASED, S.REJECTED, S.QUARANTINED} or start == S.QUARANTINED


def needs_reason(start, to):
    """Moves that stop or undo the normal flow."""
    return (
        to in {S.REJECTED, S.QUARANTINED}
        or start == S.QUARANTINED
        or (start, to) == (S.UNDER_REVIEW, S.IN_QC)
    )


def move_id(move):
    return f"{move[0]}->{move[1]}"


def batch_at(world, status, *, held_from=None):
    """A batch in `status`; a quarantined one is held from `held_from` (in QC unless the
    test says otherwise)."""
    if status == S.QUARANTINED:
        held_from = held_from or S.IN_QC
    return world.import_batch(
        "L-9", status=status.value, held_from=held_from.value if held_from else None
    )


def hold_for(start, to):
    """The status a quarantined batch must be held from for the move to `to` to be legal."""
    return to if start == S.QUARANTINED and to != S.REJECTED else None


def test_the_transition_table_is_the_documented_lifecycle():
    assert services.ALLOWED_TRANSITIONS == LIFECYCLE


@pytest.mark.parametrize("move", MOVES, ids=move_id)
def test_every_move_in_the_table_is_made_by_the_role_it_needs(move, world):
    # given
    start, to = move
    batch = batch_at(world, start, held_from=hold_for(start, to))
    user = world.people.reviewer if needs_reviewer(start, to) else world.people.analyst
    reason = "Hold for investigation." if needs_reason(start, to) else ""
    count = AuditEvent.objects.count()

    # when
    moved = batch_transition(batch, to=to, acting_user=user, reason=reason)

    # then
    reloaded = Batch.objects.get(pk=batch.pk)
    held_from = start.value if to == S.QUARANTINED else ""
    assert (reloaded.status, reloaded.held_from, reloaded.version) == (to, held_from, 2)
    assert moved.version == 2
    assert events_since(count) == [
        expected_event(
            f"evqc.batch.{to.value}",
            batch,
            actor=user,
            lab=world.lab,
            batch=batch,
            before=batch_snapshot(batch),
            after=batch_snapshot(batch, status=to.value, held_from=held_from, version=2),
            reason=reason,
        )
    ]


@pytest.mark.parametrize("move", MOVES, ids=move_id)
def test_a_move_is_refused_to_the_role_below_the_one_it_needs(move, world):
    # given
    start, to = move
    batch = batch_at(world, start, held_from=hold_for(start, to))
    role = LabRole.REVIEWER if needs_reviewer(start, to) else LabRole.ANALYST
    below = LabRole.ANALYST if role == LabRole.REVIEWER else LabRole.VIEWER
    before = db_state()

    # when
    with pytest.raises(AccessDenied) as caught:
        batch_transition(
            batch, to=to, acting_user=world.people.with_role(below), reason="Because."
        )

    # then
    assert caught.value.message == ROLE_TOO_LOW.format(
        user=below.value,
        role=role.value,
        lab="lab-a",
        what=f"move a batch to {to.label}",
        have=f"{'an' if below == LabRole.ANALYST else 'a'} {below.value}",
    )
    assert db_state() == before


@pytest.mark.parametrize("reason", ["", "  "])
@pytest.mark.parametrize("move", [m for m in MOVES if needs_reason(*m)], ids=move_id)
def test_a_move_that_stops_the_flow_needs_a_reason(move, reason, world):
    # given
    start, to = move
    batch = batch_at(world, start, held_from=hold_for(start, to))
    before = db_state()

    # when
    with pytest.raises(BatchError) as caught:
        batch_transition(batch, to=to, acting_user=world.people.reviewer, reason=reason)

    # then
    assert caught.value.message == REASON_FOR_MOVE.format(
        lot="L-9", status=start.label, to=to.label
    )
    assert caught.value.code == BatchErrorCode.REASON_REQUIRED
    assert db_state() == before


def refusal_of(start, to):
    if start == to:
        return ALREADY_THERE.format(lot="L-9", status=start.label)
    if not LIFECYCLE[start]:
        return NO_TRANSITION.format(lot="L-9", status=start.label, to=to.label)
    allowed = " or ".join(status.label for status in S if status in LIFECYCLE[start])
    return ILLEGAL_TRANSITION.format(lot="L-9", status=start.label, allowed=allowed, to=to.label)


@pytest.mark.parametrize("move", NOT_MOVES, ids=move_id)
def test_a_move_outside_the_table_is_refused(move, world):
    # given
    start, to = move
    batch = batch_at(world, start)
    before = db_state()

    # when
    with pytest.raises(BatchError) as caught:
        batch_transition(batch, to=to, acting_user=world.people.admin, reason="Because.")

    # then
    assert caught.value.message == refusal_of(start, to)
    assert caught.value.code == BatchErrorCode.ILLEGAL_TRANSITION
    assert db_state() == before


def test_an_illegal_move_names_the_statuses_it_could_move_to(world):
    batch = batch_at(world, S.IN_QC)

    with pytest.raises(BatchError) as caught:
        batch_transition(batch, to=S.RELEASED, acting_user=world.people.reviewer, reason="x")

    assert caught.value.message == (
        "Batch L-9 is in QC; it can move to under review or rejected or quarantined, "
        "not to released."
    )


@pytest.mark.parametrize("to", [S.IN_PRODUCTION, S.UNDER_REVIEW, S.RELEASED])
def test_lifting_a_hold_returns_only_to_where_the_batch_was_held_from(to, world):
    # given
    batch = batch_at(world, S.QUARANTINED, held_from=S.IN_QC)
    before = db_state()

    # when
    with pytest.raises(BatchError) as caught:
        batch_transition(batch, to=to, acting_user=world.people.reviewer, reason="Cleared.")

    # then
    assert caught.value.message == HOLD_RETURNS.format(lot="L-9", held_from="in QC", to=to.label)
    assert caught.value.code == BatchErrorCode.ILLEGAL_TRANSITION
    assert db_state() == before


def test_a_hold_remembers_where_it_came_from_and_lifting_it_goes_back(world):
    # given
    batch = batch_at(world, S.UNDER_REVIEW)
    reviewer = world.people.reviewer

    # when
    held = batch_transition(batch, to=S.QUARANTINED, acting_user=reviewer, reason="Leak.")
    lifted = batch_transition(held, to=S.UNDER_REVIEW, acting_user=reviewer, reason="Sealed.")

    # then
    assert (held.status, held.held_from) == ("quarantined", "under_review")
    assert (lifted.status, lifted.held_from, lifted.version) == ("under_review", "", 3)
    assert list(
        AuditEvent.objects.filter(batch=batch).order_by("pk").values_list("action", "reason")
    ) == [
        ("evqc.batch.imported", ""),
        ("evqc.batch.quarantined", "Leak."),
        ("evqc.batch.under_review", "Sealed."),
    ]


def test_a_move_with_a_stale_version_is_refused(world):
    batch = batch_at(world, S.IN_QC)
    before = db_state()

    with pytest.raises(Conflict) as caught:
        batch_transition(
            batch, to=S.UNDER_REVIEW, acting_user=world.people.analyst, expected_version=3
        )

    assert caught.value.message == STALE.format(what="Batch L-9", expected=3, actual=1)
    assert db_state() == before


def test_an_analyst_with_a_stale_copy_cannot_lift_a_hold(world):
    # given
    stale = batch_at(world, S.UNDER_REVIEW)
    batch_transition(
        Batch.objects.get(pk=stale.pk),
        to=S.QUARANTINED,
        acting_user=world.people.reviewer,
        reason="Leak.",
    )
    before = db_state()

    # when
    with pytest.raises(AccessDenied) as caught:
        batch_transition(
            stale, to=S.UNDER_REVIEW, acting_user=world.people.analyst, reason="Looks fine."
        )

    # then
    assert caught.value.message == ROLE_TOO_LOW.format(
        user="analyst",
        role="reviewer",
        lab="lab-a",
        what="move a batch to under review",
        have="an analyst",
    )
    assert db_state() == before


# Labs, members and products
# ------------------------------------------------------------------------------


def test_the_last_admin_of_a_lab_cannot_be_demoted_or_removed(world):
    # given
    admin = world.people.admin
    before = db_state()

    # when
    with pytest.raises(BatchError) as demoted:
        lab_member_set(world.lab, admin, role=LabRole.REVIEWER, acting_user=admin)
    with pytest.raises(BatchError) as removed:
        lab_member_remove(world.lab, admin, acting_user=admin)

    # then
    message = LAST_ADMIN.format(user="admin", lab="lab-a")
    assert (demoted.value.message, removed.value.message) == (message, message)
    assert db_state() == before


def test_a_product_code_is_used_once_per_lab(world):
    before = db_state()

    with pytest.raises(Conflict) as caught:
        product_create(world.lab, code=PRODUCT_CODE, name="Other", acting_user=world.people.admin)

    assert caught.value.message == PRODUCT_EXISTS.format(lab="lab-a", code=PRODUCT_CODE)
    assert db_state() == before


def test_a_product_change_needs_a_reason(world):
    before = db_state()

    with pytest.raises(BatchError) as caught:
        product_update(
            world.product,
            changes={"route": "intravenous"},
            expected_version=1,
            acting_user=world.people.admin,
            reason=" ",
        )

    assert caught.value.message == "A reason is required to change a product."
    assert caught.value.code == BatchErrorCode.REASON_REQUIRED
    assert db_state() == before


def test_a_batch_change_of_a_field_it_does_not_own_is_refused(world):
    batch = world.import_batch("L-2")

    with pytest.raises(BatchError) as caught:
        batch_update(
            batch,
            changes={"status": "released"},
            expected_version=1,
            acting_user=world.people.analyst,
        )

    assert caught.value.message == UNKNOWN_CHANGE.format(
        fields="status", allowed="description, preparation_term, evtrack_id"
    )
    assert Batch.objects.get(pk=batch.pk).status == "planned"


def test_a_batch_of_another_labs_product_cannot_be_created(world, other_lab):
    other = Product.objects.create(lab=other_lab, code="OTHER", name="Other")
    before = db_state()

    with pytest.raises(NotFound) as caught:
        batch_create(world.lab, product=other, lot_number="L-2", acting_user=world.people.analyst)

    assert caught.value.message == NO_PRODUCT.format(lab="lab-a", code="OTHER")
    assert db_state() == before


def test_a_lot_number_is_used_once(world):
    world.import_batch("L-2")
    before = db_state()

    with pytest.raises(Conflict) as caught:
        batch_create(
            world.lab, product=world.product, lot_number="L-2", acting_user=world.people.analyst
        )

    assert caught.value.message == LOT_EXISTS.format(lot="L-2")
    assert db_state() == before


# Parts of a batch
# ------------------------------------------------------------------------------


def test_parts_that_exist_once_are_refused_a_second_time(world):
    # given
    batch = world.import_batch("L-2", full=True)
    analyst = world.people.analyst
    before = db_state()

    # when
    with pytest.raises(Conflict) as step:
        isolation_step_add(batch, UC_STEP.model_validate(FULL_STEP), acting_user=analyst)
    with pytest.raises(Conflict) as aliquot:
        aliquot_add(batch, record.Aliquot(label="A1"), acting_user=analyst)
    with pytest.raises(Conflict) as exception:
        rule_exception_record(
            batch, rule="M18-QNT-03", justification="Again.", acting_user=analyst
        )

    # then
    assert step.value.message == STEP_EXISTS.format(lot="L-2", order=1)
    assert aliquot.value.message == ALIQUOT_EXISTS.format(lot="L-2", label="A1")
    assert exception.value.message == EXCEPTION_EXISTS.format(lot="L-2", rule="M18-QNT-03")
    assert db_state() == before


def test_an_exception_to_a_rule_that_is_not_a_rule_id_is_refused_naming_the_field(world):
    batch = world.import_batch("L-2")
    before = db_state()

    with pytest.raises(BatchError) as caught:
        rule_exception_record(
            batch, rule="bad rule", justification="Why not.", acting_user=world.people.analyst
        )

    assert caught.value.code == BatchErrorCode.INVALID
    assert list(caught.value.extra["fields"]) == ["rule"]
    assert db_state() == before


def test_an_isolation_step_that_assay_runs_name_cannot_be_removed(world):
    # given
    document = batch_document("L-2", full=True)
    document["assays"][0] |= {"sample_stage": "in_process", "isolation_step": 1}
    batch = batch_record_import(document, lab=world.lab, acting_user=world.people.admin)
    row = IsolationStep.objects.get(batch=batch)
    before = db_state()

    # when
    with pytest.raises(BatchError) as caught:
        isolation_step_remove(row, acting_user=world.people.analyst)

    # then
    assert caught.value.message == STEP_IN_USE.format(order=1, lot="L-2")
    assert db_state() == before


def test_only_a_cell_culture_batch_has_a_production_run(world):
    batch = world.import_batch("L-2", source={"kind": "biofluid", "material": "plasma"})
    before = db_state()

    with pytest.raises(BatchError) as caught:
        production_run_set(batch, record.Production(), acting_user=world.people.analyst)

    assert caught.value.message == PRODUCTION_ONLY_CELL_CULTURE.format(lot="L-2", kind="biofluid")
    assert db_state() == before


def test_a_cell_culture_batch_with_a_production_run_keeps_its_source_kind(world):
    batch = world.import_batch("L-2", status="in_production", full=True)
    before = db_state()

    with pytest.raises(BatchError) as caught:
        batch_source_set(
            batch,
            record.BiofluidSource(kind="biofluid", material="plasma"),
            acting_user=world.people.analyst,
        )

    assert caught.value.message == SOURCE_CHANGES_KIND.format(lot="L-2", kind="biofluid")
    assert db_state() == before


def test_a_batch_with_a_production_run_cannot_become_a_biofluid_batch(world):
    # given
    batch = batch_create(
        world.lab, product=world.product, lot_number="L-2", acting_user=world.people.analyst
    )
    production_run_set(
        batch, record.Production(vessel_type="flask"), acting_user=world.people.analyst
    )
    before = db_state()

    # when
    with pytest.raises(BatchError) as caught:
        batch_source_set(
            Batch.objects.get(pk=batch.pk),
            record.BiofluidSource(kind="biofluid", material="plasma"),
            acting_user=world.people.analyst,
        )

    # then
    assert caught.value.message == SOURCE_CHANGES_KIND.format(lot="L-2", kind="biofluid")
    assert db_state() == before


def test_a_biofluid_source_is_stored_as_the_batchs_source_sample(world):
    batch = world.import_batch("L-2")

    batch_source_set(
        batch,
        record.BiofluidSource(kind="biofluid", material="plasma", anticoagulant="edta"),
        acting_user=world.people.analyst,
    )

    sample = SourceSample.objects.get(batch=batch)
    assert (sample.kind, sample.material, sample.anticoagulant) == ("biofluid", "plasma", "edta")
    assert Batch.objects.get(pk=batch.pk).source_kind == "biofluid"


def test_an_aliquot_correction_records_what_was_stored_before_it(world):
    # given
    batch = world.import_batch("L-2", status="in_production", full=True)
    stale = Aliquot.objects.get(batch=batch, label="A1")
    aliquot_update(
        Aliquot.objects.get(pk=stale.pk),
        record.Aliquot(label="A1", location="Freezer 2"),
        acting_user=world.people.analyst,
    )

    # when
    aliquot_update(
        stale,
        record.Aliquot(label="A1", location="Freezer 3"),
        acting_user=world.people.analyst,
    )

    # then
    event = AuditEvent.objects.filter(action="evqc.aliquot.updated").latest("pk")
    assert event.before == {"label": "A1", "location": "Freezer 2"}


def test_an_isolation_step_correction_records_what_was_stored_before_it(world):
    # given
    batch = world.import_batch("L-2", status="in_production", full=True)
    stale = IsolationStep.objects.get(batch=batch)
    first = {**FULL_STEP, "notes": "first correction"}
    isolation_step_update(
        IsolationStep.objects.get(pk=stale.pk),
        UC_STEP.model_validate(first),
        acting_user=world.people.analyst,
    )

    # when
    isolation_step_update(
        stale,
        UC_STEP.model_validate({**FULL_STEP, "notes": "second correction"}),
        acting_user=world.people.analyst,
    )

    # then
    event = AuditEvent.objects.filter(action="evqc.isolation_step.updated").latest("pk")
    assert event.before == dumped(UC_STEP, first)


# Lineage
# ------------------------------------------------------------------------------


def test_a_parent_of_another_product_is_refused(world):
    # given
    child = world.import_batch("L-CHILD")
    other = world.import_batch("L-OTHER", product=("EXO-9", "Exosomes 9"))
    before = db_state()

    # when
    with pytest.raises(BatchError) as caught:
        batch_parent_add(child, other, relation="pooled", acting_user=world.people.analyst)

    # then
    assert caught.value.message == PARENT_OTHER_PRODUCT.format(
        lot="L-OTHER", product="EXO-9", expected=PRODUCT_CODE
    )
    assert db_state() == before


def test_a_parent_of_another_lab_is_refused_as_if_it_did_not_exist(world, other_lab):
    # given
    child = world.import_batch("L-CHILD")
    product = product_create(
        other_lab, code="SECRET", name="Secret", acting_user=world.people.outsider
    )
    hidden = batch_create(
        other_lab, product=product, lot_number="L-HIDDEN", acting_user=world.people.outsider
    )
    before = db_state()

    # when
    with pytest.raises(NotFound) as caught:
        batch_parent_add(child, hidden, relation="split", acting_user=world.people.analyst)

    # then
    message = NO_PARENT.format(lab="lab-a", lot="L-HIDDEN")
    assert caught.value.message == message
    assert caught.value.extra == {
        "fields": {"parent": [{"message": message, "code": "not_found"}]}
    }
    assert db_state() == before


def test_a_batch_cannot_become_the_parent_of_its_own_ancestor(world):
    # given
    grandparent = world.import_batch("L-GP")
    parent = world.import_batch("L-P")
    child = world.import_batch("L-C")
    analyst = world.people.analyst
    batch_parent_add(parent, grandparent, relation="split", acting_user=analyst)
    batch_parent_add(child, parent, relation="split", acting_user=analyst)
    before = db_state()

    # when
    with pytest.raises(BatchError) as caught:
        batch_parent_add(grandparent, child, relation="pooled", acting_user=analyst)

    # then
    assert caught.value.message == PARENT_CYCLE.format(lot="L-C", child="L-GP")
    assert db_state() == before


def test_a_batch_cannot_be_its_own_parent(world):
    batch = world.import_batch("L-C")

    with pytest.raises(BatchError) as caught:
        batch_parent_add(batch, batch, relation="pooled", acting_user=world.people.analyst)

    assert caught.value.message == PARENT_CYCLE.format(lot="L-C", child="L-C")
    assert not BatchParent.objects.exists()


def test_a_parent_is_recorded_once(world):
    # given
    parent = world.import_batch("L-P")
    child = world.import_batch("L-C")
    batch_parent_add(child, parent, relation="pooled", acting_user=world.people.analyst)
    before = db_state()

    # when
    with pytest.raises(Conflict) as caught:
        batch_parent_add(child, parent, relation="split", acting_user=world.people.analyst)

    # then
    assert caught.value.message == PARENT_ALREADY.format(lot="L-P", child="L-C")
    assert db_state() == before


# Importing whole batch records
# ------------------------------------------------------------------------------


def assert_refused_at(caught, path, message):
    assert caught.value.message == message
    assert caught.value.extra["fields"] == {
        path: [{"message": message, "code": caught.value.code}]
    }


def test_an_import_of_a_lot_that_exists_writes_nothing(world):
    # given: an admin's import would also register a new product and a cell source
    world.import_batch("L-2")
    document = batch_document("L-2", full=True, product=("NEW", "New product"))
    before = db_state()

    # when
    with pytest.raises(Conflict) as caught:
        batch_record_import(document, lab=world.lab, acting_user=world.people.admin)

    # then
    assert_refused_at(caught, "lot_number", LOT_EXISTS.format(lot="L-2"))
    assert db_state() == before


def test_an_import_of_an_unknown_product_by_an_analyst_writes_nothing(world):
    document = batch_document("L-2", full=True, product=("NEW", "New product"))
    before = db_state()

    with pytest.raises(NotFound) as caught:
        batch_record_import(document, lab=world.lab, acting_user=world.people.analyst)

    assert_refused_at(caught, "product.code", NO_PRODUCT.format(lab="lab-a", code="NEW"))
    assert db_state() == before


def test_an_import_by_an_admin_registers_a_new_product(world):
    document = batch_document("L-2", product=("NEW", "New product"))

    batch = batch_record_import(document, lab=world.lab, acting_user=world.people.admin)

    assert (batch.product.code, batch.product.name, batch.product.lab) == (
        "NEW",
        "New product",
        world.lab,
    )


def test_an_import_naming_a_product_differently_writes_nothing(world):
    document = batch_document("L-2", full=True, product=(PRODUCT_CODE, "Something else"))
    before = db_state()

    with pytest.raises(BatchError) as caught:
        batch_record_import(document, lab=world.lab, acting_user=world.people.admin)

    assert_refused_at(
        caught,
        "product.name",
        PRODUCT_NAMED.format(
            code=PRODUCT_CODE, name=PRODUCT_NAME, lab="lab-a", given="Something else"
        ),
    )
    assert db_state() == before


def test_an_import_whose_cell_source_differs_from_the_registered_one_writes_nothing(world):
    # given
    world.import_batch("L-1", full=True)
    document = batch_document("L-2", full=True, product=("NEW", "New product"))
    document["source"]["species"] = "mouse"
    before = db_state()

    # when
    with pytest.raises(BatchError) as caught:
        batch_record_import(document, lab=world.lab, acting_user=world.people.admin)

    # then
    assert_refused_at(
        caught,
        "source.species",
        CELL_SOURCE_DIFFERS.format(
            name=CELL_BANK, field="species", recorded="human", given="mouse"
        ),
    )
    assert db_state() == before


def test_an_import_naming_a_parent_that_does_not_exist_writes_nothing(world):
    document = batch_document(
        "L-2",
        full=True,
        product=("NEW", "New product"),
        parents=[{"lot_number": "L-GHOST", "relation": "pooled"}],
    )
    before = db_state()

    with pytest.raises(NotFound) as caught:
        batch_record_import(document, lab=world.lab, acting_user=world.people.admin)

    assert_refused_at(
        caught, "parents[0].lot_number", NO_PARENT.format(lab="lab-a", lot="L-GHOST")
    )
    assert db_state() == before


def test_an_import_naming_another_labs_batch_as_parent_writes_nothing(world, other_lab):
    product = product_create(
        other_lab, code=PRODUCT_CODE, name=PRODUCT_NAME, acting_user=world.people.outsider
    )
    batch_create(
        other_lab, product=product, lot_number="L-HIDDEN", acting_user=world.people.outsider
    )
    document = batch_document(
        "L-2", full=True, parents=[{"lot_number": "L-HIDDEN", "relation": "split"}]
    )
    before = db_state()

    with pytest.raises(NotFound) as caught:
        batch_record_import(document, lab=world.lab, acting_user=world.people.admin)

    assert_refused_at(
        caught, "parents[0].lot_number", NO_PARENT.format(lab="lab-a", lot="L-HIDDEN")
    )
    assert db_state() == before


def test_an_import_keeps_the_recorded_status_and_everything_the_record_holds(world):
    # given
    document = batch_document("L-2", status="quarantined", held_from="in_qc", full=True)

    # when
    batch = batch_record_import(document, lab=world.lab, acting_user=world.people.reviewer)

    # then
    batch = Batch.objects.get(pk=batch.pk)
    assert (batch.status, batch.held_from, batch.version) == ("quarantined", "in_qc", 1)
    assert (batch.cell_source.name, batch.source_kind) == (CELL_BANK, "cell_culture")
    assert ProductionRun.objects.filter(batch=batch).count() == 1
    assert Storage.objects.filter(batch=batch).count() == 1
    assert list(batch.isolation_steps.values_list("order", "method")) == [
        (1, "ultracentrifugation")
    ]
    assert list(batch.aliquots.values_list("label", flat=True)) == ["A1"]
    assert list(batch.rule_exceptions.values_list("rule", flat=True)) == ["M18-QNT-03"]
    run = batch.assay_runs.get()
    assert (run.method, run.position, run.instrument.name) == ("nta", 1, "NS300")
    assert run.results.get().stock_canonical == 2.1e11


def test_an_import_that_is_not_a_batch_record_writes_nothing(world):
    before = db_state()

    with pytest.raises(record.BatchRecordError) as caught:
        batch_record_import(
            {"schema": "evqc.batch-record/1", "lot_number": "L-2"},
            lab=world.lab,
            acting_user=world.people.admin,
        )

    assert caught.value.message == "product: is required"
    assert db_state() == before


def test_an_import_of_a_held_from_status_for_a_batch_that_is_not_quarantined_writes_nothing(
    world,
):
    document = batch_document("L-2", status="in_qc", held_from="in_production", full=True)
    before = db_state()

    with pytest.raises(record.BatchRecordError) as caught:
        batch_record_import(document, lab=world.lab, acting_user=world.people.admin)

    assert caught.value.message == f"held_from: {record.HELD_ONLY_WHEN_QUARANTINED}"
    assert db_state() == before


def test_an_importer_keeps_what_it_stored_and_forgets_what_a_refused_record_rolled_back(world):
    # given: the refused record registers product NEWER before it is refused
    importer = BatchRecordImporter(lab=world.lab, acting_user=world.people.admin)
    importer.import_record(batch_document("L-2", full=True, product=("NEW", "New product")))
    refused = batch_document("L-3", full=True, product=("NEWER", "Newer product"))
    refused["parents"] = [{"lot_number": "L-GHOST", "relation": "pooled"}]
    with pytest.raises(NotFound):
        importer.import_record(refused)

    # when
    third = importer.import_record(
        batch_document("L-4", full=True, product=("NEWER", "Newer product"))
    )

    # then
    assert sorted(Batch.objects.values_list("lot_number", flat=True)) == ["L-2", "L-4"]
    assert Product.objects.get(code="NEWER") == third.product
    assert third.cell_source == Batch.objects.get(lot_number="L-2").cell_source


def test_an_importer_checks_the_role_before_reading_anything(world):
    importer = BatchRecordImporter(lab=world.lab, acting_user=world.people.viewer)
    before = db_state()

    with pytest.raises(AccessDenied) as caught:
        importer.import_record(batch_document("L-2", full=True))

    assert caught.value.message == ROLE_TOO_LOW.format(
        user="viewer",
        role="analyst",
        lab="lab-a",
        what="import batch records",
        have="a viewer",
    )
    assert db_state() == before


def test_the_import_event_holds_the_record_as_the_format_writes_it_even_when_planned(world):
    document = batch_document("L-2")

    batch = batch_record_import(document, lab=world.lab, acting_user=world.people.analyst)

    event = AuditEvent.objects.get(batch=batch, action="evqc.batch.imported")
    assert event.after == record.batch_record_json(record.parse_batch_record(document))


@pytest.mark.parametrize("status", ["released", "rejected", "quarantined"])
def test_an_analyst_cannot_import_a_qa_decision(world, status):
    document = batch_document(
        "L-2", status=status, held_from="in_qc" if status == "quarantined" else None
    )
    before = db_state()

    with pytest.raises(AccessDenied) as caught:
        batch_record_import(document, lab=world.lab, acting_user=world.people.analyst)

    assert caught.value.message == IMPORT_DECIDED.format(
        status=BatchStatus(status).label, lab=world.lab.code
    )
    assert db_state() == before


@pytest.mark.parametrize("held_from", [None, "planned", "rejected"])
def test_an_imported_hold_must_say_which_status_it_returns_to(world, held_from):
    document = batch_document("L-2", status="quarantined", held_from=held_from)
    before = db_state()

    with pytest.raises(BatchError) as caught:
        batch_record_import(document, lab=world.lab, acting_user=world.people.reviewer)

    assert list(caught.value.extra["fields"]) == ["held_from"]
    assert caught.value.message == HELD_FROM_REQUIRED.format(
        statuses="in_production, in_qc, under_review, released"
    )
    assert db_state() == before


def test_an_unknown_status_is_refused_naming_the_statuses(world):
    batch = world.import_batch("L-2", status="in_production")

    with pytest.raises(BatchError) as caught:
        batch_transition(batch, to="shipped", acting_user=world.people.admin)

    assert caught.value.extra["fields"]["to"][0]["message"] == UNKNOWN_STATUS.format(
        status="shipped", names=", ".join(status.value for status in BatchStatus)
    )
