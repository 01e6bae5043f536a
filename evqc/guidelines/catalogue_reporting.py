"""M18-REP-01: every MISEV item not done is justified. It reads the findings of the other
MISEV2018 rules, so it lives apart from them (rules.md §2.9)."""

from __future__ import annotations

from evqc.batch_record import BatchRecord
from evqc.guidelines import Confidence, Severity, Status, finding, rule, rules_of


@rule(
    "M18-REP-01",
    catalogue="misev2018",
    guideline="MISEV2018 §6",
    title="Every MISEV item that was not done is justified (an exception)",
    severity=Severity.REQUIRED,
    confidence=Confidence.SECONDARY,
    message="Some required MISEV2018 items are neither done nor justified.",
    how_to_fix="Fill each gap, or record an exception with its justification.",
)
def unjustified_gaps(record: BatchRecord) -> list[str]:
    excepted = {exception.rule: exception.justification for exception in record.exceptions}
    return [
        each.id
        for each in rules_of(["misev2018"])
        if each.id != "M18-REP-01" and finding(each, record, excepted).status == Status.GAP
    ]
