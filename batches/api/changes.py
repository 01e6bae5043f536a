"""The write side of products, batches and their parts (`/api/v1/...`), mixed into the
read viewsets. Views only read the request and call a service; the services check the
role, the lock, the version and the reason, and write the audit event.

A change to recorded data carries `version` (the version the caller loaded: a stale
one is a 409) and, once the batch left production, a `reason`. Parts of a batch are sent
in the batch-record format's shape (docs/batch-record.md), checked by the same models.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from batches.api.ingest import lab_for
from batches.api.serializers import CodeField
from batches.choices import (
    ENDOTOXIN_ROUTES,
    BatchStatus,
    PreparationTerm,
    ProductClass,
    SourceKind,
)
from batches.choices import choices as vocabulary
from batches.idempotency import idempotent
from batches.models import Batch, IsolationStep, Product
from batches.services import (
    batch_create,
    batch_transition,
    batch_update,
    isolation_step_add,
    isolation_step_remove,
    isolation_step_update,
    product_create,
    product_update,
    production_run_set,
    rule_exception_record,
    storage_set,
)
from evqc import batch_record as record
from evqc.api import QuantitySerializerField
from evqc.exceptions import BatchError, BatchErrorCode, NotFound

LAB = OpenApiParameter("lab", str, description="The lab's code, when you are in several.")
REASON = OpenApiParameter(
    "reason", str, description="Why (required once the batch has left production)."
)
NO_PRODUCT = 'Lab {lab} has no product "{code}".'


def part_body(description: str) -> dict[str, Any]:
    return {
        "application/json": {
            "type": "object",
            "description": f"{description} (docs/batch-record.md), plus `version` (the "
            "batch version you loaded, optional) and `reason` (needed once the batch has "
            "left production).",
            "additionalProperties": True,
        }
    }


def split_change(data: object) -> tuple[dict[str, Any], int | None, str]:
    """A change's body without its `version` and `reason`, and those two."""
    if not isinstance(data, Mapping):
        raise BatchError("Expected a JSON object.", BatchErrorCode.INVALID)
    body = dict(data)
    version, reason = body.pop("version", None), body.pop("reason", "")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise _field("version", "must be the whole-number version you loaded")
    if not isinstance(reason, str):
        raise _field("reason", "must be text")
    return body, version, reason


def _field(name: str, message: str) -> BatchError:
    return BatchError(
        f"{name}: {message}",
        BatchErrorCode.INVALID,
        {"fields": {name: [{"message": message, "code": "invalid"}]}},
    )


def created(body: dict[str, Any], url: str) -> Response:
    return Response(body, status=status.HTTP_201_CREATED, headers={"Location": url})


# Products
# ------------------------------------------------------------------------------


class ProductCreateSerializer(serializers.Serializer):
    code = serializers.RegexField(record.PRODUCT_CODE, max_length=40)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    intended_use = serializers.CharField(required=False, allow_blank=True, max_length=200)
    product_class = CodeField("ProductClassEnum", vocabulary(ProductClass), required=False)
    preparation_term = CodeField(
        "PreparationTermEnum", vocabulary(PreparationTerm), required=False
    )
    route = CodeField("EndotoxinRouteEnum", ENDOTOXIN_ROUTES, required=False)
    max_dose_volume = QuantitySerializerField("volume", required=False, allow_null=True)
    body_weight = QuantitySerializerField("mass", required=False, allow_null=True)
    storage_temperature = QuantitySerializerField("temperature", required=False, allow_null=True)
    shelf_life = QuantitySerializerField("duration", required=False, allow_null=True)
    max_freeze_thaw_cycles = QuantitySerializerField("count", required=False, allow_null=True)
    misev_release_criterion = serializers.BooleanField(required=False)


class ProductChangeSerializer(ProductCreateSerializer):
    code = None  # a product's code never changes: batches and URLs name it
    name = serializers.CharField(max_length=200, required=False)
    version = serializers.IntegerField(help_text="The product version you loaded.")
    reason = serializers.CharField(help_text="Why; kept in the audit trail.")


