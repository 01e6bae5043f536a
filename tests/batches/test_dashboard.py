"""The dashboard: a person's labs at a glance, never another lab's, in the same number
of queries however many batches there are."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assays.imports import ImportOptions, import_job_create
from assays.models import Result
from batches.models import Batch, ReportingGap
from batches.services import BatchRecordImporter
from tests.api import conftest as api
from tests.api.conftest import MSC, document, nta

site = api.site
batches = api.batches

ZETAVIEW = (
    Path(__file__).resolve().parents[1]
    / "fixtures/instruments/zetaview/HEK293-EV-P3-2000_size_488.txt"
)


@pytest.fixture
def analyst(client, site):
    client.force_login(site.analyst)
    return client


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_batches_are_counted_by_status_for_the_persons_labs_only(analyst, batches, site):
    context = analyst.get(reverse("home")).context

    counts = dict(Batch.objects.filter(lab=site.lab).values_list("status").annotate(n=Count("id")))
    shown = {status.value: count for status, count in context["by_status"]}
    assert shown == {status: counts.get(status, 0) for status in shown}
    assert sum(shown.values()) == Batch.objects.filter(lab=site.lab).count()


def test_open_gaps_are_counted_by_rule(analyst, batches, site):
    context = analyst.get(reverse("home")).context

    expected = dict(
        ReportingGap.objects.filter(batch__lab=site.lab, status="gap")
        .values_list("rule_id")
        .annotate(n=Count("batch", distinct=True))
    )
    for row in context["gaps"]:
        assert row["batches"] == expected[row["rule_id"]]
    assert len(context["gaps"]) == min(10, len(expected))


def test_results_out_of_specification_and_imports_of_the_lab_are_listed(analyst, batches, site):
    import_job_create(
        batches["EV-A1"], ZETAVIEW.read_bytes(), ZETAVIEW.name, ImportOptions(),
        acting_user=site.analyst,
    )  # fmt: skip
    response = analyst.get(reverse("home"))

    failing = Result.objects.filter(assay_run__batch__lab=site.lab, verdict="fail")
    assert {r.pk for r in response.context["out_of_spec"]} >= set(
        failing.values_list("pk", flat=True)
    )
    assert all(r.assay_run.batch.lab == site.lab for r in response.context["out_of_spec"])
    html = response.content.decode()
    assert ZETAVIEW.name in html
    assert "EV-B1" not in html


def test_the_dashboard_costs_the_same_queries_for_few_or_many_batches(analyst, batches, site):
    analyst.get(reverse("home"))
    with CaptureQueriesContext(connection) as few:
        analyst.get(reverse("home"))
    importer = BatchRecordImporter(lab=site.lab, acting_user=site.admin)
    importer.import_records(
        document(f"EV-M{n:03d}", MSC, assays=[nta("2026-04-01T10:00:00Z", "1e9 particle/mL")])
        for n in range(200)
    )
    with CaptureQueriesContext(connection) as many:
        response = analyst.get(reverse("home"))
    assert len(many.captured_queries) == len(few.captured_queries)
    assert len(response.context["out_of_spec"]) == 10
