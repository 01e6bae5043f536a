"""The folder uploader against a real evqc: live server, real token, real Celery worker."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assays.models import AssayRun, ImportJob, Instrument
from batches.tokens import token_create
from evqc import uploader

ZETAVIEW = (
    Path(__file__).resolve().parents[1]
    / "fixtures"
    / "instruments"
    / "zetaview"
    / "HEK293-EV-P3-2000_size_488.txt"
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_an_exported_file_becomes_one_assay_run_of_its_lot(
    live_server, celery_worker, site, batches, tmp_path, monkeypatch
):
    Instrument.objects.create(lab=site.lab, name="ZetaView PMX-120")
    key = token_create(
        site.lab,
        name="zetaview",
        scope="results:write",
        acting_user=site.admin,
        instrument_name="ZetaView PMX-120",
    ).key
    folder = tmp_path / "exports"
    (folder / "EV-A1").mkdir(parents=True)
    shutil.copy(ZETAVIEW, folder / "EV-A1" / ZETAVIEW.name)
    monkeypatch.setenv("EVQC_TOKEN", key)
    command = [
        "watch", str(folder), "--url", live_server.url, "--instrument", "ZetaView PMX-120",
        "--once", "--wait", "--settle", "0.1", "--wait-timeout", "30",
    ]  # fmt: skip

    assert uploader.main(command) == 0
    assert uploader.main(command) == 0  # a second pass sends nothing again

    (job,) = ImportJob.objects.all()
    assert job.status == ImportJob.Status.SUCCEEDED, job.errors
    run = AssayRun.objects.get(import_job=job)
    assert (run.batch.lot_number, run.instrument.name, run.method) == (
        "EV-A1",
        "ZetaView PMX-120",
        "nta",
    )
    assert run.recorded_by.username == "token:zetaview"
