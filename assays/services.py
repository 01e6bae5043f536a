"""Changes to assay data: instruments, assay runs and their results, and specifications.

Each function checks the acting user's role, runs in one transaction, judges results
against the specification in force, and writes its audit events in that transaction.
Input arrives as batch-record parts (`evqc.batch_record`), already checked for units,
vocabularies and cross-field rules; these functions add what needs the database.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from typing import Any, NamedTuple

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from pydantic import ValidationError

from assays.models import (
    AssayRun,
    Image,
    Instrument,
    MarkerResult,
    Result,
    SizeDistribution,
    Specification,
)
from batches.access import User, batch_for_change, check_version, require_role
from batches.audit import audit, audit_event, audit_many, fields_of
from batches.models import Aliquot, Batch, IsolationStep, Lab, Product
from batches.records import row_values
from evqc import batch_record as record
from evqc.bulk import insert_rows
from evqc.exceptions import BatchError, BatchErrorCode, Conflict, SpecError
from evqc.fields import quantity_columns
from evqc.markers import canonical_symbol
from evqc.specs import Limits, Qualifier, Verdict, check_limits, outcome_verdict, verdict
from evqc.units import QuantityValue, UnitError
from evqc.vocabulary import ATTRIBUTES, AssayMethod, LabRole, ResultBasis, SampleStage

UNKNOWN_METHOD = '"{method}" is not an assay method evqc knows; expected one of {methods}.'
UNKNOWN_ATTRIBUTE = '"{attribute}" is not an attribute evqc knows.'
METHOD_DOES_NOT_REPORT = (
    "{method} does not report {attribute}, so a specification cannot bind them."
)
SIZE_NEEDS_METHOD = (
    "{attribute} is a size: a size specification names the method it applies to "
    "(NTA, TRPS, nano-flow or EM sizes differ)."
)
OUTCOMES_FOR_QUALITATIVE = (
    "{attribute} is qualitative: give its acceptable outcomes ({outcomes}), not limits."
)
LIMITS_FOR_QUANTITATIVE = "{attribute} is quantitative: give limits, not outcomes."
UNKNOWN_OUTCOMES = "{outcomes} are not outcomes of {attribute}; it has {known}."
SPEC_IN_FORCE = (
    "Product {product} already has a specification in force for {attribute}{bound} "
    "(version {version}); revise that one instead."
)
SPEC_RETIRED = "This specification was retired on {date}; revise the one in force."
REVISABLE = (
    "lower_limit",
    "upper_limit",
    "lower_inclusive",
    "upper_inclusive",
    "warn_lower",
    "warn_upper",
    "acceptable_outcomes",
    "required_for_release",
    "reference",
)
NOT_REVISABLE = (
    "{fields} cannot be revised (a new attribute or method is a new specification); "
    "a revision changes {revisable}."
)
REASON_FOR_REVISION = "A reason is required to revise a specification."
RESULT_ON_OTHER_ATTRIBUTE = "A correction keeps the attribute ({attribute}); record a new result."
NO_SUCH_STEP = "Batch {lot} has no isolation step {order}."
NO_SUCH_ALIQUOT = 'Batch {lot} has no aliquot "{label}".'


# Instruments
# ------------------------------------------------------------------------------


def instruments_for(
    lab: Lab, names: Collection[str], *, acting_user: User
) -> dict[str, Instrument]:
    """The lab's instruments with these names, registering the ones it does not have yet
    (an instrument named in a record exists, whether or not evqc knew it)."""
    wanted = {name for name in names if name}
    found = {i.name: i for i in Instrument.objects.filter(lab=lab, name__in=wanted)}
    new = [Instrument(lab=lab, name=name) for name in sorted(wanted - set(found))]
    if new:
        Instrument.objects.bulk_create(new)
        audit_many(
            audit_event(
                actor=acting_user,
                action="evqc.instrument.registered",
                obj=instrument,
                lab=lab,
                after={"name": instrument.name},
            )
            for instrument in new
        )
        found |= {i.name: i for i in new}
    return found


# Specifications
# ------------------------------------------------------------------------------


def specifications_in_force(product: Product) -> dict[tuple[str, str], Specification]:
    """The product's specifications in force, by (attribute, method); method "" = any."""
    return {
        (spec.attribute, spec.method): spec
        for spec in Specification.objects.filter(product=product, retired_at__isnull=True)
    }


