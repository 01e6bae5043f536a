"""Portal pages for batches. Views read the request and render what a selector returns;
lists filter with the same FilterSets as the API (batches/filters.py)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from batches import selectors
from batches.access import LOCKED_STATUSES
from batches.choices import BatchStatus, LabRole
from batches.filters import BatchFilter
from batches.forms import RuleExceptionForm
from batches.selectors import batch_list
from batches.services import ALLOWED_TRANSITIONS, rule_exception_record
from evqc.exceptions import EVQCError, NotFound

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
    """The dashboard: the person's labs at a glance."""
    return render(request, "batches/home.html", selectors.dashboard(user=request.user))


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
def product_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A product: what it is, its specification and earlier versions, and the trend of
    each attribute across its batches, with control limits and run-rule flags."""
    try:
        shown = selectors.product_page(user=request.user, pk=pk)
    except NotFound as error:
        raise Http404(error.message) from None
    return render(request, "batches/product_page.html", shown)


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
    role = shown["role"]
    can_record = role is not None and role.rank >= LabRole.ANALYST.rank
    can_record &= status not in LOCKED_STATUSES
    context = {"next_statuses": next_statuses, "can_record": can_record}
    return render(request, "batches/batch_page.html", shown | context)


@login_required
@require_POST
def rule_exception_add(request: HttpRequest, lot_number: str) -> HttpResponse:
    """Record a justified exception to a reporting rule from the batch page."""
    try:
        batch = selectors.batch_get(user=request.user, lot_number=lot_number)
    except NotFound as error:
        raise Http404(error.message) from None
    form = RuleExceptionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the reason for the exception.")
    else:
        try:
            rule_exception_record(batch, acting_user=request.user, **form.cleaned_data)
        except EVQCError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                f"Exception to {form.cleaned_data['rule']} recorded; the gap shows as "
                "excepted once the batch has been checked again.",
            )
    return redirect("batch-page", lot_number=batch.lot_number)
