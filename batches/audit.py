"""The audit trail: one event per change, written by the service that makes the change,
in the same transaction (never from signals). `before` and `after` are JSON snapshots in
the shapes of the batch-record format, so a reviewer reads a change as it was recorded.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from enum import Enum
from typing import Any

from django.db import models
from django.utils import timezone
from pydantic import BaseModel

from batches.models import AuditEvent, Batch, Lab
from evqc.batch_record import BatchRecord, batch_record_json, quantity_json
from evqc.units import QuantityValue


def audit_event(
    *,
    actor: Any,
    action: str,
    obj: models.Model,
    lab: Lab | None,
    batch: Batch | None = None,
    before: Any = None,
    after: Any = None,
    reason: str = "",
) -> AuditEvent:
    """Build (not save) the event of one change; `audit` and `audit_many` save them."""
    return AuditEvent(
        occurred_at=timezone.now(),
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_name=actor.get_username() if actor is not None and actor.is_authenticated else "",
        action=action,
        lab=lab,
        batch=batch,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        before=snapshot(before),
        after=snapshot(after),
        reason=reason.strip(),
    )


def audit(**kwargs: Any) -> AuditEvent:
    """Record one change (`audit_event`'s arguments)."""
    event = audit_event(**kwargs)
    event.save()
    _recheck([event])
    return event


def audit_many(events: Iterable[AuditEvent]) -> list[AuditEvent]:
    """Record the events of a bulk change in one statement."""
    saved = AuditEvent.objects.bulk_create(list(events))
    _recheck(saved)
    return saved


def _recheck(events: list[AuditEvent]) -> None:
    """Every audited change to a batch's data asks for a check of its reporting gaps after
    commit: the audit trail is the one place no write path bypasses."""
    from batches.tasks import batch_check_request

    for batch_id in {event.batch_id for event in events if event.batch_id is not None}:
        batch_check_request(batch_id)


def snapshot(value: Any) -> Any:
    """A JSON-safe copy of a value: parts as the batch record writes them, quantities with
    their units, rows by their fields."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, QuantityValue):
        return quantity_json(value)
    if isinstance(value, BatchRecord):
        return batch_record_json(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, dict):
        return {str(key): snapshot(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [snapshot(item) for item in value]
    return str(value)


def fields_of(row: models.Model, names: Iterable[str]) -> dict[str, Any]:
    """The named fields of a row as a snapshot (for rows that are not record parts)."""
    return {name: snapshot(getattr(row, name)) for name in names}
