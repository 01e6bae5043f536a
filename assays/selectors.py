"""Reading assay runs, results and specifications: always through the acting user's labs,
with the names of the rows they point at as annotations, so a page costs the same number
of queries whatever its length and no row drags a whole related model along.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import F, QuerySet

from assays.imports import import_job_assay
from assays.models import AssayRun, ImportJob, Result, Specification
from batches.access import User
from evqc.batch_record import SETTING_KINDS
from evqc.exceptions import BatchErrorCode, EVQCError, NotFound
from evqc.plots import line_chart
from evqc.units import (
    QuantityKind,
    QuantityValue,
    UnitError,
    computed_quantity,
    convert,
    parse_quantity,
)
from evqc.vocabulary import ATTRIBUTES, ResultBasis


def assay_run_list(*, user: User) -> QuerySet[AssayRun]:
    """Assay runs of the user's labs' batches, each with its batch's `lot_number`, its
    `instrument_name`, the `isolation_step_order` and `aliquot_label` of the sample (None
    when the run names none) and the `recorded_by_username`."""
    return AssayRun.objects.filter(batch__lab__memberships__user=user).annotate(
        lot_number=F("batch__lot_number"),
        instrument_name=F("instrument__name"),
        isolation_step_order=F("isolation_step__order"),
        aliquot_label=F("aliquot__label"),
        recorded_by_username=F("recorded_by__username"),
    )


def result_list(*, user: User) -> QuerySet[Result]:
    """Results of the user's labs' batches, each with its batch's `lot_number` and its
    run's `method` and `performed_at`."""
    return Result.objects.filter(assay_run__batch__lab__memberships__user=user).annotate(
        lot_number=F("assay_run__batch__lot_number"),
        method=F("assay_run__method"),
        performed_at=F("assay_run__performed_at"),
    )


def result_rows(*, user: User) -> QuerySet[dict[str, Any]]:
    """`result_list` as plain rows: a dict per result of its columns (foreign keys as
    `<name>_id`, each quantity as its four columns) and the annotations. What the API's
    pages of up to 1000 results read: building model instances would cost as much as
    the query itself."""
    return result_list(user=user).values()


def specification_list(*, user: User) -> QuerySet[Specification]:
    """Specifications (in force and retired) of the user's labs' products, with the
    product joined."""
    return Specification.objects.filter(product__lab__memberships__user=user).select_related(
        "product"
    )


def import_job_list(*, user: User, sent_by_self: bool = False) -> QuerySet[ImportJob]:
    """Export-file imports into the user's labs (only the user's own when
    `sent_by_self`: what an instrument's token sees)."""
    jobs = ImportJob.objects.filter(lab__memberships__user=user)
    if sent_by_self:
        jobs = jobs.filter(created_by=user)
    return jobs.select_related("batch", "created_by")


def assay_run_get(*, user: User, pk: int) -> AssayRun:
    """The assay run with this id in one of the user's labs; another lab's is as
    unknown as a missing one."""
    return _one_run(assay_run_list(user=user), pk)


def _one_run(rows: QuerySet[AssayRun], pk: int) -> AssayRun:
    run = rows.filter(pk=pk).first()
    if run is None:
        raise NotFound(NO_RUN.format(id=pk), BatchErrorCode.NOT_FOUND)
    return run


def assay_run_page(*, user: User, pk: int) -> dict[str, Any]:
    """What the portal's assay-run page shows, in a fixed number of queries: the run,
    its results (with the stock value of one measured on the diluted sample), its size
    distributions with their charts, its settings (quantities read back as such), and
    the per-video values and warnings of the export file it was imported from (if it was)."""
    rows = (
        assay_run_list(user=user)
        .select_related("batch", "instrument", "import_job")
        .prefetch_related("results", "size_distributions")
    )
    run = _one_run(rows, pk)
    job = getattr(run, "import_job", None)
    summary = job.summary if job is not None else {}
    per_video = [m for m in summary.get("measurements", []) if m.get("video") is not None]
    return {
        "run": run,
        "results": [ResultRow(result, _stock(result)) for result in run.results.all()],
        "charts": [
            (distribution, line_chart(distribution.bin_centres, distribution.bin_values))
            for distribution in run.size_distributions.all()
        ],
        "per_video": [_video_value(measurement) for measurement in per_video],
        "settings": [_setting(name, value) for name, value in run.settings.items()],
        "import_job": job,
    }


