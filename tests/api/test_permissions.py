"""Every operation of the REST API, for every kind of caller, on an object of the caller's
own lab and of another lab: the answer follows the rules of
`tests/api/permissions_matrix.py`, a list shows the caller's labs' rows only, and a
refused write changes nothing.

The world is built once for the module, inside a transaction rolled back at its end;
each test runs in a savepoint of it (pytest-django's `db`), so a write one test makes
is gone before the next.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from assays.models import AssayRun, ImportJob, Result
from batches.models import AuditEvent, Batch, Lab
from tests.api.permissions_matrix import (
    CALLERS,
    MATRIX,
    PEOPLE,
    Caller,
    Case,
    Kind,
    World,
    case_name,
    expected_status,
    matrix_cases,
    world_for_module,
)
from tests.batches.conftest import db_state

pytestmark = pytest.mark.django_db

SCHEMA_METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory) -> Any:
    with world_for_module(django_db_blocker, tmp_path_factory.mktemp("media")) as world:
        yield world


def schema_operations() -> set[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in SCHEMA_METHODS
    }


def test_every_operation_of_the_schema_has_an_entry_in_the_matrix():
    operations = schema_operations()
    missing = sorted(operations - set(MATRIX))
    stale = sorted(set(MATRIX) - operations)
    assert missing == [], f"operations without a permissions_matrix.MATRIX entry: {missing}"
    assert stale == [], f"MATRIX entries for operations the schema no longer has: {stale}"


# The matrix
# ------------------------------------------------------------------------------


def lab_state(lab: Lab) -> tuple[int, ...]:
    """What a write in a lab adds to it."""
    return (
        Batch.objects.filter(lab=lab).count(),
        AssayRun.objects.filter(batch__lab=lab).count(),
        Result.objects.filter(assay_run__batch__lab=lab).count(),
        ImportJob.objects.filter(lab=lab).count(),
        AuditEvent.objects.filter(lab=lab).count(),
    )


def state() -> dict[str, Any]:
    """Every row of the batches and assays tables, but API tokens: their last use is
    written on the first call of a minute, whatever the call's answer."""
    rows = db_state()
    del rows["batches.ApiToken"]
    return rows


def targets(case: Case) -> list[str | None]:
    return ["lab-a", "lab-b"] if case.kind is Kind.OBJECT else [None]


def parameters() -> list[Any]:
    params = []
    for method, path, case in matrix_cases():
        for caller in CALLERS:
            for target in targets(case):
                test_id = f"{case_name(method, path, case)} | {caller.name}"
                test_id += f" | {target}'s" if target else ""
                reason = case.bug(caller, target) if case.bug else None
                marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
                params.append(pytest.param(method, case, caller, target, id=test_id, marks=marks))
    return params


def sign_in(client: Client, caller: Caller, world: World) -> dict[str, str]:
    if caller.scope is None and caller.signed_in:
        client.cookies[settings.SESSION_COOKIE_NAME] = world.session_keys[caller.name]
    return caller.credentials(world)


@pytest.mark.parametrize(("method", "case", "caller", "target"), parameters())
def test_the_answer_follows_the_rules(world, client, method, case, caller, target):
    # given
    lab = next((lab for lab in world.labs if lab.code == target), None)
    call = case.call(world, None if lab is None else world.rows(lab))
    expected = expected_status(case, caller, lab)
    credentials = sign_in(client, caller, world)
    writes = method != "GET"
    before = state() if writes else None
    labs_before = {each: lab_state(each) for each in world.labs} if writes else {}

    # when
    response = call.send(client, method, **credentials)

    # then
    body = response.json() if response.content else None
    assert response.status_code == expected, body
    if expected >= 400:
        assert body["message"], body
        if writes:
            assert state() == before, "a refused write changed the database"
        return
    for other, other_before in labs_before.items():
        if not caller.is_member(other):
            assert lab_state(other) == other_before, f"a write reached {other.code}"
    if case.kind is Kind.LIST:
        keys = {row[case.key] for row in body["results"]}
        assert body["count"] == len(body["results"])
        own = [each for each in world.labs if caller.is_member(each)]
        assert keys == set().union(*(case.listed(world.rows(each)) for each in own))
    if case.names is not None:
        field, value = case.names
        assert body[field] == value(world.rows(lab))
    if case.changes:
        assert state() != before, "the write changed nothing"


# CSRF
# ------------------------------------------------------------------------------

ANALYST = next(caller for caller in PEOPLE if caller.name == "analyst_a")
WRITES = [
    pytest.param(method, case, id=case_name(method, path, case))
    for method, path, case in matrix_cases()
    if method != "GET"
]


@pytest.mark.parametrize(("method", "case"), WRITES)
def test_a_session_write_without_the_csrf_token_is_refused(world, method, case):
    # given: a browser's client, which checks CSRF like a real one
    client = Client(enforce_csrf_checks=True)
    sign_in(client, ANALYST, world)
    call = case.call(world, world.lab_a if case.kind is Kind.OBJECT else None)
    before = state()

    # when
    response = call.send(client, method)

    # then
    assert response.status_code == 403, response.content
    assert "CSRF" in response.json()["message"]
    assert state() == before
