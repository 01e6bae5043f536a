"""Reading batches: always through the acting user's labs, with the queries each page,
endpoint or check needs decided here (a fixed number, whatever the batch holds).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, Max, Prefetch, QuerySet, TextField, Value
from django.db.models.functions import Coalesce
from django.utils.safestring import mark_safe
from django.utils.text import capfirst

from assays.choices import VERDICTS
from assays.models import AssayRun, ImportJob, Result, Specification
from assays.services import result_part
from batches.access import User, remember_role, role_in
from batches.models import (
    AuditEvent,
    Batch,
    IsolationStep,
    Lab,
    LabMembership,
    Product,
    ProductionRun,
    ReportingGap,
    Storage,
)
from batches.records import part_of
from batches.services import isolation_step_part
from evqc import batch_record as record
from evqc.control_charts import Point, control_chart
from evqc.exceptions import BatchErrorCode, NotFound
from evqc.plots import control_chart_svg
from evqc.units import computed_quantity
from evqc.vocabulary import ATTRIBUTES, AssayMethod, BatchStatus, SampleStage, SourceKind

NO_BATCH = "No batch {lot}."


def labs_of(user: User) -> QuerySet[Lab]:
    """The labs the user is a member of."""
    if not user.is_authenticated:
        return Lab.objects.none()
    return Lab.objects.filter(memberships__user=user)


def batch_list(*, user: User) -> QuerySet[Batch]:
    """Batches of the user's labs, with what a list shows."""
    return (
        Batch.objects.filter(lab__memberships__user=user)
        .select_related("lab", "product")
        .order_by("-created_at", "lot_number")
    )


def product_list(*, user: User) -> QuerySet[Product]:
    return Product.objects.filter(lab__memberships__user=user).select_related("lab")


def membership_list(*, user: User) -> QuerySet[LabMembership]:
    return LabMembership.objects.filter(user=user).select_related("lab")


def batch_get(*, user: User, lot_number: str) -> Batch:
    """The batch with this lot number, if it is in one of the user's labs; another lab's
    batch is as unknown as a batch that does not exist. The user's role in its lab comes
    with it (the same join), so the write that usually follows checks it without a query."""
    if "\x00" in lot_number:  # no lot number has one, and PostgreSQL refuses to compare it
        raise NotFound(
            NO_BATCH.format(lot=lot_number.replace("\x00", "")), BatchErrorCode.NOT_FOUND
        )
    batch = (
        batch_list(user=user)
        .filter(lot_number=lot_number)
        .annotate(member_role=F("lab__memberships__role"))
        .first()
    )
    if batch is None:
        raise NotFound(NO_BATCH.format(lot=lot_number), BatchErrorCode.NOT_FOUND)
    remember_role(batch.lab, user, batch.member_role)
    return batch


def record_queryset() -> QuerySet[Batch]:
    """Batches with everything their record holds, in 11 queries."""
    runs = AssayRun.objects.select_related("instrument", "isolation_step", "aliquot")
    return Batch.objects.select_related(
        "lab", "product", "cell_source", "source_sample", "production_run", "storage"
    ).prefetch_related(
        "isolation_steps",
        "engineering_steps",
        "aliquots",
        "parent_links__parent",
        "rule_exceptions",
        Prefetch("assay_runs", queryset=runs),
        "assay_runs__results",
        "assay_runs__markers",
        "assay_runs__images",
        "assay_runs__size_distributions",
    )


def batch_record_get(*, user: User, lot_number: str) -> record.BatchRecord:
    """Everything recorded about a batch, as one in-memory batch record (what the
    guidelines engine, the reports and `export_batch` read), in 12 queries."""
    batch = batch_get(user=user, lot_number=lot_number)
    return batch_record_of(record_queryset().get(pk=batch.pk))


def batch_record_for_lot(lot_number: str) -> record.BatchRecord:
    """The record of a batch for system jobs (management commands, Celery checks),
    which act for every lab."""
    batch = record_queryset().filter(lot_number=lot_number).first()
    if batch is None:
        raise NotFound(NO_BATCH.format(lot=lot_number), BatchErrorCode.NOT_FOUND)
    return batch_record_of(batch)


