"""Units for evqc: the one pint registry, the kinds of quantity evqc stores, and the one
function that turns what a person or instrument wrote into a checked quantity.

Every number with a unit enters evqc through `parse_quantity(given, kind, field=...)`. It
accepts text as labs type it ("2.1e11 particles/mL", "1.2x10^11 p/mL", "100,000 x g",
"4 °C") or a value with a unit (`(2.1e11, "particle/mL")`, `{"value": ..., "unit": ...}`),
checks it against the kind's dimension and bounds, and returns a `QuantityValue`: the
value and normalised unit as entered, the value in the kind's canonical unit (used for
queries, specifications and charts) and the text as reported. Anything else raises
`UnitError`, which names the field, what was given and what was expected.

Spellings (see docs/units.md for the full list):
- Numbers: "1.2e11", "1.2E+11", "1.2x10^11", "1.2×10¹¹", "100,000" (a comma is only a
  thousands separator; "1,2e11" is refused, never read as 12e10).
- Counts: particle (p, particles), cell, copy, cfu are plain counts, so "1e9 particle/mL"
  is 1e9 per mL. Where a kind counts particles, "/mL" means particles per mL; a different
  count ("cells/mL" for a particle concentration) is refused.
- g-force: "x g", "xg", "×g", "rcf" are relative centrifugal force; "g" alone is gram,
  except in a g-force field where it can only mean ×g.
- Temperature: "°C", "degC", "ºC", "deg C"; a bare "C" only in a temperature field.

pint parses each distinct unit spelling once per process (`pint_parse_count()` counts
them); after that a value costs a regular expression, a dictionary look-up and a multiply.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, NamedTuple, cast

import pint

from evqc.exceptions import UnitError, UnitErrorCode

__all__ = [
    "KINDS",
    "Q_",
    "QuantityKind",
    "QuantityValue",
    "UnitError",
    "computed_quantity",
    "convert",
    "kind_named",
    "parse_quantity",
    "pint_parse_count",
    "split_number",
    "ureg",
]

DEFINITIONS = Path(__file__).with_name("unit_definitions.txt")
MAX_TEXT_LENGTH = 200
MAX_UNIT_LENGTH = 100

ureg: pint.UnitRegistry[Any] = pint.UnitRegistry(on_redefinition="ignore", cache_folder=None)
ureg.load_definitions(str(DEFINITIONS))
# pint built its conversion cache from its defaults before our redefinitions (particle as
# a count, litre printed as L); rebuild it so no conversion uses the old definitions.
ureg._build_cache()
pint.set_application_registry(ureg)  # type: ignore[no-untyped-call]
Q_ = ureg.Quantity

# Units that count objects. They are dimensionless, so a kind says which one it counts.
COUNT_UNITS = frozenset({"particle", "cell", "copy", "colony_forming_unit"})

# Words for dimensions, for messages a scientist can act on.
DIMENSION_WORDS = {
    "[length]": "length",
    "[length] ** 2": "area",
    "[length] ** 3": "volume",
    "[mass]": "mass",
    "[time]": "time",
    "[temperature]": "temperature",
    "dimensionless": "pure number",
    "1 / [length] ** 3": "number per volume",
    "1 / [length] ** 2": "number per area",
    "1 / [mass]": "number per mass",
    "1 / [time]": "rate",
    "[mass] / [length] ** 3": "mass per volume",
    "[length] / [time] ** 2": "acceleration",
    "[endotoxin]": "endotoxin activity",
    "[endotoxin] / [length] ** 3": "endotoxin activity per volume",
    "[endotoxin] / [mass]": "endotoxin activity per body mass",
    "[length] ** 3 / [time]": "flow rate",
    "[mass] / [length] / [time] ** 2": "pressure",
    "[substance]": "amount of substance",
    "[substance] / [mass]": "amount per mass",
    "[substance] / [length] ** 3": "molar concentration",
    "[current] * [time]": "electric charge",
    "[length] ** 2 * [mass] / [current] / [time] ** 3": "electric potential",
}


def describe_dimension(dimensionality: Any) -> str:
    text = str(dimensionality)
    return DIMENSION_WORDS.get(text, text)


# Kinds of quantity
# ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class QuantityKind:
    """What a numeric field holds: its dimension (through its canonical unit) and bounds.

    `minimum` and `maximum` are in the canonical unit and inclusive; `integer` refuses
    fractional counts; `aliases` maps a whole unit spelling to what it can only mean in
    this kind ("g" in a g-force field is ×g, "C" in a temperature field is °C); `hints`
    replace the message for a wrong dimension that people commonly give (rpm for ×g).
    """

    name: str
    label: str
    unit: str
    example: str
    minimum: float | None = 0.0
    maximum: float | None = None
    integer: bool = False
    aliases: Mapping[str, str] = field(default_factory=dict)
    hints: Mapping[str, str] = field(default_factory=dict)
    # Unit spelling -> how to convert it (or why not); filled by `_conversion`.
    conversions: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    def __str__(self) -> str:
        return self.name

    def parse(self, given: object, *, field: str = "") -> QuantityValue:
        return parse_quantity(given, self, field=field)

    @cached_property
    def lowest(self) -> float:
        """`minimum` for the hot path: a finite float even where there is no minimum."""
        return -sys.float_info.max if self.minimum is None else self.minimum

    @cached_property
    def highest(self) -> float:
        return sys.float_info.max if self.maximum is None else self.maximum

    @cached_property
    def pint_unit(self) -> pint.Unit:
        parsed = _parse_unit(_normalise_spelling(self.unit))
        if parsed is None:
            raise ValueError(f"kind {self.name}: canonical unit {self.unit!r} is not a unit")
        return parsed

    @cached_property
    def unit_label(self) -> str:
        return _label(self.pint_unit)

    @cached_property
    def counts(self) -> dict[str, int]:
        return _counts(self.pint_unit)

    @cached_property
    def takes_bare_numbers(self) -> bool:
        """A bare number is read in this kind's unit only where that unit is a plain count."""
        unit = self.pint_unit
        return bool(unit.dimensionless) and Q_(1.0, unit).to(ureg.dimensionless).magnitude == 1.0

    @cached_property
    def expected(self) -> str:
        dimension = describe_dimension(self.pint_unit.dimensionality)
        what = self.label if dimension == self.label else f"{self.label} ({dimension})"
        return f'{_article(self.label)} {what} such as "{self.example}"'


