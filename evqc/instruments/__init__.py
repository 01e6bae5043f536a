"""Readers of instrument export files: NanoSight and ZetaView NTA, Malvern Zetasizer,
BioTek Gen5 and Molecular Devices SoftMax Pro plate readers, FCS. Each reader turns a
file's bytes into an `Export`: measurements with units (through `evqc.units`),
size-distribution bins, instrument settings, software version, the instrument's own QC
flags and warnings. Formats are detected by content, never by file name
(../shared/design/instrument-formats.md §9). Plain Python: no Django.

A reader module defines `FORMAT` (its name), `detect(text, data) -> bool` (the start of
the file decoded, and its bytes) and `read(data: bytes) -> Export`, and is listed in
READERS below.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from evqc.exceptions import EVQCError
from evqc.units import QuantityValue
from evqc.vocabulary import AssayMethod, ResultBasis

__all__ = [
    "Distribution",
    "Export",
    "ExportError",
    "Measurement",
    "decode",
    "detect_format",
    "read_export",
]

# The reader modules, in the order formats are tried.
READERS = (
    "evqc.instruments.nanosight",
    "evqc.instruments.zetaview",
    "evqc.instruments.zetasizer",
    "evqc.instruments.gen5",
    "evqc.instruments.softmax",
    "evqc.instruments.fcs",
)
MAX_BYTES = 200 * 2**20

UNKNOWN_FORMAT = (
    "is not an export evqc can read: expected a NanoSight ExperimentSummary CSV, a "
    "ZetaView size distribution (…_size_488.txt), a Zetasizer text export, a BioTek Gen5 "
    "or SoftMax Pro text export or an FCS file"
)


class ExportError(EVQCError):
    """An export file that cannot be read: not the format it claims, truncated, or empty.
    `extra` names the line (1-based) or the section when known."""

    def __init__(self, message: str, code: str = "unreadable_export", **extra: Any) -> None:
        super().__init__(message, code, extra)


@dataclass(frozen=True)
class Measurement:
    """One reported value. `attribute` is an evqc result attribute (evqc.vocabulary
    ATTRIBUTES, e.g. "particle_concentration", "size_mode"); `video` is the capture it
    comes from (None: the file's value over all captures); `basis` says whether a
    concentration is the diluted sample's or already the stock's; `reported` is the
    file's own text for it."""

    attribute: str
    quantity: QuantityValue
    basis: ResultBasis | None = None
    video: int | None = None
    se: QuantityValue | None = None
    sd: QuantityValue | None = None
    n: int | None = None
    reported: str = ""


@dataclass(frozen=True)
class Distribution:
    """Binned sizes as the instrument exported them (units as in evqc's batch record:
    `bin_quantity` is concentration_density, concentration, percentage or count)."""

    bin_centres: tuple[float, ...]
    bin_values: tuple[float, ...]
    centre_unit: str
    value_unit: str
    bin_quantity: str
    weighting: str = "number"
    basis: ResultBasis | None = None
    video: int | None = None


@dataclass(frozen=True)
class Export:
    """What one export file says, read but not stored."""

    format: str  # "nanosight", "zetasizer", "gen5", "fcs"
    format_version: str  # e.g. "NTA 3.4 Build 3.4.003"
    method: AssayMethod
    software_version: str = ""
    instrument: str = ""  # model and serial number where the file gives them
    sample: str = ""
    performed_at: datetime | None = None
    measurements: tuple[Measurement, ...] = ()
    distributions: tuple[Distribution, ...] = ()
    # Settings under evqc's names where it has one (evqc.batch_record.SETTING_KINDS:
    # "temperature", "viscosity", "camera_level", ...), quantities through evqc.units.
    settings: dict[str, Any] = field(default_factory=dict)
    # The dilution the file records (None: not recorded). Whether the instrument already
    # applied it is each measurement's `basis`: "stock" (NanoSight multiplied by it) or
    # "measured" (ZetaView did not; the stock value still needs it). And a dilution only
    # suggested by free text such as "d200" in a sample name (never applied: a person
    # confirms it).
    instrument_dilution: float | None = None
    suggested_dilution: float | None = None
    qc_flags: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


class Reader(Protocol):
    FORMAT: str

    def detect(self, text: str, data: bytes) -> bool: ...

    def read(self, data: bytes) -> Export: ...


def decode(data: bytes) -> str:
    """Export bytes as text: UTF-8 (with or without BOM), else cp1252, else Latin-1; NUL
    bytes dropped and no-break spaces made spaces. Line endings are left to the reader
    (use str.splitlines(): LF, CRLF and bare CR all occur)."""
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text.replace("\x00", "").replace("\xa0", " ")
    raise ExportError("is not text in any encoding evqc knows")  # latin-1 never fails


def _readers() -> list[Reader]:
    readers = []
    for name in READERS:
        try:
            readers.append(importlib.import_module(name))
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
    return readers  # type: ignore[return-value]


def detect_format(data: bytes) -> Reader | None:
    """The reader whose format the file's content shows, if any."""
    text = decode(data[:65536]) if not data.startswith(b"FCS") else ""
    for reader in _readers():
        if reader.detect(text, data):
            return reader
    return None


def read_export(data: bytes, *, file_name: str = "") -> Export:
    """Read an export file of any known format; ExportError saying why otherwise.
    `file_name` (as uploaded) goes to the readers that check it (FCS: a $FIL naming
    another file means the file was re-saved)."""
    if not data or not decode(data[:4096]).strip():
        raise ExportError("is empty", "empty_export")
    if len(data) > MAX_BYTES:
        raise ExportError(f"is larger than {MAX_BYTES // 2**20} MB", "too_large")
    reader = detect_format(data)
    if reader is None:
        raise ExportError(UNKNOWN_FORMAT, "unknown_format")
    if "file_name" in inspect.signature(reader.read).parameters:
        return reader.read(data, file_name=file_name)  # type: ignore[call-arg]
    return reader.read(data)
