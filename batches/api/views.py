"""Read endpoints of a batch's reporting gaps and compliance (`/api/v1/batches/{lot}/...`)."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from batches.api.serializers import GuidelineComplianceSerializer, ReportingGapSerializer
from batches.models import Batch
from batches.selectors import batch_compliance, batch_gaps, batch_get
from evqc.exceptions import NotFound


def _batch(request: Request, lot_number: str) -> Batch:
    try:
        return batch_get(user=request.user, lot_number=lot_number)
    except NotFound as error:
        raise Http404(error.message) from None


class BatchGapsView(APIView):
    """The batch's open reporting gaps and warnings, and the rules met only by a justified
    exception, as of its last check."""

    @extend_schema(responses=ReportingGapSerializer(many=True))
    def get(self, request: Request, lot_number: str) -> Response:
        return Response(batch_gaps(_batch(request, lot_number)))


class BatchComplianceView(APIView):
    """Per guideline catalogue: rules that apply, met, excepted, gaps, warnings and the
    percentage met (the EV-METRIC-style score for "evmetric")."""

    @extend_schema(responses=GuidelineComplianceSerializer(many=True))
    def get(self, request: Request, lot_number: str) -> Response:
        return Response(batch_compliance(_batch(request, lot_number)))
