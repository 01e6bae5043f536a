"""Property tests of the REST API against its own OpenAPI schema (schemathesis): for
people of each role and for tokens, no request is answered with a 5xx and every
documented answer matches the schema.

Requests go in-process to Django's WSGI application (config.wsgi), in the world of
tests/api/permissions_matrix.py: generated path parameters, lot numbers, ids and
`?lab=` are a mix of lab A's and lab B's real rows and whatever schemathesis makes up
(mostly 404s). Every operation is called, the unsafe ones too: people sign in with a
session cookie and send the CSRF cookie and header, as a browser does (the WSGI
application enforces CSRF, unlike django.test.Client); tokens send their bearer key.
POST /imports/ is generated as schemathesis makes multipart bodies (random bytes as the
file, which the API must refuse with a 4xx); the matrix's requests, sent through
schemathesis too, add a real export file and a valid request for every operation, so
that each success answer is checked against the schema as well.

The requests these tests once found answered with a 500 or against the schema are kept
at the end, one test each. Generation is derandomized (the same examples every run);
EVQC_SCHEMATHESIS_EXAMPLES raises the number of examples per operation and caller.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import Client
from django.utils.crypto import get_random_string
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from config.wsgi import application
from evqc.vocabulary import TokenScope
from tests.api.permissions_matrix import (
    PEOPLE,
    TOKENS,
    Call,
    Caller,
    Kind,
    World,
    case_name,
    expected_status,
    matrix_cases,
    world_for_module,
)

pytestmark = pytest.mark.django_db

SCHEMA_URL = "/api/v1/schema/?format=json"
EXAMPLES = int(os.environ.get("EVQC_SCHEMATHESIS_EXAMPLES", "10"))
CONFIG = schemathesis.Config.from_dict(
    {
        # The callers' credentials are ours: generated Authorization headers and session
        # cookies would turn most calls into 401s.
        "generation": {"with-security-parameters": False},
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    }
)
schema = schemathesis.openapi.from_wsgi(SCHEMA_URL, application, config=CONFIG)

CALLERS = [*PEOPLE, *(token for token in TOKENS if token.scope != TokenScope.RESULTS_WRITE)]
CSRF_TOKEN = get_random_string(32)
# Real values for generation to pick, filled in once the world is built: per resource
# (the path's first segment) its path parameter's, and per body or query field.
REAL: dict[str, list[Any]] = {}


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory) -> Any:
    with world_for_module(django_db_blocker, tmp_path_factory.mktemp("media")) as world:
        REAL.update(real_values(world))
        yield world
        REAL.clear()


@pytest.fixture(autouse=True)
def _keep_the_test_transaction():
    """Django closes the database connection at the start and end of a WSGI request when
    it finds a transaction open (close_old_connections), which would end the test's; the
    test client unhooks it for its requests, and so do these tests."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def real_values(world: World) -> dict[str, list[Any]]:
    both = (world.lab_a, world.lab_b)
    return {
        "labs": [rows.lab.code for rows in both],
        "products": [rows.product.pk for rows in both],
        "batches": [rows.lot for rows in both],
        "isolation-steps": [rows.isolation_step.pk for rows in both],
        "storage": [rows.storage.pk for rows in both],
        "assay-runs": [rows.assay_run.pk for rows in both],
        "results": [rows.result.pk for rows in both],
        "specifications": [rows.specification.pk for rows in both],
        "reporting-gaps": [rows.reporting_gap.pk for rows in both],
        "audit-events": [rows.audit_event.pk for rows in both],
        "imports": [job.pk for rows in both for job in (rows.import_job, rows.person_import_job)],
        "quantity-kinds": ["particle_concentration", "temperature"],
        "lot_number": [rows.lot for rows in both],
        "lab": [rows.lab.code for rows in both],
        "assay_run": [rows.assay_run.pk for rows in both],
        "product_id": [rows.product.pk for rows in both],
        "product_code": [rows.product.code for rows in both],
    }


def resource(path: str) -> str:
    return path.removeprefix("/api/v1/").split("/")[0]


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
    values = REAL.get(resource(context.operation.path))
    if not values or not path_parameters:
        return st.just(path_parameters)
    (name,) = path_parameters
    return st.one_of(st.just(path_parameters), st.sampled_from(values).map(lambda v: {name: v}))


