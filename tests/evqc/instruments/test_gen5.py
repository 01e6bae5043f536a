from pathlib import Path

import pytest

from evqc.instruments import ExportError, detect_format, gen5, read_export
from evqc.vocabulary import AssayMethod, ResultBasis

# Real exports are read where they are, never copied into the project.
SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "instrument-samples"
SINGLE_MATRIX = SAMPLES / "biotek_gen5" / "single_matrix.txt"

needs_sample = pytest.mark.skipif(
    not SINGLE_MATRIX.is_file(),
    reason=f"the shared Gen5 sample export is not at {SINGLE_MATRIX} (outside the project)",
)

# Read off single_matrix.txt by eye: the 36 BLK wells (A1-D9) and the 6 STD1 wells
# (A10, A11, B10, B11, C10, C11, all Conc/Dil 3.53) at 450 nm.
BLK = [
    *(0.102, 0.105, 0.105, 0.106, 0.103, 0.108, 0.107, 0.108, 0.108),
    *(0.103, 0.104, 0.101, 0.102, 0.101, 0.104, 0.102, 0.105, 0.102),
    *(0.111, 0.110, 0.101, 0.109, 0.101, 0.099, 0.101, 0.103, 0.100),
    *(0.102, 0.124, 0.105, 0.116, 0.103, 0.103, 0.100, 0.103, 0.104),
]
STD = [0.102, 0.104, 0.112, 0.106, 0.102, 0.114]


def independent_line(points):
    """Least squares by the normal equations (not the reader's code)."""
    n = len(points)
    sx = sum(x for x, _ in points)
    sy = sum(y for _, y in points)
    sxx = sum(x * x for x, _ in points)
    sxy = sum(x * y for x, y in points)
    slope = (n * sxy - sx * sy) / (n * sxx - sx * sx)
    return slope, (sy - slope * sx) / n


def sample_bytes():
    return SINGLE_MATRIX.read_bytes()


@needs_sample
def test_the_plate_is_read_as_the_file_shows_it():
    plate = gen5.read_plate(sample_bytes())

    assert plate.read == "450"
    assert plate.header["software version"] == "3.03.14"
    assert plate.absorbance["A1"] == 0.102
    assert plate.absorbance["E2"] == 1.759
    assert plate.absorbance["G8"] == 0.283
    assert "H1" not in plate.absorbance  # unused wells are empty
    assert len(plate.absorbance) == 36 + 6 + 10 + 9 + 9  # BLK, STD, CTL, SPL, SPLC
    assert plate.gen5_blanked["C1"] == 0.006
    assert plate.gen5_blanked["B4"] == -0.003
    assert plate.layout["A10"] == gen5.Well("STD1", "STD", 1, 3.53)
    assert plate.layout["E6"] == gen5.Well("SPL1:1", "SPL", 1, 2.5)
    assert plate.layout["F6"] == gen5.Well("SPL1:2", "SPL", 1, 3.7)
    assert plate.layout["G8"] == gen5.Well("SPL5", "SPL", 5, 2.5)
    assert plate.layout["E9"] == gen5.Well("SPLC1", "SPLC", 1, None)
    assert sum(1 for well in plate.layout.values() if well.kind == "BLK") == 36


@needs_sample
def test_the_shared_sample_gives_protein_per_sample_from_evqc_s_own_fit():
    export = read_export(sample_bytes())

    assert export.format == "gen5"
    assert export.format_version == "Gen5 3.03.14"
    assert export.software_version == "3.03.14"
    assert export.method is AssayMethod.BCA
    assert export.instrument == "Synergy H1 (serial 14112519)"
    assert export.performed_at is not None
    assert export.performed_at.isoformat() == "2021-11-16T14:16:33"
    assert export.settings["read_wavelength"] == "450 nm"
    temperature = export.settings["temperature"]
    assert (temperature.value, temperature.unit) == (29.8, "°C")

    # Blank: 3.771 / 36 = 0.10475 (Gen5 agrees: A1 0.102 -> -0.003, E2 1.759 -> 1.654).
    blank = sum(BLK) / len(BLK)
    assert blank == pytest.approx(0.10475)
    assert export.settings["blank_absorbance"] == "0.10475 (mean of 36 BLK wells)"
    # One standard level (3.53): the blank is the 0 standard. Mean STD = 0.640 / 6 =
    # 0.106667, net 0.0019167, so the line through (0, 0) and the 6 standards has slope
    # 0.0019167 / 3.53 = 0.00054297 per µg/mL and intercept 0.
    slope, intercept = independent_line([(0.0, 0.0)] + [(3.53, a - blank) for a in STD])
    assert slope == pytest.approx(0.0019167 / 3.53, rel=1e-4)
    assert intercept == pytest.approx(0.0, abs=1e-12)
    assert export.settings["fit_slope"] == f"{slope:.6g} per µg/mL"
    assert export.settings["fit_r_squared"] == "0.0231"

    by_sample = {m.video: m for m in export.measurements}
    assert sorted(by_sample) == [1, 2, 3, 4, 5]
    # SPL1: E6 1.264 at dilution 2.5 and F6 0.105 at dilution 3.7:
    # (1.15925 / 0.00054297) * 2.5 = 5337.6 and (0.00025 / 0.00054297) * 3.7 = 1.70;
    # the mean is 2669.65 µg/mL of stock.
    spl1 = by_sample[1]
    expected = ((1.264 - blank) / slope * 2.5 + (0.105 - blank) / slope * 3.7) / 2
    assert expected == pytest.approx(2669.65, rel=1e-4)
    assert spl1.attribute == "protein_concentration"
    assert spl1.quantity.value == pytest.approx(expected, rel=1e-5)
    assert spl1.quantity.unit == "µg/mL"
    assert spl1.basis is ResultBasis.STOCK
    assert spl1.n == 2
    assert spl1.reported == "SPL1:1 E6 A450 1.264 dil 2.5; SPL1:2 F6 A450 0.105 dil 3.7"
    # SPL5: G8 0.283, dilution 2.5: 0.17825 / 0.00054297 * 2.5 = 820.7 µg/mL.
    assert by_sample[5].quantity.value == pytest.approx((0.283 - blank) / slope * 2.5, 1e-5)
    assert by_sample[5].n == 1

    warnings = "\n".join(export.warnings)
    assert "µg/mL assumed" in warnings
    assert "the blank is used as the 0 µg/mL standard" in warnings
    assert "R² 0.0231, below 0.98" in warnings
    assert "SPL1: well(s) E6 lie outside the standards (0 to 3.53 µg/mL" in warnings
    assert "not near 562 nm" in warnings
    assert "Gen5's blank-subtracted" not in warnings  # Gen5's Blank 450 rows agree


