"""The REST API v1: every viewset is registered here, under /api/v1/."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from assays.api.ingest import ImportJobViewSet
from assays.api.views import AssayRunViewSet, ResultViewSet, SpecificationViewSet
from batches.api.ingest import BatchRecordView
from batches.api.views import (
    AuditEventViewSet,
    BatchViewSet,
    IsolationStepViewSet,
    LabViewSet,
    ProductViewSet,
    ReportingGapViewSet,
    StorageViewSet,
)
from evqc.api import QuantityKindViewSet

router = DefaultRouter()
router.register("quantity-kinds", QuantityKindViewSet, basename="quantity-kind")
router.register("labs", LabViewSet, basename="lab")
router.register("products", ProductViewSet, basename="product")
router.register("batches", BatchViewSet, basename="batch")
router.register("isolation-steps", IsolationStepViewSet, basename="isolation-step")
router.register("storage", StorageViewSet, basename="storage")
router.register("assay-runs", AssayRunViewSet, basename="assay-run")
router.register("results", ResultViewSet, basename="result")
router.register("specifications", SpecificationViewSet, basename="specification")
router.register("reporting-gaps", ReportingGapViewSet, basename="reporting-gap")
router.register("audit-events", AuditEventViewSet, basename="audit-event")
router.register("imports", ImportJobViewSet, basename="import-job")

app_name = "api"
urlpatterns = [
    path("batch-records/", BatchRecordView.as_view(), name="batch-records"),
    *router.urls,
]
