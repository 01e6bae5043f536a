"""Timing helpers shared by the benchmarks."""

import gc
import time
from collections.abc import Callable


def best_rate(work: Callable[[], int], repeats: int = 3) -> float:
    """Items per second of the fastest of `repeats` runs (the least disturbed by noise)."""
    best = 0.0
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        items = work()
        elapsed = time.perf_counter() - started
        best = max(best, items / elapsed)
    return best


def report(
    name: str,
    candidate: float,
    baseline: float,
    unit: str,
    target: str,
    met: bool,
    **extra: object,
) -> tuple[str, bool]:
    """The one line a benchmark prints, and whether it met its target."""
    details = "".join(f" {key}={value}" for key, value in extra.items())
    line = (
        f"{name}: candidate={candidate:,.0f} {unit} baseline={baseline:,.0f} {unit} "
        f"ratio={candidate / baseline:.1f} target={target} {'met' if met else 'NOT MET'}{details}"
    )
    return line, met
