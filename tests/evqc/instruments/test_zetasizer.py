from datetime import datetime
from pathlib import Path

import pytest

from evqc.instruments import ExportError, read_export, zetasizer
from evqc.vocabulary import AssayMethod

SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "instrument-samples"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "instruments" / "zetasizer"


def sample(name):
    path = SAMPLES / "zetasizer" / name
    if not path.is_file():
        pytest.skip(f"{path} is absent: shared/instrument-samples is not beside the project")
    return path.read_bytes()


def fixture(name="two_records.txt"):
    return (FIXTURES / name).read_bytes()


def values(export, attribute):
    return [
        (m.video, m.quantity.value, m.quantity.unit)
        for m in export.measurements
        if m.attribute == attribute
    ]


def distribution(export, video, weighting):
    (found,) = [d for d in export.distributions if d.video == video and d.weighting == weighting]
    return dict(zip(found.bin_centres, found.bin_values, strict=True)), found


def test_chc_gives_four_records_merged_from_its_summary_and_full_tables():
    export = read_export(sample("chc_particleSize.txt"))

    assert export.format == "zetasizer"
    assert export.method is AssayMethod.DLS
    assert export.format_version == "Zetasizer Software 7.11"
    assert export.software_version == "7.11"
    assert export.instrument == "Zetasizer Nano series, serial MAL1143160"
    assert export.sample == "SD283 - F1, HBG6.4, 0h"
    assert export.performed_at == datetime(2026, 3, 6, 14, 50, 12)  # noqa: DTZ001
    assert values(export, "z_average") == [
        (1, 108.0, "nm"),
        (2, 108.1, "nm"),
        (3, 108.2, "nm"),
        (4, 108.1, "nm"),
    ]
    assert values(export, "polydispersity_index") == [
        (1, 0.112, ""),
        (2, 0.116, ""),
        (3, 0.116, ""),
        (4, 0.090, ""),
    ]
    assert [m.reported for m in export.measurements][-1] == "0.090"
    assert all(m.basis is None for m in export.measurements)
    assert export.instrument_dilution is None
    assert export.warnings == (zetasizer.NO_TIME_ZONE,)
    assert export.qc_flags == ()


def test_chc_settings_are_shared_where_the_records_agree_and_per_record_otherwise():
    settings = read_export(sample("chc_particleSize.txt")).settings

    assert settings["video_count"].value == 4
    assert (settings["temperature"].value, settings["temperature"].unit) == (25.0, "°C")
    assert (settings["viscosity"].value, settings["viscosity"].unit) == (0.8872, "cP")
    assert settings["dispersant"] == "Water"
    assert settings["dispersant_ri"] == 1.33
    assert settings["material"] == "Chitosan"
    assert settings["material_ri"] == 1.7
    assert settings["attenuator"] == 9
    assert settings["size_runs"] == 10
    assert settings["run_duration"] == "10 s"
    assert settings["intensity_peaks_1"] == "116.1 nm (width 32.94 nm)"
    assert settings["intensity_peaks_4"] == "118.4 nm (width 31.66 nm)"
    assert settings["derived_count_rate_1"] == "2683.0 kcps"
    assert settings["derived_count_rate_4"] == "2617.8 kcps"
    assert [settings[f"record_number_{n}"] for n in (1, 2, 3, 4)] == [1, 2, 3, 4]
    assert "temperature_1" not in settings


def test_chc_size_distributions_are_percent_per_bin_for_each_weighting():
    export = read_export(sample("chc_particleSize.txt"))

    assert len(export.distributions) == 12
    bins, found = distribution(export, 1, "intensity")
    assert (found.centre_unit, found.value_unit, found.bin_quantity) == ("nm", "%", "percentage")
    assert len(bins) == 70
    assert (found.bin_centres[0], found.bin_centres[-1]) == (0.4, 10000.0)
    assert (bins[105.7], bins[122.4], bins[220.2]) == (18.5, 18.5, 0.6)
    assert distribution(export, 1, "number")[0][43.82] == 1.1
    assert distribution(export, 4, "volume")[0][255.0] == 0.1


def test_mxd_gives_three_records_of_size_distributions_without_a_z_average():
    export = read_export(sample("mxd_particleSize.txt"))

    assert export.software_version == "8.02"
    assert export.instrument == "Zetasizer Nano series, serial MAL1086580"
    assert export.sample == "20260916_SiNP_7"
    assert export.performed_at == datetime(2026, 2, 25, 16, 2, 6)  # noqa: DTZ001
    assert export.measurements == ()
    # its two Sample Name columns agree: no warning about them
    assert export.warnings == (zetasizer.NO_SIZE_RESULT, zetasizer.NO_TIME_ZONE)
    assert export.settings["viscosity"].value == 1.2
    assert export.settings["temperature"].value == 25.0
    assert export.settings["attenuator"] == 7
    assert [export.settings[f"record_number_{n}"] for n in (1, 2, 3)] == [20, 21, 22]
    assert len(export.distributions) == 9
    assert distribution(export, 1, "intensity")[0][105.7] == 22.2
    assert distribution(export, 1, "number")[0][78.82] == 26.3
    assert distribution(export, 1, "volume")[0][91.28] == 21.4


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("CRLF", lambda data: data),
        ("bare CR", lambda data: data.replace(b"\r\n", b"\r")),
        ("LF", lambda data: data.replace(b"\r\n", b"\n")),
        ("UTF-8 BOM", lambda data: b"\xef\xbb\xbf" + data),
        ("UTF-8", lambda data: data.decode("latin-1").encode("utf-8")),
        ("no final line end", lambda data: data.rstrip(b"\r\n")),
    ],
)
def test_a_minimal_export_reads_the_same_whatever_its_line_ends_and_encoding(name, change):
    # given
    data = change(fixture())

    # when
    export = read_export(data)

    # then
    assert export.format == "zetasizer"
    assert export.sample == "EV lot 7, PBS"
    assert export.instrument == "Zetasizer, serial MAL0000001"
    assert values(export, "z_average") == [(1, 121.4, "nm"), (2, 480.9, "nm")]
    assert values(export, "polydispersity_index") == [(1, 0.183, ""), (2, 0.812, "")]
    assert export.settings["temperature"].value == 25.0
    assert export.settings["intensity_peaks_1"] == "135.2 nm (width 48.10 nm)"
    assert export.settings["intensity_peaks_2"] == "140.0 nm (width 60.20 nm); 3021 nm"
    assert distribution(export, 2, "intensity")[0] == {50.75: 10.0, 105.7: 50.0, 220.2: 40.0}
    assert export.warnings == (
        "record 2: PdI 0.812 is above 0.7: the sample is very broad and DLS sizes are unreliable",
        zetasizer.NO_TIME_ZONE,
    )