@transaction.atomic
def specification_create(
    product: Product,
    *,
    attribute: str,
    method: str = "",
    lower_limit: object = None,
    upper_limit: object = None,
    lower_inclusive: bool = True,
    upper_inclusive: bool = True,
    warn_lower: object = None,
    warn_upper: object = None,
    acceptable_outcomes: Sequence[str] = (),
    required_for_release: bool = False,
    reference: str = "",
    acting_user: User,
) -> Specification:
    """Add a product's acceptance criterion for one attribute (lab admins only)."""
    require_role(acting_user, product.lab, LabRole.ADMIN, what="set specifications")
    spec = _specification_build(
        product,
        attribute=attribute,
        method=method,
        version=1,
        lower_limit=lower_limit,
        upper_limit=upper_limit,
        lower_inclusive=lower_inclusive,
        upper_inclusive=upper_inclusive,
        warn_lower=warn_lower,
        warn_upper=warn_upper,
        acceptable_outcomes=acceptable_outcomes,
        required_for_release=required_for_release,
        reference=reference,
        acting_user=acting_user,
    )
    in_force = Specification.objects.filter(
        product=product, attribute=spec.attribute, method=spec.method, retired_at__isnull=True
    ).first()
    if in_force is not None:
        raise Conflict(
            SPEC_IN_FORCE.format(
                product=product.code,
                attribute=spec.attribute,
                version=in_force.version,
                bound=f" by {spec.method}" if spec.method else "",
            ),
            BatchErrorCode.ALREADY_EXISTS,
        )
    spec.version = 1 + (
        Specification.objects.filter(
            product=product, attribute=spec.attribute, method=spec.method
        ).aggregate(Max("version"))["version__max"]
        or 0
    )
    spec.save()
    audit(
        actor=acting_user,
        action="evqc.specification.created",
        obj=spec,
        lab=product.lab,
        after=_specification_snapshot(spec),
    )
    return spec


@transaction.atomic
def specification_revise(
    spec: Specification, *, acting_user: User, reason: str, **changes: Any
) -> Specification:
    """Retire a specification and put a new version in force; results keep the version
    they were judged against."""
    require_role(acting_user, spec.product.lab, LabRole.ADMIN, what="revise specifications")
    current = Specification.objects.select_for_update().get(pk=spec.pk)
    if current.retired_at is not None:
        raise Conflict(
            SPEC_RETIRED.format(date=f"{current.retired_at:%Y-%m-%d}"), BatchErrorCode.CONFLICT
        )
    if not reason.strip():
        raise BatchError(REASON_FOR_REVISION, BatchErrorCode.REASON_REQUIRED)
    unknown = sorted(set(changes) - set(REVISABLE))
    if unknown:
        raise BatchError(
            NOT_REVISABLE.format(fields=", ".join(unknown), revisable=", ".join(REVISABLE)),
            BatchErrorCode.INVALID,
            {"field": unknown[0]},
        )
    given = {
        "lower_limit": current.lower_limit,
        "upper_limit": current.upper_limit,
        "lower_inclusive": current.lower_inclusive,
        "upper_inclusive": current.upper_inclusive,
        "warn_lower": current.warn_lower,
        "warn_upper": current.warn_upper,
        "acceptable_outcomes": current.acceptable_outcomes,
        "required_for_release": current.required_for_release,
        "reference": current.reference,
    } | changes
    revised = _specification_build(
        current.product,
        attribute=current.attribute,
        method=current.method,
        version=current.version + 1,
        acting_user=acting_user,
        **given,
    )
    current.retired_at = timezone.now()
    current.save(update_fields=["retired_at", "updated_at"])
    revised.save()
    audit(
        actor=acting_user,
        action="evqc.specification.revised",
        obj=revised,
        lab=current.product.lab,
        before=_specification_snapshot(current),
        after=_specification_snapshot(revised),
        reason=reason,
    )
    return revised


