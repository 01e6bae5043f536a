"""Malvern Zetasizer (DLS size, zeta potential): the tab-separated text "Export".

Seen: Zetasizer Software 7.11 and 8.02 ("Nano series" results), Latin-1, CRLF. One record
(measurement) per row under a header row that starts `Type` (or `Record<TAB>Type`); one
file can hold several tables, e.g. a summary table and then the same records in full, so
rows are merged by sample name and measurement time. The columns are whatever export
template the user chose: they are found by name (case and the degree sign ignored), never
by position; a column can appear twice (its values must agree, else a warning).

Per record (`video` = its place in the file, 1..N; `video_count` = N): Z-average, PdI and
zeta potential where present, and the size distributions by intensity, volume and number
(percent per bin). Peak sizes, count rates and conditions go to `settings`, as one value
when every record agrees and one per record (`<name>_<n>`) otherwise. Correlation data
and the cumulative "Undersize" arrays are not read. DLS gives no particle concentration,
so no dilution applies (instrument-formats.md §3, §8).
"""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from datetime import datetime
from typing import Any

from evqc.exceptions import UnitError
from evqc.instruments import Distribution, Export, ExportError, Measurement, decode
from evqc.units import parse_quantity
from evqc.vocabulary import AssayMethod

FORMAT = "zetasizer"

NOT_ZETASIZER = (
    'is not a Zetasizer export: expected a tab-separated header row starting "Type" '
    'with a "Sizes[1] (d.nm)", "Z-Ave (d.nm)" or "ZP (mV)" column'
)
NO_RECORDS = "is a Zetasizer export without records"
TRUNCATED = (
    "has a record on line {line} with {count} of its table's {width} columns: it is cut short"
)
SHORT_ROW = "line {line} has {count} of its table's {width} columns: the others are read as empty"
MISALIGNED = "has more values on line {line} than its table has columns"
DIFFERENT_VALUES = 'record {n}: the columns "{column}" disagree ({values}); the first is used'
RECORDS_DIFFER = "the records differ in {what}: {values}"
NOT_A_NUMBER = 'record {n}: "{value}" in "{column}" is not a number'
NOT_A_VALUE = 'record {n}: {value} in "{column}" {problem}'
BROAD = (
    "record {n}: PdI {value} is above 0.7: the sample is very broad and DLS sizes are unreliable"
)
UNUSABLE_DISTRIBUTION = "record {n}: the {weighting} distribution does not match the size bins"
DISTRIBUTION_SUM = "record {n}: the {weighting} distribution adds up to {total:g} %, not 100 %"
NO_SIZE_RESULT = "the export has no Z-average, PdI or zeta potential column"
STATUS = "record {n}: measurement status {status}"
NO_TIME_ZONE = (
    "Measurement Date and Time gives no time zone: performed_at is the instrument computer's "
    "local time; say which time zone before it is stored"
)
UNKNOWN_DATE = 'record {n}: measurement time "{value}" is in a format evqc does not know'

