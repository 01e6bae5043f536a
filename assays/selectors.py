"""Reading assay runs, results and specifications: always through the acting user's labs,
with the names of the rows they point at as annotations, so a page costs the same number
of queries whatever its length and no row drags a whole related model along.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F, QuerySet

from assays.imports import import_job_assay
from assays.models import AssayRun, ImportJob, Result, Specification
from batches.access import User
from evqc.exceptions import BatchErrorCode, EVQCError, NotFound
from evqc.plots import line_chart


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
    its results, its size distributions with their charts, and the per-video values and
    warnings of the export file it was imported from (if it was)."""
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
        "charts": [
            (distribution, line_chart(distribution.bin_centres, distribution.bin_values))
            for distribution in run.size_distributions.all()
        ],
        "per_video": per_video,
        "import_job": job,
    }


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
