"""Reader of BioTek (Agilent) Gen5 plate-reader text exports, for BCA / microBCA protein.

The file is tab-separated (semicolons occur): a header (`Software Version`, `Plate Number`,
`Date`, `Time`, `Reader Type:`, …), a `Layout` table and a `Results` table
(../shared/design/instrument-formats.md §6.1). Each table has a `1…12` header and, per plate
row, one line per item, ended by the item's name: `Well ID` and `Conc/Dil` in the layout,
`450` and `Blank 450` in the results. Sections are found by their marker text and the
columns are counted from the header, never by line number.

evqc owns the layout and the fit (§6): it takes the mean of the `BLK` wells as the blank,
subtracts it, fits the `STD` wells (their `Conc/Dil` is the nominal concentration) with a
linear least-squares line, and reads each `SPLn` sample's wells off that line, multiplying
each well by its `Conc/Dil` dilution (basis STOCK) or, when the layout gives none, leaving
the measured value (basis MEASURED, with a warning). A sample with several wells
(`SPL1:1`, `SPL1:2`) is the mean of its wells' stock values. When the standards have a
single concentration, the blank is used as the 0 µg/mL standard (with a warning). Gen5's
own `Blank …` rows are only a cross-check. `CTL` and `SPLC` wells are read into the plate
but not reported.

Why not allotropy (§6.4, the one considered exception): allotropy 0.1.150 refuses the
shared Gen5 sample ("Read type not found; expected to find one of ['AREASCAN', 'ENDPOINT',
'SPECTRUM']": the procedure text is not the original), it returns ASM without the fit evqc
must own anyway, and installing it pulls in pandas, matplotlib, openpyxl, lxml, pillow and
19 other packages (339 MB -> 596 MB of site-packages) and downgrades jsonschema from 4.26.0
to 4.17.3. The layout is simple enough to read here in plain Python.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import datetime

from evqc.exceptions import UnitError
from evqc.instruments import Export, ExportError, Measurement, decode
from evqc.units import QuantityValue, parse_quantity
from evqc.vocabulary import AssayMethod, ResultBasis

FORMAT = "gen5"
SIGNATURE = "Software Version"
STANDARD_UNIT = "µg/mL"
MIN_R_SQUARED = 0.98
BCA_WAVELENGTHS = (540, 590)  # BCA and microBCA are read at 562 nm
# Plate columns -> plate rows, for files without a layout.
PLATE_ROWS = {3: 2, 4: 3, 6: 4, 8: 6, 12: 8, 24: 16, 48: 32}

EMPTY = "is empty"
NOT_GEN5 = (
    "does not start with 'Software Version' followed by 'Plate Number': it is not a Gen5 "
    "text export"
)
MISSING_PART = "has no {part}: the file is truncated or not a complete Gen5 export"
BAD_HEADER = "line {line}: the {table} header is not the plate's column numbers 1, 2, 3, …"
SHORT_LINE = (
    "line {line} has {found} cells where the {table} has {expected} (row, columns, name): "
    "the file is cut"
)
CUT_TABLE = "the {table} ends at line {line} without plate row {row} ({names}): the file is cut"
BAD_VALUE = "line {line}: {what}: {error}"
BAD_CONC = "line {line}: the Conc/Dil of well {well} is {text!r}, not a number"

NOT_A_NUMBER = "well {well}: {text!r} is not an absorbance: the well is left out"
NO_TIME_ZONE = (
    "Date and Time {text!r} give no time zone: performed_at is the reader computer's local "
    "time; say which time zone before it is stored"
)
NO_TIME = "Date and Time are missing or unreadable ({text!r}): performed_at is unknown"
METHOD_ASSUMED = "the file does not name the assay: BCA assumed (microBCA is read the same way)"
NOT_BCA_WAVELENGTH = (
    "the plate was read at {wavelength}, not near 562 nm where BCA is read: check that this "
    "is a BCA plate"
)
SEVERAL_READS = "the file holds several results ({names}): evqc used the first, {name!r}"
NO_LAYOUT = "the file has no Layout: no blanks, standards or samples, so no protein values"
NO_BLANK = "the layout has no BLK wells: absorbances are not blank-subtracted"
UNKNOWN_WELL_IDS = "well IDs evqc does not know ({ids}) were left out"
BLANK_MISMATCH = (
    "Gen5's blank-subtracted {name!r} differs from evqc's (well {well}: {gen5} in the file, "
    "{evqc:.4f} by evqc): check the blank wells"
)
UNIT_ASSUMED = (
    "the file gives the standards' concentrations without a unit: µg/mL assumed, the usual "
    "BCA standard unit; check it"
)
BLANK_AS_ZERO = (
    "the standards have a single concentration ({conc:g} µg/mL): the blank is used as the "
    "0 µg/mL standard"
)
NO_STANDARDS = "the layout has no standards with a concentration: no protein values"
NO_SLOPE = "the standard curve does not rise (slope {slope:.4g} per µg/mL): no protein values"
LOW_R_SQUARED = (
    "the standard curve fits poorly (R² {r2:.4f}, below {minimum}): check the standards"
)
EXTRAPOLATED = (
    "SPL{sample}: well(s) {wells} lie outside the standards ({low:g} to {high:g} µg/mL "
    "before dilution): extrapolated"
)
NO_DILUTION = (
    "SPL{sample}: the layout gives no dilution: the concentration is the measured (diluted) "
    "sample's; give the dilution to get the stock's"
)
MIXED_DILUTION = "SPL{sample}: some wells give a dilution and others none ({wells}): not reported"
BELOW_BLANK = "SPL{sample}: the wells read below the blank: no concentration reported"
NO_SAMPLE_VALUE = "SPL{sample}: no well has an absorbance: no concentration reported"

NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?")
DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")
ROW_LETTERS = re.compile(r"[A-Z]{1,2}")
WELL_ID = re.compile(r"(BLK|STD|SPLC|SPL|CTL)(\d*)(?::(\d+))?")
WAVELENGTH = re.compile(r"(\d{3,4})\s*(?:nm)?$")
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%m/%d/%Y %I:%M:%S %p", "%d/%m/%Y %H:%M:%S")

Row = tuple[int, list[str]]  # (line number, cells)
Table = dict[str, dict[str, str]]  # item name ("450", "Well ID") -> well ("A1") -> text


@dataclass(frozen=True)
class Well:
    """One layout entry: its kind (BLK, STD, SPL, CTL, SPLC), number (STD1: 1), replicate
    or dilution index (SPL1:2: 2) and its Conc/Dil value (None: empty)."""

    id: str
    kind: str
    number: int | None
    conc_dil: float | None


@dataclass(frozen=True)
class Plate:
    """What the file holds, before evqc's analysis: header values, the read's absorbance
    by well, the layout by well and Gen5's blank-subtracted values by well."""

    header: dict[str, str]
    read: str  # the result's name, e.g. "450"
    absorbance: dict[str, float]
    layout: dict[str, Well] = field(default_factory=dict)
    gen5_blanked: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fit:
    slope: float  # absorbance per µg/mL
    intercept: float
    r_squared: float
    low: float  # the standards' range, µg/mL
    high: float


