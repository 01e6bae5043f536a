"""Assay runs, results and specifications: what each list shows, its filters and its
ordering; and that the hand-written result rows say what the documented fields say."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from rest_framework import serializers

from assays.api.serializers import ResultSerializer
from assays.models import AssayRun, Result, Specification
from assays.selectors import result_list, result_rows
from assays.services import specification_revise
from tests.api.conftest import MSC, document, import_records, listed, product_of

RUNS = "/api/v1/assay-runs/"
RESULTS = "/api/v1/results/"
SPECS = "/api/v1/specifications/"


# Assay runs
# ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, [("EV-A.2", 1), ("EV-A1", 1), ("EV-A1", 2)]),
        ({"lot_number": "EV-A1"}, [("EV-A1", 1), ("EV-A1", 2)]),
        ({"method": "microbca"}, [("EV-A1", 2)]),
        ({"method": ["nta", "microbca"]}, [("EV-A.2", 1), ("EV-A1", 1), ("EV-A1", 2)]),
        ({"instrument": "NS300"}, [("EV-A.2", 1), ("EV-A1", 1)]),
        ({"stage": "in_process"}, []),
        ({"stage": "final", "method": "nta"}, [("EV-A.2", 1), ("EV-A1", 1)]),
        ({"performed_after": "2026-03-02T00:00:00Z"}, [("EV-A.2", 1), ("EV-A1", 2)]),
        ({"performed_before": "2026-03-02T00:00:00Z"}, [("EV-A1", 1)]),
    ],
)
def test_assay_runs_filter_by_lot_method_instrument_stage_and_date(
    params, expected, analyst_client, batches
):
    rows = listed(analyst_client, RUNS, **params)

    assert sorted((row["lot_number"], row["position"]) for row in rows) == expected


def test_assay_runs_are_newest_first_and_name_what_they_point_at(analyst_client, batches):
    rows = listed(analyst_client, RUNS)

    stored = AssayRun.objects.filter(batch__lab__code="lab-a").order_by("-performed_at")
    assert [row["id"] for row in rows] == [run.pk for run in stored]
    nta = next(row for row in rows if row["lot_number"] == "EV-A1" and row["method"] == "nta")
    assert (nta["instrument"], nta["aliquot"], nta["isolation_step"]) == ("NS300", "A1", None)
    assert (nta["method_label"], nta["sample_stage"], nta["recorded_by"]) == (
        "NTA",
        "final",
        "adam",
    )
    assert nta["raw_file"] is None
    ordered = listed(analyst_client, RUNS, ordering="performed_at")
    assert [row["id"] for row in ordered] == [run.pk for run in reversed(stored)]


# Results
# ------------------------------------------------------------------------------


def result_ids(**lookups) -> list[int]:
    found = Result.objects.filter(assay_run__batch__lab__code="lab-a", **lookups)
    return sorted(found.values_list("pk", flat=True))


@pytest.mark.parametrize(
    ("params", "lookups"),
    [
        ({"lot_number": "EV-A.2"}, {"assay_run__batch__lot_number": "EV-A.2"}),
        ({"attribute": "size_mode"}, {"attribute": "size_mode"}),
        (
            {"attribute": ["size_mode", "protein_concentration"]},
            {"attribute__in": ["size_mode", "protein_concentration"]},
        ),
        ({"method": "microbca"}, {"assay_run__method": "microbca"}),
        ({"verdict": "fail"}, {"verdict": "fail"}),
        ({"verdict": ["pass", "fail"]}, {"verdict__in": ["pass", "fail"]}),
        (
            {"verdict": "no_spec", "lot_number": "EV-A1"},
            {"verdict": "no_spec", "assay_run__batch__lot_number": "EV-A1"},
        ),
    ],
)
def test_results_filter_by_lot_attribute_method_and_verdict(
    params, lookups, analyst_client, batches
):
    expected = result_ids(**lookups)
    assert expected

    assert sorted(row["id"] for row in listed(analyst_client, RESULTS, **params)) == expected


def test_out_of_specification_results_are_found_with_their_verdict(analyst_client, batches):
    (failed,) = listed(analyst_client, RESULTS, verdict="fail")

    assert (failed["lot_number"], failed["attribute"], failed["verdict"]) == (
        "EV-A.2",
        "particle_concentration",
        "fail",
    )
    spec = Specification.objects.get(product__lab__code="lab-a", product__code="HEK-EV")
    assert failed["specification"] == spec.pk
    assert failed["value"]["canonical_value"] < spec.lower_limit.canonical_value


def test_results_filter_by_assay_run_and_by_when_they_were_recorded(analyst_client, batches):
    run = AssayRun.objects.get(batch__lot_number="EV-A1", method="nta")
    results = list(Result.objects.filter(assay_run__batch__lab__code="lab-a").order_by("pk"))
    for day, result in enumerate(results, start=1):
        result.created_at = datetime(2026, 3, day, tzinfo=UTC)
    Result.objects.bulk_update(results, ["created_at"])

    by_run = listed(analyst_client, RESULTS, assay_run=run.pk)
    recorded = listed(
        analyst_client,
        RESULTS,
        recorded_after="2026-03-02T00:00:00Z",
        recorded_before="2026-03-03T00:00:00Z",
    )

    assert sorted(row["id"] for row in by_run) == sorted(r.pk for r in run.results.all())
    assert sorted(row["id"] for row in recorded) == [results[1].pk, results[2].pk]


def test_results_order_by_their_canonical_value_across_units(analyst_client, batches):
    rows = listed(
        analyst_client, RESULTS, attribute="particle_concentration", ordering="-value_canonical"
    )

    values = [row["value"]["canonical_value"] for row in rows]
    assert values == sorted(values, reverse=True)
    assert len(values) == 2


def test_results_are_listed_newest_run_first_in_the_runs_order(analyst_client, batches):
    rows = listed(analyst_client, RESULTS)

    stored = Result.objects.filter(assay_run__batch__lab__code="lab-a").order_by(
        "-assay_run__performed_at", "assay_run", "position"
    )
    assert [row["id"] for row in rows] == [result.pk for result in stored]


def test_a_result_row_says_what_the_documented_fields_say(site, batches):
    # given: results with every optional part: uncertainty, limits, a qualifier, a basis,
    # a dilution, and a qualitative outcome
    assays = [
        {
            "method": "nta",
            "performed_at": "2026-03-07T10:00:00Z",
            "dilution_factor": 100,
            "results": [
                {
                    "attribute": "particle_concentration",
                    "value": 2.4e9,
                    "unit": "particle/mL",
                    "basis": "measured",
                    "sd": 1e8,
                    "se": 5e7,
                    "n": 5,
                    "notes": "three videos",
                },
            ],
        },
        {
            "method": "lal_endotoxin",
            "performed_at": "2026-03-07T11:00:00Z",
            "results": [
                {
                    "attribute": "endotoxin",
                    "value": "< 0.05 EU/mL",
                    "lod": "0.01 EU/mL",
                    "loq": "0.05 EU/mL",
                }
            ],
        },
        {
            "method": "sterility",
            "performed_at": "2026-03-08T10:00:00Z",
            "results": [{"attribute": "sterility", "value": "no_growth"}],
        },
    ]
    import_records(site.lab, site.admin, [document("EV-A4", MSC, assays=assays)])
    serializer = ResultSerializer()
    documented = serializers.Serializer.to_representation  # DRF's field-by-field path

    # when
    rows = {row["id"]: row for row in result_rows(user=site.analyst)}
    results = list(result_list(user=site.analyst))

    # then
    assert len(results) == len(rows) > 5
    for result in results:
        assert serializer.to_representation(rows[result.pk]) == documented(serializer, result)
    endotoxin = next(r for r in results if r.attribute == "endotoxin")
    row = serializer.to_representation(rows[endotoxin.pk])
    assert (row["qualifier"], row["loq"]["reported_text"]) == ("<", "0.05 EU/mL")
    assert set(row) == set(ResultSerializer().fields)


# Specifications
# ------------------------------------------------------------------------------


def test_specifications_filter_by_product_attribute_and_whether_in_force(
    analyst_client, site, batches
):
    # given: the MSC specification revised, so version 1 is retired and version 2 in force
    msc = product_of(site.lab, "MSC-EV")
    first = Specification.objects.get(product=msc)
    second = specification_revise(
        first, acting_user=site.admin, reason="Tighter limit", lower_limit="2e10 particle/mL"
    )
    hek = Specification.objects.get(product=product_of(site.lab, "HEK-EV"))

    def ids(**params):
        return sorted(row["id"] for row in listed(analyst_client, SPECS, **params))

    # then
    assert ids() == sorted([first.pk, second.pk, hek.pk])
    assert ids(product="MSC-EV") == sorted([first.pk, second.pk])
    assert ids(in_force="true") == sorted([second.pk, hek.pk])
    assert ids(in_force="false") == [first.pk]
    assert ids(attribute="particle_concentration", required_for_release="true") == ids()
    assert ids(attribute="endotoxin") == []
    assert ids(method="nta") == []


def test_a_specification_shows_its_limits_version_and_whether_in_force(
    analyst_client, site, batches
):
    msc = product_of(site.lab, "MSC-EV")
    first = Specification.objects.get(product=msc)
    specification_revise(
        first, acting_user=site.admin, reason="Tighter limit", lower_limit="2e10 particle/mL"
    )

    rows = listed(analyst_client, SPECS, product="MSC-EV")

    assert [(row["version"], row["in_force"]) for row in rows] == [(2, True), (1, False)]
    assert rows[0]["product"] == {"id": msc.pk, "code": "MSC-EV", "name": msc.name}
    assert rows[0]["lower_limit"]["canonical_value"] == 2e10
    assert rows[0]["lower_limit"]["canonical_unit"] == "particle/mL"
    assert (rows[0]["method"], rows[0]["upper_limit"]) == (None, None)
    assert rows[1]["retired_at"] is not None
