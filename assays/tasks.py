"""Celery tasks of assays: thin wrappers around services, given ids only."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="assays.import_job", acks_late=True, reject_on_worker_lost=True)
def import_job_task(job_id: int) -> None:
    """Store an uploaded export file as an assay run (safe to run twice: a job is
    stored by the run that claims it)."""
    from assays.imports import import_job_run

    import_job_run(job_id)


@shared_task(name="assays.import_jobs_requeue")
def import_jobs_requeue_task() -> int:
    """Send again the import jobs left behind (see assays.imports.import_jobs_requeue)."""
    from assays.imports import import_jobs_requeue

    return import_jobs_requeue()


@shared_task(name="assays.import_jobs_discard_unconfirmed")
def import_jobs_discard_unconfirmed_task() -> int:
    """Discard portal uploads never confirmed (assays.imports.UNCONFIRMED_FOR_AT_MOST)."""
    from assays.imports import import_jobs_discard_unconfirmed

    return import_jobs_discard_unconfirmed()