def detect(text: str, data: bytes) -> bool:
    """A Gen5 export: `Software Version` among the first lines, then `Plate Number` and a
    `Results` or `Layout` marker."""
    lines = text.removeprefix("\ufeff").splitlines()
    head = [line for line in lines[:40] if line.strip()][:5]
    if not any(_first(line) == SIGNATURE for line in head):
        return False
    firsts = {_first(line) for line in lines}
    return "Plate Number" in firsts and bool(firsts & {"Results", "Layout"})


def read(data: bytes) -> Export:
    """Protein concentrations of the plate's samples, with the fit as settings and warnings;
    ExportError when the file is empty, not a Gen5 export or truncated."""
    plate = read_plate(data)
    warnings = list(plate.warnings)
    warnings.append(METHOD_ASSUMED)
    settings: dict[str, object] = {}
    header = plate.header
    if header.get("plate number"):
        settings["plate_number"] = header["plate number"]
    wavelength = WAVELENGTH.search(plate.read)
    if wavelength:
        nm = int(wavelength[1])
        settings["read_wavelength"] = f"{nm} nm"
        if not BCA_WAVELENGTHS[0] <= nm <= BCA_WAVELENGTHS[1]:
            warnings.append(NOT_BCA_WAVELENGTH.format(wavelength=f"{nm} nm"))
    else:
        settings["read_wavelength"] = plate.read
    temperature = header.get("actual temperature", "")
    if NUMBER.fullmatch(temperature):
        settings["temperature"] = parse_quantity((temperature, "degC"), "temperature")
    measurements = protein(plate, settings, warnings)
    version = header.get("software version", "")
    instrument = header.get("reader type", "")
    serial = header.get("reader serial number", "")
    if serial:
        instrument = f"{instrument} (serial {serial})".strip()
    return Export(
        format=FORMAT,
        format_version=f"Gen5 {version}".strip(),
        method=AssayMethod.BCA,
        software_version=version,
        instrument=instrument,
        performed_at=_performed_at(header, warnings),
        measurements=tuple(measurements),
        settings=settings,
        warnings=tuple(dict.fromkeys(warnings)),
    )


