"""Where instruments and scripts send results: `POST /api/v1/assay-runs/` (an assay run
as JSON) and `/api/v1/imports/` (an export file, stored by a Celery task whose progress
`GET /api/v1/imports/{id}/` shows). Every POST honours Idempotency-Key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from assays.imports import (
    ImportOptions,
    ImportRefused,
    assay_run_submit,
    import_job_create,
)
from assays.models import AssayRun, ImportJob
from assays.selectors import import_job_list
from batches.access import User
from batches.api.auth import token_of
from batches.api.views import LabRowsViewSet
from batches.idempotency import HEADER, idempotent
from batches.selectors import batch_get
from evqc.api import QuantitySerializerField
from evqc.vocabulary import TokenScope

IDEMPOTENCY_KEY = OpenApiParameter(
    HEADER,
    str,
    OpenApiParameter.HEADER,
    description="Any unique string (e.g. a UUID or the file's SHA-256). A retry with the "
    "same key and body gets the first answer and changes nothing; the same key with "
    "another body is refused (422); while the first request runs, 409.",
)
LOT_REQUIRED = "is required: the lot number of the batch the run belongs to"
ASSAY_RUN_BODY = {
    "type": "object",
    "description": "An assay run in the batch-record format's assay shape "
    "(docs/batch-record.schema.json, $defs/Assay) plus the batch's lot_number. Up to "
    "10,000 results; stored whole or not at all; every problem is listed by JSON path.",
    "required": ["lot_number", "method", "performed_at"],
    "properties": {
        "lot_number": {"type": "string"},
        "method": {"type": "string"},
        "performed_at": {"type": "string", "format": "date-time"},
        "results": {"type": "array", "items": {"type": "object"}, "maxItems": 10000},
    },
    "additionalProperties": True,
}


def _instrument_of(request: Request) -> Any:
    token = token_of(request)
    return None if token is None else token.instrument


class AssayRunCreatedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    lot_number = serializers.CharField()
    position = serializers.IntegerField()
    method = serializers.CharField()
    results = serializers.IntegerField(help_text="How many results were recorded.")
    verdicts = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Results per verdict (pass, warn, fail, no_spec).",
    )


class AssayRunCreateMixin:
    """`create` of the assay-run endpoint (mixed into its viewset)."""

    token_scopes = {"create": {TokenScope.RESULTS_WRITE}}

    @extend_schema(
        request={"application/json": ASSAY_RUN_BODY},
        parameters=[IDEMPOTENCY_KEY],
        responses={201: AssayRunCreatedSerializer},
        examples=[
            OpenApiExample(
                "NTA",
                request_only=True,
                value={
                    "lot_number": "UCMSC-2601",
                    "method": "nta",
                    "performed_at": "2026-11-20T14:03:00+01:00",
                    "dilution_factor": 1000,
                    "results": [
                        {"attribute": "particle_concentration", "value": 2.1e8,
                         "unit": "particle/mL", "basis": "measured", "se": 6.0e6},
                        {"attribute": "size_mode", "value": 98.4, "unit": "nm"},
                    ],
                },
            )
        ],
    )  # fmt: skip
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not isinstance(request.data, Mapping):
            raise ImportRefused("", "expected a JSON object", "invalid")
        document = dict(request.data)
        lot_number = document.pop("lot_number", None)
        if not isinstance(lot_number, str) or not lot_number.strip():
            raise ImportRefused("lot_number", LOT_REQUIRED, "required")
        batch = batch_get(user=request.user, lot_number=lot_number.strip())
        run = assay_run_submit(
            batch, document, acting_user=request.user, token_instrument=_instrument_of(request)
        )
        body = assay_run_created(run, request)
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["url"]})


def assay_run_created(run: AssayRun, request: Request) -> dict[str, Any]:
    verdicts = dict(run.verdict_counts)  # set by the service that stored the run
    return {
        "id": run.pk,
        "url": request.build_absolute_uri(reverse("api:assay-run-detail", args=[run.pk])),
        "lot_number": run.batch.lot_number,
        "position": run.position,
        "method": run.method,
        "results": sum(verdicts.values()),
        "verdicts": verdicts,
    }


# Import jobs
# ------------------------------------------------------------------------------


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="The instrument's export file (NanoSight, ZetaView, Zetasizer, Gen5, "
        "SoftMax Pro, FCS), as is or in a zip or gzip archive; the format is read from "
        "its content."
    )
    lot_number = serializers.CharField(max_length=64)
    user_dilution = QuantitySerializerField(
        "dilution_factor",
        required=False,
        allow_null=True,
        help_text="The dilution of the sample as measured, when the file does not record "
        "it (never guessed from a sample name).",
    )
    performed_at = serializers.DateTimeField(
        required=False, help_text="When the file records no date (or to correct it)."
    )
    record = serializers.RegexField(
        r"^([1-9][0-9]{0,4}|all)$",
        required=False,
        help_text="For a file of several records without an overall value: the number of "
        'the one that belongs to the batch, or "all".',
    )
    instrument = serializers.CharField(
        required=False,
        max_length=200,
        help_text="The instrument's name in the lab (a results:write token's own by default).",
    )


class ImportJobSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:import-job-detail")
    lot_number = serializers.CharField(source="batch.lot_number")
    user_dilution = QuantitySerializerField("dilution_factor", allow_null=True)
    created_by = serializers.CharField(source="created_by.get_username")
    assay_run = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="The assay run it became, once stored."
    )
    summary = serializers.JSONField(help_text="What the file parsed to (bins counted).")
    warnings = serializers.ListField(child=serializers.CharField())
    errors = serializers.ListField(child=serializers.DictField())

    class Meta:
        model = ImportJob
        fields = [
            "id", "url", "status", "progress", "lot_number", "file_name", "file_sha256",
            "file_size", "format", "user_dilution", "performed_at", "summary", "warnings",
            "errors", "assay_run", "created_by", "created_at", "started_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields


class ImportJobViewSet(LabRowsViewSet):
    """Export files sent for import, and how far each has got. A results:write token
    sees the jobs it sent."""

    model = ImportJob
    serializer_class = ImportJobSerializer
    parser_classes = [MultiPartParser, FormParser]
    token_scopes = {
        "create": {TokenScope.RESULTS_WRITE},
        "retrieve": {TokenScope.READ, TokenScope.RESULTS_WRITE},
    }
    ordering_fields = ("created_at", "status")
    ordering = ("-created_at",)

    def rows(self, user: User) -> QuerySet[ImportJob]:
        token = token_of(self.request)
        own = token is not None and token.scope == TokenScope.RESULTS_WRITE
        return import_job_list(user=user, sent_by_self=own)

    @extend_schema(
        request={"multipart/form-data": ImportUploadSerializer},
        parameters=[IDEMPOTENCY_KEY],
        responses={
            202: ImportJobSerializer,
            413: OpenApiResponse(OpenApiTypes.OBJECT, description="The upload is too large."),
        },
    )
    @idempotent
    def create(self, request: Request) -> Response:
        form = ImportUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        given = form.validated_data
        batch = batch_get(user=request.user, lot_number=given["lot_number"])
        record = given.get("record")
        options = ImportOptions(
            user_dilution=given.get("user_dilution"),
            performed_at=given.get("performed_at"),
            record=None if record is None else ("all" if record == "all" else int(record)),
            instrument=given.get("instrument", ""),
        )
        upload = given["file"]
        job = import_job_create(
            batch,
            upload.read(),
            upload.name or "export",
            options,
            acting_user=request.user,
            token_instrument=_instrument_of(request),
        )
        body = ImportJobSerializer(job, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})
