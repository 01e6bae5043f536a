"""Read endpoints of assay runs, results and specifications (`/api/v1/...`), scoped to the
caller's labs like every list (`batches.api.views.LabRowsViewSet`)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from assays.api.changes import ResultChanges, SpecificationChanges
from assays.api.ingest import AssayRunCreateMixin
from assays.api.serializers import (
    AssayRunSerializer,
    ResultSerializer,
    SpecificationSerializer,
)
from assays.filters import AssayRunFilter, ResultFilter, SpecificationFilter
from assays.models import AssayRun, Result, Specification
from assays.selectors import assay_run_list, result_rows, specification_list
from batches.access import User
from batches.api.views import LabRowsViewSet


class AssayRunViewSet(AssayRunCreateMixin, LabRowsViewSet):
    """The assay runs of the caller's labs' batches; instruments and scripts post new ones."""

    model = AssayRun
    serializer_class = AssayRunSerializer
    filterset_class = AssayRunFilter
    ordering_fields = ("lot_number", "position", "method", "performed_at", "created_at")
    ordering = ("-performed_at",)

    def rows(self, user: User) -> QuerySet[AssayRun]:
        return assay_run_list(user=user)


class ResultViewSet(ResultChanges, LabRowsViewSet):
    """The results of the caller's labs' batches, each with its verdict."""

    model = Result
    serializer_class = ResultSerializer
    filterset_class = ResultFilter
    ordering_fields = (
        "lot_number",
        "attribute",
        "verdict",
        "performed_at",
        "created_at",
        "value_canonical",
    )
    ordering = ("-performed_at", "assay_run", "position")

    def rows(self, user: User) -> QuerySet[dict[str, Any]]:
        return result_rows(user=user)


class SpecificationViewSet(SpecificationChanges, LabRowsViewSet):
    """The specifications of the caller's labs' products, in force and retired."""

    model = Specification
    serializer_class = SpecificationSerializer
    filterset_class = SpecificationFilter
    ordering_fields = ("attribute", "method", "version", "effective_from")
    ordering = ("product__code", "attribute", "method", "-version")

    def rows(self, user: User) -> QuerySet[Specification]:
        return specification_list(user=user)
