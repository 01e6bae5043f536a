"""The REST API v1: every viewset is registered here, under /api/v1/."""

from rest_framework.routers import DefaultRouter

from evqc.api import QuantityKindViewSet

router = DefaultRouter()
router.register("quantity-kinds", QuantityKindViewSet, basename="quantity-kind")

app_name = "api"
urlpatterns = router.urls
