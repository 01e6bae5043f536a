"""The portal's assay-run page: results, the size-distribution plot drawn on the server,
per-video values and warnings from the export file, and the file itself."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from assays.imports import ImportOptions, import_job_create, import_job_run
from assays.services import assay_run_record
from evqc import batch_record as record
from tests.api import conftest as api

site = api.site
batches = api.batches

ZETAVIEW = (
    Path(__file__).resolve().parents[1]
    / "fixtures/instruments/zetaview/HEK293-EV-P3-2000_size_488.txt"
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def imported(batches, site):
    job = import_job_create(
        batches["EV-A1"], ZETAVIEW.read_bytes(), ZETAVIEW.name, ImportOptions(),
        acting_user=site.analyst,
    )  # fmt: skip
    return import_job_run(job.pk).assay_run


def test_the_page_plots_the_distribution_and_lists_what_the_file_said(client, site, imported):
    client.force_login(site.analyst)

    html = client.get(reverse("assay-run-page", args=[imported.pk])).content.decode()

    distribution = imported.size_distributions.get()
    assert '<svg class="chart"' in html
    points = html.split('<polyline points="')[1].split('"')[0].split()
    assert len(points) == len(distribution.bin_centres)
    assert '<span class="unit">particle/mL</span>' in html
    job_warnings = imported.import_job.warnings
    assert job_warnings
    assert escape(job_warnings[0]) in html


def test_the_raw_file_downloads_as_it_was_sent(client, site, imported):
    client.force_login(site.analyst)

    response = client.get(reverse("assay-run-raw-file", args=[imported.pk]))

    content = b"".join(response.streaming_content)
    assert hashlib.sha256(content).hexdigest() == imported.raw_file_sha256
    assert ZETAVIEW.name in response["Content-Disposition"]


def test_another_lab_reaches_neither_the_page_nor_the_file(client, site, imported):
    client.force_login(site.outsider)

    assert client.get(reverse("assay-run-page", args=[imported.pk])).status_code == 404
    assert client.get(reverse("assay-run-raw-file", args=[imported.pk])).status_code == 404


def test_the_batch_page_links_each_run_to_its_page(client, site, imported):
    client.force_login(site.analyst)

    html = client.get(reverse("batch-page", args=["EV-A1"])).content.decode()

    assert reverse("assay-run-page", args=[imported.pk]) in html


def test_the_page_costs_the_same_queries_for_10_or_500_results(client, site, batches):
    client.force_login(site.analyst)
    counts = []
    for size in (10, 500):
        results = [
            {"attribute": "size_mode", "value": 90 + n % 40, "unit": "nm"} for n in range(size)
        ]
        assay = record.parse_part(
            record.Assay,
            {"method": "nta", "performed_at": "2026-04-01T10:00:00Z", "results": results},
        )
        run = assay_run_record(batches["EV-A1"], assay, acting_user=site.analyst)
        client.get(reverse("assay-run-page", args=[run.pk]))
        with CaptureQueriesContext(connection) as queries:
            html = client.get(reverse("assay-run-page", args=[run.pk])).content.decode()
        assert html.count('<span class="unit">nm</span>') == size
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1]
