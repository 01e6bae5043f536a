"""Read endpoints of labs, products, batches and their parts (`/api/v1/...`).

Every list and object is one of the caller's labs': another lab's row is not found,
exactly like a row that does not exist. Any member may read, whatever their role.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import Model, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from batches.access import User
from batches.api.changes import BatchChanges, IsolationStepChanges, ProductChanges
from batches.api.serializers import (
    AuditEventSerializer,
    BatchSerializer,
    GuidelineComplianceSerializer,
    IsolationStepSerializer,
    LabSerializer,
    ProductSerializer,
    ReportingGapSerializer,
    ReportingGapWithLotSerializer,
    StorageSerializer,
)
from batches.filters import (
    AuditEventFilter,
    BatchFilter,
    IsolationStepFilter,
    ProductFilter,
    ReportingGapFilter,
    StorageFilter,
)
from batches.models import (
    AuditEvent,
    Batch,
    IsolationStep,
    Lab,
    Product,
    ReportingGap,
    Storage,
)
from batches.selectors import (
    audit_event_list,
    batch_compliance,
    batch_gaps,
    batch_get,
    batch_list,
    batch_record_get,
    isolation_step_list,
    lab_list,
    product_list,
    reporting_gap_list,
    storage_list,
)
from evqc.batch_record import batch_record_json

UNIQUE_ORDER = frozenset({"pk", "-pk", "id", "-id"})
ORDERING = (
    "Order by {fields}; prefix a field with - for descending, and separate several with "
    "commas. Default: {default}."
)


class LabRowsViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """List and retrieve the rows of the caller's labs that `rows(user)` selects.

    Subclasses name the `model` and the selector; filtering, ordering (`ordering_fields`,
    default `ordering`) and pagination are the project's defaults.
    """

    model: ClassVar[type[Model]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Document the `ordering` parameter of the subclass's list with its fields."""
        super().__init_subclass__(**kwargs)
        if "ordering_fields" in cls.__dict__:
            ordering = ORDERING.format(
                fields=", ".join(cls.ordering_fields), default=",".join(cls.ordering)
            )
            parameter = OpenApiParameter("ordering", OpenApiTypes.STR, description=ordering)
            extend_schema_view(list=extend_schema(parameters=[parameter]))(cls)

    def rows(self, user: User) -> QuerySet[Any]:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[Any]:
        user = self.request.user
        if not user.is_authenticated:
            # Every endpoint needs a signed-in user; only the schema generator gets here.
            return self.model._default_manager.none()
        return self.rows(user)

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """Filtered and ordered as asked, and then by primary key: pages of an ordering
        with ties (status, a date) would otherwise repeat or skip rows."""
        queryset = super().filter_queryset(queryset)
        ordering = list(queryset.query.order_by) or list(self.model._meta.ordering)
        if UNIQUE_ORDER.isdisjoint(ordering):
            queryset = queryset.order_by(*ordering, "pk")
        return queryset


class LabViewSet(LabRowsViewSet):
    """The labs the caller is a member of, with the caller's role in each."""

    model = Lab
    serializer_class = LabSerializer
    lookup_field = "code"
    lookup_value_regex = "[-a-zA-Z0-9_]+"
    ordering_fields = ("code", "name")
    ordering = ("code",)

    def rows(self, user: User) -> QuerySet[Lab]:
        return lab_list(user=user)


class ProductViewSet(ProductChanges, LabRowsViewSet):
    """The products of the caller's labs."""

    model = Product
    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    ordering_fields = ("code", "name", "created_at", "updated_at")
    ordering = ("lab__code", "code")

    def rows(self, user: User) -> QuerySet[Product]:
        return product_list(user=user)


LOT_NUMBER = OpenApiParameter(
    "lot_number",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description='The batch\'s lot number, e.g. "UCMSC-2601" (dots and dashes allowed).',
)


