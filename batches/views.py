"""Portal pages for batches. Views read the request and render what a selector returns;
lists filter with the same FilterSets as the API (batches/filters.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from batches import selectors
from batches.access import refusal_to_record, role_in
from batches.choices import BatchStatus, LabRole, SourceKind
from batches.filters import BatchFilter
from batches.forms import (
    ProductionForm,
    RuleExceptionForm,
    StepForm,
    StorageForm,
    TransitionForm,
    isolation_step_from,
    parameters_form,
    time_zone_of,
)
from batches.models import Batch
from batches.selectors import batch_list
from batches.services import (
    ALLOWED_TRANSITIONS,
    PRODUCTION_ONLY_CELL_CULTURE,
    batch_transition,
    isolation_step_add,
    production_run_set,
    rule_exception_record,
    storage_set,
)
from evqc.exceptions import EVQCError, NotFound
from evqc.forms import PartForm, initial_of
from evqc.vocabulary import IsolationMethod

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
    context = {
        "next_statuses": next_statuses,
        "can_record": not refusal_to_record(shown["batch"], role),
        "can_move": role is not None and role.rank >= LabRole.ANALYST.rank,
        "transition_form": TransitionForm(initial={"version": shown["batch"].version}),
    }
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
    page = reverse("batch-page", kwargs={"lot_number": batch.lot_number})
    if form.is_valid():  # back to the gap the person was reading
        page += "#gap-" + quote(form.cleaned_data["rule"])
    return redirect(page)


# Recording a batch's parts
# ------------------------------------------------------------------------------


def _batch_or_404(request: HttpRequest, lot_number: str) -> Batch:
    try:
        return selectors.batch_get(user=request.user, lot_number=lot_number)
    except NotFound as error:
        raise Http404(error.message) from None


@login_required
def production_edit(request: HttpRequest, lot_number: str) -> HttpResponse:
    """Record or correct the batch's upstream culture."""
    batch = _batch_or_404(request, lot_number)
    current = selectors.production_part(batch)
    refusal = ""
    if batch.source_kind not in ("", SourceKind.CELL_CULTURE):
        refusal = PRODUCTION_ONLY_CELL_CULTURE.format(lot=batch.lot_number, kind=batch.source_kind)
    title = "Production run"
    return _part_edit(
        request, batch, ProductionForm, current, production_run_set, title, refusal=refusal
    )


@login_required
def storage_edit(request: HttpRequest, lot_number: str) -> HttpResponse:
    """Record or correct how the batch is stored."""
    batch = _batch_or_404(request, lot_number)
    current = selectors.storage_part(batch)
    return _part_edit(request, batch, StorageForm, current, storage_set, "Storage")


def _part_edit(
    request: HttpRequest,
    batch: Batch,
    form_class: type[PartForm],
    current: Any,
    save: Callable[..., Any],
    title: str,
    *,
    refusal: str = "",
) -> HttpResponse:
    time_zone = time_zone_of(batch.lab)
    form = form_class(
        request.POST or None,
        initial={**initial_of(current, time_zone), "version": batch.version},
        time_zone=time_zone,
    )
    if request.method == "POST" and form.is_valid():
        try:
            save(
                batch,
                form.cleaned_data["part"],
                acting_user=request.user,
                reason=form.cleaned_data["reason"],
                expected_version=form.cleaned_data["version"],
            )
        except EVQCError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"{title} of {batch.lot_number} saved.")
            return redirect("batch-page", lot_number=batch.lot_number)
    context = {
        "batch": batch,
        "form": form,
        "title": title,
        "correcting": current is not None,
        "refusal": refusal_to_record(batch, role_in(request.user, batch.lab)) or refusal,
    }
    return render(request, "batches/part_form.html", context)


@login_required
def isolation_step_new(request: HttpRequest, lot_number: str) -> HttpResponse:
    """Record an isolation step: the method first (it decides the parameters asked)."""
    batch = _batch_or_404(request, lot_number)
    time_zone = time_zone_of(batch.lab)
    data = request.POST or None
    method = (data or request.GET).get("method", IsolationMethod.ULTRACENTRIFUGATION.value)
    if method not in {m.value for m in IsolationMethod}:
        method = IsolationMethod.ULTRACENTRIFUGATION.value
    initial = {"method": method, "order": selectors.next_step_order(batch)}
    step_form = StepForm(data, initial=initial, time_zone=time_zone)
    parameters = parameters_form(method)(data, prefix="parameters", time_zone=time_zone)
    if data is not None:
        step = isolation_step_from(step_form, parameters)
        if step is not None:
            try:
                isolation_step_add(batch, step, acting_user=request.user)
            except EVQCError as error:
                step_form.add_service_error(error)
            else:
                messages.success(request, f"Isolation step {step.order} of {lot_number} saved.")
                return redirect("batch-page", lot_number=batch.lot_number)
    context = {
        "batch": batch,
        "form": step_form,
        "parameters": parameters,
        "method": IsolationMethod(method),
        "methods": list(IsolationMethod),
        "refusal": refusal_to_record(batch, role_in(request.user, batch.lab)),
    }
    return render(request, "batches/isolation_step_form.html", context)


@login_required
@require_POST
def batch_transition_page(request: HttpRequest, lot_number: str) -> HttpResponse:
    """Move the batch to another status from its page."""
    batch = _batch_or_404(request, lot_number)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the status to move the batch to.")
        return redirect("batch-page", lot_number=batch.lot_number)
    try:
        moved = batch_transition(
            batch,
            to=form.cleaned_data["to"],
            reason=form.cleaned_data["reason"],
            expected_version=form.cleaned_data["version"],
            acting_user=request.user,
        )
    except EVQCError as error:
        messages.error(request, error.message)
    else:
        status = BatchStatus(moved.status).label
        messages.success(request, f"Batch {moved.lot_number} is now {status}.")
    return redirect("batch-page", lot_number=batch.lot_number)
