"""The reporting-gap engine: rules of the MISEV2018, MISEV2023, EV-METRIC and release
catalogues (ids and wording from ../shared/design/rules.md), checked against a batch
record. Pure: the same record in gives the same findings out.

A rule is a small function of a `BatchRecord` returning what is missing (a list of
short phrases; empty when the rule is met), registered with its metadata by `@rule`.
`applies` says when a rule concerns a batch at all (an ultracentrifugation rule needs a
UC step). `check_record` runs a catalogue and turns each rule's answer into a `Finding`;
exceptions recorded in the batch record mark findings "excepted", never drop them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from evqc.batch_record import BatchRecord

__all__ = [
    "CATALOGUES",
    "Confidence",
    "Finding",
    "Rule",
    "Severity",
    "Status",
    "check_record",
    "finding",
    "left_out",
    "left_out_rules",
    "rule",
    "rules_of",
]


class Severity(StrEnum):
    """How a rule counts (rules.md, "How to turn a tag and a severity into behaviour")."""

    REQUIRED = "required"  # an open finding is a gap
    RECOMMENDED = "recommended"  # an open finding is a warning, never blocking
    INFORMATIONAL = "informational"  # derived values shown, never a gap


class Confidence(StrEnum):
    """Where the rule's wording comes from: C confirmed, S secondary source, U unverified
    (reports mark U rules "unverified wording")."""

    CONFIRMED = "C"
    SECONDARY = "S"
    UNVERIFIED = "U"


class Status(StrEnum):
    MET = "met"
    GAP = "gap"
    WARNING = "warning"
    EXCEPTED = "excepted"
    NOT_APPLICABLE = "not_applicable"


CATALOGUES = ("misev2018", "misev2023", "evmetric", "release")
# What people call each catalogue.
CATALOGUE_TITLES = {
    "misev2018": "MISEV2018",
    "misev2023": "MISEV2023",
    "evmetric": "EV-METRIC-style transparency",
    "release": "Release criteria (product specification)",
}

# Every rule id of ../shared/design/rules.md, in its order (a test compares them). A rule
# evqc does not check is in LEFT_OUT with the reason, which docs/guidelines.md shows.
_RULE_ID_TEXT = """
    M18-NOM-01 M18-NOM-02 M18-NOM-03 M18-CC-01 M18-CC-02 M18-CC-03 M18-CC-04 M18-CC-05
    M18-CC-06 M18-CC-07 M18-CC-08 M18-CC-09 M18-CC-10 M18-CC-11 M18-BF-01 M18-BF-02
    M18-BF-03 M18-BF-04 M18-BF-05 M18-BF-06 M18-BF-07 M18-STO-01 M18-SEP-01 M18-SEP-02
    M18-SEP-03 M18-SEP-04 M18-SEP-05 M18-SEP-06 M18-SEP-07 M18-SEP-08 M18-SEP-09 M18-QNT-01
    M18-QNT-02 M18-QNT-03 M18-QNT-04 M18-MRK-01 M18-MRK-02 M18-MRK-03 M18-MRK-04 M18-MRK-05
    M18-MRK-06 M18-SGL-01 M18-SGL-02 M18-SGL-03 M18-FUN-01 M18-FUN-02 M18-FUN-03 M18-REP-01
    M18-REP-02 M18-REP-03 M23-NOM-01 M23-NOM-02 M23-NOM-03 M23-NOM-04 M23-PRE-01 M23-STO-01
    M23-SEP-01 M23-QNT-01 M23-CHR-01 M23-TECH-01 M23-REL-01 M23-UPT-01 M23-FUN-01
    M23-INV-01 M23-REP-01 FC-01 BL-01 RNA-01 CCM-01 REL-ID-01 REL-ID-02 REL-ID-03
    REL-PUR-01 REL-PUR-02 REL-PUR-03 REL-PUR-04 REL-QTY-01 REL-POT-01 REL-SAF-01 REL-SAF-02
    REL-SAF-03 REL-SAF-04 REL-STB-01 REL-GEN-01