def _kinds(*kinds: QuantityKind) -> dict[str, QuantityKind]:
    return {kind.name: kind for kind in kinds}


KINDS: dict[str, QuantityKind] = _kinds(
    QuantityKind("particle_concentration", "particle concentration", "particle/mL",
                 "2.1e11 particle/mL"),
    QuantityKind("length", "size", "nm", "120 nm"),
    QuantityKind("mass_concentration", "mass concentration", "µg/mL", "250 µg/mL"),
    QuantityKind("particles_per_mass", "particle-to-protein ratio", "particle/µg",
                 "3e10 particle/µg"),
    QuantityKind("particles_per_cell", "particle yield per cell", "particle/cell",
                 "2e4 particle/cell"),
    QuantityKind("cell_count", "cell count", "cell", "2.5e7 cell", integer=True),
    QuantityKind("particle_count", "particle count", "particle", "1e9 particle"),
    QuantityKind("cell_concentration", "cell concentration", "cell/mL", "1e6 cell/mL"),
    QuantityKind("cell_density", "cell density", "cell/cm²", "5000 cell/cm²"),
    QuantityKind("copy_concentration", "copy number concentration", "copy/µL",
                 "1.5e4 copy/µL"),
    QuantityKind("cfu_concentration", "colony count", "cfu/mL", "0 cfu/mL"),
    QuantityKind("endotoxin_concentration", "endotoxin concentration", "EU/mL", "0.25 EU/mL"),
    QuantityKind("endotoxin_dose", "endotoxin dose", "EU/kg", "5 EU/kg"),
    QuantityKind("fraction", "percentage", "%", "95 %", maximum=100.0),
    QuantityKind("relative_percentage", "percentage of a reference", "%", "85 %"),
    QuantityKind("count", "count", "", "3", integer=True),
    QuantityKind("number", "number", "", "1.5"),
    QuantityKind("dilution_factor", "dilution factor", "", "200", minimum=1.0),
    QuantityKind("ph", "pH", "", "7.4", maximum=14.0),
    QuantityKind("volume", "volume", "mL", "500 mL"),
    QuantityKind("area", "area", "cm²", "175 cm²"),
    QuantityKind("mass", "mass", "mg", "250 mg"),
    QuantityKind("molecular_mass", "molecular mass", "kDa", "100 kDa"),
    QuantityKind("density", "density", "g/mL", "1.10 g/mL"),
    QuantityKind("g_force", "g-force", "xg", "100000 x g", aliases={"g": "xg"},
                 hints={"rate": "is a rotor speed; ×g needs the rotor radius "
                                "(RCF = 1.118e-5 × radius in cm × rpm²)"}),
    QuantityKind("duration", "duration", "min", "70 min"),
    QuantityKind("temperature", "temperature", "degC", "4 °C", minimum=-273.15,
                 aliases={"C": "degC", "F": "degF"}),
    QuantityKind("flow_rate", "flow rate", "mL/min", "10 mL/min"),
    QuantityKind("pressure", "pressure", "bar", "0.5 bar"),
    QuantityKind("osmolality", "osmolality", "mOsm/kg", "300 mOsm/kg"),
    QuantityKind("electric_potential", "zeta potential", "mV", "-25 mV", minimum=None),
    QuantityKind("voltage", "voltage", "V", "400 V"),
    QuantityKind("viscosity", "viscosity", "cP", "0.89 cP"),
    QuantityKind("size_density", "concentration per size bin", "particle/mL/nm",
                 "1.2e8 particle/mL/nm"),
)  # fmt: skip