HEADER_MARKERS = ("sizes[1] (d.nm)", "z-ave (d.nm)", "z-average (d.nm)", "zp (mv)")
DATE = "measurement date and time"
RESULTS = (
    ("z_average", ("z-ave (d.nm)", "z-average (d.nm)"), "length", "nm"),
    ("polydispersity_index", ("pdi",), "number", ""),
    ("zeta_potential", ("zp (mv)", "zeta potential (mv)"), "electric_potential", "mV"),
)
DISTRIBUTIONS = (("intensities", "intensity"), ("volumes", "volume"), ("numbers", "number"))
# (setting, columns, how): an evqc quantity kind for evqc's known settings
# (evqc.batch_record.SETTING_KINDS), else "text", "number" or "unit <unit>" (text "10 s").
SETTINGS = (
    ("temperature", ("temperature (c)", "t (c)"), "temperature degC"),
    ("viscosity", ("viscosity (cp)", "dispersant viscosity (cp)"), "viscosity cP"),
    ("dispersant", ("dispersant name",), "text"),
    ("dispersant_ri", ("dispersant ri",), "number"),
    ("material", ("material name",), "text"),
    ("material_ri", ("material ri",), "number"),
    ("attenuator", ("attenuator",), "number"),
    ("size_runs", ("size runs",), "number"),
    ("run_duration", ("duration (s)",), "unit s"),
    ("conductivity", ("cond (ms/cm)", "conductivity (ms/cm)"), "unit mS/cm"),
    ("derived_count_rate", ("derived count rate (kcps)",), "unit kcps"),
    ("record_number", ("record", "record number"), "number"),
)
# The sample and its conditions: every record of one export should agree on them.
SHARED = frozenset({"temperature", "viscosity", "dispersant", "material", "material_ri"})
PEAK = re.compile(r"^(intensity|number|volume) peak (\d+) \(d\.nm\)$")
ARRAY = re.compile(r"^(.+?)\[(\d+)\]")
REPLICATE = re.compile(r"^(.*\S)\s+\d+$")
DATE_FORMATS = (
    "%A, %d %B %Y %H:%M:%S",
    "%d %B %Y %H:%M:%S",
    "%A, %B %d, %Y %I:%M:%S %p",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
)


class _Record:
    """One measurement: every column's values (a column can occur more than once, also
    across tables), read with warnings when they disagree."""

    def __init__(self, warnings: list[str]) -> None:
        self.values: defaultdict[str, list[str]] = defaultdict(list)
        self.tables: set[int] = set()
        self.warnings = warnings
        self.n = 0

    def text(self, *columns: str) -> str:
        for column in columns:
            values = list(dict.fromkeys(v for v in self.values.get(column, ()) if v))
            if len({value if _number(value) is None else _number(value) for value in values}) > 1:
                shown = ", ".join(values)
                self.warn(DIFFERENT_VALUES.format(n=self.n, column=column, values=shown))
            if values:
                return values[0]
        return ""

    def number(self, *columns: str) -> tuple[float | None, str]:
        raw = self.text(*columns)
        value = _number(raw)
        if raw and value is None:
            self.warn(NOT_A_NUMBER.format(n=self.n, value=raw, column=columns[0]))
        return value, raw

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)


def _key(header: str) -> str:
    """A column name to match on: lower case, ASCII only (°, µ and mangled bytes dropped)."""
    return " ".join(header.encode("ascii", "ignore").decode().lower().split())


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _starts_table(cells: list[str]) -> bool:
    first = [_key(cell) for cell in cells[:2]]
    return first[:1] == ["type"] or first == ["record", "type"]


def detect(text: str, data: bytes) -> bool:
    for line in text.splitlines():
        if line.strip():
            cells = line.split("\t")
            names = {_key(cell) for cell in cells}
            return _starts_table(cells) and any(marker in names for marker in HEADER_MARKERS)
    return False


