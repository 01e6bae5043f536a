"""Charts as plain SVG geometry, computed on the server: pages show them without any
script or library from elsewhere, and they print. Plain Python (no Django)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 600.0, 240.0
MARGIN = 40.0  # room for the axis labels


@dataclass(frozen=True)
class Tick:
    position: float  # along the axis, in the picture's units
    label: str


@dataclass(frozen=True)
class LineChart:
    """A polyline in a WIDTH x HEIGHT picture, with its axes' ticks."""

    points: str  # "x,y x,y ..." for an SVG polyline
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    width: float = WIDTH
    height: float = HEIGHT
    margin: float = MARGIN


def line_chart(xs: Sequence[float], ys: Sequence[float], *, ticks: int = 5) -> LineChart | None:
    """The chart of y against x (a size distribution: bin centres and values); None when
    there is nothing to draw. Axes start at zero on y and at the first x."""
    if not xs or len(xs) != len(ys):
        return None
    x_low, x_high = min(xs), max(xs)
    y_high = max(max(ys), 0.0) or 1.0
    x_span = (x_high - x_low) or 1.0
    plot_width, plot_height = WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN

    def at_x(x: float) -> float:
        return MARGIN + (x - x_low) / x_span * plot_width

    def at_y(y: float) -> float:
        return HEIGHT - MARGIN - max(y, 0.0) / y_high * plot_height

    points = " ".join(f"{at_x(x):.1f},{at_y(y):.1f}" for x, y in zip(xs, ys, strict=True))
    x_ticks = tuple(Tick(at_x(value), _label(value)) for value in _steps(x_low, x_high, ticks))
    y_ticks = tuple(Tick(at_y(value), _label(value)) for value in _steps(0.0, y_high, ticks))
    return LineChart(points, x_ticks, y_ticks)


def _steps(low: float, high: float, count: int) -> list[float]:
    """Round tick values between low and high (1, 2 or 5 times a power of ten apart)."""
    if high <= low:
        return [low]
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


def _label(value: float) -> str:
    text = f"{value:.3g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text
