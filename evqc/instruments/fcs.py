"""Flow cytometry standard (FCS 2.0, 3.0, 3.1) files, read through flowio.

Seen: Beckman CytoFLEX S, CytExpert 2.4.0.28, FCS3.0, TEXT delimited by a form feed,
zero-padded integers. flowio handles the HEADER, the delimiter and its escaping, byte
order and the offsets of files above 99,999,999 bytes; it drops every "$" from TEXT and
lower-cases the keywords, so `$VOL` is "vol" here. Only TEXT is read: evqc needs the
metadata, not the events.

What evqc takes: instrument ($CYT, $CYTSN), sample ($SRC, else CytExpert's tube name,
else $FIL), start ($DATE, $BTIM), software (CytExpert's SWVER, or CREATOR), event count
($TOT), acquisition volume ($VOL, nanolitres in FCS 3.1) and, from them, events per µL
of the sample as it ran: `$TOT / ($VOL × 1e-3)`. That is a measured (diluted)
concentration: the file never records the dilution, a person gives it (§8). Parameters
($PnN, $PnS) and CytExpert's detectors (CHnNM, gain, threshold) become text settings.
Warned, not refused: an empty acquisition ($TOT 0, $VOL 0), a file re-saved by other
software (R flowCore keywords, `transformation=applied`, a byte order CytExpert never
writes, or a $FIL that is not the uploaded file's name), a DATA segment whose length is
not $TOT × bytes per event, and more than one data set (only the first is read).
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from pathlib import PurePath, PureWindowsPath
from typing import Any
from warnings import catch_warnings, simplefilter

import flowio  # type: ignore[import-untyped]

from evqc.instruments import Export, ExportError, Measurement
from evqc.units import parse_quantity
from evqc.vocabulary import AssayMethod, ResultBasis

FORMAT = "fcs"
SIGNATURES = (b"FCS2.0", b"FCS3.0", b"FCS3.1")
HEADER_LENGTH = 58  # version, four spaces and six 8-byte offsets

NOT_FCS = 'is not an FCS file: it does not start with "FCS2.0", "FCS3.0" or "FCS3.1"'
CUT_SHORT = "is an FCS file cut short: its {segment} ends past the end of the file"
MISSING_KEYWORD = "is an FCS file without the required keyword ${keyword}"
UNREADABLE = "is an FCS file evqc cannot read: {detail}"
EMPTY = "the acquisition is empty: $TOT is 0 (no events were recorded)"
NO_VOLUME = "the file has no usable $VOL (acquisition volume): events per µL cannot be computed"
BAD_VALUE = "${keyword} {value!r} is not {what}"
NEEDS_DILUTION = (
    "events per µL are of the sample as it ran: FCS files do not record its dilution, "
    "so give the dilution to get the stock concentration"
)
RESAVED = (
    "the file was re-saved by other software ({reasons}): it is not the instrument's original"
)
RENAMED = '$FIL is "{fil}", not "{name}": the file was renamed, or re-saved from another file'
DATA_LENGTH = (
    "the DATA segment holds {actual} bytes, but $TOT × $PAR × bytes per value makes {expected}"
)
OFFSETS_DIFFER = "the HEADER and TEXT disagree on where DATA is; TEXT's offsets were used"
MORE_DATA_SETS = "the file holds more than one data set ($NEXTDATA); only the first was read"
NO_TIME_ZONE = (
    "$DATE and $BTIM give no time zone: performed_at is the instrument computer's local "
    "time; say which time zone before it is stored"
)
UNKNOWN_DATE = '$DATE "{value}" is in a format evqc does not know'

DATE_FORMATS = ("%d-%b-%Y", "%d-%b-%y", "%Y-%m-%d")
TIME = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})")
MAX_TEXT = 200  # the longest text setting a batch record takes


def detect(text: str, data: bytes) -> bool:
    return data[:6] in SIGNATURES


def read(data: bytes, *, file_name: str = "") -> Export:
    """The metadata and event concentration of an FCS file; ExportError if it is not one
    or is cut short. `file_name` (as uploaded) lets a $FIL naming another file be flagged."""
    if not detect("", data):
        raise ExportError(NOT_FCS, "unknown_format")
    warnings: list[str] = []
    fcs = _flow_data(data, warnings)
    text: dict[str, str] = fcs.text
    events: int = fcs.event_count
    settings: dict[str, Any] = {"event_count": events}
    volume = _number(text, "vol", "a volume in nL", warnings)
    if volume is not None and volume < 0:
        warnings.append(BAD_VALUE.format(keyword="VOL", value=text["vol"], what="a volume"))
        volume = None
    measurements = []
    if events == 0:
        warnings.append(EMPTY)
    if volume is not None:
        settings["acquisition_volume"] = parse_quantity((volume, "nL"), "volume", field="$VOL")
    if volume is None or volume <= 0:
        warnings.append(NO_VOLUME)
    else:
        per_ul = events / (volume * 1e-3)
        reported = f"$TOT {text['tot']} / $VOL {text['vol']}"
        quantity = parse_quantity((per_ul, "1/µL"), "particle_concentration")
        measurements.append(
            Measurement(
                "particle_concentration",
                quantity._replace(reported=reported),
                basis=ResultBasis.MEASURED,
                reported=reported,
            )
        )
        warnings.append(NEEDS_DILUTION)
    settings.update(_settings(text))
    warnings += _checks(fcs, text, file_name)
    serial = text.get("cytsn", "").strip()
    instrument = text.get("cyt", "").strip()
    return Export(
        format=FORMAT,
        format_version=f"FCS{fcs.version}",
        method=AssayMethod.NANO_FLOW,
        software_version=_first(text, "swver", "creator"),
        instrument=f"{instrument}, serial {serial}" if serial else instrument,
        sample=_first(text, "src", "tbnm", "smid") or _stem(text.get("fil", "")),
        performed_at=_started(text, warnings),
        measurements=tuple(measurements),
        settings=settings,
        instrument_dilution=None,
        warnings=tuple(warnings),
    )


def _flow_data(data: bytes, warnings: list[str]) -> Any:
    """flowio's reading of HEADER and TEXT; its errors as ExportError, its warnings kept."""
    if len(data) < HEADER_LENGTH:
        raise ExportError(CUT_SHORT.format(segment="HEADER"), "truncated_export")
    # nextdata_offset=0: read the first data set even when $NEXTDATA names another.
    options: dict[str, Any] = {"only_text": True, "nextdata_offset": 0}
    with catch_warnings(record=True) as caught:
        simplefilter("always")
        try:
            try:
                fcs = flowio.FlowData(io.BytesIO(data), **options)
            except flowio.exceptions.DataOffsetDiscrepancyError:
                warnings.append(OFFSETS_DIFFER)
                fcs = flowio.FlowData(io.BytesIO(data), ignore_offset_discrepancy=True, **options)
        except EOFError:
            raise ExportError(CUT_SHORT.format(segment="TEXT"), "truncated_export") from None
        except KeyError as error:
            message = MISSING_KEYWORD.format(keyword=str(error.args[0]).upper())
            raise ExportError(message, "unreadable_export") from None
        except flowio.exceptions.FCSParsingError as error:
            if "greater than file size" in str(error):
                raise ExportError(CUT_SHORT.format(segment="DATA"), "truncated_export") from None
            raise ExportError(UNREADABLE.format(detail=error), "unreadable_export") from None
        except (flowio.exceptions.FlowIOException, ValueError, IndexError, re.error) as error:
            raise ExportError(UNREADABLE.format(detail=error), "unreadable_export") from None
    warnings += [str(warning.message) for warning in caught]
    return fcs