def read(data: bytes) -> Export:
    """The records of a Zetasizer export; ExportError if it is not one or is cut short."""
    text = decode(data)
    if not detect(text, data):
        raise ExportError(NOT_ZETASIZER, "unknown_format")
    warnings: list[str] = []
    records = _records(text, warnings)
    measurements: list[Measurement] = []
    distributions: list[Distribution] = []
    flags: list[str] = []
    for record in records:
        measurements += _measurements(record)
        distributions += _distributions(record)
        status = record.text("measurement status")
        if status and status.lower() != "complete":
            flags.append(STATUS.format(n=record.n, status=status))
    if not any(column in r.values for r in records for result in RESULTS for column in result[1]):
        warnings.append(NO_SIZE_RESULT)
    settings: dict[str, Any] = {"video_count": parse_quantity((len(records), ""), "count")}
    for name, columns, how in SETTINGS:
        _spread(settings, name, [_setting(r, columns, how) for r in records], warnings)
    peaks = [_peaks(record) for record in records]
    for weighting in sorted({weighting for found in peaks for weighting in found}):
        texts = [found.get(weighting) for found in peaks]
        _spread(settings, f"{weighting}_peaks", texts, warnings)

    def column(name: str) -> list[str]:
        return [record.text(name) for record in records]

    times = [_time(record) for record in records]
    if any(times):
        warnings.append(NO_TIME_ZONE)
    version = _shared("software version", column("s/w version"), warnings)
    serial = _shared("serial number", column("serial number"), warnings)
    instrument = " ".join(filter(None, ("Zetasizer", _shared("", column("result origin"), []))))
    return Export(
        format=FORMAT,
        format_version=f"Zetasizer Software {version}" if version else "Zetasizer export",
        method=AssayMethod.DLS,
        software_version=version,
        instrument=f"{instrument}, serial {serial}" if serial else instrument,
        sample=_sample(column("sample name"), warnings),
        performed_at=min((time for time in times if time is not None), default=None),
        measurements=tuple(measurements),
        distributions=tuple(distributions),
        settings=settings,
        qc_flags=tuple(flags),
        warnings=tuple(warnings),
    )


def _records(text: str, warnings: list[str]) -> list[_Record]:
    """The rows of every table, merged across tables by sample name and time."""
    records: list[_Record] = []
    seen: defaultdict[tuple[str, str], list[_Record]] = defaultdict(list)
    header: list[str] = []
    table = 0
    lines = text.splitlines()
    last = max((n for n, line in enumerate(lines, 1) if line.strip()), default=0)
    for line, row in enumerate(csv.reader(lines, delimiter="\t"), 1):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if _starts_table(cells):
            header, table = [_key(cell) for cell in cells], table + 1
            continue
        if not header:
            raise ExportError(NOT_ZETASIZER, "unknown_format", line=line)
        width = max(i + 1 for i, name in enumerate(header) if name)
        if len(cells) < width:
            message = TRUNCATED.format(line=line, count=len(cells), width=width)
            if line == last and not text.endswith(("\n", "\r")):  # cut inside its last line
                raise ExportError(message, "truncated_export", line=line)
            warnings.append(SHORT_ROW.format(line=line, count=len(cells), width=width))
        if any(cells[len(header) :]):
            raise ExportError(MISALIGNED.format(line=line), "unreadable_export", line=line)
        values = [(name, value) for name, value in zip(header, cells, strict=False) if name]
        key = (dict(values).get("sample name", ""), dict(values).get(DATE, ""))
        matches = [r for r in seen[key] if table not in r.tables] if any(key) else []
        record = matches[0] if matches else _Record(warnings)
        if not matches:
            records.append(record)
            seen[key].append(record)
            record.n = len(records)
        record.tables.add(table)
        for name, value in values:
            record.values[name].append(value)
    if not records:
        raise ExportError(NO_RECORDS, "empty_export")
    return records


def _measurements(record: _Record) -> list[Measurement]:
    found = []
    for attribute, columns, kind, unit in RESULTS:
        value, raw = record.number(*columns)
        if value is None:
            continue
        problem = ""
        if attribute == "z_average" and value <= 0:
            problem = "is not a size"
        elif attribute == "polydispersity_index" and not 0 <= value <= 1:
            problem = "is outside 0 to 1"
        else:
            try:
                quantity = parse_quantity((value, unit), kind)._replace(reported=raw)
            except UnitError as error:
                problem = error.message
        if problem:
            record.warn(
                NOT_A_VALUE.format(n=record.n, column=columns[0], value=raw, problem=problem)
            )
            continue
        if attribute == "polydispersity_index" and value > 0.7:
            record.warn(BROAD.format(n=record.n, value=raw))
        found.append(Measurement(attribute, quantity, video=record.n, reported=raw))
    return found


