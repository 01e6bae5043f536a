"""Reader of Malvern NanoSight `…-ExperimentSummary.csv` exports (NTA 3.2, 3.3, 3.4).

The file is comma-separated sections (`[Experiment Details]`, `[Conditions]`, `[Settings]`,
`[Results]`, `[Concentration Warnings]`, `[Information]`, `[Size Data]`, …): column 1 holds
a key, columns 2…N+1 one value per video, and some rows add `Average` and `Standard Error`
(../shared/design/instrument-formats.md §1). Traps this reader handles:

- Header lengths, padding and trailing commas change between versions and after an Excel
  re-save, so sections are found by their marker text, the videos are counted from the
  `Filename:` manifest and `Average`/`Standard Error` are found by name, never by position.
- Numbers come as `6.09e+12`, `7.10e+008` or `1430000000`, next to `Not recorded`: they are
  read strictly, and a missing value becomes a warning, never a zero.
- Dilution (§1.4, §8): a numeric `Dilution factor` means every concentration is already the
  stock's; `Not recorded` means they are the diluted sample's. A dilution in free text
  ("d200", "_1000_") is only ever offered as `suggested_dilution`, never applied.
- `Time Captured` ("11:52:04  16/06/2020") is the instrument computer's local time without
  a time zone: it is returned naive, with a warning, for a person to place.
Only the number-weighted size block is read; surface-area, volume and diffusion blocks are
left alone. Per-video capture files ("NTA Single Analysis Summary File") are refused.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from evqc.exceptions import UnitError
from evqc.instruments import Distribution, Export, ExportError, Measurement, decode
from evqc.units import QuantityValue, parse_quantity
from evqc.vocabulary import AssayMethod, ResultBasis

FORMAT = "nanosight"
SIGNATURE = "NTA Experiment Summary File"
SINGLE_ANALYSIS = "NTA Single Analysis Summary File"
TESTED_VERSIONS = ((3, 2), (3, 3), (3, 4))

EMPTY = "is empty"
NOT_EXPERIMENT_SUMMARY = (
    "does not start with 'NTA Experiment Summary File': it is not a NanoSight experiment "
    "summary (a table saved from one under the same name is not enough)"
)
SINGLE_ANALYSIS_REFUSED = (
    "is an NTA single analysis summary (one video); evqc reads the experiment summary, the "
    "…-ExperimentSummary.csv file NTA writes for the whole experiment"
)
MISSING_PART = "has no {part}: the file is truncated or not a complete NTA experiment summary"
CUT_TABLE = "ends inside the {table} at line {line}: the file is truncated"
SHORT_ROW = "line {line} has {found} cells where the {table} has {expected}: the file is cut"
BAD_NUMBER = "line {line}: {what} is {text!r}, not a number"
BAD_VALUE = "line {line}: {what}: {error}"
COLUMNS_OVERLAP = "line {line}: the Average column comes before the last of the {n} videos"
OTHER_VIDEOS = "line {line}: the size data lists other videos than the Filename: row"

MISSING_VALUE = "{what} of video {video} is missing ({text!r})"
MISSING_AVERAGE = "{what} has no Average: only the per-video values are returned"
NO_TIME_ZONE = (
    "Time Captured {text!r} gives no time zone: performed_at is the instrument computer's "
    "local time; say which time zone before it is stored"
)
NO_TIME = "Time Captured is empty or unreadable ({text!r}): performed_at is unknown"
UNKNOWN_SOFTWARE = "Software Version is {text!r}; the version on line 2 ({version}) is used"
UNTESTED_VERSION = "evqc reads NTA 3.2 to 3.4; this file is from {version}: check the values"
NOT_RECORDED = (
    "the dilution factor is not recorded: concentrations are the measured (diluted) "
    "sample's; give the dilution to get the stock's"
)
SUGGESTED = (
    "the name {name!r} suggests a dilution of {factor:g}; it is only a suggestion and was "
    "not applied: confirm or replace it"
)
MIXED_DILUTION = (
    "the videos record different dilution factors ({factors}): the average mixes them and "
    "has no basis; check the file"
)
NO_DILUTION_ROW = "the [Results] section has no Dilution factor row: treated as not recorded"
ZERO_VIDEO = (
    "video {video} reports a concentration of exactly {text}: a failed capture? the "
    "instrument's average includes it"
)
SUM_MISMATCH = (
    "the size distribution sums to {total:.4g} particles/mL but the file reports an average "
    "of {average:.4g} ({difference:.1%} apart, more than 1 %)"
)
NO_BIN_AVERAGE = "the size distribution has no Concentration average: evqc averaged the videos"
MODE_OUTSIDE = "the modal size {mode:g} nm lies outside the distribution ({low:g} to {high:g} nm)"
SETTING_DIFFERS = "{what} differs between videos ({values}): not given as one setting"

MISSING_TOKENS = frozenset({"", "not recorded", "nan", "-nan(ind)", "n/a", "na"})
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?")
TIME_CAPTURED = re.compile(r"(\d{1,2}:\d{2}:\d{2})\s+(\d{1,2}/\d{1,2}/\d{4})")
# Free-text dilution hints (§1.4): "d200", "_1000_", "-1000"; dates and times are removed
# first so "2021-04-01 15-42-48" suggests nothing.
DATES = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}-\d{2}-\d{2}")
HINT = re.compile(r"(?<![a-z0-9])d(\d+)(?![\d.])|_(\d+)_|(?<![\d-])-(\d+)(?![\d-])", re.I)
STATISTICS = {
    "mean": "size_mean",
    "mode": "size_mode",
    "sd": "size_sd",
    "d10": "size_d10",
    "d50": "size_d50",
    "d90": "size_d90",
}
# QC values that say nothing is wrong; rows that report a correction, not a problem.
QC_FINE = frozenset({"", "ok", "no", "none"})
QC_NOT_FLAGS = frozenset({"vibration correction applied"})
# evqc setting -> (section, row key, unit, kind, whether videos may be averaged)
SETTINGS = {
    "temperature": ("conditions", "temperature", "degC", "temperature", True),
    "viscosity": ("conditions", "viscosity", "cP", "viscosity", True),
    "camera_level": ("conditions", "camera level", "", "number", False),
    "detection_threshold": ("settings", "detection threshold", "", "number", False),
    "frames_analysed": ("settings", "total frames analysed", "", "count", False),
}

Row = tuple[int, list[str]]  # (line number, cells)
Bases = Mapping[int | None, ResultBasis | None]  # video (None: the average) -> basis


@dataclass(frozen=True)
class _SizeBlock:
    """The number-weighted block of [Size Data]: statistics rows and the 1-nm bins."""

    statistics: list[Row]
    columns: tuple[int | None, int | None]  # Average, Standard Error
    bins_header: Row
    bins: list[Row]


def detect(text: str, data: bytes) -> bool:
    """A NanoSight summary, by its first line (single-analysis summaries too, so that
    `read` can say why it refuses them)."""
    lines = _without_bom(text)[:200].splitlines()
    first = lines[0].split(",")[0].strip().strip('"') if lines else ""
    return first in (SIGNATURE, SINGLE_ANALYSIS)


def read(data: bytes) -> Export:
    """The experiment summary's values with units, bins, settings, QC flags and warnings;
    ExportError when the file is empty, not an experiment summary or truncated."""
    text = _without_bom(decode(data))
    if not text.strip():
        raise ExportError(EMPTY, "empty_export")
    rows = _rows(text)
    first = _cell(rows[0][1], 0) if rows else ""
    if first == SINGLE_ANALYSIS:
        raise ExportError(SINGLE_ANALYSIS_REFUSED, "unsupported_export", line=1)
    if first != SIGNATURE:
        raise ExportError(NOT_EXPERIMENT_SUMMARY, "unknown_format", line=1)
    sections = _sections(rows)
    details = {
        cells[0].lower(): _cell(cells, 1)
        for _, cells in sections.get("experiment details", [])
        if cells
    }
    manifest = next((cells for _, cells in rows if _cell(cells, 0) == "Filename:"), [])
    videos = [cell for cell in manifest[1:] if cell]
    n = len(videos)
    for part, present in (
        ("Filename: row (the list of videos)", n > 0),
        ("[Results] section", "results" in sections),
        ("[Size Data] section", "size data" in sections),
    ):
        if not present:
            raise ExportError(MISSING_PART.format(part=part), "truncated_export", section=part)
    block = _size_block(sections["size data"], n, videos)
    _check_end(rows, sections, n)

    warnings: list[str] = []
    format_version = _cell(rows[1][1], 0).removeprefix("Created with").strip()
    software = details.get("software version", "")
    if software.lower() in ("", "unknown"):
        warnings.append(UNKNOWN_SOFTWARE.format(text=software, version=format_version))
        software = format_version
    version = re.search(r"NTA (\d+)\.(\d+)", format_version)
    if version is None or (int(version[1]), int(version[2])) not in TESTED_VERSIONS:
        warnings.append(UNTESTED_VERSION.format(version=format_version or "an unknown version"))
    experiment = details.get("experiment name", "").removesuffix(".nano")
    sample = details.get("sample description") or details.get("sample name") or ""

    results = sections["results"]
    dilution, bases, suggestion = _dilution(results, n, (sample, experiment), warnings)
    concentration = _row(results[1:], "concentration")
    if concentration is None:
        part = "Concentration row in [Results]"
        raise ExportError(MISSING_PART.format(part=part), "truncated_export", section=part)
    unit = _unit(concentration[1][0]) or "particle/mL"
    columns = _summary_columns(results[0], n)
    measurements = _measurements(
        "particle_concentration", concentration, n, columns, unit, bases, warnings
    )
    qc_flags = []
    for video in range(1, n + 1):
        text = _cell(concentration[1], video)
        if NUMBER.fullmatch(text) and float(text) == 0:
            warnings.append(ZERO_VIDEO.format(video=video, text=text))
            qc_flags.append(f"video {video}: Concentration: {text}")
    for key, attribute in STATISTICS.items():
        row = _row(block.statistics, key)
        if row is not None:
            measurements += _measurements(attribute, row, n, block.columns, "nm", {}, warnings)
    distributions = _distributions(block, n, bases, warnings)
    _self_check(measurements, distributions[0], warnings)

    for name in ("concentration warnings", "information"):
        for _, cells in sections.get(name, [])[1:]:
            if cells and cells[0].lower() not in QC_NOT_FLAGS:
                for video in range(1, n + 1):
                    value = _cell(cells, video)
                    if value.lower() not in QC_FINE:
                        qc_flags.append(f"video {video}: {cells[0]}: {value}")
    conditions = sections.get("conditions", [])
    return Export(
        format=FORMAT,
        format_version=format_version,
        method=AssayMethod.NTA,
        software_version=software,
        instrument=_instrument(conditions, n),
        sample=sample or experiment,
        performed_at=_performed_at(details.get("time captured", ""), warnings),
        # the averages first, then video by video (the sort is stable)
        measurements=tuple(sorted(measurements, key=lambda item: item.video or 0)),
        distributions=tuple(distributions),
        settings=_settings(sections, n, warnings),
        instrument_dilution=dilution,
        suggested_dilution=suggestion,
        qc_flags=tuple(dict.fromkeys(qc_flags)),
        warnings=tuple(dict.fromkeys(warnings)),
    )


# The file's structure
# ------------------------------------------------------------------------------


def _without_bom(text: str) -> str:
    # A BOM survives decoding when the rest of the file is not UTF-8 (cp1252 reads it as ï»¿).
    return text.removeprefix("\ufeff").removeprefix("ï»¿")


def _rows(text: str) -> list[Row]:
    reader = csv.reader(text.splitlines())  # LF, CRLF and bare CR alike
    try:
        return [(reader.line_num, [cell.strip() for cell in cells]) for cells in reader]
    except csv.Error as error:
        line = reader.line_num
        raise ExportError(f"line {line}: {error}", "unreadable_export", line=line) from None


def _sections(rows: list[Row]) -> dict[str, list[Row]]:
    """Rows by section ("results", "size data", …), each list starting with its marker row."""
    sections: dict[str, list[Row]] = {"": []}
    current = ""
    for line, cells in rows:
        marker = re.fullmatch(r"\[(.+)\]", _cell(cells, 0))
        if marker:
            current = marker[1].strip().lower()
            sections.setdefault(current, [])
        sections[current].append((line, cells))
    return sections


def _cell(cells: list[str], index: int) -> str:
    return cells[index] if index < len(cells) else ""


def _key(cell: str) -> str:
    """A row's key without its unit: "Temperature/C" -> "temperature"."""
    return re.split(r"[/(]", cell, maxsplit=1)[0].strip().lower()


