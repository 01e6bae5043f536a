"""Summary statistics of a particle size distribution given as bins.

NTA, TRPS and nano-flow exports describe a distribution as bins, a centre and a value
each (NanoSight: 1000 bins of 1 nm, particles/mL per bin). evqc summarises every
instrument's bins the same way, so a size specification means the same thing whichever
instrument measured the batch; the instrument's own statistics are kept beside these.

Statistics are in the unit of the bin centres; `total` is in the unit of the bin values.
"""

from __future__ import annotations

import math
import operator
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate, islice

from evqc.exceptions import DistributionError, DistributionErrorCode

__all__ = ["DistributionError", "SizeSummary", "fraction_within", "summarise"]


@dataclass(frozen=True, slots=True)
class SizeSummary:
    """What a size specification can be written against.

    `mean` and `sd` (population SD) are weighted by the bin values; `mode` is the centre
    of the highest bin (the first one on ties); `d10`, `d50` and `d90` are the sizes below
    which 10, 50 and 90 % of the total lies (see `summarise`).
    """

    total: float
    mean: float
    sd: float
    mode: float
    d10: float
    d50: float
    d90: float


# Messages: module constants so tests assert them exactly.
LENGTHS_DIFFER = "bin_centres has {centres} values but bin_values has {values}"
NO_BINS = "the distribution has no bins"
NOT_FINITE = "{field}[{index}] is not a finite number ({value})"
NOT_INCREASING = (
    "bin_centres[{index}] ({centre}) is not above bin_centres[{previous}] "
    "({previous_centre}); bin centres must increase strictly"
)
NEGATIVE_VALUE = "bin_values[{index}] is negative ({value})"
EMPTY = "the distribution is empty: every bin is 0"
BOUND_NOT_A_NUMBER = "{field} is not a number ({value})"
RANGE_REVERSED = "low ({low}) is above high ({high})"


def summarise(centres: Sequence[float], values: Sequence[float]) -> SizeSummary:
    """Summarise a binned distribution; refuse bins that do not describe one.

    Percentiles interpolate the cumulative distribution linearly within each bin: the
    cumulative fraction at a bin's upper edge is the sum of the values up to and including
    that bin. Bin edges lie half-way between centres; the first and last bins mirror their
    neighbour's width. With a single bin, every percentile is its centre.
    """
    cumulative = _checked_cumulative(centres, values)
    total = cumulative[-1]
    # Rounding can put the quotient a hair outside the centres; the true mean cannot be.
    mean = min(max(sum(map(operator.mul, centres, values)) / total, centres[0]), centres[-1])
    variance = sum(
        [
            value * (centre - mean) * (centre - mean)
            for centre, value in zip(centres, values, strict=True)
        ]
    )
    d10, d50, d90 = (_percentile(centres, cumulative, share) for share in (0.1, 0.5, 0.9))
    return SizeSummary(
        total=total,
        mean=mean,
        sd=math.sqrt(variance / total),
        mode=centres[values.index(max(values))],
        d10=d10,
        d50=d50,
        d90=d90,
    )


def fraction_within(
    centres: Sequence[float], values: Sequence[float], low: float, high: float
) -> float:
    """The fraction of the total in bins whose centre lies in [low, high], for release
    specifications such as "90 % of particles within 50-400 nm". Whole bins only: a bin
    is in or out by its centre, never split."""
    for field, bound in (("low", low), ("high", high)):
        if math.isnan(bound):
            raise DistributionError(
                BOUND_NOT_A_NUMBER.format(field=field, value=bound),
                DistributionErrorCode.NOT_FINITE,
                field=field,
            )
    if low > high:
        raise DistributionError(
            RANGE_REVERSED.format(low=low, high=high),
            DistributionErrorCode.RANGE_REVERSED,
            field="low",
        )
    total = _checked_cumulative(centres, values)[-1]
    within = sum(
        value for centre, value in zip(centres, values, strict=True) if low <= centre <= high
    )
    return within / total


def _checked_cumulative(centres: Sequence[float], values: Sequence[float]) -> list[float]:
    """The running total of the values, after refusing bins that are not a distribution.

    Whole-sequence checks first (C loops, about 0.1 ms for 1000 bins); the index of the
    fault is looked for only when one fails.
    """
    if len(centres) != len(values):
        raise DistributionError(
            LENGTHS_DIFFER.format(centres=len(centres), values=len(values)),
            DistributionErrorCode.LENGTH_MISMATCH,
        )
    if not centres:
        raise DistributionError(NO_BINS, DistributionErrorCode.NO_BINS)
    for field, numbers in (("bin_centres", centres), ("bin_values", values)):
        if not all(map(math.isfinite, numbers)):
            index, number = next((i, n) for i, n in enumerate(numbers) if not math.isfinite(n))
            raise DistributionError(
                NOT_FINITE.format(field=field, index=index, value=number),
                DistributionErrorCode.NOT_FINITE,
                field=field,
                index=index,
            )
    if not all(map(operator.lt, centres, islice(centres, 1, None))):
        index = next(i for i in range(1, len(centres)) if centres[i] <= centres[i - 1])
        raise DistributionError(
            NOT_INCREASING.format(
                index=index,
                centre=centres[index],
                previous=index - 1,
                previous_centre=centres[index - 1],
            ),
            DistributionErrorCode.NOT_INCREASING,
            field="bin_centres",
            index=index,
        )
    if min(values) < 0:
        index, value = next((i, v) for i, v in enumerate(values) if v < 0)
        raise DistributionError(
            NEGATIVE_VALUE.format(index=index, value=value),
            DistributionErrorCode.NEGATIVE_VALUE,
            field="bin_values",
            index=index,
        )
    cumulative = list(accumulate(values, initial=0.0))[1:]
    if cumulative[-1] == 0:
        raise DistributionError(EMPTY, DistributionErrorCode.EMPTY, field="bin_values")
    return cumulative


def _percentile(centres: Sequence[float], cumulative: Sequence[float], share: float) -> float:
    """The size below which `share` of the total lies."""
    if len(centres) == 1:
        return centres[0]
    target = share * cumulative[-1]
    # The first bin whose upper edge reaches the target and that holds part of the total
    # (the second bisect matters only if `target` underflowed to 0), so the division below
    # is safe.
    index = max(bisect_left(cumulative, target), bisect_right(cumulative, 0.0))
    below = cumulative[index - 1] if index else 0.0
    low_edge, high_edge = _edges(centres, index)
    part = (target - below) / (cumulative[index] - below)
    # Clamped to the bin, so percentiles stay in order despite rounding.
    return min(high_edge, low_edge + part * (high_edge - low_edge))


def _edges(centres: Sequence[float], index: int) -> tuple[float, float]:
    """The lower and upper edge of bin `index` (of at least two); an outer bin gets a
    neighbour mirrored across its centre."""
    centre = centres[index]
    before = centres[index - 1] if index > 0 else 2 * centre - centres[1]
    after = centres[index + 1] if index < len(centres) - 1 else 2 * centre - centres[index - 1]
    return (before + centre) / 2, (centre + after) / 2
