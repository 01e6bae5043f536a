from pathlib import Path

import pytest

from evqc.batch_record import SETTING_KINDS
from evqc.instruments import (
    UNKNOWN_FORMAT,
    Distribution,
    Export,
    ExportError,
    Measurement,
    detect_format,
    nanosight,
    read_export,
)
from evqc.units import QuantityValue
from evqc.vocabulary import ATTRIBUTES, AssayMethod, ResultBasis

# Real exports are read where they are, never copied into the project.
SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "instrument-samples"
NANOSIGHT = SAMPLES / "nanosight"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "instruments" / "nanosight"
MINIMAL = FIXTURES / "minimal-3.4-ExperimentSummary.csv"
CR_ONLY = FIXTURES / "minimal-3.4-cr-only-ExperimentSummary.csv"
LATIN1 = FIXTURES / "minimal-3.4-latin1-ExperimentSummary.csv"

needs_samples = pytest.mark.skipif(
    not NANOSIGHT.is_dir(),
    reason=f"the shared NanoSight sample exports are not at {NANOSIGHT} (outside the project)",
)

BEADS2 = "beads2.csv"
BEADS = "beads.csv"
NA_GD14 = "NA_GD14_Pexo_-ExperimentSummary.csv"
GD14_1000 = "GD14_Pexo_1000_-ExperimentSummary.csv"
EMT1 = "EMT1 d200 pre1 2021-04-01 15-42-48-ExperimentSummary.csv"
SAMPLE_FILES = (BEADS2, BEADS, NA_GD14, GD14_1000, EMT1)

NOT_RECORDED = (
    "the dilution factor is not recorded: concentrations are the measured (diluted) "
    "sample's; give the dilution to get the stock's"
)


def sample(name: str) -> Export:
    return read_export((NANOSIGHT / name).read_bytes())


def minimal(*replacements: tuple[bytes, bytes]) -> bytes:
    data = MINIMAL.read_bytes()
    for old, new in replacements:
        assert old in data
        data = data.replace(old, new)
    return data


def measurement(export: Export, attribute: str, video: int | None = None) -> Measurement:
    [found] = [m for m in export.measurements if m.attribute == attribute and m.video == video]
    return found


def distribution(export: Export, video: int | None = None) -> Distribution:
    [found] = [d for d in export.distributions if d.video == video]
    return found


def amount(value: QuantityValue | None) -> tuple[float, str]:
    assert value is not None
    return value.value, value.unit


def no_time_zone(text: str) -> str:
    return (
        f"Time Captured {text!r} gives no time zone: performed_at is the instrument "
        "computer's local time; say which time zone before it is stored"
    )


def suggestion(name: str, factor: str) -> str:
    return (
        f"the name {name!r} suggests a dilution of {factor}; it is only a suggestion and "
        "was not applied: confirm or replace it"
    )


# The five real exports
# ------------------------------------------------------------------------------


@needs_samples
def test_the_sample_folder_holds_the_files_tested_here():
    assert sorted(path.name for path in NANOSIGHT.iterdir()) == sorted(SAMPLE_FILES)


@needs_samples
@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_every_sample_export_is_read_with_units_and_its_self_check_holds(name):
    data = (NANOSIGHT / name).read_bytes()

    export = read_export(data)

    assert detect_format(data) is nanosight
    assert (export.format, export.method) == ("nanosight", AssayMethod.NTA)
    assert {m.attribute for m in export.measurements} == {
        "particle_concentration", "size_mean", "size_mode", "size_sd",
        "size_d10", "size_d50", "size_d90",
    }  # fmt: skip
    assert all(m.attribute in ATTRIBUTES for m in export.measurements)
    for m in export.measurements:
        expected = "particle/mL" if m.attribute == "particle_concentration" else "nm"
        assert m.quantity.unit == expected
    overall = distribution(export)
    assert len(overall.bin_centres) == 1000
    assert (overall.bin_centres[0], overall.bin_centres[-1]) == (0.5, 999.5)
    assert (overall.value_unit, overall.bin_quantity) == (
        "particle/mL/nm",
        "concentration_density",
    )
    assert not [w for w in export.warnings if "sums to" in w or "outside" in w]
    for name_, value in export.settings.items():
        assert value.kind.name == SETTING_KINDS[name_]


