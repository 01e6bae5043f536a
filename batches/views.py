"""Portal pages for batches. Views read the request and render what a selector returns;
lists filter with the same FilterSets as the API (batches/filters.py)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from batches.filters import BatchFilter
from batches.selectors import batch_list

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
