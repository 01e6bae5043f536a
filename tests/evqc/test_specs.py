import math

import pytest

from evqc.exceptions import SpecError, SpecErrorCode
from evqc.specs import (
    ENDOTOXIN_K_BY_ROUTE,
    Limits,
    Qualifier,
    Verdict,
    check_limits,
    endotoxin_limit,
    endotoxin_limit_for_route,
    outcome_verdict,
    verdict,
)

EXACT, BELOW, ABOVE = Qualifier.EXACT, Qualifier.BELOW, Qualifier.ABOVE
PASS, WARN, FAIL = Verdict.PASS, Verdict.WARN, Verdict.FAIL


def up(x):
    return math.nextafter(x, math.inf)


def down(x):
    return math.nextafter(x, -math.inf)


# Checking limits
# ------------------------------------------------------------------------------


def test_limits_need_a_lower_or_an_upper_limit():
    with pytest.raises(SpecError) as caught:
        check_limits(Limits(warn_upper=5.0))

    assert caught.value.message == (
        "lower_limit and upper_limit are both empty; a specification needs at least one limit"
    )
    assert caught.value.code == SpecErrorCode.NO_LIMIT
    assert caught.value.field == ""


def test_a_lower_limit_above_the_upper_limit_is_refused_with_prefixed_field_names():
    with pytest.raises(SpecError) as caught:
        check_limits(Limits(lower=5.0, upper=1.0), field_prefix="mean_size.")

    assert caught.value.message == (
        "mean_size.lower_limit (5.0) is above mean_size.upper_limit (1.0)"
    )
    assert caught.value.code == SpecErrorCode.LOWER_ABOVE_UPPER
    assert caught.value.extra == {"field": "mean_size.lower_limit"}


def test_equal_inclusive_limits_accept_exactly_one_value():
    limits = Limits(lower=7.4, upper=7.4)

    check_limits(limits)
    assert verdict(limits, 7.4) == PASS
    assert verdict(limits, up(7.4)) == FAIL


@pytest.mark.parametrize(
    ("lower_inclusive", "upper_inclusive"), [(False, True), (True, False), (False, False)]
)
def test_equal_limits_with_an_exclusive_side_are_refused(lower_inclusive, upper_inclusive):
    limits = Limits(
        lower=1.0, upper=1.0, lower_inclusive=lower_inclusive, upper_inclusive=upper_inclusive
    )

    with pytest.raises(SpecError) as caught:
        check_limits(limits)

    assert caught.value.message == (
        "lower_limit and upper_limit are both 1.0 and one of them is exclusive, "
        "so no value can pass"
    )
    assert caught.value.code == SpecErrorCode.EMPTY_RANGE


@pytest.mark.parametrize(
    ("limits", "message", "field"),
    [
        (
            Limits(lower=1.0, upper=10.0, warn_lower=0.5),
            "warn_lower (0.5) is below lower_limit (1.0); "
            "a warning limit must lie within the action limits",
            "warn_lower",
        ),
        (
            Limits(lower=1.0, upper=10.0, warn_upper=11.0),
            "warn_upper (11.0) is above upper_limit (10.0); "
            "a warning limit must lie within the action limits",
            "warn_upper",
        ),
        (
            Limits(upper=10.0, warn_lower=20.0),
            "warn_lower (20.0) is above upper_limit (10.0); "
            "a warning limit must lie within the action limits",
            "warn_lower",
        ),
        (
            Limits(lower=1.0, warn_upper=0.5),
            "warn_upper (0.5) is below lower_limit (1.0); "
            "a warning limit must lie within the action limits",
            "warn_upper",
        ),
    ],
)
def test_warning_limits_outside_the_action_limits_are_refused(limits, message, field):
    with pytest.raises(SpecError) as caught:
        check_limits(limits)

    assert caught.value.message == message
    assert caught.value.code == SpecErrorCode.WARNING_OUTSIDE_LIMITS
    assert caught.value.field == field