def _settings(text: dict[str, str]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    parameters = []
    for n in range(1, int(text["par"]) + 1):
        name, label = text.get(f"p{n}n", "").strip(), text.get(f"p{n}s", "").strip()
        parameters.append(f"{name} ({label})" if label and label != name else name)
    detectors = []
    n = 1
    while f"ch{n}nm" in text:  # CytExpert's detectors
        values = [text.get(f"ch{n}{key}", "").strip() for key in ("nm", "gain", "th")]
        detectors.append(f"{values[0]} (gain {values[1]}, threshold {values[2]})")
        n += 1
    for name, items in (("parameters", parameters), ("detectors", detectors)):
        for part, chunk in enumerate(_chunks(items), 1):
            settings[name if part == 1 else f"{name}_{part}"] = chunk
    for name, keyword in (
        ("trigger_channel", "wch"),
        ("well", "smno"),
        ("plate", "pltno"),
    ):
        if text.get(keyword, "").strip():
            settings[name] = text[keyword].strip()[:MAX_TEXT]
    for name, keyword in (("aborted_events", "abrt"), ("lost_events", "lost")):
        if text.get(keyword, "").strip().isdigit():
            settings[name] = int(text[keyword])
    if text.get("durtim", "").strip():  # CytExpert: seconds
        settings["acquisition_duration"] = f"{text['durtim'].strip()} s"
    return settings


def _checks(fcs: Any, text: dict[str, str], file_name: str) -> list[str]:
    """Self-checks: re-saves, renames, DATA length against $TOT, further data sets."""
    found = []
    reasons = []
    if any(keyword.startswith("flowcore_") for keyword in text):
        reasons.append("R flowCore keywords")
    if text.get("transformation", "").strip().lower() == "applied":
        reasons.append("transformation=applied")
    if "cytexpertfil" in text and text.get("byteord", "").strip() != "1,2,3,4":
        reasons.append(f"$BYTEORD {text.get('byteord')}, where CytExpert writes 1,2,3,4")
    if reasons:
        found.append(RESAVED.format(reasons="; ".join(reasons)))
    fil = text.get("fil", "").strip()
    name = PureWindowsPath(file_name).name
    if fil and name and fil.lower() != name.lower():
        found.append(RENAMED.format(fil=fil, name=name))
    widths = [text.get(f"p{n}b", "").strip() for n in range(1, fcs.channel_count + 1)]
    if all(width.isdigit() for width in widths):
        expected = fcs.event_count * sum(int(width) for width in widths) // 8
        begin = _offset(text, "begindata") or fcs.header["data_start"]
        end = _offset(text, "enddata") or fcs.header["data_stop"]
        actual = end - begin + 1 if end else 0
        if actual != expected:
            found.append(DATA_LENGTH.format(actual=actual, expected=expected))
    if _offset(text, "nextdata"):
        found.append(MORE_DATA_SETS)
    return found


def _started(text: dict[str, str], warnings: list[str]) -> datetime | None:
    """$DATE and $BTIM, in the instrument computer's local time (naive: FCS before 3.2
    has no time zone)."""
    date, time = text.get("date", "").strip(), TIME.match(text.get("btim", "").strip())
    for date_format in DATE_FORMATS:
        try:
            day = datetime.strptime(date, date_format)  # noqa: DTZ007
        except ValueError:
            continue
        if time is None:
            return None
        warnings.append(NO_TIME_ZONE)
        return day.replace(hour=int(time[1]), minute=int(time[2]), second=int(time[3]))
    if date:
        warnings.append(UNKNOWN_DATE.format(value=date))
    return None


def _number(text: dict[str, str], keyword: str, what: str, warnings: list[str]) -> float | None:
    value = text.get(keyword, "").strip()
    try:
        return float(value) if value else None
    except ValueError:
        warnings.append(BAD_VALUE.format(keyword=keyword.upper(), value=value, what=what))
        return None


def _offset(text: dict[str, str], keyword: str) -> int:
    value = text.get(keyword, "").strip()
    return int(value) if value.isdigit() else 0


def _first(text: dict[str, str], *keywords: str) -> str:
    return next((text[k].strip() for k in keywords if text.get(k, "").strip()), "")


def _stem(file_name: str) -> str:
    name = PurePath(PureWindowsPath(file_name).name)
    return name.stem if name.suffix.lower() == ".fcs" else str(name)


def _chunks(items: list[str]) -> list[str]:
    """Items joined by ", " into texts of at most MAX_TEXT characters each."""
    chunks: list[str] = []
    for item in items:
        if chunks and len(chunks[-1]) + 2 + len(item) <= MAX_TEXT:
            chunks[-1] += f", {item}"
        else:
            chunks.append(item[:MAX_TEXT])
    return chunks