def kind_named(name: str | QuantityKind) -> QuantityKind:
    """The kind called `name`; a kind passes through, so callers may give either."""
    if isinstance(name, QuantityKind):
        return name
    try:
        return KINDS[name]
    except KeyError:
        raise UnitError(
            UnitErrorCode.UNKNOWN_KIND,
            field="kind",
            given=name,
            problem="is not a kind of quantity evqc knows",
            expected="one of " + ", ".join(sorted(KINDS)),
        ) from None


# The checked value
# ------------------------------------------------------------------------------


class QuantityValue(NamedTuple):
    """A value as entered, in its normalised unit, with its canonical value and source text.

    `value` and `unit` are what the lab entered (unit spelled the one way evqc writes it);
    `canonical_value` is the same amount in `kind.unit`; `reported` is the text exactly as
    given (or the value and unit as given, for structured input). Immutable; a NamedTuple
    because one is built for every value an instrument sends.
    """

    value: float
    unit: str
    canonical_value: float
    kind: QuantityKind
    reported: str

    def __str__(self) -> str:
        return f"{self.value:g} {self.unit}".strip()

    @property
    def canonical_unit(self) -> str:
        return self.kind.unit_label

    @property
    def quantity(self) -> pint.Quantity[float]:
        return Q_(self.value, _parse_unit(_normalise_spelling(self.unit)))

    @property
    def canonical(self) -> pint.Quantity[float]:
        return Q_(self.canonical_value, self.kind.pint_unit)


# What is wrong with a value, in words (the UnitError message adds field and expectation)
# ------------------------------------------------------------------------------