def test_crossed_warning_limits_are_refused():
    with pytest.raises(SpecError) as caught:
        check_limits(Limits(lower=1.0, upper=10.0, warn_lower=6.0, warn_upper=4.0))

    assert caught.value.message == "warn_lower (6.0) is above warn_upper (4.0)"
    assert caught.value.code == SpecErrorCode.WARNINGS_CROSSED


@pytest.mark.parametrize(
    "limits",
    [
        Limits(lower=1e9, warn_upper=1e12),
        Limits(upper=0.5, warn_lower=0.01),
        Limits(lower=1.0, upper=10.0, warn_lower=1.0, warn_upper=10.0),
        Limits(lower=1.0, upper=10.0, warn_lower=5.0, warn_upper=5.0),
    ],
)
def test_warning_limits_on_a_side_without_an_action_limit_or_on_the_limits_are_allowed(limits):
    check_limits(limits)


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (Limits(upper=math.nan), "upper_limit is not a finite number (nan)"),
        (Limits(lower=-math.inf), "lower_limit is not a finite number (-inf)"),
        (Limits(upper=1.0, warn_upper=math.nan), "warn_upper is not a finite number (nan)"),
    ],
)
def test_limits_that_are_not_finite_numbers_are_refused(limits, message):
    with pytest.raises(SpecError) as caught:
        check_limits(limits)

    assert caught.value.message == message
    assert caught.value.code == SpecErrorCode.NOT_FINITE


# Verdicts on exact values
# ------------------------------------------------------------------------------


def test_a_result_without_limits_has_no_spec():
    assert verdict(None, 3.0) == Verdict.NO_SPEC


def test_a_verdict_is_refused_for_limits_that_cannot_fail():
    with pytest.raises(SpecError) as caught:
        verdict(Limits(), 3.0)

    assert caught.value.code == SpecErrorCode.NO_LIMIT


def test_a_verdict_is_refused_for_a_value_that_is_not_a_finite_number():
    with pytest.raises(SpecError) as caught:
        verdict(Limits(upper=0.5), math.nan)

    assert caught.value.message == "the result is not a finite number (nan)"
    assert caught.value.field == "value"


@pytest.mark.parametrize(
    ("limits", "value", "expected"),
    [
        # "NMT 0.5 EU/mL"
        (Limits(upper=0.5), 0.5, PASS),
        (Limits(upper=0.5), up(0.5), FAIL),
        (Limits(upper=0.5), 0.0, PASS),
        # "< 0.5 EU/mL"
        (Limits(upper=0.5, upper_inclusive=False), 0.5, FAIL),
        (Limits(upper=0.5, upper_inclusive=False), down(0.5), PASS),
        # "NLT 1e9 particles/mL"
        (Limits(lower=1e9), 1e9, PASS),
        (Limits(lower=1e9), down(1e9), FAIL),
        # "> 1e9 particles/mL"
        (Limits(lower=1e9, lower_inclusive=False), 1e9, FAIL),
        (Limits(lower=1e9, lower_inclusive=False), up(1e9), PASS),
    ],
)
def test_exact_values_at_and_just_beyond_action_limits(limits, value, expected):
    assert verdict(limits, value) == expected


MEAN_SIZE = Limits(lower=50.0, upper=200.0, warn_lower=70.0, warn_upper=150.0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (100.0, PASS),
        (70.0, PASS),
        (down(70.0), WARN),
        (150.0, PASS),
        (up(150.0), WARN),
        (50.0, WARN),
        (down(50.0), FAIL),
        (200.0, WARN),
        (up(200.0), FAIL),
    ],
)
def test_exact_values_at_and_just_beyond_warning_limits(value, expected):
    assert verdict(MEAN_SIZE, value) == expected


def test_a_warning_limit_without_an_action_limit_on_its_side_warns_and_never_fails():
    limits = Limits(lower=1e9, warn_upper=1e12)

    assert verdict(limits, 1e12) == PASS
    assert verdict(limits, up(1e12)) == WARN
    assert verdict(limits, 1e15) == WARN


