"""Control charts of a product's attributes across batches: the centre line, warning and
control limits, and the run rules that say a batch, or a run of batches, is unusual.

A specification says whether one batch is acceptable; a control chart says whether the
process that makes the batches is still behaving as it did. A batch can pass its
specification and still be a signal (the first of a drift, or far from its neighbours),
and QA wants to see that before the specification is failed.

The limits are the mean of the points and their sample standard deviation (n - 1), as
the product-page issue asks: mean ± 2 SD are warning limits, mean ± 3 SD control limits.
The points themselves set the limits, so an extreme point widens them; with few batches
the limits are rough, which is why fewer than `MIN_POINTS` batches get no limits at all.

The run rules are those of the Western Electric handbook (1956) and Nelson (1984) that
the issue names. Plain Python: no Django, no database; values are floats in the
attribute's canonical unit.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

# Fewer points than this give no limits: an SD of two numbers says almost nothing.
MIN_POINTS = 3
WARNING_SDS = 2.0
CONTROL_SDS = 3.0
# Western Electric rule 2: this many of WINDOW consecutive points beyond the warning limit
# on the same side.
BEYOND_WARNING_COUNT = 2
BEYOND_WARNING_WINDOW = 3
# Western Electric rule 4: a run this long on one side of the mean (Nelson uses 9).
LONG_RUN = 8
# Nelson rule 3: this many points in a row, each above (or each below) the one before.
TREND_LENGTH = 6

TOO_FEW_POINTS = (
    "No control limits yet: {count} batch{plural} with a result; limits need at least "
    f"{MIN_POINTS}."
)
NO_SPREAD = "No control limits: every batch has the same result, so the spread (SD) is 0."


class Rule(StrEnum):
    """The run rules checked, in the order a reviewer reads them."""

    BEYOND_CONTROL = "beyond_3sd"
    BEYOND_WARNING = "2_of_3_beyond_2sd"
    LONG_RUN = "long_run"
    TREND = "trend"

    @property
    def heading(self) -> str:
        return RULE_TITLES[self]


RULE_TITLES = {
    Rule.BEYOND_CONTROL: "Point beyond the 3 SD control limit",
    Rule.BEYOND_WARNING: (
        f"{BEYOND_WARNING_COUNT} of {BEYOND_WARNING_WINDOW} consecutive points beyond "
        "the 2 SD warning limit"
    ),
    Rule.LONG_RUN: f"{LONG_RUN} or more consecutive points on one side of the mean",
    Rule.TREND: f"{TREND_LENGTH} or more points in a row steadily rising or falling",
}


@dataclass(frozen=True)
class Point:
    """One batch on the chart: its label (the lot number) and its value."""

    label: str
    value: float


@dataclass(frozen=True)
class Limits:
    """The centre line and the limits, in the values' unit."""

    mean: float
    sd: float

    @property
    def upper_warning(self) -> float:
        return self.mean + WARNING_SDS * self.sd

    @property
    def lower_warning(self) -> float:
        return self.mean - WARNING_SDS * self.sd

    @property
    def upper_control(self) -> float:
        return self.mean + CONTROL_SDS * self.sd

    @property
    def lower_control(self) -> float:
        return self.mean - CONTROL_SDS * self.sd


@dataclass(frozen=True)
class Violation:
    """A rule that fired: which, what it means in words, and the points (by position in
    the sequence) that make it fire."""

    rule: Rule
    description: str
    indices: tuple[int, ...]

    @property
    def heading(self) -> str:
        return self.rule.heading


@dataclass(frozen=True)
class ControlChart:
    """The analysis of a sequence of points: limits (None, with `no_limits` saying why,
    when there are too few points or no spread) and the rules that fired."""

    points: tuple[Point, ...]
    limits: Limits | None
    no_limits: str
    violations: tuple[Violation, ...]

    def rules_at(self, index: int) -> tuple[Rule, ...]:
        """The rules that flag the point at `index`, each once, in rule order."""
        fired = {v.rule for v in self.violations if index in v.indices}
        return tuple(rule for rule in Rule if rule in fired)

    @property
    def flagged(self) -> frozenset[int]:
        """The positions of the points some rule flags."""
        return frozenset(i for v in self.violations for i in v.indices)


def control_chart(points: Sequence[Point]) -> ControlChart:
    """Limits and run-rule violations of points given in time order (oldest first: the
    run rules read the order, so the caller decides what "in a row" means)."""
    shown = tuple(points)
    limits, why_not = limits_of([point.value for point in shown])
    found = () if limits is None else tuple(violations(shown, limits))
    return ControlChart(shown, limits, why_not, found)


def limits_of(values: Sequence[float]) -> tuple[Limits | None, str]:
    """The mean and sample SD of the values, or None and the reason there are no limits
    (too few values, or all equal: every point would sit on every limit)."""
    if len(values) < MIN_POINTS:
        count = len(values)
        return None, TOO_FEW_POINTS.format(count=count, plural="" if count == 1 else "es")
    sd = statistics.stdev(values)
    if sd == 0.0:
        return None, NO_SPREAD
    return Limits(statistics.fmean(values), sd), ""