EMPTY = "is empty"
NO_VALUE = "is not a value"
NOT_A_NUMBER = "does not start with a number"
VALUE_NOT_A_NUMBER = "has a value that is not a number"
NOT_A_QUANTITY = "is not a quantity"
NEEDS_VALUE_AND_UNIT = 'needs "value" and "unit"'
DECIMAL_COMMA = (
    "has a decimal comma (a comma is only read as a thousands separator, as in 100,000; "
    "write 1.2e11, not 1,2e11)"
)
NOT_FINITE = "is not a finite number"
TOO_LARGE = "is too large to store"
NO_UNIT = "has no unit"
UNIT_NOT_TEXT = "has a unit that is not text"
UNKNOWN_UNIT = 'has a unit evqc does not know ("{spelling}")'
OTHER_COUNT = 'counts {count}s ("{spelling}")'
OTHER_DIMENSION = "is {article} {dimension}"
BELOW_MINIMUM = "is below {limit}, the lowest possible {label}"
ABOVE_MAXIMUM = "is above {limit}, the highest possible {label}"
NOT_WHOLE = "is not a whole number"
TEXT_TOO_LONG = f"is longer than {MAX_TEXT_LENGTH} characters"
UNIT_TOO_LONG = f"has a unit longer than {MAX_UNIT_LENGTH} characters"


class _Refusal(NamedTuple):
    code: UnitErrorCode
    problem: str


class _Refused(Exception):
    """Raised inside this module; parse_quantity turns it into a UnitError for its field."""

    def __init__(self, code: UnitErrorCode, problem: str) -> None:
        self.refusal = _Refusal(code, problem)


# Parsing
# ------------------------------------------------------------------------------


def parse_quantity(given: object, kind: QuantityKind | str, *, field: str = "") -> QuantityValue:
    """Read `given` as a quantity of `kind`; raise `UnitError` naming `field` if it is not one.

    `given` is text ("2.1e11 particles/mL"), a (value, unit) pair, a mapping with "value"
    and "unit", or a bare number (only for plain counts such as a dilution factor).
    """
    if not isinstance(kind, QuantityKind):
        kind = kind_named(kind)
    try:
        if isinstance(given, str):
            value, spelling = _read_text(given)
            reported = given
        else:
            value, spelling, reported = _read_structure(given)
        canonical, unit = _convert(value, spelling, kind)
    except _Refused as refused:
        code, problem = refused.refusal
        raise UnitError(
            code, field=field, given=given, problem=problem, expected=kind.expected
        ) from None
    return QuantityValue(value, unit, canonical, kind, reported)


def split_number(text: str, *, field: str = "") -> tuple[float, str]:
    """The number at the start of `text` and what follows it ("1.2x10^11 /mL" ->
    (1.2e11, "/mL")), read as `parse_quantity` reads it; UnitError if there is none."""
    try:
        return _read_text(text)
    except _Refused as refused:
        code, problem = refused.refusal
        raise UnitError(
            code, field=field, given=text, problem=problem, expected="a number"
        ) from None


def _convert(value: float, spelling: str, kind: QuantityKind) -> tuple[float, str]:
    """`value` written in `spelling` as (canonical value, normalised unit) of `kind`."""
    conversion = kind.conversions.get(spelling) or _conversion(kind, spelling)
    if isinstance(conversion, _Refusal):
        raise _Refused(*conversion)
    if conversion.factor is None:  # offset units (°F to °C): pint does the arithmetic
        canonical = float(Q_(value, conversion.unit).to(kind.pint_unit).magnitude)
    else:
        canonical = value * conversion.factor
    if not kind.lowest <= canonical <= kind.highest or kind.integer:
        _check_bounds(canonical, kind)
    return canonical, conversion.label


def _read_text(text: str) -> tuple[float, str]:
    """The number and the unit spelling of "1.2x10^11 particles/mL"."""
    if len(text) > MAX_TEXT_LENGTH:
        raise _Refused(UnitErrorCode.TOO_LONG, TEXT_TOO_LONG)
    # Most values are a plain float, a space and a unit ("2.1e+11 particles/mL"): float()
    # reads those fastest. It also reads "nan", "1_000" and non-ASCII digits, so those,
    # and "1.2 x10^11", go to the careful reading.
    number, _, rest = text.partition(" ")
    exponent_follows = rest[:1] in _EXPONENT_SIGNS and _EXPONENT_AFTER.match(rest)
    if number.isascii() and "_" not in number and not exponent_follows:
        try:
            value = float(number)
        except ValueError:
            pass
        else:
            if math.isfinite(value):
                return value, rest.strip()
    return _read_number(text)