def _row(rows: list[Row], key: str) -> Row | None:
    return next((row for row in rows if row[1] and _key(row[1][0]) == key), None)


def _unit(cell: str) -> str:
    """The unit in a header's parentheses: "Concentration (Particles / ml)" -> "Particles / ml"."""
    found = re.search(r"\(([^)]*)\)\s*$", cell)
    return found[1].strip() if found else ""


def _summary_columns(header: Row, n: int) -> tuple[int | None, int | None]:
    """Where the Average and Standard Error columns are, found by name."""
    line, cells = header
    names = [cell.lower() for cell in cells]
    average = next((i for i, name in enumerate(names) if name.endswith("average")), None)
    error = next((i for i, name in enumerate(names) if name == "standard error"), None)
    if any(index is not None and index <= n for index in (average, error)):
        raise ExportError(COLUMNS_OVERLAP.format(line=line, n=n), "unreadable_export", line=line)
    return average, error


def _check_end(rows: list[Row], sections: dict[str, list[Row]], n: int) -> None:
    """A file whose every block promises percentiles ends with a full "100" percentile row."""
    included = [cells[0] for _, cells in sections.get("data included", [])[1:] if any(cells)]
    if not included or not all("with percentiles" in text.lower() for text in included):
        return
    line, cells = next(row for row in reversed(rows) if any(row[1]))
    if _cell(cells, 0) != "100" or len(cells) < n + 1:
        table = "last percentile table"
        raise ExportError(CUT_TABLE.format(table=table, line=line), "truncated_export", line=line)