# Verdicts on "<x" and ">x" results
# ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limits", "value", "expected"),
    [
        # The true value is below x, so x at or under U proves it within U ...
        (Limits(upper=0.5), 0.5, PASS),
        (Limits(upper=0.5), 0.05, PASS),
        (Limits(upper=0.5, upper_inclusive=False), 0.5, PASS),
        # ... and x above U leaves it undecided, which does not pass.
        (Limits(upper=0.5), up(0.5), FAIL),
        (Limits(upper=0.5, upper_inclusive=False), up(0.5), FAIL),
        # Nothing below x shows the value reaches a lower limit: certainly below it ...
        (Limits(lower=1.0), 0.5, FAIL),
        (Limits(lower=1.0), 1.0, FAIL),
        # ... or possibly below it.
        (Limits(lower=1.0), 100.0, FAIL),
        (Limits(lower=1.0, upper=200.0), 100.0, FAIL),
    ],
)
def test_a_below_result_against_action_limits(limits, value, expected):
    assert verdict(limits, value, BELOW) == expected


@pytest.mark.parametrize(
    ("limits", "value", "expected"),
    [
        (Limits(lower=1e9), 1e9, PASS),
        (Limits(lower=1e9), 2e9, PASS),
        (Limits(lower=1e9, lower_inclusive=False), 1e9, PASS),
        (Limits(lower=1e9), down(1e9), FAIL),
        (Limits(lower=1e9, lower_inclusive=False), down(1e9), FAIL),
        (Limits(upper=1e12), 2e12, FAIL),
        (Limits(upper=1e12), 1e12, FAIL),
        (Limits(upper=1e12), 1e9, FAIL),
        (Limits(lower=1e8, upper=1e12), 1e9, FAIL),
    ],
)
def test_an_above_result_mirrors_a_below_result(limits, value, expected):
    assert verdict(limits, value, ABOVE) == expected


@pytest.mark.parametrize(
    ("limits", "value", "qualifier", "expected"),
    [
        # "<x" against warn_upper W: within when x <= W, possibly beyond when x > W.
        (Limits(upper=0.5, warn_upper=0.25), 0.25, BELOW, PASS),
        (Limits(upper=0.5, warn_upper=0.25), up(0.25), BELOW, WARN),
        (Limits(upper=0.5, warn_upper=0.25), 0.5, BELOW, WARN),
        # "<x" may always lie below warn_lower.
        (Limits(upper=0.5, warn_lower=0.1), 0.3, BELOW, WARN),
        (Limits(upper=0.5, warn_lower=0.1), 0.05, BELOW, WARN),
        # ">x" against warn_lower WL: within when x >= WL, possibly beyond when x < WL.
        (Limits(lower=50.0, warn_lower=70.0), 70.0, ABOVE, PASS),
        (Limits(lower=50.0, warn_lower=70.0), down(70.0), ABOVE, WARN),
        (Limits(lower=50.0, warn_lower=70.0), 50.0, ABOVE, WARN),
        # ">x" may always lie above warn_upper.
        (Limits(lower=1e9, warn_upper=1e12), 2e9, ABOVE, WARN),
    ],
)
def test_qualified_results_warn_when_they_may_lie_beyond_a_warning_limit(
    limits, value, qualifier, expected
):
    assert verdict(limits, value, qualifier) == expected


def test_a_qualifier_may_be_given_as_its_symbol():
    assert verdict(Limits(upper=0.5), 0.05, "<") == PASS
    assert verdict(Limits(upper=0.5), 0.05, ">") == FAIL


# Endotoxin limit, K/M (USP <85>)
# ------------------------------------------------------------------------------


def test_a_70_kg_adult_given_10_ml_intravenously_in_an_hour_allows_35_eu_per_ml():
    # rules.md REL-SAF-02: K = 5 EU/kg, so a 70 kg adult may receive 350 EU in the hour.
    limit = endotoxin_limit_for_route("intravenous", body_weight_kg=70.0, dose_volume_ml=10.0)

    assert limit == pytest.approx(35.0)
    assert limit * 10.0 == pytest.approx(350.0)