def _distributions(record: _Record) -> list[Distribution]:
    arrays: defaultdict[str, dict[int, float | None]] = defaultdict(dict)
    for column, values in record.values.items():
        match = ARRAY.match(column)
        if match:
            arrays[match[1]][int(match[2])] = _number(values[0])
    sizes = arrays.get("sizes", {})
    found = []
    for name, weighting in DISTRIBUTIONS:
        percents = arrays.get(name)
        if not percents or not sizes:
            continue
        if percents.keys() != sizes.keys() or None in (*percents.values(), *sizes.values()):
            record.warn(UNUSABLE_DISTRIBUTION.format(n=record.n, weighting=weighting))
            continue
        bins = [float(percents[i] or 0) for i in sorted(sizes)]
        if abs(sum(bins) - 100) > 2:  # each bin is rounded to 0.1 %
            total = sum(bins)
            record.warn(DISTRIBUTION_SUM.format(n=record.n, weighting=weighting, total=total))
        centres = tuple(float(sizes[i] or 0) for i in sorted(sizes))
        found.append(
            Distribution(centres, tuple(bins), "nm", "%", "percentage", weighting, video=record.n)
        )
    return found


def _setting(record: _Record, columns: tuple[str, ...], how: str) -> Any:
    if how == "text":
        return record.text(*columns) or None
    value, raw = record.number(*columns)
    kind, _, unit = how.partition(" ")
    if value is None or kind == "number":
        return None if value is None else int(value) if raw.isdigit() else value
    if kind == "unit":
        return f"{raw} {unit}"
    try:
        return parse_quantity((value, unit), kind, field=columns[0])._replace(reported=raw)
    except UnitError as error:
        record.warn(f"record {record.n}: {error.message}")
        return None


def _peaks(record: _Record) -> dict[str, str]:
    """Per weighting, the record's peaks as text ("116.1 nm (width 32.94 nm)")."""
    found: defaultdict[str, list[str]] = defaultdict(list)
    matches = [match for match in map(PEAK.match, list(record.values)) if match]
    for match in sorted(matches, key=lambda match: (match[1], int(match[2]))):
        size, raw = record.number(match[0])
        if size:  # an unused peak reads 0.000
            width = record.text(f"{match[1]} width peak {match[2]} (d.nm)")
            found[match[1]].append(f"{raw} nm (width {width} nm)" if width else f"{raw} nm")
    return {weighting: "; ".join(texts) for weighting, texts in found.items()}


def _spread(settings: dict[str, Any], name: str, values: list[Any], warnings: list[str]) -> None:
    """One setting when every record has the same value, else one per record (as text)."""
    shown = list(dict.fromkeys(str(value) for value in values if value is not None))
    if len(shown) == 1 and None not in values:
        settings[name] = values[0]
        return
    if name in SHARED and len(shown) > 1:
        warnings.append(RECORDS_DIFFER.format(what=name, values=", ".join(shown)))
    for n, value in enumerate(values, 1):
        if value is not None:
            settings[f"{name}_{n}"] = value if isinstance(value, str | int | float) else str(value)


def _shared(what: str, values: list[str], warnings: list[str]) -> str:
    distinct = list(dict.fromkeys(value for value in values if value))
    if len(distinct) > 1:
        warnings.append(RECORDS_DIFFER.format(what=what, values=", ".join(distinct)))
    return distinct[0] if distinct else ""


def _sample(names: list[str], warnings: list[str]) -> str:
    """The sample's name without the replicate number the software appends (" 1" ... " N")."""
    bases = [match[1] for match in map(REPLICATE.match, names) if match]
    return _shared("sample name", bases if 1 < len(bases) == len(names) else names, warnings)


def _time(record: _Record) -> datetime | None:
    """When the record was measured, in the instrument computer's local time (naive: the
    file has no time zone)."""
    text = record.text(DATE)
    for date_format in DATE_FORMATS:
        try:
            return datetime.strptime(text, date_format)  # noqa: DTZ007
        except ValueError:
            continue
    if text:
        record.warn(UNKNOWN_DATE.format(n=record.n, value=text))
    return None