def _specification_build(
    product: Product,
    *,
    attribute: str,
    method: str,
    version: int,
    acting_user: User,
    lower_limit: object,
    upper_limit: object,
    lower_inclusive: bool,
    upper_inclusive: bool,
    warn_lower: object,
    warn_upper: object,
    acceptable_outcomes: Sequence[str],
    required_for_release: bool,
    reference: str,
) -> Specification:
    described = ATTRIBUTES.get(attribute)
    if described is None:
        raise BatchError(
            UNKNOWN_ATTRIBUTE.format(attribute=attribute),
            BatchErrorCode.INVALID,
            {"field": "attribute"},
        )
    if method:
        if method not in AssayMethod.__members__.values():
            raise BatchError(
                UNKNOWN_METHOD.format(method=method, methods=", ".join(AssayMethod)),
                BatchErrorCode.INVALID,
                {"field": "method"},
            )
        assay_method = AssayMethod(method)
        if attribute not in assay_method.info.attributes:
            raise BatchError(
                METHOD_DOES_NOT_REPORT.format(method=method, attribute=attribute),
                BatchErrorCode.INVALID,
                {"field": "method"},
            )
    elif described.size:
        raise BatchError(
            SIZE_NEEDS_METHOD.format(attribute=attribute),
            BatchErrorCode.INVALID,
            {"field": "method"},
        )
    spec = Specification(
        product=product,
        attribute=attribute,
        method=method,
        version=version,
        lower_inclusive=lower_inclusive,
        upper_inclusive=upper_inclusive,
        required_for_release=required_for_release,
        reference=reference,
        effective_from=timezone.now(),
        created_by=acting_user,
    )
    limits = {
        "lower_limit": lower_limit,
        "upper_limit": upper_limit,
        "warn_lower": warn_lower,
        "warn_upper": warn_upper,
    }
    if described.qualitative:
        unknown = sorted(set(acceptable_outcomes) - set(described.outcomes))
        if any(value is not None for value in limits.values()) or not acceptable_outcomes:
            raise BatchError(
                OUTCOMES_FOR_QUALITATIVE.format(
                    attribute=attribute, outcomes=", ".join(described.outcomes)
                ),
                BatchErrorCode.INVALID,
                {"field": "acceptable_outcomes"},
            )
        if unknown:
            raise BatchError(
                UNKNOWN_OUTCOMES.format(
                    outcomes=", ".join(unknown),
                    attribute=attribute,
                    known=", ".join(described.outcomes),
                ),
                BatchErrorCode.INVALID,
                {"field": "acceptable_outcomes"},
            )
        spec.acceptable_outcomes = list(acceptable_outcomes)
        return spec
    if acceptable_outcomes:
        raise BatchError(
            LIMITS_FOR_QUANTITATIVE.format(attribute=attribute),
            BatchErrorCode.INVALID,
            {"field": "acceptable_outcomes"},
        )
    for name, given in limits.items():
        try:
            setattr(spec, name, given)
        except UnitError as error:
            raise BatchError(error.message, error.code, {"field": name}) from None
    try:
        check_limits(spec_limits(spec))
    except SpecError as error:
        raise BatchError(error.message, error.code, {"field": error.field}) from None
    return spec


def spec_limits(spec: Specification) -> Limits:
    """A specification's limits in its attribute's canonical unit."""
    return Limits(
        lower=spec.lower_limit_canonical,
        upper=spec.upper_limit_canonical,
        lower_inclusive=spec.lower_inclusive,
        upper_inclusive=spec.upper_inclusive,
        warn_lower=spec.warn_lower_canonical,
        warn_upper=spec.warn_upper_canonical,
    )


def _specification_snapshot(spec: Specification) -> dict[str, Any]:
    return fields_of(
        spec,
        [
            "attribute",
            "method",
            "version",
            "lower_limit",
            "lower_inclusive",
            "upper_limit",
            "upper_inclusive",
            "warn_lower",
            "warn_upper",
            "acceptable_outcomes",
            "required_for_release",
            "reference",
            "effective_from",
            "retired_at",
        ],
    )


# Assay runs and results
# ------------------------------------------------------------------------------


