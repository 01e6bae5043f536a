import pytest

from batches import demo
from evqc.batch_record import parse_batch_record
from evqc.guidelines import Finding, Severity, Status, check_record
from evqc.guidelines.scores import (
    EvMetricScore,
    GuidelineCompleteness,
    completeness,
    ev_metric_score,
)
from tests.evqc.test_guidelines_misev2023 import TEM, complete_batch, no_uc_step

R, W = Severity.REQUIRED, Severity.RECOMMENDED


def score(document):
    return ev_metric_score(check_record(parse_batch_record(document)))


# EV-METRIC-style completeness (decision 1)
# ------------------------------------------------------------------------------


def test_a_batch_with_uc_western_blot_and_everything_scores_100_percent():
    assert score(complete_batch()) == EvMetricScore(fulfilled=8, applicable=8, percent=100.0)


def test_without_em_images_seven_of_eight_components_are_fulfilled():
    document = complete_batch()
    del document["assays"][TEM]

    assert score(document) == EvMetricScore(fulfilled=7, applicable=8, percent=87.5)


def test_without_a_uc_step_the_ultracentrifugation_component_does_not_count():
    # given: no ultracentrifugation and so no gradient either (component 8 then fails)
    document = complete_batch()
    no_uc_step(document)

    # when
    findings = {f.rule_id: f for f in check_record(parse_batch_record(document))}

    # then
    assert findings["EVM-01"].status == Status.NOT_APPLICABLE
    assert score(document) == EvMetricScore(fulfilled=6, applicable=7, percent=600 / 7)


def test_the_score_is_labelled_ev_metric_style():
    assert score(complete_batch()).label == "EV-METRIC-style completeness"


def test_an_excepted_component_is_not_fulfilled():
    findings = [
        Finding("EVM-04", "evmetric", Status.MET, W),
        Finding("EVM-05", "evmetric", Status.EXCEPTED, W, ("x",), "Not probed by design."),
        Finding("EVM-01", "evmetric", Status.NOT_APPLICABLE, W),
        Finding("M18-SGL-01", "misev2018", Status.MET, R),
    ]

    assert ev_metric_score(findings) == EvMetricScore(fulfilled=1, applicable=2, percent=50.0)


def test_no_ev_metric_findings_give_no_score():
    assert ev_metric_score([]) == EvMetricScore(fulfilled=0, applicable=0, percent=None)


# Completeness per catalogue
# ------------------------------------------------------------------------------


def test_completeness_counts_applicable_fulfilled_and_excepted_rules_per_catalogue():
    # given
    findings = [
        Finding("M18-SEP-01", "misev2018", Status.MET, R),
        Finding("M18-SEP-02", "misev2018", Status.GAP, R, ("rotor",)),
        Finding("M18-SEP-04", "misev2018", Status.NOT_APPLICABLE, R),
        Finding("M18-SGL-01", "misev2018", Status.EXCEPTED, R, ("a close-up image",), "why"),
        Finding("M18-CC-08", "misev2018", Status.WARNING, W, ("production.co2",)),
        Finding("M23-NOM-01", "misev2023", Status.MET, R),
        Finding("FC-01", "misev2023", Status.NOT_APPLICABLE, R),
        Finding("RNA-01", "misev2023", Status.NOT_APPLICABLE, R),
    ]

    # when
    result = completeness(findings)

    # then
    assert result == {
        "misev2018": GuidelineCompleteness("misev2018", 4, 1, 1, 25.0, gaps=1, warnings=1),
        "misev2023": GuidelineCompleteness("misev2023", 1, 1, 0, 100.0),
    }


def test_a_catalogue_none_of_whose_rules_apply_has_no_percentage():
    findings = [Finding("FC-01", "misev2023", Status.NOT_APPLICABLE, R)]

    assert completeness(findings)["misev2023"].percent is None


def test_completeness_lists_the_catalogues_in_their_order():
    findings = check_record(parse_batch_record(complete_batch()))

    assert list(completeness(findings)) == ["misev2018", "misev2023", "evmetric", "release"]


def test_evmetric_completeness_is_the_ev_metric_score():
    findings = check_record(parse_batch_record(complete_batch()))
    evmetric = completeness(findings)["evmetric"]

    assert (evmetric.fulfilled, evmetric.applicable, evmetric.percent) == (8, 8, 100.0)


# The demo batches
# ------------------------------------------------------------------------------


@pytest.mark.parametrize("document", demo.BATCHES, ids=lambda d: d["lot_number"])
def test_every_demo_batch_has_a_score_between_0_and_100(document):
    found = score(document)

    assert found.applicable >= 5  # components 4-8 always apply
    assert found.percent is not None
    assert 0 <= found.percent <= 100
