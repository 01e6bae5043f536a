import struct
from datetime import datetime
from pathlib import Path

import pytest

from evqc.instruments import ExportError, fcs, read_export
from evqc.vocabulary import AssayMethod, ResultBasis

SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "instrument-samples"
CYTOFLEX = "Bact Invitrogen F13838 1.0um.fcs"


@pytest.fixture
def cytoflex():
    path = SAMPLES / "cytoflex" / CYTOFLEX
    if not path.is_file():
        pytest.skip(f"{path} is absent: shared/instrument-samples is not beside the project")
    return path.read_bytes()


def keywords(**changes):
    """TEXT of a small two-parameter FCS 3.1 file; a None value leaves a keyword out."""
    given = {
        "$TOT": "2",
        "$PAR": "2",
        "$MODE": "L",
        "$BYTEORD": "1,2,3,4",
        "$DATATYPE": "F",
        "$NEXTDATA": "0",
        "$P1N": "FSC-H",
        "$P1B": "32",
        "$P1E": "0,0",
        "$P1R": "1024",
        "$P2N": "FL1-A",
        "$P2S": "CD63",
        "$P2B": "32",
        "$P2E": "0,0",
        "$P2R": "1024",
        "$VOL": "25.0",
        "$FIL": "synthetic.fcs",
        "$CYT": "Test cytometer",
        "$DATE": "05-MAR-2026",
        "$BTIM": "09:30:15.25",
    }
    given.update({key.replace("__", "$"): value for key, value in changes.items()})
    return {key: value for key, value in given.items() if value is not None}


def fcs_file(text, events=(), version=b"FCS3.1", delimiter="|"):
    """An FCS file written the way the standard says: HEADER, TEXT, DATA (float32)."""
    data = struct.pack(f"<{len(events)}f", *events)

    def segment(begin, end):
        pairs = {**text, "$BEGINDATA": f"{begin:010d}", "$ENDDATA": f"{end:010d}"}
        pairs |= {"$BEGINANALYSIS": "0", "$ENDANALYSIS": "0", "$BEGINSTEXT": "0", "$ENDSTEXT": "0"}
        body = delimiter.join(f"{key}{delimiter}{value}" for key, value in pairs.items())
        return f"{delimiter}{body}{delimiter}".encode()

    text_end = 58 + len(segment(0, 0)) - 1
    begin, end = (text_end + 1, text_end + len(data)) if data else (0, 0)
    offsets = f"{58:>8}{text_end:>8}{begin:>8}{end:>8}{0:>8}{0:>8}"
    return version + b"    " + offsets.encode() + segment(begin, end) + data


def test_the_cytoflex_bead_run_gives_its_events_per_microlitre_as_measured(cytoflex):
    export = read_export(cytoflex)

    assert export.format == "fcs"
    assert export.format_version == "FCS3.0"
    assert export.method is AssayMethod.NANO_FLOW
    assert export.instrument == "CytoFLEX S, serial BE01004"
    assert export.software_version == "CytExpert 2.4.0.28"
    assert export.sample == "Bact Invitrogen F13838 1.0um"
    assert export.performed_at == datetime(2024, 4, 17, 10, 14, 46)  # noqa: DTZ001
    assert export.settings["event_count"] == 26720
    volume = export.settings["acquisition_volume"]
    assert (volume.value, volume.unit, volume.canonical_value) == (59999.54, "nL", 0.05999954)
    (concentration,) = export.measurements
    assert concentration.attribute == "particle_concentration"
    assert concentration.basis is ResultBasis.MEASURED
    assert concentration.video is None
    # the guide's worked example: 26 720 events in 59 999.54 nL (60.0 µL) ≈ 445 per µL
    assert concentration.quantity.value == pytest.approx(445.337, abs=0.001)
    assert concentration.quantity.unit == "particle/µL"
    assert concentration.quantity.canonical_value == pytest.approx(4.45337e5, rel=1e-5)
    assert concentration.reported == "$TOT 0000000000026720 / $VOL 59999.54"
    assert export.instrument_dilution is None
    assert export.suggested_dilution is None
    assert export.warnings == (fcs.NEEDS_DILUTION, fcs.NO_TIME_ZONE)


def test_the_cytoflex_parameters_and_detectors_are_listed_as_text(cytoflex):
    settings = read_export(cytoflex).settings

    assert settings["parameters"].startswith("FSC-H, FSC-A, SSC-H, SSC-A, SSC_1-H (Violet SSC-H)")
    assert (
        settings["parameters_3"] == "FL9-H (NIR-Yellow-H), FL9-A (NIR-Yellow-A), FSC-Width, Time"
    )
    everything = ", ".join(settings[k] for k in ("parameters", "parameters_2", "parameters_3"))
    assert everything.count(", ") == 25  # $PAR 26
    assert settings["detectors"].startswith(
        "FSC (gain 10, threshold 500), SSC (gain 40, threshold 10000), "
        "Violet SSC (gain 1, threshold 10000), SYBR (gain 50, threshold 10)"
    )
    assert settings["trigger_channel"] == "FSC"
    assert (settings["well"], settings["plate"]) == ("B1", "01")
    assert (settings["aborted_events"], settings["lost_events"]) == (561676, 0)
    assert settings["acquisition_duration"] == "59.999580 s"
    assert all(len(value) <= 200 for value in settings.values() if isinstance(value, str))


