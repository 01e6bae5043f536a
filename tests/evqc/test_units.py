import math
import sys
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from evqc import units
from evqc.exceptions import UnitError, UnitErrorCode
from evqc.units import KINDS, Q_, kind_named, parse_quantity, ureg


def canonical(text, kind):
    return parse_quantity(text, kind).canonical_value


# The registry: facts every stored value relies on
# ------------------------------------------------------------------------------


def test_a_particle_is_a_count_not_a_fraction_of_a_mole():
    assert Q_("1e9 particle/mL").to("1/mL").magnitude == pytest.approx(1e9, rel=1e-15)


@pytest.mark.parametrize(
    ("unit", "dimensionality"),
    [
        ("1/mL", "1 / [length] ** 3"),
        ("particle/mL", "1 / [length] ** 3"),
        ("nm", "[length]"),
        ("mg/mL", "[mass] / [length] ** 3"),
        ("EU/mL", "[endotoxin] / [length] ** 3"),
        ("degC", "[temperature]"),
        ("xg", "[length] / [time] ** 2"),
        ("cell/cm^2", "1 / [length] ** 2"),
        ("kDa", "[mass]"),
    ],
)
def test_units_have_the_dimension_evqc_relies_on(unit, dimensionality):
    assert str(ureg.parse_units(unit).dimensionality) == dimensionality


def test_eu_is_an_endotoxin_unit_not_pints_exa_enzyme_unit():
    assert Q_("5 EU/mL").to("EU/L").magnitude == pytest.approx(5000)
    assert not Q_("1 EU").is_compatible_with("enzyme_unit")


def test_g_is_gram_and_xg_is_standard_gravity():
    assert str(ureg.parse_units("g").dimensionality) == "[mass]"
    assert Q_("1 xg").to("m/s^2").magnitude == pytest.approx(9.80665)


def test_counts_of_cells_and_copies_are_plain_numbers():
    assert Q_("2e6 cell/mL").to("1/mL").magnitude == pytest.approx(2e6)
    assert Q_("3 copies/uL").to("1/mL").magnitude == pytest.approx(3000)


# What labs type
# ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "value", "unit", "expected_canonical"),
    [
        ("2.1e11 particles/mL", "particle_concentration", 2.1e11, "particle/mL", 2.1e11),
        ("2.1e11 particles/ml", "particle_concentration", 2.1e11, "particle/mL", 2.1e11),
        ("1.2E+11 p/mL", "particle_concentration", 1.2e11, "particle/mL", 1.2e11),
        ("1.2x10^11 /mL", "particle_concentration", 1.2e11, "particle/mL", 1.2e11),
        ("1.2 × 10^11 particles/mL", "particle_concentration", 1.2e11, "particle/mL", 1.2e11),
        ("1.2×10¹¹ Particles/mL", "particle_concentration", 1.2e11, "particle/mL", 1.2e11),
        ("6.13e+011 particles/ml", "particle_concentration", 6.13e11, "particle/mL", 6.13e11),
        ("2e8 particles/µL", "particle_concentration", 2e8, "particle/µL", 2e11),
        ("2e8 particles/uL", "particle_concentration", 2e8, "particle/µL", 2e11),
        ("2.1e11 particles mL-1", "particle_concentration", 2.1e11, "particle/mL", 2.1e11),
        ("2.1e11 particles·mL⁻¹", "particle_concentration", 2.1e11, "particle/mL", 2.1e11),
        ("250 µg/mL", "mass_concentration", 250, "µg/mL", 250),
        ("250 μg/mL", "mass_concentration", 250, "µg/mL", 250),
        ("250 ug/mL", "mass_concentration", 250, "µg/mL", 250),
        ("0.25 mg/ml", "mass_concentration", 0.25, "mg/mL", 250),
        ("100,000 x g", "g_force", 100_000, "xg", 100_000),
        ("100000 xg", "g_force", 100_000, "xg", 100_000),
        ("100000 ×g", "g_force", 100_000, "xg", 100_000),
        ("100000 X g", "g_force", 100_000, "xg", 100_000),
        ("100000 rcf", "g_force", 100_000, "xg", 100_000),
        ("100000 g", "g_force", 100_000, "xg", 100_000),
        ("4 °C", "temperature", 4, "°C", 4),
        ("4 degC", "temperature", 4, "°C", 4),
        ("4 ºC", "temperature", 4, "°C", 4),
        ("4 ℃", "temperature", 4, "°C", 4),
        ("4 deg C", "temperature", 4, "°C", 4),
        ("4 C", "temperature", 4, "°C", 4),
        ("−80 °C", "temperature", -80, "°C", -80),
        ("277.15 K", "temperature", 277.15, "K", 4),
        ("120 nm", "length", 120, "nm", 120),
        ("0.12 µm", "length", 0.12, "µm", 120),
        ("1.5 h", "duration", 1.5, "h", 90),
        ("95 %", "fraction", 95, "%", 95),
        ("0.25 EU/mL", "endotoxin_concentration", 0.25, "EU/mL", 0.25),
        ("3e10 /µg", "particles_per_mass", 3e10, "particle/µg", 3e10),
        ("2e4 /cell", "particles_per_cell", 2e4, "particle/cell", 2e4),
        ("5000 cells/cm²", "cell_density", 5000, "cell/cm²", 5000),
        ("2.5e7", "cell_count", 2.5e7, "cell", 2.5e7),
        ("200", "dilution_factor", 200, "", 200),
        ("300 mOsm/kg", "osmolality", 300, "mOsm/kg", 300),
        ("-25 mV", "electric_potential", -25, "mV", -25),
    ],
)
def test_lab_spellings_are_read_and_normalised(text, kind, value, unit, expected_canonical):
    quantity = parse_quantity(text, kind)

    assert quantity.value == pytest.approx(value, rel=1e-15)
    assert quantity.unit == unit
    assert quantity.canonical_value == pytest.approx(expected_canonical, rel=1e-12)
    assert quantity.reported == text


