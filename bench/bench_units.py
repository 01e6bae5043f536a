"""Normalising 100,000 values written in 9 unit spellings, through evqc's quantity API, against
naive pint (`Q_(value, unit).to(canonical)` per value). Target: at least 30x faster.

The candidate reads the text as a lab wrote it ("1.2x10^11 p/mL"); the baseline gets the
value already split from a unit pint can read ("particle/mL"), which favours the baseline.
The baseline's rate is measured on every fifth value (pint needs 55-80 µs each here).
"""

import random

from evqc import units
from evqc.units import KINDS, Q_, parse_quantity

from .timing import best_rate, report

# (spelling as labs write it, the same unit in pint's own spelling, kind)
SPELLINGS = [
    ("particles/ml", "particle/ml", "particle_concentration"),
    ("p/mL", "particle/mL", "particle_concentration"),
    ("/mL", "1/mL", "particle_concentration"),
    ("µg/mL", "µg/mL", "mass_concentration"),
    ("ug/mL", "ug/mL", "mass_concentration"),
    ("mg/ml", "mg/ml", "mass_concentration"),
    ("°C", "degC", "temperature"),
    ("degC", "degC", "temperature"),
    ("x g", "standard_gravity", "g_force"),
]
COUNT = 100_000
TARGET = 30.0


def _values() -> list[tuple[str, float, str, str]]:
    """(text as written, value, pint spelling, kind); numbers as exports and people write
    them: mostly "2.100e+11" or "4.5", one in ten "2.1x10^11"."""
    rng = random.Random(2026)
    values = []
    for i in range(COUNT):
        spelling, pint_spelling, kind = SPELLINGS[i % len(SPELLINGS)]
        mantissa, exponent = round(rng.uniform(1, 9.99), 2), rng.randint(0, 11)
        value = float(f"{mantissa}e{exponent}")
        number = f"{mantissa}x10^{exponent}" if i % 10 == 0 else f"{value:.3e}"
        values.append((f"{number} {spelling}", value, pint_spelling, kind))
    return values


def run() -> tuple[str, bool]:
    values = _values()
    kinds = {name: KINDS[name] for name in {kind for *_, kind in SPELLINGS}}
    for kind in kinds.values():
        kind.pint_unit  # noqa: B018  (parse the canonical units before counting)
    texts = [(text, kinds[kind]) for text, _, _, kind in values]
    canonical = {name: kind.pint_unit for name, kind in kinds.items()}
    naive = [(value, unit, canonical[kind]) for _, value, unit, kind in values[::5]]

    def candidate() -> int:
        for text, kind in texts:
            parse_quantity(text, kind)
        return len(texts)

    def baseline() -> int:
        for value, unit, target in naive:
            Q_(value, unit).to(target)
        return len(naive)

    parses_before = units.pint_parse_count()
    candidate_rate = best_rate(candidate)
    parses = units.pint_parse_count() - parses_before
    baseline_rate = best_rate(baseline, repeats=1)
    ratio = candidate_rate / baseline_rate
    met = ratio >= TARGET and parses <= len(SPELLINGS)
    return report(
        "units_normalise", candidate_rate, baseline_rate, "values/s", f">={TARGET:g}x", met,
        pint_parses=parses, distinct_spellings=len(SPELLINGS),
    )  # fmt: skip
