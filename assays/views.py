"""Portal pages for assay runs."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from assays import selectors
from evqc.exceptions import NotFound


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