def test_three_digit_exponents_and_thousands_separators_are_numbers():
    assert canonical("1.00e+003", "dilution_factor") == 1000
    assert canonical("1,000,000 /mL", "particle_concentration") == 1e6


def test_a_normalised_unit_reads_back_as_the_same_unit():
    for text, kind in [
        ("2e8 particles/µL", "particle_concentration"),
        ("4 ºC", "temperature"),
        ("1e5 x g", "g_force"),
        ("5000 cells/cm²", "cell_density"),
        ("3 /µg", "particles_per_mass"),
    ]:
        first = parse_quantity(text, kind)
        again = parse_quantity((first.value, first.unit), kind)
        assert (again.unit, again.canonical_value) == (first.unit, first.canonical_value)


def test_a_value_with_a_unit_can_be_given_as_a_pair_or_a_mapping():
    by_pair = parse_quantity((2.1e11, "particles/mL"), "particle_concentration")
    by_mapping = parse_quantity(
        {"value": 2.1e11, "unit": "particles/mL"}, "particle_concentration"
    )
    by_decimal = parse_quantity((Decimal("2.1e11"), "particles/mL"), "particle_concentration")

    assert by_pair == by_mapping
    assert by_decimal.canonical_value == 2.1e11
    assert by_pair.reported == "210000000000.0 particles/mL"


def test_a_value_given_as_text_in_a_mapping_is_read_as_a_number():
    quantity = parse_quantity({"value": "1.2x10^11", "unit": "/mL"}, "particle_concentration")

    assert quantity.canonical_value == 1.2e11
    assert quantity.reported == "1.2x10^11 /mL"


def test_a_bare_number_is_read_only_where_the_kind_is_a_plain_count():
    assert parse_quantity(3, "count").canonical_value == 3
    assert parse_quantity("2.5e7", "cell_count").unit == "cell"
    with pytest.raises(UnitError) as refused:
        parse_quantity(0.95, "fraction")
    assert refused.value.code == UnitErrorCode.MISSING_UNIT


def test_slash_volume_means_particles_per_volume_where_the_kind_counts_particles():
    quantity = parse_quantity("1.2e11/mL", "particle_concentration")

    assert (quantity.unit, quantity.canonical_value) == ("particle/mL", 1.2e11)


def test_temperatures_in_offset_units_convert_exactly_enough():
    assert canonical("39.2 °F", "temperature") == pytest.approx(4, abs=1e-9)
    assert canonical("0 K", "temperature") == pytest.approx(-273.15)


def test_the_value_in_the_canonical_unit_comes_back_as_a_pint_quantity():
    quantity = parse_quantity("0.25 mg/ml", "mass_concentration")

    assert quantity.quantity == Q_(0.25, "mg/mL")
    assert quantity.canonical.to("mg/mL").magnitude == pytest.approx(0.25)
    assert str(quantity) == "0.25 mg/mL"


