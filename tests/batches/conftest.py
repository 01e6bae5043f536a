"""Labs, people, products and batches for the service tests of batches and assays.

Memberships are set-up, so they are written with the ORM; everything under test goes
through the services. `tests/assays/test_services.py` re-exports these fixtures.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection
from pydantic import BaseModel

from batches.models import AuditEvent, Batch, Lab, LabMembership, Product
from batches.services import batch_record_import, product_create
from evqc.vocabulary import LabRole

PRODUCT_CODE = "MSC-EV"
PRODUCT_NAME = "MSC small EVs"
CELL_BANK = "MSC bank 12"


@dataclass(frozen=True)
class People:
    """One person per role in the lab, a member of another lab only, and a site admin."""

    admin: Any
    reviewer: Any
    analyst: Any
    viewer: Any
    outsider: Any
    superuser: Any

    def with_role(self, role: LabRole) -> Any:
        return getattr(self, LabRole(role).value)


def make_user(username: str, **extra: Any) -> Any:
    return get_user_model().objects.create_user(
        username=username, password="a-long-test-password", **extra
    )


def db_state() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every batches and assays table (AuditEvent included), to show that a
    refused change wrote nothing, updated nothing and deleted nothing. Plain SQL: this runs
    twice in most tests."""
    models = [
        *apps.get_app_config("batches").get_models(),
        *apps.get_app_config("assays").get_models(),
    ]
    quote = connection.ops.quote_name
    state = {}
    with connection.cursor() as cursor:
        for model in models:
            table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
            cursor.execute(f"SELECT * FROM {table} ORDER BY {pk}")  # noqa: S608 (model names)
            state[model._meta.label] = cursor.fetchall()
    return state


