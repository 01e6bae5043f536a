import importlib

import pytest

from evqc.instruments import (
    READERS,
    ExportError,
    detect_format,
    gen5,
    read_export,
    softmax,
)
from evqc.vocabulary import AssayMethod, ResultBasis
from tests.evqc.instruments.detection import FIXTURES, detect, other_formats_files

# evqc's own fixtures (there is no redistributable SoftMax Pro export); other formats'
# files are read where they are, never copied into the project.
GROUPS = FIXTURES / "softmax" / "bca_groups_tab.txt"  # tab, CRLF, Blank/Standards/Unknowns
PLATE_ONLY = FIXTURES / "softmax" / "plate_only_comma_cr.txt"  # comma, bare CR, 562 and 620 nm

# Read off bca_groups_tab.txt: the Blank group's wells (G1, G2), the Standards group's
# (µg/mL: A1/A2 … F1/F2) and the Unknowns group's (dilution: A3/A4, B3/B4), at 562 nm.
BLANK = [0.0940, 0.0960]
STANDARDS = {
    1000.0: [1.0440, 1.0460],
    750.0: [0.8060, 0.8090],
    500.0: [0.5690, 0.5710],
    250.0: [0.3315, 0.3335],
    125.0: [0.2130, 0.2145],
    25.0: [0.1178, 0.1197],
}
UNKNOWNS = {1: (10.0, [0.5215, 0.5235]), 2: (20.0, [0.2840, 0.2860])}


def groups(*replacements: tuple[bytes, bytes]) -> bytes:
    data = GROUPS.read_bytes()
    for old, new in replacements:
        assert data.count(old) == 1, old
        data = data.replace(old, new)
    return data


def independent_line(points):
    """Least squares by the normal equations (not the reader's code)."""
    n = len(points)
    sx = sum(x for x, _ in points)
    sy = sum(y for _, y in points)
    sxx = sum(x * x for x, _ in points)
    sxy = sum(x * y for x, y in points)
    slope = (n * sxy - sx * sy) / (n * sxx - sx * sx)
    return slope, (sy - slope * sx) / n


def expected_stock(sample: int, standards_scale: float = 1.0) -> float:
    blank = sum(BLANK) / len(BLANK)
    points = [(c * standards_scale, a - blank) for c, wells in STANDARDS.items() for a in wells]
    slope, intercept = independent_line(points)
    dilution, wells = UNKNOWNS[sample]
    return sum((a - blank - intercept) / slope * dilution for a in wells) / len(wells)


def by_sample(export):
    return {m.video: m for m in export.measurements}


# The plate with groups
# ------------------------------------------------------------------------------


def test_the_groups_give_protein_per_sample_from_evqc_s_own_fit():
    export = read_export(GROUPS.read_bytes())

    assert (export.format, export.method) == ("softmax", AssayMethod.BCA)
    assert export.format_version == "SoftMax Pro text export 1.3"
    assert (export.software_version, export.instrument, export.performed_at) == ("", "", None)
    # Blank (0.094 + 0.096) / 2 = 0.095; the standards' net means are 0.00095 × their
    # concentration (1000 µg/mL: 1.045 - 0.095 = 0.950), so slope 0.00095, intercept 0.
    slope, intercept = independent_line(
        [(c, a - 0.095) for c, wells in STANDARDS.items() for a in wells]
    )
    assert slope == pytest.approx(0.00095, rel=1e-9)
    assert intercept == pytest.approx(0.0, abs=1e-12)
    samples = by_sample(export)
    assert sorted(samples) == [1, 2]
    # Unknowns 01: (0.4265 + 0.4285) / 2 / 0.00095 = 450 µg/mL measured, × 10 = 4500.
    assert expected_stock(1) == pytest.approx(4500.0)
    assert samples[1].quantity.value == pytest.approx(expected_stock(1), rel=1e-6)
    assert samples[1].quantity.unit == "µg/mL"
    assert (samples[1].attribute, samples[1].basis, samples[1].n) == (
        "protein_concentration",
        ResultBasis.STOCK,
        2,
    )
    assert samples[1].reported == (
        "Unknowns 01 A3 A562 0.5215 dil 10; Unknowns 01 A4 A562 0.5235 dil 10"
    )
    # Unknowns 02: (0.189 + 0.191) / 2 / 0.00095 = 200 µg/mL measured, × 20 = 4000.
    assert expected_stock(2) == pytest.approx(4000.0)
    assert samples[2].quantity.value == pytest.approx(expected_stock(2), rel=1e-6)


