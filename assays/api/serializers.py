"""API shapes of assays' read endpoints.

Output only: rows come from `assays.selectors`, whose annotations (`lot_number`,
`instrument_name`, ...) name the rows they point at, so no field here runs a query.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from functools import cache, cached_property
from operator import itemgetter
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from assays.choices import (
    QUALIFIERS,
    VERDICTS,
    AssayMethod,
    ResultBasis,
    SampleStage,
    attribute_choices,
    choices,
)
from assays.models import AssayRun, Specification
from batches.api.serializers import CodeField, ProductRefSerializer
from evqc.api import QuantitySerializerField
from evqc.vocabulary import ATTRIBUTES

IN_ATTRIBUTE_KIND = (
    "A quantity of the kind the attribute measures (see /api/v1/quantity-kinds/); "
    "canonical_value is in that kind's canonical unit."
)


def assay_method_field(**kwargs: Any) -> CodeField:
    return CodeField("AssayMethodEnum", choices(AssayMethod), **kwargs)


def attribute_field() -> CodeField:
    return CodeField("ResultAttributeEnum", attribute_choices())


def attribute_quantity_field() -> QuantitySerializerField:
    return QuantitySerializerField(None, allow_null=True, help_text=IN_ATTRIBUTE_KIND)


class RawFileSerializer(serializers.Serializer):
    name = serializers.CharField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField(allow_null=True, help_text="In bytes.")


class AssayRunSerializer(serializers.Serializer):
    """One run of an assay method on a sample of a batch; its results are listed at
    /api/v1/results/?assay_run={id}."""

    id = serializers.IntegerField()
    lot_number = serializers.CharField()
    position = serializers.IntegerField(help_text="Order of the run within its batch.")
    method = assay_method_field()
    method_label = serializers.CharField(source="get_method_display")
    instrument = serializers.CharField(
        source="instrument_name", allow_null=True, help_text="The instrument's name."
    )
    operator = serializers.CharField()
    performed_at = serializers.DateTimeField()
    sop_reference = serializers.CharField()
    sample_stage = CodeField("SampleStageEnum", choices(SampleStage))
    isolation_step = serializers.IntegerField(
        source="isolation_step_order",
        allow_null=True,
        help_text="The order of the isolation step after which an in-process sample was taken.",
    )
    aliquot = serializers.CharField(
        source="aliquot_label", allow_null=True, help_text="The aliquot's label."
    )
    dilution_factor = QuantitySerializerField("dilution_factor", allow_null=True)
    software_version = serializers.CharField()
    settings = serializers.JSONField(help_text="The instrument settings of the run.")
    lysis_buffer = serializers.CharField()
    reducing = serializers.BooleanField(allow_null=True)
    raw_file = serializers.SerializerMethodField()
    notes = serializers.CharField()
    recorded_by = serializers.CharField(source="recorded_by_username", allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(RawFileSerializer(allow_null=True))
    def get_raw_file(self, run: AssayRun) -> dict[str, Any] | None:
        if not run.raw_file_sha256:
            return None
        return {
            "name": run.raw_file_name,
            "sha256": run.raw_file_sha256,
            "size": run.raw_file_size,
        }


class ResultSerializer(serializers.Serializer):
    """One reported attribute of an assay run and its verdict against the specification
    in force when it was recorded."""

    # The fields below are the documented shape; `to_representation` writes it by hand
    # from a row of `assays.selectors.result_rows`. DRF's field-by-field path costs about
    # 50 µs a result, three times the query that loads it, and a page holds up to 1000
    # results (an instrument's plate, a trend chart). tests/api/test_assays.py checks
    # that both paths write the same.

    id = serializers.IntegerField()
    lot_number = serializers.CharField()
    assay_run = serializers.IntegerField(source="assay_run_id", help_text="The assay run's id.")
    method = assay_method_field(help_text="The assay run's method.")
    performed_at = serializers.DateTimeField(help_text="When the assay run was performed.")
    position = serializers.IntegerField(help_text="Order of the result within its run.")
    attribute = attribute_field()
    value = attribute_quantity_field()
    outcome = serializers.CharField(help_text="A qualitative attribute's outcome.")
    qualifier = CodeField(
        "QualifierEnum",
        QUALIFIERS,
        allow_null=True,
        help_text='"<" below or ">" above the value (a limit of quantitation); null: exact.',
    )
    basis = CodeField("ResultBasisEnum", choices(ResultBasis), allow_null=True)
    sd = attribute_quantity_field()
    se = attribute_quantity_field()
    n = serializers.IntegerField(allow_null=True)
    lod = attribute_quantity_field()
    loq = attribute_quantity_field()
    stock_canonical = serializers.FloatField(
        allow_null=True,
        help_text="The stock's value in the value's canonical unit (the value times the "
        "run's dilution for a measured value of a diluted sample).",
    )
    specification = serializers.IntegerField(
        source="specification_id",
        allow_null=True,
        help_text="The specification (version) the result was judged against.",
    )
    verdict = CodeField("VerdictEnum", VERDICTS)
    version = serializers.IntegerField()
    notes = serializers.CharField()
    created_at = serializers.DateTimeField(help_text="When the result was recorded.")
    updated_at = serializers.DateTimeField()

    def to_representation(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """A row of `assays.selectors.result_rows`, as the fields above write it."""
        unit = _canonical_unit(row["attribute"])
        zone = self._zone
        return {
            "id": row["id"],
            "lot_number": row["lot_number"],
            "assay_run": row["assay_run_id"],
            "method": row["method"],
            "performed_at": _datetime(row["performed_at"], zone),
            "position": row["position"],
            "attribute": row["attribute"],
            "value": _quantity(_VALUE(row), unit),
            "outcome": row["outcome"],
            "qualifier": row["qualifier"] or None,
            "basis": row["basis"] or None,
            "sd": _quantity(_SD(row), unit),
            "se": _quantity(_SE(row), unit),
            "n": row["n"],
            "lod": _quantity(_LOD(row), unit),
            "loq": _quantity(_LOQ(row), unit),
            "stock_canonical": row["stock_canonical"],
            "specification": row["specification_id"],
            "verdict": row["verdict"],
            "version": row["version"],
            "notes": row["notes"],
            "created_at": _datetime(row["created_at"], zone),
            "updated_at": _datetime(row["updated_at"], zone),
        }

    @cached_property
    def _zone(self) -> tzinfo:
        """The zone DRF writes times in (looked up once, not for each of 3000 times)."""
        return timezone.get_current_timezone()


def _columns(name: str) -> itemgetter[tuple[Any, ...]]:
    """The four columns of the QuantityField `name` (evqc.fields), in one call."""
    return itemgetter(f"{name}_value", f"{name}_unit", f"{name}_canonical", f"{name}_reported")


_VALUE, _SD, _SE, _LOD, _LOQ = (_columns(name) for name in ("value", "sd", "se", "lod", "loq"))


@cache
def _canonical_unit(attribute: str) -> str:
    described = ATTRIBUTES.get(attribute)
    return "" if described is None or described.qualitative else described.kind.unit_label


def _quantity(columns: tuple[Any, ...], canonical_unit: str) -> dict[str, Any] | None:
    """What QuantitySerializerField writes, from a quantity's four columns."""
    value, unit, canonical_value, reported = columns
    if value is None:
        return None
    return {
        "value": value,
        "unit": unit,
        "canonical_value": canonical_value,
        "canonical_unit": canonical_unit,
        "reported_text": reported,
    }


def _datetime(value: datetime | None, zone: tzinfo) -> str | None:
    """What serializers.DateTimeField writes (ISO 8601, "Z" for UTC)."""
    if value is None:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class SpecificationSerializer(serializers.Serializer):
    """An acceptance criterion of a product for one attribute: limits, an alert band or
    acceptable outcomes. A revision retires a version and puts the next in force."""

    id = serializers.IntegerField()
    product = ProductRefSerializer()
    attribute = attribute_field()
    method = assay_method_field(allow_null=True, help_text="Null: any method.")
    lower_limit = attribute_quantity_field()
    lower_inclusive = serializers.BooleanField()
    upper_limit = attribute_quantity_field()
    upper_inclusive = serializers.BooleanField()
    warn_lower = attribute_quantity_field()
    warn_upper = attribute_quantity_field()
    acceptable_outcomes = serializers.ListField(child=serializers.CharField())
    required_for_release = serializers.BooleanField()
    reference = serializers.CharField()
    version = serializers.IntegerField()
    effective_from = serializers.DateTimeField()
    retired_at = serializers.DateTimeField(allow_null=True)
    in_force = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_in_force(self, spec: Specification) -> bool:
        return spec.retired_at is None
