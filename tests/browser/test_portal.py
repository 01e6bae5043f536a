"""The portal in a real browser: signing in, uploading a NanoSight export and watching it
be stored, its size plot, a batch's reporting gaps and an exception to one, another
lab's batch, and the keyboard's way past the menu.

Each test asserts what a person sees, and saves a screenshot of every page it visits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from assays.models import AssayRun
from batches.models import Batch, ReportingGap
from evqc.instruments import read_export
from tests.browser.conftest import PASSWORD, Watch, screenshot, sign_in, wait_for

pytestmark = pytest.mark.browser

NANOSIGHT = (
    Path(__file__).resolve().parents[1]
    / "fixtures/instruments/nanosight/minimal-3.4-ExperimentSummary.csv"
)


def test_a_person_signs_in_through_the_form_and_lands_on_the_dashboard(page: Page, lab_batches):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    expect(page.get_by_role("heading", name="Sign in to evqc")).to_be_visible()
    screenshot(page, "login")

    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill("not-her-password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_contain_text(
        "Please enter a correct username and password"
    )
    expect(page.get_by_role("heading", name="Dashboard")).to_have_count(0)
    screenshot(page, "login-refused")

    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(re.compile(r"^http://[^/]+/$"))  # the dashboard, at the root
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("ana")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_role("heading", name="Open reporting gaps by rule")).to_be_visible()
    screenshot(page, "dashboard")


def test_an_analyst_records_an_exception_and_sees_the_gap_excepted_after_the_check(
    page: Page, lab_batches
):
    batch = lab_batches["EV-A1"]
    rule = (
        ReportingGap.objects.filter(batch=batch, status="gap")
        .order_by("rule_id")
        .values_list("rule_id", flat=True)
        .first()
    )
    justification = "Measured at the CRO; report CRO-2026-114 is on file."
    sign_in(page, "ana")

    page.goto("/batches/EV-A1/")
    gap = page.locator("ul.gaps > li").filter(has=page.locator("strong").get_by_text(rule))
    expect(gap).to_contain_text("How to fix: ")
    expect(gap.locator(".badge").first).to_have_text("gap")
    screenshot(page, "batch-with-gap")

    gap.get_by_text(f"Record an exception to {rule}").click()  # the form is folded away
    gap.get_by_label(f"Why {rule} does not apply").fill(justification)
    gap.get_by_role("button", name=f"Record exception to {rule}").click()

    expect(page.get_by_role("status")).to_contain_text(f"Exception to {rule} recorded")
    # The worker may already have checked the batch again by the time the page loads.
    expect(gap).to_contain_text(
        re.compile(rf"(Exception recorded|Excepted): {re.escape(justification)}")
    )
    screenshot(page, "batch-exception-recorded")

    def checked_again() -> bool:
        excepted = ReportingGap.objects.filter(batch=batch, rule_id=rule, status="excepted")
        return excepted.exists() and not Batch.objects.get(pk=batch.pk).check_pending

    assert wait_for(checked_again), "the worker did not check the batch again"
    page.reload()

    expect(gap).to_contain_text(f"Excepted: {justification}")
    expect(gap.locator(".badge").first).to_have_text("excepted")
    expect(gap.get_by_role("button", name="Record exception")).to_have_count(0)
    screenshot(page, "batch-gap-excepted")


def test_an_analyst_uploads_a_nanosight_export_confirms_it_and_sees_its_size_plot(
    page: Page, lab_batches, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    bins = len(read_export(NANOSIGHT.read_bytes()).distributions[0].bin_centres)
    sign_in(page, "ana")
    page.goto("/batches/EV-A1/")
    page.get_by_role("link", name="Import an instrument file").click()

    page.get_by_label("Export file").set_input_files(NANOSIGHT)
    dilution = page.get_by_label("Dilution")
    dilution.fill("200 mL")
    expect(page.locator("#id_user_dilution-check")).to_contain_text("expected a dilution factor")
    screenshot(page, "import-wrong-dilution")
    dilution.fill("200")
    expect(page.locator("#id_user_dilution-check")).to_contain_text("read as 200")
    screenshot(page, "import-form")
    page.get_by_role("button", name="Read the file").click()

    # The preview: what the file holds, nothing stored yet.
    expect(page.get_by_role("heading", name="What the file holds")).to_be_visible()
    expect(page.get_by_text("parsed, awaiting confirmation")).to_be_visible()
    expect(page.get_by_role("table", name="Results to be recorded")).to_contain_text("particle/mL")
    expect(page.get_by_role("img", name=re.compile(rf"^{bins} bins of "))).to_be_visible()
    assert not AssayRun.objects.filter(batch=lab_batches["EV-A1"], raw_file_name=NANOSIGHT.name)
    screenshot(page, "import-preview")

    page.get_by_role("button", name="Confirm and store").click()

    # The page follows the import until the worker has stored it.
    expect(page.get_by_text("Succeeded")).to_be_visible(timeout=20_000)
    screenshot(page, "import-finished")
    page.get_by_role("link", name="Open the assay run it became").click()

    expect(page.get_by_role("heading", name="Size distribution (number-weighted)")).to_be_visible()
    plot = page.get_by_role("img", name=re.compile(rf"^{bins} bins of .* against size in nm$"))
    expect(plot).to_be_visible()
    box = plot.bounding_box()
    assert box is not None
    assert box["width"] > 400
    assert box["height"] > 150
    assert len(plot.locator("polyline").get_attribute("points").split()) == bins
    expect(page.get_by_role("link", name=NANOSIGHT.name)).to_be_visible()
    screenshot(page, "assay-run-size-plot")


def test_another_labs_batch_is_not_found_and_shows_none_of_its_data(
    page: Page, watch: Watch, lab_batches
):
    theirs = lab_batches["EV-B1"]
    their_run = AssayRun.objects.filter(batch=theirs).first()
    sign_in(page, "ana")
    watch.allow_console_error(r"status of 404")

    for url, name in [
        ("/batches/EV-B1/", "other-lab-batch"),
        (f"/assay-runs/{their_run.pk}/", "other-lab-assay-run"),
    ]:
        response = page.goto(url)

        assert response is not None
        assert response.status == 404
        expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
        expect(page.get_by_role("link", name="Back to the dashboard")).to_be_visible()
        text = page.locator("body").inner_text()
        for their_data in ("EV-B1", "EV-B2", "Lab B", "lab-b", "bea", "otto"):
            assert their_data not in text
        screenshot(page, name)

    page.goto("/batches/")
    expect(page.get_by_role("link", name="EV-A1", exact=True)).to_be_visible()
    expect(page.get_by_text("EV-B1")).to_have_count(0)
    screenshot(page, "batch-list")


def test_tab_from_the_top_reaches_the_skip_link_first_and_it_leads_into_the_content(
    page: Page, lab_batches
):
    sign_in(page, "ana")
    page.goto("/batches/EV-A1/")

    page.keyboard.press("Tab")

    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    screenshot(page, "skip-link-focused", full_page=False)

    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))
    expect(page.locator("main")).to_be_focused()  # past the menu, at the content
    page.keyboard.press("Tab")
    assert page.evaluate("document.querySelector('main').contains(document.activeElement)")
    screenshot(page, "skip-link-followed", full_page=False)


def test_the_api_docs_run_under_the_content_security_policy(page: Page, lab_batches):
    """Swagger UI is served by evqc and runs with its policy: a blocked script or style
    would be a console error, which fails the test."""
    sign_in(page, "ana")

    page.goto("/api/v1/docs/")

    expect(page.get_by_role("heading", name=re.compile("evqc API"))).to_be_visible()
    expect(page.get_by_text("/api/v1/batches/").first).to_be_visible()
    screenshot(page, "api-docs", full_page=False)