def test_the_settings_name_the_plate_the_read_and_the_samples():
    settings = read_export(GROUPS.read_bytes()).settings

    assert settings["plate_name"] == "Plate1"
    assert settings["read_wavelength"] == "562 nm"
    temperature = settings["temperature"]  # the first plate row's, under Temperature(¡C)
    assert (temperature.value, temperature.unit) == (24.6, "°C")
    assert (settings["sample_1"], settings["sample_2"]) == ("Unknowns 01", "Unknowns 02")
    assert settings["blank_absorbance"] == "0.095 (mean of 2 BLK wells)"
    assert settings["fit_slope"] == "0.00095 per µg/mL"
    assert settings["original_filename"] == "BCA EV lot P3"
    assert settings["date_last_saved"] == "5/18/2023 11:42:07 AM"


def test_the_warnings_say_what_the_file_does_not():
    export = read_export(GROUPS.read_bytes())

    assert export.warnings == (
        gen5.METHOD_ASSUMED,
        "the export gives no read time (Date Last Saved '5/18/2023 11:42:07 AM' is when the "
        "file was saved): performed_at is unknown",
    )


def test_the_groups_become_the_layout_and_controls_are_not_reported():
    plate = softmax.read_plate(GROUPS.read_bytes())

    assert plate.read == "562"
    assert len(plate.absorbance) == 96
    assert (plate.absorbance["A1"], plate.absorbance["H12"]) == (1.044, 0.045)
    assert plate.layout["G2"] == gen5.Well("Blank 01", "BLK", 1, None)
    assert plate.layout["B1"] == gen5.Well("Standards 02", "STD", 2, 750.0)
    assert plate.layout["B4"] == gen5.Well("Unknowns 02", "SPL", 2, 20.0)
    assert plate.layout["C3"] == gen5.Well("Control 01", "CTL", 1, None)
    assert "H1" not in plate.layout  # read, but in no group
    assert len(plate.layout) == 2 + 12 + 4 + 2


def test_without_a_group_column_table_the_roles_come_from_the_headers():
    data = GROUPS.read_bytes().replace(b"Group Column\t", b"Group Columns\t")

    assert read_export(data).measurements == read_export(GROUPS.read_bytes()).measurements


# The standards' unit, dilutions, wavelength
# ------------------------------------------------------------------------------


def test_the_standards_unit_from_their_header_is_converted_to_ug_per_ml():
    export = softmax.read(groups((b"Concentration \xb5g/mL", b"Concentration mg/mL")))

    # Standards 1000× higher in µg/mL: every sample 1000× higher too.
    samples = by_sample(export)
    assert samples[1].quantity.value == pytest.approx(expected_stock(1, 1000.0), rel=1e-6)
    assert samples[1].quantity.value == pytest.approx(4.5e6)
    assert samples[1].quantity.unit == "µg/mL"
    assert gen5.UNIT_ASSUMED not in export.warnings


def test_standards_without_a_unit_are_taken_as_ug_per_ml_with_gen5_s_warning():
    export = softmax.read(groups((b"Concentration \xb5g/mL", b"Concentration")))

    assert by_sample(export)[1].quantity.value == pytest.approx(4500.0)
    assert gen5.UNIT_ASSUMED in export.warnings


def test_standards_that_are_not_a_mass_concentration_give_no_protein_values():
    export = softmax.read(groups((b"Concentration \xb5g/mL", b"Concentration Units/mL")))

    assert export.measurements == ()
    assert (
        "the standards' concentrations are in 'Units/mL', not a mass concentration: not a "
        "protein plate, so no protein values"
    ) in export.warnings
    assert gen5.NO_STANDARDS in export.warnings


def test_a_sample_without_a_dilution_is_the_measured_sample_s():
    export = softmax.read(groups((b"02\t20.000\tB3", b"02\t\tB3")))

    sample = by_sample(export)[2]
    assert sample.basis is ResultBasis.MEASURED
    assert sample.quantity.value == pytest.approx(expected_stock(2) / 20)  # 200 µg/mL
    assert gen5.NO_DILUTION.format(sample=2) in export.warnings
    assert by_sample(export)[1].basis is ResultBasis.STOCK


def test_a_descriptor_that_is_not_a_dilution_is_not_applied():
    export = softmax.read(
        groups(
            (b"Sample\tDilution\tWells", b"Sample\tVolume\tWells"),
            (b"2\tDilution\t!SampleDescriptor", b"2\tVolume\t!SampleDescriptor"),
        )
    )

    samples = by_sample(export)
    assert [samples[n].basis for n in (1, 2)] == [ResultBasis.MEASURED] * 2
    assert samples[1].quantity.value == pytest.approx(450.0)
    assert (
        "the group 'Unknowns' describes its samples by 'Volume', not a dilution: they are "
        "read without one"
    ) in export.warnings