_EXPONENT_SIGNS = frozenset("x×X*·")
_EXPONENT_AFTER = re.compile(r"[x×X*·]\s*10")
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_NUMBER = re.compile(
    r"""\s*
    (?P<sign>[-+\u2212]?)\s*
    (?P<mantissa>\d{1,3}(?:,\d{3})+(?:\.\d*)?|\d+(?:\.\d*)?|\.\d+)
    (?:
        [eE](?P<exp>[-+\u2212]?\d+)
      | \s*[x×X*·]\s*10\s*(?:\^|\*\*)\s*\(?(?P<exp10>[-+\u2212]?\d+)\)?
      | \s*[x×X*·]\s*10(?P<sup>[⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)
    )?
    """,
    re.VERBOSE,
)
_DECIMAL_COMMA = re.compile(r"\s*,\s*\d")


def _read_number(text: str) -> tuple[float, str]:
    """The careful reading: "1.2×10¹¹", "100,000 x g", "−80 °C", and the refusals."""
    match = _NUMBER.match(text)
    if match is None:
        if not text.strip():
            raise _Refused(UnitErrorCode.MISSING_VALUE, EMPTY)
        raise _Refused(UnitErrorCode.NOT_A_NUMBER, NOT_A_NUMBER)
    sign, mantissa, exponent, exponent10, superscript = match.group(
        "sign", "mantissa", "exp", "exp10", "sup"
    )
    exponent = exponent or exponent10 or (superscript or "").translate(_SUPERSCRIPTS)
    rest = text[match.end() :]
    if "," in mantissa:
        if exponent:  # "1,200e3": a decimal comma or a thousands separator? Refuse to guess.
            raise _Refused(UnitErrorCode.DECIMAL_COMMA, DECIMAL_COMMA)
        mantissa = mantissa.replace(",", "")
    if "," in rest and _DECIMAL_COMMA.match(rest):
        raise _Refused(UnitErrorCode.DECIMAL_COMMA, DECIMAL_COMMA)
    number = f"{sign}{mantissa}e{exponent}" if exponent else f"{sign}{mantissa}"
    value = float(number.replace("\u2212", "-"))
    if not math.isfinite(value):
        raise _Refused(UnitErrorCode.NOT_FINITE, NOT_FINITE)
    return value, rest.strip()


def _read_structure(given: object) -> tuple[float, str, str]:
    """The number, unit spelling and reported text of (value, unit), {"value", "unit"} or 3."""
    if isinstance(given, tuple | list) and len(given) == 2:
        given_value, given_unit = given
    elif isinstance(given, Mapping):
        if "value" not in given or "unit" not in given:
            raise _Refused(UnitErrorCode.MISSING_VALUE, NEEDS_VALUE_AND_UNIT)
        given_value, given_unit = given["value"], given["unit"]
    elif given is None:
        raise _Refused(UnitErrorCode.MISSING_VALUE, NO_VALUE)
    elif isinstance(given, int | float | Decimal) and not isinstance(given, bool):
        given_value, given_unit = given, ""
    else:
        raise _Refused(UnitErrorCode.NOT_A_NUMBER, NOT_A_QUANTITY)
    given_unit = "" if given_unit is None else given_unit
    if not isinstance(given_unit, str):
        raise _Refused(UnitErrorCode.UNKNOWN_UNIT, UNIT_NOT_TEXT)
    if len(given_unit) > MAX_UNIT_LENGTH:
        raise _Refused(UnitErrorCode.TOO_LONG, UNIT_TOO_LONG)
    if isinstance(given_value, str):
        value, rest = _read_text(given_value)
        if rest:
            raise _Refused(UnitErrorCode.NOT_A_NUMBER, VALUE_NOT_A_NUMBER)
        return value, given_unit.strip(), f"{given_value} {given_unit}".strip()
    if isinstance(given_value, bool) or not isinstance(given_value, int | float | Decimal):
        raise _Refused(UnitErrorCode.NOT_A_NUMBER, VALUE_NOT_A_NUMBER)
    try:
        value = float(given_value)
    except (OverflowError, ValueError):  # 10**400, Decimal("sNaN")
        value = math.nan
    if not math.isfinite(value):
        raise _Refused(UnitErrorCode.NOT_FINITE, NOT_FINITE)
    return value, given_unit.strip(), f"{given_value!r} {given_unit}".strip()