@transaction.atomic
def assay_run_record(batch: Batch, assay: record.Assay, *, acting_user: User) -> AssayRun:
    """Record one assay run of a batch with everything it found, all or nothing."""
    locked = batch_for_change(
        batch, acting_user=acting_user, what="record assay runs", amends=False
    )
    (run,) = assay_runs_create(locked, [assay], acting_user=acting_user)
    audit(
        actor=acting_user,
        action="evqc.assay_run.recorded",
        obj=run,
        lab=locked.lab,
        batch=locked,
        after=assay,
    )
    return run


def assay_runs_create(
    batch: Batch,
    assays: Sequence[record.Assay],
    *,
    acting_user: User,
) -> list[AssayRun]:
    """Store a batch's new assay runs with everything they found, one insert per table
    (the caller holds the transaction, the lock and the audit event). Results are judged
    against the product's specifications in force now."""
    if not assays:
        return []
    start = AssayRun.objects.filter(batch=batch).aggregate(Max("position"))["position__max"]
    runs = assay_runs_build(
        batch,
        assays,
        first_position=start or 0,
        steps=_steps_named(batch, assays),
        aliquots=_aliquots_named(batch, assays),
        instruments=instruments_for(
            batch.lab, {assay.instrument for assay in assays}, acting_user=acting_user
        ),
        specifications=specifications_in_force(batch.product),
        acting_user=acting_user,
    )
    assay_runs_store(runs)
    return [run.row for run in runs]


def _steps_named(batch: Batch, assays: Sequence[record.Assay]) -> dict[int, IsolationStep]:
    """The batch's isolation steps, if any assay names one (most do not: no query then)."""
    if not any(assay.isolation_step for assay in assays):
        return {}
    return {step.order: step for step in IsolationStep.objects.filter(batch=batch)}


def _aliquots_named(batch: Batch, assays: Sequence[record.Assay]) -> dict[str, Aliquot]:
    if not any(assay.aliquot for assay in assays):
        return {}
    return {aliquot.label: aliquot for aliquot in Aliquot.objects.filter(batch=batch)}


class RunToStore(NamedTuple):
    """An assay run built but not stored, with its record and the specifications that
    judge its results."""

    row: AssayRun
    assay: record.Assay
    specifications: dict[tuple[str, str], Specification]


def assay_runs_build(
    batch: Batch,
    assays: Sequence[record.Assay],
    *,
    first_position: int,
    steps: dict[int, IsolationStep],
    aliquots: dict[str, Aliquot],
    instruments: dict[str, Instrument],
    specifications: dict[tuple[str, str], Specification],
    acting_user: User,
) -> list[RunToStore]:
    """The rows of a batch's new assay runs, numbered after `first_position`."""
    return [
        RunToStore(
            _run_build(batch, first_position + index, assay, instruments, steps, aliquots,
                       acting_user),
            assay,
            specifications,
        )
        for index, assay in enumerate(assays, start=1)
    ]  # fmt: skip


def assay_runs_store(runs: Sequence[RunToStore]) -> None:
    """Store built assay runs (of one batch or many) and what they found: one insert per
    table, whatever the number of runs. Each stored run gets `verdict_counts`."""
    AssayRun.objects.bulk_create([run.row for run in runs])
    results, markers, images, distributions = [], [], [], []
    for run, assay, specs in runs:
        built = [
            result_build(run, position, result, assay, specs)
            for position, result in enumerate(assay.results, start=1)
        ]
        # What the run found, by verdict, for the one who sent it (no query to count).
        run.verdict_counts = Counter(row.verdict for row in built)
        results += built
        markers += [
            MarkerResult(
                assay_run=run,
                position=position,
                symbol=canonical_symbol(marker.protein),
                **row_values(marker, MarkerResult),
            )
            for position, marker in enumerate(assay.markers, start=1)
        ]
        images += [
            Image(assay_run=run, position=position, **row_values(image, Image))
            for position, image in enumerate(assay.images, start=1)
        ]
        distributions += [
            SizeDistribution(
                assay_run=run, position=position, **row_values(distribution, SizeDistribution)
            )
            for position, distribution in enumerate(assay.size_distributions, start=1)
        ]
    insert_rows(Result, results)  # no ids needed back: 3x faster than bulk_create
    insert_rows(MarkerResult, markers)
    for model, rows in ((Image, images), (SizeDistribution, distributions)):
        if rows:
            model.objects.bulk_create(rows)