class BatchViewSet(BatchChanges, LabRowsViewSet):
    """The batches of the caller's labs, by lot number; each one's whole batch record, its
    reporting gaps and its compliance per guideline catalogue."""

    model = Batch
    serializer_class = BatchSerializer
    filterset_class = BatchFilter
    lookup_field = "lot_number"
    lookup_value_regex = "[^/]+"
    ordering_fields = ("lot_number", "status", "created_at", "updated_at")
    ordering = ("-created_at", "lot_number")

    def rows(self, user: User) -> QuerySet[Batch]:
        return batch_list(user=user)

    def get_object(self) -> Batch:
        # batch_get's NotFound ("No batch EV-001.") is the API's 404 for a batch that does
        # not exist and for another lab's alike.
        batch = batch_get(user=self.request.user, lot_number=self.kwargs["lot_number"])
        self.check_object_permissions(self.request, batch)
        return batch

    @extend_schema(parameters=[LOT_NUMBER])
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        parameters=[LOT_NUMBER],
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="Everything recorded about the batch as one batch-record "
                'document, format v1 ("schema": "evqc.batch-record/1"); its JSON Schema '
                "is docs/batch-record.schema.json, and `manage.py import_batch` or a "
                "batch-record import takes it back.",
            )
        },
    )
    @action(detail=True, filter_backends=[], pagination_class=None)
    def record(self, request: Request, lot_number: str) -> Response:
        batch_record = batch_record_get(user=request.user, lot_number=lot_number)
        return Response(batch_record_json(batch_record))

    @extend_schema(parameters=[LOT_NUMBER], responses=ReportingGapSerializer(many=True))
    @action(detail=True, filter_backends=[], pagination_class=None)
    def gaps(self, request: Request, lot_number: str) -> Response:
        """The batch's open reporting gaps and warnings, and the rules met only by a
        justified exception, as of its last check."""
        return Response(batch_gaps(self.get_object()))

    @extend_schema(parameters=[LOT_NUMBER], responses=GuidelineComplianceSerializer(many=True))
    @action(detail=True, filter_backends=[], pagination_class=None)
    def compliance(self, request: Request, lot_number: str) -> Response:
        """Per guideline catalogue: rules that apply, met, excepted, gaps, warnings and the
        percentage met (the EV-METRIC-style score for "evmetric")."""
        return Response(batch_compliance(self.get_object()))


class IsolationStepViewSet(IsolationStepChanges, LabRowsViewSet):
    """The isolation steps of the caller's labs' batches."""

    model = IsolationStep
    serializer_class = IsolationStepSerializer
    filterset_class = IsolationStepFilter
    ordering_fields = ("lot_number", "order", "performed_at", "created_at")
    ordering = ("lot_number", "order")

    def rows(self, user: User) -> QuerySet[IsolationStep]:
        return isolation_step_list(user=user)


class StorageViewSet(LabRowsViewSet):
    """How the caller's labs' batches are stored (one row per batch that records it)."""

    model = Storage
    serializer_class = StorageSerializer
    filterset_class = StorageFilter
    ordering_fields = ("lot_number", "stored_at", "updated_at")
    ordering = ("lot_number",)

    def rows(self, user: User) -> QuerySet[Storage]:
        return storage_list(user=user)


class ReportingGapViewSet(LabRowsViewSet):
    """Reporting gaps, warnings and excepted rules of the caller's labs' batches, as their
    last checks stored them, across batches."""

    model = ReportingGap
    serializer_class = ReportingGapWithLotSerializer
    filterset_class = ReportingGapFilter
    ordering_fields = ("lot_number", "catalogue", "rule_id", "status", "severity", "checked_at")
    ordering = ("lot_number", "catalogue", "rule_id")

    def rows(self, user: User) -> QuerySet[ReportingGap]:
        return reporting_gap_list(user=user)


class AuditEventViewSet(LabRowsViewSet):
    """The audit trail of the caller's labs, newest first."""

    model = AuditEvent
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    ordering_fields = ("occurred_at", "action", "lot_number")
    ordering = ("-occurred_at", "-id")

    def rows(self, user: User) -> QuerySet[AuditEvent]:
        return audit_event_list(user=user)
