"""Instrument export files into assay runs: an upload is checked and parsed when it
arrives (so a bad file is refused at once, saying why), then stored by a Celery task
that reports its progress on the ImportJob.

Dilution follows ../shared/design/instrument-formats.md §8: a concentration the
instrument already multiplied by its recorded dilution is the stock's; one of the
diluted sample needs a dilution, the file's own or one a person states (`user_dilution`),
never one guessed from a sample name ("d200" is only suggested, as a warning). A
dilution is never applied twice: a stated dilution that contradicts the file's is
refused. The file's concentration, both dilutions and the stock value are all kept.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from assays.models import AssayRun, ImportJob, Instrument
from assays.services import assay_run_record
from batches.access import User, batch_for_change
from batches.models import Batch
from evqc import batch_record as record
from evqc.exceptions import BatchError, BatchErrorCode, Conflict, EVQCError
from evqc.instruments import Distribution, Export, ExportError, Measurement, read_export
from evqc.instruments.archives import ArchiveTooLarge, unpack
from evqc.units import QuantityValue
from evqc.vocabulary import ResultBasis

logger = logging.getLogger(__name__)

Record = int | Literal["all"] | None

ALREADY_APPLIED = (
    "the file's concentrations are already multiplied by its dilution factor "
    "({instrument:g}); a stated dilution of {user:g} would apply a dilution twice: leave "
    "user_dilution empty"
)
CONTRADICTS = (
    "the file records a dilution of {instrument:g}; the stated {user:g} contradicts it: "
    "correct one of them"
)
NEEDS_DILUTION = (
    "the file's concentrations are of the diluted sample as measured and it records no "
    "dilution: give user_dilution{hint}"
)
SUGGESTED = " (the file's text suggests {suggested:g}; confirm it)"
UNUSED_DILUTION = (
    "user_dilution {user:g} was recorded but not applied: this file holds no concentration "
    "of a diluted sample"
)
STATED_DILUTION = "the stated dilution of {user:g} gives the stock's concentrations"
NO_DATE = "the file records no date and time: give performed_at"
READ_IN_LAB_ZONE = "the file's local time was read in the lab's time zone ({zone})"
DATE_REPLACED = "performed_at {given} was used instead of the file's {found}"
NEEDS_RECORD = (
    "the file holds {count} records and no overall value ({records}): say which one belongs "
    'to this batch (a number), or "all" to keep each as its own result'
)
NO_SUCH_RECORD = "the file has no record {record}; it has {records}"
NO_VALUES = "the file holds no values evqc can record"
WRONG_INSTRUMENT = 'This token posts results for instrument "{token}" only, not "{given}".'
SETTINGS_DROPPED = (
    "{count} instrument settings beyond the first {limit} were kept only in the import's summary"
)
NEVER_CONFIRMED = "discarded: nobody confirmed this upload within {days} days"
NOT_AWAITING = "Cannot {what} the import of {file}: it is {status}, not awaiting confirmation."
BAD_TIME_ZONE = 'Lab {lab} has time zone "{zone}", which is not an IANA time zone name.'


class ImportRefused(BatchError):
    """An upload evqc will not import; `extra["fields"]` names the form field at fault."""

    def __init__(self, field: str, message: str, code: str, http_status: int = 400) -> None:
        super().__init__(
            f"{field}: {message}",
            BatchErrorCode.INVALID,
            {"fields": {field: [{"message": message, "code": code}]}},
        )
        self.http_status = http_status


@dataclass(frozen=True)
class ImportOptions:
    """What the sender states beside the file."""

    user_dilution: QuantityValue | None = None
    performed_at: datetime | None = None
    record: Record = None
    instrument: str = ""


# Export -> assay run
# ------------------------------------------------------------------------------


def export_assay(
    export: Export, raw_file: record.RawFile, options: ImportOptions, *, time_zone: ZoneInfo
) -> tuple[record.Assay, list[str]]:
    """The assay run an export file describes, checked like any assay run, and the
    warnings a person should read."""
    warnings = list(export.warnings)
    measurements, distributions, notes = _chosen(export, options.record)
    dilution = _dilution(export, options.user_dilution, measurements, distributions, warnings)
    settings_, dropped = _settings(export, options.user_dilution)
    if dropped:
        warnings.append(SETTINGS_DROPPED.format(count=dropped, limit=record.MAX_SETTINGS))
    document = {
        "method": export.method.value,
        "instrument": (options.instrument or export.instrument)[:200],
        "performed_at": _performed_at(export, options.performed_at, time_zone, warnings),
        "dilution_factor": dilution,
        "software_version": export.software_version[:200],
        "settings": settings_,
        "raw_file": raw_file.model_dump(),
        "notes": "\n".join([*notes, *export.qc_flags])[:4000],
        "results": [_result(m, options.record) for m in measurements],
        "size_distributions": [_distribution(d) for d in distributions],
    }
    return record.parse_part(record.Assay, document), warnings


def _chosen(
    export: Export, wanted: Record
) -> tuple[list[Measurement], list[Distribution], list[str]]:
    """The measurements (and distributions) of the file that belong to the batch: its
    overall values, or the record a person named, or each record when asked for all."""
    overall = [m for m in export.measurements if m.video is None]
    records = sorted({m.video for m in export.measurements if m.video is not None})
    described = ", ".join(str(number) for number in records)
    if wanted is None:
        if overall or not records:
            chosen = overall
        elif len(records) == 1:
            chosen = list(export.measurements)
        else:
            raise ImportRefused(
                "record", NEEDS_RECORD.format(count=len(records), records=described), "ambiguous"
            )
    elif wanted == "all":
        chosen = [m for m in export.measurements if m.video is not None] or overall
    elif wanted in records:
        chosen = [m for m in export.measurements if m.video == wanted]
    else:
        raise ImportRefused(
            "record",
            NO_SUCH_RECORD.format(record=wanted, records=described or "none"),
            "no_such_record",
        )
    videos = {m.video for m in chosen}
    distributions = [d for d in export.distributions if d.video in videos or d.video is None]
    if not chosen and not distributions:
        raise ImportRefused("file", NO_VALUES, "no_values")
    notes = [f"Imported from record {wanted} of the file."] if isinstance(wanted, int) else []
    return chosen, distributions, notes


def _dilution(
    export: Export,
    user: QuantityValue | None,
    measurements: list[Measurement],
    distributions: list[Distribution],
    warnings: list[str],
) -> float | None:
    """The dilution of the sample as measured, by §8's table."""
    measured = any(item.basis == ResultBasis.MEASURED for item in [*measurements, *distributions])
    instrument = export.instrument_dilution
    given = None if user is None else user.canonical_value
    if measured:
        if given is not None and instrument is not None and not _same(given, instrument):
            raise ImportRefused(
                "user_dilution",
                CONTRADICTS.format(instrument=instrument, user=given),
                "contradicts",
            )
        if given is None and instrument is None:
            hint = (
                ""
                if export.suggested_dilution is None
                else SUGGESTED.format(suggested=export.suggested_dilution)
            )
            raise ImportRefused("user_dilution", NEEDS_DILUTION.format(hint=hint), "required")
        if given is not None and instrument is None:
            warnings.append(STATED_DILUTION.format(user=given))
        return given if given is not None else instrument
    if given is not None:
        if instrument is not None and not _same(given, instrument):
            raise ImportRefused(
                "user_dilution",
                ALREADY_APPLIED.format(instrument=instrument, user=given),
                "applied_twice",
            )
        if instrument is None:
            warnings.append(UNUSED_DILUTION.format(user=given))
    return instrument


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6)


