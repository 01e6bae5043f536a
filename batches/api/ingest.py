"""`POST /api/v1/batch-records/`: a whole batch in the batch-record JSON format v1, as
`manage.py import_batch` takes it; stored whole or not at all."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from batches.api.auth import token_of
from batches.idempotency import HEADER, idempotent
from batches.models import Lab
from batches.selectors import labs_of
from batches.services import batch_record_import
from evqc.exceptions import BatchError, BatchErrorCode, NotFound

WHICH_LAB = "you are a member of several labs ({labs}): say which one with ?lab=CODE"
NO_LAB = "you are not a member of any lab"
NOT_YOUR_LAB = 'you are not a member of a lab "{code}"'


class BatchRecordCreatedSerializer(serializers.Serializer):
    lot_number = serializers.CharField()
    url = serializers.CharField()
    version = serializers.IntegerField()


def lab_for(request: Request) -> Lab:
    """The lab a request acts in: a token's own, the one named by ?lab=, or the caller's
    only lab."""
    token = token_of(request)
    if token is not None:
        return token.lab
    labs = labs_of(request.user)
    code = request.query_params.get("lab", "").replace("\x00", "")
    if code:
        lab = labs.filter(code=code).first()
        if lab is None:
            raise NotFound(NOT_YOUR_LAB.format(code=code), BatchErrorCode.NOT_FOUND)
        return lab
    found = list(labs[:11])
    if len(found) == 1:
        return found[0]
    message = WHICH_LAB.format(labs=", ".join(lab.code for lab in found)) if found else NO_LAB
    raise BatchError(
        f"lab: {message}",
        BatchErrorCode.INVALID,
        {"fields": {"lab": [{"message": message, "code": "required"}]}},
    )


class BatchRecordView(APIView):
    """Create a batch, with everything it holds, from one batch-record document."""

    @extend_schema(
        request={
            "application/json": {
                "type": "object",
                "description": "A batch-record document (docs/batch-record.schema.json).",
            }
        },
        parameters=[
            OpenApiParameter("lab", str, description="The lab's code, when you are in several."),
            OpenApiParameter(HEADER, str, OpenApiParameter.HEADER, description="See /imports/."),
        ],
        responses={201: BatchRecordCreatedSerializer},
    )
    @idempotent
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        batch = batch_record_import(request.data, lab=lab_for(request), acting_user=request.user)
        url = request.build_absolute_uri(
            reverse("api:batch-detail", kwargs={"lot_number": batch.lot_number})
        )
        body = {"lot_number": batch.lot_number, "url": url, "version": batch.version}
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": url})