def _check_bounds(canonical: float, kind: QuantityKind) -> None:
    if not math.isfinite(canonical):
        raise _Refused(UnitErrorCode.NOT_FINITE, TOO_LARGE)
    if kind.minimum is not None and canonical < kind.minimum:
        limit = _amount(kind.minimum, kind)
        raise _Refused(
            UnitErrorCode.OUT_OF_RANGE, BELOW_MINIMUM.format(limit=limit, label=kind.label)
        )
    if kind.maximum is not None and canonical > kind.maximum:
        limit = _amount(kind.maximum, kind)
        raise _Refused(
            UnitErrorCode.OUT_OF_RANGE, ABOVE_MAXIMUM.format(limit=limit, label=kind.label)
        )
    if kind.integer and not canonical.is_integer():
        raise _Refused(UnitErrorCode.NOT_AN_INTEGER, NOT_WHOLE)


# Unit spellings
# ------------------------------------------------------------------------------

_GFORCE = re.compile(r"(?<![A-Za-z])[x×X]\s*g\b")
_DEGREES = re.compile(r"(?:°|º|˚|deg(?:rees?)?)\s*([CFK])\b")
_INVERSE_POWER = re.compile(r"(?<=[A-Za-zµ])\s*(?:\^)?-(\d)\b")
_SUPERSCRIPT_RUN = re.compile(r"[⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺]+")
_COUNT_WORDS = re.compile(r"\b(Particles?|Cells?|Copies|Copy|Cfu)\b")
_SPACES = re.compile(r"\s+")
_CHARACTERS = str.maketrans(
    {"µ": "u", "μ": "u", "\u2212": "-", "\u2013": "-", "·": "*", "⋅": "*", "℃": "degC"}
)


@lru_cache(maxsize=4096)
def _normalise_spelling(text: str) -> str:
    """Rewrite lab spellings into ones pint reads; cheap, and cached per spelling."""
    spelling = text.strip().translate(_CHARACTERS)
    spelling = _SUPERSCRIPT_RUN.sub(lambda m: "^" + m[0].translate(_SUPERSCRIPTS), spelling)
    spelling = _GFORCE.sub("xg", spelling)
    spelling = _DEGREES.sub(r"deg\1", spelling)
    spelling = _INVERSE_POWER.sub(r"^-\1", spelling)
    spelling = _COUNT_WORDS.sub(lambda m: m[0].lower(), spelling)
    spelling = _SPACES.sub(" ", spelling)
    if spelling.startswith("/"):
        spelling = "1" + spelling
    return spelling


_pint_parses = 0


def pint_parse_count() -> int:
    """How many unit spellings pint has parsed in this process (each one once)."""
    return _pint_parses


@lru_cache(maxsize=2048)
def _parse_unit(spelling: str) -> pint.Unit | None:
    """The pint unit for a normalised spelling, or None; the only caller of pint's parser."""
    global _pint_parses
    _pint_parses += 1
    try:
        unit = ureg.parse_units(spelling)
    except Exception:  # pint raises many types on junk; all mean "not a unit"
        return None
    return unit


def _counts(unit: pint.Unit) -> dict[str, int]:
    items = Q_(1, unit).unit_items()
    return {name: int(cast(float, power)) for name, power in items if name in COUNT_UNITS}


def _label(unit: pint.Unit) -> str:
    return f"{unit:~P}"