def batch_record_of(batch: Batch) -> record.BatchRecord:
    """The record of a batch loaded with `record_queryset` (no further queries)."""
    document: dict[str, Any] = {
        "schema": record.SCHEMA,
        "lot_number": batch.lot_number,
        "product": {"code": batch.product.code, "name": batch.product.name},
        "status": batch.status,
        "held_from": batch.held_from or None,
        "preparation_term": batch.preparation_term or None,
        "description": batch.description,
        "evtrack_id": batch.evtrack_id,
        "parents": [
            {
                "lot_number": link.parent.lot_number,
                "relation": link.relation,
                "volume": link.volume,
            }
            for link in batch.parent_links.all()
        ],
        "source": _source(batch),
        "production": _part_or_none(record.Production, batch, "production_run"),
        "isolation_steps": [isolation_step_part(step) for step in batch.isolation_steps.all()],
        "engineering": [
            part_of(record.Engineering, step) for step in batch.engineering_steps.all()
        ],
        "storage": _part_or_none(record.Storage, batch, "storage"),
        "aliquots": [part_of(record.Aliquot, aliquot) for aliquot in batch.aliquots.all()],
        "assays": [_assay(run) for run in batch.assay_runs.all()],
        "exceptions": [
            {"rule": exception.rule, "justification": exception.justification}
            for exception in batch.rule_exceptions.all()
        ],
    }
    return record.BatchRecord.model_validate(document)


def _part_or_none(part: type[record.Part], batch: Batch, relation: str) -> Any:
    row = getattr(batch, relation, None)
    return None if row is None else part_of(part, row)


def _source(batch: Batch) -> Any:
    if batch.source_kind == SourceKind.CELL_CULTURE and batch.cell_source is not None:
        return part_of(record.CellCultureSource, batch.cell_source, kind="cell_culture")
    sample = getattr(batch, "source_sample", None)
    if sample is None:
        return None
    part = record.BiofluidSource if sample.kind == SourceKind.BIOFLUID else record.TissueSource
    return part_of(part, sample)


def _assay(run: AssayRun) -> dict[str, Any]:
    return {
        "method": run.method,
        "instrument": run.instrument.name if run.instrument else "",
        "operator": run.operator,
        "performed_at": run.performed_at,
        "sop_reference": run.sop_reference,
        "sample_stage": run.sample_stage,
        "isolation_step": run.isolation_step.order if run.isolation_step else None,
        "aliquot": run.aliquot.label if run.aliquot else "",
        "dilution_factor": run.dilution_factor,
        "software_version": run.software_version,
        "settings": run.settings,
        "lysis_buffer": run.lysis_buffer,
        "reducing": run.reducing,
        "raw_file": {
            "name": run.raw_file_name,
            "sha256": run.raw_file_sha256,
            "size": run.raw_file_size,
        }
        if run.raw_file_sha256
        else None,
        "notes": run.notes,
        "results": [result_part(result) for result in run.results.all()],
        "markers": [part_of(record.Marker, marker) for marker in run.markers.all()],
        "images": [part_of(record.Image, image) for image in run.images.all()],
        "size_distributions": [
            part_of(record.SizeDistribution, distribution)
            for distribution in run.size_distributions.all()
        ],
    }


def batch_gaps(batch: Batch) -> list[dict[str, Any]]:
    """The batch's stored reporting gaps, warnings and excepted rules, by catalogue and id."""
    return [
        {
            "catalogue": gap.catalogue,
            "rule_id": gap.rule_id,
            "status": gap.status,
            "severity": gap.severity,
            "confidence": gap.confidence,
            "guideline": gap.guideline,
            "title": gap.title,
            "message": gap.message,
            "how_to_fix": gap.how_to_fix,
            "missing": gap.missing,
            "justification": gap.exception.justification if gap.exception else "",
            "checked_at": gap.checked_at.isoformat(),
        }
        for gap in batch.reporting_gaps.select_related("exception").order_by(
            "catalogue", "rule_id"
        )
    ]


