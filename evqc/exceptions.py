"""The one error type of evqc's domain, with machine-readable codes per area.

The API turns every `EVQCError` into `{"message", "code", "extra"}`; forms show
`message` on the field it names. Messages are written for the scientist who typed the
value, codes for the integrator whose script sent it.
"""

from enum import StrEnum
from typing import Any


class EVQCError(Exception):
    """A refusal that the person or instrument can act on."""

    def __init__(self, message: str, code: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.extra = extra or {}


class UnitErrorCode(StrEnum):
    MISSING_VALUE = "missing_value"
    NOT_A_NUMBER = "not_a_number"
    DECIMAL_COMMA = "decimal_comma"
    NOT_FINITE = "not_finite"
    MISSING_UNIT = "missing_unit"
    UNKNOWN_UNIT = "unknown_unit"
    WRONG_DIMENSION = "wrong_dimension"
    WRONG_COUNT = "wrong_count"
    OUT_OF_RANGE = "out_of_range"
    NOT_AN_INTEGER = "not_an_integer"
    TOO_LONG = "too_long"
    UNKNOWN_KIND = "unknown_kind"


class UnitError(EVQCError, ValueError):
    """A value that cannot be read as a quantity of the kind its field expects.

    `field` names the field (or JSON path), `given` is what was given, `expected`
    describes the quantity the field takes, e.g. 'a particle concentration (number per
    volume), such as "2.1e11 particle/mL"'.
    """

    def __init__(
        self, code: UnitErrorCode, *, field: str, given: object, problem: str, expected: str
    ) -> None:
        where = f"{field}: " if field else ""
        message = f"{where}{_shown(given)} {problem}; expected {expected}."
        super().__init__(
            message, code, {"field": field, "given": _shown(given), "expected": expected}
        )
        self.field = field
        self.given = given
        self.expected = expected


def _shown(given: object) -> str:
    """How a given value appears in a message: text quoted, anything else as repr."""
    if isinstance(given, str):
        return f'"{given[:80]}…"' if len(given) > 80 else f'"{given}"'
    return repr(given)[:80]
