"""How the lists of batches and of their parts are filtered: one FilterSet per list,
shared by the REST API and the portal.

Filters take the names a lab uses (a lot number, a product or lab code), never database
ids; choice filters list the real choices, so the API schema shows them as enums.
Timestamps filter by range: `<name>_after` and `<name>_before`, both inclusive.
Widgets only shape the portal's form (checkboxes, "any"); the API reads the same
parameters whatever the widget.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters as filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django_filters.widgets import BooleanWidget

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
OUT_OF_RANGE = "Enter a time between the years 1 and 9999 once converted to UTC."
ANY = "any"
ID_RANGE = (1, 2**63 - 1)  # what every database's BIGINT primary keys can hold


class MomentRangeField(filters.fields.DateTimeRangeField):
    """A range of times, each read in UTC: a time whose UTC lies outside the calendar
    (0001-01-01T00:00+01:00) is refused here, not by the database as a 500."""

    def compress(self, data_list: list[datetime | None]) -> slice | None:
        try:
            bounds = [None if moment is None else moment.astimezone(UTC) for moment in data_list]
        except OverflowError:
            raise ValidationError(OUT_OF_RANGE, code="out_of_range") from None
        return super().compress(bounds)


class MomentRangeFilter(filters.DateTimeFromToRangeFilter):
    """`<name>_after` and `<name>_before` (ISO 8601, both inclusive), compared in UTC."""

    field_class = MomentRangeField


class IdFilter(filters.NumberFilter):
    """A row's id: a whole number a database can hold (1.5 or 1e30 are refused)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", ID_RANGE[0])
        kwargs.setdefault("max_value", ID_RANGE[1])
        super().__init__(*args, **kwargs)


class YesNoAnyWidget(BooleanWidget):
    """A yes/no filter whose empty choice reads "any" (django-filter's reads "Unknown",
    which is not what leaving the filter alone means). Reads true/false and 1/0."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.choices = [("", ANY), ("true", "yes"), ("false", "no")]


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
        choices=choices(BatchStatus),
        help_text="Any of these statuses (repeat the parameter).",
        widget=forms.CheckboxSelectMultiple,
    )
    product = filters.CharFilter(field_name="product__code", help_text="The product's code.")
    lab = filters.CharFilter(field_name="lab__code", help_text="The lab's code.")
    search = filters.CharFilter(
        field_name="lot_number", lookup_expr="icontains", help_text="Part of the lot number."
    )
    created = MomentRangeFilter(
        field_name="created_at", help_text="Created in this range (ISO 8601)."
    )
    has_open_gaps = filters.BooleanFilter(
        method="filter_has_open_gaps",
        widget=YesNoAnyWidget,
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
    occurred = MomentRangeFilter(
        field_name="occurred_at", help_text="Occurred in this range (ISO 8601)."
    )

    class Meta:
        model = AuditEvent
        fields = ()
