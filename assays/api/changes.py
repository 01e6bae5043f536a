"""The write side of specifications and results (`/api/v1/...`), mixed into their read
viewsets: the views read the request and call a service, which checks the role, the
lock, the version and the reason and writes the audit event."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from assays.choices import AssayMethod, attribute_choices
from assays.models import AssayRun, Result, Specification
from assays.selectors import assay_run_list, result_list
from assays.services import (
    result_correct,
    result_record,
    specification_create,
    specification_revise,
)
from batches.api.changes import part_body, split_change
from batches.api.serializers import CodeField
from batches.choices import choices as vocabulary
from batches.idempotency import idempotent
from batches.models import Product
from batches.selectors import product_list
from evqc import batch_record as record

NO_PRODUCT = "No product {id} in your labs."
NO_RUN = "No assay run {id} in your labs."
NO_RESULT = "No result {id} in your labs."
LIMIT_HELP = 'A quantity of the attribute\'s kind: "1e10 particle/mL" or {"value", "unit"}.'


class LimitsSerializer(serializers.Serializer):
    lower_limit = serializers.JSONField(required=False, allow_null=True, help_text=LIMIT_HELP)
    upper_limit = serializers.JSONField(required=False, allow_null=True, help_text=LIMIT_HELP)
    lower_inclusive = serializers.BooleanField(required=False)
    upper_inclusive = serializers.BooleanField(required=False)
    warn_lower = serializers.JSONField(required=False, allow_null=True, help_text=LIMIT_HELP)
    warn_upper = serializers.JSONField(required=False, allow_null=True, help_text=LIMIT_HELP)
    acceptable_outcomes = serializers.ListField(child=serializers.CharField(), required=False)
    required_for_release = serializers.BooleanField(required=False)
    reference = serializers.CharField(required=False, allow_blank=True, max_length=200)


class SpecificationCreateSerializer(LimitsSerializer):
    product = serializers.IntegerField(help_text="The product's id.")
    attribute = CodeField("AttributeEnum", attribute_choices())
    method = CodeField(
        "AssayMethodEnum",
        vocabulary(AssayMethod),
        required=False,
        help_text="Bind the limits to one assay method (required for sizes).",
    )


class SpecificationRevisionSerializer(LimitsSerializer):
    reason = serializers.CharField(help_text="Why the limits change; kept in the audit trail.")


class SpecificationChanges:
    """POST /specifications/ (lab admins) and POST /specifications/{id}/revise/, which
    retires the version and puts the next in force."""

    @extend_schema(request=SpecificationCreateSerializer)
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        given = SpecificationCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        fields = dict(given.validated_data)
        product = _own(product_list(user=request.user), fields.pop("product"), NO_PRODUCT)
        spec = specification_create(product, acting_user=request.user, **fields)
        return self.written(spec, status.HTTP_201_CREATED)

    @extend_schema(request=SpecificationRevisionSerializer)
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    @idempotent
    def revise(self, request: Request, pk: str) -> Response:
        """Retire this version and put a revised one in force; results keep the version
        they were judged against."""
        given = SpecificationRevisionSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        changes = dict(given.validated_data)
        spec = specification_revise(
            self.get_object(),  # type: ignore[attr-defined]
            acting_user=request.user,
            reason=changes.pop("reason"),
            **changes,
        )
        return self.written(spec, status.HTTP_201_CREATED)

    def written(self, spec: Specification, code: int) -> Response:
        row = self.rows(self.request.user).get(pk=spec.pk)  # type: ignore[attr-defined]
        url = self.request.build_absolute_uri(  # type: ignore[attr-defined]
            reverse("api:specification-detail", args=[spec.pk])
        )
        body = self.get_serializer(row).data  # type: ignore[attr-defined]
        return Response(body, status=code, headers={"Location": url})


class ResultChanges:
    """POST /results/ adds a result to an assay run (a value reported late); PATCH
    /results/{id}/ corrects one, with the version loaded and, once the batch has left
    production, a reason. The result is sent in the batch record's result shape."""

    @extend_schema(
        request=part_body(
            "One result in the record's result shape, plus `assay_run` (the run's id)"
        )
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body, _version, _reason = split_change(request.data)
        run_id = body.pop("assay_run", None)
        run: AssayRun = _own(
            assay_run_list(user=request.user).select_related("batch__lab"), run_id, NO_RUN
        )
        row = result_record(run, record.parse_part(record.Result, body), acting_user=request.user)
        return self.written(row, status.HTTP_201_CREATED)

    @extend_schema(request=part_body("The whole corrected result (its attribute stays)"))
    def partial_update(self, request: Request, pk: str, *args: Any, **kwargs: Any) -> Response:
        body, version, reason = split_change(request.data)
        result: Result = _own(
            result_list(user=request.user).select_related("assay_run__batch__lab"), pk, NO_RESULT
        )
        body.setdefault("attribute", result.attribute)
        corrected = result_correct(
            result,
            record.parse_part(record.Result, body),
            expected_version=version,
            reason=reason,
            acting_user=request.user,
        )
        return self.written(corrected, status.HTTP_200_OK)

    def written(self, result: Result, code: int) -> Response:
        row = self.rows(self.request.user).get(pk=result.pk)  # type: ignore[attr-defined]
        url = self.request.build_absolute_uri(  # type: ignore[attr-defined]
            reverse("api:result-detail", args=[result.pk])
        )
        body = self.get_serializer(row).data  # type: ignore[attr-defined]
        return Response(body, status=code, headers={"Location": url})


def _own(rows: Any, pk: object, missing: str) -> Any:
    """The caller's row with this id; another lab's is as missing as a deleted one."""
    try:
        return rows.get(pk=int(str(pk)))
    except (ValueError, TypeError, Product.DoesNotExist, AssayRun.DoesNotExist,
            Result.DoesNotExist):  # fmt: skip
        raise Http404(missing.format(id=pk)) from None
