"""The portal's batch page: a batch's status, process, results with units and verdicts,
gaps and history, for the person's labs only, in a fixed number of queries."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from assays.models import Result
from assays.services import assay_run_record
from batches.gaps import batch_check
from batches.models import ReportingGap, RuleException
from batches.services import ALLOWED_TRANSITIONS, rule_exception_record
from evqc import batch_record as record
from evqc.guidelines import CATALOGUE_TITLES
from evqc.vocabulary import BatchStatus
from tests.api import conftest as api
from tests.api.conftest import nta

site = api.site
batches = api.batches


@pytest.fixture
def analyst(client, site):
    client.force_login(site.analyst)
    return client


def page_of(client, lot):
    return client.get(reverse("batch-page", args=[lot]))


def test_the_page_shows_status_process_results_and_verdicts(analyst, batches):
    response = page_of(analyst, "EV-A1")

    html = response.content.decode()
    assert response.status_code == 200
    assert f"{batches['EV-A1'].get_status_display()}</span>" in html
    offered = re.findall(
        r'<option value="([a-z_]+)">', html.split('id="transition-to"')[1].split("</select>")[0]
    )
    allowed = ALLOWED_TRANSITIONS[BatchStatus(batches["EV-A1"].status)]
    assert sorted(offered) == sorted(status.value for status in allowed)
    assert "Step 1: " in html
    assert '<span class="unit">particle/mL</span>' in html
    concentration = Result.objects.get(
        assay_run__batch__lot_number="EV-A1", attribute="particle_concentration"
    )
    assert f'verdict-{concentration.verdict}"' in html
    assert f"(version {concentration.specification.version})" in html


def test_open_gaps_show_how_to_fix_and_excepted_ones_their_justification(analyst, batches, site):
    gaps = ReportingGap.objects.filter(batch__lot_number="EV-A1", status="gap")
    first, second = gaps.order_by("rule_id")[:2]
    html = page_of(analyst, "EV-A1").content.decode()
    assert f"How to fix: {escape(first.how_to_fix)}" in html

    rule_exception_record(
        batches["EV-A1"], rule=second.rule_id, justification="Run at the CRO.",
        acting_user=site.analyst,
    )  # fmt: skip
    batch_check(batches["EV-A1"].pk)

    html = page_of(analyst, "EV-A1").content.decode()
    assert "Excepted: Run at the CRO." in html


def test_another_labs_batch_is_not_found(analyst, batches):
    assert page_of(analyst, "EV-B1").status_code == 404
    assert page_of(analyst, "EV-NONE").status_code == 404


def test_the_page_costs_the_same_queries_for_a_few_results_or_500(
    analyst, site, batches, django_assert_num_queries
):
    analyst.get(reverse("home"))
    with CaptureQueriesContext(connection) as few:
        assert page_of(analyst, "EV-A1").status_code == 200
    run = record.parse_part(record.Assay, nta("2026-03-10T10:00:00Z", "2e11 particle/mL"))
    run = run.model_copy(
        update={
            "results": [
                record.parse_part(
                    record.Result, {"attribute": "size_mode", "value": 90 + n % 40, "unit": "nm"}
                )
                for n in range(500)
            ]
        }
    )
    assay_run_record(batches["EV-A1"], run, acting_user=site.analyst)
    with django_assert_num_queries(len(few.captured_queries)):
        response = page_of(analyst, "EV-A1")
    assert response.content.decode().count('<span class="unit">nm</span>') >= 500


def test_an_analyst_records_an_exception_from_the_page(analyst, batches, site):
    gap = ReportingGap.objects.filter(batch__lot_number="EV-A1", status="gap").first()
    url = reverse("batch-exception-add", args=["EV-A1"])

    response = analyst.post(url, {"rule": gap.rule_id, "justification": "Done at the CRO."})

    assert response.status_code == 302
    assert response["Location"].endswith(f"#gap-{gap.rule_id}")  # back where they were
    html = analyst.get(response["Location"]).content.decode()
    assert f"Exception to {gap.rule_id} recorded" in html
    assert "Exception recorded: Done at the CRO." in html
    batch_check(batches["EV-A1"].pk)
    assert "Excepted: Done at the CRO." in page_of(analyst, "EV-A1").content.decode()


def test_a_viewer_sees_no_exception_form_and_cannot_record_one(client, batches, site):
    viewer = api.member(site.lab, "vera", "viewer", site_admin=site.site_admin)
    client.force_login(viewer)
    gap = ReportingGap.objects.filter(batch__lot_number="EV-A1", status="gap").first()

    assert "Record exception" not in page_of(client, "EV-A1").content.decode()
    response = client.post(
        reverse("batch-exception-add", args=["EV-A1"]),
        {"rule": gap.rule_id, "justification": "x"},
        follow=True,
    )

    assert "needs the analyst role" in response.content.decode()
    assert not RuleException.objects.filter(batch__lot_number="EV-A1", rule=gap.rule_id).exists()


def test_no_exception_can_be_recorded_on_another_labs_batch(analyst, batches):
    url = reverse("batch-exception-add", args=["EV-B1"])
    assert analyst.post(url, {"rule": "M18-MRK-01", "justification": "x"}).status_code == 404
    assert not RuleException.objects.filter(batch__lot_number="EV-B1").exists()


def test_the_header_says_at_a_glance_what_needs_attention(analyst, batches):
    lot = "EV-A.2"  # its NTA fails the specification
    failed = Result.objects.filter(assay_run__batch__lot_number=lot, verdict="fail").count()
    open_gaps = ReportingGap.objects.filter(batch__lot_number=lot, status="gap").count()
    assert failed
    assert open_gaps

    html = page_of(analyst, lot).content.decode()

    glance = html.split('aria-label="At a glance"')[1].split("</ul>")[0]
    assert f"{failed} result{'s' if failed > 1 else ''} out of specification" in glance
    assert f"{open_gaps} open reporting gap" in glance


def test_gaps_read_open_first_with_recommendations_and_exceptions_folded_away(analyst, batches):
    warnings = ReportingGap.objects.filter(batch__lot_number="EV-A1", status="warning")
    catalogue = warnings.values_list("catalogue", flat=True).first()
    assert catalogue
    count = warnings.filter(catalogue=catalogue).count()

    html = page_of(analyst, "EV-A1").content.decode()

    title = CATALOGUE_TITLES[catalogue]
    assert f"<h3>{escape(title)}</h3>" in html
    section = html.split(f"<h3>{escape(title)}</h3>")[1].split("<h3>")[0]
    folded = section.split('<details class="gap-group">')[1]
    assert f"{count} recommendation{'s' if count > 1 else ''} not followed" in folded
    assert folded.count('class="gap-warning"') == count
    assert 'class="gap-warning"' not in section.split('<details class="gap-group">')[0]
