"""Idempotency-Key: a POST sent again after a dropped connection must not record twice.

The first request with a key claims it for its credential (a committed row, so a
concurrent twin sees it), makes its change, and stores its response in the same
transaction as the change. A retry with the same key and the same request gets that
response again; with another request, 422; while the first is still running, 409. A
request that fails releases its claim, so it can be retried with the same key. A claim
left by a process that died mid-request expires after CLAIM_TIMEOUT.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from batches.models import ApiToken, IdempotencyRecord
from evqc.exceptions import BatchError, BatchErrorCode, Conflict

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
CLAIM_TIMEOUT = timedelta(minutes=10)
# Kept responses are dropped after this; a retry later than that is a new request.
KEEP_FOR = timedelta(days=7)
# Responses worth replaying: success and refusals that the same request would get again.
# 409 and 429 say "not now", so a retry must really run again.
TRANSIENT = frozenset({409, 423, 429})

BAD_KEY = f"{HEADER} must be 1 to {MAX_KEY_LENGTH} visible ASCII characters."
OTHER_BODY = (
    f"{HEADER} {{key}} was already used for a different request; use a new key for a new "
    "request, or send the same body again to get the first answer."
)
IN_FLIGHT = (
    f"A request with {HEADER} {{key}} is still being processed; retry when it has "
    "finished to get its answer."
)


class KeyReuse(BatchError):
    http_status = 422


def credential_of(request: Request) -> str:
    """Keys are scoped to who sends them: one token's key never matches another's."""
    if isinstance(request.auth, ApiToken):
        return f"token:{request.auth.pk}"
    return f"user:{request.user.pk}"


def fingerprint(request: Request) -> str:
    """A digest of what the request asks for: the body's bytes as sent (read before DRF
    parses them: a retry sends the same bytes). Multipart bodies are digested by their
    fields and file contents instead: a retry has a new random boundary."""
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    if not request.content_type.startswith("multipart/"):
        digest.update(request._request.body)
        return digest.hexdigest()
    data = request.data
    fields = {key: data.getlist(key) for key in sorted(data) if key not in request.FILES}
    digest.update(json.dumps(fields, sort_keys=True).encode())
    for name in sorted(request.FILES):
        for upload in request.FILES.getlist(name):
            digest.update(f"\n{name}={upload.name}:".encode())
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
    return digest.hexdigest()


def claim(credential: str, key: str, print_: str) -> IdempotencyRecord:
    """Claim the key, or raise what the caller answers instead (a kept response as
    `Replay`, 422 for another request, 409 while the first runs)."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise BatchError(BAD_KEY, BatchErrorCode.INVALID, {"header": HEADER})
    now = timezone.now()
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                credential=credential, key=key, fingerprint=print_, created_at=now
            )
    except IntegrityError:
        pass
    record = IdempotencyRecord.objects.get(credential=credential, key=key)
    if record.fingerprint != print_:
        raise KeyReuse(OTHER_BODY.format(key=key), BatchErrorCode.CONFLICT, {"header": HEADER})
    if record.completed:
        raise Replay(record)
    taken_over = IdempotencyRecord.objects.filter(
        pk=record.pk, completed=False, created_at__lt=now - CLAIM_TIMEOUT
    ).update(created_at=now)
    if not taken_over:
        raise Conflict(IN_FLIGHT.format(key=key), BatchErrorCode.CONFLICT, {"header": HEADER})
    record.created_at = now
    return record


class Replay(Exception):
    def __init__(self, record: IdempotencyRecord) -> None:
        self.record = record

    def response(self) -> Response:
        headers = {"Idempotent-Replayed": "true"}
        if self.record.response_location:
            headers["Location"] = self.record.response_location
        return Response(self.record.response_body, self.record.response_status, headers=headers)


def complete(record: IdempotencyRecord, response: Response) -> None:
    record.completed = True
    record.response_status = response.status_code
    record.response_body = response.data
    record.response_location = response.get("Location", "")
    record.save(
        update_fields=["completed", "response_status", "response_body", "response_location"]
    )


def prune() -> int:
    """Forget the answers older than KEEP_FOR (Celery beat, hourly)."""
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - KEEP_FOR
    ).delete()
    return deleted


def release(record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk, completed=False).delete()


def idempotent(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Make a POST handler honour Idempotency-Key (without the header it runs as is).
    The handler's change and the kept response commit together."""

    @functools.wraps(handler)
    def run(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return handler(view, request, *args, **kwargs)
        try:
            record = claim(credential_of(request), key.strip(), fingerprint(request))
        except Replay as replay:
            return replay.response()
        try:
            with transaction.atomic():
                response = handler(view, request, *args, **kwargs)
                if response.status_code < 500 and response.status_code not in TRANSIENT:
                    complete(record, response)
        except BaseException:
            release(record)
            raise
        if not record.completed:
            release(record)
        return response

    return run
