"""Reader of Particle Metrix ZetaView size-distribution exports (`…_size_488.txt`).

The file is Latin-1 text: a tab-separated `Key:<TAB>value` header (several pairs can share
a line, `Dilution::` has two colons, `Conductivity: 1482` a space instead of the tab, some
keys have no value), then a `Size Distribution` table of 5-nm linear bins, a `-1.000E+0`
separator row and the same particles re-binned on a logarithmic scale
(../shared/design/instrument-formats.md §2). Traps this reader handles:

- Numbers have 4 significant digits, bin centres too (5997.5 nm prints as `5.998E+3`), so
  the centres are rebuilt from the row index (2.5, 7.5, … nm) and each printed centre only
  has to round to its grid value. Only the linear section is read: the logarithmic one
  counts the same particles again.
- Σ `Number` is the header's `Number of Traces` (a self-check: a warning when not). A run
  that tracked no particles has no bin rows at all: it gives a concentration of 0 with a
  warning and a QC flag, and no sizes.
- `1904-01-01` is LabVIEW's zero date ("never checked"): such dates become None.
- The file gives only the median size (`Median Number (D50)`), reported as size_d50; the
  mean, SD, mode, D10 and D90 are evqc's, from the linear bins (evqc.distributions, the
  way every instrument's bins are summarised), and their `reported` text says so.

Dilution (§8): `Concentration / cm-3` is particles per mL of the measured, diluted
suspension; ZetaView does not apply its dilution to the bins. So the concentration and the
bins have basis MEASURED, and `instrument_dilution` is the factor ZetaView itself uses for
the stock ("Original Concentration" in its report): `Dilution::` × `Concentration
Correction Factor`, which the stock's value still needs (the two factors are also kept as
the settings `dilution` and `concentration_correction_factor`). Unlike NanoSight's, this
factor has NOT been applied: the MEASURED basis says so, and a warning spells out the
stock's value. A dilution repeated in the sample name (`<sample>-2000`) is only compared
with the header (a warning when they differ); it is offered as `suggested_dilution` only
when the header has none.

Per-position (`…_11pos.txt`) and zeta-potential (`…_prof_<laser>.txt`) exports share the
header; they are refused with a message naming the file to upload instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from evqc.distributions import summarise
from evqc.exceptions import UnitError
from evqc.instruments import Distribution, Export, ExportError, Measurement, decode
from evqc.units import QuantityValue, convert, parse_quantity
from evqc.vocabulary import AssayMethod, ResultBasis

FORMAT = "zetaview"
SIGNATURE = "Original File:"
SERIAL = "ZetaView S/N"
TABLE = "Size Distribution"
FIRST_CENTRE = 2.5  # nm: the linear bins are 2.5, 7.5, … 5997.5 nm
BIN_WIDTH = 5.0
SEPARATOR = -1.0
LABVIEW_ZERO = "1904-01-01"
MIN_NAME_DILUTION = 10  # "-2" ending a sample name is a replicate more often than a dilution

EMPTY = "is empty"
NOT_ZETAVIEW = (
    "does not start with 'Original File:' and name a 'ZetaView S/N:' in its header: it is "
    "not a ZetaView export"
)
PER_POSITION = (
    "is a ZetaView per-position table (…_11pos.txt); evqc reads the size distribution of "
    "the same run, the …_size_<laser>.txt file"
)
PROFILE = (
    "is a ZetaView zeta potential profile (…_prof_<laser>.txt); evqc reads ZetaView size "
    "distributions, the …_size_<laser>.txt file"
)
MISSING_PART = "has no {part}: the file is truncated or not a complete ZetaView size distribution"
BAD_COLUMNS = (
    "line {line}: the size table's header is {cells}, not 'Size / nm', 'Number', "
    "'Concentration / cm-3', …"
)
NO_SEPARATOR = (
    "the size table ends at line {line} without the -1.000E+0 row that closes its linear "
    "bins: the file is truncated"
)
SHORT_ROW = "line {line} has {found} cells where the size table has {expected}: the file is cut"
BAD_NUMBER = "line {line}: {what} is {text!r}, not a number"
BAD_VALUE = "line {line}: {what}: {error}"
OFF_GRID = (
    "line {line}: the bin centre {text} is not {expected:g} nm, the next centre of the 5-nm "
    "grid: a row is missing or the table is not ZetaView's"
)

NO_PARTICLES = (
    "no particles: the run tracked none (Number of Traces {traces}, no particles in the size "
    "bins), so the concentration is 0 and there are no sizes; check the sample and the cell"
)
TRACES_DIFFER = (
    "the Number column sums to {total:g} traces but the header says Number of Traces "
    "{traces}: the bins and the header disagree"
)
NO_TRACES = (
    "the header gives no Number of Traces ({text!r}): the bins could not be checked against it"
)
D50_DIFFERS = (
    "ZetaView's Median Number (D50) {reported} nm and evqc's D50 from the 5-nm bins "
    "{computed:.1f} nm differ by more than one bin"
)
NOT_APPLIED = (
    "ZetaView does not apply its dilution to the concentrations: they are the measured "
    "(diluted) suspension's; the stock's is {measured:.4g} × {factor:g} = {stock:.4g} "
    "particles/mL (Dilution:: {dilution:g} × Concentration Correction Factor {correction:g}, "
    "ZetaView's Original Concentration)"
)
NOT_RECORDED = (
    "the header gives no usable Dilution:: ({text!r}): concentrations are the measured "
    "(diluted) sample's; give the dilution to get the stock's"
)
NO_CORRECTION = "the header gives no usable Concentration Correction Factor ({text!r}): 1 assumed"
NAME_DIFFERS = (
    "the sample name {name!r} ends in {factor:g} but the header's Dilution:: is {dilution:g}: "
    "the header's is used; check which is right"
)
SUGGESTED = (
    "the sample name {name!r} suggests a dilution of {factor:g}; it is only a suggestion and "
    "was not applied: confirm or replace it"
)
NEVER = "{what} is {text!r}, LabVIEW's zero date: never done, stored as empty"
NO_TIME_ZONE = (
    "Date and Time {text!r} give no time zone: performed_at is the instrument computer's local "
    "time; say which time zone before it is stored"
)
NO_TIME = "Date and Time are missing or unreadable ({text!r}): performed_at is unknown"
BAD_SETTING = "{what} {text!r}: {error}"

NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?")
KEY = re.compile(r"[A-Za-z][^\t]*?:{1,2}")
GLUED = re.compile(r"([A-Za-z][^:]*?):\s*(\S.*)")  # "Conductivity: 1482.00"
VERSION = re.compile(r"version\s+([^)]+)", re.I)
DATES = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}-\d{2}-\d{2}")
NAME_DILUTION = re.compile(r"-(\d+(?:\.\d+)?)\s*$")
FLAGS = frozenset({"entered", "sensed"})
# evqc setting -> (header key, how): a quantity kind and the implied unit for evqc's known
# settings (evqc.batch_record.SETTING_KINDS), else "text", "number", "count", "date" or
# "unit <unit>" (text such as "1482.00 µS/cm": ZetaView writes no units for these).
SETTINGS = (
    ("temperature", "Temperature", "temperature degC"),
    ("viscosity", "Viscosity", "viscosity cP"),
    ("laser_wavelength", "Laser Wavelength nm", "length nm"),
    ("ph", "pH", "number"),
    ("conductivity", "Conductivity", "unit µS/cm"),
    ("set_temperature", "SetTemperature", "unit °C"),
    ("temperature_control", "TempControl", "text"),
    ("positions", "Positions", "count"),
    ("trace_count", "Number of Traces", "count"),
    ("average_particle_count", "Average Number of Particles", "number"),
    ("dilution", "Dilution", "number"),
    ("concentration_correction_factor", "Concentration Correction Factor", "number"),
    ("electrolyte", "Electrolyte", "text"),
    ("sop", "SOP", "text"),
    ("operator", "Operator", "text"),
    ("cell_serial", "Cell S/N", "text"),
    ("camera", "Camera", "text"),
    ("filter_wavelength", "Filter Wavelength nm", "text"),
    ("analysis_version", "Analyze", "text"),
    ("particle_drift_checked", "Particle Drift Checked", "date"),
    ("particle_drift_check_result", "Particle Drift Check Result", "text"),
    ("cell_checked", "Cell Checked", "date"),
    ("cell_check_result", "Cell Check Result", "text"),
)
MAX_TEXT = 200  # the longest text setting a batch record takes

Header = dict[str, tuple[str, ...]]  # key (without its colons) -> its non-empty cells


@dataclass(frozen=True)
class _Bins:
    """The linear section of the size table: rebuilt centres (nm), trace counts and
    concentrations (particles/mL of the measured suspension) per bin."""

    centres: tuple[float, ...]
    numbers: tuple[float, ...]
    concentrations: tuple[float, ...]
    unit: str  # the concentration column's, e.g. "cm-3"


def detect(text: str, data: bytes) -> bool:
    """A ZetaView export: `Original File:` opens line 1 and the header has `ZetaView S/N:`."""
    lines = _without_bom(text).splitlines()
    if not lines or not lines[0].startswith(SIGNATURE):
        return False
    return SERIAL in _header(lines[: _table_start(lines)])


def read(data: bytes) -> Export:
    """The run's measured concentration, sizes, bins and settings; ExportError when the
    file is empty, not a ZetaView size distribution or truncated."""
    text = _without_bom(decode(data))
    if not text.strip():
        raise ExportError(EMPTY, "empty_export")
    if not detect(text, data):
        raise ExportError(NOT_ZETAVIEW, "unknown_format", line=1)
    lines = text.splitlines()
    start = _table_start(lines)
    _refuse_other_exports(lines)
    if start == len(lines):
        part = f"'{TABLE}' table"
        raise ExportError(MISSING_PART.format(part=part), "truncated_export", section=part)
    header = _header(lines[:start])
    bins = _linear_bins(lines, start)
    warnings: list[str] = []
    qc_flags: list[str] = []
    measurements, distributions = _results(header, bins, warnings, qc_flags)
    sample = _value(header, "Sample")
    factor, suggestion = _dilution(header, sample, sum(bins.concentrations), warnings)
    version = VERSION.search(_value(header, "Software"))
    software = version[1].strip() if version else _value(header, "Software")
    serial = _value(header, SERIAL)
    return Export(
        format=FORMAT,
        format_version=f"ZetaView {software}" if software else "ZetaView export",
        method=AssayMethod.NTA,
        software_version=software,
        instrument=f"ZetaView (serial {serial})" if serial else "ZetaView",
        sample=sample,
        performed_at=_performed_at(header, warnings),
        measurements=tuple(measurements),
        distributions=tuple(distributions),
        settings=_settings(header, warnings),
        instrument_dilution=factor,
        suggested_dilution=suggestion,
        qc_flags=tuple(qc_flags),
        warnings=tuple(dict.fromkeys(warnings)),
    )


# The file's structure
# ------------------------------------------------------------------------------


def _without_bom(text: str) -> str:
    # A BOM survives decoding when the rest is not UTF-8 (cp1252 reads it as ï»¿).
    return text.removeprefix("\ufeff").removeprefix("ï»¿")


def _table_start(lines: list[str]) -> int:
    """The index of the `Size Distribution` line (len(lines) when there is none)."""
    return next((i for i, line in enumerate(lines) if line.strip() == TABLE), len(lines))


def _refuse_other_exports(lines: list[str]) -> None:
    for line in lines:
        cells = [cell.strip() for cell in line.split("\t")]
        if cells[:2] == ["Use", "Position"]:
            raise ExportError(PER_POSITION, "unsupported_export")
        if cells[0].startswith("ZP Profile"):
            raise ExportError(PROFILE, "unsupported_export")


def _header(lines: list[str]) -> Header:
    """Every `Key:<TAB>value` pair of the header lines, the first of each key kept."""
    header: Header = {}
    for line in lines:
        cells = [cell.strip() for cell in line.split("\t")]
        glued = GLUED.fullmatch(cells[0])
        if glued and not KEY.fullmatch(cells[0]):
            cells[:1] = [f"{glued[1]}:", glued[2]]
        key = ""
        values: list[str] = []
        for cell in cells:
            if KEY.fullmatch(cell):
                if key:
                    header.setdefault(key, tuple(values))
                key, values = cell.rstrip(":").strip(), []
            elif key and cell:
                values.append(cell)
        if key:
            header.setdefault(key, tuple(values))
    return header


def _value(header: Header, key: str) -> str:
    return next(iter(header.get(key, ())), "")


def _cells(line: str) -> list[str]:
    cells = [cell.strip() for cell in line.split("\t")]
    while cells and not cells[-1]:
        cells.pop()
    return cells


def _linear_bins(lines: list[str], start: int) -> _Bins:
    """The rows up to the separator, checked against the 5-nm grid; the rows after it (the
    logarithmic bins) only for being whole."""
    if start + 1 >= len(lines):
        part = "size table header (Size / nm, Number, Concentration / cm-3, …)"
        raise ExportError(MISSING_PART.format(part=part), "truncated_export", section=part)
    columns = _cells(lines[start + 1])
    names = [name.split("/")[0].strip().lower() for name in columns]
    if names[:3] != ["size", "number", "concentration"] or "/" not in columns[2]:
        message = BAD_COLUMNS.format(line=start + 2, cells=columns)
        raise ExportError(message, "unreadable_export", line=start + 2)
    unit = columns[2].split("/", 1)[1].strip()
    rows: list[tuple[int, list[str]]] = []
    separator = None
    for index in range(start + 2, len(lines)):
        line, cells = index + 1, _cells(lines[index])
        if not cells:
            break
        _check_width(line, cells, len(columns))
        if _number(cells[0], line, "the bin centre") == SEPARATOR:
            separator = index
            break
        rows.append((line, cells))
    if separator is None:
        line = rows[-1][0] if rows else start + 2
        raise ExportError(NO_SEPARATOR.format(line=line), "truncated_export", line=line)
    for index in range(separator + 1, len(lines)):
        cells = _cells(lines[index])
        if not cells:
            break
        _check_width(index + 1, cells, len(columns))
    return _bins(rows, unit, columns[2])


def _check_width(line: int, cells: list[str], width: int) -> None:
    if len(cells) < width:
        message = SHORT_ROW.format(line=line, found=len(cells), expected=width)
        raise ExportError(message, "truncated_export", line=line)


def _bins(rows: list[tuple[int, list[str]]], unit: str, column: str) -> _Bins:
    centres, numbers, concentrations = [], [], []
    for index, (line, cells) in enumerate(rows):
        centre = FIRST_CENTRE + BIN_WIDTH * index
        printed = _number(cells[0], line, "the bin centre")
        if abs(printed - centre) > 5e-4 * centre:  # 4 significant digits
            message = OFF_GRID.format(line=line, text=cells[0], expected=centre)
            raise ExportError(message, "unreadable_export", line=line)
        what = f"the bin at {centre:g} nm"
        centres.append(centre)
        numbers.append(_number(cells[1], line, f"the Number of {what}"))
        concentration = _quantity(cells[2], unit, "particle_concentration", line, column)
        concentrations.append(concentration.canonical_value)
    return _Bins(tuple(centres), tuple(numbers), tuple(concentrations), unit)


def _number(text: str, line: int, what: str) -> float:
    if not NUMBER.fullmatch(text):
        raise ExportError(BAD_NUMBER.format(line=line, what=what, text=text), line=line)
    return float(text)


def _quantity(text: str, unit: str, kind: str, line: int, what: str) -> QuantityValue:
    try:
        return parse_quantity((text, unit), kind)
    except UnitError as error:
        message = BAD_VALUE.format(line=line, what=what, error=error)
        raise ExportError(message, "unreadable_export", line=line) from None


# Values
# ------------------------------------------------------------------------------


def _results(
    header: Header, bins: _Bins, warnings: list[str], qc_flags: list[str]
) -> tuple[list[Measurement], list[Distribution]]:
    """The measured concentration; the sizes and bins when the run tracked particles."""
    measured = sum(bins.concentrations)
    measurements = [_concentration(measured, bins)]
    traces = _check_traces(header, bins, warnings)
    if measured == 0:
        warnings.append(NO_PARTICLES.format(traces=traces))
        qc_flags.append(f"Number of Traces: {traces}")
        return measurements, []
    distribution = Distribution(
        bins.centres,
        bins.concentrations,
        "nm",
        "particle/mL",
        "concentration",
        basis=ResultBasis.MEASURED,
    )
    return measurements + _sizes(header, bins, warnings), [distribution]


def _concentration(measured: float, bins: _Bins) -> Measurement:
    """Σ of the linear bins: particles per mL of the measured (diluted) suspension."""
    quantity = convert(
        _quantity(f"{measured:.4g}", bins.unit, "particle_concentration", 0, "Σ"),
        "particle/mL",
    )
    reported = f"Σ of the {len(bins.centres)} linear 5-nm bins (Concentration / {bins.unit})"
    return Measurement("particle_concentration", quantity, ResultBasis.MEASURED, reported=reported)


def _sizes(header: Header, bins: _Bins, warnings: list[str]) -> list[Measurement]:
    """The file's median size, and evqc's mean, SD, mode, D10 and D90 from the bins."""
    summary = summarise(bins.centres, bins.concentrations)
    computed = f"evqc, from the {len(bins.centres)} linear 5-nm bins"
    found = {
        attribute: Measurement(attribute, _length(f"{value:.1f}"), reported=computed)
        for attribute, value in (
            ("size_mean", summary.mean),
            ("size_sd", summary.sd),
            ("size_mode", summary.mode),
            ("size_d10", summary.d10),
            ("size_d50", summary.d50),
            ("size_d90", summary.d90),
        )
    }
    median = _value(header, "Median Number (D50)")
    if NUMBER.fullmatch(median) and float(median) > 0:
        found["size_d50"] = Measurement("size_d50", _length(median), reported=median)
        if abs(float(median) - summary.d50) > BIN_WIDTH:
            warnings.append(D50_DIFFERS.format(reported=median, computed=summary.d50))
    order = ("size_mean", "size_sd", "size_mode", "size_d10", "size_d50", "size_d90")
    return [found[attribute] for attribute in order]


def _length(text: str) -> QuantityValue:
    return _quantity(text, "nm", "length", 0, "size")


def _check_traces(header: Header, bins: _Bins, warnings: list[str]) -> str:
    """Σ Number is the header's Number of Traces (within the bins' 4-digit rounding)."""
    text = _value(header, "Number of Traces")
    if not NUMBER.fullmatch(text):
        warnings.append(NO_TRACES.format(text=text))
        return text or "not given"
    traces, total = float(text), sum(bins.numbers)
    if abs(total - traces) > 0.5 + 5e-4 * traces:
        warnings.append(TRACES_DIFFER.format(total=total, traces=text))
    return text


def _dilution(
    header: Header, sample: str, measured: float, warnings: list[str]
) -> tuple[float | None, float | None]:
    """The factor from measured to stock (Dilution:: × correction factor, §8) and a
    dilution the sample name suggests when the header has none."""
    named = NAME_DILUTION.search(DATES.sub(" ", sample))
    from_name = float(named[1]) if named and float(named[1]) >= MIN_NAME_DILUTION else None
    text = _value(header, "Dilution")
    dilution = _factor(text, "dilution_factor")
    if dilution is None:
        warnings.append(NOT_RECORDED.format(text=text))
        if from_name is not None:
            warnings.append(SUGGESTED.format(name=sample, factor=from_name))
        return None, from_name
    if from_name is not None and from_name != dilution:
        warnings.append(NAME_DIFFERS.format(name=sample, factor=from_name, dilution=dilution))
    correction_text = _value(header, "Concentration Correction Factor")
    correction = _factor(correction_text, "number")
    if correction is None or correction == 0:
        warnings.append(NO_CORRECTION.format(text=correction_text))
        correction = 1.0
    factor = dilution * correction
    if measured > 0:
        stock = measured * factor
        warnings.append(
            NOT_APPLIED.format(
                measured=measured,
                factor=factor,
                stock=stock,
                dilution=dilution,
                correction=correction,
            )
        )
    return factor, None


def _factor(text: str, kind: str) -> float | None:
    try:
        return parse_quantity((text, ""), kind).value if NUMBER.fullmatch(text) else None
    except UnitError:  # a dilution of 0 or below 1
        return None


# Header values
# ------------------------------------------------------------------------------


def _performed_at(header: Header, warnings: list[str]) -> datetime | None:
    text = f"{_value(header, 'Date')} {_value(header, 'Time')}".strip()
    if not text.startswith(LABVIEW_ZERO):
        try:
            # The file gives no time zone: a naive time, for a person to place (warning).
            moment = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007
        except ValueError:
            pass
        else:
            warnings.append(NO_TIME_ZONE.format(text=text))
            return moment
    warnings.append(NO_TIME.format(text=text))
    return None


def _settings(header: Header, warnings: list[str]) -> dict[str, Any]:
    """Settings under evqc's names, with ZetaView's entered/sensed flags as `<name>_source`."""
    settings: dict[str, Any] = {}
    for name, key, how in SETTINGS:
        cells = header.get(key, ())
        if not cells:
            continue
        value = _setting(key, cells[0], how, warnings)
        if value is not None or how == "date":
            settings[name] = value
        flag = next((cell for cell in cells[1:] if cell.lower() in FLAGS), None)
        if flag:
            settings[f"{name}_source"] = flag.lower()
    return settings


def _setting(key: str, text: str, how: str, warnings: list[str]) -> Any:
    kind, _, unit = how.partition(" ")
    if kind == "text":
        return text[:MAX_TEXT]
    if kind == "date":
        if text.startswith(LABVIEW_ZERO):
            warnings.append(NEVER.format(what=key, text=text))
            return None
        return text[:MAX_TEXT]
    if not NUMBER.fullmatch(text):  # "NaN", "off"
        return None
    if kind == "unit":
        return f"{text} {unit}"
    if kind in ("number", "count"):
        return int(float(text)) if kind == "count" else float(text)
    try:
        return parse_quantity((text, unit), kind, field=key)
    except UnitError as error:
        warnings.append(BAD_SETTING.format(what=key, text=text, error=error.message))
        return None
