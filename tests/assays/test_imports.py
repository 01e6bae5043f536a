"""Export files into assay runs (assays.imports): refused at once with the field at fault
and nothing kept, or queued and stored whole, with the dilution model of
instrument-formats.md §8 (never applied twice, never guessed)."""

from __future__ import annotations

import gzip
import hashlib
import io
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db.models import F
from kombu.exceptions import OperationalError

from assays.imports import (
    ALREADY_APPLIED,
    CONTRADICTS,
    NEEDS_RECORD,
    QUEUED_FOR_AT_MOST,
    WRONG_INSTRUMENT,
    ImportOptions,
    ImportRefused,
    import_job_create,
    import_job_run,
    import_jobs_requeue,
)
from assays.models import AssayRun, ImportJob, Instrument, Result
from assays.tasks import import_job_task
from evqc.exceptions import AccessDenied, BatchError
from evqc.instruments import read_export
from evqc.instruments.archives import NESTED, SEVERAL, TOO_LARGE
from evqc.units import parse_quantity
from tests.batches import conftest as shared
from tests.batches.conftest import db_state

lab = shared.lab
other_lab = shared.other_lab
people = shared.people
product = shared.product
import_batch = shared.import_batch

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "instrument-samples"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "instruments"
MINIMAL_NTA = FIXTURES / "nanosight" / "minimal-3.4-ExperimentSummary.csv"
BEADS2 = SAMPLES / "nanosight" / "beads2.csv"
EMT1 = SAMPLES / "nanosight" / "EMT1 d200 pre1 2021-04-01 15-42-48-ExperimentSummary.csv"
ZETASIZER = SAMPLES / "zetasizer" / "chc_particleSize.txt"
ZETAVIEW = FIXTURES / "zetaview" / "HEK293-EV-P3-2000_size_488.txt"


def sample(path: Path) -> bytes:
    if not path.exists():
        pytest.skip(f"{path} is absent: shared/instrument-samples is not beside the project")
    return path.read_bytes()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def batch(import_batch):
    return import_batch("EV-0001", status="in_qc")


def dilution(value: float):
    return parse_quantity(value, "dilution_factor")


def stored(job: ImportJob) -> AssayRun:
    """Run the job as the Celery task does, and return its assay run."""
    finished = import_job_run(job.pk)
    assert finished.status == ImportJob.Status.SUCCEEDED, finished.errors
    return AssayRun.objects.get(import_job=finished)


def concentration(run: AssayRun) -> Result:
    return run.results.get(attribute="particle_concentration")


def refusal(excinfo: pytest.ExceptionInfo[ImportRefused]) -> tuple[str, str]:
    ((field, problems),) = excinfo.value.extra["fields"].items()
    return field, problems[0]["message"]


