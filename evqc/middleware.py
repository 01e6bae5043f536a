"""Refuse an oversized request before Django reads a byte of its body, and give every
response evqc's Content-Security-Policy."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

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


class ContentSecurityPolicyMiddleware:
    """Every response gets EVQC_CONTENT_SECURITY_POLICY unless its view set its own
    (`inline_styles_allowed`): the portal has no inline script or style to allow."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = settings.EVQC_CONTENT_SECURITY_POLICY
        response.headers.setdefault("Content-Security-Policy", policy)
        return response


def inline_styles_allowed(view: Callable[..., Any]) -> Callable[..., Any]:
    """The policy with inline styles allowed, for a third-party page that needs them
    (Swagger UI); scripts stay evqc's own."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        response = view(request, *args, **kwargs)
        policy = settings.EVQC_CONTENT_SECURITY_POLICY.replace(
            "style-src 'self'", "style-src 'self' 'unsafe-inline'"
        )
        response.headers["Content-Security-Policy"] = policy
        return response

    return wrapped