def _performed_at(
    export: Export, given: datetime | None, time_zone: ZoneInfo, warnings: list[str]
) -> str:
    """When the assay ran, as an aware time: the file's clock is the lab's local time."""
    found = export.performed_at
    if found is not None and found.tzinfo is None:
        found = found.replace(tzinfo=time_zone)
        if given is None:
            warnings.append(READ_IN_LAB_ZONE.format(zone=time_zone.key))
    if given is not None:
        if found is not None and given != found:
            warnings.append(DATE_REPLACED.format(given=given.isoformat(), found=found.isoformat()))
        return given.isoformat()
    if found is None:
        raise ImportRefused("performed_at", NO_DATE, "required")
    return found.isoformat()


def _settings(export: Export, user: QuantityValue | None) -> tuple[dict[str, Any], int]:
    """The file's settings as an assay run keeps them (quantities evqc has a kind for,
    the rest as text), both dilutions beside them; at most MAX_SETTINGS."""
    settings_: dict[str, Any] = {}
    for name, value in export.settings.items():
        if isinstance(value, QuantityValue):
            value = record.quantity_json(value) if name in record.SETTING_KINDS else str(value)
        if isinstance(value, str):
            value = value[:200]
        settings_[name] = value
    for name, value in (
        ("instrument_dilution", export.instrument_dilution),
        ("user_dilution", user),
    ):
        if value is not None:
            settings_[name] = (
                value if not isinstance(value, QuantityValue) else value.canonical_value
            )
    names = list(settings_)
    keep = names[: record.MAX_SETTINGS]
    return {name: settings_[name] for name in keep}, len(names) - len(keep)