# Refusals, with the messages people see
# ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "kind", "message"),
    [
        (
            "1,2e11 particles/mL",
            "particle_concentration",
            'concentration: "1,2e11 particles/mL" has a decimal comma (a comma is only read as '
            "a thousands separator, as in 100,000; write 1.2e11, not 1,2e11); expected a "
            'particle concentration (number per volume) such as "2.1e11 particle/mL".',
        ),
        (
            "2.1e11 nm",
            "particle_concentration",
            'concentration: "2.1e11 nm" is a length; expected a particle concentration '
            '(number per volume) such as "2.1e11 particle/mL".',
        ),
        (
            "2e6 cells/mL",
            "particle_concentration",
            'concentration: "2e6 cells/mL" counts cells ("cells/mL"); expected a particle '
            'concentration (number per volume) such as "2.1e11 particle/mL".',
        ),
        (
            "-2e11 particles/mL",
            "particle_concentration",
            'concentration: "-2e11 particles/mL" is below 0 particle/mL, the lowest possible '
            "particle concentration; expected a particle concentration (number per volume) "
            'such as "2.1e11 particle/mL".',
        ),
        (
            "120",
            "length",
            'concentration: "120" has no unit; expected a size (length) such as "120 nm".',
        ),
        (
            "120 nmm",
            "length",
            'concentration: "120 nmm" has a unit evqc does not know ("nmm"); expected a size '
            '(length) such as "120 nm".',
        ),
        (
            "4000 rpm",
            "g_force",
            'concentration: "4000 rpm" is a rotor speed; ×g needs the rotor radius '
            "(RCF = 1.118e-5 × radius in cm × rpm²); expected a g-force (acceleration) such "
            'as "100000 x g".',
        ),
    ],
)
def test_refusals_name_the_field_what_was_given_and_what_was_expected(given, kind, message):
    with pytest.raises(UnitError) as refused:
        parse_quantity(given, kind, field="concentration")

    assert refused.value.message == message
    assert refused.value.extra["field"] == "concentration"


@pytest.mark.parametrize(
    ("given", "kind", "code"),
    [
        ("", "length", UnitErrorCode.MISSING_VALUE),
        ("   ", "length", UnitErrorCode.MISSING_VALUE),
        (None, "length", UnitErrorCode.MISSING_VALUE),
        ("Not recorded", "length", UnitErrorCode.NOT_A_NUMBER),
        ("nan nm", "length", UnitErrorCode.NOT_A_NUMBER),
        ("1e400 /mL", "particle_concentration", UnitErrorCode.NOT_FINITE),
        ((math.inf, "nm"), "length", UnitErrorCode.NOT_FINITE),
        ((10**400, "nm"), "length", UnitErrorCode.NOT_FINITE),
        ((1e308, "km"), "length", UnitErrorCode.NOT_FINITE),
        ((True, "nm"), "length", UnitErrorCode.NOT_A_NUMBER),
        ((120, 5), "length", UnitErrorCode.UNKNOWN_UNIT),
        ({"value": 120}, "length", UnitErrorCode.MISSING_VALUE),
        ({"value": "12 nm", "unit": "nm"}, "length", UnitErrorCode.NOT_A_NUMBER),
        ("1,5 mL", "volume", UnitErrorCode.DECIMAL_COMMA),
        ("1.200,5 mL", "volume", UnitErrorCode.DECIMAL_COMMA),
        ("1,200e3 mL", "volume", UnitErrorCode.DECIMAL_COMMA),
        ("1 cell", "particle_concentration", UnitErrorCode.WRONG_COUNT),
        ("120 %", "fraction", UnitErrorCode.OUT_OF_RANGE),
        ("-300 °C", "temperature", UnitErrorCode.OUT_OF_RANGE),
        ("0.5", "dilution_factor", UnitErrorCode.OUT_OF_RANGE),
        ("2.5", "count", UnitErrorCode.NOT_AN_INTEGER),
        ("4 C", "length", UnitErrorCode.WRONG_DIMENSION),
        ("1" * 201, "length", UnitErrorCode.TOO_LONG),
        ((1, "m" * 101), "length", UnitErrorCode.TOO_LONG),
        (object(), "length", UnitErrorCode.NOT_A_NUMBER),
    ],
)
def test_bad_input_raises_the_one_unit_error_with_a_code(given, kind, code):
    with pytest.raises(UnitError) as refused:
        parse_quantity(given, kind, field="f")

    assert refused.value.code == code


def test_an_unknown_kind_is_refused_with_the_kinds_there_are():
    with pytest.raises(UnitError) as refused:
        kind_named("colour")

    assert refused.value.code == UnitErrorCode.UNKNOWN_KIND
    assert "particle_concentration" in refused.value.message


