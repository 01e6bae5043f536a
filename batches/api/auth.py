"""How the API knows who calls: session login for people, `Authorization: Bearer <key>`
for instruments and scripts (batches.tokens), and what a token's scope lets it call."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from batches.models import ApiToken
from batches.tokens import SCOPE_GRANTS, token_allows, token_for_key
from evqc.vocabulary import TokenScope

BAD_KEY = "Invalid, unknown or revoked API token."
SCOPE_TOO_NARROW = (
    "This API token's scope ({scope}) does not allow {method} {path}; it needs {needed}."
)


class TokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer evqc_...` (or `Token evqc_...`): the token's service user."""

    keywords = ("bearer", "token")

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode(errors="replace").lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Give the token after the keyword, once.")
        token = token_for_key(header[1].decode(errors="replace"))
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed(BAD_KEY)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


def token_of(request: Request) -> ApiToken | None:
    return request.auth if isinstance(request.auth, ApiToken) else None


def needed_scopes(request: Request, view: Any) -> frozenset[TokenScope]:
    """The scopes that allow a call (any one will do): a view's `token_scopes` maps its
    actions (or methods) to them; otherwise reading needs `read` and changing `admin`."""
    scopes = getattr(view, "token_scopes", {})
    for name in (getattr(view, "action", None), request.method.lower()):
        if name in scopes:
            return frozenset(scopes[name])
    if request.method in permissions.SAFE_METHODS:
        return frozenset({TokenScope.READ})
    return frozenset({TokenScope.ADMIN})


class TokenScopePermission(permissions.BasePermission):
    """Signed-in people pass (their lab roles are checked by selectors and services);
    a token passes when its scope covers the call."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        token = token_of(request)
        if token is None:
            return True
        needed = needed_scopes(request, view)
        if any(token_allows(token, scope) for scope in needed):
            return True
        enough = [scope.value for scope in TokenScope if SCOPE_GRANTS[scope] & needed]
        self.message = SCOPE_TOO_NARROW.format(
            scope=token.scope,
            method=request.method,
            path=request.path,
            needed=" or ".join(enough),
        )
        return False


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "batches.api.auth.TokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An evqc API token (manage.py create_api_token), scoped to one "
            "lab: results:write, read or admin.",
        }
