"""Changes to batches: labs and members, products, producer cells, batches and their
lifecycle, the parts of a batch (source, production, isolation, engineering, storage,
aliquots, lineage), rule exceptions, and whole batch records.

Every function checks the acting user's role in the lab, runs in one transaction, and
writes its audit event in that transaction (`batches.audit`). Parts arrive as
batch-record parts (`evqc.batch_record`), already checked for units and vocabularies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from pydantic import ValidationError

from assays.services import (
    assay_runs_build,
    assay_runs_store,
    instruments_for,
    specifications_in_force,
)
from batches.access import (
    User,
    batch_for_change,
    check_version,
    require_role,
)
from batches.audit import audit, audit_event, audit_many, fields_of
from batches.models import (
    Aliquot,
    Batch,
    BatchParent,
    CellSource,
    EngineeringStep,
    IsolationStep,
    Lab,
    LabMembership,
    Product,
    ProductionRun,
    RuleException,
    SourceSample,
    Storage,
)
from batches.records import part_of, row_values
from evqc import batch_record as record
from evqc.exceptions import (
    AccessDenied,
    BatchError,
    BatchErrorCode,
    Conflict,
    EVQCError,
    NotFound,
)
from evqc.units import UnitError
from evqc.vocabulary import BatchStatus, LabRole, SourceKind

S = BatchStatus

# The lifecycle of a batch. Quarantine is a hold: lifting it returns the batch to the
# status it was held from (`Batch.held_from`), or rejects it.
ALLOWED_TRANSITIONS: dict[BatchStatus, frozenset[BatchStatus]] = {
    S.PLANNED: frozenset({S.IN_PRODUCTION}),
    S.IN_PRODUCTION: frozenset({S.IN_QC, S.QUARANTINED, S.REJECTED}),
    S.IN_QC: frozenset({S.UNDER_REVIEW, S.QUARANTINED, S.REJECTED}),
    S.UNDER_REVIEW: frozenset({S.RELEASED, S.REJECTED, S.IN_QC, S.QUARANTINED}),
    S.QUARANTINED: frozenset({S.IN_PRODUCTION, S.IN_QC, S.UNDER_REVIEW, S.RELEASED, S.REJECTED}),
    S.RELEASED: frozenset({S.QUARANTINED}),
    S.REJECTED: frozenset(),
}
# Quality decisions are QA's: releasing, rejecting, holding and lifting a hold.
REVIEWER_DECIDES = frozenset({S.RELEASED, S.REJECTED, S.QUARANTINED})
# Moves that undo or stop the normal flow say why.
REASON_NEEDED = frozenset({S.REJECTED, S.QUARANTINED})

ILLEGAL_TRANSITION = "Batch {lot} is {status}; it can move to {allowed}, not to {to}."
NO_TRANSITION = "Batch {lot} is {status}; that is final, so it cannot move to {to}."
HOLD_RETURNS = (
    "Batch {lot} was quarantined while {held_from}; lifting the hold returns it to "
    "{held_from} (or rejects it), not to {to}."
)
REASON_FOR_MOVE = "A reason is required to move batch {lot} from {status} to {to}."
ALREADY_THERE = "Batch {lot} is already {status}."
UNKNOWN_STATUS = '"{status}" is not a batch status; expected one of {names}.'
IMPORT_DECIDED = (
    "A {status} batch records a QA decision: importing it needs the reviewer role in lab {lab}."
)
HELD_FROM_REQUIRED = "a quarantined batch names the status it was held from: one of {statuses}"
LOT_EXISTS = "A batch with lot number {lot} already exists."
NO_PRODUCT = (
    "Lab {lab} has no product {code}; a lab admin creates it (or imports the first record of it)."
)
PRODUCT_NAMED = 'Product {code} is called "{name}" in lab {lab}, not "{given}".'
PRODUCT_EXISTS = "Lab {lab} already has a product {code}."
CELL_SOURCE_DIFFERS = 'Cell source "{name}" records {field} "{recorded}", not "{given}".'
NO_PARENT = "Lab {lab} has no batch {lot}."
PARENT_OTHER_PRODUCT = "Batch {lot} is of product {product}; a parent must be of {expected}."
PARENT_CYCLE = "Batch {lot} descends from {child}, so it cannot also be its parent."
PARENT_ALREADY = "Batch {lot} is already a parent of {child}."
SOURCE_CHANGES_KIND = (
    "Batch {lot} has a production run, so its source is a cell culture, not a {kind}."
)
PRODUCTION_ONLY_CELL_CULTURE = (
    "Batch {lot} is a {kind} batch; only cell-culture batches have a production run."
)
STEP_EXISTS = "Batch {lot} already has an isolation step {order}."
STEP_IN_USE = "Isolation step {order} of batch {lot} has assay runs that name it."
ALIQUOT_EXISTS = 'Batch {lot} already has an aliquot "{label}".'
EXCEPTION_EXISTS = "Batch {lot} already has an exception for {rule}."
NOT_SUPERUSER = "Only a site administrator creates labs."
LAB_EXISTS = "A lab with code {code} already exists."
UNKNOWN_CHANGE = "{fields} cannot be changed here; this changes {allowed}."
LAST_ADMIN = "{user} is the last admin of lab {lab}; make someone else admin first."


def _refuse(
    path: str, message: str, code: BatchErrorCode, error: type[BatchError] = BatchError
) -> BatchError:
    """A refusal naming the JSON path (or form field) it is about."""
    return error(message, code, {"fields": {path: [{"message": message, "code": code}]}})


def _clean(row: Any, *, exclude: list[str] | None = None) -> None:
    """Model validation of a row (constraints included), as a BatchError naming fields."""
    try:
        row.full_clean(exclude=exclude, validate_unique=False)
    except DjangoValidationError as error:
        fields = {
            name: [{"message": message, "code": "invalid"} for message in messages]
            for name, messages in error.message_dict.items()
        }
        first = next(iter(fields.items()))
        raise BatchError(
            f"{first[0]}: {first[1][0]['message']}", BatchErrorCode.INVALID, {"fields": fields}
        ) from None


# Labs and members
# ------------------------------------------------------------------------------


@transaction.atomic
def lab_create(*, code: str, name: str, acting_user: User) -> Lab:
    """Create a lab (site administrators only: labs are the walls between data)."""
    if not getattr(acting_user, "is_superuser", False):
        raise AccessDenied(NOT_SUPERUSER, BatchErrorCode.ROLE_TOO_LOW)
    if Lab.objects.filter(code=code).exists():
        raise _refuse(
            "code", LAB_EXISTS.format(code=code), BatchErrorCode.ALREADY_EXISTS, Conflict
        )
    lab = Lab(code=code, name=name)
    _clean(lab)
    lab.save()
    audit(
        actor=acting_user,
        action="evqc.lab.created",
        obj=lab,
        lab=lab,
        after=fields_of(lab, ["code", "name"]),
    )
    return lab


@transaction.atomic
def lab_member_set(
    lab: Lab, user: Any, *, role: LabRole | str, acting_user: User
) -> LabMembership:
    """Give a person a role in a lab (lab admins or site administrators)."""
    if not getattr(acting_user, "is_superuser", False):
        require_role(acting_user, lab, LabRole.ADMIN, what="manage members")
    role = LabRole(role)
    membership = LabMembership.objects.select_for_update().filter(lab=lab, user=user).first()
    before = None if membership is None else {"role": membership.role}
    if membership is None:
        membership = LabMembership(lab=lab, user=user, role=role.value)
    else:
        _keep_an_admin(membership, role)
        membership.role = role.value
    _clean(membership)
    membership.save()
    audit(
        actor=acting_user,
        action="evqc.lab.member_set",
        obj=membership,
        lab=lab,
        before=before,
        after={"user": user.get_username(), "role": role.value},
    )
    return membership


@transaction.atomic
def lab_member_remove(lab: Lab, user: Any, *, acting_user: User) -> None:
    if not getattr(acting_user, "is_superuser", False):
        require_role(acting_user, lab, LabRole.ADMIN, what="manage members")
    membership = LabMembership.objects.select_for_update().filter(lab=lab, user=user).first()
    if membership is None:
        return
    _keep_an_admin(membership, None)
    audit(
        actor=acting_user,
        action="evqc.lab.member_removed",
        obj=membership,
        lab=lab,
        before={"user": user.get_username(), "role": membership.role},
    )
    membership.delete()


def _keep_an_admin(membership: LabMembership, role: LabRole | None) -> None:
    if membership.role != LabRole.ADMIN or role == LabRole.ADMIN:
        return
    admins = LabMembership.objects.filter(lab=membership.lab, role=LabRole.ADMIN).count()
    if admins <= 1:
        raise BatchError(
            LAST_ADMIN.format(user=membership.user.get_username(), lab=membership.lab.code),
            BatchErrorCode.INVALID,
        )


# Products and producer cells
# ------------------------------------------------------------------------------

PRODUCT_FIELDS = (
    "name",
    "description",
    "intended_use",
    "product_class",
    "preparation_term",
    "route",
    "max_dose_volume",
    "body_weight",
    "storage_temperature",
    "shelf_life",
    "max_freeze_thaw_cycles",
    "misev_release_criterion",
)


@transaction.atomic
def product_create(lab: Lab, *, code: str, name: str, acting_user: User, **fields: Any) -> Product:
    """Create a product of a lab (lab admins)."""
    require_role(acting_user, lab, LabRole.ADMIN, what="create products")
    if Product.objects.filter(lab=lab, code=code).exists():
        raise _refuse(
            "code",
            PRODUCT_EXISTS.format(lab=lab.code, code=code),
            BatchErrorCode.ALREADY_EXISTS,
            Conflict,
        )
    product = Product(lab=lab, code=code, name=name)
    _assign(product, fields, PRODUCT_FIELDS)
    _clean(product)
    product.save()
    audit(
        actor=acting_user,
        action="evqc.product.created",
        obj=product,
        lab=lab,
        after=fields_of(product, ("code", *PRODUCT_FIELDS)),
    )
    return product


@transaction.atomic
def product_update(
    product: Product,
    *,
    changes: Mapping[str, Any],
    expected_version: int | None,
    acting_user: User,
    reason: str,
) -> Product:
    """Change a product's details (lab admins); the reason is kept in the audit trail."""
    require_role(acting_user, product.lab, LabRole.ADMIN, what="change products")
    current = Product.objects.select_for_update().get(pk=product.pk)
    check_version(f"Product {current.code}", expected_version, current.version)
    if not reason.strip():
        raise BatchError(
            "A reason is required to change a product.", BatchErrorCode.REASON_REQUIRED
        )
    before = fields_of(current, PRODUCT_FIELDS)
    _assign(current, changes, PRODUCT_FIELDS)
    current.version += 1
    _clean(current)
    current.save()
    audit(
        actor=acting_user,
        action="evqc.product.updated",
        obj=current,
        lab=current.lab,
        before=before,
        after=fields_of(current, PRODUCT_FIELDS),
        reason=reason,
    )
    return current


