"""Who sees what through the read endpoints: members of a lab see its rows and nothing
of another lab's, whatever their role; another lab's row is as unknown as a missing one;
nobody who is not signed in sees anything."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db.models import Max

from assays.models import AssayRun, Result, Specification
from batches.models import (
    AuditEvent,
    Batch,
    IsolationStep,
    Lab,
    Product,
    ReportingGap,
    Storage,
)
from batches.services import lab_member_set
from evqc.vocabulary import LabRole
from tests.api.conftest import listed, member


@dataclass(frozen=True)
class Endpoint:
    """A list endpoint; `rows(lab)` are the rows of a lab it must list, `key` is the
    field that names a row in the API and `lookup` the row's attribute for its URL."""

    url: str
    rows: Callable[[Lab], Any]
    key: str = "id"
    lookup: str = "pk"

    def keys_of(self, lab: Lab) -> set[Any]:
        return {getattr(row, self.lookup) for row in self.rows(lab)}

    def detail(self, value: Any) -> str:
        return f"{self.url}{value}/"


ENDPOINTS = {
    "labs": Endpoint("/api/v1/labs/", lambda lab: Lab.objects.filter(pk=lab.pk), "code", "code"),
    "products": Endpoint("/api/v1/products/", lambda lab: Product.objects.filter(lab=lab)),
    "batches": Endpoint(
        "/api/v1/batches/", lambda lab: Batch.objects.filter(lab=lab), "lot_number", "lot_number"
    ),
    "isolation-steps": Endpoint(
        "/api/v1/isolation-steps/", lambda lab: IsolationStep.objects.filter(batch__lab=lab)
    ),
    "storage": Endpoint("/api/v1/storage/", lambda lab: Storage.objects.filter(batch__lab=lab)),
    "assay-runs": Endpoint(
        "/api/v1/assay-runs/", lambda lab: AssayRun.objects.filter(batch__lab=lab)
    ),
    "results": Endpoint(
        "/api/v1/results/", lambda lab: Result.objects.filter(assay_run__batch__lab=lab)
    ),
    "specifications": Endpoint(
        "/api/v1/specifications/", lambda lab: Specification.objects.filter(product__lab=lab)
    ),
    "reporting-gaps": Endpoint(
        "/api/v1/reporting-gaps/", lambda lab: ReportingGap.objects.filter(batch__lab=lab)
    ),
    "audit-events": Endpoint(
        "/api/v1/audit-events/", lambda lab: AuditEvent.objects.filter(lab=lab)
    ),
}


def missing_key(endpoint: Endpoint, lab: Lab) -> Any:
    """A key no row has."""
    if endpoint.lookup != "pk":
        return "no-such-thing"
    model = endpoint.rows(lab).model
    return 1000 + (model.objects.aggregate(top=Max("pk"))["top"] or 0)


@pytest.mark.parametrize("name", ENDPOINTS)
def test_a_list_shows_the_callers_labs_rows_and_none_of_another_labs(
    name, analyst_client, site, batches
):
    endpoint = ENDPOINTS[name]
    theirs = endpoint.keys_of(site.other_lab)
    assert theirs  # the other lab has rows that must stay hidden

    listed_keys = [row[endpoint.key] for row in listed(analyst_client, endpoint.url)]

    assert sorted(listed_keys, key=str) == sorted(endpoint.keys_of(site.lab), key=str)


@pytest.mark.parametrize("name", ENDPOINTS)
def test_each_of_the_callers_rows_can_be_retrieved_as_listed(name, analyst_client, batches):
    endpoint = ENDPOINTS[name]
    first, *_ = listed(analyst_client, endpoint.url)

    response = analyst_client.get(endpoint.detail(first[endpoint.key]))

    assert response.status_code == 200
    assert response.json() == first


@pytest.mark.parametrize("name", ENDPOINTS)
def test_another_labs_row_is_not_found_exactly_like_a_missing_one(
    name, analyst_client, site, batches
):
    endpoint = ENDPOINTS[name]
    theirs = sorted(endpoint.keys_of(site.other_lab), key=str)[0]
    missing = missing_key(endpoint, site.lab)

    hidden = analyst_client.get(endpoint.detail(theirs))
    absent = analyst_client.get(endpoint.detail(missing))

    assert (hidden.status_code, absent.status_code) == (404, 404)
    # A batch's 404 names the lot asked for; apart from that the bodies are the same.
    assert hidden.json() == {
        key: value.replace(str(missing), str(theirs)) if isinstance(value, str) else value
        for key, value in absent.json().items()
    }
    assert hidden.json()["code"] == "not_found"


@pytest.mark.parametrize("action", ["record", "gaps", "compliance"])
def test_another_labs_batch_has_no_record_gaps_or_compliance(action, analyst_client, batches):
    hidden = analyst_client.get(f"/api/v1/batches/EV-B1/{action}/")
    absent = analyst_client.get(f"/api/v1/batches/EV-NONE/{action}/")

    assert (hidden.status_code, absent.status_code) == (404, 404)
    assert hidden.json() == {"message": "No batch EV-B1.", "code": "not_found", "extra": {}}
    assert absent.json() == {"message": "No batch EV-NONE.", "code": "not_found", "extra": {}}


@pytest.mark.parametrize("name", ENDPOINTS)
def test_nobody_signed_out_reads_anything(name, client, site, batches):
    endpoint = ENDPOINTS[name]
    mine = sorted(endpoint.keys_of(site.lab), key=str)[0]

    for url in (endpoint.url, endpoint.detail(mine)):
        response = client.get(url)
        assert response.status_code in (401, 403)
        assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("role", list(LabRole))
def test_every_member_role_reads_the_same_rows(role, client, site, batches):
    reader = member(site.lab, f"reader-{role.value}", role, site_admin=site.site_admin)
    client.force_login(reader)

    for endpoint in ENDPOINTS.values():
        rows = listed(client, endpoint.url)
        assert {row[endpoint.key] for row in rows} == endpoint.keys_of(site.lab)


def test_a_member_of_two_labs_sees_both_and_each_once(client, site, batches):
    both = member(site.lab, "tess", LabRole.VIEWER, site_admin=site.site_admin)
    lab_member_set(site.other_lab, both, role=LabRole.VIEWER, acting_user=site.site_admin)
    client.force_login(both)

    for endpoint in ENDPOINTS.values():
        keys = [row[endpoint.key] for row in listed(client, endpoint.url)]
        expected = endpoint.keys_of(site.lab) | endpoint.keys_of(site.other_lab)
        assert sorted(keys, key=str) == sorted(expected, key=str)
