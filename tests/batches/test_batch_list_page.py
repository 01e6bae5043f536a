"""The portal's batch list: the person's labs only, the API's filters, sorting, pages,
and the same number of queries for 10 batches or 500."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from batches.choices import BatchStatus
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


def test_the_status_filter_is_a_set_of_labelled_checkboxes_that_keep_what_was_ticked(
    analyst, batches
):
    # when
    response = analyst.get(reverse("batch-list"), {"status": ["released", "in_qc"]})

    # then: one checkbox per status, inside its label, the two ticked ones checked
    html = response.content.decode()
    boxes = re.findall(r'<label><input type="checkbox" name="status" value="(\w+)"([^>]*)>', html)
    assert [value for value, _ in boxes] == [status.value for status in BatchStatus]
    assert {value for value, attrs in boxes if "checked" in attrs} == {"released", "in_qc"}
    assert sorted(lots_on(response)) == ["EV-A.2", "EV-A1"]
    # and no <option> outside a <select> (they showed each status as bare text)
    assert "<option" not in re.sub(r"<select.*?</select>", "", html, flags=re.DOTALL)


def test_yes_no_filters_offer_any_rather_than_unknown(analyst, batches):
    html = analyst.get(reverse("batch-list")).content.decode()
    assert '<option value="" selected>any</option>' in html
    assert "Unknown" not in html

    html = analyst.get(reverse("batch-list"), {"has_open_gaps": "true"}).content.decode()
    assert '<option value="true" selected>yes</option>' in html
    assert 'id="id_has_open_gaps_helptext"' in html  # what aria-describedby points at


def test_the_search_box_is_styled_like_the_other_inputs():
    css = Path(finders.find("evqc/evqc.css")).read_text()
    text_inputs = next(rule for rule in css.split("}") if "input[type=text]" in rule)
    assert "input[type=search]" in text_inputs.split("{")[0]