def read_plate(data: bytes) -> Plate:
    """The header, the read's absorbances, the layout and Gen5's blank rows."""
    text = decode(data).removeprefix("\ufeff")
    if not text.strip():
        raise ExportError(EMPTY, "empty_export")
    lines = text.splitlines()  # LF, CRLF and bare CR alike
    signature = next((line for line in lines if line.strip()), "")
    if _first(signature) != SIGNATURE:
        raise ExportError(NOT_GEN5, "unknown_format", line=lines.index(signature) + 1)
    delimiter = ";" if "\t" not in signature and ";" in signature else "\t"
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        rows = [(reader.line_num, [cell.strip() for cell in cells]) for cells in reader]
    except csv.Error as error:
        line = reader.line_num
        raise ExportError(f"line {line}: {error}", "unreadable_export", line=line) from None
    markers = {cells[0]: index for index, (_, cells) in enumerate(rows) if _marker(cells)}
    if "Plate Number" not in {cells[0] for _, cells in rows if cells}:
        raise ExportError(NOT_GEN5, "unknown_format")
    header = {
        cells[0].rstrip(":").strip().lower(): _cell(cells, 1)
        for _, cells in rows[: min(markers.values(), default=len(rows))]
        if cells and cells[0]
    }
    for _, cells in rows:  # after the Layout, before the Results
        if cells and cells[0] == "Actual Temperature:":
            header.setdefault("actual temperature", _cell(cells, 1))
    warnings: list[str] = []
    layout_table, layout_rows = None, None
    if "Layout" in markers:
        layout_table, layout_rows = _table(rows, markers["Layout"], "Layout", None)
    if "Results" not in markers:
        part = "Results section"
        raise ExportError(MISSING_PART.format(part=part), "truncated_export", section=part)
    results, _ = _table(rows, markers["Results"], "Results", layout_rows)
    names = list(results)
    reads = [name for name in names if not name.lower().startswith("blank ")]
    if not reads:
        part = "result in the Results section"
        raise ExportError(MISSING_PART.format(part=part), "truncated_export", section=part)
    read = reads[0]
    if len(reads) > 1:
        warnings.append(SEVERAL_READS.format(names=", ".join(reads), name=read))
    comma = delimiter == ";"
    absorbance = _numbers(results[read], comma, warnings)
    gen5_blanked = _numbers(results.get(f"Blank {read}", {}), comma, [])
    layout = _layout(layout_table, rows, comma, warnings) if layout_table is not None else {}
    return Plate(header, read, absorbance, layout, gen5_blanked, tuple(warnings))


# The file's structure
# ------------------------------------------------------------------------------


def _first(line: str) -> str:
    return re.split(r"[\t;]", line, maxsplit=1)[0].strip()


def _cell(cells: list[str], index: int) -> str:
    return cells[index] if index < len(cells) else ""


def _marker(cells: list[str]) -> bool:
    return bool(cells) and cells[0] in ("Layout", "Results") and not any(cells[1:])


def _table(
    rows: list[Row], start: int, table: str, expected: list[str] | None
) -> tuple[Table, list[str]]:
    """The table after a marker row: item name -> well -> text, and its plate rows."""
    if start + 1 >= len(rows):
        part = f"{table} table"
        raise ExportError(MISSING_PART.format(part=part), "truncated_export", section=table)
    line, head = rows[start + 1]
    columns = [cell for cell in head[1:] if cell]
    if _cell(head, 0) or columns != [str(n) for n in range(1, len(columns) + 1)]:
        raise ExportError(BAD_HEADER.format(line=line, table=table), line=line)
    n = len(columns)
    values: Table = {}
    names_by_row: dict[str, list[str]] = {}
    current = ""
    last_line = line
    for line, cells in rows[start + 2 :]:
        label = _cell(cells, 0)
        if not any(cells) or (label and not ROW_LETTERS.fullmatch(label)):
            break
        if label:
            current = label
            names_by_row[current] = []
        elif not current:
            break
        name = next((cell for cell in cells[n + 1 :] if cell), "")
        if len(cells) < n + 2 or not name:
            message = SHORT_LINE.format(line=line, found=len(cells), table=table, expected=n + 2)
            raise ExportError(message, "truncated_export", line=line)
        names_by_row[current].append(name)
        for column, text in enumerate(cells[1 : n + 1], 1):
            if text:
                values.setdefault(name, {})[f"{current}{column}"] = text
        last_line = line
    plate_rows = list(names_by_row)
    if expected is None:
        count = PLATE_ROWS.get(n, len(plate_rows))
        expected = [chr(ord("A") + i) for i in range(count)] if count <= 26 else plate_rows
    names = next(iter(names_by_row.values()), [])
    for row in expected:
        if not names or names_by_row.get(row) != names:
            message = CUT_TABLE.format(
                table=f"{table} table", line=last_line, row=row, names=", ".join(names)
            )
            raise ExportError(message, "truncated_export", line=last_line)
    return values, plate_rows