def _size_block(rows: list[Row], n: int, videos: list[str]) -> _SizeBlock:
    def find(start: int, test: str, what: str) -> int:
        for index in range(start, len(rows)):
            if _key(_cell(rows[index][1], 0)) == test:
                return index
        raise ExportError(MISSING_PART.format(part=what), "truncated_export", section=what)

    start = next(
        (
            i
            for i, (_, cells) in enumerate(rows)
            if [_key(c) for c in cells[:2]] == ["weighting", "number"]
        ),
        None,
    )
    if start is None:
        what = "number-weighted block in [Size Data]"
        raise ExportError(MISSING_PART.format(part=what), "truncated_export", section=what)
    header = find(start, "filename", "Filename row of the size data")
    line, cells = rows[header]
    if cells[1 : n + 1] != videos:
        raise ExportError(OTHER_VIDEOS.format(line=line), "unreadable_export", line=line)
    graph = find(header, "bin centre", "size distribution table (Bin centre …)")
    bins = []
    for row in rows[graph + 1 :]:
        if not any(row[1]) or not NUMBER.fullmatch(row[1][0]):
            break
        bins.append(row)
    else:  # the section ended inside the table: no blank line, no Percentile table after it
        line = rows[-1][0]
        table = "size distribution table"
        raise ExportError(CUT_TABLE.format(table=table, line=line), "truncated_export", line=line)
    return _SizeBlock(
        rows[header + 1 : graph], _summary_columns(rows[header], n), rows[graph], bins
    )


