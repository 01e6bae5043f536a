"""The admin of instruments, assay runs, results and specifications: all read-only.

Assay data is written only by `assays.services` (role checks, locks, verdicts against the
specification in force, audit trail); instruments are registered by the imports that
name them. Values are shown with their units through their `QuantityValue`.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from assays.models import (
    AssayRun,
    Image,
    Instrument,
    MarkerResult,
    Result,
    SizeDistribution,
    Specification,
)
from batches.admin import EMPTY, ReadOnlyAdmin, ReadOnlyInline, batch_lot, quantity


@admin.display(description="value", ordering="value_canonical")
def result_value(result: Result) -> str:
    """The value with its unit and qualifier ("< 0.05 EU/mL"), or the outcome."""
    if result.value is None:
        return result.outcome or EMPTY
    return f"{result.qualifier} {result.value}" if result.qualifier else str(result.value)


@admin.display(description="bins")
def bin_count(distribution: SizeDistribution) -> int:
    return len(distribution.bin_centres)


@admin.register(Instrument)
class InstrumentAdmin(ReadOnlyAdmin):
    """Read-only: instruments are registered by the imports that name them
    (`assays.services.instruments_for`); no service edits one yet."""

    list_display = ("name", "lab", "manufacturer", "model", "serial_number", "location")
    list_filter = ("lab", "manufacturer")
    search_fields = ("name", "manufacturer", "model", "serial_number")
    related = ("lab",)


class ResultInline(ReadOnlyInline):
    model = Result
    fields = ("position", "attribute", result_value, "verdict", "specification", "notes")
    related = ("specification__product",)


class MarkerResultInline(ReadOnlyInline):
    model = MarkerResult
    fields = (
        "position",
        "protein",
        "symbol",
        "detected",
        "antibody_vendor",
        "antibody_catalogue_number",
        "antibody_dilution",
        quantity(MarkerResult, "load_protein"),
    )


class ImageInline(ReadOnlyInline):
    model = Image
    fields = (
        "position",
        "technique",
        "field",
        quantity(Image, "magnification"),
        quantity(Image, "scale_bar"),
        "file_name",
        "caption",
    )


class SizeDistributionInline(ReadOnlyInline):
    model = SizeDistribution
    fields = (
        "position",
        "weighting",
        "basis",
        "bin_quantity",
        "centre_unit",
        "value_unit",
        bin_count,
    )


@admin.register(AssayRun)
class AssayRunAdmin(ReadOnlyAdmin):
    list_display = (
        batch_lot("batch"),
        "method",
        "performed_at",
        "sample_stage",
        "instrument",
        "operator",
        quantity(AssayRun, "dilution_factor"),
    )
    list_filter = ("batch__lab", "method", "sample_stage", "batch__product")
    search_fields = ("batch__lot_number", "batch__product__code", "operator", "instrument__name")
    date_hierarchy = "performed_at"
    related = ("batch", "instrument")
    inlines = (ResultInline, MarkerResultInline, ImageInline, SizeDistributionInline)


@admin.register(Result)
class ResultAdmin(ReadOnlyAdmin):
    list_display = (
        batch_lot("assay_run__batch"),
        "assay_method",
        "attribute",
        result_value,
        "verdict",
        "specification_version",
    )
    list_filter = (
        "assay_run__batch__lab",
        "verdict",
        "attribute",
        "assay_run__method",
        "assay_run__batch__product",
    )
    search_fields = (
        "assay_run__batch__lot_number",
        "assay_run__batch__product__code",
        "attribute",
    )
    related = ("assay_run__batch", "specification")
    # Results are the largest table (about 50 per batch): count only what is filtered.
    show_full_result_count = False

    @admin.display(description="method", ordering="assay_run__method")
    def assay_method(self, result: Result) -> str:
        return result.assay_run.get_method_display()

    @admin.display(description="specification", ordering="specification__version")
    def specification_version(self, result: Result) -> str:
        spec = result.specification
        return f"v{spec.version}" if spec is not None else EMPTY


@admin.register(MarkerResult)
class MarkerResultAdmin(ReadOnlyAdmin):
    list_display = (
        batch_lot("assay_run__batch"),
        "assay_method",
        "protein",
        "symbol",
        "detected",
        "antibody_vendor",
        "antibody_clone",
    )
    list_filter = ("assay_run__batch__lab", "detected", "assay_run__method")
    search_fields = ("symbol", "protein", "assay_run__batch__lot_number")
    related = ("assay_run__batch",)

    @admin.display(description="method", ordering="assay_run__method")
    def assay_method(self, marker: MarkerResult) -> str:
        return marker.assay_run.get_method_display()


@admin.register(Image)
class ImageAdmin(ReadOnlyAdmin):
    list_display = (
        batch_lot("assay_run__batch"),
        "technique",
        "field",
        quantity(Image, "magnification"),
        quantity(Image, "scale_bar"),
        "file_name",
    )
    list_filter = ("assay_run__batch__lab", "technique", "field")
    search_fields = ("assay_run__batch__lot_number", "file_name", "caption")
    related = ("assay_run__batch",)


@admin.register(SizeDistribution)
class SizeDistributionAdmin(ReadOnlyAdmin):
    list_display = (
        batch_lot("assay_run__batch"),
        "weighting",
        "bin_quantity",
        "centre_unit",
        "value_unit",
        bin_count,
    )
    list_filter = ("assay_run__batch__lab", "weighting", "bin_quantity")
    search_fields = ("assay_run__batch__lot_number",)
    related = ("assay_run__batch",)


class InForceFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "in_force"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "in force"), ("no", "retired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(retired_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(retired_at__isnull=False)
        return queryset


@admin.register(Specification)
class SpecificationAdmin(ReadOnlyAdmin):
    list_display = (
        "product",
        "attribute",
        "method",
        "limits",
        "warning_band",
        "required_for_release",
        "version",
        "in_force",
        "effective_from",
    )
    list_filter = (InForceFilter, "product__lab", "product", "attribute", "method")
    search_fields = ("product__code", "product__name", "attribute", "reference")
    related = ("product", "created_by")

    @admin.display(description="limits")
    def limits(self, spec: Specification) -> str:
        if spec.acceptable_outcomes:
            return "one of " + ", ".join(spec.acceptable_outcomes)
        bounds = []
        if spec.lower_limit is not None:
            bounds.append(f"{'≥' if spec.lower_inclusive else '>'} {spec.lower_limit}")
        if spec.upper_limit is not None:
            bounds.append(f"{'≤' if spec.upper_inclusive else '<'} {spec.upper_limit}")
        return " and ".join(bounds) or EMPTY

    @admin.display(description="warns when")
    def warning_band(self, spec: Specification) -> str:
        # A value strictly beyond a warning limit (and within the action limits) warns.
        bounds = []
        if spec.warn_lower is not None:
            bounds.append(f"< {spec.warn_lower}")
        if spec.warn_upper is not None:
            bounds.append(f"> {spec.warn_upper}")
        return " or ".join(bounds) or EMPTY

    @admin.display(description="in force", boolean=True, ordering="retired_at")
    def in_force(self, spec: Specification) -> bool:
        return spec.retired_at is None