class TestDilution:
    def test_a_concentration_the_instrument_multiplied_is_the_stock_as_reported(
        self, batch, people
    ):
        data = sample(BEADS2)
        export = read_export(data)
        reported = next(
            m for m in export.measurements
            if m.attribute == "particle_concentration" and m.video is None
        )  # fmt: skip
        job = import_job_create(
            batch, data, "beads2.csv", ImportOptions(), acting_user=people.analyst
        )
        run = stored(job)
        result = concentration(run)
        assert result.basis == "stock"
        assert result.value.canonical_value == pytest.approx(reported.quantity.canonical_value)
        assert result.stock_canonical == pytest.approx(reported.quantity.canonical_value)
        assert run.dilution_factor.canonical_value == export.instrument_dilution
        assert run.settings["instrument_dilution"]["canonical_value"] == export.instrument_dilution
        assert "user_dilution" not in run.settings

    def test_a_stated_dilution_is_never_applied_on_top_of_the_instruments(self, batch, people):
        data = sample(BEADS2)
        instrument = read_export(data).instrument_dilution
        before = db_state()
        with pytest.raises(ImportRefused) as excinfo:
            import_job_create(
                batch, data, "beads2.csv", ImportOptions(user_dilution=dilution(100)),
                acting_user=people.analyst,
            )  # fmt: skip
        assert refusal(excinfo) == (
            "user_dilution",
            ALREADY_APPLIED.format(instrument=instrument, user=100.0),
        )
        assert db_state() == before

    def test_a_measured_concentration_becomes_the_stock_with_the_stated_dilution(
        self, batch, people
    ):
        data = MINIMAL_NTA.read_bytes()
        measured = next(
            m for m in read_export(data).measurements
            if m.attribute == "particle_concentration" and m.video is None
        )  # fmt: skip
        job = import_job_create(
            batch, data, MINIMAL_NTA.name, ImportOptions(user_dilution=dilution(200)),
            acting_user=people.analyst,
        )  # fmt: skip
        run = stored(job)
        result = concentration(run)
        assert result.basis == "measured"
        assert result.value.canonical_value == pytest.approx(measured.quantity.canonical_value)
        assert result.stock_canonical == pytest.approx(200 * measured.quantity.canonical_value)
        assert run.settings["user_dilution"]["canonical_value"] == 200
        assert "instrument_dilution" not in run.settings

    def test_a_measured_concentration_without_any_dilution_is_refused(self, batch, people):
        before = db_state()
        with pytest.raises(ImportRefused) as excinfo:
            import_job_create(
                batch, MINIMAL_NTA.read_bytes(), MINIMAL_NTA.name, ImportOptions(),
                acting_user=people.analyst,
            )  # fmt: skip
        field, message = refusal(excinfo)
        assert field == "user_dilution"
        assert "diluted sample" in message
        assert "suggests" not in message
        assert db_state() == before

    def test_a_dilution_in_the_sample_name_is_only_suggested(self, batch, people):
        data = sample(EMT1)
        assert read_export(data).suggested_dilution == 200
        with pytest.raises(ImportRefused) as excinfo:
            import_job_create(batch, data, EMT1.name, ImportOptions(), acting_user=people.analyst)
        field, message = refusal(excinfo)
        assert field == "user_dilution"
        assert "suggests 200" in message
        job = import_job_create(
            batch, data, EMT1.name, ImportOptions(user_dilution=dilution(200)),
            acting_user=people.analyst,
        )  # fmt: skip
        assert any("d200" in warning for warning in job.warnings)
        assert concentration(stored(job)).basis == "measured"

    def test_a_dilution_the_file_records_but_did_not_apply_makes_the_stock(self, batch, people):
        data = ZETAVIEW.read_bytes()
        export = read_export(data)
        measured = next(m for m in export.measurements if m.attribute == "particle_concentration")
        assert measured.basis == "measured"
        job = import_job_create(
            batch, data, ZETAVIEW.name, ImportOptions(), acting_user=people.analyst
        )
        run = stored(job)
        result = concentration(run)
        assert result.stock_canonical == pytest.approx(
            export.instrument_dilution * measured.quantity.canonical_value
        )
        assert run.dilution_factor.canonical_value == export.instrument_dilution

    def test_a_stated_dilution_contradicting_the_files_is_refused(self, batch, people):
        data = ZETAVIEW.read_bytes()
        recorded = read_export(data).instrument_dilution
        with pytest.raises(ImportRefused) as excinfo:
            import_job_create(
                batch, data, ZETAVIEW.name, ImportOptions(user_dilution=dilution(500)),
                acting_user=people.analyst,
            )  # fmt: skip
        assert refusal(excinfo) == (
            "user_dilution",
            CONTRADICTS.format(instrument=recorded, user=500.0),
        )
        job = import_job_create(
            batch, data, ZETAVIEW.name, ImportOptions(user_dilution=dilution(recorded)),
            acting_user=people.analyst,
        )  # fmt: skip
        assert stored(job).settings["user_dilution"]["canonical_value"] == recorded


class TestRecords:
    def test_a_file_of_several_records_needs_to_say_which(self, batch, people):
        data = sample(ZETASIZER)
        records = sorted({m.video for m in read_export(data).measurements if m.video})
        with pytest.raises(ImportRefused) as excinfo:
            import_job_create(
                batch, data, ZETASIZER.name, ImportOptions(), acting_user=people.analyst
            )
        assert refusal(excinfo) == (
            "record",
            NEEDS_RECORD.format(count=len(records), records=", ".join(map(str, records))),
        )

    def test_one_record_or_all_of_them(self, batch, people):
        data = sample(ZETASIZER)
        export = read_export(data)
        second = [m for m in export.measurements if m.video == 2]
        job = import_job_create(
            batch, data, ZETASIZER.name, ImportOptions(record=2), acting_user=people.analyst
        )
        run = stored(job)
        assert sorted(run.results.values_list("attribute", "value_canonical")) == sorted(
            (m.attribute, pytest.approx(m.quantity.canonical_value)) for m in second
        )
        job = import_job_create(
            batch, data, ZETASIZER.name, ImportOptions(record="all"), acting_user=people.analyst
        )
        every = [m for m in export.measurements if m.video is not None]
        assert stored(job).results.count() == len(every)


