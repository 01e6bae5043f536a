import importlib
import math
from datetime import datetime

import pytest

from evqc.batch_record import SETTING_KINDS
from evqc.instruments import (
    READERS,
    ExportError,
    detect_format,
    read_export,
    zetaview,
)
from evqc.units import QuantityValue
from evqc.vocabulary import ATTRIBUTES, AssayMethod, ResultBasis
from tests.evqc.instruments.detection import FIXTURES, detect, other_formats_files

# evqc's own fixtures (there is no redistributable ZetaView export); other formats' files
# are read where they are, never copied into the project.
FULL = FIXTURES / "zetaview" / "HEK293-EV-P3-2000_size_488.txt"
ZERO = FIXTURES / "zetaview" / "PBS-filtered_zero_traces_size_488.txt"

# The 30 non-zero linear bins of FULL, rows 11-40 (centres 52.5 … 197.5 nm); rows 1-10 and
# 41-50 (2.5 … 47.5 and 202.5 … 247.5 nm) hold 0. Number (traces) and Concentration /
# cm-3 as printed: Number × 36950 particles/mL per trace, to 4 significant digits.
NUMBERS = [2, 3, 5, 8, 13, 19, 27, 35, 44, 52, 58, 62, 64, 62, 58, 52, 45, 39, 33, 27, 23, 19,
           15, 12, 10, 8, 6, 5, 3, 2]  # fmt: skip
CONCENTRATIONS = [
    7.390e4, 1.108e5, 1.848e5, 2.956e5, 4.804e5, 7.020e5, 9.976e5, 1.293e6, 1.626e6,
    1.921e6, 2.143e6, 2.291e6, 2.365e6, 2.291e6, 2.143e6, 1.921e6, 1.663e6, 1.441e6,
    1.219e6, 9.976e5, 8.498e5, 7.020e5, 5.542e5, 4.434e5, 3.695e5, 2.956e5, 2.217e5,
    1.848e5, 1.108e5, 7.390e4,
]  # fmt: skip
CENTRES = [52.5 + 5 * i for i in range(30)]


def full(*replacements: tuple[bytes, bytes]) -> bytes:
    data = FULL.read_bytes()
    for old, new in replacements:
        assert data.count(old) == 1, old
        data = data.replace(old, new)
    return data


def measurement(export, attribute):
    [found] = [m for m in export.measurements if m.attribute == attribute]
    return found


def amount(quantity: QuantityValue) -> tuple[float, str]:
    return quantity.value, quantity.unit


def weighted_quantile(share: float) -> float:
    """The size below which `share` of the particles lie, interpolated linearly inside the
    5-nm bin (edges centre ± 2.5 nm) where the running total reaches it."""
    target, below = share * sum(CONCENTRATIONS), 0.0
    for centre, value in zip(CENTRES, CONCENTRATIONS, strict=True):
        if below + value >= target:
            return centre - 2.5 + 5 * (target - below) / value
        below += value
    raise AssertionError("share above 1")


# The full export
# ------------------------------------------------------------------------------


def test_the_test_bins_are_the_fixtures_traces():
    # The header says Number of Traces 811 and Dilution:: 2000.
    assert sum(NUMBERS) == 811
    assert b"Number of Traces:\t811\t" in FULL.read_bytes()
    assert all(
        c == float(f"{n * 36950:.3e}") for n, c in zip(NUMBERS, CONCENTRATIONS, strict=True)
    )


def test_the_full_export_gives_the_measured_concentration_with_units():
    export = read_export(FULL.read_bytes())

    assert (export.format, export.method) == ("zetaview", AssayMethod.NTA)
    assert export.format_version == "ZetaView 8.05.14 SP7"
    assert export.software_version == "8.05.14 SP7"
    assert export.instrument == "ZetaView (serial 22-612)"
    assert export.sample == "HEK293-EV-P3-2000"
    assert export.performed_at == datetime(2023, 5, 17, 14, 32, 10)  # noqa: DTZ001 (naive, as read)
    concentration = measurement(export, "particle_concentration")
    # Σ of the linear bins only: 29,965,400 particles/mL (the log bins after the
    # -1.000E+0 row count the same particles again and are not added).
    assert sum(CONCENTRATIONS) == pytest.approx(29_965_400)
    assert amount(concentration.quantity) == (2.997e7, "particle/mL")
    assert concentration.basis is ResultBasis.MEASURED
    # Dilution:: 2000 × Concentration Correction Factor 1: the factor the stock still needs.
    assert export.instrument_dilution == 2000.0
    assert export.suggested_dilution is None
    assert export.qc_flags == ()