def test_a_file_cut_inside_a_record_is_refused():
    data = fixture()
    cut = data[: data.rindex(b"0.812") + 5]

    with pytest.raises(ExportError) as raised:
        read_export(cut)

    assert raised.value.message == (
        "has a record on line 3 with 9 of its table's 19 columns: it is cut short"
    )
    assert raised.value.code == "truncated_export"
    assert raised.value.extra == {"line": 3}


def test_rows_whose_empty_last_cells_were_trimmed_are_read_with_a_warning():
    text = (
        "Type\tSample Name\tZ-Ave (d.nm)\tPdI\tZP (mV)\r\n"
        "Size\tA 1\t100.0\t0.100\r\n"
        "Size\tA 2\t101.0\t0.110\r\n"
    )

    export = read_export(text.encode())

    assert values(export, "z_average") == [(1, 100.0, "nm"), (2, 101.0, "nm")]
    assert export.warnings == (
        "line 2 has 4 of its table's 5 columns: the others are read as empty",
        "line 3 has 4 of its table's 5 columns: the others are read as empty",
    )


def test_a_header_without_records_is_refused():
    header = fixture().splitlines()[0]

    with pytest.raises(ExportError) as raised:
        zetasizer.read(header + b"\r\n\r\n")

    assert raised.value.message == zetasizer.NO_RECORDS
    assert raised.value.code == "empty_export"


def test_records_that_disagree_on_the_temperature_get_one_setting_each_and_a_warning():
    data = fixture().replace(b"16:03:48\t25.0", b"16:03:48\t37.0")

    export = read_export(data)

    assert "temperature" not in export.settings
    assert (export.settings["temperature_1"], export.settings["temperature_2"]) == (
        "25 °C",
        "37 °C",
    )
    assert "the records differ in temperature: 25 °C, 37 °C" in export.warnings


def test_a_repeated_column_with_different_values_keeps_the_first_and_warns():
    text = "Type\tSample Name\tZ-Ave (d.nm)\tPdI\tZ-Ave (d.nm)\r\nSize\tA\t100.0\t0.200\t101.0\r\n"

    export = read_export(text.encode())

    assert values(export, "z_average") == [(1, 100.0, "nm")]
    assert export.warnings == (
        'record 1: the columns "z-ave (d.nm)" disagree (100.0, 101.0); the first is used',
    )
    assert export.sample == "A"  # one record keeps its name whole


def test_odd_values_are_warned_about_and_left_out():
    text = (
        "Type\tSample Name\tZ-Ave (d.nm)\tPdI\tZP (mV)\tMeasurement Status\r\n"
        "Size\tA 1\t0.000\t1.300\t\tIncomplete\r\n"
        "Zeta\tA 2\t\t\t-23.4\tComplete\r\n"
    )

    export = read_export(text.encode())

    assert values(export, "zeta_potential") == [(2, -23.4, "mV")]
    assert [m.attribute for m in export.measurements] == ["zeta_potential"]
    assert export.warnings == (
        'record 1: 0.000 in "z-ave (d.nm)" is not a size',
        'record 1: 1.300 in "pdi" is outside 0 to 1',
    )
    assert export.qc_flags == ("record 1: measurement status Incomplete",)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "NTA Experiment Summary File,\r\nCreated with NTA 3.4 Build 3.4.003,\r\n",
        "Type\tSample Name\tColour\r\nSize\tA\tred\r\n",
        "Sample Name\tZ-Ave (d.nm)\r\nA\t100.0\r\n",
        "Type,Sample Name,Z-Ave (d.nm)\r\nSize,A,100.0\r\n",
    ],
)
def test_look_alikes_are_not_taken_for_zetasizer_exports(text):
    assert not zetasizer.detect(text, text.encode())
    with pytest.raises(ExportError) as raised:
        zetasizer.read(text.encode())
    assert raised.value.message == zetasizer.NOT_ZETASIZER


def test_read_export_detects_every_zetasizer_file():
    for data in (fixture(), sample("chc_particleSize.txt"), sample("mxd_particleSize.txt")):
        assert read_export(data).format == "zetasizer"
