"""Control limits and run rules, on small sequences whose mean and SD are worked out by
hand in the comments (sample SD: squared deviations summed, divided by n - 1)."""

from __future__ import annotations

import math

import pytest

from evqc.control_charts import (
    LONG_RUN,
    NO_SPREAD,
    ControlChart,
    Limits,
    Point,
    Rule,
    Violation,
    beyond_warning,
    control_chart,
    limits_of,
    long_runs,
    trends,
    violations,
)

# Limits with mean 0 and SD 1: warning limits at ±2, control limits at ±3.
UNIT = Limits(mean=0.0, sd=1.0)


def lots(*values: float) -> list[Point]:
    """Points labelled L1, L2, ... in order."""
    return [Point(f"L{n}", value) for n, value in enumerate(values, start=1)]


def rules(found: list[Violation]) -> list[tuple[Rule, tuple[int, ...]]]:
    return [(violation.rule, violation.indices) for violation in found]


def test_limits_are_the_mean_and_the_sample_sd_times_2_and_3():
    # 1..5: mean 3; squared deviations 4+1+0+1+4 = 10; SD = sqrt(10/4) = sqrt(2.5)
    limits, why_not = limits_of([1.0, 2.0, 3.0, 4.0, 5.0])

    sd = math.sqrt(2.5)
    assert why_not == ""
    assert limits.mean == pytest.approx(3.0)
    assert limits.sd == pytest.approx(1.5811388)
    assert limits.upper_warning == pytest.approx(3.0 + 2 * sd)
    assert limits.lower_warning == pytest.approx(3.0 - 2 * sd)
    assert limits.upper_control == pytest.approx(7.7434165)
    assert limits.lower_control == pytest.approx(-1.7434165)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([], "No control limits yet: 0 batches with a result; limits need at least 3."),
        ([5.0], "No control limits yet: 1 batch with a result; limits need at least 3."),
        ([5.0, 9.0], "No control limits yet: 2 batches with a result; limits need at least 3."),
        ([4.0, 4.0, 4.0, 4.0], NO_SPREAD),
    ],
)
def test_too_few_points_or_no_spread_give_no_limits_and_say_why(values, message):
    chart = control_chart(lots(*values))

    assert chart.limits is None
    assert chart.no_limits == message
    assert chart.violations == ()
    assert chart.flagged == frozenset()


def test_a_point_beyond_3_sd_is_flagged_and_nothing_else():
    # 6 x 5 and 6 x 15, alternating, with 62 in 7th place: sum 30 + 90 + 62 = 182, n 13,
    # mean 14. Squared deviations: 6 x 81 + 6 x 1 + 48^2 = 486 + 6 + 2304 = 2796;
    # SD = sqrt(2796/12) = sqrt(233) = 15.264, so 3 SD = 45.79 < 62 - 14 = 48. The others
    # straddle the mean (no run) and only 5 -> 15 -> 62 rises (3 points, no trend).
    values = [5.0, 15.0] * 3 + [62.0] + [5.0, 15.0] * 3
    chart = control_chart(lots(*values))

    assert chart.limits.mean == pytest.approx(14.0)
    assert chart.limits.sd == pytest.approx(math.sqrt(233.0))
    assert chart.violations == (
        Violation(
            Rule.BEYOND_CONTROL,
            "L7 lies above the upper control limit (the mean + 3 SD). By chance alone this "
            "happens to about 3 batches in 1000; look for what was different about this "
            "batch.",
            (6,),
        ),
    )
    assert chart.rules_at(6) == (Rule.BEYOND_CONTROL,)
    assert chart.rules_at(5) == ()
    assert chart.flagged == {6}


def test_a_point_below_3_sd_is_flagged_too():
    # the same shape upside down: 14 - 48 = -34 lies below the mean - 3 SD
    values = [23.0, 13.0] * 3 + [-34.0] + [23.0, 13.0] * 3

    chart = control_chart(lots(*values))

    assert rules(list(chart.violations)) == [(Rule.BEYOND_CONTROL, (6,))]
    assert chart.violations[0].description.startswith("L7 lies below the lower control limit")


def test_two_of_three_beyond_the_same_warning_limit_are_flagged():
    # window L2..L4 holds 2.5 and 2.2, both beyond +2 SD
    found = beyond_warning(lots(0.5, 2.5, -0.5, 2.2, 0.0), UNIT)

    assert rules(found) == [(Rule.BEYOND_WARNING, (1, 3))]
    assert found[0].description.startswith(
        "L2 and L4 lie above the upper warning limit (the mean + 2 SD), 2 or more of them "
        "in 3 consecutive batches."
    )