def test_sizes_come_from_the_linear_bins_and_the_median_from_the_file():
    export = read_export(FULL.read_bytes())

    total = sum(CONCENTRATIONS)
    mean = sum(c * v for c, v in zip(CENTRES, CONCENTRATIONS, strict=True)) / total
    variance = sum(v * (c - mean) ** 2 for c, v in zip(CENTRES, CONCENTRATIONS, strict=True))
    sd = math.sqrt(variance / total)
    assert mean == pytest.approx(118.26, abs=0.01)
    assert amount(measurement(export, "size_mean").quantity) == (round(mean, 1), "nm")
    assert amount(measurement(export, "size_sd").quantity) == (round(sd, 1), "nm")
    # The 64-trace bin, the 13th non-zero one: 52.5 + 12 × 5 = 112.5 nm.
    assert amount(measurement(export, "size_mode").quantity) == (112.5, "nm")
    assert measurement(export, "size_d10").quantity.value == round(weighted_quantile(0.1), 1)
    assert measurement(export, "size_d90").quantity.value == round(weighted_quantile(0.9), 1)
    # ZetaView's own Median Number (D50), within one bin of the bins' 116.1 nm.
    assert weighted_quantile(0.5) == pytest.approx(116.09, abs=0.01)
    d50 = measurement(export, "size_d50")
    assert (amount(d50.quantity), d50.reported) == ((116.8125, "nm"), "116.812500")
    assert measurement(export, "size_mean").reported == "evqc, from the 50 linear 5-nm bins"
    assert all(m.attribute in ATTRIBUTES for m in export.measurements)
    assert not [w for w in export.warnings if "D50" in w or "traces" in w]


def test_the_distribution_is_the_linear_bins_on_the_rebuilt_5_nm_grid():
    [distribution] = read_export(FULL.read_bytes()).distributions

    assert distribution.bin_centres == tuple(2.5 + 5 * i for i in range(50))
    assert distribution.bin_values == (0.0,) * 10 + tuple(CONCENTRATIONS) + (0.0,) * 10
    assert (distribution.centre_unit, distribution.value_unit) == ("nm", "particle/mL")
    assert (distribution.bin_quantity, distribution.weighting) == ("concentration", "number")
    assert distribution.basis is ResultBasis.MEASURED


def test_a_full_length_table_keeps_the_grid_where_the_printed_centres_are_rounded():
    # A real file has 1200 linear bins; 5997.5 nm prints as 5.998E+3.
    zero_rows = "".join(
        f"{2.5 + 5 * i:.3E}".replace("E+0", "E+") + "\t0.000E+0" * 4 + "\n"
        for i in range(50, 1200)
    )
    assert zero_rows.splitlines()[-1].startswith("5.998E+3\t")
    data = full((b"\n-1.000E+0", ("\n" + zero_rows + "-1.000E+0").encode()))

    [distribution] = zetaview.read(data).distributions

    assert len(distribution.bin_centres) == 1200
    assert distribution.bin_centres[-1] == 5997.5
    assert distribution.bin_centres[-2] == 5992.5


