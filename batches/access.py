"""Who may change a batch, and whether it may be changed now: lab roles, the locked
statuses, the reason rule and optimistic locking. Every write service of batches and
assays goes through `batch_for_change` (or `require_role` for lab-level data).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from batches.models import Batch, Lab, LabMembership
from evqc.exceptions import AccessDenied, BatchErrorCode, Conflict
from evqc.exceptions import BatchError as BatchError
from evqc.vocabulary import BatchStatus, LabRole

User = AbstractBaseUser | AnonymousUser

NOT_A_MEMBER = "{user} is not a member of lab {lab}."
ROLE_TOO_LOW = "{user} needs the {role} role in lab {lab} to {what}; they are {have}."
LOCKED = "Batch {lot} is {status}; its record is locked and cannot be changed."
REASON_REQUIRED = (
    "A reason is required to {what}: batch {lot} has left production (it is {status})."
)
STALE = (
    "{what} was changed by someone else since you loaded it (you had version {expected}, "
    "it is now version {actual}); reload it and make your change again."
)

# Statuses whose record is closed: changes need an amendment (release layer, issue 7).
LOCKED_STATUSES = frozenset({BatchStatus.RELEASED, BatchStatus.REJECTED})
# Data may change without a reason only while the batch is still being made.
OPEN_STATUSES = frozenset({BatchStatus.PLANNED, BatchStatus.IN_PRODUCTION})


def role_in(user: User, lab: Lab) -> LabRole | None:
    """The user's role in the lab, or None; one query unless the query that loaded this
    lab read it too (`remember_role`)."""
    if not user.is_authenticated:
        return None
    known: dict[Any, str] = getattr(lab, "_member_roles", {})
    if user.pk in known:
        return LabRole(known[user.pk])
    role = LabMembership.objects.filter(lab=lab, user=user).values_list("role", flat=True).first()
    return None if role is None else LabRole(role)


def remember_role(lab: Lab, user: User, role: str) -> None:
    """Keep the role a query read with this lab, on this lab object only (it lives for one
    request or one service call)."""
    lab.__dict__.setdefault("_member_roles", {})[user.pk] = role


def require_role(user: User, lab: Lab, role: LabRole, *, what: str) -> LabRole:
    """The user's role in the lab if it is at least `role`; AccessDenied otherwise."""
    have = role_in(user, lab)
    if have is None:
        raise AccessDenied(
            NOT_A_MEMBER.format(user=_name(user), lab=lab.code), BatchErrorCode.NOT_A_MEMBER
        )
    if have.rank < role.rank:
        raise AccessDenied(
            ROLE_TOO_LOW.format(
                user=_name(user),
                role=role.value,
                lab=lab.code,
                what=what,
                have=f"{_article(have.value)} {have.value}",
            ),
            BatchErrorCode.ROLE_TOO_LOW,
        )
    return have


def batch_for_change(
    batch: Batch,
    *,
    acting_user: User,
    what: str,
    role: LabRole = LabRole.ANALYST,
    expected_version: int | None = None,
    reason: str = "",
    amends: bool = True,
) -> Batch:
    """The batch, locked for the rest of the transaction, once the change is allowed.

    1. The user has `role` (or higher) in the batch's lab.
    2. The batch row is locked (SELECT ... FOR UPDATE), so concurrent changes queue.
    3. A released or rejected batch refuses every change.
    4. `expected_version`, when given, must be the current version (optimistic locking).
    5. A change to recorded data (`amends`) needs a reason once the batch left production;
       recording new data does not.
    """
    require_role(acting_user, batch.lab, role, what=what)
    locked = Batch.objects.select_for_update().select_related("lab", "product").get(pk=batch.pk)
    if locked.status in LOCKED_STATUSES:
        raise BatchError(
            LOCKED.format(lot=locked.lot_number, status=BatchStatus(locked.status).label),
            BatchErrorCode.LOCKED,
        )
    check_version(f"Batch {locked.lot_number}", expected_version, locked.version)
    if amends and locked.status not in OPEN_STATUSES and not reason.strip():
        raise BatchError(
            REASON_REQUIRED.format(
                what=what, lot=locked.lot_number, status=BatchStatus(locked.status).label
            ),
            BatchErrorCode.REASON_REQUIRED,
        )
    return locked


def check_version(what: str, expected: int | None, actual: int) -> None:
    if expected is not None and expected != actual:
        raise Conflict(
            STALE.format(what=what, expected=expected, actual=actual),
            BatchErrorCode.CONFLICT,
            {"expected_version": expected, "current_version": actual},
        )


def _name(user: Any) -> str:
    return user.get_username() if user.is_authenticated else "An anonymous user"


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


NEEDS_ANALYST = "Recording data on {lot} needs the analyst role in lab {lab}."
TAKES_NO_DATA = "Batch {lot} is {status}; it takes no more data."


def refusal_to_record(batch: Batch, role: LabRole | None) -> str:
    """Why a person with this role cannot record data on this batch ("" when they can),
    so a page says so instead of offering a form the service would refuse."""
    if role is None or role.rank < LabRole.ANALYST.rank:
        return NEEDS_ANALYST.format(lot=batch.lot_number, lab=batch.lab.code)
    if batch.status in LOCKED_STATUSES:
        return TAKES_NO_DATA.format(lot=batch.lot_number, status=BatchStatus(batch.status).label)
    return ""
