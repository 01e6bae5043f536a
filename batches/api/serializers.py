"""API shapes of batches' read endpoints.

Output only: rows come from `batches.selectors`, whose annotations (`lot_number`,
`lab_code`, ...) name the rows they point at, so no field here runs a query.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from batches.choices import (
    ENDOTOXIN_ROUTES,
    GAP_STATUSES,
    BatchStatus,
    IsolationMethod,
    LabRole,
    PreparationTerm,
    ProductClass,
    SourceKind,
    StepPurpose,
    choices,
)
from evqc.api import QuantitySerializerField


class CodeField(serializers.ChoiceField):
    """A code of one of evqc's vocabularies, as stored; an empty code (an unset optional
    choice) is null. The schema shows each vocabulary once, as the enum `enum_name`, so
    the same vocabulary under several field names (a batch's `status` and `held_from`)
    is one enum, and two vocabularies under one field name (a batch's and a gap's
    `status`) are two."""

    def __init__(self, enum_name: str, choices: Sequence[tuple[str, str]], **kwargs: Any):
        self.enum_name = enum_name
        super().__init__(choices, **kwargs)

    def to_representation(self, value: str) -> str | None:
        return value or None


class CodeFieldSchema(OpenApiSerializerFieldExtension):
    target_class = CodeField

    def get_name(self) -> str:
        return self.target.enum_name

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        labels = self.target.choices.items()
        return {
            "type": "string",
            "enum": list(self.target.choices),
            "description": "\n".join(f"* `{code}` - {label}" for code, label in labels),
        }


def status_field(**kwargs: Any) -> CodeField:
    return CodeField("BatchStatusEnum", choices(BatchStatus), **kwargs)


class LabSerializer(serializers.Serializer):
    """A lab the caller is a member of, and the caller's role in it."""

    code = serializers.CharField()
    name = serializers.CharField()
    role = CodeField("LabRoleEnum", choices(LabRole), help_text="The caller's role in the lab.")


class ProductRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField(help_text="Unique within the product's lab.")
    name = serializers.CharField()


class ProductSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    lab = serializers.CharField(source="lab.code", help_text="The lab's code.")
    code = serializers.CharField(help_text="Unique within the lab.")
    name = serializers.CharField()
    description = serializers.CharField()
    intended_use = serializers.CharField()
    product_class = CodeField("ProductClassEnum", choices(ProductClass), allow_null=True)
    preparation_term = CodeField("PreparationTermEnum", choices(PreparationTerm), allow_null=True)
    route = CodeField(
        "EndotoxinRouteEnum",
        ENDOTOXIN_ROUTES,
        allow_null=True,
        help_text="Route of administration, for the endotoxin limit.",
    )
    max_dose_volume = QuantitySerializerField("volume", allow_null=True)
    body_weight = QuantitySerializerField("mass", allow_null=True)
    storage_temperature = QuantitySerializerField("temperature", allow_null=True)
    shelf_life = QuantitySerializerField("duration", allow_null=True)
    max_freeze_thaw_cycles = QuantitySerializerField("count", allow_null=True)
    misev_release_criterion = serializers.BooleanField(
        help_text="Open required MISEV gaps block release of this product."
    )
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class BatchSerializer(serializers.Serializer):
    """A batch as lists show it; `/batches/{lot_number}/record/` has everything."""

    lot_number = serializers.CharField()
    lab = serializers.CharField(source="lab.code", help_text="The lab's code.")
    product = ProductRefSerializer()
    status = status_field()
    status_label = serializers.CharField(source="get_status_display")
    held_from = status_field(
        allow_null=True,
        help_text="The status a quarantined batch returns to when its hold is lifted.",
    )
    source_kind = CodeField("SourceKindEnum", choices(SourceKind), allow_null=True)
    preparation_term = CodeField("PreparationTermEnum", choices(PreparationTerm), allow_null=True)
    description = serializers.CharField()
    evtrack_id = serializers.CharField(help_text="The EV-TRACK id, if registered.")
    version = serializers.IntegerField()
    check_pending = serializers.BooleanField(
        help_text="A check of this batch's reporting gaps is waiting to run."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class IsolationStepSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    lot_number = serializers.CharField()
    order = serializers.IntegerField(help_text="1 for the first step of the batch.")
    method = CodeField("IsolationMethodEnum", choices(IsolationMethod))
    method_label = serializers.CharField(source="get_method_display")
    purpose = CodeField("StepPurposeEnum", choices(StepPurpose))
    performed_at = serializers.DateTimeField(allow_null=True)
    input_volume = QuantitySerializerField("volume", allow_null=True)
    output_volume = QuantitySerializerField("volume", allow_null=True)
    parameters = serializers.JSONField(
        help_text="The method's parameters as the batch-record format writes them "
        "(docs/batch-record.md), each quantity an object with value and unit."
    )
    notes = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class StorageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    lot_number = serializers.CharField()
    temperature = QuantitySerializerField("temperature", allow_null=True)
    buffer = serializers.CharField()
    cryoprotectant = serializers.CharField()
    cryoprotectant_concentration = QuantitySerializerField("fraction", allow_null=True)
    container = serializers.CharField()
    fill_volume = QuantitySerializerField("volume", allow_null=True)
    freeze_thaw_cycles = QuantitySerializerField("count", allow_null=True)
    stored_at = serializers.DateTimeField(allow_null=True)
    notes = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ReportingGapSerializer(serializers.Serializer):
    catalogue = serializers.CharField(help_text="misev2018, misev2023, evmetric or release")
    rule_id = serializers.CharField(help_text='As in rules.md, e.g. "M18-MRK-01"')
    status = CodeField("GapStatusEnum", GAP_STATUSES)
    severity = serializers.CharField()
    confidence = serializers.CharField(help_text="C confirmed, S secondary, U unverified")
    guideline = serializers.CharField()
    title = serializers.CharField()
    message = serializers.CharField()
    how_to_fix = serializers.CharField()
    missing = serializers.ListField(child=serializers.CharField())
    justification = serializers.CharField(help_text="The exception's, when excepted")
    checked_at = serializers.DateTimeField()


class ReportingGapWithLotSerializer(ReportingGapSerializer):
    """A stored gap, warning or excepted rule of a batch, in the list across batches."""

    id = serializers.IntegerField()
    lot_number = serializers.CharField()


class GuidelineComplianceSerializer(serializers.Serializer):
    catalogue = serializers.CharField()
    applicable = serializers.IntegerField()
    fulfilled = serializers.IntegerField()
    excepted = serializers.IntegerField()
    gaps = serializers.IntegerField()
    warnings = serializers.IntegerField()
    percent = serializers.FloatField(
        allow_null=True,
        help_text="Met rules / applicable rules in %; EV-METRIC-style score "
        "for the evmetric catalogue",
    )
    batch_version = serializers.IntegerField()
    checked_at = serializers.DateTimeField()


class AuditEventSerializer(serializers.Serializer):
    """Who changed what, when and why; written in the same transaction as the change."""

    id = serializers.IntegerField()
    occurred_at = serializers.DateTimeField()
    action = serializers.CharField(help_text='A namespaced code, e.g. "evqc.batch.imported".')
    actor = serializers.CharField(
        source="actor_name", help_text="The username the actor had at the time."
    )
    lab = serializers.CharField(source="lab_code", help_text="The lab's code.")
    lot_number = serializers.CharField(
        allow_null=True,
        help_text="The batch the event is about; null if none, or if it no longer exists.",
    )
    object_type = serializers.CharField(help_text='"app_label.model", e.g. "batches.batch".')
    object_id = serializers.CharField()
    object_repr = serializers.CharField()
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)
    reason = serializers.CharField()