@needs_samples
def test_beads2_nta_3_4_with_a_recorded_dilution_is_already_the_stock():
    export = sample(BEADS2)

    assert export.format_version == "NTA 3.4 Build 3.4.003"
    assert export.software_version == "NTA 3.4 Build 3.4.003"
    assert export.sample == "100nmbeads"
    assert export.instrument == "NanoSight (sCMOS camera, Blue488 laser)"
    # Dilution factor 1.00e+04 recorded: the instrument already multiplied.
    assert export.instrument_dilution == 1.0e4
    assert export.suggested_dilution is None
    concentration = measurement(export, "particle_concentration")
    assert amount(concentration.quantity) == (6.09e12, "particle/mL")
    assert amount(concentration.se) == (6.67e10, "particle/mL")
    assert concentration.basis is ResultBasis.STOCK
    assert (concentration.n, concentration.reported) == (5, "6.09e+12")
    assert amount(measurement(export, "particle_concentration", 1).quantity) == (
        5.91e12,
        "particle/mL",
    )
    assert amount(measurement(export, "particle_concentration", 5).quantity)[0] == 6.24e12
    assert measurement(export, "particle_concentration", 5).basis is ResultBasis.STOCK
    assert amount(measurement(export, "size_mean").quantity) == (101.5, "nm")
    assert amount(measurement(export, "size_mean").se) == (0.4, "nm")
    assert amount(measurement(export, "size_mode").quantity) == (98.4, "nm")
    assert amount(measurement(export, "size_mode").se) == (1.1, "nm")
    assert measurement(export, "size_sd").quantity.value == 12.8
    assert measurement(export, "size_d10").quantity.value == 88.7
    assert measurement(export, "size_d50").quantity.value == 99.8
    assert measurement(export, "size_d90").quantity.value == 115.3
    assert measurement(export, "size_mode", 3).quantity.value == 101.8
    assert amount(export.settings["video_count"]) == (5, "")
    assert amount(export.settings["temperature"]) == (22.0, "°C")
    assert export.settings["temperature"].reported == "22.000 degC"
    assert amount(export.settings["viscosity"]) == (0.952941, "cP")
    assert export.settings["camera_level"].value == 11
    assert export.settings["detection_threshold"].value == 5
    assert export.settings["frames_analysed"].value == 499
    assert amount(export.settings["laser_wavelength"]) == (488, "nm")
    assert export.performed_at is not None
    assert export.performed_at.isoformat() == "2020-06-16T11:52:04"
    assert export.performed_at.tzinfo is None
    assert export.warnings == (no_time_zone("11:52:04  16/06/2020"),)
    assert export.qc_flags == (
        "video 1: Vibration detected: Moderate vibration",
        "video 2: Vibration detected: Minor vibration",
        "video 3: Vibration detected: Moderate vibration",
        "video 4: Vibration detected: Minor vibration",
        "video 5: Vibration detected: Minor vibration",
    )
    assert len(export.distributions) == 6
    overall, first = distribution(export), distribution(export, 1)
    assert overall.bin_values[overall.bin_centres.index(24.5)] == 117385818
    assert first.bin_values[first.bin_centres.index(24.5)] == 586929092
    assert overall.basis is first.basis is ResultBasis.STOCK