def test_the_settings_carry_units_and_zetaview_s_flags():
    settings = read_export(FULL.read_bytes()).settings

    assert amount(settings["temperature"]) == (24.87, "°C")
    assert amount(settings["viscosity"]) == (0.892, "cP")
    assert amount(settings["laser_wavelength"]) == (488.0, "nm")
    for name, value in settings.items():
        if isinstance(value, QuantityValue):
            assert value.kind.name == SETTING_KINDS[name]
    assert (settings["temperature_source"], settings["ph_source"]) == ("sensed", "entered")
    assert settings["ph"] == 7.4
    assert settings["conductivity"] == "14820.00 µS/cm"  # "Conductivity: 14820.00" (no tab)
    assert settings["conductivity_source"] == "sensed"
    assert (settings["positions"], settings["trace_count"]) == (11, 811)
    assert (settings["dilution"], settings["concentration_correction_factor"]) == (2000.0, 1.0)
    assert settings["camera"] == "FpSec 30 #Cycles 2 FRate 30.000"
    assert settings["sop"] == "EV_488_scatter"
    assert settings["cell_serial"] == "C-0941"
    # 1904-01-01 is LabVIEW's zero date: never checked.
    assert settings["particle_drift_checked"] is None
    assert "particle_drift_check_result" not in settings  # the key has no value
    assert settings["cell_checked"] == "2023-05-15 09:12:44"


def test_the_warnings_explain_the_basis_and_the_unknown_time_zone():
    warnings = read_export(FULL.read_bytes()).warnings

    assert warnings == (
        "ZetaView does not apply its dilution to the concentrations: they are the measured "
        "(diluted) suspension's; the stock's is 2.997e+07 × 2000 = 5.993e+10 particles/mL "
        "(Dilution:: 2000 × Concentration Correction Factor 1, ZetaView's Original "
        "Concentration)",
        "Date and Time '2023-05-17 14:32:10' give no time zone: performed_at is the "
        "instrument computer's local time; say which time zone before it is stored",
        "Particle Drift Checked is '1904-01-01 01:00:00', LabVIEW's zero date: never done, "
        "stored as empty",
    )


# Line endings, encodings
# ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    [
        lambda data: data.replace(b"\n", b"\r\n"),
        lambda data: data.replace(b"\n", b"\r"),
        lambda data: b"\xef\xbb\xbf" + data,
        lambda data: data.decode("latin-1").encode("utf-8"),
        lambda data: b"\xef\xbb\xbf" + data.decode("latin-1").encode("utf-8"),
    ],
    ids=["crlf", "cr-only", "bom-latin1", "utf-8", "bom-utf-8"],
)
def test_line_endings_bom_and_encoding_do_not_change_what_is_read(variant):
    data = FULL.read_bytes()
    assert b"\r" not in data  # LF
    assert b"\xb5" in data  # Latin-1 µ ("Camera Trigger Duration µs")

    assert read_export(variant(data)) == read_export(data)


# Zero traces, dilution, self-checks
# ------------------------------------------------------------------------------


def test_a_zero_trace_run_gives_no_particles_and_a_warning_never_a_crash():
    data = ZERO.read_bytes()
    assert b"Number of Traces:\t0\t" in data

    export = read_export(data)

    [concentration] = export.measurements
    assert concentration.attribute == "particle_concentration"
    assert amount(concentration.quantity) == (0.0, "particle/mL")
    assert concentration.basis is ResultBasis.MEASURED
    assert export.distributions == ()
    assert export.qc_flags == ("Number of Traces: 0",)
    assert export.warnings[0] == (
        "no particles: the run tracked none (Number of Traces 0, no particles in the size "
        "bins), so the concentration is 0 and there are no sizes; check the sample and the cell"
    )
    assert export.instrument_dilution == 1.0
    assert export.settings["trace_count"] == 0


def test_a_dilution_in_the_sample_name_that_disagrees_with_the_header_is_warned_about():
    export = zetaview.read(full((b"Sample:\tHEK293-EV-P3-2000", b"Sample:\tHEK293-EV-P3-1000")))

    assert export.instrument_dilution == 2000.0  # the header is authoritative
    assert export.suggested_dilution is None
    assert (
        "the sample name 'HEK293-EV-P3-1000' ends in 1000 but the header's Dilution:: is "
        "2000: the header's is used; check which is right"
    ) in export.warnings


def test_a_replicate_number_ending_the_name_is_not_taken_for_a_dilution():
    export = zetaview.read(full((b"Sample:\tHEK293-EV-P3-2000", b"Sample:\tHEK293-EV-P3-2")))

    assert not [w for w in export.warnings if "sample name" in w]