@needs_sample
def test_a_cr_only_copy_reads_the_same():
    data = sample_bytes()
    assert b"\r\n" in data
    assert gen5.read(data.replace(b"\r\n", b"\r")) == gen5.read(data)


@needs_sample
def test_read_export_detects_gen5_by_content():
    assert detect_format(sample_bytes()) is gen5
    assert detect_format(b"Software Version\t3.03.14\r\nnothing else\r\n") is None


@needs_sample
@pytest.mark.parametrize(
    "marker",
    [b"Results\r\n", b"G\t\t\t\t\t\t0.107", b"\t\t\t\t\t\t0.002\t0.163", b"H\t\t\t"],
)
def test_a_truncated_file_is_refused(marker):
    data = sample_bytes()
    cut = data[: data.index(marker) + len(marker)]
    with pytest.raises(ExportError) as raised:
        gen5.read(cut)
    assert raised.value.code == "truncated_export"
    assert "cut" in str(raised.value) or "truncated" in str(raised.value)


def synthetic(conc_dil_spl2: str = "") -> bytes:
    """A clean BCA plate read at 562 nm, no Blank rows: blank 0.101, net absorbance
    0.002 per µg/mL, standards at 25, 125 and 500 µg/mL with replicates ±0.001."""
    ids = {"A": ["BLK", "BLK", "STD1", "STD1", "STD2", "STD2", "STD3", "STD3"]}
    concs = {"A": ["", "", "25", "25", "125", "125", "500", "500"]}
    reads = {"A": ["0.100", "0.102", "0.150", "0.152", "0.350", "0.352", "1.100", "1.102"]}
    ids["B"], concs["B"], reads["B"] = ["SPL1", "SPL2"], ["10", conc_dil_spl2], ["0.601", "0.201"]
    lines = ["", "Software Version\t3.11.19", "", "Plate Number\tPlate 7", "Date\t7/24/2020"]
    lines += ["Time\t3:27:56 PM", "Reader Type:\tSynergy HTX", "", "Layout"]
    head = "\t" + "\t".join(str(n) for n in range(1, 13))
    lines.append(head)
    for row in "ABCDEFGH":
        pad = 12 - len(ids.get(row, []))
        lines.append("\t".join([row, *ids.get(row, []), *[""] * pad, "Well ID"]))
        lines.append("\t".join(["", *concs.get(row, []), *[""] * pad, "Conc/Dil"]))
    lines += ["", "Results", head]
    for row in "ABCDEFGH":
        pad = 12 - len(reads.get(row, []))
        lines.append("\t".join([row, *reads.get(row, []), *[""] * pad, "562"]))
    return ("\r\n".join(lines) + "\r\n").encode()


def test_a_clean_curve_gives_stock_and_measured_concentrations():
    export = read_export(synthetic())

    assert export.software_version == "3.11.19"
    assert export.instrument == "Synergy HTX"
    assert export.performed_at is not None
    assert export.performed_at.isoformat() == "2020-07-24T15:27:56"
    assert export.settings["read_wavelength"] == "562 nm"
    # Net standards 0.049/0.051, 0.249/0.251, 0.999/1.001: slope 0.002, intercept 0, so
    # SPL1 (0.601 - 0.101) / 0.002 * 10 = 2500 µg/mL stock, SPL2 0.1 / 0.002 = 50 measured.
    spl1, spl2 = export.measurements
    assert (spl1.video, spl1.basis) == (1, ResultBasis.STOCK)
    assert spl1.quantity.value == pytest.approx(2500)
    assert (spl2.video, spl2.basis) == (2, ResultBasis.MEASURED)
    assert spl2.quantity.value == pytest.approx(50)
    assert float(export.settings["fit_r_squared"]) > 0.999
    warnings = "\n".join(export.warnings)
    assert "SPL2: the layout gives no dilution" in warnings
    assert "fits poorly" not in warnings
    assert "extrapolated" not in warnings
    assert "not near 562 nm" not in warnings


def test_a_sample_beyond_the_top_standard_is_flagged_extrapolated():
    data = synthetic("4").replace(b"\t0.201\t", b"\t1.301\t")  # SPL2 net 1.2: 600 µg/mL

    export = gen5.read(data)

    assert export.measurements[1].quantity.value == pytest.approx(600 * 4)
    assert "SPL2: well(s) B2 lie outside the standards (25 to 500" in "\n".join(export.warnings)


def test_a_file_without_results_or_not_gen5_is_refused():
    data = synthetic()
    with pytest.raises(ExportError) as raised:
        gen5.read(data[: data.index(b"Results")])
    assert raised.value.code == "truncated_export"
    with pytest.raises(ExportError):
        gen5.read(b"Plate Number\tPlate 1\r\nResults\r\n")
    with pytest.raises(ExportError):
        gen5.read(b"")