@needs_samples
def test_na_gd14_nta_3_2_reads_three_digit_exponents_and_the_recorded_dilution():
    export = sample(NA_GD14)

    assert export.format_version == "NTA 3.2 Dev Build 3.2.16"
    assert export.software_version == "NTA 3.2 Dev Build 3.2.16"
    assert export.sample == "NA_GD14_plac_ exo"
    assert export.instrument_dilution == 1000.0  # "1.00e+003"
    assert export.suggested_dilution is None
    concentration = measurement(export, "particle_concentration")
    assert amount(concentration.quantity) == (6.13e11, "particle/mL")
    assert concentration.reported == "6.13e+011"
    assert amount(concentration.se) == (4.11e10, "particle/mL")
    assert concentration.basis is ResultBasis.STOCK
    assert measurement(export, "particle_concentration", 1).quantity.value == 7.29e11
    assert measurement(export, "size_mean").quantity.value == 139.1
    assert measurement(export, "size_mode").quantity.value == 101.3
    # 22.736, 22.725, 22.743, 22.79 and 22.778 °C: their mean, worked out by hand
    assert export.settings["temperature"].value == pytest.approx(22.7544)
    assert export.settings["temperature"].unit == "°C"
    assert export.settings["temperature"].reported == "mean of 5 videos (22.725 to 22.79 degC)"
    assert export.settings["camera_level"].value == 14
    assert export.settings["detection_threshold"].value == 3
    assert NOT_RECORDED not in export.warnings
    assert export.performed_at is not None
    assert export.performed_at.isoformat() == "2019-03-14T11:02:46"
    assert export.qc_flags == ()


@needs_samples
def test_gd14_1000_without_a_recorded_dilution_is_measured_with_a_suggestion_only():
    export = sample(GD14_1000)

    assert export.format_version == "NTA 3.2 Dev Build 3.2.16"
    assert export.instrument_dilution is None
    assert export.suggested_dilution == 1000.0
    concentration = measurement(export, "particle_concentration")
    # the reported value, not multiplied by the suggestion
    assert amount(concentration.quantity) == (6.53e8, "particle/mL")
    assert concentration.reported == "6.53e+008"
    assert amount(concentration.se) == (2.63e7, "particle/mL")
    assert concentration.basis is ResultBasis.MEASURED
    assert measurement(export, "particle_concentration", 1).quantity.value == 7.10e8
    assert measurement(export, "particle_concentration", 1).basis is ResultBasis.MEASURED
    assert all(d.basis is ResultBasis.MEASURED for d in export.distributions)
    assert measurement(export, "size_mode").quantity.value == 111.5
    assert export.sample == "GD14_Pexo_1000_"  # Sample Name is "": the experiment's name
    assert export.warnings == (
        NOT_RECORDED,
        suggestion("GD14_Pexo_1000_", "1000"),
        no_time_zone("18:35:23  22/04/2019"),
    )


@needs_samples
def test_emt1_nta_3_3_suggests_200_from_d200_and_reads_only_the_number_block():
    export = sample(EMT1)

    assert export.format_version == "NTA 3.3 - Sample Assistant Dev Build 3.3.203"
    assert export.sample == "d200"
    assert export.instrument_dilution is None
    assert export.suggested_dilution == 200.0
    assert suggestion("d200", "200") in export.warnings
    concentration = measurement(export, "particle_concentration")
    assert amount(concentration.quantity) == (2.16e8, "particle/mL")
    assert amount(concentration.se) == (1.01e7, "particle/mL")
    assert concentration.basis is ResultBasis.MEASURED
    assert measurement(export, "size_mean").quantity.value == 87.9
    assert measurement(export, "size_mode").quantity.value == 61.7
    assert measurement(export, "size_d90").quantity.value == 134.3
    # 26.677, 26.747, 26.788, 26.805 and 26.845 °C, averaged by hand
    assert export.settings["temperature"].value == pytest.approx(26.7724)
    assert export.settings["frames_analysed"].value == 1498
    assert export.instrument == "NanoSight (sCMOS camera)"  # Laser Type Unknown
    assert "laser_wavelength" not in export.settings
    assert len(export.distributions) == 6
    assert {d.weighting for d in export.distributions} == {"number"}
    assert export.performed_at is not None
    assert export.performed_at.isoformat() == "2021-04-01T15:42:48"  # dd/mm/yyyy
    assert "video 1: Vibration detected: Minor vibration" in export.qc_flags
    assert "video 2: Vibration detected: No" not in export.qc_flags