def test_without_a_dilution_in_the_header_the_name_is_only_a_suggestion():
    export = zetaview.read(full((b"Dilution::\t2000.000000", b"Dilution::\t")))

    assert export.instrument_dilution is None
    assert export.suggested_dilution == 2000.0
    assert measurement(export, "particle_concentration").basis is ResultBasis.MEASURED
    assert export.warnings[:2] == (
        "the header gives no usable Dilution:: (''): concentrations are the measured (diluted) "
        "sample's; give the dilution to get the stock's",
        "the sample name 'HEK293-EV-P3-2000' suggests a dilution of 2000; it is only a "
        "suggestion and was not applied: confirm or replace it",
    )


def test_the_correction_factor_is_part_of_the_factor_to_the_stock_and_integers_are_read():
    export = zetaview.read(
        full(
            (b"Dilution::\t2000.000000", b"Dilution::\t2000"),
            (b"Correction Factor:\t1.000000", b"Correction Factor:\t0.850000"),
        )
    )

    # 2000 × 0.85 = 1700; stock 2.99654e7 × 1700 = 5.094e10 particles/mL.
    assert export.instrument_dilution == pytest.approx(1700.0)
    assert amount(measurement(export, "particle_concentration").quantity) == (
        2.997e7,
        "particle/mL",
    )
    assert (
        "= 5.094e+10 particles/mL (Dilution:: 2000 × Concentration Correction Factor 0.85"
        in (export.warnings[0])
    )


def test_bins_that_do_not_add_up_to_the_number_of_traces_are_warned_about():
    export = zetaview.read(full((b"Number of Traces:\t811\t", b"Number of Traces:\t900\t")))

    assert (
        "the Number column sums to 811 traces but the header says Number of Traces 900: the "
        "bins and the header disagree"
    ) in export.warnings


def test_a_median_more_than_one_bin_from_the_bins_is_warned_about():
    export = zetaview.read(full((b"Number (D50):\t116.812500", b"Number (D50):\t130.000000")))

    assert measurement(export, "size_d50").quantity.value == 130.0
    assert (
        "ZetaView's Median Number (D50) 130.000000 nm and evqc's D50 from the 5-nm bins "
        "116.1 nm differ by more than one bin"
    ) in export.warnings


def test_the_logarithmic_bins_are_not_read():
    log_row = b"1.424E+2\t6.600E+1\t2.439E+6"

    export = zetaview.read(full((log_row, b"1.424E+2\t9.900E+1\t9.999E+9")))

    assert export == zetaview.read(FULL.read_bytes())


def test_a_labview_zero_date_leaves_performed_at_unknown():
    export = zetaview.read(full((b"Date:\t2023-05-17", b"Date:\t1904-01-01")))

    assert export.performed_at is None
    assert (
        "Date and Time are missing or unreadable ('1904-01-01 14:32:10'): performed_at is unknown"
    ) in export.warnings


# Refusals
# ------------------------------------------------------------------------------


def cut_after(marker: bytes) -> bytes:
    data = FULL.read_bytes()
    return data[: data.index(marker) + len(marker)]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            cut_after(b"Results (Pos 11):"),
            "has no 'Size Distribution' table: the file is truncated or not a complete "
            "ZetaView size distribution",
        ),
        (
            cut_after(b"Size Distribution\n"),
            "has no size table header (Size / nm, Number, Concentration / cm-3, …): the file "
            "is truncated or not a complete ZetaView size distribution",
        ),
        (
            cut_after(b"1.975E+2\t2.000E+0\t7.390E+4\t8.067E+6\t2.451E+5\n"),
            "the size table ends at line 84 without the -1.000E+0 row that closes its linear "
            "bins: the file is truncated",
        ),
        (
            cut_after(b"1.975E+2\t2.000E+0\t7.3"),
            "line 84 has 3 cells where the size table has 5: the file is cut",
        ),
        (
            cut_after(b"1.424E+2\t6.600E+1"),
            "line 98 has 2 cells where the size table has 5: the file is cut",
        ),
    ],
    ids=["in-header", "after-marker", "in-linear-bins", "mid-row", "mid-log-row"],
)
def test_a_truncated_export_is_refused_with_a_clear_message(data, message):
    with pytest.raises(ExportError) as refused:
        zetaview.read(data)

    assert refused.value.message == message
    assert refused.value.code == "truncated_export"