def test_a_plate_read_away_from_562_nm_is_warned_about():
    export = softmax.read(groups((b"\t562 \t", b"\t450 \t")))

    assert export.settings["read_wavelength"] == "450 nm"
    assert gen5.NOT_BCA_WAVELENGTH.format(wavelength="450 nm") in export.warnings


def test_reduced_values_and_another_export_version_are_warned_about():
    export = softmax.read(
        groups(
            (
                b"Plate1\t1.3\tPlateFormat\tEndpoint\tAbsorbance\tRaw",
                b"Plate1\t1.4\tPlateFormat\tEndpoint\tAbsorbance\tReduced",
            )
        )
    )

    assert export.format_version == "SoftMax Pro text export 1.4"
    assert softmax.REDUCED in export.warnings
    assert "the export format is 1.4, not 1.3: check the values" in export.warnings


def test_a_well_in_two_groups_keeps_its_first():
    export = softmax.read(groups((b"\tC3\t0.570", b"\tA1\t0.570")))

    assert (
        "well A1 is in the groups 'Standards' and 'Control': the first is used"
    ) in export.warnings
    assert by_sample(export)[1].quantity.value == pytest.approx(4500.0)


def test_wells_that_are_not_numbers_are_left_out_and_named():
    plate = softmax.read_plate(groups((b"\t0.5235\t0.0450\t0.0460", b"\t0.5235\tNaN\t#Sat")))

    assert "A5" not in plate.absorbance
    assert "A6" not in plate.absorbance
    assert "wells A5, A6 hold 'NaN', '#Sat', not absorbances: they are left out" in plate.warnings


def test_a_decimal_comma_in_a_tab_delimited_file_is_read():
    plate = softmax.read_plate(groups((b"\t0.5215\t", b"\t0,5215\t")))

    assert plate.absorbance["A3"] == 0.5215


# The comma-delimited, bare-CR plate without groups
# ------------------------------------------------------------------------------


def test_a_plate_without_groups_gives_its_absorbances_and_no_protein_values():
    data = PLATE_ONLY.read_bytes()
    assert b"\r" in data
    assert b"\n" not in data
    assert b"\t" not in data

    export = read_export(data)
    plate = softmax.read_plate(data)

    assert export.measurements == ()
    assert softmax.NO_GROUPS in export.warnings
    assert export.settings["read_wavelength"] == "562 nm"
    # The first wavelength's 12 columns, not the 620 nm ones after the empty cell.
    assert (plate.read, len(plate.absorbance)) == ("562", 96)
    assert (plate.absorbance["A1"], plate.absorbance["B4"]) == (1.044, 0.286)
    assert plate.layout == {}
    assert "the plate was read at 562, 620 nm: evqc used the first, 562 nm" in export.warnings


# Line endings, encodings
# ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "variant"),
    [
        (GROUPS, lambda data: data.replace(b"\r\n", b"\n")),
        (GROUPS, lambda data: data.replace(b"\r\n", b"\r")),
        (GROUPS, lambda data: b"\xef\xbb\xbf" + data),
        (GROUPS, lambda data: data.decode("latin-1").encode("utf-8")),
        (PLATE_ONLY, lambda data: data.replace(b"\r", b"\r\n")),
        (PLATE_ONLY, lambda data: b"\xef\xbb\xbf" + data.replace(b"\r", b"\n")),
    ],
    ids=["tab-lf", "tab-cr-only", "tab-bom", "tab-utf-8", "comma-crlf", "comma-bom-lf"],
)
def test_line_endings_bom_and_encoding_do_not_change_what_is_read(path, variant):
    data = path.read_bytes()

    assert read_export(variant(data)) == read_export(data)


# Refusals
# ------------------------------------------------------------------------------


def cut_after(marker: bytes) -> bytes:
    data = GROUPS.read_bytes()
    return data[: data.index(marker) + len(marker)]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            cut_after(b"\t\t0.5690\t0.5710"),
            "the Plate section that starts at line 5 has no ~End: the file is truncated",
        ),
        (
            cut_after(b"\r\n~End\r\nGroup: Blank\r\n"),
            "the Group section that starts at line 17 has no ~End: the file is truncated",
        ),
        (
            cut_after(b"\r\n\r\n~End\r\n"),
            "has 2 of the 6 sections its ##BLOCKS= line announces: the file is truncated",
        ),
        (
            cut_after(b"Original Filename: BCA EV"),
            "line 87: the closing 'Original Filename: …; Date Last Saved: …' line is cut: the "
            "file is truncated",
        ),
    ],
    ids=["in-plate", "in-group", "missing-sections", "in-footer"],
)
def test_a_truncated_export_is_refused_with_a_clear_message(data, message):
    with pytest.raises(ExportError) as refused:
        softmax.read(data)

    assert (refused.value.message, refused.value.code) == (message, "truncated_export")