# Values
# ------------------------------------------------------------------------------


def _quantity(text: str, unit: str, kind: str, line: int, what: str) -> QuantityValue:
    try:
        return parse_quantity((text, unit), kind)
    except UnitError as error:
        message = BAD_VALUE.format(line=line, what=what, error=error)
        raise ExportError(message, "unreadable_export", line=line) from None


def _measurements(
    attribute: str,
    row: Row,
    n: int,
    columns: tuple[int | None, int | None],
    unit: str,
    bases: Bases,
    warnings: list[str],
) -> list[Measurement]:
    """The row's Average (with its Standard Error) and per-video values as measurements."""
    line, cells = row
    what = cells[0]
    kind = "particle_concentration" if attribute == "particle_concentration" else "length"
    found = []
    average, error = columns
    text = _cell(cells, average) if average is not None else ""
    if NUMBER.fullmatch(text):
        se_text = _cell(cells, error) if error is not None else ""
        se = _quantity(se_text, unit, kind, line, what) if NUMBER.fullmatch(se_text) else None
        quantity = _quantity(text, unit, kind, line, what)
        found.append(Measurement(attribute, quantity, bases.get(None), se=se, n=n, reported=text))
    else:
        warnings.append(MISSING_AVERAGE.format(what=what))
    for video in range(1, n + 1):
        text = _cell(cells, video)
        if NUMBER.fullmatch(text):
            quantity = _quantity(text, unit, kind, line, what)
            found.append(Measurement(attribute, quantity, bases.get(video), video, reported=text))
        else:
            warnings.append(MISSING_VALUE.format(what=what, video=video, text=text))
    return found