def test_a_missing_row_in_the_linear_bins_is_refused_with_its_line():
    data = full((b"1.025E+2\t5.800E+1\t2.143E+6\t3.270E+7\t1.914E+6\n", b""))

    with pytest.raises(ExportError) as refused:
        zetaview.read(data)

    assert refused.value.message == (
        "line 65: the bin centre 1.075E+2 is not 102.5 nm, the next centre of the 5-nm grid: "
        "a row is missing or the table is not ZetaView's"
    )


def test_a_bin_that_is_not_a_number_is_refused_with_its_line():
    data = full((b"1.125E+2\t6.400E+1\t2.365E+6", b"1.125E+2\t6.400E+1\tNaN"))

    with pytest.raises(ExportError) as refused:
        zetaview.read(data)

    assert refused.value.message.startswith("line 67: Concentration / cm-3: ")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            "Use\tPosition\tMean Int.\tAv. No of Particles\tConc. (p./mL)\n"
            "X\t1\t24.1\t71.2\t3.1E+7\n",
            zetaview.PER_POSITION,
        ),
        (
            "ZP Profile:\nPosition\tPositive V\tNegative V\tAverage\tParabola Fit\tZP\n",
            zetaview.PROFILE,
        ),
    ],
    ids=["11pos", "prof"],
)
def test_per_position_and_zeta_profile_exports_are_refused_naming_the_size_file(table, message):
    data = cut_after(b"Results (Pos 11):") + b"\n" + table.encode("latin-1")

    assert detect_format(data) is zetaview
    with pytest.raises(ExportError) as refused:
        read_export(data)

    assert (refused.value.message, refused.value.code) == (message, "unsupported_export")


@pytest.mark.parametrize("data", [b"", b"\r\n\t\r\n", b"\xef\xbb\xbf"])
def test_an_empty_file_is_refused(data):
    with pytest.raises(ExportError) as refused:
        zetaview.read(data)

    assert (refused.value.message, refused.value.code) == ("is empty", "empty_export")


# Detection
# ------------------------------------------------------------------------------


def test_no_other_format_s_file_is_taken_for_a_zetaview_export():
    files = other_formats_files("zetaview")
    assert len(files) >= 6  # the nanosight and zetasizer fixtures at least

    for path in files:
        assert not detect(zetaview, path.read_bytes()), path


@pytest.mark.parametrize("path", [FULL, ZERO], ids=["full", "zero-traces"])
def test_the_fixtures_are_zetaview_s_and_no_other_reader_s(path):
    data = path.read_bytes()

    assert detect_format(data) is zetaview
    for name in READERS:
        reader = importlib.import_module(name)
        assert detect(reader, data) is (reader is zetaview), name


@pytest.mark.parametrize(
    "text",
    [
        "Original File:\tC:\\x.avi\r\nOperator:\tAB\r\nSample:\tEV\r\n",  # no ZetaView S/N:
        "Operator:\tAB\r\nOriginal File:\tC:\\x.avi\r\nZetaView S/N:\t22-612\r\n",  # not line 1
        "Original File:\tC:\\x.avi\r\nRemarks:\tcompare with ZetaView S/N: 22-612\r\n",
        "Original File,C:\\x.avi\r\nZetaView S/N:,22-612\r\n",
    ],
    ids=["no-serial", "not-first-line", "serial-in-free-text", "comma-separated"],
)
def test_look_alikes_are_not_taken_for_zetaview_exports(text):
    data = text.encode("latin-1")

    assert not zetaview.detect(text, data)
    with pytest.raises(ExportError) as refused:
        zetaview.read(data)
    assert refused.value.message == zetaview.NOT_ZETAVIEW
