"""Reader of Molecular Devices SoftMax Pro text exports (`##BLOCKS=`), for BCA / microBCA
protein.

Line 1 announces the number of sections (`##BLOCKS= 6`); each section (`Note:`, `Plate:`,
`Group: <name>`) ends with `~End`, and the file with `Original Filename: …; Date Last
Saved: …` (../shared/design/instrument-formats.md §6.2). A `Plate:` line holds positional
fields (export format version, `PlateFormat`, read type, read mode, data type, …, the
wavelengths, the number of columns, wells and rows), then come `Temperature(°C)`, the column
numbers and one line per plate row (no row letters; only the first carries the
temperature). Comma or tab delimited (decimal commas occur in tab-delimited files), bare
CR line endings, a degree sign mangled into `¡` (Mac Roman's ° read as Latin-1): matched by
the prefix `Temperature(`. A file cut short lacks a `~End` or some of the announced
sections, and is refused.

Well roles. The `Plate:` section holds absorbances only. SoftMax keeps the layout in
`Group:` sections, exported beside the plate when the protocol defines them: each lists
its samples and their wells (the column whose formula is `!WellIDs`) and a sample
descriptor (`!SampleDescriptor`): the concentration of a standard, the dilution of an
unknown. evqc reads these as the layout Gen5 files give in their `Layout` table and runs
the same analysis as `gen5` (§6: evqc owns the blank, the fit and the dilutions): a group
named Blank (or Plate Blank) gives the blank wells, one named Standards (Standard, Std…)
the standard curve, with the descriptor's unit when its header gives one ("Concentration
ng/mL", converted to µg/mL; none: µg/mL assumed with gen5's warning), one named Control(s)
is left out, and every other group's samples are the samples, numbered 1…N in file order
(`Measurement.video`, named in the settings `sample_<n>`), each multiplied by its
descriptor when the descriptor is a dilution (`Dilution`, `Factor`: basis STOCK), else
MEASURED with a warning. Without groups the file says nothing about which well is what:
evqc then reports no protein values, says why, and `read_plate` still gives the
absorbances. SoftMax's own results (`InterpX(…)` columns) are not read: evqc owns the fit.
Not through allotropy, for the reasons gen5's docstring gives.

Only endpoint absorbance plates exported in plate format are read; kinetic, spectrum,
time-format, fluorescence and luminescence plates are refused by name. Of several plates or
wavelengths the first is used, with a warning. The export gives no read time (`Date Last
Saved` is when the file was saved): performed_at is None.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from typing import Any

from evqc.exceptions import UnitError
from evqc.instruments import Export, ExportError, decode
from evqc.instruments.gen5 import (
    BCA_WAVELENGTHS,
    METHOD_ASSUMED,
    NOT_BCA_WAVELENGTH,
    UNIT_ASSUMED,
    Plate,
    Well,
    protein,  # gen5's analysis: blank, standard curve, samples (the same for both readers)
)
from evqc.units import parse_quantity
from evqc.vocabulary import AssayMethod

FORMAT = "softmax"
SIGNATURE = re.compile(r"##BLOCKS=\s*(\d+)")
END = "~End"
EXPORT_VERSION = "1.3"
# Positions in a `Plate:` line of an absorbance section (export format 1.3); other read
# modes insert fields and shift them.
NAME, VERSION, EXPORT_FORMAT, READ_TYPE, READ_MODE, DATA_TYPE = 1, 2, 3, 4, 5, 6
WAVELENGTHS, COLUMN_COUNT, FIRST_ROW, ROW_COUNT = 15, 17, 19, 20

EMPTY = "is empty"
NOT_SOFTMAX = "does not start with '##BLOCKS=': it is not a SoftMax Pro text export"
CUT_SECTION = "the {kind} section that starts at line {line} has no ~End: the file is truncated"
CUT_FOOTER = (
    "line {line}: the closing 'Original Filename: …; Date Last Saved: …' line is cut: the "
    "file is truncated"
)
MISSING_SECTIONS = (
    "has {found} of the {announced} sections its ##BLOCKS= line announces: the file is truncated"
)
NO_PLATE = "has no Plate section: there are no absorbances to read"
BAD_PLATE_LINE = (
    "line {line}: the Plate: line has no {what} where SoftMax export format 1.3 puts it"
)
UNSUPPORTED = (
    "line {line}: the plate {name!r} is a {what} read; evqc reads endpoint absorbance plates "
    "exported in plate format (BCA, microBCA)"
)
BAD_COLUMNS = (
    "line {line}: expected 'Temperature(°C)' and the plate's column numbers after the Plate: line"
)
MISSING_ROWS = (
    "the plate {name!r} has {found} of its {expected} rows of wells (line {line}): the file "
    "is cut or the plate was not read"
)
SHORT_ROW = "line {line} has {found} cells where the plate has {expected}: the file is cut"

OTHER_VERSION = "the export format is {version}, not {known}: check the values"
SEVERAL_PLATES = "the file holds several plates ({names}): evqc read the first, {name!r}"
SEVERAL_WAVELENGTHS = (
    "the plate was read at {wavelengths} nm: evqc used the first, {wavelength} nm"
)
REDUCED = (
    "the plate holds SoftMax's reduced values, not raw absorbances: a blank or a second "
    "wavelength may already be subtracted; check before trusting evqc's blank"
)
NOT_NUMBERS = "wells {wells} hold {texts}, not absorbances: they are left out"
NO_GROUPS = (
    "the export has no Group sections (Blank, Standards, samples): nothing says which well "
    "is a blank, a standard or a sample, so no protein values"
)
GROUP_WITHOUT_WELLS = "the group {name!r} lists no wells: left out"
WELL_TWICE = "well {well} is in the groups {first!r} and {second!r}: the first is used"
NOT_MASS = (
    "the standards' concentrations are in {unit!r}, not a mass concentration: not a protein "
    "plate, so no protein values"
)
NOT_DILUTION = (
    "the group {name!r} describes its samples by {descriptor!r}, not a dilution: they are "
    "read without one"
)
NO_READ_TIME = (
    "the export gives no read time (Date Last Saved {saved!r} is when the file was saved): "
    "performed_at is unknown"
)

NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?")
DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+(?:[eE][+-]?\d{1,3})?")
FOOTER = re.compile(r"Original Filename:\s*(.*?);\s*Date Last Saved:\s*(.*?)[\s,]*")
WELL = re.compile(r"[A-Z]{1,2}\d{1,2}")
BLANK = re.compile(r"(?:plate\s*)?blanks?\b", re.I)
STANDARD = re.compile(r"st(?:an)?d(?:ard)?s?\b", re.I)
CONTROL = re.compile(r"(?:controls?|ctls?)\b", re.I)
DILUTION = re.compile(r"dil|factor", re.I)
ROLES = frozenset({"!SampleNames", "!WellIDs", "!SampleDescriptor"})
# Without a `Group Column` table: the role of a column by the first word of its header.
HEADER_ROLES = {
    "sample": "!SampleNames",
    "well": "!WellIDs",
    "wells": "!WellIDs",
    "concentration": "!SampleDescriptor",
    "dilution": "!SampleDescriptor",
    "factor": "!SampleDescriptor",
}
MAX_LISTED = 12

Row = tuple[int, list[str]]  # (line number, cells)


@dataclass(frozen=True)
class _Section:
    kind: str  # "Plate", "Group", "Note", …
    rows: list[Row]  # the first is the section's own line; ~End is left out


@dataclass(frozen=True)
class _Group:
    """A SoftMax group: its samples in order, each with its wells and descriptor text."""

    name: str
    descriptor: str  # the !SampleDescriptor column's name, e.g. "Concentration" ("": none)
    unit: str  # what follows that name in the column's header, e.g. "ng/mL"
    samples: list[tuple[str, list[str], str]]  # (sample, wells, descriptor text)


def detect(text: str, data: bytes) -> bool:
    """A SoftMax Pro export: its first line is `##BLOCKS= <n>`."""
    return _announced(text) is not None


def read(data: bytes) -> Export:
    """Protein concentrations of the plate's samples, from evqc's fit of the Standards
    group; ExportError when the file is empty, not a SoftMax export or truncated."""
    plate = read_plate(data)
    header = plate.header
    warnings = [*plate.warnings, METHOD_ASSUMED]
    settings = _settings(plate, warnings)
    measurements = []
    if plate.layout:
        measurements = protein(plate, settings, warnings)
        if header["standards unit"]:  # gen5 assumes µg/mL; this file gave the unit
            warnings = [warning for warning in warnings if warning != UNIT_ASSUMED]
    else:
        warnings.append(NO_GROUPS)
    warnings.append(NO_READ_TIME.format(saved=header.get("date last saved", "")))
    return Export(
        format=FORMAT,
        format_version=f"SoftMax Pro text export {header['export version']}",
        method=AssayMethod.BCA,
        measurements=tuple(measurements),
        settings=settings,
        warnings=tuple(dict.fromkeys(warnings)),
    )


def _settings(plate: Plate, warnings: list[str]) -> dict[str, Any]:
    """The plate, its read and the footer under evqc's names; the samples' names by number."""
    header = plate.header
    nm = int(plate.read)
    settings: dict[str, Any] = {"plate_name": header["plate name"], "read_wavelength": f"{nm} nm"}
    if not BCA_WAVELENGTHS[0] <= nm <= BCA_WAVELENGTHS[1]:
        warnings.append(NOT_BCA_WAVELENGTH.format(wavelength=f"{nm} nm"))
    if NUMBER.fullmatch(header["temperature"]):
        settings["temperature"] = parse_quantity((header["temperature"], "degC"), "temperature")
    for key in ("original filename", "date last saved"):
        if header.get(key):
            settings[key.replace(" ", "_")] = header[key]
    for well in sorted(plate.layout.values(), key=lambda well: well.number or 0):
        if well.kind == "SPL" and well.number:
            settings[f"sample_{well.number}"] = well.id
    return settings


def read_plate(data: bytes) -> Plate:
    """The first plate's absorbances by well, the layout its groups give (gen5's Well
    kinds BLK, STD, SPL, CTL) and what the Plate: line and the footer say."""
    text = decode(data).removeprefix("\ufeff").removeprefix("ï»¿")
    if not text.strip():
        raise ExportError(EMPTY, "empty_export")
    announced = _announced(text)
    if announced is None:
        raise ExportError(NOT_SOFTMAX, "unknown_format", line=1)
    lines = text.splitlines()  # LF, CRLF and bare CR alike
    plate_line = next((line for line in lines if line.startswith("Plate:")), "")
    delimiter = "\t" if "\t" in plate_line else ","
    sections, footer = _sections(lines, announced, delimiter)
    plates = [section for section in sections if section.kind == "Plate"]
    if not plates:
        raise ExportError(NO_PLATE, "truncated_export", section="Plate")
    warnings: list[str] = []
    if len(plates) > 1:
        names = [_cell(plate.rows[0][1], NAME) for plate in plates]
        warnings.append(SEVERAL_PLATES.format(names=", ".join(names), name=names[0]))
    header, absorbance = _plate(plates[0], delimiter, warnings)
    if footer:
        header["original filename"], header["date last saved"] = footer[1], footer[2]
    groups = [_group(section) for section in sections if section.kind == "Group"]
    layout = _layout(groups, warnings)
    standards = [group for group in groups if _kind(group) == "STD" and group.unit]
    header["standards unit"] = standards[0].unit if standards else ""
    return Plate(header, header["wavelength"], absorbance, layout, {}, tuple(warnings))


# The file's structure
# ------------------------------------------------------------------------------


def _announced(text: str) -> int | None:
    """The number of sections line 1 announces; None when it is not `##BLOCKS= <n>`."""
    lines = text.removeprefix("\ufeff").removeprefix("ï»¿").splitlines()
    first = next((line for line in lines if line.strip()), "")
    found = SIGNATURE.fullmatch(first.strip().rstrip(",\t "))
    return int(found[1]) if found else None


def _cell(cells: list[str], index: int) -> str:
    return cells[index] if index < len(cells) else ""


def _split(line: str, delimiter: str) -> list[str]:
    return [cell.strip() for cell in next(csv.reader([line], delimiter=delimiter), [])]


def _sections(
    lines: list[str], announced: int, delimiter: str
) -> tuple[list[_Section], re.Match[str] | None]:
    """The sections between line 2 and the footer, each up to its ~End."""
    sections: list[_Section] = []
    footer = None
    current: list[Row] = []
    for number, line in enumerate(lines[1:], 2):
        cells = _split(line, delimiter)
        if current:
            if _cell(cells, 0) == END:
                kind = _cell(current[0][1], 0).split(":")[0].strip()
                sections.append(_Section(kind, current))
                current = []
            else:
                current.append((number, cells))
        elif FOOTER.fullmatch(line.strip()):
            footer = FOOTER.fullmatch(line.strip())
        elif any(cells):
            current = [(number, cells)]
    if current:
        start, first = current[0]
        kind = _cell(first, 0).split(":")[0].strip()
        template = CUT_FOOTER if kind == "Original Filename" else CUT_SECTION
        message = template.format(kind=kind, line=start)
        raise ExportError(message, "truncated_export", line=start)
    if len(sections) < announced:
        message = MISSING_SECTIONS.format(found=len(sections), announced=announced)
        raise ExportError(message, "truncated_export")
    return sections, footer


def _plate(
    section: _Section, delimiter: str, warnings: list[str]
) -> tuple[dict[str, str], dict[str, float]]:
    """What the Plate: line says, and the first wavelength's absorbance by well."""
    line, fields = section.rows[0]
    name = _cell(fields, NAME)
    for what, index, expected in (
        ("plate format", EXPORT_FORMAT, "PlateFormat"),
        ("endpoint", READ_TYPE, "Endpoint"),
        ("absorbance", READ_MODE, "Absorbance"),
    ):
        if _cell(fields, index) != expected:
            shown = f"{_cell(fields, index) or 'unnamed'} ({what} expected)"
            message = UNSUPPORTED.format(line=line, name=name, what=shown)
            raise ExportError(message, "unsupported_export", line=line)
    version = _cell(fields, VERSION)
    if version != EXPORT_VERSION:
        warnings.append(OTHER_VERSION.format(version=version, known=EXPORT_VERSION))
    if _cell(fields, DATA_TYPE) == "Reduced":
        warnings.append(REDUCED)
    wavelengths = _cell(fields, WAVELENGTHS).split()
    counts = [_cell(fields, index) for index in (COLUMN_COUNT, FIRST_ROW, ROW_COUNT)]
    for what, texts in (("wavelength", wavelengths[:1]), ("plate size", counts)):
        if not texts or not all(text.isdigit() for text in texts):
            message = BAD_PLATE_LINE.format(line=line, what=what)
            raise ExportError(message, "unreadable_export", line=line)
    if len(wavelengths) > 1:
        shown = ", ".join(wavelengths)
        warnings.append(SEVERAL_WAVELENGTHS.format(wavelengths=shown, wavelength=wavelengths[0]))
    columns, first_row, row_count = (int(count) for count in counts)
    header = {"plate name": name, "export version": version, "wavelength": wavelengths[0]}
    rows = section.rows[1:]
    numbers = _column_numbers(rows, columns, line)
    data = [row for row in rows[1 : row_count + 1] if any(row[1])]
    if len(data) < row_count:
        last = (data or rows or section.rows)[-1][0]
        message = MISSING_ROWS.format(name=name, found=len(data), expected=row_count, line=last)
        raise ExportError(message, "truncated_export", line=last)
    header["temperature"] = _cell(data[0][1], 1)
    comma = delimiter == "\t"  # a decimal comma cannot occur in a comma-delimited file
    return header, _absorbances(data, numbers, first_row, comma, warnings)