def _number(text: str, comma: bool) -> float | None:
    if comma and DECIMAL_COMMA.fullmatch(text):
        text = text.replace(",", ".")
    return float(text) if NUMBER.fullmatch(text) else None


def _numbers(cells: dict[str, str], comma: bool, warnings: list[str]) -> dict[str, float]:
    found = {}
    for well, text in cells.items():
        value = _number(text, comma)
        if value is None:
            warnings.append(NOT_A_NUMBER.format(well=well, text=text))
        else:
            found[well] = value
    return found


def _layout(table: Table, rows: list[Row], comma: bool, warnings: list[str]) -> dict[str, Well]:
    ids = table.get("Well ID", {})
    concs = table.get("Conc/Dil", {})
    layout = {}
    unknown = []
    for well, text in ids.items():
        found = WELL_ID.fullmatch(text)
        if found is None:
            unknown.append(text)
            continue
        conc_text = concs.get(well, "")
        conc = _number(conc_text, comma) if conc_text else None
        if conc_text and conc is None:
            line = next((line for line, cells in rows if "Conc/Dil" in cells), 0)
            message = BAD_CONC.format(line=line, well=well, text=conc_text)
            raise ExportError(message, "unreadable_export", line=line)
        number = int(found[2]) if found[2] else None
        layout[well] = Well(text, found[1], number, conc)
    if unknown:
        warnings.append(UNKNOWN_WELL_IDS.format(ids=", ".join(dict.fromkeys(unknown))))
    return layout


# evqc's analysis: blank, fit, samples
# ------------------------------------------------------------------------------


