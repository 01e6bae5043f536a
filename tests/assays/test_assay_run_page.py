"""The portal's assay-run page: results, the size-distribution plot drawn on the server,
per-video values and warnings from the export file, and the file itself."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from assays.imports import ImportOptions, import_job_create, import_job_run
from assays.services import assay_run_record
from evqc import batch_record as record
from evqc.units import parse_quantity
from tests.api import conftest as api

site = api.site
batches = api.batches

INSTRUMENTS = Path(__file__).resolve().parents[1] / "fixtures/instruments"
ZETAVIEW = INSTRUMENTS / "zetaview/HEK293-EV-P3-2000_size_488.txt"
NANOSIGHT = INSTRUMENTS / "nanosight/minimal-3.4-ExperimentSummary.csv"


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


@pytest.fixture
def per_video(batches, site):
    """A NanoSight file imported video by video, diluted 200-fold before measuring."""
    options = ImportOptions(record="all", user_dilution=parse_quantity("200", "dilution_factor"))
    job = import_job_create(
        batches["EV-A1"], NANOSIGHT.read_bytes(), NANOSIGHT.name, options,
        acting_user=site.analyst,
    )  # fmt: skip
    return import_job_run(job.pk).assay_run


def page(client, site, run) -> str:
    client.force_login(site.analyst)
    response = client.get(reverse("assay-run-page", args=[run.pk]))
    assert response.status_code == 200
    return response.content.decode()


def shown(value: str, unit: str) -> str:
    """How the quantity tag writes a value and its unit."""
    return f'{value}</data> <span class="unit">{unit}</span>'


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
        # a value of the diluted sample (shown with its stock value) and a setting
        results.append(
            {"attribute": "particle_concentration", "value": "1e7/mL", "basis": "measured"}
        )
        assay = record.parse_part(
            record.Assay,
            {
                "method": "nta",
                "performed_at": "2026-04-01T10:00:00Z",
                "dilution_factor": 200,
                "settings": {"temperature": "25 °C"},
                "results": results,
            },
        )
        run = assay_run_record(batches["EV-A1"], assay, acting_user=site.analyst)
        client.get(reverse("assay-run-page", args=[run.pk]))
        with CaptureQueriesContext(connection) as queries:
            html = client.get(reverse("assay-run-page", args=[run.pk])).content.decode()
        assert html.count('<span class="unit">nm</span>') == size
        assert "judged on the stock value" in html
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1]


def test_a_value_measured_on_the_diluted_sample_is_shown_with_its_stock_value(
    client, site, imported
):
    # given: ZetaView measured 2.997e7 particle/mL at a dilution of 2000
    result = imported.results.get(attribute="particle_concentration")
    assert (result.basis, result.stock_canonical) == ("measured", 5.994e10)

    # when
    html = page(client, site, imported)

    # then: both values, each with its unit, and what the verdict was judged on
    row = html.split('<th scope="row">particle concentration</th>')[1].split("</tr>")[0]
    assert "measured <span" in row
    assert f"{shown('2.997e7', 'particle/mL')}</span>; stock <span" in row
    assert shown("5.994e10", "particle/mL") in row
    assert "judged on the stock value" in row


def test_the_stock_value_is_in_the_unit_the_value_was_measured_in(client, site, batches):
    # given: a value per µL measured on a 100-fold dilution, judged against a spec
    assay = record.parse_part(
        record.Assay,
        {
            "method": "nta",
            "performed_at": "2026-04-01T10:00:00Z",
            "dilution_factor": 100,
            "results": [
                {"attribute": "particle_concentration", "value": "2e7 particle/µL",
                 "basis": "measured"},
                {"attribute": "size_mode", "value": "100 nm"},
            ],
        },
    )  # fmt: skip
    run = assay_run_record(batches["EV-A1"], assay, acting_user=site.analyst)

    # when
    html = page(client, site, run)

    # then
    row = html.split('<th scope="row">particle concentration</th>')[1].split("</tr>")[0]
    assert shown("2e9", "particle/µL") in row
    assert '<data value="2000000000000.0"' in row  # 2e12 particle/mL, the canonical value
    size = html.split('<th scope="row">modal size</th>')[1].split("</tr>")[0]
    assert "stock" not in size


def test_per_video_values_show_the_attributes_label_and_the_value_with_its_unit(
    client, site, per_video
):
    html = page(client, site, per_video)

    table = html.split('id="videos"')[1].split("</table>")[0]
    rows = re.findall(r'<tr><th scope="row">(\d+)</th><td>([^<]*)</td><td>(.*?)</td></tr>', table)
    assert len(rows) == 14  # 7 values from each of 2 videos
    assert rows[4][:2] == ("1", "size D10")
    assert shown("99.1", "nm") in rows[4][2]
    assert shown("1e7", "particle/mL") in rows[0][2]
    assert "size_d10" not in table
    assert "Particles / ml" not in table  # the file's spelling, now through the tag


def test_instrument_settings_with_a_unit_are_shown_as_quantities(client, site, per_video):
    # given: the file says "25.000 degC"
    assert per_video.settings["temperature"]["reported_text"] == "25.000 degC"

    # when
    html = page(client, site, per_video)

    # then
    settings = html.split('id="settings"')[1].split("</dl>")[0]
    assert '<dt>temperature</dt><dd><span class="quantity">' in settings
    assert shown("25", "°C") in settings
    assert shown("405", "nm") in settings
    assert "degC" not in settings


def test_the_size_chart_names_the_unit_of_its_y_axis(client, site, imported):
    html = page(client, site, imported)

    distribution = imported.size_distributions.get()
    chart = html.split('<svg class="chart"')[1].split("</svg>")[0]
    assert f">{distribution.value_unit}</text>" in chart
    bins = len(distribution.bin_centres)
    assert f'aria-label="{bins} bins of {distribution.value_unit}' in chart