def _dilution(
    results: list[Row], n: int, names: tuple[str, ...], warnings: list[str]
) -> tuple[float | None, Bases, float | None]:
    """The instrument's dilution, the basis of each video's concentration (None: the
    average) and a dilution suggested by the names when none is recorded (§1.4, §8)."""
    row = _row(results[1:], "dilution factor")
    if row is None:
        warnings.append(NO_DILUTION_ROW)
    line, cells = row or (0, ["Dilution factor"])
    factors: list[float | None] = []
    for video in range(1, n + 1):
        text = _cell(cells, video)
        if NUMBER.fullmatch(text):
            factors.append(_quantity(text, "", "dilution_factor", line, cells[0]).value)
            continue
        if text.lower() not in MISSING_TOKENS:
            warnings.append(MISSING_VALUE.format(what=cells[0], video=video, text=text))
        factors.append(None)
    bases: dict[int | None, ResultBasis | None] = {None: None}
    for video, factor in enumerate(factors, 1):
        bases[video] = ResultBasis.MEASURED if factor is None else ResultBasis.STOCK
    if None not in factors and len(set(factors)) == 1:
        # The instrument multiplied every concentration by it: they are the stock's.
        bases[None] = ResultBasis.STOCK
        return factors[0], bases, None
    if set(factors) == {None}:
        warnings.append(NOT_RECORDED)
        bases[None] = ResultBasis.MEASURED
        return None, bases, _suggestion(names, warnings)
    shown = ", ".join("not recorded" if f is None else f"{f:g}" for f in factors)
    warnings.append(MIXED_DILUTION.format(factors=shown))
    return None, bases, None


def _suggestion(names: tuple[str, ...], warnings: list[str]) -> float | None:
    """A dilution that the sample or experiment name suggests, if exactly one does."""
    found: dict[float, str] = {}
    for name in names:
        for hint in HINT.finditer(DATES.sub(" ", name)):
            factor = float(next(group for group in hint.groups() if group))
            if factor >= 2:
                found.setdefault(factor, name)
    if len(found) != 1:
        return None
    [(factor, name)] = found.items()
    warnings.append(SUGGESTED.format(name=name, factor=factor))
    return factor


def _distributions(
    block: _SizeBlock, n: int, bases: Bases, warnings: list[str]
) -> list[Distribution]:
    """The averaged 1-nm bins (first), then each video's; values are particles/mL per nm."""
    header_line, header = block.bins_header
    centre_unit = _unit(header[0]) or "nm"
    _quantity("1", centre_unit, "length", header_line, header[0])
    average, _ = _summary_columns(block.bins_header, n)
    width = max(n, average or 0) + 1
    centres: list[float] = []
    columns: list[list[float]] = [[] for _ in range(n + 1)]  # 0: the average
    for line, cells in block.bins:
        if len(cells) < width:
            message = SHORT_ROW.format(
                line=line, found=len(cells), table="size distribution table", expected=width
            )
            raise ExportError(message, "truncated_export", line=line)
        centres.append(float(cells[0]))
        for column, index in enumerate([average, *range(1, n + 1)]):
            if index is None:
                continue
            text = cells[index]
            if not NUMBER.fullmatch(text):
                what = f"the bin at {cells[0]} {centre_unit}"
                raise ExportError(BAD_NUMBER.format(line=line, what=what, text=text), line=line)
            columns[column].append(
                _quantity(text, "particle/mL/nm", "size_density", line, header[index]).value
            )
    if average is None:
        warnings.append(NO_BIN_AVERAGE)
        columns[0] = [sum(values) / n for values in zip(*columns[1:], strict=True)]
    return [
        Distribution(
            tuple(centres),
            tuple(values),
            centre_unit,
            "particle/mL/nm",
            "concentration_density",
            basis=bases.get(video),
            video=video,
        )
        for video, values in zip([None, *range(1, n + 1)], columns, strict=True)
    ]


