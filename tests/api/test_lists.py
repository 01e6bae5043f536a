"""Labs, products and the parts of batches (isolation steps, storage, reporting gaps,
audit events): what each list shows, and its filters and ordering."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from batches.gaps import batch_check
from batches.models import AuditEvent, IsolationStep, ReportingGap, Storage
from batches.services import product_update, rule_exception_record
from evqc.vocabulary import LabRole
from tests.api.conftest import listed, member, product_of


def keyed(rows, *keys):
    return sorted(tuple(row[key] for key in keys) for row in rows)


# Labs and products
# ------------------------------------------------------------------------------


def test_labs_list_the_callers_labs_with_the_callers_role_in_each(client, site):
    person = member(site.lab, "lia", LabRole.REVIEWER, site_admin=site.site_admin)
    client.force_login(person)

    assert listed(client, "/api/v1/labs/") == [
        {"code": "lab-a", "name": "Lab A", "role": "reviewer"}
    ]
    assert client.get("/api/v1/labs/lab-a/").json()["role"] == "reviewer"


def test_a_product_shows_its_quantities_with_units(analyst_client, site, batches):
    product = product_of(site.lab, "MSC-EV")
    product_update(
        product,
        changes={
            "storage_temperature": "-80 °C",
            "max_dose_volume": "2 mL",
            "route": "intravenous",
        },
        expected_version=product.version,
        acting_user=site.admin,
        reason="Release specification v2",
    )

    body = analyst_client.get(f"/api/v1/products/{product.pk}/").json()

    assert (body["code"], body["lab"], body["route"]) == ("MSC-EV", "lab-a", "intravenous")
    assert body["storage_temperature"] == {
        "value": -80.0,
        "unit": "°C",
        "canonical_value": -80.0,
        "canonical_unit": "°C",
        "reported_text": "-80 °C",
    }
    assert body["max_dose_volume"]["canonical_value"] == 2.0
    assert body["shelf_life"] is None


@pytest.mark.parametrize(
    ("params", "expected"),
    [({"search": "hek"}, ["HEK-EV"]), ({"search": "small"}, ["MSC-EV"]), ({"lab": "lab-b"}, [])],
)
def test_products_filter_by_part_of_code_or_name_and_by_lab(
    params, expected, analyst_client, batches
):
    assert [p["code"] for p in listed(analyst_client, "/api/v1/products/", **params)] == expected


# Isolation steps and storage
# ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, [("EV-A.2", 1), ("EV-A.2", 2), ("EV-A1", 1)]),
        ({"lot_number": "EV-A.2"}, [("EV-A.2", 1), ("EV-A.2", 2)]),
        ({"lot_number": "EV-B1"}, []),
        ({"method": ["sec", "ultracentrifugation"]}, [("EV-A.2", 1), ("EV-A1", 1)]),
        ({"purpose": "concentration"}, [("EV-A.2", 2)]),
    ],
)
def test_isolation_steps_filter_by_lot_method_and_purpose(
    params, expected, analyst_client, batches
):
    rows = listed(analyst_client, "/api/v1/isolation-steps/", **params)

    assert keyed(rows, "lot_number", "order") == expected


def test_isolation_steps_list_in_their_order_and_carry_their_parameters(analyst_client, batches):
    rows = listed(analyst_client, "/api/v1/isolation-steps/", ordering="-order")
    stored = {step.pk: step for step in IsolationStep.objects.filter(batch__lab__code="lab-a")}

    assert [row["order"] for row in rows] == sorted(
        (s.order for s in stored.values()), reverse=True
    )
    for row in rows:
        step = stored[row["id"]]
        assert (row["method"], row["purpose"], row["parameters"]) == (
            step.method,
            step.purpose,
            step.parameters,
        )
    uc = next(row for row in rows if row["method"] == "ultracentrifugation")
    assert uc["parameters"]["g_force"]["canonical_value"] == 100_000


def test_storage_filters_by_lot_and_shows_the_temperature(analyst_client, batches):
    (row,) = listed(analyst_client, "/api/v1/storage/", lot_number="EV-A1")
    stored = Storage.objects.get(batch=batches["EV-A1"])

    assert (row["id"], row["buffer"], row["container"]) == (stored.pk, "PBS", "cryovial")
    assert (row["temperature"]["value"], row["temperature"]["unit"]) == (-80.0, "°C")
    assert listed(analyst_client, "/api/v1/storage/", lot_number="EV-B1") == []


# Reporting gaps
# ------------------------------------------------------------------------------

GAPS = "/api/v1/reporting-gaps/"


def gap_ids(**lookups) -> list[int]:
    return sorted(
        ReportingGap.objects.filter(batch__lab__code="lab-a", **lookups).values_list(
            "pk", flat=True
        )
    )


@pytest.mark.parametrize(
    ("params", "lookups"),
    [
        ({"lot_number": "EV-A1"}, {"batch__lot_number": "EV-A1"}),
        ({"catalogue": "misev2018"}, {"catalogue": "misev2018"}),
        ({"catalogue": ["evmetric", "release"]}, {"catalogue__in": ["evmetric", "release"]}),
        ({"status": "warning"}, {"status": "warning"}),
        ({"severity": "required"}, {"severity": "required"}),
        (
            {"status": "gap", "lot_number": "EV-A-3"},
            {"status": "gap", "batch__lot_number": "EV-A-3"},
        ),
    ],
)
def test_reporting_gaps_filter_by_lot_catalogue_status_and_severity(
    params, lookups, analyst_client, batches
):
    expected = gap_ids(**lookups)
    assert expected  # the filter has something to find

    rows = listed(analyst_client, GAPS, **params)

    assert sorted(row["id"] for row in rows) == expected


def test_a_gap_filters_by_rule_and_an_excepted_one_shows_its_justification(
    analyst_client, site, batches
):
    # given: one of EV-A1's gaps excepted, with a reason, and the batch checked again
    batch = batches["EV-A1"]
    rule = ReportingGap.objects.filter(batch=batch, status="gap").order_by("rule_id")[0].rule_id
    rule_exception_record(
        batch, rule=rule, justification="Validated in the process file.", acting_user=site.admin
    )
    batch_check(batch.pk)

    # when
    rows = listed(analyst_client, GAPS, rule_id=rule)

    # then
    by_lot = {row["lot_number"]: row for row in rows}
    assert by_lot["EV-A1"]["status"] == "excepted"
    assert by_lot["EV-A1"]["justification"] == "Validated in the process file."
    assert all(row["justification"] == "" for lot, row in by_lot.items() if lot != "EV-A1")
    assert sorted(row["id"] for row in rows) == gap_ids(rule_id=rule)


def test_reporting_gaps_are_listed_by_lot_catalogue_and_rule(analyst_client, batches):
    rows = listed(analyst_client, GAPS, ordering="-checked_at,lot_number")
    by_rule = listed(analyst_client, GAPS)

    stored = ReportingGap.objects.filter(batch__lab__code="lab-a")
    expected = stored.order_by("batch__lot_number", "catalogue", "rule_id").values_list(
        "pk", flat=True
    )
    assert [row["id"] for row in by_rule] == list(expected)
    newest = stored.order_by("-checked_at", "batch__lot_number", "pk").values_list("pk", flat=True)
    assert [row["id"] for row in rows] == list(newest)


# Audit events
# ------------------------------------------------------------------------------

EVENTS = "/api/v1/audit-events/"


def event_ids(**lookups) -> list[int]:
    return sorted(
        AuditEvent.objects.filter(lab__code="lab-a", **lookups).values_list("pk", flat=True)
    )


@pytest.mark.parametrize(
    ("params", "lookups"),
    [
        ({"lot_number": "EV-A1"}, {"batch__lot_number": "EV-A1"}),
        ({"action": "evqc.batch.imported"}, {"action": "evqc.batch.imported"}),
        ({"action_prefix": "evqc.lab."}, {"action__startswith": "evqc.lab."}),
        ({"actor": "adam"}, {"actor__username": "adam"}),
        ({"actor": "root"}, {"actor__username": "root"}),
    ],
)
def test_audit_events_filter_by_lot_action_and_actor(params, lookups, analyst_client, batches):
    expected = event_ids(**lookups)
    assert expected

    assert sorted(row["id"] for row in listed(analyst_client, EVENTS, **params)) == expected


def test_audit_events_are_newest_first_and_filter_by_time(analyst_client, batches):
    # given: lab A's events spread one a day over March
    events = list(AuditEvent.objects.filter(lab__code="lab-a").order_by("pk"))
    for day, event in enumerate(events, start=1):
        event.occurred_at = datetime(2026, 3, day, 12, tzinfo=UTC)
    AuditEvent.objects.bulk_update(events, ["occurred_at"])

    # then
    assert [row["id"] for row in listed(analyst_client, EVENTS)] == [e.pk for e in events[::-1]]
    window = listed(
        analyst_client,
        EVENTS,
        occurred_after="2026-03-02T00:00:00Z",
        occurred_before="2026-03-04T00:00:00Z",
    )
    assert [row["id"] for row in window] == [events[2].pk, events[1].pk]


def test_an_audit_event_shows_who_did_what_to_which_batch(analyst_client, batches):
    (row,) = listed(analyst_client, EVENTS, lot_number="EV-A.2")
    event = AuditEvent.objects.get(pk=row["id"])

    assert (row["action"], row["actor"], row["lab"]) == ("evqc.batch.imported", "adam", "lab-a")
    assert (row["object_type"], row["object_repr"]) == ("batches.batch", "EV-A.2")
    assert row["after"] == event.after
    assert row["after"]["lot_number"] == "EV-A.2"