def linear_fit(points: list[tuple[float, float]]) -> tuple[float, float, float]:
    """Least-squares line through (x, y) points: slope, intercept and R²."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    slope = sxy / sxx
    intercept = mean_y - slope * mean_x
    total = sum((y - mean_y) ** 2 for _, y in points)
    residual = sum((y - slope * x - intercept) ** 2 for x, y in points)
    r_squared = 1 - residual / total if total else 1.0
    return slope, intercept, r_squared


def protein(plate: Plate, settings: dict[str, object], warnings: list[str]) -> list[Measurement]:
    if not plate.layout:
        warnings.append(NO_LAYOUT)
        return []
    wells = {well: entry for well, entry in plate.layout.items() if well in plate.absorbance}
    blanks = [plate.absorbance[w] for w, entry in wells.items() if entry.kind == "BLK"]
    blank = sum(blanks) / len(blanks) if blanks else 0.0
    if blanks:
        settings["blank_absorbance"] = f"{blank:.5g} (mean of {len(blanks)} BLK wells)"
        _check_blank(plate, blank, warnings)
    else:
        warnings.append(NO_BLANK)
    net = {well: plate.absorbance[well] - blank for well in wells}
    fit = _fit(wells, net, blank_used=bool(blanks), warnings=warnings)
    if fit is None:
        return []
    settings["standard_curve"] = "linear least squares"
    settings["fit_slope"] = f"{fit.slope:.6g} per µg/mL"
    settings["fit_intercept"] = f"{fit.intercept:.6g}"
    settings["fit_r_squared"] = f"{fit.r_squared:.4f}"
    samples: dict[int, list[str]] = {}
    for well, entry in wells.items():
        if entry.kind == "SPL" and entry.number is not None:
            samples.setdefault(entry.number, []).append(well)
    measurements = []
    for sample in sorted(samples):
        samples[sample].sort(key=lambda well: (plate.layout[well].id, well))
        measurement = _sample(sample, samples[sample], plate, net, fit, warnings)
        if measurement is not None:
            measurements.append(measurement)
    missing = {
        entry.number
        for entry in plate.layout.values()
        if entry.kind == "SPL" and entry.number is not None and entry.number not in samples
    }
    warnings.extend(NO_SAMPLE_VALUE.format(sample=sample) for sample in sorted(missing))
    return measurements


def _check_blank(plate: Plate, blank: float, warnings: list[str]) -> None:
    for well, gen5 in plate.gen5_blanked.items():
        if well in plate.absorbance and abs(plate.absorbance[well] - blank - gen5) > 0.002:
            evqc = plate.absorbance[well] - blank
            name = f"Blank {plate.read}"
            warnings.append(BLANK_MISMATCH.format(name=name, well=well, gen5=gen5, evqc=evqc))
            return


def _fit(
    wells: dict[str, Well], net: dict[str, float], *, blank_used: bool, warnings: list[str]
) -> Fit | None:
    points = [
        (entry.conc_dil, net[well])
        for well, entry in wells.items()
        if entry.kind == "STD" and entry.conc_dil is not None
    ]
    if not points:
        warnings.append(NO_STANDARDS)
        return None
    warnings.append(UNIT_ASSUMED)
    levels = {x for x, _ in points}
    if len(levels) == 1:
        if not blank_used or 0.0 in levels:
            warnings.append(NO_STANDARDS)
            return None
        warnings.append(BLANK_AS_ZERO.format(conc=points[0][0]))
        points.append((0.0, 0.0))  # the blank, net of itself
    slope, intercept, r_squared = linear_fit(points)
    if slope <= 0:
        warnings.append(NO_SLOPE.format(slope=slope))
        return None
    if r_squared < MIN_R_SQUARED:
        warnings.append(LOW_R_SQUARED.format(r2=r_squared, minimum=MIN_R_SQUARED))
    xs = [x for x, _ in points]
    return Fit(slope, intercept, r_squared, min(xs), max(xs))


def _sample(
    sample: int,
    wells: list[str],
    plate: Plate,
    net: dict[str, float],
    fit: Fit,
    warnings: list[str],
) -> Measurement | None:
    entries = [plate.layout[well] for well in wells]
    diluted = [entry.conc_dil is not None for entry in entries]
    if any(diluted) and not all(diluted):
        shown = ", ".join(f"{entry.id} {well}" for well, entry in zip(wells, entries, strict=True))
        warnings.append(MIXED_DILUTION.format(sample=sample, wells=shown))
        return None
    values, outside, parts = [], [], []
    for well, entry in zip(wells, entries, strict=True):
        measured = (net[well] - fit.intercept) / fit.slope
        if not fit.low <= measured <= fit.high:
            outside.append(well)
        values.append(measured * (entry.conc_dil or 1.0))
        part = f"{entry.id} {well} A{plate.read} {plate.absorbance[well]:g}"
        parts.append(part + (f" dil {entry.conc_dil:g}" if entry.conc_dil else ""))
    if outside:
        warnings.append(
            EXTRAPOLATED.format(
                sample=sample, wells=", ".join(outside), low=fit.low, high=fit.high
            )
        )
    value = sum(values) / len(values)
    if value < 0:
        warnings.append(BELOW_BLANK.format(sample=sample))
        return None
    basis = ResultBasis.STOCK if all(diluted) else ResultBasis.MEASURED
    if basis is ResultBasis.MEASURED:
        warnings.append(NO_DILUTION.format(sample=sample))
    reported = "; ".join(parts)
    quantity = _quantity(f"{value:.6g}", reported)
    return Measurement(
        "protein_concentration", quantity, basis, sample, n=len(values), reported=reported
    )


def _quantity(text: str, what: str) -> QuantityValue:
    try:
        return parse_quantity((text, STANDARD_UNIT), "mass_concentration")
    except UnitError as error:
        message = BAD_VALUE.format(line=0, what=what, error=error)
        raise ExportError(message, "unreadable_export") from None


def _performed_at(header: dict[str, str], warnings: list[str]) -> datetime | None:
    text = f"{header.get('date', '')} {header.get('time', '')}".strip()
    for pattern in DATE_FORMATS:
        try:
            # The file gives no time zone: a naive time, for a person to place (warning).
            moment = datetime.strptime(text, pattern)  # noqa: DTZ007
        except ValueError:
            continue
        warnings.append(NO_TIME_ZONE.format(text=text))
        return moment
    warnings.append(NO_TIME.format(text=text))
    return None