def _column_numbers(rows: list[Row], columns: int, plate_line: int) -> list[str]:
    """The plate's column numbers, from the line under Plate: (`Temperature(°C)`, 1, 2, …)."""
    line, cells = rows[0] if rows else (plate_line + 1, [])
    numbers = cells[2 : 2 + columns]
    if (
        not _cell(cells, 1).startswith("Temperature(")
        or len(numbers) < columns
        or not all(map(str.isdigit, numbers))
    ):
        raise ExportError(BAD_COLUMNS.format(line=line), "unreadable_export", line=line)
    return numbers


def _absorbances(
    data: list[Row], numbers: list[str], first_row: int, comma: bool, warnings: list[str]
) -> dict[str, float]:
    absorbance: dict[str, float] = {}
    unreadable: dict[str, str] = {}
    for index, (line, cells) in enumerate(data):
        if len(cells) < 2 + len(numbers):
            message = SHORT_ROW.format(line=line, found=len(cells), expected=2 + len(numbers))
            raise ExportError(message, "truncated_export", line=line)
        letter = chr(ord("A") + first_row - 1 + index)
        for number, text in zip(numbers, cells[2 : 2 + len(numbers)], strict=True):
            if comma and DECIMAL_COMMA.fullmatch(text):
                text = text.replace(",", ".")
            if NUMBER.fullmatch(text):
                absorbance[f"{letter}{number}"] = float(text)
            elif text:
                unreadable[f"{letter}{number}"] = text
    if unreadable:
        wells = ", ".join(list(unreadable)[:MAX_LISTED])
        if len(unreadable) > MAX_LISTED:
            wells += f" and {len(unreadable) - MAX_LISTED} more"
        texts = ", ".join(repr(text) for text in dict.fromkeys(unreadable.values()))
        warnings.append(NOT_NUMBERS.format(wells=wells, texts=texts))
    return absorbance


