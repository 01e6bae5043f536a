"""The one error type of evqc's domain, with machine-readable codes per area.

The API turns every `EVQCError` into `{"message", "code", "extra"}`; forms show
`message` on the field it names. Messages are written for the scientist who typed the
value, codes for the integrator whose script sent it.
"""

from collections.abc import Mapping
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
    """How a given value appears in a message: text quoted; a value with its unit as the
    lab would write it ("-1 mL"); anything else as repr."""
    if isinstance(given, Mapping) and "value" in given:
        given = f"{number_text(given['value'])} {given.get('unit') or ''}".strip()
    elif isinstance(given, tuple | list) and len(given) == 2:
        given = f"{number_text(given[0])} {given[1] or ''}".strip()
    if isinstance(given, str):
        return f'"{given[:80]}…"' if len(given) > 80 else f'"{given}"'
    return repr(given)[:80]


def number_text(value: object) -> str:
    """A number as a lab writes it: 2.1e11 rather than 210000000000.0, 100 not 100.0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e6:
        return str(int(value))
    text = repr(value)
    if isinstance(value, float) and abs(value) >= 1e6 and "e" not in text and "." in text:
        whole, _, fraction = text.partition(".")
        if fraction == "0":  # 210000000000.0 -> 2.1e11
            digits = whole.lstrip("-").rstrip("0")
            sign = "-" if value < 0 else ""
            mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
            return f"{sign}{mantissa}e{len(whole.lstrip('-')) - 1}"
    return text


class SpecErrorCode(StrEnum):
    NO_LIMIT = "no_limit"
    NOT_FINITE = "not_finite"
    LOWER_ABOVE_UPPER = "lower_above_upper"
    EMPTY_RANGE = "empty_range"
    WARNING_OUTSIDE_LIMITS = "warning_outside_limits"
    WARNINGS_CROSSED = "warnings_crossed"
    UNKNOWN_ROUTE = "unknown_route"
    NOT_POSITIVE = "not_positive"


class SpecError(EVQCError, ValueError):
    """A specification that cannot judge a result: no limit, limits that cross, a warning
    band outside the action limits, or inputs to a computed limit that make no sense.

    `field` names the field to correct ("" when the fault is not one field's).
    """

    def __init__(self, message: str, code: SpecErrorCode, *, field: str = "") -> None:
        super().__init__(message, code, {"field": field})
        self.field = field


class DistributionErrorCode(StrEnum):
    LENGTH_MISMATCH = "length_mismatch"
    NO_BINS = "no_bins"
    NOT_FINITE = "not_finite"
    NOT_INCREASING = "not_increasing"
    NEGATIVE_VALUE = "negative_value"
    EMPTY = "empty"
    RANGE_REVERSED = "range_reversed"


class DistributionError(EVQCError, ValueError):
    """A size distribution that cannot be summarised.

    `field` names the argument at fault ("bin_centres", "bin_values", "low", "high"; ""
    for the bins as a whole) and `index` the offending bin, so an import can point at the
    row of the file.
    """

    def __init__(
        self,
        message: str,
        code: DistributionErrorCode,
        *,
        field: str = "",
        index: int | None = None,
    ) -> None:
        super().__init__(message, code, {"field": field, "index": index})
        self.field = field
        self.index = index


class BatchErrorCode(StrEnum):
    NOT_A_MEMBER = "not_a_member"
    ROLE_TOO_LOW = "role_too_low"
    NOT_FOUND = "not_found"
    ALREADY_EXISTS = "already_exists"
    ILLEGAL_TRANSITION = "illegal_transition"
    REASON_REQUIRED = "reason_required"
    LOCKED = "locked"
    CONFLICT = "conflict"
    INVALID = "invalid"


class BatchError(EVQCError):
    """A change to batch data that evqc refuses; `http_status` is what the API answers."""

    http_status = 400

    def __init__(
        self, message: str, code: BatchErrorCode, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, code, extra)


class AccessDenied(BatchError):
    """The acting person lacks the lab membership or role the change needs."""

    http_status = 403


class NotFound(BatchError):
    http_status = 404


class Conflict(BatchError):
    """The row changed since the person loaded it (optimistic locking), or already exists."""

    http_status = 409