def _result(measurement: Measurement, wanted: Record) -> dict[str, Any]:
    quantity = measurement.quantity
    result: dict[str, Any] = {
        "attribute": measurement.attribute,
        "value": quantity.value,
        "unit": quantity.unit,
        "reported_text": (measurement.reported or quantity.reported)[:200] or None,
    }
    if measurement.basis is not None:
        result["basis"] = measurement.basis.value
    for name in ("sd", "se"):
        spread: QuantityValue | None = getattr(measurement, name)
        if spread is not None:
            result[name] = f"{spread.value!r} {spread.unit}"
    if measurement.n is not None:
        result["n"] = measurement.n
    if wanted == "all" and measurement.video is not None:
        result["notes"] = f"Record {measurement.video} of the file."
    return result


def _distribution(distribution: Distribution) -> dict[str, Any]:
    return {
        "weighting": distribution.weighting,
        "basis": None if distribution.basis is None else distribution.basis.value,
        "bin_quantity": distribution.bin_quantity,
        "centre_unit": distribution.centre_unit,
        "value_unit": distribution.value_unit,
        "bin_centres": list(distribution.bin_centres),
        "bin_values": list(distribution.bin_values),
    }


def export_json(value: Any) -> Any:
    """An export (or any part of one) as JSON: what the file parsed to, for people."""
    if isinstance(value, QuantityValue):
        return record.quantity_json(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: export_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {key: export_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [export_json(item) for item in value]
    return value


def export_summary(export: Export) -> dict[str, Any]:
    """What an import job shows of its file: everything but the bins (counted instead)."""
    summary = export_json(dataclasses.replace(export, distributions=()))
    summary["distributions"] = [
        {"weighting": d.weighting, "bins": len(d.bin_centres), "video": d.video}
        for d in export.distributions
    ]
    return summary


# Assay runs posted as JSON
# ------------------------------------------------------------------------------


def assay_run_submit(
    batch: Batch,
    document: object,
    *,
    acting_user: User,
    token_instrument: Instrument | None = None,
) -> AssayRun:
    """Record one assay run sent as JSON (the batch record's assay shape), whole or not
    at all; a token bound to an instrument records for that instrument only."""
    assay = record.parse_part(record.Assay, document)
    instrument = instrument_for(assay.instrument, token_instrument)
    assay = assay.model_copy(update={"instrument": instrument})
    return assay_run_record(batch, assay, acting_user=acting_user)


def instrument_for(given: str, token_instrument: Instrument | None) -> str:
    """The instrument a run is recorded for: a token bound to one records for that one
    only (naming another is refused with 403); anyone else for the one they name."""
    if token_instrument is None:
        return given
    if given and given != token_instrument.name:
        raise ImportRefused(
            "instrument",
            WRONG_INSTRUMENT.format(token=token_instrument.name, given=given),
            "wrong_instrument",
            403,
        )
    return token_instrument.name


# Import jobs
# ------------------------------------------------------------------------------


def max_upload_bytes() -> int:
    return int(settings.EVQC_MAX_UPLOAD_MB * 2**20)


def read_upload(data: bytes, name: str) -> tuple[bytes, str, Export]:
    """The export file in an upload (unpacked when it is a zip or gzip) and what it
    says; ImportRefused saying why when it cannot be read."""
    try:
        data, name = unpack(data, name, limit=max_upload_bytes())
        return data, name, read_export(data, file_name=name)
    except ArchiveTooLarge as error:
        raise ImportRefused("file", f"{name} {error.message}", error.code, 413) from None
    except ExportError as error:
        raise ImportRefused("file", f"{name} {error.message}", error.code) from None


def lab_time_zone(batch: Batch) -> ZoneInfo:
    try:
        return ZoneInfo(batch.lab.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        message = BAD_TIME_ZONE.format(lab=batch.lab.code, zone=batch.lab.time_zone)
        raise BatchError(message, BatchErrorCode.INVALID) from None


def import_job_create(
    batch: Batch,
    data: bytes,
    file_name: str,
    options: ImportOptions,
    *,
    acting_user: User,
    token_instrument: Instrument | None = None,
    confirmed: bool = True,
) -> ImportJob:
    """Accept an export file for a batch: refused at once (nothing kept) if it cannot be
    read or imported as sent; otherwise kept and queued for storing, or, when not yet
    `confirmed` (a person in the portal who will see the preview first), kept parsed."""
    instrument = instrument_for(options.instrument, token_instrument)
    options = dataclasses.replace(options, instrument=instrument)
    with transaction.atomic():
        locked = batch_for_change(
            batch, acting_user=acting_user, what="import export files", amends=False
        )
        data, file_name, export = read_upload(data, file_name)
        raw_file = record.RawFile(
            name=file_name[:200], sha256=hashlib.sha256(data).hexdigest(), size=len(data)
        )
        _assay, warnings = export_assay(export, raw_file, options, time_zone=lab_time_zone(locked))
        job = ImportJob(
            lab=locked.lab,
            batch=locked,
            file_name=raw_file.name,
            file_sha256=raw_file.sha256,
            file_size=raw_file.size,
            format=export.format,
            instrument=token_instrument,
            user_dilution=options.user_dilution,
            performed_at=options.performed_at,
            summary={**export_summary(export), "record": options.record,
                     "instrument_name": options.instrument},
            warnings=warnings,
            created_by=acting_user,
            status=ImportJob.Status.QUEUED if confirmed else ImportJob.Status.PARSED,
        )  # fmt: skip
        job.file.save(raw_file.name, ContentFile(data), save=False)
        job.save()
        if confirmed:
            transaction.on_commit(lambda: _queue(job.pk))
    return job


def import_job_confirm(job: ImportJob, *, acting_user: User) -> ImportJob:
    """Queue a parsed upload for storing, once its sender has seen what it parsed to."""
    return _decide(job, ImportJob.Status.QUEUED, acting_user=acting_user, what="confirm")


def import_job_discard(job: ImportJob, *, acting_user: User) -> ImportJob:
    """Drop a parsed upload the person does not want stored; the file goes with it."""
    job = _decide(job, ImportJob.Status.DISCARDED, acting_user=acting_user, what="discard")
    job.file.delete(save=False)
    return job


def _decide(job: ImportJob, status: str, *, acting_user: User, what: str) -> ImportJob:
    with transaction.atomic():
        batch_for_change(
            job.batch, acting_user=acting_user, what="import export files", amends=False
        )
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status != ImportJob.Status.PARSED:
            raise Conflict(
                NOT_AWAITING.format(what=what, file=locked.file_name,
                                    status=locked.get_status_display()),
                BatchErrorCode.CONFLICT,
            )  # fmt: skip
        locked.status = status
        if status == ImportJob.Status.DISCARDED:
            locked.finished_at = timezone.now()
        locked.save(update_fields=["status", "finished_at"])
        if status == ImportJob.Status.QUEUED:
            transaction.on_commit(lambda: _queue(locked.pk))
    return locked


# An upload nobody confirmed within this long is discarded, its file with it.
UNCONFIRMED_FOR_AT_MOST = timedelta(days=7)


def import_jobs_discard_unconfirmed() -> int:
    """Discard the portal uploads left parsed and never confirmed, so forgotten files
    do not pile up; the job rows stay, saying they were discarded."""
    cutoff = timezone.now() - UNCONFIRMED_FOR_AT_MOST
    left = ImportJob.objects.filter(status=ImportJob.Status.PARSED, created_at__lt=cutoff)
    discarded = 0
    for job in left.iterator():
        with transaction.atomic():
            locked = ImportJob.objects.select_for_update().get(pk=job.pk)
            if locked.status != ImportJob.Status.PARSED:
                continue
            locked.status = ImportJob.Status.DISCARDED
            locked.finished_at = timezone.now()
            locked.errors = [{"message": NEVER_CONFIRMED.format(days=UNCONFIRMED_FOR_AT_MOST.days),
                              "code": "never_confirmed"}]  # fmt: skip
            locked.save(update_fields=["status", "finished_at", "errors"])
            transaction.on_commit(lambda name=locked.file.name: _delete_file(name))
        discarded += 1
    return discarded


def _delete_file(name: str) -> None:
    from django.core.files.storage import default_storage

    default_storage.delete(name)


def import_job_assay(job: ImportJob) -> tuple[record.Assay, list[str]]:
    """The assay run a job's file becomes, read again from the stored file, with the
    warnings: what the portal's preview shows and what the task stores."""
    with job.file.open("rb") as stream:
        export = read_export(stream.read(), file_name=job.file_name)
    options = ImportOptions(
        user_dilution=job.user_dilution,
        performed_at=job.performed_at,
        record=job.summary.get("record"),
        instrument=job.summary.get("instrument_name", ""),
    )
    raw_file = record.RawFile(name=job.file_name, sha256=job.file_sha256, size=job.file_size)
    return export_assay(export, raw_file, options, time_zone=lab_time_zone(job.batch))


# A queued job older than this never reached a worker; a running one older than
# RUNNING_FOR_AT_MOST lost its worker. Storing a file takes seconds.
QUEUED_FOR_AT_MOST = timedelta(minutes=5)
RUNNING_FOR_AT_MOST = timedelta(minutes=30)


def import_jobs_requeue() -> int:
    """Send again the jobs left behind, so an upload accepted while the broker was down,
    or whose worker died, is still stored (running a job twice stores it once)."""
    now = timezone.now()
    left = ImportJob.objects.filter(
        Q(status=ImportJob.Status.QUEUED, created_at__lt=now - QUEUED_FOR_AT_MOST)
        | Q(status=ImportJob.Status.RUNNING, started_at__lt=now - RUNNING_FOR_AT_MOST)
    ).values_list("pk", flat=True)
    jobs = list(left)
    for job_id in jobs:
        _queue(job_id)
    return len(jobs)


def _queue(job_id: int) -> None:
    from assays.tasks import import_job_task

    try:
        import_job_task.delay(job_id)
    except Exception:  # the broker is down: the job stays queued for import_jobs_requeue
        logger.exception("could not queue import job %s", job_id)


def import_job_run(job_id: int) -> ImportJob | None:
    """Store a job's file as an assay run of its batch. Safe to run twice, even at once:
    the job row is locked while its run is stored, and a finished job is left alone."""
    job = ImportJob.objects.select_related("batch__lab", "created_by").filter(pk=job_id).first()
    if job is None or job.status not in RUNNABLE:
        return job
    ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, started_at=timezone.now(), progress=10
    )
    try:
        assay = _assay_of(job)
        with transaction.atomic():
            locked = ImportJob.objects.select_for_update().get(pk=job_id)
            if locked.status not in RUNNABLE:
                return locked
            run = assay_run_record(job.batch, assay, acting_user=job.created_by)
            AssayRun.objects.filter(pk=run.pk).update(raw_file=job.file.name)
            _finish(locked, ImportJob.Status.SUCCEEDED, assay_run=run)
            return locked
    except EVQCError as error:
        return _fail(job_id, _error_json(error))
    except Exception as error:
        logger.exception("import job %s failed", job_id)
        _fail(job_id, {"message": f"evqc failed to store the file: {error}", "code": "internal"})
        raise


# Only a queued job (or one whose worker died while running it) is stored; one that is
# finished, discarded or still awaiting its sender's confirmation is left alone.
RUNNABLE = frozenset({ImportJob.Status.QUEUED, ImportJob.Status.RUNNING})


def _assay_of(job: ImportJob) -> record.Assay:
    """The job's file read again, as the assay run it becomes (progress 10 -> 60)."""
    assay, _warnings = import_job_assay(job)
    _progress(job, 60)
    return assay


def _fail(job_id: int, error: dict[str, Any]) -> ImportJob:
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job_id)
        if locked.status in RUNNABLE:
            _finish(locked, ImportJob.Status.FAILED, errors=[error])
    return locked


def _progress(job: ImportJob, percent: int) -> None:
    ImportJob.objects.filter(pk=job.pk).update(progress=percent)


def _finish(job: ImportJob, status: str, *, errors: list[dict[str, Any]] | None = None,
            assay_run: AssayRun | None = None) -> None:  # fmt: skip
    job.status = status
    job.progress = 100
    job.errors = errors or []
    job.assay_run = assay_run
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "progress", "errors", "assay_run", "finished_at"])


def _error_json(error: EVQCError) -> dict[str, Any]:
    return {"message": error.message, "code": str(error.code), **error.extra}
