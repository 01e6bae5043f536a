"""Portal pages for batches. Views read the request and render what a selector returns;
lists filter with the same FilterSets as the API (batches/filters.py)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from batches import selectors
from batches.choices import BatchStatus
from batches.filters import BatchFilter
from batches.selectors import batch_list
from batches.services import ALLOWED_TRANSITIONS
from evqc.exceptions import NotFound

PAGE_SIZE = 50
# What the batch list can be sorted by: the column's name in the query and its label.
SORTS = {
    "-created_at": "newest first",
    "created_at": "oldest first",
    "lot_number": "lot number",
    "status": "status",
    "-open_gaps": "most open gaps",
}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "batches/home.html")


@login_required
def batch_list_page(request: HttpRequest) -> HttpResponse:
    """The batches of the person's labs: filtered, searched by lot, sorted, in pages."""
    rows = batch_list(user=request.user).annotate(
        open_gaps=Count("reporting_gaps", filter=Q(reporting_gaps__status="gap"))
    )
    filtered = BatchFilter(request.GET, queryset=rows)
    sort = request.GET.get("sort", "-created_at")
    if sort not in SORTS:
        sort = "-created_at"
    batches = filtered.qs.order_by(sort, "lot_number", "pk")
    page = Paginator(batches, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "batches/batch_list.html",
        {
            "filter": filtered,
            "page": page,
            "sort": sort,
            "sorts": SORTS,
            "query": query.urlencode(),
        },
    )


@login_required
def batch_page(request: HttpRequest, lot_number: str) -> HttpResponse:
    """A batch at a glance: status and where it may go next, how it was made, what the
    assays found and their verdicts, its reporting gaps and compliance, its history."""
    try:
        shown = selectors.batch_page(user=request.user, lot_number=lot_number)
    except NotFound as error:
        raise Http404(error.message) from None
    status = BatchStatus(shown["batch"].status)
    next_statuses = sorted(ALLOWED_TRANSITIONS[status], key=list(BatchStatus).index)
    return render(request, "batches/batch_page.html", shown | {"next_statuses": next_statuses})