@needs_samples
def test_beads_resaved_3_2_with_twelve_videos_and_excel_padding():
    export = sample(BEADS)

    assert export.format_version == "NTA 3.2 Dev Build 3.2.16"
    assert export.software_version == "NTA 3.2 Dev Build 3.2.16"
    assert export.settings["video_count"].value == 12
    assert len(export.distributions) == 13
    concentration = measurement(export, "particle_concentration")
    assert amount(concentration.quantity) == (1.47e9, "particle/mL")
    assert concentration.reported == "1470000000"
    assert amount(concentration.se) == (1.07e8, "particle/mL")
    assert concentration.n == 12
    assert measurement(export, "particle_concentration", 12).quantity.value == 1.18e9
    assert measurement(export, "size_mean").quantity.value == 100.5
    assert measurement(export, "size_mode").quantity.value == 95.3
    assert measurement(export, "size_d50", 1).quantity.value == 96
    assert export.performed_at is None
    assert export.instrument_dilution is None
    assert export.suggested_dilution is None
    assert concentration.basis is ResultBasis.MEASURED
    assert "camera_level" not in export.settings
    assert export.settings["detection_threshold"].value == 8
    assert export.warnings == (
        "Software Version is 'Unknown'; the version on line 2 (NTA 3.2 Dev Build 3.2.16) is used",
        NOT_RECORDED,
        "Time Captured is empty or unreadable (''): performed_at is unknown",
        "Camera Level differs between videos (15, 10): not given as one setting",
    )


@needs_samples
@pytest.mark.parametrize(
    ("cut_before", "message"),
    [
        (b"[Results]", "has no [Results] section: the file is truncated or not a complete "
                       "NTA experiment summary"),
        (b"[Size Data]", "has no [Size Data] section: the file is truncated or not a complete "
                         "NTA experiment summary"),
        (b"500.5,", "ends inside the size distribution table at line 589: the file is "
                    "truncated"),
        (b"\r\n50,98.6", "ends inside the last percentile table at line 1141: the file is "
                         "truncated"),
        (b"Filename:", "has no Filename: row (the list of videos): the file is truncated or "
                       "not a complete NTA experiment summary"),
    ],
)  # fmt: skip
def test_a_truncated_real_export_is_refused_naming_what_is_missing(cut_before, message):
    data = (NANOSIGHT / BEADS2).read_bytes()

    with pytest.raises(ExportError) as refused:
        read_export(data[: data.index(cut_before)])

    assert refused.value.message == message
    assert refused.value.code == "truncated_export"


# evqc's own small fixtures
# ------------------------------------------------------------------------------