class ProductChanges:
    """POST /products/ (lab admins) and PATCH /products/{id}/ (with version and reason)."""

    @extend_schema(request=ProductCreateSerializer, parameters=[LAB])
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        given = ProductCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        fields = dict(given.validated_data)
        product = product_create(
            lab_for(request),
            code=fields.pop("code"),
            name=fields.pop("name"),
            acting_user=request.user,
            **fields,
        )
        return self.written(product, status.HTTP_201_CREATED)

    @extend_schema(request=ProductChangeSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        given = ProductChangeSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        changes = dict(given.validated_data)
        product = product_update(
            self.get_object(),
            changes={k: v for k, v in changes.items() if k not in ("version", "reason")},
            expected_version=changes["version"],
            reason=changes["reason"],
            acting_user=request.user,
        )
        return self.written(product, status.HTTP_200_OK)

    def written(self, product: Product, code: int) -> Response:
        row = self.rows(self.request.user).get(pk=product.pk)  # type: ignore[attr-defined]
        body = self.get_serializer(row).data  # type: ignore[attr-defined]
        url = self.request.build_absolute_uri(reverse("api:product-detail", args=[product.pk]))
        return Response(body, status=code, headers={"Location": url})


# Batches
# ------------------------------------------------------------------------------


class BatchCreateSerializer(serializers.Serializer):
    lot_number = serializers.RegexField(record.LOT_NUMBER, max_length=64)
    product = serializers.CharField(help_text="The product's code in the lab.")
    source_kind = CodeField("SourceKindEnum", vocabulary(SourceKind), required=False)
    preparation_term = CodeField(
        "PreparationTermEnum", vocabulary(PreparationTerm), required=False
    )
    description = serializers.CharField(required=False, allow_blank=True)
    evtrack_id = serializers.CharField(required=False, allow_blank=True, max_length=200)


class BatchChangeSerializer(serializers.Serializer):
    preparation_term = CodeField(
        "PreparationTermEnum", vocabulary(PreparationTerm), required=False
    )
    description = serializers.CharField(required=False, allow_blank=True)
    evtrack_id = serializers.CharField(required=False, allow_blank=True, max_length=200)
    version = serializers.IntegerField(help_text="The batch version you loaded.")
    reason = serializers.CharField(required=False, allow_blank=True)


class TransitionSerializer(serializers.Serializer):
    to = CodeField("BatchStatusEnum", vocabulary(BatchStatus))
    reason = serializers.CharField(required=False, allow_blank=True)
    version = serializers.IntegerField(required=False, help_text="The batch version you loaded.")


class RuleExceptionSerializer(serializers.Serializer):
    rule = serializers.CharField(help_text='A rule id of docs/guidelines.md, e.g. "M18-MRK-01".')
    justification = serializers.CharField(help_text="Why the rule does not apply or is met.")


class BatchChanges:
    """Planning and changing batches, moving them through their lifecycle, and recording
    their parts: production, storage, isolation steps, rule exceptions."""

    @extend_schema(request=BatchCreateSerializer, parameters=[LAB])
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        given = BatchCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        fields = dict(given.validated_data)
        lab = lab_for(request)
        code = fields.pop("product")
        product = Product.objects.filter(lab=lab, code=code).first()
        if product is None:
            raise NotFound(NO_PRODUCT.format(lab=lab.code, code=code), BatchErrorCode.NOT_FOUND)
        batch = batch_create(
            lab,
            product=product,
            lot_number=fields.pop("lot_number"),
            acting_user=request.user,
            **fields,
        )
        return self.written(batch, status.HTTP_201_CREATED)

    @extend_schema(request=BatchChangeSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        given = BatchChangeSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        changes = dict(given.validated_data)
        version, reason = changes.pop("version"), changes.pop("reason", "")
        batch = batch_update(
            self.get_object(),  # type: ignore[attr-defined]
            changes=changes,
            expected_version=version,
            reason=reason,
            acting_user=request.user,
        )
        return self.written(batch, status.HTTP_200_OK)

    @extend_schema(request=TransitionSerializer)
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    @idempotent
    def transition(self, request: Request, lot_number: str) -> Response:
        """Move the batch to another status (QA decides release, rejection and holds)."""
        given = TransitionSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        batch = batch_transition(
            self.get_object(),  # type: ignore[attr-defined]
            to=given.validated_data["to"],
            reason=given.validated_data.get("reason", ""),
            expected_version=given.validated_data.get("version"),
            acting_user=request.user,
        )
        return self.written(batch, status.HTTP_200_OK)

    @extend_schema(request=part_body("The upstream culture: the record's `production`"))
    @action(detail=True, methods=["put"], filter_backends=[], pagination_class=None)
    def production(self, request: Request, lot_number: str) -> Response:
        """Record or correct the batch's upstream culture."""
        body, version, reason = split_change(request.data)
        production_run_set(
            self.get_object(),  # type: ignore[attr-defined]
            record.parse_part(record.Production, body),
            acting_user=request.user,
            reason=reason,
            expected_version=version,
        )
        return self.written(self.get_object(), status.HTTP_200_OK)  # type: ignore[attr-defined]

    @extend_schema(request=part_body("How the batch is stored: the record's `storage`"))
    @action(detail=True, methods=["put"], filter_backends=[], pagination_class=None)
    def storage(self, request: Request, lot_number: str) -> Response:
        """Record or correct how the batch is stored."""
        body, version, reason = split_change(request.data)
        storage_set(
            self.get_object(),  # type: ignore[attr-defined]
            record.parse_part(record.Storage, body),
            acting_user=request.user,
            reason=reason,
            expected_version=version,
        )
        return self.written(self.get_object(), status.HTTP_200_OK)  # type: ignore[attr-defined]

    @extend_schema(
        request=part_body("One isolation step: an item of the record's `isolation_steps`"),
        responses={201: OpenApiTypes.OBJECT},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="isolation-steps",
        filter_backends=[],
        pagination_class=None,
    )
    @idempotent
    def add_isolation_step(self, request: Request, lot_number: str) -> Response:
        """Record an isolation step of the batch."""
        body, _version, _reason = split_change(request.data)
        step = isolation_step_add(
            self.get_object(),  # type: ignore[attr-defined]
            record.parse_part(record.IsolationStep, body),
            acting_user=request.user,
        )
        url = request.build_absolute_uri(reverse("api:isolation-step-detail", args=[step.pk]))
        return created({"id": step.pk, "order": step.order, "url": url}, url)

    @extend_schema(request=RuleExceptionSerializer, responses={201: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    @idempotent
    def exceptions(self, request: Request, lot_number: str) -> Response:
        """Record a justified exception to a reporting rule (the rule's gap shows as
        excepted at the batch's next check)."""
        given = RuleExceptionSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        exception = rule_exception_record(
            self.get_object(),  # type: ignore[attr-defined]
            rule=given.validated_data["rule"],
            justification=given.validated_data["justification"],
            acting_user=request.user,
        )
        url = request.build_absolute_uri(
            reverse("api:batch-gaps", kwargs={"lot_number": lot_number})
        )
        return created({"rule": exception.rule, "justification": exception.justification}, url)

    def written(self, batch: Batch, code: int) -> Response:
        row = self.rows(self.request.user).get(pk=batch.pk)  # type: ignore[attr-defined]
        body = self.get_serializer(row).data  # type: ignore[attr-defined]
        url = self.request.build_absolute_uri(  # type: ignore[attr-defined]
            reverse("api:batch-detail", kwargs={"lot_number": batch.lot_number})
        )
        return Response(body, status=code, headers={"Location": url})


class IsolationStepChanges:
    """PUT /isolation-steps/{id}/ corrects a step; DELETE removes one no run refers to."""

    @extend_schema(request=part_body("The whole corrected step (its order stays)"))
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        row: IsolationStep = self.get_object()  # type: ignore[attr-defined]
        body, _version, reason = split_change(request.data)
        body.setdefault("order", row.order)
        isolation_step_update(
            row,
            record.parse_part(record.IsolationStep, body),
            acting_user=request.user,
            reason=reason,
        )
        fresh = self.rows(request.user).get(pk=row.pk)  # type: ignore[attr-defined]
        return Response(self.get_serializer(fresh).data)  # type: ignore[attr-defined]

    @extend_schema(parameters=[REASON])
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        isolation_step_remove(
            self.get_object(),  # type: ignore[attr-defined]
            acting_user=request.user,
            reason=request.query_params.get("reason", ""),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