def batch_document(
    lot: str,
    *,
    status: str = "planned",
    held_from: str | None = None,
    product: tuple[str, str] = (PRODUCT_CODE, PRODUCT_NAME),
    full: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """A batch-record document; `full` adds every part a service can correct (cell
    source, production, one isolation step, storage, an aliquot, an NTA run with one
    result, and a rule exception)."""
    document: dict[str, Any] = {
        "schema": "evqc.batch-record/1",
        "lot_number": lot,
        "product": {"code": product[0], "name": product[1]},
        "status": status,
    }
    if held_from is not None:
        document["held_from"] = held_from
    if full:
        document |= {
            "source": {"kind": "cell_culture", "name": CELL_BANK, "species": "human"},
            "production": {"vessel_type": "flask", "working_volume": "20 mL"},
            "isolation_steps": [
                {
                    "order": 1,
                    "method": "ultracentrifugation",
                    "parameters": {"g_force": "100000 x g", "duration": "70 min"},
                }
            ],
            "storage": {"temperature": "-80 °C", "buffer": "PBS"},
            "aliquots": [{"label": "A1", "volume": "100 µL"}],
            "assays": [
                {
                    "method": "nta",
                    "instrument": "NS300",
                    "performed_at": "2026-03-01T10:00:00Z",
                    "results": [
                        {"attribute": "particle_concentration", "value": "2.1e11 particle/mL"}
                    ],
                }
            ],
            "exceptions": [{"rule": "M18-QNT-03", "justification": "No protein assay yet."}],
        }
    return document | extra


@pytest.fixture
def lab(db) -> Lab:
    return Lab.objects.create(code="lab-a", name="Lab A")


@pytest.fixture
def other_lab(db) -> Lab:
    return Lab.objects.create(code="lab-b", name="Lab B")


@pytest.fixture
def people(lab, other_lab) -> People:
    found = {}
    for role in LabRole:
        found[role.value] = make_user(role.value)
        LabMembership.objects.create(lab=lab, user=found[role.value], role=role.value)
    outsider = make_user("outsider")
    LabMembership.objects.create(lab=other_lab, user=outsider, role=LabRole.ADMIN)
    superuser = get_user_model().objects.create_superuser(
        username="root", password="a-long-test-password"
    )
    return People(**found, outsider=outsider, superuser=superuser)


@pytest.fixture
def product(lab, people) -> Product:
    return product_create(lab, code=PRODUCT_CODE, name=PRODUCT_NAME, acting_user=people.admin)


@pytest.fixture
def import_batch(lab, people, product):
    """Import a batch record as the lab admin: `import_batch("L1", status="in_qc",
    full=True)`. Imports keep the recorded status, so this puts a batch anywhere in its
    lifecycle."""

    def make(lot: str, **kwargs: Any) -> Batch:
        batch = batch_record_import(
            batch_document(lot, **kwargs), lab=lab, acting_user=people.admin
        )
        return Batch.objects.get(pk=batch.pk)

    return make


def events_since(count: int) -> list[dict[str, Any]]:
    """The audit events written after the first `count`, as `expected_event` dicts."""
    return [
        {name: getattr(event, name) for name in EVENT_FIELDS}
        for event in AuditEvent.objects.order_by("pk")[count:]
    ]


EVENT_FIELDS = (
    "action",
    "actor_id",
    "actor_name",
    "lab_id",
    "batch_id",
    "object_type",
    "object_id",
    "before",
    "after",
    "reason",
)


def expected_event(
    action: str,
    obj: Any,
    *,
    actor: Any,
    lab: Lab,
    batch: Batch | None = None,
    object_id: Any = None,
    before: Any = None,
    after: Any = None,
    reason: str = "",
) -> dict[str, Any]:
    """An audit event as a test expects it; `obj` is the row (or, for a deleted row, its
    model class with `object_id`)."""
    meta = obj._meta
    return {
        "action": action,
        "actor_id": actor.pk,
        "actor_name": actor.get_username(),
        "lab_id": lab.pk,
        "batch_id": None if batch is None else batch.pk,
        "object_type": meta.label_lower,
        "object_id": str(obj.pk if object_id is None else object_id),
        "before": before,
        "after": after,
        "reason": reason,
    }


def dumped(part: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """A batch-record part as the record format writes it (the shape of audit snapshots)."""
    return part.model_validate(data).model_dump(mode="json", by_alias=True, exclude_defaults=True)


def quantity(value: float, unit: str, canonical: float, canonical_unit: str, reported: str):
    return {
        "value": value,
        "unit": unit,
        "canonical_value": canonical,
        "canonical_unit": canonical_unit,
        "reported_text": reported,
    }


def batch_snapshot(batch: Batch, **changes: Any) -> dict[str, Any]:
    """How the audit trail shows a batch row (`changes` override what the row has)."""
    return {
        "lot_number": batch.lot_number,
        "product": str(batch.product_id),
        "status": batch.status,
        "held_from": batch.held_from,
        "source_kind": batch.source_kind,
        "cell_source": None if batch.cell_source_id is None else str(batch.cell_source_id),
        "preparation_term": batch.preparation_term,
        "description": batch.description,
        "evtrack_id": batch.evtrack_id,
        "version": batch.version,
    } | changes


# One prepared call per public write service, shared by the audit, access, locking and
# reason tests of tests/batches/test_services.py and tests/assays/test_services.py.
# ------------------------------------------------------------------------------

LOT = "L-1"  # the batch every batch-level case changes


@dataclass(frozen=True)
class World:
    lab: Lab
    other_lab: Lab
    people: People
    product: Product
    import_batch: Callable[..., Batch]
    status: str = "in_qc"

    def batch(self, lot: str = LOT, **kwargs: Any) -> Batch:
        """The full batch a case changes, in this world's status."""
        return self.import_batch(lot, status=self.status, full=True, **kwargs)

    def at(self, status: str) -> World:
        return replace(self, status=status)


@dataclass(frozen=True)
class Change:
    """A prepared call: `run(acting_user, reason)` calls the service, and
    `events(returned, acting_user, reason)` are the audit events it must write."""

    run: Callable[[Any, str], Any]
    events: Callable[[Any, Any, str], list[dict[str, Any]]]


@dataclass(frozen=True)
class Case:
    """A public write service and how to call it.

    `role` is the least lab role that may call it (None: site administrators only);
    `what` is how a refusal names the change; `batch_level` services change batch
    `LOT` through `batches.access.batch_for_change`; `amends` ones correct recorded data
    (so they need a reason once the batch left production); `reason` is the one the
    audit test gives. Helpers that run in their caller's transaction and check no role
    are `atomic=False, checks_access=False`.
    """

    service: Callable[..., Any]
    prepare: Callable[[World], Change]
    role: LabRole | None = LabRole.ANALYST
    what: str = ""
    batch_level: bool = True
    amends: bool = False
    reason: str = ""
    atomic: bool = True
    checks_access: bool = True
    name: str = field(default="")

    @property
    def id(self) -> str:
        return self.name or self.service.__qualname__

    def actor(self, people: People) -> Any:
        if not self.checks_access:
            return people.analyst
        return people.superuser if self.role is None else people.with_role(self.role)


@pytest.fixture
def world(lab, other_lab, people, product, import_batch) -> World:
    return World(lab, other_lab, people, product, import_batch)


def public_callables(module: ModuleType) -> set[str]:
    """The public functions a module defines, and the public methods of the public classes
    it defines ("BatchRecordImporter.import_record"), atomic or not."""
    names = set()
    for name, member in inspect.getmembers(module):
        if name.startswith("_") or getattr(member, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(member):
            names.add(member.__qualname__)
        elif inspect.isclass(member):
            names |= {
                method.__qualname__
                for method_name, method in inspect.getmembers(member, inspect.isfunction)
                if not method_name.startswith("_") and method.__module__ == module.__name__
            }
    return names


class AuditFailed(Exception):
    """Raised by `fail_after_audit` right after an audit event was saved."""


def fail_after_audit(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Make every service raise right after it saved an audit event; the list returned
    collects the events that were saved (and must then be rolled back)."""
    from assays import services as assay_services
    from batches import audit as audit_module
    from batches import services as batch_services

    saved: list[Any] = []

    def audit(**kwargs: Any) -> Any:
        saved.append(audit_module.audit(**kwargs))
        raise AuditFailed

    def audit_many(events: Any) -> Any:
        saved.extend(audit_module.audit_many(events))
        raise AuditFailed

    for module in (batch_services, assay_services):
        monkeypatch.setattr(module, "audit", audit)
        monkeypatch.setattr(module, "audit_many", audit_many)
    return saved
