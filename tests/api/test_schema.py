"""The OpenAPI schema documents the read endpoints: their paths, their filters with the
real choices, and each vocabulary once, as a named enum."""

from __future__ import annotations

import pytest
from django.urls import reverse

from assays.choices import VERDICTS, AssayMethod
from batches.choices import BatchStatus


@pytest.fixture
def schema(client, db):
    response = client.get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == 200
    return response.json()


def parameter(schema, path, name):
    (found,) = [p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == name]
    return found


def test_the_schema_has_every_read_endpoint(schema):
    for resource in (
        "labs",
        "products",
        "batches",
        "isolation-steps",
        "storage",
        "assay-runs",
        "results",
        "specifications",
        "reporting-gaps",
        "audit-events",
    ):
        assert f"/api/v1/{resource}/" in schema["paths"]
    for action in ("", "record/", "gaps/", "compliance/"):
        assert f"/api/v1/batches/{{lot_number}}/{action}" in schema["paths"]


def test_choice_filters_list_their_choices(schema):
    status = parameter(schema, "/api/v1/batches/", "status")
    verdict = parameter(schema, "/api/v1/results/", "verdict")
    method = parameter(schema, "/api/v1/assay-runs/", "method")

    assert set(status["schema"]["items"]["enum"]) == {s.value for s in BatchStatus}
    assert set(verdict["schema"]["items"]["enum"]) == {value for value, _ in VERDICTS}
    assert set(method["schema"]["items"]["enum"]) == {m.value for m in AssayMethod}


def test_lists_are_paged_and_a_vocabulary_is_one_enum_whatever_the_field(schema):
    components = schema["components"]["schemas"]
    batch = components["Batch"]["properties"]

    assert set(components["PaginatedBatchList"]["properties"]) >= {"count", "next", "results"}
    assert components["BatchStatusEnum"]["enum"] == [s.value for s in BatchStatus]
    for field in ("status", "held_from"):
        refs = batch[field].get("allOf", [batch[field]])
        assert refs == [{"$ref": "#/components/schemas/BatchStatusEnum"}]
    page_size = parameter(schema, "/api/v1/results/", "page_size")
    assert page_size["schema"]["type"] == "integer"
