"""Scores over a batch's findings: the EV-METRIC-style completeness (rules.md §4,
decision 1) and each catalogue's completeness. Pure functions of `Finding`s, so a report,
the API and the stored checks compute the same numbers.

A rule that does not concern the batch (not applicable) counts in no denominator. Only a
met rule is fulfilled: an excepted rule is justified, not done, so it lowers the score.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from evqc.guidelines import CATALOGUES, Finding, Status

__all__ = [
    "EV_METRIC_LABEL",
    "EvMetricScore",
    "GuidelineCompleteness",
    "completeness",
    "ev_metric_score",
]

# Components 4-9 follow rules.md's reading, so the figure must not be called EV-METRIC.
EV_METRIC_LABEL = "EV-METRIC-style completeness"
EV_METRIC = "evmetric"


def _percent(fulfilled: int, applicable: int) -> float | None:
    return 100 * fulfilled / applicable if applicable else None


@dataclass(frozen=True)
class EvMetricScore:
    """Fulfilled and applicable EV-METRIC components, and 100 x fulfilled / applicable
    (None when no component applies, e.g. the EV-METRIC catalogue was not run)."""

    fulfilled: int
    applicable: int
    percent: float | None

    @property
    def label(self) -> str:
        return EV_METRIC_LABEL


@dataclass(frozen=True)
class GuidelineCompleteness:
    """One catalogue's rules that concern a batch (applicable), those met (fulfilled) and
    those excepted; percent = 100 x fulfilled / applicable, None when none applies."""

    catalogue: str
    applicable: int
    fulfilled: int
    excepted: int
    percent: float | None
    gaps: int = 0
    warnings: int = 0


def ev_metric_score(findings: Iterable[Finding]) -> EvMetricScore:
    """The EV-METRIC-style score of the evmetric findings among `findings`."""
    component = [f for f in findings if f.catalogue == EV_METRIC]
    applicable = sum(f.status != Status.NOT_APPLICABLE for f in component)
    fulfilled = sum(f.status == Status.MET for f in component)
    return EvMetricScore(fulfilled, applicable, _percent(fulfilled, applicable))


def completeness(findings: Iterable[Finding]) -> dict[str, GuidelineCompleteness]:
    """Per catalogue present in `findings` (in CATALOGUES order, then any other), how
    complete the batch is against it."""
    by_catalogue: dict[str, list[Finding]] = {}
    for found in findings:
        by_catalogue.setdefault(found.catalogue, []).append(found)
    order = [c for c in CATALOGUES if c in by_catalogue]
    order += sorted(set(by_catalogue) - set(order))
    result = {}
    for catalogue in order:
        rules = by_catalogue[catalogue]
        applicable = sum(f.status != Status.NOT_APPLICABLE for f in rules)
        fulfilled = sum(f.status == Status.MET for f in rules)
        excepted = sum(f.status == Status.EXCEPTED for f in rules)
        result[catalogue] = GuidelineCompleteness(
            catalogue,
            applicable,
            fulfilled,
            excepted,
            _percent(fulfilled, applicable),
            gaps=sum(f.status == Status.GAP for f in rules),
            warnings=sum(f.status == Status.WARNING for f in rules),
        )
    return result
