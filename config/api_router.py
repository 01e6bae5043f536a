"""The REST API v1: every viewset is registered here, under /api/v1/."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from batches.api.views import BatchComplianceView, BatchGapsView
from evqc.api import QuantityKindViewSet

router = DefaultRouter()
router.register("quantity-kinds", QuantityKindViewSet, basename="quantity-kind")

app_name = "api"
urlpatterns = [
    path("batches/<str:lot_number>/gaps/", BatchGapsView.as_view(), name="batch-gaps"),
    path(
        "batches/<str:lot_number>/compliance/",
        BatchComplianceView.as_view(),
        name="batch-compliance",
    ),
    *router.urls,
]