def _run_build(
    batch: Batch,
    position: int,
    assay: record.Assay,
    instruments: dict[str, Instrument],
    steps: dict[int, IsolationStep],
    aliquots: dict[str, Aliquot],
    acting_user: User,
) -> AssayRun:
    step = None
    if assay.isolation_step is not None:
        step = steps.get(assay.isolation_step)
        if step is None:
            raise BatchError(
                NO_SUCH_STEP.format(lot=batch.lot_number, order=assay.isolation_step),
                BatchErrorCode.INVALID,
                {"field": "isolation_step"},
            )
    aliquot = None
    if assay.aliquot:
        aliquot = aliquots.get(assay.aliquot)
        if aliquot is None:
            raise BatchError(
                NO_SUCH_ALIQUOT.format(lot=batch.lot_number, label=assay.aliquot),
                BatchErrorCode.INVALID,
                {"field": "aliquot"},
            )
    raw = assay.raw_file
    values = row_values(
        assay,
        AssayRun,
        exclude=frozenset(
            {
                "results",
                "markers",
                "images",
                "size_distributions",
                "instrument",
                "isolation_step",
                "aliquot",
                "settings",
                "raw_file",
            }
        ),
    )
    return AssayRun(
        batch=batch,
        position=position,
        instrument=instruments.get(assay.instrument),
        isolation_step=step,
        aliquot=aliquot,
        settings=record.settings_json(assay.settings),
        raw_file_name=raw.name if raw else "",
        raw_file_sha256=raw.sha256 if raw else "",
        raw_file_size=raw.size if raw else None,
        recorded_by=acting_user,
        **values,
    )


def result_build(
    run: AssayRun,
    position: int,
    result: record.Result,
    assay: record.Assay,
    specs: dict[tuple[str, str], Specification],
) -> Result:
    """A result row from its record, with its stock value and verdict.

    Built from column values in one constructor call: imports build thousands of these.
    """
    columns: dict[str, Any] = {}
    quantities = result.quantities
    if not quantities:
        columns["outcome"] = result.outcome or ""
    else:
        for name, part in quantities.items():
            columns |= quantity_columns(name, part)
        columns["basis"], columns["stock_canonical"] = _stock(
            quantities["value"], result, assay.dilution_factor
        )
    spec = specification_for(result.attribute, assay, specs)
    # Column names only (assay_run_id, not assay_run): Django's constructor takes them
    # four times faster than related objects.
    row = Result(
        assay_run_id=run.pk,
        position=position,
        attribute=result.attribute,
        qualifier=result.qualifier,
        n=result.n,
        notes=result.notes,
        specification_id=None if spec is None else spec.pk,
        **columns,
    )
    row.verdict = judge(row, spec)
    return row


def specification_for(
    attribute: str, assay: record.Assay, specs: dict[tuple[str, str], Specification]
) -> Specification | None:
    """The specification that judges a result: the product's release specification
    applies to the product itself, so only final-stage samples are judged (a harvest or
    in-process sample is not the product); one bound to the run's method wins over one
    for any method."""
    if assay.sample_stage != SampleStage.FINAL:
        return None
    return specs.get((attribute, assay.method.value)) or specs.get((attribute, ""))


def _stock(
    quantity: QuantityValue, result: record.Result, dilution: QuantityValue | None
) -> tuple[str, float]:
    """(basis, stock value in the canonical unit): a measured value of a diluted sample is
    multiplied by the dilution; a stock value, or an attribute dilution does not change,
    is the value itself."""
    if not ATTRIBUTES[result.attribute].dilutes:
        return "", quantity.canonical_value
    basis = result.basis or ResultBasis.STOCK
    if basis == ResultBasis.MEASURED and dilution is not None:
        return basis.value, quantity.canonical_value * dilution.canonical_value
    return basis.value, quantity.canonical_value


