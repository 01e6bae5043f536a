from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.health import healthz
from evqc.middleware import inline_styles_allowed
from evqc.views import quantity_check

urlpatterns = [
    path("", include("batches.urls")),
    path("", include("assays.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("units/check/", quantity_check, name="quantity-check"),
    path("api/v1/", include("config.api_router")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its script as a file, so the page runs under evqc's policy.
    path(
        "api/v1/docs/",
        inline_styles_allowed(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
]

if settings.DEBUG:
    # Uploaded raw files on a single-user evqc; production serves them behind auth.
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