@schema.hook
def flatmap_query(context: Any, query: Any) -> Any:
    if not isinstance(query, dict) or "lab" not in query or not REAL:
        return st.just(query)
    real = st.sampled_from(REAL["lab"]).map(lambda code: {**query, "lab": code})
    return st.one_of(st.just(query), real)


# Body fields that name a row, and the real values for them.
BODY_FIELDS = {
    ("POST", "/api/v1/assay-runs/"): {"lot_number": "lot_number"},
    ("POST", "/api/v1/imports/"): {"lot_number": "lot_number"},
    ("POST", "/api/v1/batches/"): {"product": "product_code"},
    ("POST", "/api/v1/specifications/"): {"product": "product_id"},
    ("POST", "/api/v1/results/"): {"assay_run": "assay_run"},
}


@schema.hook
def flatmap_body(context: Any, body: Any) -> Any:
    fields = BODY_FIELDS.get((context.operation.method.upper(), context.operation.path), {})
    if not isinstance(body, dict) or not fields or not REAL:
        return st.just(body)
    real = st.fixed_dictionaries(
        {name: st.sampled_from(REAL[key]) for name, key in fields.items()}
    )
    return st.one_of(st.just(body), real.map(lambda values: {**body, **values}))


# The property test
# ------------------------------------------------------------------------------


def credentials(caller: Caller, world: World) -> tuple[dict[str, str], dict[str, str]]:
    """The headers and cookies a caller sends."""
    if caller.scope is not None:
        return {"Authorization": f"Bearer {world.token_keys[caller.scope]}"}, {}
    cookies = {
        django_settings.SESSION_COOKIE_NAME: world.session_keys[caller.name],
        django_settings.CSRF_COOKIE_NAME: CSRF_TOKEN,
    }
    return {"X-CSRFToken": CSRF_TOKEN}, cookies


@schema.parametrize()
@pytest.mark.parametrize("caller", CALLERS, ids=lambda caller: caller.name)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error_and_every_answer_matches_the_schema(case, caller, world):
    headers, cookies = credentials(caller, world)
    # Each example in a savepoint of its own, rolled back: examples do not see each
    # other's writes, and a database error (PostgreSQL aborts the transaction) stays in it.
    example = transaction.savepoint()
    try:
        case.call_and_validate(
            headers=headers,
            cookies=cookies,
            checks=[not_a_server_error, response_schema_conformance],
        )
    finally:
        transaction.savepoint_rollback(example)


# The matrix's requests
# ------------------------------------------------------------------------------


def path_parameters(template: str, path: str) -> dict[str, str]:
    """{"lot_number": "EV-A1"} of "/api/v1/batches/{lot_number}/" and "/api/v1/batches/EV-A1/"."""
    return {
        name[1:-1]: value
        for name, value in zip(template.split("/"), path.split("/"), strict=True)
        if name.startswith("{")
    }


def schemathesis_case(method: str, template: str, call: Call) -> Any:
    """The matrix's request as a schemathesis case of the operation."""
    body: Any = call.data
    media_type = call.content_type
    if body is not None and media_type is None:
        body = {name: getattr(value, "read", lambda v=value: v)() for name, value in body.items()}
        media_type = "multipart/form-data"
    kwargs: dict[str, Any] = {
        "path_parameters": path_parameters(template, call.path),
        "query": call.query or None,
    }
    if body is not None:
        kwargs.update(body=body, media_type=media_type)
    return schema[template][method].Case(**kwargs)


MATRIX_CALLS = [
    pytest.param(
        method,
        template,
        case,
        caller,
        id=f"{case_name(method, template, case)} | {caller.name}",
    )
    for method, template, case in matrix_cases()
    for caller in [*PEOPLE, *TOKENS]
]


