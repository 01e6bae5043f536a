"""How the lists of batches and of their parts are filtered: one FilterSet per list,
shared by the REST API and the portal.

Filters take the names a lab uses (a lot number, a product or lab code), never database
ids; choice filters list the real choices, so the API schema shows them as enums.
Timestamps filter by range: `<name>_after` and `<name>_before`, both inclusive.
"""

from __future__ import annotations

import django_filters as filters
from django.db.models import Exists, OuterRef, Q, QuerySet

from batches.choices import (
    GAP_STATUSES,
    BatchStatus,
    IsolationMethod,
    ProductClass,
    StepPurpose,
    choices,
)
from batches.models import AuditEvent, Batch, IsolationStep, Product, ReportingGap, Storage
from evqc.guidelines import CATALOGUES, Severity

LOT_NUMBER = "The batch's lot number, exactly."


def lot_number_filter(field_name: str) -> filters.CharFilter:
    return filters.CharFilter(field_name=field_name, help_text=LOT_NUMBER)


class ProductFilter(filters.FilterSet):
    lab = filters.CharFilter(field_name="lab__code", help_text="The lab's code.")
    product_class = filters.MultipleChoiceFilter(choices=choices(ProductClass))
    search = filters.CharFilter(
        method="filter_search", help_text="Part of the product's code or name."
    )

    class Meta:
        model = Product
        fields = ()

    def filter_search(self, queryset: QuerySet[Product], name: str, value: str) -> QuerySet:
        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value))


class BatchFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(
        choices=choices(BatchStatus), help_text="Any of these statuses (repeat the parameter)."
    )
    product = filters.CharFilter(field_name="product__code", help_text="The product's code.")
    lab = filters.CharFilter(field_name="lab__code", help_text="The lab's code.")
    search = filters.CharFilter(
        field_name="lot_number", lookup_expr="icontains", help_text="Part of the lot number."
    )
    created = filters.DateTimeFromToRangeFilter(
        field_name="created_at", help_text="Created in this range (ISO 8601)."
    )
    has_open_gaps = filters.BooleanFilter(
        method="filter_has_open_gaps",
        help_text="Whether the last check left open gaps: required reporting rules that "
        "are not met and not excepted (warnings do not count).",
    )

    class Meta:
        model = Batch
        fields = ()

    def filter_has_open_gaps(self, queryset: QuerySet[Batch], name: str, value: bool) -> QuerySet:
        open_gaps = Exists(ReportingGap.objects.filter(batch=OuterRef("pk"), status="gap"))
        return queryset.filter(open_gaps if value else ~open_gaps)


class IsolationStepFilter(filters.FilterSet):
    lot_number = lot_number_filter("batch__lot_number")
    method = filters.MultipleChoiceFilter(choices=choices(IsolationMethod))
    purpose = filters.MultipleChoiceFilter(choices=choices(StepPurpose))

    class Meta:
        model = IsolationStep
        fields = ()


class StorageFilter(filters.FilterSet):
    lot_number = lot_number_filter("batch__lot_number")

    class Meta:
        model = Storage
        fields = ()


class ReportingGapFilter(filters.FilterSet):
    lot_number = lot_number_filter("batch__lot_number")
    catalogue = filters.MultipleChoiceFilter(choices=[(name, name) for name in CATALOGUES])
    rule_id = filters.CharFilter(help_text='As in rules.md, e.g. "M18-MRK-01".')
    status = filters.MultipleChoiceFilter(choices=GAP_STATUSES)
    severity = filters.MultipleChoiceFilter(choices=[(s.value, s.value) for s in Severity])

    class Meta:
        model = ReportingGap
        fields = ()


class AuditEventFilter(filters.FilterSet):
    lot_number = lot_number_filter("batch__lot_number")
    action = filters.CharFilter(help_text='The action code, e.g. "evqc.batch.imported".')
    action_prefix = filters.CharFilter(
        field_name="action",
        lookup_expr="startswith",
        help_text='The start of action codes, e.g. "evqc.batch." or "evqc.result.".',
    )
    actor = filters.CharFilter(
        field_name="actor__username", help_text="The username of who made the change."
    )
    occurred = filters.DateTimeFromToRangeFilter(
        field_name="occurred_at", help_text="Occurred in this range (ISO 8601)."
    )

    class Meta:
        model = AuditEvent
        fields = ()