@pytest.mark.parametrize(
    "values",
    [
        (2.5, -2.5, 0.0),  # beyond, but on opposite sides
        (2.5, 0.0, 0.0, 2.5),  # same side, but 4 batches apart
        (2.0, 2.0, 0.0),  # on the limit is not beyond it
        (2.5, 1.9, 0.0),  # one beyond
    ],
)
def test_warning_points_that_are_not_2_of_3_on_one_side_are_not_flagged(values):
    assert beyond_warning(lots(*values), UNIT) == []


def test_overlapping_windows_make_one_violation_and_beyond_3_sd_counts_as_beyond_2():
    found = violations(lots(3.5, 2.1, 2.4, 0.0, -2.1, -2.6, 0.0), UNIT)

    assert rules(found) == [
        (Rule.BEYOND_CONTROL, (0,)),
        (Rule.BEYOND_WARNING, (0, 1, 2)),
        (Rule.BEYOND_WARNING, (4, 5)),
    ]
    assert "lie below the lower warning limit" in found[2].description


def test_a_run_of_8_on_one_side_of_the_mean_is_flagged_and_7_is_not():
    assert LONG_RUN == 8
    eight = lots(-1.0, *[0.5] * 8, -1.0)
    seven = lots(-1.0, *[0.5] * 7, -1.0)

    found = long_runs(eight, UNIT)

    assert rules(found) == [(Rule.LONG_RUN, (1, 2, 3, 4, 5, 6, 7, 8))]
    assert found[0].description == (
        "8 consecutive batches (L2 to L9) lie above the mean. The process level may have "
        "shifted (a new material lot, instrument, operator or method)."
    )
    assert long_runs(seven, UNIT) == []


def test_a_longer_run_below_is_one_violation_and_a_point_on_the_mean_ends_a_run():
    assert rules(long_runs(lots(*[-0.5] * 9), UNIT)) == [(Rule.LONG_RUN, tuple(range(9)))]
    assert long_runs(lots(*[0.5] * 4, 0.0, *[0.5] * 4), UNIT) == []


def test_6_points_steadily_rising_or_falling_are_a_trend_and_5_are_not():
    rising = trends(lots(0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 2.0))

    assert rules(rising) == [(Rule.TREND, (0, 1, 2, 3, 4, 5, 6))]
    assert rising[0].description.startswith(
        "7 consecutive batches (L1 to L7) each higher than the one before."
    )
    falling = trends(lots(9.0, 6.0, 5.0, 4.0, 3.0, 2.0))
    assert rules(falling) == [(Rule.TREND, (0, 1, 2, 3, 4, 5))]
    assert "each lower than the one before" in falling[0].description
    assert trends(lots(1.0, 2.0, 3.0, 4.0, 5.0)) == []
    # an unchanged value breaks the trend: 1, 2, 3 then 3, 4, 5, 6
    assert trends(lots(1.0, 2.0, 3.0, 3.0, 4.0, 5.0, 6.0)) == []


def test_a_shift_after_two_low_batches_is_a_long_run_and_only_that():
    # 10, 10 then 19, 21 four times: sum 20 + 160 = 180, n 10, mean 18. Squared
    # deviations 2 x 64 + 4 x 1 + 4 x 9 = 168; SD = sqrt(168/9) = 4.320, so 2 SD = 8.64
    # and 10 (8 below the mean) is inside the warning limits. 10 -> 19 -> 21 rises over
    # only 3 points.
    chart = control_chart(lots(10.0, 10.0, *[19.0, 21.0] * 4))

    assert chart.limits.mean == pytest.approx(18.0)
    assert chart.limits.sd == pytest.approx(math.sqrt(168 / 9))
    assert rules(list(chart.violations)) == [(Rule.LONG_RUN, (2, 3, 4, 5, 6, 7, 8, 9))]
    assert chart.rules_at(9) == (Rule.LONG_RUN,)
    assert chart.rules_at(1) == ()


def test_a_point_flagged_by_several_rules_names_each_once_in_rule_order():
    # a rising trend that ends beyond +3 SD of the given limits
    points = lots(-0.5, 0.1, 0.2, 0.3, 0.4, 3.5)
    flagged = ControlChart(tuple(points), UNIT, "", tuple(violations(points, UNIT)))

    assert flagged.rules_at(5) == (Rule.BEYOND_CONTROL, Rule.TREND)
    assert flagged.rules_at(0) == (Rule.TREND,)


def test_every_rule_has_a_heading_a_reviewer_reads():
    assert [rule.heading for rule in Rule] == [
        "Point beyond the 3 SD control limit",
        "2 of 3 consecutive points beyond the 2 SD warning limit",
        "8 or more consecutive points on one side of the mean",
        "6 or more points in a row steadily rising or falling",
    ]