def test_the_minimal_export_is_read_value_by_value():
    export = read_export(MINIMAL.read_bytes())

    assert export.format_version == "NTA 3.4 Build 3.4.003"
    assert export.sample == "synthetic EVs"
    assert export.instrument == "NanoSight (sCMOS camera, Violet405 laser)"
    read = [(m.attribute, m.video, m.quantity.value, m.quantity.unit) for m in export.measurements]
    assert read == [
        ("particle_concentration", None, 1.05e7, "particle/mL"),
        ("size_mean", None, 100.5, "nm"),
        ("size_mode", None, 100.5, "nm"),
        ("size_sd", None, 1.3, "nm"),
        ("size_d10", None, 99.1, "nm"),
        ("size_d50", None, 100.5, "nm"),
        ("size_d90", None, 102.0, "nm"),
        ("particle_concentration", 1, 1.0e7, "particle/mL"),
        ("size_mean", 1, 100.4, "nm"),
        ("size_mode", 1, 100.5, "nm"),
        ("size_sd", 1, 1.2, "nm"),
        ("size_d10", 1, 99.1, "nm"),
        ("size_d50", 1, 100.5, "nm"),
        ("size_d90", 1, 101.9, "nm"),
        ("particle_concentration", 2, 1.1e7, "particle/mL"),
        ("size_mean", 2, 100.6, "nm"),
        ("size_mode", 2, 100.5, "nm"),
        ("size_sd", 2, 1.4, "nm"),
        ("size_d10", 2, 99.0, "nm"),
        ("size_d50", 2, 100.5, "nm"),
        ("size_d90", 2, 102.1, "nm"),
    ]  # fmt: skip
    assert amount(measurement(export, "particle_concentration").se) == (5.0e5, "particle/mL")
    assert amount(measurement(export, "size_sd").se) == (0.1, "nm")
    assert measurement(export, "particle_concentration").basis is ResultBasis.MEASURED
    assert measurement(export, "size_mean").basis is None
    assert export.distributions == (
        Distribution(
            (98.5, 99.5, 100.5, 101.5, 102.5),
            (1.1e6, 2.1e6, 4.2e6, 2.1e6, 1.0e6),
            "nm", "particle/mL/nm", "concentration_density",
            basis=ResultBasis.MEASURED, video=None,
        ),
        Distribution(
            (98.5, 99.5, 100.5, 101.5, 102.5),
            (1.0e6, 2.0e6, 4.0e6, 2.0e6, 1.0e6),
            "nm", "particle/mL/nm", "concentration_density",
            basis=ResultBasis.MEASURED, video=1,
        ),
        Distribution(
            (98.5, 99.5, 100.5, 101.5, 102.5),
            (1.2e6, 2.2e6, 4.4e6, 2.2e6, 1.0e6),
            "nm", "particle/mL/nm", "concentration_density",
            basis=ResultBasis.MEASURED, video=2,
        ),
    )  # fmt: skip
    assert {name: amount(value) for name, value in export.settings.items()} == {
        "video_count": (2, ""),
        "temperature": (25.0, "°C"),
        "viscosity": (0.89, "cP"),
        "camera_level": (12, ""),
        "detection_threshold": (5, ""),
        "frames_analysed": (749, ""),
        "laser_wavelength": (405, "nm"),
    }
    for name, value in export.settings.items():
        assert value.kind.name == SETTING_KINDS[name]
    assert export.performed_at is not None
    assert export.performed_at.isoformat() == "2024-01-02T09:05:07"
    assert export.qc_flags == (
        "video 2: Validity of concentration measurement: Be cautious of data due to noise",
        "video 2: Vibration detected: Moderate vibration",
    )
    assert export.warnings == (NOT_RECORDED, no_time_zone("09:05:07  02/01/2024"))


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(CR_ONLY.read_bytes(), id="cr-only"),
        pytest.param(MINIMAL.read_bytes().replace(b"\r\n", b"\n"), id="lf"),
        pytest.param(b"\xef\xbb\xbf" + MINIMAL.read_bytes(), id="utf-8-bom"),
        pytest.param(LATIN1.read_bytes(), id="latin-1-degree-sign"),
        pytest.param(b"\xef\xbb\xbf" + LATIN1.read_bytes(), id="bom-then-latin-1"),
        pytest.param(MINIMAL.read_bytes().replace(b",\r\n", b",,,,,,\r\n"), id="excel-padding"),
    ],
)  # fmt: skip
def test_line_endings_encodings_and_padding_do_not_change_what_is_read(variant):
    assert detect_format(variant) is nanosight
    assert read_export(variant) == read_export(MINIMAL.read_bytes())


def test_the_fixtures_differ_from_the_minimal_export_only_as_named():
    data = MINIMAL.read_bytes()
    cr_only = CR_ONLY.read_bytes()
    latin = LATIN1.read_bytes()

    assert data.count(b"\r\n") == data.count(b"\n") == 75
    assert cr_only == data.replace(b"\r\n", b"\r")
    assert b"Temperature/\xb0C," in latin
    with pytest.raises(UnicodeDecodeError):
        latin.decode("utf-8")  # a Latin-1 degree sign, as older NTA versions write it


def test_a_numeric_dilution_makes_every_concentration_the_stocks_and_names_suggest_nothing():
    data = minimal(
        (b"Not recorded,Not recorded", b"5.00e+01,5.00e+01"),
        (b"synthetic EVs", b"synthetic EVs d200"),
    )

    export = read_export(data)

    assert export.instrument_dilution == 50.0
    assert export.suggested_dilution is None
    assert {m.basis for m in export.measurements if m.attribute == "particle_concentration"} == {
        ResultBasis.STOCK
    }
    assert {d.basis for d in export.distributions} == {ResultBasis.STOCK}
    assert NOT_RECORDED not in export.warnings


