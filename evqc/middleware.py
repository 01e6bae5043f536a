"""Refuse an oversized request before Django reads a byte of its body."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

TOO_LARGE = (
    "The request body is {size:.1f} MB; evqc accepts at most {limit} MB per request "
    "(EVQC_MAX_UPLOAD_MB). Split the data, or ask your administrator to raise the limit."
)


class UploadLimitMiddleware:
    """413 for any request whose Content-Length exceeds EVQC_MAX_UPLOAD_MB: export files
    and JSON alike. (Django's own limits leave uploaded files out.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit_mb = settings.EVQC_MAX_UPLOAD_MB
        try:
            size = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            size = 0
        if size > limit_mb * 2**20:
            message = TOO_LARGE.format(size=size / 2**20, limit=limit_mb)
            return JsonResponse(
                {"message": message, "code": "too_large", "extra": {"limit_mb": limit_mb}},
                status=413,
            )
        return self.get_response(request)
