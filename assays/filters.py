"""How the lists of assay runs, results and specifications are filtered: one FilterSet per
list, shared by the REST API and the portal (the conventions of `batches.filters`).
"""

from __future__ import annotations

import django_filters as filters
from django.db.models import QuerySet

from assays.choices import VERDICTS, AssayMethod, SampleStage, attribute_choices, choices
from assays.models import AssayRun, Result, Specification
from batches.filters import IdFilter, MomentRangeFilter, lot_number_filter


class AssayRunFilter(filters.FilterSet):
    lot_number = lot_number_filter("batch__lot_number")
    method = filters.MultipleChoiceFilter(
        choices=choices(AssayMethod), help_text="Any of these methods (repeat the parameter)."
    )
    instrument = filters.CharFilter(
        field_name="instrument__name", help_text="The instrument's name in its lab."
    )
    stage = filters.MultipleChoiceFilter(
        field_name="sample_stage",
        choices=choices(SampleStage),
        help_text="The sample's stage (repeat the parameter for several).",
    )
    performed = MomentRangeFilter(
        field_name="performed_at", help_text="Performed in this range (ISO 8601)."
    )

    class Meta:
        model = AssayRun
        fields = ()


class ResultFilter(filters.FilterSet):
    lot_number = lot_number_filter("assay_run__batch__lot_number")
    attribute = filters.MultipleChoiceFilter(
        choices=attribute_choices(), help_text="Any of these attributes (repeat the parameter)."
    )
    method = filters.MultipleChoiceFilter(
        field_name="assay_run__method",
        choices=choices(AssayMethod),
        help_text="The assay run's method; any of these (repeat the parameter).",
    )
    verdict = filters.MultipleChoiceFilter(
        choices=VERDICTS,
        help_text="The verdict against the specification in force when the result was "
        'recorded; "verdict=fail&verdict=warn" lists what is out of specification or '
        "trending.",
    )
    assay_run = IdFilter(field_name="assay_run_id", help_text="The assay run's id.")
    recorded = MomentRangeFilter(
        field_name="created_at", help_text="Recorded in this range (ISO 8601)."
    )

    class Meta:
        model = Result
        fields = ()


class SpecificationFilter(filters.FilterSet):
    product = filters.CharFilter(field_name="product__code", help_text="The product's code.")
    attribute = filters.MultipleChoiceFilter(
        choices=attribute_choices(), help_text="Any of these attributes (repeat the parameter)."
    )
    method = filters.MultipleChoiceFilter(
        choices=choices(AssayMethod),
        help_text="Bound to any of these methods; specifications for any method are not "
        "bound to one.",
    )
    in_force = filters.BooleanFilter(
        method="filter_in_force", help_text="In force (true) or retired by a revision (false)."
    )
    required_for_release = filters.BooleanFilter()

    class Meta:
        model = Specification
        fields = ()

    def filter_in_force(
        self, queryset: QuerySet[Specification], name: str, value: bool
    ) -> QuerySet[Specification]:
        return queryset.filter(retired_at__isnull=value)