def batch_compliance(batch: Batch) -> list[dict[str, Any]]:
    """Per catalogue: rules that apply, met, excepted, gaps, warnings and the percentage
    met (for "evmetric": the EV-METRIC-style score)."""
    return [
        {
            "catalogue": check.catalogue,
            "applicable": check.applicable,
            "fulfilled": check.fulfilled,
            "excepted": check.excepted,
            "gaps": check.gaps,
            "warnings": check.warnings,
            "percent": check.percent,
            "batch_version": check.batch_version,
            "checked_at": check.checked_at.isoformat(),
        }
        for check in batch.guideline_checks.order_by("catalogue")
    ]


# The REST API's lists (and the portal's): rows of the user's labs, with the names of
# the rows they point at as annotations, so a page costs the same queries whatever its
# length and no row drags a whole related model along.
# ------------------------------------------------------------------------------


def lab_list(*, user: User) -> QuerySet[Lab]:
    """The labs the user is a member of, each with the user's `role` in it."""
    # One membership per lab and user (LabMembership_once), so the join repeats no lab.
    return labs_of(user).annotate(role=F("memberships__role"))


def isolation_step_list(*, user: User) -> QuerySet[IsolationStep]:
    """Isolation steps of the user's labs' batches, each with its batch's `lot_number`."""
    return IsolationStep.objects.filter(batch__lab__memberships__user=user).annotate(
        lot_number=F("batch__lot_number")
    )


def storage_list(*, user: User) -> QuerySet[Storage]:
    """How the user's labs' batches are stored, each with its batch's `lot_number`."""
    return Storage.objects.filter(batch__lab__memberships__user=user).annotate(
        lot_number=F("batch__lot_number")
    )


def reporting_gap_list(*, user: User) -> QuerySet[ReportingGap]:
    """Stored reporting gaps, warnings and excepted rules of the user's labs' batches,
    with the batch's `lot_number` and the exception's `justification` ("" if none)."""
    return ReportingGap.objects.filter(batch__lab__memberships__user=user).annotate(
        lot_number=F("batch__lot_number"),
        justification=Coalesce(F("exception__justification"), Value(""), output_field=TextField()),
    )


def audit_event_list(*, user: User) -> QuerySet[AuditEvent]:
    """The audit trail of the user's labs, with `lab_code` and, for events about a batch
    that still exists, its `lot_number` (None otherwise)."""
    # AuditEvent.batch has no database constraint (the trail outlives the batch), so the
    # batch is joined with LEFT OUTER JOIN and may be missing.
    return AuditEvent.objects.filter(lab__memberships__user=user).annotate(
        lab_code=F("lab__code"), lot_number=F("batch__lot_number")
    )


def batch_page(*, user: User, lot_number: str) -> dict[str, Any]:
    """Everything the portal's batch page shows, in a fixed number of queries whatever
    the batch holds: the batch with its parts and assay runs (record_queryset), each
    result with the specification it was judged against (`judged_by`), its gaps grouped
    by catalogue, its compliance and its latest audit events."""
    batch = batch_get(user=user, lot_number=lot_number)
    full = record_queryset().get(pk=batch.pk)
    runs = list(full.assay_runs.all())
    results = [result for run in runs for result in run.results.all()]
    specifications = Specification.objects.in_bulk({r.specification_id for r in results} - {None})
    for result in results:  # the specification each result was judged against, if any
        result.judged_by = specifications.get(result.specification_id)
    recorded = {exception.rule: exception for exception in full.rule_exceptions.all()}
    # Per catalogue: open gaps first, then recommendations not followed, then exceptions.
    gaps: dict[str, dict[str, list[dict[str, Any]]]] = {}
    every_gap = batch_gaps(full)
    for gap in every_gap:
        # An exception recorded since the last check: the gap shows it until the check.
        waiting = recorded.get(gap["rule_id"]) if gap["status"] != "excepted" else None
        gap["recorded_exception"] = waiting.justification if waiting else ""
        groups = gaps.setdefault(gap["catalogue"], {"gap": [], "warning": [], "excepted": []})
        groups[gap["status"]].append(gap)
    at_a_glance = {
        "open_gaps": sum(gap["status"] == "gap" for gap in every_gap),
        "gap_warnings": sum(gap["status"] == "warning" for gap in every_gap),
        "failed": sum(result.verdict == "fail" for result in results),
        "alerts": sum(result.verdict == "warn" for result in results),
        "results": len(results),
    }
    return {
        "batch": full,
        "runs": runs,
        "gaps": gaps,
        "at_a_glance": at_a_glance,
        "compliance": batch_compliance(full),
        "role": role_in(user, full.lab),
        "events": list(
            AuditEvent.objects.filter(batch=full).order_by("-occurred_at", "-pk")[:AUDIT_SHOWN]
        ),
    }