def test_a_cytoflex_file_uploaded_under_another_name_is_flagged(cytoflex):
    as_sent = fcs.read(cytoflex, file_name=f"C:\\runs\\{CYTOFLEX}")
    renamed = fcs.read(cytoflex, file_name="gated beads.fcs")

    assert as_sent.warnings == (fcs.NEEDS_DILUTION, fcs.NO_TIME_ZONE)
    assert renamed.warnings[1] == (
        '$FIL is "Bact Invitrogen F13838 1.0um.fcs", not "gated beads.fcs": the file was '
        "renamed, or re-saved from another file"
    )


def test_read_export_passes_the_uploaded_name_to_the_fcs_reader(cytoflex):
    renamed = read_export(cytoflex, file_name="gated beads.fcs")

    assert any('not "gated beads.fcs"' in warning for warning in renamed.warnings)
    assert read_export(cytoflex, file_name=CYTOFLEX).warnings == (
        fcs.NEEDS_DILUTION,
        fcs.NO_TIME_ZONE,
    )


@pytest.mark.parametrize(
    ("cut", "segment"),
    [(10, "HEADER"), (58, "TEXT"), (3000, "TEXT"), (7430, "DATA"), (100_000, "DATA")],
)
def test_a_cut_cytoflex_file_is_refused(cytoflex, cut, segment):
    with pytest.raises(ExportError) as raised:
        read_export(cytoflex[:cut])

    assert (
        raised.value.message
        == f"is an FCS file cut short: its {segment} ends past the end of the file"
    )
    assert raised.value.code == "truncated_export"


def test_a_small_fcs_file_gives_its_metadata_and_concentration():
    export = read_export(fcs_file(keywords(), events=(1.0, 2.0, 3.0, 4.0)))

    assert export.format_version == "FCS3.1"
    assert export.instrument == "Test cytometer"
    assert export.sample == "synthetic"  # no $SRC: the file name without .fcs
    assert export.performed_at == datetime(2026, 3, 5, 9, 30, 15)  # noqa: DTZ001
    assert export.settings["parameters"] == "FSC-H, FL1-A (CD63)"
    assert export.measurements[0].quantity.value == 80.0  # 2 events in 25 nL
    assert export.warnings == (fcs.NEEDS_DILUTION, fcs.NO_TIME_ZONE)


@pytest.mark.parametrize("version", [b"FCS2.0", b"FCS3.0", b"FCS3.1"])
@pytest.mark.parametrize("delimiter", ["|", "\x0c", "/"])
def test_every_version_and_delimiter_is_read(version, delimiter):
    data = fcs_file(keywords(__SRC="EV lot 7"), (1.0, 2.0, 3.0, 4.0), version, delimiter)

    export = read_export(data)

    assert export.format_version == version.decode()
    assert export.sample == "EV lot 7"
    assert export.settings["event_count"] == 2


def test_an_empty_acquisition_gives_zero_events_and_no_concentration():
    export = read_export(fcs_file(keywords(__TOT="0", __VOL="0")))

    assert export.settings["event_count"] == 0
    assert export.settings["acquisition_volume"].value == 0.0
    assert export.measurements == ()
    assert export.warnings == (fcs.EMPTY, fcs.NO_VOLUME, fcs.NO_TIME_ZONE)


def test_a_file_without_vol_gives_no_concentration():
    export = read_export(fcs_file(keywords(__VOL=None), (1.0, 2.0, 3.0, 4.0)))

    assert export.measurements == ()
    assert "acquisition_volume" not in export.settings
    assert fcs.NO_VOLUME in export.warnings


def test_a_file_re_saved_by_flowcore_is_flagged():
    text = keywords(
        __BYTEORD="4,3,2,1",
        CYTEXPERTFIL="True",
        transformation="applied",
        **{"flowCore_$P1Rmax": "1023"},
    )
    events = struct.unpack("<4f", struct.pack(">4f", 1.0, 2.0, 3.0, 4.0))

    export = read_export(fcs_file(text, events))

    assert export.warnings[1] == (
        "the file was re-saved by other software (R flowCore keywords; transformation=applied; "
        "$BYTEORD 4,3,2,1, where CytExpert writes 1,2,3,4): it is not the instrument's original"
    )


def test_a_data_segment_that_does_not_hold_tot_events_is_warned_about():
    export = read_export(fcs_file(keywords(__TOT="3"), (1.0, 2.0, 3.0, 4.0)))

    assert export.warnings[1] == (
        "the DATA segment holds 16 bytes, but $TOT × $PAR × bytes per value makes 24"
    )


def test_a_second_data_set_is_warned_about_and_the_first_read():
    export = read_export(fcs_file(keywords(__NEXTDATA="0000009999"), (1.0, 2.0, 3.0, 4.0)))

    assert export.settings["event_count"] == 2
    assert fcs.MORE_DATA_SETS in export.warnings


def test_a_file_without_par_is_refused():
    with pytest.raises(ExportError) as raised:
        read_export(fcs_file(keywords(__PAR=None), (1.0, 2.0, 3.0, 4.0)))

    assert raised.value.message == "is an FCS file without the required keyword $PAR"


@pytest.mark.parametrize("data", [b"FCS3.2    ", b"FCS", b"fcs3.0", b"Type\tSample Name", b""])
def test_other_files_are_not_taken_for_fcs(data):
    assert not fcs.detect("", data)
    with pytest.raises(ExportError) as raised:
        fcs.read(data)
    assert raised.value.message == fcs.NOT_FCS


def test_read_export_detects_fcs(cytoflex):
    assert read_export(cytoflex).format == "fcs"
    assert read_export(fcs_file(keywords(), (1.0, 2.0, 3.0, 4.0))).format == "fcs"
