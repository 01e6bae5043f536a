"""Specifications: limits and warning bands turned into verdicts.

Everything here takes plain floats already converted to the specification's unit
(`evqc.units` does that at the boundary), so a verdict never depends on how a value was
typed. Invalid specifications raise `SpecError` instead of judging anything: a verdict
from a specification that cannot fail would be worse than none.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from evqc.exceptions import SpecError, SpecErrorCode

__all__ = [
    "ENDOTOXIN_K_BY_ROUTE",
    "Limits",
    "Qualifier",
    "SpecError",
    "Verdict",
    "check_limits",
    "endotoxin_limit",
    "endotoxin_limit_for_route",
    "outcome_verdict",
    "verdict",
]


class Verdict(StrEnum):
    PASS = "pass"  # noqa: S105 (a verdict, not a password)
    WARN = "warn"
    FAIL = "fail"
    NO_SPEC = "no_spec"


class Qualifier(StrEnum):
    """How a reported number bounds the true value: "< 0.05 EU/mL" is below the assay's
    limit of quantitation, so the true value is somewhere below 0.05."""

    EXACT = ""
    BELOW = "<"
    ABOVE = ">"


@dataclass(frozen=True, slots=True)
class Limits:
    """Action (acceptance) limits and an optional alert band inside them.

    "NMT 0.5" is an inclusive upper limit, "< 0.5" an exclusive one. Warning limits are
    inclusive: a value exactly on one passes. A warning limit may sit on a side without
    an action limit (fail below 1e9 particles/mL, warn above 1e12).
    """

    lower: float | None = None
    upper: float | None = None
    lower_inclusive: bool = True
    upper_inclusive: bool = True
    warn_lower: float | None = None
    warn_upper: float | None = None


# Messages: module constants so tests assert them exactly.
NO_LIMIT = "{lower} and {upper} are both empty; a specification needs at least one limit"
LIMIT_NOT_FINITE = "{field} is not a finite number ({value})"
LOWER_ABOVE_UPPER = "{lower} ({lower_value}) is above {upper} ({upper_value})"
EMPTY_RANGE = (
    "{lower} and {upper} are both {value} and one of them is exclusive, so no value can pass"
)
WARNING_BELOW_LIMIT = (
    "{warn} ({warn_value}) is below {limit} ({limit_value}); "
    "a warning limit must lie within the action limits"
)
WARNING_ABOVE_LIMIT = (
    "{warn} ({warn_value}) is above {limit} ({limit_value}); "
    "a warning limit must lie within the action limits"
)
WARNINGS_CROSSED = "{warn_lower} ({lower_value}) is above {warn_upper} ({upper_value})"
VALUE_NOT_FINITE = "the result is not a finite number ({value})"
UNKNOWN_ROUTE = 'unknown route "{route}"; expected one of: {routes}'
NOT_POSITIVE = "{field} must be a positive number (got {value})"


def check_limits(limits: Limits, *, field_prefix: str = "") -> None:
    """Refuse limits that cannot judge a result; `field_prefix` is put verbatim before
    each field name ("lower_limit", "upper_limit", "warn_lower", "warn_upper")."""
    lower_field = f"{field_prefix}lower_limit"
    upper_field = f"{field_prefix}upper_limit"
    warn_lower_field = f"{field_prefix}warn_lower"
    warn_upper_field = f"{field_prefix}warn_upper"
    lower, upper = limits.lower, limits.upper
    warn_lower, warn_upper = limits.warn_lower, limits.warn_upper

    # NaN compares false with everything, so a NaN limit would pass every value.
    for field, value in (
        (lower_field, lower),
        (upper_field, upper),
        (warn_lower_field, warn_lower),
        (warn_upper_field, warn_upper),
    ):
        if value is not None and not math.isfinite(value):
            raise SpecError(
                LIMIT_NOT_FINITE.format(field=field, value=value),
                SpecErrorCode.NOT_FINITE,
                field=field,
            )

    if lower is None and upper is None:
        raise SpecError(
            NO_LIMIT.format(lower=lower_field, upper=upper_field), SpecErrorCode.NO_LIMIT
        )
    if lower is not None and upper is not None:
        if lower > upper:
            raise SpecError(
                LOWER_ABOVE_UPPER.format(
                    lower=lower_field, lower_value=lower, upper=upper_field, upper_value=upper
                ),
                SpecErrorCode.LOWER_ABOVE_UPPER,
                field=lower_field,
            )
        if lower == upper and not (limits.lower_inclusive and limits.upper_inclusive):
            raise SpecError(
                EMPTY_RANGE.format(lower=lower_field, upper=upper_field, value=lower),
                SpecErrorCode.EMPTY_RANGE,
                field=lower_field,
            )

    for warn_field, warn in ((warn_lower_field, warn_lower), (warn_upper_field, warn_upper)):
        if warn is None:
            continue
        if lower is not None and warn < lower:
            raise SpecError(
                WARNING_BELOW_LIMIT.format(
                    warn=warn_field, warn_value=warn, limit=lower_field, limit_value=lower
                ),
                SpecErrorCode.WARNING_OUTSIDE_LIMITS,
                field=warn_field,
            )
        if upper is not None and warn > upper:
            raise SpecError(
                WARNING_ABOVE_LIMIT.format(
                    warn=warn_field, warn_value=warn, limit=upper_field, limit_value=upper
                ),
                SpecErrorCode.WARNING_OUTSIDE_LIMITS,
                field=warn_field,
            )
    if warn_lower is not None and warn_upper is not None and warn_lower > warn_upper:
        raise SpecError(
            WARNINGS_CROSSED.format(
                warn_lower=warn_lower_field,
                lower_value=warn_lower,
                warn_upper=warn_upper_field,
                upper_value=warn_upper,
            ),
            SpecErrorCode.WARNINGS_CROSSED,
            field=warn_lower_field,
        )


def verdict(
    limits: Limits | None, value: float, qualifier: Qualifier = Qualifier.EXACT
) -> Verdict:
    """FAIL outside the action limits, WARN inside them but strictly beyond a warning
    limit, else PASS; NO_SPEC without limits. Invalid limits raise `SpecError`.

    A "<x" or ">x" result is judged on every true value it allows: "<x" meets an upper
    limit U only when x <= U and never shows a lower limit is met, so any lower limit
    FAILs it (an inconclusive result does not pass, GMP practice); ">x" mirrors this.
    Against warning limits, a value that may lie beyond one is WARN.
    """
    if limits is None:
        return Verdict.NO_SPEC
    check_limits(limits)
    if not math.isfinite(value):
        raise SpecError(
            VALUE_NOT_FINITE.format(value=value), SpecErrorCode.NOT_FINITE, field="value"
        )
    qualifier = Qualifier(qualifier)
    if not _within_action_limits(limits, value, qualifier):
        return Verdict.FAIL
    if _possibly_beyond_warning(limits, value, qualifier):
        return Verdict.WARN
    return Verdict.PASS


def _within_action_limits(limits: Limits, value: float, qualifier: Qualifier) -> bool:
    """Whether every true value the result allows is within the action limits."""
    if limits.lower is not None:
        if qualifier == Qualifier.BELOW:
            return False
        if qualifier == Qualifier.ABOVE or limits.lower_inclusive:
            # ">x" means the true value exceeds x, so x == L shows it above L too.
            if value < limits.lower:
                return False
        elif value <= limits.lower:
            return False
    if limits.upper is not None:
        if qualifier == Qualifier.ABOVE:
            return False
        if qualifier == Qualifier.BELOW or limits.upper_inclusive:
            if value > limits.upper:
                return False
        elif value >= limits.upper:
            return False
    return True


def _possibly_beyond_warning(limits: Limits, value: float, qualifier: Qualifier) -> bool:
    """Whether some true value the result allows is strictly beyond a warning limit."""
    if limits.warn_lower is not None and (
        qualifier == Qualifier.BELOW or value < limits.warn_lower
    ):
        return True
    return limits.warn_upper is not None and (
        qualifier == Qualifier.ABOVE or value > limits.warn_upper
    )


# K, the threshold pyrogenic dose in EU per kg body weight per hour (USP <85>): 5 for any
# route other than intrathecal, 0.2 intrathecal (rules.md REL-SAF-02, decision 5).
ENDOTOXIN_K_BY_ROUTE: dict[str, float] = {
    "intravenous": 5.0,
    "intramuscular": 5.0,
    "subcutaneous": 5.0,
    "inhalation": 5.0,
    "topical": 5.0,
    "intrathecal": 0.2,
}


def endotoxin_limit(*, k_eu_per_kg: float, body_weight_kg: float, dose_volume_ml: float) -> float:
    """The endotoxin limit in EU/mL, K/M = K x body weight / dose volume (USP <85>).

    `dose_volume_ml` is the largest volume given within one hour, because K is per hour:
    a 70 kg adult given 10 mL intravenously may receive 350 EU, so 35 EU/mL.
    """
    for field, value in (
        ("k_eu_per_kg", k_eu_per_kg),
        ("body_weight_kg", body_weight_kg),
        ("dose_volume_ml", dose_volume_ml),
    ):
        if not (math.isfinite(value) and value > 0):
            raise SpecError(
                NOT_POSITIVE.format(field=field, value=value),
                SpecErrorCode.NOT_POSITIVE,
                field=field,
            )
    return k_eu_per_kg * body_weight_kg / dose_volume_ml


def endotoxin_limit_for_route(
    route: str, *, body_weight_kg: float, dose_volume_ml: float
) -> float:
    """The endotoxin limit in EU/mL for a route in `ENDOTOXIN_K_BY_ROUTE` (case and
    surrounding spaces ignored)."""
    k_eu_per_kg = ENDOTOXIN_K_BY_ROUTE.get(route.strip().lower())
    if k_eu_per_kg is None:
        raise SpecError(
            UNKNOWN_ROUTE.format(route=route, routes=", ".join(sorted(ENDOTOXIN_K_BY_ROUTE))),
            SpecErrorCode.UNKNOWN_ROUTE,
            field="route",
        )
    return endotoxin_limit(
        k_eu_per_kg=k_eu_per_kg, body_weight_kg=body_weight_kg, dose_volume_ml=dose_volume_ml
    )


def outcome_verdict(acceptable: Collection[str], outcome: str) -> Verdict:
    """PASS when a qualitative outcome ("Not detected", "Negative") is one of the
    acceptable ones, else FAIL; NO_SPEC when nothing is acceptable. Case and spacing are
    ignored, since outcomes are typed as often as they are picked."""
    if not acceptable:
        return Verdict.NO_SPEC
    wanted = {_outcome_key(each) for each in acceptable}
    return Verdict.PASS if _outcome_key(outcome) in wanted else Verdict.FAIL


def _outcome_key(outcome: str) -> str:
    return " ".join(outcome.split()).casefold()