def test_a_plate_without_rows_of_wells_is_refused():
    data = GROUPS.read_bytes()
    start, end = data.index(b"\r\n\t24.6\t"), data.index(b"\r\n~End\r\nGroup: Blank")
    data = data[:start] + data[end:]  # the Plate: line, the column numbers, then ~End

    with pytest.raises(ExportError) as refused:
        softmax.read(data)

    assert refused.value.message == (
        "the plate 'Plate1' has 0 of its 8 rows of wells (line 6): the file is cut or the "
        "plate was not read"
    )


def test_a_short_row_of_wells_is_refused_with_its_line():
    lines = GROUPS.read_bytes().split(b"\r\n")
    assert lines[8].startswith(b"\t\t0.5690\t")  # line 9: plate row C
    lines[8] = b"\t".join(lines[8].split(b"\t")[:3])  # cut after C1
    data = b"\r\n".join(lines)

    with pytest.raises(ExportError) as refused:
        softmax.read(data)

    assert refused.value.message == "line 9 has 3 cells where the plate has 14: the file is cut"
    assert refused.value.code == "truncated_export"


@pytest.mark.parametrize(
    ("old", "new", "what"),
    [
        (b"\tEndpoint\t", b"\tKinetic\t", "Kinetic (endpoint expected)"),
        (b"\tPlateFormat\t", b"\tTimeFormat\t", "TimeFormat (plate format expected)"),
        (b"\tAbsorbance\t", b"\tFluorescence\t", "Fluorescence (absorbance expected)"),
    ],
)
def test_reads_evqc_cannot_interpret_are_refused_by_name(old, new, what):
    with pytest.raises(ExportError) as refused:
        softmax.read(groups((old, new)))

    assert refused.value.message == (
        f"line 5: the plate 'Plate1' is a {what} read; evqc reads endpoint absorbance plates "
        "exported in plate format (BCA, microBCA)"
    )
    assert refused.value.code == "unsupported_export"


def test_a_plate_line_without_its_counts_is_refused():
    with pytest.raises(ExportError) as refused:
        softmax.read(groups((b"\t562 \t1\t12\t96\t1\t8", b"\t562 \t1\t12\t96")))

    assert refused.value.message == (
        "line 5: the Plate: line has no plate size where SoftMax export format 1.3 puts it"
    )


@pytest.mark.parametrize("data", [b"", b"\r\r\n", b"\xef\xbb\xbf"])
def test_an_empty_file_is_refused(data):
    with pytest.raises(ExportError) as refused:
        softmax.read(data)

    assert (refused.value.message, refused.value.code) == ("is empty", "empty_export")


# Detection
# ------------------------------------------------------------------------------


def test_no_other_format_s_file_is_taken_for_a_softmax_export():
    files = other_formats_files("softmax")
    assert len(files) >= 6  # the nanosight and zetasizer fixtures at least

    for path in files:
        assert not detect(softmax, path.read_bytes()), path


@pytest.mark.parametrize("path", [GROUPS, PLATE_ONLY], ids=["tab", "comma-cr"])
def test_the_fixtures_are_softmax_s_and_no_other_reader_s(path):
    data = path.read_bytes()

    assert detect_format(data) is softmax
    for name in READERS:
        reader = importlib.import_module(name)
        assert detect(reader, data) is (reader is softmax), name


@pytest.mark.parametrize(
    "text",
    [
        "##BLOCKS=\r\nPlate:\tPlate1\r\n",
        "##BLOCKS= two\r\n",
        "# #BLOCKS= 1\r\n",
        "Note:\r\n##BLOCKS= 1\r\n",
        "Software Version\t3.11.19\r\n##BLOCKS= 1\r\n",
    ],
    ids=["no-count", "count-in-words", "broken-marker", "not-first-line", "gen5-header"],
)
def test_look_alikes_are_not_taken_for_softmax_exports(text):
    data = text.encode()

    assert not softmax.detect(text, data)
    with pytest.raises(ExportError) as refused:
        softmax.read(data)
    assert refused.value.message == softmax.NOT_SOFTMAX