AUDIT_SHOWN = 50


DASHBOARD_ROWS = 10


def dashboard(*, user: User) -> dict[str, Any]:
    """What the home page shows a person about their labs, in a fixed number of queries:
    batches by status, the rules with the most open gaps, the latest results out of
    specification (or in the alert band) and the latest export-file imports."""
    batches = Batch.objects.filter(lab__memberships__user=user)
    by_status = dict(batches.values_list("status").annotate(count=Count("id")).order_by())
    gaps = (
        ReportingGap.objects.filter(batch__lab__memberships__user=user, status="gap")
        .values("catalogue", "rule_id", "title")
        .annotate(batches=Count("batch", distinct=True))
        .order_by("-batches", "rule_id")[:DASHBOARD_ROWS]
    )
    out_of_spec = (
        Result.objects.filter(
            assay_run__batch__lab__memberships__user=user, verdict__in=("fail", "warn")
        )
        .select_related("assay_run__batch")
        .order_by("-assay_run__performed_at", "-pk")[:DASHBOARD_ROWS]
    )
    imports = (
        ImportJob.objects.filter(lab__memberships__user=user)
        .select_related("batch")
        .order_by("-created_at", "-pk")[:DASHBOARD_ROWS]
    )
    return {
        "by_status": [(status, by_status.get(status.value, 0)) for status in BatchStatus],
        "gaps": list(gaps),
        "out_of_spec": list(out_of_spec),
        "imports": list(imports),
    }


def production_part(batch: Batch) -> record.Production | None:
    """The batch's production run as the record holds it (None before it is recorded)."""
    row = ProductionRun.objects.filter(batch=batch).first()
    return None if row is None else part_of(record.Production, row)


def storage_part(batch: Batch) -> record.Storage | None:
    """How the batch is stored, as the record holds it (None before it is recorded)."""
    row = Storage.objects.filter(batch=batch).first()
    return None if row is None else part_of(record.Storage, row)


def next_step_order(batch: Batch) -> int:
    """The order a new isolation step of the batch takes: after its last one."""
    last = batch.isolation_steps.aggregate(last=Max("order"))["last"]
    return 1 if last is None else last + 1


# The product page: a product, its specification and the trend of each attribute across
# its batches.
# ------------------------------------------------------------------------------

NO_PRODUCT = "No product {id}."


def product_get(*, user: User, pk: int) -> Product:
    """The product with this id, if it is one of the user's labs'; another lab's product
    is as unknown as a product that does not exist."""
    product = product_list(user=user).filter(pk=pk).first()
    if product is None:
        raise NotFound(NO_PRODUCT.format(id=pk), BatchErrorCode.NOT_FOUND)
    return product


def product_page(*, user: User, pk: int) -> dict[str, Any]:
    """Everything the portal's product page shows, in 4 queries whatever the number of
    batches: the product with its lab, its specifications (in force and retired), the
    number of its batches, and one row (values(), no model instances) per final-stage
    numeric result of its batches, from which each trend keeps one point per batch.

    1. A trend is one attribute measured by one method: sizes by NTA and by TEM differ
       by method, so they are charted apart, and a specification bound to a method only
       judges that method's results.
    2. A batch's point is the stock value, in the attribute's canonical unit, of its
       latest final-stage result of that attribute by that method (by when the assay was
       performed, then the run's and the result's position): a repeat supersedes the
       earlier test. Harvest and in-process samples are not the product; a result given
       as below or above a limit ("< 0.5 EU/mL") is not a value to chart, and its batch
       is listed as not charted.
    3. Points are in the order the batches were recorded in evqc (created_at, then id),
       the only date every batch has.
    """
    product = product_get(user=user, pk=pk)
    specifications = list(
        Specification.objects.filter(product=product).order_by("attribute", "method", "-version")
    )
    in_force = {(s.attribute, s.method): s for s in specifications if s.retired_at is None}
    latest: dict[tuple[str, str], dict[int, dict[str, Any]]] = {}
    for row in _final_results(product):  # ordered oldest first: a later row replaces
        latest.setdefault((row["attribute"], row["method"]), {})[row["batch_id"]] = row
    series = sorted(latest, key=lambda key: _trend_order(key, in_force))
    return {
        "product": product,
        "specifications": [s for s in specifications if s.retired_at is None],
        "retired_specifications": [s for s in specifications if s.retired_at is not None],
        "batch_count": Batch.objects.filter(product=product).count(),
        "trends": [
            _trend(
                number,
                attribute,
                method,
                list(latest[attribute, method].values()),
                in_force.get((attribute, method)) or in_force.get((attribute, "")),
            )
            for number, (attribute, method) in enumerate(series, start=1)
        ],
    }