def test_videos_with_different_dilutions_leave_the_average_without_a_basis():
    export = read_export(minimal((b"Not recorded,Not recorded", b"1.00e+02,Not recorded")))

    assert export.instrument_dilution is None
    assert measurement(export, "particle_concentration").basis is None
    assert measurement(export, "particle_concentration", 1).basis is ResultBasis.STOCK
    assert measurement(export, "particle_concentration", 2).basis is ResultBasis.MEASURED
    assert (
        "the videos record different dilution factors (100, not recorded): the average mixes "
        "them and has no basis; check the file"
    ) in export.warnings


@pytest.mark.parametrize(
    ("name", "suggested", "hint"),
    [
        ("EVs d200", 200.0, "200"),
        ("EVs D50 pre1", 50.0, "50"),
        ("GD14_Pexo_1000_", 1000.0, "1000"),
        ("placenta-1000", 1000.0, "1000"),
        ("EMT1 2021-04-01 15-42-48", None, None),
        ("GD14 pre1", None, None),
        ("EVs d200 run_1000_", None, None),  # two hints that disagree: no suggestion
        ("EVs d1", None, None),
    ],
)
def test_a_dilution_in_the_sample_name_is_only_suggested(name, suggested, hint):
    export = read_export(minimal((b"synthetic EVs", name.encode())))

    assert export.suggested_dilution == suggested
    assert export.instrument_dilution is None
    assert measurement(export, "particle_concentration").quantity.value == 1.05e7
    if hint:
        assert suggestion(name, hint) in export.warnings
    else:
        assert not [w for w in export.warnings if "suggests" in w]


def test_a_video_reporting_zero_particles_is_kept_flagged_and_warned_about():
    export = read_export(minimal((b"1.00e+07,1.10e+07", b"0.00e+00,1.10e+07")))

    assert measurement(export, "particle_concentration", 1).quantity.value == 0.0
    assert measurement(export, "particle_concentration").quantity.value == 1.05e7
    assert "video 1: Concentration: 0.00e+00" in export.qc_flags
    assert (
        "video 1 reports a concentration of exactly 0.00e+00: a failed capture? the "
        "instrument's average includes it"
    ) in export.warnings


def test_bins_that_do_not_add_up_to_the_average_are_warned_about():
    export = read_export(minimal((b"1.05e+07,5.00e+05", b"2.10e+07,5.00e+05")))

    assert (
        "the size distribution sums to 1.05e+07 particles/mL but the file reports an average "
        "of 2.1e+07 (50.0% apart, more than 1 %)"
    ) in export.warnings


def test_not_recorded_and_nan_values_are_missing_with_a_warning_never_zero():
    export = read_export(minimal((b"Mean,100.4,100.6,100.5", b"Mean,NaN,100.6,Not recorded")))

    assert [m.video for m in export.measurements if m.attribute == "size_mean"] == [2]
    assert "Mean of video 1 is missing ('NaN')" in export.warnings
    assert "Mean has no Average: only the per-video values are returned" in export.warnings


