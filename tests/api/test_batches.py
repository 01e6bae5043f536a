"""The batch endpoints: filters, ordering, pages, lot numbers in URLs, the whole batch
record, and a batch's gaps and compliance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from batches.models import Batch, GuidelineCheck, Product, ReportingGap
from batches.selectors import batch_record_for_lot
from evqc.batch_record import batch_record_json, parse_batch_record
from tests.api.conftest import listed

URL = "/api/v1/batches/"
OURS = ("EV-A1", "EV-A.2", "EV-A-3")


def lots(client, **params) -> list[str]:
    return [row["lot_number"] for row in listed(client, URL, **params)]


# Filters
# ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "in_qc"}, {"EV-A1"}),
        ({"status": ["in_qc", "planned"]}, {"EV-A1", "EV-A-3"}),
        ({"status": "rejected"}, set()),
        ({"product": "HEK-EV"}, {"EV-A.2"}),
        ({"product": "MSC-EV"}, {"EV-A1", "EV-A-3"}),
        ({"lab": "lab-a"}, set(OURS)),
        ({"lab": "lab-b"}, set()),  # another lab's code finds nothing of it
        ({"search": "a."}, {"EV-A.2"}),
        ({"search": "ev-a"}, set(OURS)),
        ({"search": "ev-a", "status": "released"}, {"EV-A.2"}),
    ],
)
def test_batches_filter_by_status_product_lab_and_part_of_the_lot(
    params, expected, analyst_client, batches
):
    assert set(lots(analyst_client, **params)) == expected


def test_an_unknown_status_is_refused_with_the_parameter_named(analyst_client, batches):
    response = analyst_client.get(URL, {"status": "finished"})

    assert response.status_code == 400
    assert list(response.json()["extra"]["fields"]) == ["status"]


def test_batches_filter_by_when_they_were_created(analyst_client, batches):
    # given: the three batches created on 1, 2 and 3 March
    for day, lot in enumerate(OURS, start=1):
        Batch.objects.filter(lot_number=lot).update(created_at=datetime(2026, 3, day, tzinfo=UTC))

    # then
    assert set(lots(analyst_client, created_after="2026-03-02T00:00:00Z")) == {"EV-A.2", "EV-A-3"}
    assert set(lots(analyst_client, created_before="2026-03-02T00:00:00Z")) == {"EV-A1", "EV-A.2"}
    assert lots(
        analyst_client, created_after="2026-03-01T12:00:00Z", created_before="2026-03-02T12:00:00Z"
    ) == ["EV-A.2"]


def test_has_open_gaps_counts_gaps_and_not_warnings(analyst_client, batches):
    # given: EV-A.2 keeps its warnings but none of its gaps
    released = batches["EV-A.2"]
    ReportingGap.objects.filter(batch=released, status="gap").delete()
    assert ReportingGap.objects.filter(batch=released, status="warning").exists()
    assert ReportingGap.objects.filter(batch=batches["EV-A1"], status="gap").exists()

    # then
    assert set(lots(analyst_client, has_open_gaps="false")) == {"EV-A.2"}
    assert set(lots(analyst_client, has_open_gaps="true")) == {"EV-A1", "EV-A-3"}


# Ordering and pages
# ------------------------------------------------------------------------------


def test_batches_are_newest_first_unless_ordered_otherwise(analyst_client, batches):
    created = {
        lot: datetime(2026, 3, 1, tzinfo=UTC) + timedelta(hours=hour)
        for hour, lot in enumerate(("EV-A.2", "EV-A-3", "EV-A1"))
    }
    for lot, when in created.items():
        Batch.objects.filter(lot_number=lot).update(created_at=when)
    by_age = sorted(created, key=created.__getitem__)

    assert lots(analyst_client) == by_age[::-1]
    assert lots(analyst_client, ordering="created_at") == by_age
    assert lots(analyst_client, ordering="status,-created_at") == ["EV-A1", "EV-A-3", "EV-A.2"]


def test_batches_order_by_lot_number_as_the_database_sorts_text(analyst_client, batches):
    stored = Batch.objects.filter(lab__code="lab-a").order_by("lot_number")

    assert lots(analyst_client, ordering="lot_number") == [b.lot_number for b in stored]
    assert lots(analyst_client, ordering="-lot_number") == [b.lot_number for b in stored][::-1]


def test_ordering_by_a_field_not_offered_is_ignored(analyst_client, batches):
    assert lots(analyst_client, ordering="description") == lots(analyst_client)


def test_pages_have_a_count_and_a_link_to_the_next(analyst_client, batches):
    first = analyst_client.get(URL, {"page_size": 2}).json()
    second = analyst_client.get(first["next"]).json()

    assert first["count"] == second["count"] == len(OURS)
    assert "page=2" in first["next"]
    assert second["next"] is None
    assert second["previous"] is not None
    listed_lots = [row["lot_number"] for row in first["results"] + second["results"]]
    assert listed_lots == lots(analyst_client)


def test_pages_of_an_ordering_with_ties_neither_repeat_nor_skip_a_batch(analyst_client, site):
    # given: 30 batches with one status and one creation time
    product = Product.objects.create(lab=site.lab, code="TIES", name="Ties")
    Batch.objects.bulk_create(
        Batch(lab=site.lab, product=product, lot_number=f"T-{index:02d}", status="in_qc")
        for index in range(30)
    )
    Batch.objects.update(created_at=datetime(2026, 3, 1, tzinfo=UTC))

    # when: read 7 at a time, by status
    seen, url = [], URL
    params = {"ordering": "status,-created_at", "page_size": 7}
    while url:
        body = analyst_client.get(url, params).json()
        seen += [row["lot_number"] for row in body["results"]]
        url, params = body["next"], {}

    # then
    assert sorted(seen) == sorted(Batch.objects.values_list("lot_number", flat=True))


def test_a_page_holds_at_most_1000_rows_whatever_is_asked(analyst_client, site):
    # given: 1001 products (products are the cheapest rows to make)
    Product.objects.bulk_create(
        Product(lab=site.lab, code=f"P-{index:04d}", name=f"Product {index}")
        for index in range(1001)
    )

    # when
    body = analyst_client.get("/api/v1/products/", {"page_size": 5000}).json()

    # then
    assert (body["count"], len(body["results"])) == (1001, 1000)
    assert "page=2" in body["next"]
    assert len(analyst_client.get(body["next"]).json()["results"]) == 1


# One batch
# ------------------------------------------------------------------------------


def test_a_batch_is_found_by_its_lot_number_dots_and_dashes_included(analyst_client, batches):
    for lot in OURS:
        response = analyst_client.get(f"{URL}{lot}/")
        assert response.status_code == 200
        body = response.json()
        batch = batches[lot]
        assert (body["lot_number"], body["status"], body["lab"]) == (lot, batch.status, "lab-a")
        assert body["product"] == {
            "id": batch.product_id,
            "code": batch.product.code,
            "name": batch.product.name,
        }


def test_a_batch_shows_codes_with_labels_and_unset_choices_as_null(analyst_client, batches):
    body = analyst_client.get(f"{URL}EV-A1/").json()

    assert (body["status"], body["status_label"]) == ("in_qc", "in QC")
    assert (body["held_from"], body["preparation_term"]) == (None, None)
    assert body["source_kind"] == "cell_culture"


def test_the_record_endpoint_gives_the_whole_batch_as_a_batch_record(analyst_client, batches):
    response = analyst_client.get(f"{URL}EV-A.2/record/")

    assert response.status_code == 200
    document = response.json()
    batch_record = parse_batch_record(document)
    assert batch_record.lot_number == "EV-A.2"
    assert [str(step.method) for step in batch_record.isolation_steps] == ["sec", "tff"]
    assert document == batch_record_json(batch_record_for_lot("EV-A.2"))


def test_the_record_endpoint_costs_the_records_queries_whatever_the_batch_holds(
    analyst_client, batches, django_assert_max_num_queries
):
    # session and user; the batch, then the 11 queries of the batch record
    with django_assert_max_num_queries(2 + 1 + 11):
        analyst_client.get(f"{URL}EV-A1/record/")


def test_a_batchs_gaps_and_compliance_are_as_its_last_check_stored_them(analyst_client, batches):
    released = batches["EV-A.2"]

    gaps = analyst_client.get(f"{URL}EV-A.2/gaps/").json()
    compliance = analyst_client.get(f"{URL}EV-A.2/compliance/").json()

    stored = ReportingGap.objects.filter(batch=released)
    assert sorted((g["rule_id"], g["status"]) for g in gaps) == sorted(
        stored.values_list("rule_id", "status")
    )
    checks = GuidelineCheck.objects.filter(batch=released)
    assert {(c["catalogue"], c["gaps"], c["warnings"]) for c in compliance} == set(
        checks.values_list("catalogue", "gaps", "warnings")
    )