# Caching
# ------------------------------------------------------------------------------


def test_pint_parses_each_distinct_spelling_once_per_process():
    # Spellings no other test uses, so they are new to this process.
    spellings = ["particles/dL", "p/cL", "particle / nL", "1/dL", "particles per cL"]
    before = units.pint_parse_count()

    for i in range(2000):
        parse_quantity(f"{i + 1}e6 {spellings[i % 5]}", "particle_concentration")
        parse_quantity((i + 1.0, spellings[i % 5]), "particle_concentration")

    assert 1 <= units.pint_parse_count() - before <= len(spellings)


# Properties
# ------------------------------------------------------------------------------

ALTERNATIVE_UNITS = {
    "particle_concentration": ["particle/mL", "particles/µL", "/L", "p/nL", "particles/ml"],
    "length": ["nm", "µm", "pm", "mm", "angstrom"],
    "mass_concentration": ["µg/mL", "mg/mL", "ng/µL", "g/L", "pg/mL"],
    "volume": ["mL", "µL", "L", "cL"],
    "duration": ["min", "h", "s", "day"],
    "g_force": ["xg", "x g", "rcf", "m/s^2"],
    "endotoxin_concentration": ["EU/mL", "EU/L", "EU/µL"],
}
kind_and_unit = st.sampled_from(
    [(kind, unit) for kind, spellings in ALTERNATIVE_UNITS.items() for unit in spellings]
)
magnitudes = st.floats(min_value=1e-3, max_value=1e13, allow_nan=False, allow_infinity=False)


@given(kind_and_unit, magnitudes)
def test_values_round_trip_through_the_canonical_unit(kind_unit, magnitude):
    kind, unit = kind_unit
    quantity = parse_quantity((magnitude, unit), kind)

    back = Q_(quantity.canonical_value, KINDS[kind].pint_unit).to(quantity.quantity.units)
    assert back.magnitude == pytest.approx(magnitude, rel=1e-12)
    assert parse_quantity(f"{magnitude!r} {unit}", kind).value == magnitude


@given(st.sampled_from(sorted(ALTERNATIVE_UNITS)), st.data(), magnitudes, magnitudes)
def test_comparisons_do_not_depend_on_the_unit_used(kind, data, first, second):
    first_unit = data.draw(st.sampled_from(ALTERNATIVE_UNITS[kind]))
    second_unit = data.draw(st.sampled_from(ALTERNATIVE_UNITS[kind]))
    a = parse_quantity((first, first_unit), kind)
    b = parse_quantity((second, second_unit), kind)
    pint_a, pint_b = a.quantity, b.quantity
    assume(not math.isclose(pint_a.to(pint_b.units).magnitude, second, rel_tol=1e-9))

    assert (a.canonical_value < b.canonical_value) == (pint_a < pint_b)


other_dimension_units = st.sampled_from(["nm", "mg", "°C", "min", "EU", "xg", "mL", "kDa", "Pa"])


@given(other_dimension_units, magnitudes)
def test_a_unit_of_another_dimension_is_refused_with_the_unit_error(unit, magnitude):
    with pytest.raises(UnitError) as refused:
        parse_quantity((magnitude, unit), "particle_concentration")

    assert refused.value.code == UnitErrorCode.WRONG_DIMENSION


anything = st.one_of(
    st.text(max_size=60),
    st.text(alphabet="0123456789.,eE+-−x×^ /µ°%pgmLnkCKu·⁻¹²³", max_size=30),
    st.tuples(st.one_of(st.floats(), st.integers(), st.text(max_size=12), st.none()),
              st.one_of(st.text(max_size=20), st.none(), st.integers())),
    st.dictionaries(st.sampled_from(["value", "unit", "other"]),
                    st.one_of(st.floats(), st.text(max_size=12), st.none())),
    st.floats(), st.integers(), st.booleans(), st.none(),
)  # fmt: skip


@given(st.sampled_from(sorted(KINDS)), anything)
def test_anything_is_either_a_quantity_or_the_unit_error(kind, given_value):
    try:
        quantity = parse_quantity(given_value, kind)
    except UnitError:
        return
    assert math.isfinite(quantity.canonical_value)
    assert quantity.kind is KINDS[kind]


def test_the_core_imports_without_django(tmp_path):
    import subprocess

    script = "import sys, evqc.units, evqc.exceptions; sys.exit('django' in sys.modules)"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(units.DEFINITIONS.parent.parent)}
    completed = subprocess.run([sys.executable, "-c", script], env=env, check=False)  # noqa: S603

    assert completed.returncode == 0