@dataclass(frozen=True)
class ResultRow:
    """A result as the run page shows it. `stock`: for a value measured on the diluted
    sample, the stock's value it stands for (value x dilution), which is what the
    verdict judges (`assays.services.judge` compares `stock_canonical`); else None."""

    result: Result
    stock: QuantityValue | None


@dataclass(frozen=True)
class ShownValue:
    """A value from the export file or the run's settings: `quantity` (and `sd`) when it
    reads as one, else `text` as the file or the person gave it."""

    name: str
    label: str
    quantity: QuantityValue | None = None
    sd: QuantityValue | None = None
    text: str = ""
    video: int | None = None


def _stock(result: Result) -> QuantityValue | None:
    value = result.value
    if result.basis != ResultBasis.MEASURED or result.stock_canonical is None or value is None:
        return None
    # In the unit the value was measured in, so the two read side by side.
    return convert(computed_quantity(result.stock_canonical, value.kind), value.unit)


def _stored_quantity(stored: object, kind: QuantityKind | str) -> QuantityValue | None:
    """A quantity as evqc writes it in JSON ({"value", "unit", "canonical_value", ...})
    read back; None when it is not one."""
    if not isinstance(stored, Mapping):
        return None
    try:
        return parse_quantity(stored, kind)
    except UnitError:
        return None


def _video_value(measurement: Mapping[str, Any]) -> ShownValue:
    """One per-video value of an import's summary (`evqc.instruments.Measurement` as
    JSON), labelled with its attribute's label."""
    name = str(measurement.get("attribute", ""))
    attribute = ATTRIBUTES.get(name)
    stored = measurement.get("quantity")
    reported = stored.get("reported_text", "") if isinstance(stored, Mapping) else ""
    quantity = sd = None
    if attribute is not None and attribute.kind_name:
        quantity = _stored_quantity(stored, attribute.kind_name)
        sd = _stored_quantity(measurement.get("sd"), attribute.kind_name)
    return ShownValue(
        name=name,
        label=attribute.label if attribute is not None else name,
        quantity=quantity,
        sd=sd if quantity is not None else None,
        text=reported or measurement.get("reported", ""),
        video=measurement.get("video"),
    )


def _setting(name: str, value: Any) -> ShownValue:
    """An instrument setting: those with a unit (`SETTING_KINDS`) as quantities."""
    quantity = _stored_quantity(value, SETTING_KINDS[name]) if name in SETTING_KINDS else None
    if quantity is not None:
        return ShownValue(name=name, label=name, quantity=quantity)
    if isinstance(value, Mapping):  # a quantity that no longer reads: what was reported
        text = str(value.get("reported_text") or value.get("value", ""))
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    else:
        text = "" if value is None else str(value)
    return ShownValue(name=name, label=name, text=text)


def import_job_get(*, user: User, pk: int) -> ImportJob:
    """The import with this id into one of the user's labs; another lab's is as unknown
    as a missing one."""
    job = import_job_list(user=user).select_related("batch__lab").filter(pk=pk).first()
    if job is None:
        raise NotFound(NO_IMPORT.format(id=pk), BatchErrorCode.NOT_FOUND)
    return job


def import_job_page(*, user: User, pk: int) -> dict[str, Any]:
    """What the portal's import page shows: the job, and while it awaits confirmation
    the assay run its file would become (read again from the stored file), with charts
    of its size distributions."""
    job = import_job_get(user=user, pk=pk)
    preview, charts, problem = None, [], ""
    if job.status == ImportJob.Status.PARSED:
        try:
            preview, _warnings = import_job_assay(job)
        except EVQCError as error:  # the lab's time zone changed since, say
            problem = error.message
        else:
            charts = [
                (distribution, line_chart(distribution.bin_centres, distribution.bin_values))
                for distribution in preview.size_distributions
            ]
    return {"job": job, "preview": preview, "charts": charts, "problem": problem}


NO_RUN = "No assay run {id}."
NO_IMPORT = "No import {id}."