def _self_check(
    measurements: list[Measurement], overall: Distribution, warnings: list[str]
) -> None:
    """Σ of the averaged 1-nm bins is the average concentration (±1 %); the mode lies
    within the bins."""
    reported = {m.attribute: m.quantity.canonical_value for m in measurements if m.video is None}
    average = reported.get("particle_concentration")
    total = sum(overall.bin_values)  # particles/mL per nm, times 1 nm
    if average and abs(total - average) > 0.01 * average:
        difference = abs(total - average) / average
        warnings.append(SUM_MISMATCH.format(total=total, average=average, difference=difference))
    mode, centres = reported.get("size_mode"), overall.bin_centres
    if mode is not None and centres and not centres[0] <= mode <= centres[-1]:
        warnings.append(MODE_OUTSIDE.format(mode=mode, low=centres[0], high=centres[-1]))


# Experiment details and settings
# ------------------------------------------------------------------------------


def _performed_at(text: str, warnings: list[str]) -> datetime | None:
    captured = TIME_CAPTURED.fullmatch(text)
    if captured:
        try:
            # The file gives no time zone: a naive time, for a person to place (warning).
            moment = datetime.strptime(f"{captured[2]} {captured[1]}", "%d/%m/%Y %H:%M:%S")  # noqa: DTZ007
        except ValueError:  # "25:00:00  31/02/2020"
            pass
        else:
            warnings.append(NO_TIME_ZONE.format(text=text))
            return moment
    warnings.append(NO_TIME.format(text=text))
    return None


def _distinct(rows: list[Row], key: str, n: int) -> list[str]:
    row = _row(rows, key)
    values = [_cell(row[1], video) for video in range(1, n + 1)] if row else []
    return [value for value in dict.fromkeys(values) if value.lower() not in ("", "unknown")]


def _instrument(conditions: list[Row], n: int) -> str:
    parts = [f"{camera} camera" for camera in _distinct(conditions, "camera type", n)]
    parts += [f"{laser} laser" for laser in _distinct(conditions, "laser type", n)]
    return f"NanoSight ({', '.join(parts)})" if parts else "NanoSight"


def _settings(sections: dict[str, list[Row]], n: int, warnings: list[str]) -> dict[str, object]:
    """Settings under evqc's names; one value for all videos, or the mean where a
    per-video reading (temperature, viscosity) may differ slightly."""
    settings: dict[str, object] = {"video_count": parse_quantity((n, ""), "count")}
    for name, (section, key, unit, kind, averaged) in SETTINGS.items():
        row = _row(sections.get(section, [])[1:], key)
        if row is None:
            continue
        line, cells = row
        texts = [text for text in cells[1 : n + 1] if NUMBER.fullmatch(text)]
        values = [float(text) for text in texts]
        if len(set(values)) == 1:
            settings[name] = _quantity(texts[0], unit, kind, line, cells[0])
        elif values and averaged:
            mean = _quantity(f"{sum(values) / len(values):.6g}", unit, kind, line, cells[0])
            low, high = texts[values.index(min(values))], texts[values.index(max(values))]
            reported = f"mean of {len(values)} videos ({low} to {high} {unit})"
            settings[name] = mean._replace(reported=reported)
        elif values:
            shown = ", ".join(dict.fromkeys(texts))
            warnings.append(SETTING_DIFFERS.format(what=cells[0], values=shown))
    lasers = _distinct(sections.get("conditions", []), "laser type", n)
    wavelength = re.search(r"(\d{3})\s*(?:nm)?$", lasers[0]) if len(lasers) == 1 else None
    if wavelength:  # "Blue488" is a 488 nm laser
        settings["laser_wavelength"] = parse_quantity((wavelength[1], "nm"), "length")
    return settings