"""
RULE_IDS = tuple(_RULE_ID_TEXT.split())
LEFT_OUT: dict[str, str] = {}

Check = Callable[[BatchRecord], Sequence[str]]
Applies = Callable[[BatchRecord], bool]


def always(record: BatchRecord) -> bool:
    return True


@dataclass(frozen=True)
class Rule:
    """A reporting rule: what it asks, where it comes from, and its check."""

    id: str
    catalogue: str
    guideline: str  # "MISEV2018 §4b"
    title: str
    severity: Severity
    confidence: Confidence
    message: str  # what the gap means, for the person reading the gap list
    how_to_fix: str
    check: Check = field(repr=False, compare=False)
    applies: Applies = field(default=always, repr=False, compare=False)
    # When true for a record, an open finding of a required rule is only a warning.
    lenient: Applies | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Finding:
    """One rule's verdict on one batch record."""

    rule_id: str
    catalogue: str
    status: Status
    severity: Severity
    missing: tuple[str, ...] = ()
    justification: str = ""  # the recorded exception, when excepted

    @property
    def open(self) -> bool:
        return self.status in {Status.GAP, Status.WARNING}


_REGISTRY: dict[str, Rule] = {}


def rule(
    id: str,
    *,
    catalogue: str,
    guideline: str,
    title: str,
    severity: Severity,
    confidence: Confidence,
    message: str,
    how_to_fix: str,
    applies: Applies = always,
    lenient: Applies | None = None,
) -> Callable[[Check], Check]:
    """Register a rule's check under its id; a second rule with one id is a bug."""
    if catalogue not in CATALOGUES:
        raise ValueError(f"{id}: unknown catalogue {catalogue!r}")
    if id not in RULE_IDS and catalogue != "evmetric":
        raise ValueError(f"{id} is not a rule id of rules.md")

    def register(check: Check) -> Check:
        if id in _REGISTRY:
            raise ValueError(f"rule {id} is registered twice")
        _REGISTRY[id] = Rule(
            id=id,
            catalogue=catalogue,
            guideline=guideline,
            title=title,
            severity=severity,
            confidence=confidence,
            message=message,
            how_to_fix=how_to_fix,
            check=check,
            applies=applies,
            lenient=lenient,
        )
        return check

    return register


def rules_of(catalogues: Iterable[str] = CATALOGUES) -> list[Rule]:
    """The registered rules of the catalogues, in id order."""
    _load_catalogues()
    wanted = set(catalogues)
    return sorted((r for r in _REGISTRY.values() if r.catalogue in wanted), key=lambda r: r.id)


def check_record(record: BatchRecord, catalogues: Iterable[str] = CATALOGUES) -> list[Finding]:
    """Every rule of the catalogues against one record, in id order."""
    excepted = {exception.rule: exception.justification for exception in record.exceptions}
    return [finding(each, record, excepted) for each in rules_of(catalogues)]


def finding(checked: Rule, record: BatchRecord, excepted: dict[str, str]) -> Finding:
    """One rule's finding on a record, given the record's exceptions (rule id -> why)."""

    def found(status: Status, missing: Sequence[str] = (), justification: str = "") -> Finding:
        return Finding(
            checked.id, checked.catalogue, status, checked.severity, tuple(missing), justification
        )

    if not checked.applies(record):
        return found(Status.NOT_APPLICABLE)
    missing = checked.check(record)
    if not missing:
        return found(Status.MET)
    if checked.id in excepted:
        return found(Status.EXCEPTED, missing, excepted[checked.id])
    lenient = checked.lenient is not None and checked.lenient(record)
    gap = checked.severity == Severity.REQUIRED and not lenient
    return found(Status.GAP if gap else Status.WARNING, missing)


def left_out(id: str, reason: str) -> None:
    """Say why evqc does not check a rule of rules.md (shown in docs/guidelines.md)."""
    if id not in RULE_IDS or id in LEFT_OUT:
        raise ValueError(f"{id} is not a rule of rules.md, or is left out twice")
    LEFT_OUT[id] = reason


def left_out_rules() -> dict[str, str]:
    _load_catalogues()
    return dict(LEFT_OUT)


def _load_catalogues() -> None:
    """Import the catalogue modules, which register their rules (once)."""
    from evqc.guidelines import (  # noqa: F401
        catalogue_evmetric,
        catalogue_misev2018,
        catalogue_misev2023,
        catalogue_release,
        catalogue_reporting,
    )