class TestFiles:
    def test_an_unknown_file_is_refused_and_nothing_is_kept(self, batch, people, settings):
        before = db_state()
        with pytest.raises(ImportRefused) as excinfo:
            import_job_create(
                batch, b"Name,Value\nfoo,1\n", "notes.csv", ImportOptions(),
                acting_user=people.analyst,
            )  # fmt: skip
        field, message = refusal(excinfo)
        assert field == "file"
        assert message.startswith("notes.csv is not an export evqc can read")
        assert db_state() == before
        assert not (Path(settings.MEDIA_ROOT) / "imports").exists()

    def test_a_truncated_file_is_refused(self, batch, people):
        data = MINIMAL_NTA.read_bytes()
        with pytest.raises(ImportRefused) as excinfo:
            import_job_create(
                batch, data[: len(data) // 3], MINIMAL_NTA.name,
                ImportOptions(user_dilution=dilution(10)), acting_user=people.analyst,
            )  # fmt: skip
        assert refusal(excinfo)[0] == "file"
        assert not ImportJob.objects.exists()

    def test_a_zipped_export_is_imported_as_the_file_inside(self, batch, people):
        data = MINIMAL_NTA.read_bytes()
        packed = io.BytesIO()
        with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("exports/run1-ExperimentSummary.csv", data)
        job = import_job_create(
            batch, packed.getvalue(), "run1.zip", ImportOptions(user_dilution=dilution(10)),
            acting_user=people.analyst,
        )  # fmt: skip
        assert (job.file_name, job.file_sha256, job.file_size) == (
            "run1-ExperimentSummary.csv",
            hashlib.sha256(data).hexdigest(),
            len(data),
        )
        run = stored(job)
        assert run.raw_file_sha256 == hashlib.sha256(data).hexdigest()
        assert run.raw_file.read() == data

    def test_an_archive_bomb_is_refused_with_413_after_reading_only_the_limit(
        self, batch, people, settings
    ):
        settings.EVQC_MAX_UPLOAD_MB = 1
        bomb = gzip.compress(b"\0" * (8 * 2**20))
        assert len(bomb) < 2**16
        with pytest.raises(ImportRefused) as excinfo:
            import_job_create(
                batch, bomb, "run.csv.gz", ImportOptions(), acting_user=people.analyst
            )
        assert excinfo.value.http_status == 413
        assert refusal(excinfo) == ("file", "run.csv.gz " + TOO_LARGE.format(limit=1))

    @pytest.mark.parametrize(
        ("members", "message"),
        [
            ({"a.csv": b"x", "b.csv": b"y"}, SEVERAL.format(count=2, names="a.csv, b.csv")),
            ({"inner.gz": gzip.compress(b"x")}, NESTED),
        ],
    )
    def test_archives_of_several_files_or_of_archives_are_refused(
        self, batch, people, members, message
    ):
        packed = io.BytesIO()
        with zipfile.ZipFile(packed, "w") as archive:
            for name, content in members.items():
                archive.writestr(name, content)
        with pytest.raises(ImportRefused) as excinfo:
            import_job_create(
                batch, packed.getvalue(), "x.zip", ImportOptions(), acting_user=people.analyst
            )
        assert refusal(excinfo) == ("file", f"x.zip {message}")


class TestJobs:
    def test_the_files_local_time_is_read_in_the_labs_time_zone(self, lab, batch, people):
        lab.time_zone = "Europe/Berlin"
        lab.save()
        data = MINIMAL_NTA.read_bytes()
        local = read_export(data).performed_at  # 2024-01-02 09:05:07, winter: UTC+1
        job = import_job_create(
            batch, data, MINIMAL_NTA.name, ImportOptions(user_dilution=dilution(10)),
            acting_user=people.analyst,
        )  # fmt: skip
        run = stored(job)
        assert run.performed_at == local.replace(hour=local.hour - 1, tzinfo=UTC)

    def test_a_date_given_with_the_file_wins_and_says_so(self, batch, people):
        given = datetime(2024, 1, 3, 12, 0, tzinfo=UTC)
        job = import_job_create(
            batch, MINIMAL_NTA.read_bytes(), MINIMAL_NTA.name,
            ImportOptions(user_dilution=dilution(10), performed_at=given),
            acting_user=people.analyst,
        )  # fmt: skip
        assert any(given.isoformat() in warning for warning in job.warnings)
        assert stored(job).performed_at == given

    def test_running_a_job_twice_stores_one_assay_run(self, batch, people):
        job = import_job_create(
            batch, MINIMAL_NTA.read_bytes(), MINIMAL_NTA.name,
            ImportOptions(user_dilution=dilution(10)), acting_user=people.analyst,
        )  # fmt: skip
        assert job.status == ImportJob.Status.QUEUED
        first = stored(job)
        again = import_job_run(job.pk)
        assert again.status == ImportJob.Status.SUCCEEDED
        assert AssayRun.objects.filter(batch=batch).count() == 1
        assert again.assay_run_id == first.pk
        assert again.progress == 100

    def test_a_job_whose_batch_was_locked_meanwhile_fails_and_says_why(
        self, batch, people, import_batch
    ):
        job = import_job_create(
            batch, MINIMAL_NTA.read_bytes(), MINIMAL_NTA.name,
            ImportOptions(user_dilution=dilution(10)), acting_user=people.analyst,
        )  # fmt: skip
        type(batch).objects.filter(pk=batch.pk).update(status="released")
        runs = AssayRun.objects.count()
        finished = import_job_run(job.pk)
        assert finished.status == ImportJob.Status.FAILED
        assert "released" in finished.errors[0]["message"]
        assert AssayRun.objects.count() == runs

    def test_a_viewer_cannot_import(self, batch, people):
        with pytest.raises(AccessDenied):
            import_job_create(
                batch, MINIMAL_NTA.read_bytes(), MINIMAL_NTA.name,
                ImportOptions(user_dilution=dilution(10)), acting_user=people.viewer,
            )  # fmt: skip

    def test_a_released_batch_takes_no_import(self, import_batch, people):
        released = import_batch("EV-0002", status="released")
        with pytest.raises(BatchError, match="locked"):
            import_job_create(
                released, MINIMAL_NTA.read_bytes(), MINIMAL_NTA.name,
                ImportOptions(user_dilution=dilution(10)), acting_user=people.admin,
            )  # fmt: skip

    def test_a_token_instrument_is_the_runs_instrument_and_no_other(self, lab, batch, people):
        ns300 = Instrument.objects.create(lab=lab, name="NS300")
        with pytest.raises(ImportRefused) as excinfo:
            import_job_create(
                batch, MINIMAL_NTA.read_bytes(), MINIMAL_NTA.name,
                ImportOptions(user_dilution=dilution(10), instrument="ZetaView"),
                acting_user=people.analyst, token_instrument=ns300,
            )  # fmt: skip
        assert excinfo.value.http_status == 403
        assert refusal(excinfo) == (
            "instrument",
            WRONG_INSTRUMENT.format(token="NS300", given="ZetaView"),
        )
        job = import_job_create(
            batch, MINIMAL_NTA.read_bytes(), MINIMAL_NTA.name,
            ImportOptions(user_dilution=dilution(10)), acting_user=people.analyst,
            token_instrument=ns300,
        )  # fmt: skip
        assert stored(job).instrument == ns300


@pytest.mark.django_db(transaction=True)
def test_an_upload_accepted_while_the_broker_was_down_is_stored_later(
    celery_worker, import_batch, people, monkeypatch
):
    batch = import_batch("EV-0003", status="in_qc")

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(import_job_task, "delay", broker_down)
    job = import_job_create(
        batch, MINIMAL_NTA.read_bytes(), MINIMAL_NTA.name,
        ImportOptions(user_dilution=dilution(10)), acting_user=people.analyst,
    )  # fmt: skip
    monkeypatch.undo()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.QUEUED
    assert import_jobs_requeue() == 0  # a job just queued may still be on its way

    ImportJob.objects.filter(pk=job.pk).update(
        created_at=F("created_at") - QUEUED_FOR_AT_MOST - timedelta(seconds=1)
    )
    assert import_jobs_requeue() == 1

    deadline = time.monotonic() + 30
    while job.status == ImportJob.Status.QUEUED and time.monotonic() < deadline:
        time.sleep(0.1)
        job.refresh_from_db()
    while job.status == ImportJob.Status.RUNNING and time.monotonic() < deadline:
        time.sleep(0.1)
        job.refresh_from_db()
    assert job.status == ImportJob.Status.SUCCEEDED, job.errors
    assert AssayRun.objects.filter(import_job=job).count() == 1