def _group(section: _Section) -> _Group:
    """A group's samples: a named row starts a sample, the rows below it add its wells."""
    name = section.rows[0][1][0].removeprefix("Group:").strip()
    head = section.rows[1][1] if len(section.rows) > 1 else []
    columns, descriptor = _columns(section.rows, head)

    def cell(cells: list[str], role: str) -> str:
        return _cell(cells, columns.get(role, len(cells)))

    samples: list[tuple[str, list[str], str]] = []
    for _, cells in section.rows[2:]:
        if not any(cells):
            break
        if cell(cells, "!SampleNames"):
            samples.append((cell(cells, "!SampleNames"), [], cell(cells, "!SampleDescriptor")))
        if samples and WELL.fullmatch(cell(cells, "!WellIDs")):
            samples[-1][1].append(cell(cells, "!WellIDs"))
    unit = cell(head, "!SampleDescriptor").removeprefix(descriptor).strip()
    return _Group(name, descriptor, unit if descriptor else "", samples)


def _columns(rows: list[Row], head: list[str]) -> tuple[dict[str, int], str]:
    """Which column holds each role (`!SampleNames`, `!WellIDs`, `!SampleDescriptor`), from
    the `Group Column` table (column number, formula name, formula), else from the headers;
    and the descriptor's name ("Concentration", "Dilution")."""
    columns: dict[str, int] = {}
    descriptor = ""
    table = next((i for i, (_, cells) in enumerate(rows) if _cell(cells, 0) == "Group Column"), 0)
    for _, cells in rows[table + 1 :] if table else []:
        if _cell(cells, 0).isdigit() and _cell(cells, 2) in ROLES:
            columns[cells[2]] = int(cells[0]) - 1
            if cells[2] == "!SampleDescriptor":
                descriptor = _cell(cells, 1)
    if table:
        return columns, descriptor
    for index, header in enumerate(head):
        first = header.split(" ")[0]
        role = HEADER_ROLES.get(first.lower())
        if role:
            columns.setdefault(role, index)
            descriptor = descriptor or (first if role == "!SampleDescriptor" else "")
    return columns, descriptor


