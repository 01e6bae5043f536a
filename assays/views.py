"""Portal pages for assay runs: reading one, entering results by hand, and importing an
instrument's export file (upload, preview, confirm, watch it being stored)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from assays import selectors
from assays.forms import TYPED_METHODS, AssayForm, ImportUploadForm, ResultFormSet, assay_from
from assays.imports import (
    ImportOptions,
    import_job_confirm,
    import_job_create,
    import_job_discard,
    max_upload_bytes,
)
from assays.models import ImportJob
from assays.services import assay_run_record
from batches.access import refusal_to_record, role_in
from batches.forms import time_zone_of
from batches.selectors import batch_get
from evqc.exceptions import EVQCError, NotFound
from evqc.vocabulary import AssayMethod


@login_required
def assay_run_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One assay run: its results, size-distribution plot, per-video values, settings,
    the instrument's QC flags and the file it came from."""
    try:
        shown = selectors.assay_run_page(user=request.user, pk=pk)
    except NotFound as error:
        raise Http404(error.message) from None
    return render(request, "assays/assay_run_page.html", shown)


@login_required
def assay_run_raw_file(request: HttpRequest, pk: int) -> FileResponse:
    """The instrument's own file, as it was uploaded (the person's labs only)."""
    try:
        run = selectors.assay_run_get(user=request.user, pk=pk)
    except NotFound as error:
        raise Http404(error.message) from None
    if not run.raw_file:
        raise Http404(f"Assay run {pk} has no stored file.")
    return FileResponse(run.raw_file.open("rb"), as_attachment=True, filename=run.raw_file_name)


def _batch_or_404(request: HttpRequest, lot_number: str) -> Any:
    try:
        return batch_get(user=request.user, lot_number=lot_number)
    except NotFound as error:
        raise Http404(error.message) from None


@login_required
def assay_run_new(request: HttpRequest, lot_number: str) -> HttpResponse:
    """Enter an assay run's results by hand: the method first (it decides the
    attributes offered), then the run and one row per result."""
    batch = _batch_or_404(request, lot_number)
    time_zone = time_zone_of(batch.lab)
    data = request.POST or None
    method = (data or request.GET).get("method", AssayMethod.NTA.value)
    if method not in {m.value for m in TYPED_METHODS}:
        method = AssayMethod.NTA.value
    assay_form = AssayForm(data, initial={"method": method}, time_zone=time_zone)
    results = ResultFormSet(data, prefix="results", form_kwargs={"method": AssayMethod(method)})
    if data is not None:
        assay = assay_from(assay_form, results)
        if assay is not None:
            try:
                run = assay_run_record(batch, assay, acting_user=request.user)
            except EVQCError as error:
                assay_form.add_service_error(error)
            else:
                messages.success(request, f"{len(assay.results)} results of {lot_number} saved.")
                return redirect("assay-run-page", pk=run.pk)
    context = {
        "batch": batch,
        "form": assay_form,
        "results": results,
        "method": AssayMethod(method),
        "methods": TYPED_METHODS,
        "refusal": refusal_to_record(batch, role_in(request.user, batch.lab)),
    }
    return render(request, "assays/assay_run_form.html", context)


@login_required
def import_new(request: HttpRequest, lot_number: str) -> HttpResponse:
    """Upload an export file for a batch. It is read at once (a file evqc cannot import
    is refused here, saying why) and kept, parsed, for the person to check and confirm."""
    batch = _batch_or_404(request, lot_number)
    time_zone = time_zone_of(batch.lab)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        given = form.cleaned_data
        performed_at = given["performed_at"]
        if performed_at is not None and performed_at.tzinfo is None:
            performed_at = performed_at.replace(tzinfo=time_zone)
        options = ImportOptions(
            user_dilution=given["user_dilution"],
            performed_at=performed_at,
            record=form.chosen_record(),
        )
        upload = given["file"]
        try:
            job = import_job_create(
                batch,
                upload.read(),
                upload.name or "export",
                options,
                acting_user=request.user,
                confirmed=False,
            )
        except EVQCError as error:
            fields = error.extra.get("fields") or {}
            for name, problems in fields.items():
                for problem in problems:
                    form.add_error(name if name in form.fields else None, problem["message"])
            if not fields:
                form.add_error(None, error.message)
        else:
            return redirect("import-job-page", pk=job.pk)
    context = {
        "batch": batch,
        "form": form,
        "refusal": refusal_to_record(batch, role_in(request.user, batch.lab)),
        "max_upload_bytes": max_upload_bytes(),
    }
    return render(request, "assays/import_form.html", context)


def _job_or_404(request: HttpRequest, pk: int) -> ImportJob:
    try:
        return selectors.import_job_get(user=request.user, pk=pk)
    except NotFound as error:
        raise Http404(error.message) from None


@login_required
def import_job_page(request: HttpRequest, pk: int) -> HttpResponse:
    """An upload: its preview while it awaits confirmation, then its progress, then the
    assay run it became or why it failed."""
    try:
        shown = selectors.import_job_page(user=request.user, pk=pk)
    except NotFound as error:
        raise Http404(error.message) from None
    return render(request, "assays/import_job_page.html", shown)


@login_required
@require_GET
def import_job_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """How far an import has got, for the import page to show without reloading."""
    job = _job_or_404(request, pk)
    run_url = None
    if job.assay_run_id is not None:
        run_url = reverse("assay-run-page", args=[job.assay_run_id])
    return JsonResponse(
        {
            "status": job.status,
            "status_display": job.get_status_display(),
            "progress": job.progress,
            "assay_run_url": run_url,
            "errors": [error.get("message", "") for error in job.errors],
        }
    )


DECISIONS = {"confirm": import_job_confirm, "discard": import_job_discard}


@login_required
@require_POST
def import_job_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm a previewed upload (it is then stored) or discard it."""
    job = _job_or_404(request, pk)
    decide = (
        import_job_confirm if request.POST.get("decision") == "confirm" else import_job_discard
    )
    try:
        decide(job, acting_user=request.user)
    except EVQCError as error:
        messages.error(request, error.message)
    else:
        if decide is import_job_discard:
            messages.success(request, f"The upload of {job.file_name} was discarded.")
            return redirect("batch-page", lot_number=job.batch.lot_number)
    return redirect("import-job-page", pk=job.pk)
