"""The portal's batch list: the person's labs only, the API's filters, sorting, pages,
and the same number of queries for 10 batches or 500."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from batches.services import BatchRecordImporter
from tests.api import conftest as api
from tests.api.conftest import MSC, document

site = api.site
batches = api.batches

LOTS = re.compile(r'<th scope="row"><a href="[^"]+">([^<]+)</a></th>')


def lots_on(response) -> list[str]:
    assert response.status_code == 200
    return LOTS.findall(response.content.decode())


@pytest.fixture
def analyst(client, site):
    client.force_login(site.analyst)
    return client


def test_a_visitor_is_asked_to_sign_in(client, db):
    response = client.get(reverse("batch-list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_only_the_persons_labs_batches_are_listed(analyst, batches):
    own = sorted(lot for lot, batch in batches.items() if batch.lab.code == "lab-a")
    assert sorted(lots_on(analyst.get(reverse("batch-list")))) == own


def test_the_apis_filters_search_and_sorting_apply(analyst, batches):
    url = reverse("batch-list")
    assert lots_on(analyst.get(url, {"status": "released"})) == ["EV-A.2"]
    assert lots_on(analyst.get(url, {"search": "a-3"})) == ["EV-A-3"]
    by_lot = lots_on(analyst.get(url, {"sort": "lot_number"}))
    assert by_lot == sorted(by_lot)
    assert lots_on(analyst.get(url, {"sort": "nonsense"}))  # falls back to newest first


def test_a_bad_filter_value_is_named_not_a_server_error(analyst, batches):
    response = analyst.get(reverse("batch-list"), {"created_after": "yesterday-ish"})
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()


def test_a_page_costs_the_same_queries_for_10_and_500_batches(
    analyst, site, django_assert_max_num_queries, django_assert_num_queries
):
    importer = BatchRecordImporter(lab=site.lab, acting_user=site.admin)
    importer.import_records(document(f"EV-{n:04d}", MSC, status="planned") for n in range(10))
    url = reverse("batch-list")
    analyst.get(url)  # the session is loaded once
    with django_assert_max_num_queries(20) as ten:
        assert len(lots_on(analyst.get(url))) == 10
    importer.import_records(document(f"EV-{n:04d}", MSC, status="planned") for n in range(10, 500))
    with django_assert_num_queries(len(ten.captured_queries)):
        page = analyst.get(url, {"page": 2})
    assert len(lots_on(page)) == 50
    assert "Page 2 of 10" in page.content.decode()