def judge(result: Result, spec: Specification | None) -> Verdict:
    """A result's verdict against its specification (None: no spec)."""
    if spec is None:
        return Verdict.NO_SPEC
    if result.outcome:
        return outcome_verdict(spec.acceptable_outcomes, result.outcome)
    if result.stock_canonical is None:
        return Verdict.NO_SPEC
    return verdict(spec_limits(spec), result.stock_canonical, Qualifier(result.qualifier))


@transaction.atomic
def result_record(run: AssayRun, result: record.Result, *, acting_user: User) -> Result:
    """Add one result to an assay run (an instrument or a person reporting late)."""
    locked = batch_for_change(
        run.batch, acting_user=acting_user, what="record results", amends=False
    )
    assay = _assay_of(run)
    assay.results.append(result)
    _check_assay(assay)
    position = 1 + (run.results.aggregate(Max("position"))["position__max"] or 0)
    row = result_build(run, position, result, assay, specifications_in_force(locked.product))
    row.full_clean()
    row.save()
    audit(
        actor=acting_user,
        action="evqc.result.recorded",
        obj=row,
        lab=locked.lab,
        batch=locked,
        after=result,
    )
    return row


@transaction.atomic
def result_correct(
    result: Result,
    data: record.Result,
    *,
    expected_version: int | None,
    acting_user: User,
    reason: str = "",
) -> Result:
    """Correct a recorded result. It is judged again against the specification it was
    first judged against (the one in force when it was recorded), and keeps it."""
    run = result.assay_run
    locked = batch_for_change(
        run.batch,
        acting_user=acting_user,
        what="correct a result",
        reason=reason,
    )
    current = Result.objects.select_for_update().get(pk=result.pk)
    check_version(
        f"Result {current.attribute} of {locked.lot_number}", expected_version, current.version
    )
    if data.attribute != current.attribute:
        raise BatchError(
            RESULT_ON_OTHER_ATTRIBUTE.format(attribute=current.attribute),
            BatchErrorCode.INVALID,
            {"field": "attribute"},
        )
    assay = _assay_of(run)
    assay.results.append(data)
    _check_assay(assay)
    before = result_part(current)
    spec = current.specification
    corrected = result_build(run, current.position, data, assay, {})
    corrected.pk, corrected.created_at = current.pk, current.created_at
    corrected._state.adding = False  # the stored row, corrected: not a new result
    corrected.specification, corrected.version = spec, current.version + 1
    corrected.verdict = judge(corrected, spec)
    corrected.full_clean()
    corrected.save(force_update=True)
    audit(
        actor=acting_user,
        action="evqc.result.corrected",
        obj=corrected,
        lab=locked.lab,
        batch=locked,
        before=before,
        after=data,
        reason=reason,
    )
    return corrected


def result_part(row: Result) -> record.Result:
    """The record of a stored result (as the batch-record format writes it)."""
    data: dict[str, Any] = {"attribute": row.attribute, "notes": row.notes}
    value = row.value
    if value is None:
        data["value"] = row.outcome
    else:
        data |= {"value": value.value, "unit": value.unit, "reported_text": value.reported}
        for name in ("sd", "se", "lod", "loq"):
            extra = getattr(row, name)
            if extra is not None:
                data[name] = extra.value
    if row.qualifier:
        data["qualifier"] = row.qualifier
    if row.basis:
        data["basis"] = row.basis
    if row.n is not None:
        data["n"] = row.n
    return record.Result.model_validate(data)


def _assay_of(run: AssayRun) -> record.Assay:
    """The run's own fields as a record (without its results), to check new results in."""
    return record.Assay.model_validate(
        {
            "method": run.method,
            "performed_at": run.performed_at,
            "dilution_factor": run.dilution_factor,
            "results": [],
        }
    )


def _check_assay(assay: record.Assay) -> None:
    """Check results in the context of their run (attribute, basis and dilution rules)."""
    document = assay.model_dump(mode="json")
    try:
        record.Assay.model_validate(document)
    except ValidationError as error:
        raise record.BatchRecordError(record.errors_by_path(error, document)) from None