def test_a_missing_concentration_average_column_is_averaged_from_the_videos_and_said():
    data = minimal(
        (b"Concentration average,Standard Error,", b""),
        *[(f"{a},{b},\r\n".encode(), b"\r\n") for a, b in (
            ("1100000", "100000"), ("2100000", "100000"), ("4200000", "200000"), ("1000000", "0"),
        )],
    )  # fmt: skip

    export = read_export(data)

    assert distribution(export).bin_values == (1.1e6, 2.1e6, 4.2e6, 2.1e6, 1.0e6)
    assert (
        "the size distribution has no Concentration average: evqc averaged the videos"
    ) in export.warnings


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            MINIMAL.read_bytes()[: MINIMAL.read_bytes().index(b"4400000")],
            "ends inside the size distribution table at line 65: the file is truncated",
            id="cut-mid-row",
        ),
        pytest.param(
            MINIMAL.read_bytes()[: MINIMAL.read_bytes().index(b"101.5,")],
            "ends inside the size distribution table at line 65: the file is truncated",
            id="cut-between-rows",
        ),
        pytest.param(
            MINIMAL.read_bytes()[: MINIMAL.read_bytes().index(b"100,103.0")],
            "ends inside the last percentile table at line 73: the file is truncated",
            id="cut-in-percentiles",
        ),
        pytest.param(
            MINIMAL.read_bytes()[: MINIMAL.read_bytes().index(b"[Results]")],
            "has no [Results] section: the file is truncated or not a complete NTA "
            "experiment summary",
            id="no-results",
        ),
        pytest.param(
            MINIMAL.read_bytes()[: MINIMAL.read_bytes().index(b"Filename:")],
            "has no Filename: row (the list of videos): the file is truncated or not a "
            "complete NTA experiment summary",
            id="no-videos",
        ),
        pytest.param(
            MINIMAL.read_bytes().replace(
                b"Concentration (Particles / ml),1.00e+07,1.10e+07,1.05e+07,5.00e+05,\r\n", b""
            ),
            "has no Concentration row in [Results]: the file is truncated or not a complete NTA "
            "experiment summary",
            id="no-concentration",
        ),
    ],
)
def test_a_truncated_export_is_refused_naming_what_is_missing(data, message):
    with pytest.raises(ExportError) as refused:
        read_export(data)

    assert refused.value.message == message
    assert refused.value.code == "truncated_export"


def test_a_short_bin_row_is_refused_with_its_line():
    data = minimal((b"99.5,2000000,2200000,2100000,100000,", b"99.5,2000000,"))

    with pytest.raises(ExportError) as refused:
        read_export(data)

    assert refused.value.message == (
        "line 64 has 3 cells where the size distribution table has 4: the file is cut"
    )


def test_a_bin_that_is_not_a_number_is_refused_with_its_line():
    with pytest.raises(ExportError) as refused:
        read_export(minimal((b"4400000", b"44OOOOO")))

    assert refused.value.message == "line 65: the bin at 100.5 nm is '44OOOOO', not a number"
    assert refused.value.extra == {"line": 65}


def test_a_single_analysis_summary_is_refused_pointing_to_the_experiment_summary():
    data = (FIXTURES / "single-analysis-Summary.csv").read_bytes()

    with pytest.raises(ExportError) as refused:
        read_export(data)

    assert detect_format(data) is nanosight
    assert refused.value.message == (
        "is an NTA single analysis summary (one video); evqc reads the experiment summary, "
        "the …-ExperimentSummary.csv file NTA writes for the whole experiment"
    )
    assert refused.value.code == "unsupported_export"


@pytest.mark.parametrize("data", [b"", b"\r\n \r\n", b"\xef\xbb\xbf"])
def test_an_empty_file_is_refused(data):
    with pytest.raises(ExportError) as refused:
        nanosight.read(data)

    assert (refused.value.message, refused.value.code) == ("is empty", "empty_export")


def test_read_export_refuses_an_empty_file_and_a_look_alike():
    with pytest.raises(ExportError, match=r"^is empty$"):
        read_export(b"")
    look_alike = b"particle_size,concentration\r\n100.5,4200000\r\n"
    with pytest.raises(ExportError) as refused:
        read_export(look_alike)
    assert refused.value.message == UNKNOWN_FORMAT
    with pytest.raises(ExportError) as refused:
        nanosight.read(look_alike)
    assert refused.value.code == "unknown_format"


def test_detection_reads_the_first_line_not_the_name():
    assert nanosight.detect("NTA Experiment Summary File,,,\r\nCreated with…", b"")
    assert nanosight.detect('"NTA Experiment Summary File"\r', b"")
    assert not nanosight.detect("Record,Type,Sample Name\tZ-Ave (d.nm)", b"")
    assert not nanosight.detect("", b"FCS3.0")
