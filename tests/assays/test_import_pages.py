"""The portal's import page: a person uploads an export file, sees what it parsed to,
and only then confirms (or discards) it; a file evqc cannot import is refused on the
form, beside the input at fault, and nothing is kept."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from assays.imports import (
    UNCONFIRMED_FOR_AT_MOST,
    import_job_run,
    import_jobs_discard_unconfirmed,
)
from assays.models import AssayRun, ImportJob
from evqc.instruments import read_export
from evqc.templatetags.quantities import number
from tests.api import conftest as api

site = api.site
batches = api.batches

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "instruments"
MINIMAL_NTA = FIXTURES / "nanosight" / "minimal-3.4-ExperimentSummary.csv"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def analyst(client, site):
    client.force_login(site.analyst)
    return client


def upload(client, lot: str, data: bytes, **fields: str):
    file = SimpleUploadedFile(MINIMAL_NTA.name, data, content_type="text/csv")
    return client.post(reverse("batch-import", args=[lot]), {"file": file, **fields})


def overall_concentration(data: bytes) -> float:
    return next(
        m.quantity.value
        for m in read_export(data).measurements
        if m.attribute == "particle_concentration" and m.video is None
    )


def test_an_upload_is_previewed_and_stored_only_once_confirmed(analyst, batches):
    data = MINIMAL_NTA.read_bytes()
    response = upload(analyst, "EV-A1", data, user_dilution="200")

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("import-job-page", args=[job.pk])
    assert job.status == ImportJob.Status.PARSED
    page = analyst.get(response["Location"]).content.decode()
    assert "Confirm and store" in page
    assert number(overall_concentration(data)) in page  # the file's value, before storing
    assert '<svg class="chart"' in page  # its size distribution
    assert "particle/mL</span>" in page
    assert '<th scope="row">Size D10</th>' in page  # attributes by their names
    # The file's own warnings (no dilution, no time zone) say how the import settled them.
    assert "the stated dilution of 200 gives the stock&#x27;s concentrations" in page
    zone = batches["EV-A1"].lab.time_zone
    assert f"local time was read in the lab&#x27;s time zone ({zone})" in page
    import_job_run(job.pk)  # a stray task must not store an unconfirmed upload
    assert not AssayRun.objects.filter(batch=batches["EV-A1"]).exclude(raw_file="").exists()

    decided = analyst.post(reverse("import-job-decide", args=[job.pk]), {"decision": "confirm"})

    job.refresh_from_db()
    assert decided["Location"] == reverse("import-job-page", args=[job.pk])
    assert job.status == ImportJob.Status.QUEUED
    stored = import_job_run(job.pk)  # what the worker does (the live test uses a real one)
    assert stored.status == ImportJob.Status.SUCCEEDED
    page = analyst.get(reverse("import-job-page", args=[job.pk])).content.decode()
    assert reverse("assay-run-page", args=[stored.assay_run_id]) in page


def test_a_file_evqc_cannot_import_is_refused_beside_its_input_and_nothing_is_kept(
    analyst, batches
):
    response = upload(analyst, "EV-A1", MINIMAL_NTA.read_bytes())  # no dilution given

    assert response.status_code == 200
    form = response.context["form"]
    assert "diluted sample" in form.errors["user_dilution"][0]
    assert not ImportJob.objects.exists()

    response = upload(analyst, "EV-A1", b"not an export file at all\n")
    assert "file" in response.context["form"].errors
    assert not ImportJob.objects.exists()


def test_a_dilution_of_the_wrong_kind_is_refused_naming_what_is_expected(analyst, batches):
    response = upload(analyst, "EV-A1", MINIMAL_NTA.read_bytes(), user_dilution="200 mL")

    message = response.context["form"].errors["user_dilution"][0]
    assert "dilution factor" in message
    assert not ImportJob.objects.exists()


def test_a_discarded_upload_is_never_stored_and_its_file_is_removed(analyst, batches):
    upload(analyst, "EV-A1", MINIMAL_NTA.read_bytes(), user_dilution="200")
    job = ImportJob.objects.get()
    path = Path(job.file.path)
    assert path.exists()

    analyst.post(reverse("import-job-decide", args=[job.pk]), {"decision": "discard"})

    job.refresh_from_db()
    assert job.status == ImportJob.Status.DISCARDED
    assert not path.exists()
    import_job_run(job.pk)
    job.refresh_from_db()
    assert job.assay_run is None
    again = analyst.post(reverse("import-job-decide", args=[job.pk]), {"decision": "confirm"})
    messages = [str(m) for m in again.wsgi_request._messages]
    assert any("not awaiting confirmation" in message for message in messages)


def test_progress_is_reported_as_json_for_the_page_to_follow(analyst, batches):
    upload(analyst, "EV-A1", MINIMAL_NTA.read_bytes(), user_dilution="200")
    job = ImportJob.objects.get()

    progress = analyst.get(reverse("import-job-progress", args=[job.pk])).json()

    assert progress["status"] == "parsed"
    assert progress["assay_run_url"] is None


def test_another_labs_imports_and_batches_are_not_found(client, site, batches):
    client.force_login(site.outsider)  # lab B
    response = upload(client, "EV-A1", MINIMAL_NTA.read_bytes(), user_dilution="200")
    assert response.status_code == 404

    client.force_login(site.analyst)
    upload(client, "EV-A1", MINIMAL_NTA.read_bytes(), user_dilution="200")
    job = ImportJob.objects.get()
    client.force_login(site.outsider)
    for name in ("import-job-page", "import-job-progress"):
        assert client.get(reverse(name, args=[job.pk])).status_code == 404
    decided = client.post(reverse("import-job-decide", args=[job.pk]), {"decision": "confirm"})
    assert decided.status_code == 404
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PARSED


def test_a_released_batch_offers_no_upload(analyst, batches):
    page = analyst.get(reverse("batch-import", args=["EV-A.2"])).content.decode()
    assert escape("is released; it takes no more data") in page
    assert 'type="file"' not in page


@pytest.mark.usefixtures("celery_worker")
def test_a_confirmed_upload_is_stored_by_the_worker(analyst, batches):
    upload(analyst, "EV-A1", MINIMAL_NTA.read_bytes(), user_dilution="200")
    job = ImportJob.objects.get()
    analyst.post(reverse("import-job-decide", args=[job.pk]), {"decision": "confirm"})

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        progress = analyst.get(reverse("import-job-progress", args=[job.pk])).json()
        if progress["status"] not in ("queued", "running"):
            break
        time.sleep(0.1)
    assert progress["status"] == "succeeded", progress["errors"]
    assert progress["assay_run_url"].startswith("/assay-runs/")


def test_an_upload_never_confirmed_is_discarded_after_a_week_with_its_file(
    analyst, batches, django_capture_on_commit_callbacks
):
    upload(analyst, "EV-A1", MINIMAL_NTA.read_bytes(), user_dilution="200")
    upload(analyst, "EV-A1", MINIMAL_NTA.read_bytes(), user_dilution="200")
    old, recent = ImportJob.objects.order_by("pk")
    ImportJob.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - UNCONFIRMED_FOR_AT_MOST - timedelta(minutes=1)
    )
    path = Path(old.file.path)

    with django_capture_on_commit_callbacks(execute=True):
        assert import_jobs_discard_unconfirmed() == 1

    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.status == ImportJob.Status.DISCARDED
    assert "nobody confirmed" in old.errors[0]["message"]
    assert not path.exists()
    assert recent.status == ImportJob.Status.PARSED