def _assign(row: Any, changes: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        message = UNKNOWN_CHANGE.format(fields=", ".join(unknown), allowed=", ".join(allowed))
        raise _refuse(unknown[0], message, BatchErrorCode.INVALID)
    for name, value in changes.items():
        try:
            setattr(row, name, value)
        except UnitError as error:
            raise _refuse(name, error.message, BatchErrorCode.INVALID) from None


def cell_source_for(
    lab: Lab, source: record.CellCultureSource, *, acting_user: User, path: str = "source"
) -> CellSource:
    """The lab's cell source of that name, registered if new. Fields the record gives must
    agree with what is recorded: a cell bank's identity is shared by all its batches."""
    existing = CellSource.objects.filter(lab=lab, name=source.name).first()
    values = row_values(source, CellSource, exclude=frozenset({"kind"}))
    if existing is None:
        cell_source = CellSource(lab=lab, **values)
        _clean(cell_source, exclude=["lab"])
        cell_source.save()
        audit(
            actor=acting_user,
            action="evqc.cell_source.registered",
            obj=cell_source,
            lab=lab,
            after=source,
        )
        return cell_source
    for name, given in values.items():
        recorded = getattr(existing, name)
        if given not in ("", None) and given != recorded:
            message = CELL_SOURCE_DIFFERS.format(
                name=source.name, field=name, recorded=recorded, given=given
            )
            raise _refuse(f"{path}.{name}", message, BatchErrorCode.INVALID)
    return existing


# Batches and their lifecycle
# ------------------------------------------------------------------------------

BATCH_FIELDS = ("description", "preparation_term", "evtrack_id")


@transaction.atomic
def batch_create(
    lab: Lab,
    *,
    product: Product,
    lot_number: str,
    acting_user: User,
    source_kind: SourceKind | str = "",
    **fields: Any,
) -> Batch:
    """Plan a new batch of a product."""
    require_role(acting_user, lab, LabRole.ANALYST, what="create batches")
    _check_lot_is_new(lot_number)
    if product.lab_id != lab.pk:
        raise _refuse(
            "product",
            NO_PRODUCT.format(lab=lab.code, code=product.code),
            BatchErrorCode.NOT_FOUND,
            NotFound,
        )
    batch = Batch(
        lab=lab,
        product=product,
        lot_number=lot_number,
        source_kind=str(source_kind),
        created_by=_user(acting_user),
    )
    _assign(batch, fields, BATCH_FIELDS)
    _clean(batch)
    batch.save()
    audit(
        actor=acting_user,
        action="evqc.batch.created",
        obj=batch,
        lab=lab,
        batch=batch,
        after=_batch_snapshot(batch),
    )
    return batch


@transaction.atomic
def batch_update(
    batch: Batch,
    *,
    changes: Mapping[str, Any],
    expected_version: int | None,
    acting_user: User,
    reason: str = "",
) -> Batch:
    """Change a batch's own details (description, preparation term, EV-TRACK id)."""
    locked = batch_for_change(
        batch,
        acting_user=acting_user,
        what="change the batch",
        expected_version=expected_version,
        reason=reason,
    )
    before = _batch_snapshot(locked)
    _assign(locked, changes, BATCH_FIELDS)
    locked.version += 1
    _clean(locked)
    locked.save()
    audit(
        actor=acting_user,
        action="evqc.batch.updated",
        obj=locked,
        lab=locked.lab,
        batch=locked,
        before=before,
        after=_batch_snapshot(locked),
        reason=reason,
    )
    return locked


@transaction.atomic
def batch_transition(
    batch: Batch,
    *,
    to: BatchStatus | str,
    acting_user: User,
    reason: str = "",
    expected_version: int | None = None,
) -> Batch:
    """Move a batch through its lifecycle (ALLOWED_TRANSITIONS); QA decides releases,
    rejections and holds, and every move that stops the normal flow gives a reason."""
    to = _status(to)
    role = LabRole.REVIEWER if to in REVIEWER_DECIDES else LabRole.ANALYST
    require_role(acting_user, batch.lab, role, what=f"move a batch to {to.label}")
    locked = Batch.objects.select_for_update().select_related("lab").get(pk=batch.pk)
    status = BatchStatus(locked.status)
    # The stored status decides (a caller's copy may be stale): lifting a hold is QA's.
    if to in REVIEWER_DECIDES or status == S.QUARANTINED:
        require_role(acting_user, locked.lab, LabRole.REVIEWER, what=f"move a batch to {to.label}")
    check_version(f"Batch {locked.lot_number}", expected_version, locked.version)
    _check_transition(locked, status, to)
    if (
        to in REASON_NEEDED or status == S.QUARANTINED or (status, to) == (S.UNDER_REVIEW, S.IN_QC)
    ) and not reason.strip():
        message = REASON_FOR_MOVE.format(lot=locked.lot_number, status=status.label, to=to.label)
        raise BatchError(message, BatchErrorCode.REASON_REQUIRED)
    before = _batch_snapshot(locked)
    locked.held_from = status.value if to == S.QUARANTINED else ""
    locked.status = to.value
    locked.version += 1
    locked.save(update_fields=["status", "held_from", "version", "updated_at"])
    audit(
        actor=acting_user,
        action=f"evqc.batch.{to.value}",
        obj=locked,
        lab=locked.lab,
        batch=locked,
        before=before,
        after=_batch_snapshot(locked),
        reason=reason,
    )
    return locked


def _status(given: BatchStatus | str) -> BatchStatus:
    try:
        return BatchStatus(given)
    except ValueError:
        names = ", ".join(status.value for status in BatchStatus)
        raise _refuse(
            "to", UNKNOWN_STATUS.format(status=given, names=names), BatchErrorCode.INVALID
        ) from None


def _check_transition(batch: Batch, status: BatchStatus, to: BatchStatus) -> None:
    lot = batch.lot_number
    if status == to:
        raise BatchError(
            ALREADY_THERE.format(lot=lot, status=status.label), BatchErrorCode.ILLEGAL_TRANSITION
        )
    allowed = ALLOWED_TRANSITIONS[status]
    if not allowed:
        raise BatchError(
            NO_TRANSITION.format(lot=lot, status=status.label, to=to.label),
            BatchErrorCode.ILLEGAL_TRANSITION,
        )
    if to not in allowed:
        names = " or ".join(s.label for s in BatchStatus if s in allowed)
        raise BatchError(
            ILLEGAL_TRANSITION.format(lot=lot, status=status.label, allowed=names, to=to.label),
            BatchErrorCode.ILLEGAL_TRANSITION,
        )
    if status == S.QUARANTINED and batch.held_from and to not in {batch.held_from, S.REJECTED}:
        held_from = BatchStatus(batch.held_from).label
        raise BatchError(
            HOLD_RETURNS.format(lot=lot, held_from=held_from, to=to.label),
            BatchErrorCode.ILLEGAL_TRANSITION,
        )


def _batch_snapshot(batch: Batch) -> dict[str, Any]:
    return fields_of(
        batch,
        (
            "lot_number",
            "product",
            "status",
            "held_from",
            "source_kind",
            "cell_source",
            "preparation_term",
            "description",
            "evtrack_id",
            "version",
        ),
    )


def _check_lot_is_new(lot_number: str) -> None:
    if Batch.objects.filter(lot_number=lot_number).exists():
        raise _lot_exists(lot_number)


def _lot_exists(lot_number: str) -> Conflict:
    return _refuse(  # type: ignore[return-value]
        "lot_number", LOT_EXISTS.format(lot=lot_number), BatchErrorCode.ALREADY_EXISTS, Conflict
    )


def _user(user: User) -> Any:
    return user if user.is_authenticated else None


# Parts of a batch
# ------------------------------------------------------------------------------


@transaction.atomic
def batch_source_set(
    batch: Batch,
    source: record.CellCultureSource | record.BiofluidSource | record.TissueSource,
    *,
    acting_user: User,
    reason: str = "",
    expected_version: int | None = None,
) -> Batch:
    """Record where a batch's EVs come from: producer cells, or a biofluid or tissue."""
    amends = bool(batch.source_kind)
    locked = batch_for_change(
        batch,
        acting_user=acting_user,
        what="change the source",
        expected_version=expected_version,
        reason=reason,
        amends=amends,
    )
    kind = SourceKind(source.kind)
    if kind != SourceKind.CELL_CULTURE and _has_production_run(locked):
        raise BatchError(
            SOURCE_CHANGES_KIND.format(lot=locked.lot_number, kind=kind.label),
            BatchErrorCode.INVALID,
        )
    before = _source_part(locked) if amends else None
    if isinstance(source, record.CellCultureSource):
        locked.cell_source = cell_source_for(locked.lab, source, acting_user=acting_user)
        SourceSample.objects.filter(batch=locked).delete()
    else:
        locked.cell_source = None
        sample = SourceSample.objects.filter(batch=locked).first() or SourceSample(batch=locked)
        for name, value in row_values(source, SourceSample).items():
            setattr(sample, name, value)
        _clean(sample, exclude=["batch"])
        sample.save()
    locked.source_kind = kind.value
    locked.version += 1
    locked.save(update_fields=["source_kind", "cell_source", "version", "updated_at"])
    audit(
        actor=acting_user,
        action="evqc.batch.source_set",
        obj=locked,
        lab=locked.lab,
        batch=locked,
        before=before,
        after=source,
        reason=reason,
    )
    return locked


def _has_production_run(batch: Batch) -> bool:
    return ProductionRun.objects.filter(batch=batch).exists()


def _source_part(batch: Batch) -> Any:
    if batch.source_kind == SourceKind.CELL_CULTURE and batch.cell_source is not None:
        return part_of(record.CellCultureSource, batch.cell_source, kind="cell_culture")
    sample = SourceSample.objects.filter(batch=batch).first()
    if sample is None:
        return None
    part = record.BiofluidSource if sample.kind == SourceKind.BIOFLUID else record.TissueSource
    return part_of(part, sample)


@transaction.atomic
def production_run_set(
    batch: Batch,
    production: record.Production,
    *,
    acting_user: User,
    reason: str = "",
    expected_version: int | None = None,
) -> ProductionRun:
    """Record (or correct) the upstream culture of a cell-culture batch."""

    def cell_culture_only(locked: Batch) -> None:
        if locked.source_kind not in ("", SourceKind.CELL_CULTURE):
            raise BatchError(
                PRODUCTION_ONLY_CELL_CULTURE.format(
                    lot=locked.lot_number, kind=locked.source_kind
                ),
                BatchErrorCode.INVALID,
            )

    return _part_set(
        batch,
        production,
        ProductionRun,
        what="change the production run",
        action="evqc.production_run.set",
        acting_user=acting_user,
        reason=reason,
        expected_version=expected_version,
        check=cell_culture_only,
    )


@transaction.atomic
def storage_set(
    batch: Batch,
    storage: record.Storage,
    *,
    acting_user: User,
    reason: str = "",
    expected_version: int | None = None,
) -> Storage:
    """Record (or correct) how a batch is stored."""
    return _part_set(
        batch,
        storage,
        Storage,
        what="change the storage",
        action="evqc.storage.set",
        acting_user=acting_user,
        reason=reason,
        expected_version=expected_version,
    )


PartRow = TypeVar("PartRow", ProductionRun, Storage)


def _part_set(
    batch: Batch,
    part: Any,
    model: type[PartRow],
    *,
    what: str,
    action: str,
    acting_user: User,
    reason: str,
    expected_version: int | None,
    check: Callable[[Batch], None] | None = None,
) -> PartRow:
    """Record a batch's one-of-a-kind part, or correct it (which needs a reason once the
    batch has left production)."""
    locked = batch_for_change(
        batch,
        acting_user=acting_user,
        what=what,
        expected_version=expected_version,
        reason=reason,
        amends=model.objects.filter(batch=batch).exists(),
    )
    if check is not None:
        check(locked)
    row = model.objects.filter(batch=locked).first()  # under the lock: what is stored now
    before = None if row is None else part_of(type(part), row)
    row = row or model(batch=locked)
    for name, value in row_values(part, model).items():
        setattr(row, name, value)
    _store_part(
        row,
        locked,
        action=action,
        acting_user=acting_user,
        before=before,
        after=part,
        reason=reason,
    )
    return row


def isolation_step_row(batch: Batch, step: Any) -> IsolationStep:
    """An unsaved row for an isolation-step record."""
    values = row_values(step, IsolationStep, exclude=frozenset({"parameters"}))
    parameters = step.parameters.model_dump(mode="json", exclude_defaults=True)
    return IsolationStep(batch=batch, parameters=parameters, **values)


@transaction.atomic
def isolation_step_add(batch: Batch, step: Any, *, acting_user: User) -> IsolationStep:
    """Record an isolation step of a batch (a part of `record.IsolationStep`)."""
    locked = batch_for_change(
        batch, acting_user=acting_user, what="record isolation steps", amends=False
    )
    if IsolationStep.objects.filter(batch=locked, order=step.order).exists():
        raise _refuse(
            "order",
            STEP_EXISTS.format(lot=locked.lot_number, order=step.order),
            BatchErrorCode.ALREADY_EXISTS,
            Conflict,
        )
    row = isolation_step_row(locked, step)
    _store_part(
        row, locked, action="evqc.isolation_step.added", acting_user=acting_user, after=step
    )
    return row


@transaction.atomic
def isolation_step_update(
    row: IsolationStep, step: Any, *, acting_user: User, reason: str = ""
) -> IsolationStep:
    """Correct an isolation step (its order stays; method and parameters may change)."""
    locked = batch_for_change(
        row.batch, acting_user=acting_user, what="correct an isolation step", reason=reason
    )
    row = IsolationStep.objects.select_for_update().get(pk=row.pk)  # what is stored now
    before = isolation_step_part(row)
    updated = isolation_step_row(locked, step)
    updated.pk, updated.created_at, updated.order = row.pk, row.created_at, row.order
    updated._state.adding = False  # the stored step, corrected
    _store_part(
        updated,
        locked,
        action="evqc.isolation_step.updated",
        acting_user=acting_user,
        before=before,
        after=step,
        reason=reason,
        update=True,
    )
    return updated


@transaction.atomic
def isolation_step_remove(row: IsolationStep, *, acting_user: User, reason: str = "") -> None:
    locked = batch_for_change(
        row.batch, acting_user=acting_user, what="remove an isolation step", reason=reason
    )
    if row.assay_runs.exists():
        raise BatchError(
            STEP_IN_USE.format(order=row.order, lot=locked.lot_number), BatchErrorCode.INVALID
        )
    before = isolation_step_part(row)
    audit(
        actor=acting_user,
        action="evqc.isolation_step.removed",
        obj=row,
        lab=locked.lab,
        batch=locked,
        before=before,
        reason=reason,
    )
    row.delete()
    _touch(locked)


def isolation_step_part(row: IsolationStep) -> Any:
    data = {
        "order": row.order,
        "method": row.method,
        "purpose": row.purpose,
        "performed_at": row.performed_at,
        "input_volume": row.input_volume,
        "output_volume": row.output_volume,
        "notes": row.notes,
        "parameters": row.parameters,
    }
    return record.isolation_step_model(row.method).model_validate(data)


@transaction.atomic
def engineering_step_add(
    batch: Batch, engineering: record.Engineering, *, acting_user: User
) -> EngineeringStep:
    """Record a cargo loading or surface modification of a batch."""
    locked = batch_for_change(
        batch, acting_user=acting_user, what="record engineering", amends=False
    )
    position = EngineeringStep.objects.filter(batch=locked).count() + 1
    row = EngineeringStep(
        batch=locked, position=position, **row_values(engineering, EngineeringStep)
    )
    _store_part(
        row, locked, action="evqc.engineering.added", acting_user=acting_user, after=engineering
    )
    return row


@transaction.atomic
def aliquot_add(batch: Batch, aliquot: record.Aliquot, *, acting_user: User) -> Aliquot:
    locked = batch_for_change(batch, acting_user=acting_user, what="record aliquots", amends=False)
    if Aliquot.objects.filter(batch=locked, label=aliquot.label).exists():
        raise _refuse(
            "label",
            ALIQUOT_EXISTS.format(lot=locked.lot_number, label=aliquot.label),
            BatchErrorCode.ALREADY_EXISTS,
            Conflict,
        )
    row = Aliquot(batch=locked, **row_values(aliquot, Aliquot))
    _store_part(row, locked, action="evqc.aliquot.added", acting_user=acting_user, after=aliquot)
    return row


@transaction.atomic
def aliquot_update(
    row: Aliquot, aliquot: record.Aliquot, *, acting_user: User, reason: str = ""
) -> Aliquot:
    """Update an aliquot (used up, thawed once more, moved); its label stays."""
    locked = batch_for_change(
        row.batch, acting_user=acting_user, what="change an aliquot", reason=reason
    )
    row = Aliquot.objects.select_for_update().get(pk=row.pk)  # what is stored now
    before = part_of(record.Aliquot, row)
    for name, value in row_values(aliquot, Aliquot, exclude=frozenset({"label"})).items():
        setattr(row, name, value)
    _store_part(
        row,
        locked,
        action="evqc.aliquot.updated",
        acting_user=acting_user,
        before=before,
        after=aliquot,
        reason=reason,
    )
    return row


@transaction.atomic
def batch_parent_add(
    child: Batch, parent: Batch, *, relation: str, acting_user: User, volume: object = None
) -> BatchParent:
    """Record that `child` was pooled from or split off `parent` (same lab and product; no
    batch can descend from itself)."""
    locked = batch_for_change(child, acting_user=acting_user, what="record lineage", amends=False)
    _check_parent(locked, parent, path="parent")
    link = BatchParent(child=locked, parent=parent, relation=relation)
    _assign(link, {"volume": volume}, ("volume",))
    _clean(link, exclude=["child", "parent"])
    link.save()
    _touch(locked)
    audit(
        actor=acting_user,
        action="evqc.batch.parent_added",
        obj=link,
        lab=locked.lab,
        batch=locked,
        after={"parent": parent.lot_number, "relation": relation, "volume": link.volume},
    )
    return link


def _check_parent(child: Batch, parent: Batch, *, path: str) -> None:
    if parent.lab_id != child.lab_id:
        raise _refuse(
            path,
            NO_PARENT.format(lab=child.lab.code, lot=parent.lot_number),
            BatchErrorCode.NOT_FOUND,
            NotFound,
        )
    if parent.product_id != child.product_id:
        message = PARENT_OTHER_PRODUCT.format(
            lot=parent.lot_number, product=parent.product.code, expected=child.product.code
        )
        raise _refuse(path, message, BatchErrorCode.INVALID)
    if BatchParent.objects.filter(child=child, parent=parent).exists():
        raise _refuse(
            path,
            PARENT_ALREADY.format(lot=parent.lot_number, child=child.lot_number),
            BatchErrorCode.ALREADY_EXISTS,
            Conflict,
        )
    if parent.pk == child.pk or child.pk in _ancestors(parent):
        raise _refuse(
            path,
            PARENT_CYCLE.format(lot=parent.lot_number, child=child.lot_number),
            BatchErrorCode.INVALID,
        )


def _store_part(
    row: Any,
    batch: Batch,
    *,
    action: str,
    acting_user: User,
    after: Any = None,
    before: Any = None,
    reason: str = "",
    update: bool = False,
) -> None:
    """Check and save a row of a part of `batch`, move the batch's version on, and write
    the audit event of the change."""
    _clean(row, exclude=["batch"])
    row.save(force_update=update)
    _touch(batch)
    audit(
        actor=acting_user,
        action=action,
        obj=row,
        lab=batch.lab,
        batch=batch,
        before=before,
        after=after,
        reason=reason,
    )


def _ancestors(batch: Batch) -> set[int]:
    """Ids of every batch `batch` descends from (one query per generation)."""
    seen: set[int] = set()
    frontier = {batch.pk}
    while frontier:
        parents = set(
            BatchParent.objects.filter(child_id__in=frontier).values_list("parent_id", flat=True)
        )
        frontier = parents - seen
        seen |= parents
    return seen


def _touch(batch: Batch) -> None:
    """A change to a part of the batch is a change of the batch: its version moves on."""
    Batch.objects.filter(pk=batch.pk).update(version=batch.version + 1)
    batch.version += 1


# Rule exceptions
# ------------------------------------------------------------------------------


@transaction.atomic
def rule_exception_record(
    batch: Batch, *, rule: str, justification: str, acting_user: User
) -> RuleException:
    """Record a justified exception to a reporting rule for a batch (MISEV2018 §6); the
    justification is the reason, whatever the batch's status."""
    locked = batch_for_change(
        batch, acting_user=acting_user, what="record rule exceptions", amends=False
    )
    try:
        part = record.RuleException(rule=rule, justification=justification)
    except ValidationError as error:
        fields = record.errors_by_path(error, {"rule": rule, "justification": justification})
        path, problems = next(iter(fields.items()))
        raise BatchError(
            f"{path}: {problems[0]['message']}", BatchErrorCode.INVALID, {"fields": fields}
        ) from None
    if RuleException.objects.filter(batch=locked, rule=part.rule).exists():
        raise _refuse(
            "rule",
            EXCEPTION_EXISTS.format(lot=locked.lot_number, rule=part.rule),
            BatchErrorCode.ALREADY_EXISTS,
            Conflict,
        )
    row = RuleException(
        batch=locked,
        rule=part.rule,
        justification=part.justification,
        recorded_by=_user(acting_user),
    )
    row.save()
    _touch(locked)
    audit(
        actor=acting_user,
        action="evqc.rule_exception.recorded",
        obj=row,
        lab=locked.lab,
        batch=locked,
        after=part,
        reason=part.justification,
    )
    return row


@transaction.atomic
def rule_exception_withdraw(row: RuleException, *, acting_user: User, reason: str) -> None:
    """Withdraw an exception: the rule's gap counts again."""
    locked = batch_for_change(
        row.batch, acting_user=acting_user, what="withdraw a rule exception", reason=reason
    )
    audit(
        actor=acting_user,
        action="evqc.rule_exception.withdrawn",
        obj=row,
        lab=locked.lab,
        batch=locked,
        before=fields_of(row, ("rule", "justification", "recorded_by")),
        reason=reason,
    )
    row.delete()
    _touch(locked)


# Whole batch records
# ------------------------------------------------------------------------------


def batch_record_import(document: object, *, lab: Lab, acting_user: User) -> Batch:
    """Create a batch, with everything it holds, from one batch-record document
    (`BatchRecordImporter.import_record`)."""
    return BatchRecordImporter(lab=lab, acting_user=acting_user).import_record(document)


class BatchRecordImporter:
    """Imports batch records into a lab, each record whole or not at all.

    The batch keeps the status its record gives (a record carries its history, as in a
    migration), but only QA imports a QA decision. Its product must exist in the lab
    unless the importer is a lab admin, who registers it; its cell source and
    instruments are matched by name or registered. One audit event holds each record.

    An importer serves one run (a command with many files, a bulk request): it checks
    the role once and reads each product, cell source, instrument and the specifications
    in force once. `import_records` writes records a chunk at a time, one insert per
    table per chunk; if anything in a chunk is refused, the chunk is rolled back and its
    records are imported one by one, so each is still stored whole or not at all.
    """

    def __init__(self, *, lab: Lab, acting_user: User) -> None:
        self.lab = lab
        self.acting_user = acting_user
        self.role: LabRole | None = None
        self._forget()

    def _forget(self) -> None:
        """Drop what was read: a rolled-back transaction may have taken it with it."""
        self.products: dict[str, Product] = {}
        self.cell_sources: dict[str, tuple[CellSource, record.CellCultureSource]] = {}
        self.instruments: dict[str, Any] = {}
        self.specifications: dict[int, dict[tuple[str, str], Any]] = {}

    def import_record(self, document: object) -> Batch:
        """Store one record (a parsed JSON document or a BatchRecord); errors name the JSON
        path they are about."""
        (batch,) = self._write([self.check(document)])
        return batch

    def import_records(
        self, documents: Iterable[object], *, chunk: int = 100
    ) -> list[Batch | EVQCError]:
        """Store many records; for each, in order, its batch or why it was refused."""
        outcomes: list[Any] = []
        pending: list[tuple[int, record.BatchRecord]] = []
        for document in documents:
            try:
                checked = self.check(document)
            except EVQCError as error:
                outcomes.append(error)
                continue
            waiting = {waiting.lot_number for _, waiting in pending}
            if len(pending) == chunk or any(p.lot_number in waiting for p in checked.parents):
                self._write_chunk(pending, outcomes)  # a parent is stored before its child
                pending = []
            outcomes.append(None)
            pending.append((len(outcomes) - 1, checked))
        self._write_chunk(pending, outcomes)
        return outcomes

    def check(self, document: object) -> record.BatchRecord:
        """The record of a document, if this importer may import it."""
        batch_record = (
            document
            if isinstance(document, record.BatchRecord)
            else record.parse_batch_record(document)
        )
        if self.role is None:
            self.role = require_role(
                self.acting_user, self.lab, LabRole.ANALYST, what="import batch records"
            )
        self._check_status(batch_record)
        return batch_record

    def _write_chunk(
        self, pending: list[tuple[int, record.BatchRecord]], outcomes: list[Any]
    ) -> None:
        if not pending:
            return
        try:
            batches = self._write([checked for _, checked in pending])
        except EVQCError:
            for index, checked in pending:  # find the refused ones; keep the others
                try:
                    outcomes[index] = self._write([checked])[0]
                except EVQCError as error:
                    outcomes[index] = error
            return
        for (index, _), batch in zip(pending, batches, strict=True):
            outcomes[index] = batch

    def _write(self, batch_records: list[record.BatchRecord]) -> list[Batch]:
        try:
            with transaction.atomic():
                return self._store(batch_records)
        except Exception:
            self._forget()
            raise

    def _check_status(self, batch_record: record.BatchRecord) -> None:
        """A record's status stands as recorded, but QA decisions come only from QA, and
        a hold says where it returns to."""
        status = batch_record.status
        if status in REVIEWER_DECIDES and (self.role or LabRole.VIEWER).rank < (
            LabRole.REVIEWER.rank
        ):
            message = IMPORT_DECIDED.format(status=status.label, lab=self.lab.code)
            raise _refuse("status", message, BatchErrorCode.ROLE_TOO_LOW, AccessDenied)
        if status == S.QUARANTINED:
            holdable = [s for s in BatchStatus if S.QUARANTINED in ALLOWED_TRANSITIONS[s]]
            if batch_record.held_from not in holdable:
                names = ", ".join(s.value for s in holdable)
                message = HELD_FROM_REQUIRED.format(statuses=names)
                raise _refuse("held_from", message, BatchErrorCode.INVALID)

    def _store(self, batch_records: list[record.BatchRecord]) -> list[Batch]:
        """Write records with one insert per table (the caller holds the transaction)."""
        lab, acting_user = self.lab, self.acting_user
        lots = [batch_record.lot_number for batch_record in batch_records]
        for lot in Batch.objects.filter(lot_number__in=lots).values_list("lot_number")[:1]:
            raise _lot_exists(lot[0])
        batches, parents = [], []
        for batch_record in batch_records:
            product = self._product(batch_record.product)
            parents.append(_parents_for(lab, batch_record, product))
            batches.append(self._batch_row(batch_record, product))
        try:
            Batch.objects.bulk_create(batches)
        except IntegrityError:
            # lot_number is a batch's one unique column (a lot twice in one chunk, or one
            # taken meanwhile); the refusal rolls the whole transaction back.
            raise _lot_exists(lots[0]) from None
        parts = _import_parts(list(zip(batches, batch_records, parents, strict=True)))
        runs = []
        for batch, batch_record, (steps, aliquots) in zip(
            batches, batch_records, parts, strict=True
        ):
            runs += assay_runs_build(
                batch,
                batch_record.assays,
                first_position=0,
                steps=steps,
                aliquots=aliquots,
                instruments=self._instruments({a.instrument for a in batch_record.assays}),
                specifications=self._specifications(batch.product),
                acting_user=acting_user,
            )
        assay_runs_store(runs)
        audit_many(
            audit_event(
                actor=acting_user,
                action="evqc.batch.imported",
                obj=batch,
                lab=lab,
                batch=batch,
                after=batch_record,
            )
            for batch, batch_record in zip(batches, batch_records, strict=True)
        )
        return batches

    def _batch_row(self, batch_record: record.BatchRecord, product: Product) -> Batch:
        batch = Batch(
            lab=self.lab,
            product=product,
            lot_number=batch_record.lot_number,
            status=batch_record.status.value,
            held_from=batch_record.held_from.value if batch_record.held_from else "",
            source_kind=batch_record.source_kind.value if batch_record.source_kind else "",
            preparation_term=(
                batch_record.preparation_term.value if batch_record.preparation_term else ""
            ),
            description=batch_record.description,
            evtrack_id=batch_record.evtrack_id,
            created_by=_user(self.acting_user),
        )
        source = batch_record.source
        if isinstance(source, record.CellCultureSource):
            batch.cell_source = self._cell_source(source)
        return batch

    def _product(self, ref: record.ProductRef) -> Product:
        if ref.code not in self.products:
            self.products[ref.code] = _product_for(
                self.lab, ref, role=self.role or LabRole.VIEWER, acting_user=self.acting_user
            )
        product = self.products[ref.code]
        if product.name != ref.name:
            message = PRODUCT_NAMED.format(
                code=ref.code, name=product.name, lab=self.lab.code, given=ref.name
            )
            raise _refuse("product.name", message, BatchErrorCode.INVALID)
        return product

    def _cell_source(self, source: record.CellCultureSource) -> CellSource:
        """The cell source, looked up again only when a record describes it differently."""
        known = self.cell_sources.get(source.name)
        if known is not None and known[1] == source:
            return known[0]
        cell_source = cell_source_for(self.lab, source, acting_user=self.acting_user)
        self.cell_sources[source.name] = (cell_source, source)
        return cell_source

    def _instruments(self, names: set[str]) -> dict[str, Any]:
        missing = {name for name in names if name and name not in self.instruments}
        if missing:
            self.instruments |= instruments_for(self.lab, missing, acting_user=self.acting_user)
        return self.instruments

    def _specifications(self, product: Product) -> dict[tuple[str, str], Any]:
        if product.pk not in self.specifications:
            self.specifications[product.pk] = specifications_in_force(product)
        return self.specifications[product.pk]


def _import_parts(
    imported: list[tuple[Batch, record.BatchRecord, list[tuple[Batch, record.ParentRef]]]],
) -> list[tuple[dict[int, IsolationStep], dict[str, Aliquot]]]:
    """Store the parts of imported batches, one insert per table; for each batch, its
    isolation steps by order and its aliquots by label."""
    samples, productions, storages, steps, engineering = [], [], [], [], []
    aliquots, links, exceptions = [], [], []
    for batch, batch_record, parents in imported:
        source = batch_record.source
        if source is not None and not isinstance(source, record.CellCultureSource):
            samples.append(SourceSample(batch=batch, **row_values(source, SourceSample)))
        if batch_record.production is not None:
            production = row_values(batch_record.production, ProductionRun)
            productions.append(ProductionRun(batch=batch, **production))
        if batch_record.storage is not None:
            storages.append(Storage(batch=batch, **row_values(batch_record.storage, Storage)))
        steps += [
            isolation_step_row(batch, step)
            for step in sorted(batch_record.isolation_steps, key=lambda step: step.order)
        ]
        engineering += [
            EngineeringStep(batch=batch, position=position, **row_values(part, EngineeringStep))
            for position, part in enumerate(batch_record.engineering, start=1)
        ]
        aliquots += [
            Aliquot(batch=batch, **row_values(part, Aliquot)) for part in batch_record.aliquots
        ]
        links += [
            BatchParent(child=batch, parent=parent, relation=ref.relation, volume=ref.volume)
            for parent, ref in parents
        ]
        exceptions += [
            RuleException(
                batch=batch,
                rule=part.rule,
                justification=part.justification,
                recorded_by=batch.created_by,
            )
            for part in batch_record.exceptions
        ]
    tables: list[tuple[Any, list[Any]]] = [
        (SourceSample, samples),
        (ProductionRun, productions),
        (Storage, storages),
        (IsolationStep, steps),
        (EngineeringStep, engineering),
        (Aliquot, aliquots),
        (BatchParent, links),
        (RuleException, exceptions),
    ]
    for model, rows in tables:
        if rows:
            model.objects.bulk_create(rows)
    stored: dict[int, tuple[dict[int, IsolationStep], dict[str, Aliquot]]] = {
        batch.pk: ({}, {}) for batch, _, _ in imported
    }
    for step in steps:
        stored[step.batch.pk][0][step.order] = step
    for aliquot in aliquots:
        stored[aliquot.batch.pk][1][aliquot.label] = aliquot
    return [stored[batch.pk] for batch, _, _ in imported]


def _product_for(lab: Lab, ref: record.ProductRef, *, role: LabRole, acting_user: User) -> Product:
    product = Product.objects.filter(lab=lab, code=ref.code).first()
    if product is None:
        if role.rank < LabRole.ADMIN.rank:
            raise _refuse(
                "product.code",
                NO_PRODUCT.format(lab=lab.code, code=ref.code),
                BatchErrorCode.NOT_FOUND,
                NotFound,
            )
        product = Product.objects.create(lab=lab, code=ref.code, name=ref.name)
        audit(
            actor=acting_user,
            action="evqc.product.created",
            obj=product,
            lab=lab,
            after={"code": ref.code, "name": ref.name},
        )
    return product


def _parents_for(
    lab: Lab, batch_record: record.BatchRecord, product: Product
) -> list[tuple[Batch, record.ParentRef]]:
    if not batch_record.parents:
        return []
    lots = [ref.lot_number for ref in batch_record.parents]
    found = {
        b.lot_number: b
        for b in Batch.objects.filter(lab=lab, lot_number__in=lots).select_related("product")
    }
    parents = []
    for index, ref in enumerate(batch_record.parents):
        parent = found.get(ref.lot_number)
        path = f"parents[{index}].lot_number"
        if parent is None:
            raise _refuse(
                path,
                NO_PARENT.format(lab=lab.code, lot=ref.lot_number),
                BatchErrorCode.NOT_FOUND,
                NotFound,
            )
        if parent.product_id != product.pk:
            message = PARENT_OTHER_PRODUCT.format(
                lot=parent.lot_number, product=parent.product.code, expected=product.code
            )
            raise _refuse(path, message, BatchErrorCode.INVALID)
        parents.append((parent, ref))
    return parents
