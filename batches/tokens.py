"""API tokens for instruments and scripts: created by a lab admin, shown once, stored as
a SHA-256, revoked but never deleted (the audit trail names them).

A token acts as its own service user ("token:<name>"), a member of its lab with the role
its scope needs (evqc.vocabulary.TokenScope.role). Every check that applies to people
therefore applies to tokens; `token_allows` narrows what a scope may call on top.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from batches.access import User, require_role
from batches.audit import audit
from batches.models import ApiToken, Lab, LabMembership
from evqc.exceptions import BatchError, BatchErrorCode, Conflict, NotFound
from evqc.vocabulary import LabRole, TokenScope

KEY_PREFIX = "evqc_"
# Seconds between two writes of a token's last use: one UPDATE per request is not worth it.
LAST_USED_RESOLUTION = 60

NAME_TAKEN = 'An API token named "{name}" already exists.'
NEEDS_INSTRUMENT = "A results:write token belongs to one instrument; name it (--instrument)."
ONLY_RESULTS_WRITE = "Only a results:write token is bound to an instrument; {scope} is not."
NOT_LAB_INSTRUMENT = 'Lab {lab} has no instrument named "{name}".'


@dataclass(frozen=True)
class NewToken:
    """A created token and its key: the only moment the key exists in clear."""

    token: ApiToken
    key: str


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def token_create(
    lab: Lab,
    *,
    name: str,
    scope: TokenScope | str,
    acting_user: User,
    instrument_name: str = "",
) -> NewToken:
    """Create a token for `lab` (lab admins only) and its service user."""
    from assays.models import Instrument

    scope = TokenScope(scope)
    require_role(acting_user, lab, LabRole.ADMIN, what="create API tokens")
    if ApiToken.objects.filter(name=name).exists():
        raise Conflict(NAME_TAKEN.format(name=name), BatchErrorCode.ALREADY_EXISTS)
    instrument = None
    if scope == TokenScope.RESULTS_WRITE:
        if not instrument_name:
            raise BatchError(NEEDS_INSTRUMENT, BatchErrorCode.INVALID)
        instrument = Instrument.objects.filter(lab=lab, name=instrument_name).first()
        if instrument is None:
            raise NotFound(
                NOT_LAB_INSTRUMENT.format(lab=lab.code, name=instrument_name),
                BatchErrorCode.NOT_FOUND,
            )
    elif instrument_name:
        raise BatchError(ONLY_RESULTS_WRITE.format(scope=scope.value), BatchErrorCode.INVALID)
    user = get_user_model().objects.create_user(username=f"token:{name}"[:150], password=None)
    LabMembership.objects.create(lab=lab, user=user, role=scope.role.value)
    prefix = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        name=name,
        lab=lab,
        scope=scope.value,
        instrument=instrument,
        user=user,
        prefix=prefix,
        key_hash=key_hash(key),
        created_by=acting_user,
    )
    audit(
        actor=acting_user,
        action="evqc.api_token.created",
        obj=token,
        lab=lab,
        after={"name": name, "scope": scope.value, "instrument": instrument_name or None},
    )
    return NewToken(token, key)


@transaction.atomic
def token_revoke(token: ApiToken, *, acting_user: User) -> None:
    """Stop a token working at once; its service user can no longer act either."""
    require_role(acting_user, token.lab, LabRole.ADMIN, what="revoke API tokens")
    if token.revoked_at is not None:
        return
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    token.user.is_active = False
    token.user.save(update_fields=["is_active"])
    audit(actor=acting_user, action="evqc.api_token.revoked", obj=token, lab=token.lab)


def token_for_key(key: str) -> ApiToken | None:
    """The live token with this key, or None (unknown, malformed or revoked)."""
    if not key.startswith(KEY_PREFIX) or key.count("_") < 2 or not key.isprintable():
        return None
    prefix = key[len(KEY_PREFIX) :].split("_", 1)[0]
    token = (
        ApiToken.objects.select_related("user", "lab", "instrument")
        .filter(prefix=prefix, revoked_at__isnull=True)
        .first()
    )
    if token is None or not hmac.compare_digest(token.key_hash, key_hash(key)):
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > (
        LAST_USED_RESOLUTION
    ):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


# What each scope may call: views name the scope their actions need (see batches.api.auth).
SCOPE_GRANTS = {
    TokenScope.ADMIN: frozenset({TokenScope.ADMIN, TokenScope.READ, TokenScope.RESULTS_WRITE}),
    TokenScope.READ: frozenset({TokenScope.READ}),
    TokenScope.RESULTS_WRITE: frozenset({TokenScope.RESULTS_WRITE}),
}


def token_allows(token: ApiToken, needed: TokenScope) -> bool:
    return needed in SCOPE_GRANTS[TokenScope(token.scope)]