def violations(points: Sequence[Point], limits: Limits) -> list[Violation]:
    """Every rule that fires on the points, rule by rule, each in the order of its first
    point. Limits are passed in so a chart can be judged against limits set earlier (a
    validation run) as well as against its own."""
    return [
        *beyond_control(points, limits),
        *beyond_warning(points, limits),
        *long_runs(points, limits),
        *trends(points),
    ]


def beyond_control(points: Sequence[Point], limits: Limits) -> list[Violation]:
    """Rule 1: a point beyond a 3 SD control limit. By chance alone about 3 points in
    1000 lie there, so one is a reason to look for a cause."""
    found = []
    for index, point in enumerate(points):
        side = _side(point.value, limits.lower_control, limits.upper_control)
        if side:
            found.append(
                Violation(
                    Rule.BEYOND_CONTROL,
                    f"{point.label} lies {side} the {_limit(side)} control limit (the mean "
                    f"{_sign(side)} 3 SD). By chance alone this happens to about 3 batches in "
                    "1000; look for what was different about this batch.",
                    (index,),
                )
            )
    return found


def beyond_warning(points: Sequence[Point], limits: Limits) -> list[Violation]:
    """Rule 2: 2 of 3 consecutive points beyond the same 2 SD warning limit. One point
    there is common (about 1 in 20); two close together on one side rarely happen by
    chance. Overlapping windows that flag the same side merge into one violation."""
    sides = [_side(p.value, limits.lower_warning, limits.upper_warning) for p in points]
    groups: list[tuple[str, list[int]]] = []
    latest: dict[str, list[int]] = {}  # the last group of each side, to extend
    for start in range(len(points) - BEYOND_WARNING_WINDOW + 1):
        window = range(start, start + BEYOND_WARNING_WINDOW)
        for side in ("above", "below"):
            beyond = [i for i in window if sides[i] == side]
            if len(beyond) < BEYOND_WARNING_COUNT:
                continue
            group = latest.get(side)
            if group is not None and beyond[0] <= group[-1]:
                group.extend(i for i in beyond if i > group[-1])
            else:
                latest[side] = beyond
                groups.append((side, beyond))
    return [
        Violation(
            Rule.BEYOND_WARNING,
            f"{_names(points, indices)} lie {side} the {_limit(side)} warning limit (the "
            f"mean {_sign(side)} 2 SD), {BEYOND_WARNING_COUNT} or more of them in "
            f"{BEYOND_WARNING_WINDOW} consecutive batches. One batch there is common (about "
            "1 in 20), two so close together are not: the process may have moved "
            f"{'up' if side == 'above' else 'down'}.",
            tuple(indices),
        )
        for side, indices in groups
    ]


def long_runs(points: Sequence[Point], limits: Limits) -> list[Violation]:
    """Rule 3: `LONG_RUN` or more consecutive points on one side of the mean, each within
    the limits perhaps, but together a sign that the process level has shifted. A point
    exactly on the mean is on neither side and ends a run."""
    found = []
    for side, start, end in _runs([_side(p.value, limits.mean, limits.mean) for p in points]):
        if side and end - start >= LONG_RUN:
            found.append(
                Violation(
                    Rule.LONG_RUN,
                    f"{end - start} consecutive batches ({points[start].label} to "
                    f"{points[end - 1].label}) lie {side} the mean. The process level may "
                    "have shifted (a new material lot, instrument, operator or method).",
                    tuple(range(start, end)),
                )
            )
    return found


def trends(points: Sequence[Point]) -> list[Violation]:
    """Rule 4: `TREND_LENGTH` or more points in a row each higher (or each lower) than
    the one before: a drift, such as a wearing column or an ageing reagent, before it
    crosses any limit. Equal neighbours end a trend."""
    steps = [_direction(points[i - 1].value, points[i].value) for i in range(1, len(points))]
    found = []
    for direction, start, end in _runs(steps):
        # steps start..end-1 join points start..end: one point more than steps
        if direction and end - start + 1 >= TREND_LENGTH:
            found.append(
                Violation(
                    Rule.TREND,
                    f"{end - start + 1} consecutive batches ({points[start].label} to "
                    f"{points[end].label}) each {direction} than the one before. The process "
                    "may be drifting; find the cause before it reaches a limit.",
                    tuple(range(start, end + 1)),
                )
            )
    return found


def _side(value: float, lower: float, upper: float) -> str:
    """Which side of the limits: "above" beyond `upper`, "below" beyond `lower`, "" on or
    between them (a point exactly on a limit has not crossed it)."""
    if value > upper:
        return "above"
    if value < lower:
        return "below"
    return ""


def _limit(side: str) -> str:
    return "upper" if side == "above" else "lower"


def _sign(side: str) -> str:
    return "+" if side == "above" else "−"


def _direction(before: float, after: float) -> str:
    if after > before:
        return "higher"
    if after < before:
        return "lower"
    return ""


def _runs(labels: Sequence[str]) -> list[tuple[str, int, int]]:
    """Maximal stretches of equal labels as (label, start, end), end exclusive."""
    found: list[tuple[str, int, int]] = []
    start = 0
    for index in range(1, len(labels) + 1):
        if index == len(labels) or labels[index] != labels[start]:
            found.append((labels[start], start, index))
            start = index
    return found


def _names(points: Sequence[Point], indices: Sequence[int]) -> str:
    labels = [points[i].label for i in indices]
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"