def test_the_same_dose_given_intrathecally_allows_1_4_eu_per_ml():
    # K = 0.2 EU/kg: 14 EU for 70 kg.
    limit = endotoxin_limit_for_route("intrathecal", body_weight_kg=70.0, dose_volume_ml=10.0)

    assert limit == pytest.approx(1.4)
    assert limit * 10.0 == pytest.approx(14.0)


@pytest.mark.parametrize(
    "route", ["intravenous", "intramuscular", "subcutaneous", "inhalation", "topical"]
)
def test_every_route_other_than_intrathecal_has_k_of_5_eu_per_kg(route):
    assert ENDOTOXIN_K_BY_ROUTE[route] == 5.0


def test_the_limit_is_k_times_body_weight_over_dose_volume():
    assert endotoxin_limit(
        k_eu_per_kg=5.0, body_weight_kg=20.0, dose_volume_ml=4.0
    ) == pytest.approx(25.0)


def test_a_route_is_found_whatever_its_case_and_surrounding_spaces():
    limit = endotoxin_limit_for_route(" Intravenous ", body_weight_kg=70.0, dose_volume_ml=10.0)

    assert limit == pytest.approx(35.0)


def test_an_unknown_route_is_refused_with_the_known_ones():
    with pytest.raises(SpecError) as caught:
        endotoxin_limit_for_route("oral", body_weight_kg=70.0, dose_volume_ml=10.0)

    assert caught.value.message == (
        'unknown route "oral"; expected one of: '
        "inhalation, intramuscular, intrathecal, intravenous, subcutaneous, topical"
    )
    assert caught.value.code == SpecErrorCode.UNKNOWN_ROUTE
    assert caught.value.field == "route"


@pytest.mark.parametrize(
    ("body_weight_kg", "dose_volume_ml", "message", "field"),
    [
        (0.0, 10.0, "body_weight_kg must be a positive number (got 0.0)", "body_weight_kg"),
        (-70.0, 10.0, "body_weight_kg must be a positive number (got -70.0)", "body_weight_kg"),
        (math.nan, 10.0, "body_weight_kg must be a positive number (got nan)", "body_weight_kg"),
        (70.0, 0.0, "dose_volume_ml must be a positive number (got 0.0)", "dose_volume_ml"),
        (70.0, math.inf, "dose_volume_ml must be a positive number (got inf)", "dose_volume_ml"),
    ],
)
def test_a_weight_or_volume_that_is_not_positive_is_refused(
    body_weight_kg, dose_volume_ml, message, field
):
    with pytest.raises(SpecError) as caught:
        endotoxin_limit_for_route(
            "intravenous", body_weight_kg=body_weight_kg, dose_volume_ml=dose_volume_ml
        )

    assert caught.value.message == message
    assert caught.value.code == SpecErrorCode.NOT_POSITIVE
    assert caught.value.field == field


def test_a_k_that_is_not_positive_is_refused():
    with pytest.raises(SpecError) as caught:
        endotoxin_limit(k_eu_per_kg=0.0, body_weight_kg=70.0, dose_volume_ml=10.0)

    assert caught.value.message == "k_eu_per_kg must be a positive number (got 0.0)"


# Qualitative results
# ------------------------------------------------------------------------------


def test_an_acceptable_outcome_passes():
    assert outcome_verdict({"Not detected"}, "Not detected") == PASS


def test_any_other_outcome_fails():
    assert outcome_verdict({"Not detected"}, "Detected") == FAIL


def test_outcomes_match_whatever_their_case_and_spacing():
    assert outcome_verdict(["Not detected"], "  not  DETECTED ") == PASS


def test_an_outcome_with_nothing_acceptable_has_no_spec():
    assert outcome_verdict(set(), "Negative") == Verdict.NO_SPEC