@pytest.mark.parametrize(("method", "template", "case", "caller"), MATRIX_CALLS)
def test_the_matrix_requests_answer_as_the_rules_and_the_schema_say(
    method, template, case, caller, world
):
    """The permission matrix's requests on lab A's objects, sent by lab A's people and
    tokens through the WSGI application (CSRF enforced): the answers the rules say, and
    each 2xx as the schema documents it (which random generation seldom reaches)."""
    lab = world.lab_a.lab
    call = case.call(world, world.lab_a if case.kind is not Kind.GLOBAL else None)
    headers, cookies = credentials(caller, world)
    response = schemathesis_case(method, template, call).call_and_validate(
        headers=headers,
        cookies=cookies,
        checks=[not_a_server_error, response_schema_conformance],
    )
    expected = expected_status(case, caller, lab if case.kind is Kind.OBJECT else None)
    assert response.status_code == expected, response.text


# Requests these tests once found answered with a 500 (or against the schema)
# ------------------------------------------------------------------------------


@pytest.fixture
def analyst(world) -> Client:
    """The analyst's session, answered 500 rather than raising (as a browser sees it)."""
    client = Client(raise_request_exception=False)
    client.cookies[django_settings.SESSION_COOKIE_NAME] = world.session_keys["analyst_a"]
    return client


@pytest.mark.parametrize("value", ["1e30", "1.5", str(2**63)])
def test_an_assay_run_filter_that_is_no_id_is_refused(analyst, value):
    response = analyst.get("/api/v1/results/", {"assay_run": value})
    assert response.status_code == 400
    assert list(response.json()["extra"]["fields"]) == ["assay_run"]


def test_the_schema_lets_an_import_job_have_no_assay_run_yet(analyst, world):
    response = analyst.get(f"/api/v1/imports/{world.lab_a.person_import_job.pk}/")
    assert response.status_code == 200
    assert response.json()["assay_run"] is None
    served = analyst.get(SCHEMA_URL).json()
    assert served["components"]["schemas"]["ImportJob"]["properties"]["assay_run"].get("nullable")


def test_a_date_time_filter_at_the_calendars_edge_is_answered(analyst):
    response = analyst.get(
        "/api/v1/audit-events/", {"occurred_after": "0001-01-01T00:00:00+01:00"}
    )
    assert response.status_code == 400
    assert "occurred" in response.json()["extra"]["fields"]


def test_an_assay_run_dated_before_year_one_in_utc_is_refused(analyst):
    body = {"lot_number": "EV-A1", "method": "nta", "performed_at": "0001-01-01T00:00:00+01:00"}
    response = analyst.post("/api/v1/assay-runs/", body, content_type="application/json")
    assert response.status_code == 400
    assert "performed_at" in response.json()["extra"]["fields"]
    assert analyst.get("/api/v1/assay-runs/").status_code == 200


def test_a_production_date_before_year_one_in_utc_is_refused_and_the_record_stays_readable(
    analyst,
):
    body = {"conditioning_started_at": "0001-01-01T00:00:00+01:00"}
    response = analyst.put("/api/v1/batches/EV-A1/production/", body, "application/json")
    assert response.status_code == 400
    assert "conditioning_started_at" in response.json()["extra"]["fields"]
    assert analyst.get("/api/v1/batches/EV-A1/record/").status_code == 200


def test_a_date_time_filter_with_a_far_utc_offset_is_answered(analyst):
    response = analyst.get(
        "/api/v1/assay-runs/", {"performed_before": "2026-01-01T00:00:00+16:00"}
    )
    assert response.status_code == 200


def test_an_assay_run_with_a_far_utc_offset_is_stored(analyst):
    body = {"lot_number": "EV-A1", "method": "nta", "performed_at": "2026-03-09T10:00:00+16:00"}
    response = analyst.post("/api/v1/assay-runs/", body, content_type="application/json")
    assert response.status_code == 201


def test_a_lot_number_with_a_nul_is_not_found(analyst):
    assert analyst.get("/api/v1/batches/%00/").status_code == 404


def test_an_assay_run_with_a_nul_in_a_text_field_is_stored_or_refused(analyst):
    body = {
        "lot_number": "EV-A1",
        "method": "nta",
        "performed_at": "2026-03-09T10:00:00Z",
        "operator": "A\x00",
    }
    response = analyst.post("/api/v1/assay-runs/", body, content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()["extra"]["fields"]) == ["operator"]