def _layout(groups: list[_Group], warnings: list[str]) -> dict[str, Well]:
    """Groups as gen5's layout: Blank -> BLK, Standards -> STD (nominal concentration in
    µg/mL), Control -> CTL, any other group's samples -> SPL 1…N (their dilution)."""
    layout: dict[str, Well] = {}
    owner: dict[str, str] = {}
    spl = 0
    for group in groups:
        if not any(wells for _, wells, _ in group.samples):
            warnings.append(GROUP_WITHOUT_WELLS.format(name=group.name))
            continue
        kind = _kind(group)
        values = _descriptors(group, kind, warnings)
        for index, (sample, wells, _) in enumerate(group.samples):
            if kind == "SPL":
                spl += 1
            number = spl if kind == "SPL" else index + 1
            entry = Well(f"{group.name} {sample}", kind, number, values[index])
            for well in wells:
                if well in owner:
                    shown = WELL_TWICE.format(well=well, first=owner[well], second=group.name)
                    warnings.append(shown)
                    continue
                owner[well], layout[well] = group.name, entry
    return layout


def _kind(group: _Group) -> str:
    for pattern, kind in ((BLANK, "BLK"), (STANDARD, "STD"), (CONTROL, "CTL")):
        if pattern.match(group.name):
            return kind
    return "SPL"


def _descriptors(group: _Group, kind: str, warnings: list[str]) -> list[float | None]:
    """Per sample: a standard's concentration in µg/mL, a sample's dilution, else None."""
    texts = [text.replace(",", ".") for _, _, text in group.samples]
    numbers = [float(text) if NUMBER.fullmatch(text) else None for text in texts]
    if kind == "STD" and group.unit:
        try:
            factor = parse_quantity((1.0, group.unit), "mass_concentration").canonical_value
        except UnitError:
            warnings.append(NOT_MASS.format(unit=group.unit))
            return [None for _ in numbers]
        return [None if value is None else value * factor for value in numbers]
    if kind == "SPL" and group.descriptor and not DILUTION.search(group.descriptor):
        warnings.append(NOT_DILUTION.format(name=group.name, descriptor=group.descriptor))
        return [None for _ in numbers]
    return numbers if kind in ("STD", "SPL") else [None for _ in numbers]