def _final_results(product: Product) -> QuerySet[Result, dict[str, Any]]:
    """The product's final-stage numeric results, batch by batch (oldest batch first),
    each batch's results in the order they were performed: only the columns a trend
    needs."""
    return (
        Result.objects.filter(
            assay_run__batch__product=product,
            assay_run__batch__lab_id=product.lab_id,
            assay_run__sample_stage=SampleStage.FINAL,
            stock_canonical__isnull=False,
        )
        .order_by(
            "assay_run__batch__created_at",
            "assay_run__batch_id",
            "assay_run__performed_at",
            "assay_run__position",
            "position",
        )
        .values(
            "attribute",
            "qualifier",
            "stock_canonical",
            "verdict",
            method=F("assay_run__method"),
            performed_at=F("assay_run__performed_at"),
            batch_id=F("assay_run__batch_id"),
            lot_number=F("assay_run__batch__lot_number"),
            status=F("assay_run__batch__status"),
        )
    )


def _trend_order(key: tuple[str, str], in_force: dict[tuple[str, str], Any]) -> tuple[Any, ...]:
    """Attributes the specification names first, then in the vocabulary's order."""
    attribute, method = key
    specified = key in in_force or (attribute, "") in in_force
    return (not specified, list(ATTRIBUTES).index(attribute), method)


def _trend(
    number: int,
    attribute: str,
    method: str,
    rows: list[dict[str, Any]],
    spec: Specification | None,
) -> dict[str, Any]:
    """One trend: its control-chart analysis and SVG, the points as the table shows them
    (values as quantities in the canonical unit, the rules that flag each) and the
    batches whose result could not be charted."""
    described = ATTRIBUTES[attribute]
    kind = described.kind
    title = f"{capfirst(described.label)} by {AssayMethod(method).label}"
    charted = [row for row in rows if not row["qualifier"]]
    chart = control_chart([Point(row["lot_number"], row["stock_canonical"]) for row in charted])
    unit = f" ({kind.unit_label})" if kind.unit_label else ""
    svg = control_chart_svg(
        chart,
        element_id=f"trend-{number}-chart",
        title=f"Control chart: {title}",
        axis_label=f"{capfirst(described.label)}{unit}",
        specification=(
            (spec.lower_limit_canonical, spec.upper_limit_canonical) if spec else (None, None)
        ),
    )
    verdicts = dict(VERDICTS)
    limits = chart.limits
    return {
        "id": f"trend-{number}",
        "title": title,
        "specification": spec,
        "chart": chart,
        "svg": None if svg is None else mark_safe(svg),  # noqa: S308 (plots escapes all text)
        "limits": None
        if limits is None
        else {
            name: computed_quantity(getattr(limits, name), kind)
            for name in (
                "upper_control",
                "upper_warning",
                "mean",
                "lower_warning",
                "lower_control",
                "sd",
            )
        },
        "points": [
            row
            | {
                "value": computed_quantity(row["stock_canonical"], kind),
                "verdict_label": verdicts.get(row["verdict"], row["verdict"]),
                "status_label": BatchStatus(row["status"]).label,
                "rules": chart.rules_at(index),
            }
            for index, row in enumerate(charted)
        ],
        "not_charted": [row for row in rows if row["qualifier"]],
    }
