"""docs/guidelines.md, written from the rule registry: every rule id of rules.md, whether
evqc checks it, and why not where it does not (`python -m evqc.guidelines.docs`)."""

from __future__ import annotations

from pathlib import Path

from evqc.guidelines import RULE_IDS, left_out_rules, rules_of

DOC = Path(__file__).resolve().parents[2] / "docs" / "guidelines.md"
HEADER = """# Guideline rules in evqc

Every rule id of `../shared/design/rules.md` and what evqc does with it. The ids are the
ones users cite. This page is written from the rule registry
(`python -m evqc.guidelines.docs`); `tests/evqc/test_guidelines.py` fails when it, the code
and rules.md disagree.

The engine is `evqc/guidelines/`: each rule is a small check of a batch record. A
required rule that is not met is a **gap**, a recommended one a **warning**; a justified
exception recorded on the batch shows it as **excepted**, never hidden. Rules whose
wording is unverified in rules.md (confidence U) are marked so in reports.

| rule | catalogue | status | severity | confidence | what it checks |
|---|---|---|---|---|---|
"""


def guidelines_markdown() -> str:
    rules = {rule.id: rule for rule in rules_of()}
    reasons = left_out_rules()
    rows = []
    for rule_id in [*RULE_IDS, *sorted(set(rules) - set(RULE_IDS))]:
        rule = rules.get(rule_id)
        if rule is not None:
            rows.append(
                f"| {rule_id} | {rule.catalogue} | implemented | {rule.severity} | "
                f"{rule.confidence} | {rule.title} |"
            )
        else:
            reason = reasons.get(rule_id, "not implemented yet")
            rows.append(f"| {rule_id} | | left out | | | {reason} |")
    return HEADER + "\n".join(rows) + "\n"


if __name__ == "__main__":
    DOC.write_text(guidelines_markdown(), encoding="utf-8")