class _Conversion(NamedTuple):
    """How values written in one unit spelling become values of one kind."""

    unit: pint.Unit
    label: str
    factor: float | None  # None: an offset unit (°F to °C), converted by pint itself


def _conversion(kind: QuantityKind, spelling: str) -> _Conversion | _Refusal:
    """How to read values written in `spelling` as `kind`, or why they cannot be; kept in
    the kind's cache, refusals included, so each spelling costs pint one parse per process."""
    try:
        conversion: _Conversion | _Refusal = _new_conversion(kind, spelling)
    except _Refused as refused:
        conversion = refused.refusal
    if len(kind.conversions) >= 4096:  # junk spellings must not grow memory without bound
        kind.conversions.clear()
    kind.conversions[spelling] = conversion
    return conversion


def _new_conversion(kind: QuantityKind, spelling: str) -> _Conversion:
    if not spelling:
        if kind.takes_bare_numbers:
            return _Conversion(kind.pint_unit, kind.unit_label, 1.0)
        raise _Refused(UnitErrorCode.MISSING_UNIT, NO_UNIT)
    unit = _parse_unit(kind.aliases.get(spelling) or _normalise_spelling(spelling))
    if unit is None:
        raise _Refused(UnitErrorCode.UNKNOWN_UNIT, UNKNOWN_UNIT.format(spelling=spelling))
    given_counts = _counts(unit)
    for name, power in given_counts.items():
        if kind.counts.get(name) != power:
            raise _Refused(
                UnitErrorCode.WRONG_COUNT, OTHER_COUNT.format(count=name, spelling=spelling)
            )
    for name, power in kind.counts.items():
        if name not in given_counts:  # "/mL" in a particle field means particles per mL
            unit = unit * cast(pint.Unit, _parse_unit(name)) ** power
    if unit.dimensionality != kind.pint_unit.dimensionality:
        dimension = describe_dimension(unit.dimensionality)
        problem = kind.hints.get(dimension) or OTHER_DIMENSION.format(
            article=_article(dimension), dimension=dimension
        )
        raise _Refused(UnitErrorCode.WRONG_DIMENSION, problem)
    label = _label(unit)
    if len(label) > MAX_UNIT_LENGTH:
        raise _Refused(UnitErrorCode.TOO_LONG, UNIT_TOO_LONG)
    if Q_(0.0, unit).to(kind.pint_unit).magnitude != 0.0:
        return _Conversion(unit, label, None)
    # pint multiplies prefixes in floating point (1 µm = 999.9999999999999 nm); factors
    # between units labs use are exact to 15 digits, so drop the last-bit noise.
    factor = float(f"{Q_(1.0, unit).to(kind.pint_unit).magnitude:.15g}")
    return _Conversion(unit, label, factor)


def _amount(value: float, kind: QuantityKind) -> str:
    return f"{value:g} {kind.unit_label}".strip()


def _article(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" else "a"


def convert(quantity: QuantityValue, unit: str) -> QuantityValue:
    """The same amount written in `unit` (of the same kind), keeping the reported text."""
    target = parse_quantity((1.0, unit), quantity.kind, field="unit")
    if Q_(0.0, target.quantity.units).to(quantity.kind.pint_unit).magnitude != 0.0:
        value = float(quantity.canonical.to(target.quantity.units).magnitude)
    else:
        value = quantity.canonical_value / target.canonical_value
    return QuantityValue(
        value, target.unit, quantity.canonical_value, quantity.kind, quantity.reported
    )


def computed_quantity(value: float, kind: QuantityKind | str) -> QuantityValue:
    """A number computed from quantities of `kind` (a mean, an SD, a control limit), in
    the kind's canonical unit, to be shown like any measured value. Not checked against
    the kind's bounds: the mean − 3 SD limit of a concentration may be negative, and the
    page says so rather than refusing to show the limit."""
    kind = kind_named(kind)
    return QuantityValue(value, kind.unit_label, value, kind, "")
