"""Charts as plain SVG, computed on the server: pages show them without any script or
library from elsewhere, and they print. Plain Python (no Django)."""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from evqc.control_charts import ControlChart

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


# Control charts
# ------------------------------------------------------------------------------
# Drawn as a finished SVG string rather than geometry for a template: the chart has many
# kinds of mark (points, flagged points, five reference lines, specification limits, lot
# numbers), and every piece of text in it is escaped here, in one place.

CONTROL_WIDTH, CONTROL_HEIGHT = 640.0, 330.0
# Room for the tick values (left), the reference lines' names (right), the axis label
# (top) and the lot numbers written at a slant (bottom).
LEFT, RIGHT, TOP, BOTTOM = 56.0, 84.0, 30.0, 86.0
MAX_LOT_LABELS = 12  # more lot numbers than this would overlap: every k-th is written
MAX_LOT_CHARACTERS = 16
LINE_NAME_GAP = 12.0  # the least vertical distance between two names of lines
# A specification limit further than this (in spans of the data and control limits) from
# them is named in the description but not drawn: drawing it would flatten the trend.
SPEC_REACH = 0.5

# stroke-dasharray per kind of line: told apart by pattern, not only by colour.
DASHES = {"mean": "", "warning": "6 4", "control": "2 3", "specification": "10 3 2 3"}
FLAGGED_FILL = "#b3261e"


@dataclass(frozen=True)
class _Line:
    value: float
    name: str
    kind: str


def control_chart_svg(
    chart: ControlChart,
    *,
    element_id: str,
    title: str,
    axis_label: str,
    specification: tuple[float | None, float | None] = (None, None),
) -> str | None:
    """The chart as an SVG element (None when there is no point): the points in order
    joined by a line, the mean, ±2 SD and ±3 SD lines, the specification limits, and
    flagged points drawn as filled diamonds rather than open circles, so they stand out
    in print and to people who do not see the colour. `element_id` makes the ids of the
    title and description unique on the page; `axis_label` names the unit."""
    if not chart.points:
        return None
    lines = _reference_lines(chart)
    core = [p.value for p in chart.points] + [line.value for line in lines]
    drawn, off_chart = _specification_lines(specification, min(core), max(core))
    low, high = _padded(core + [line.value for line in drawn])
    plot_height = CONTROL_HEIGHT - TOP - BOTTOM

    def at_y(value: float) -> float:
        return CONTROL_HEIGHT - BOTTOM - (value - low) / (high - low) * plot_height

    xs = _x_positions(len(chart.points))
    ids = f"{element_id}-title {element_id}-desc"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart control-chart" '
        f'viewBox="0 0 {CONTROL_WIDTH:g} {CONTROL_HEIGHT:g}" role="img" '
        f'aria-labelledby="{_escape(ids)}">',
        f'<title id="{_escape(element_id)}-title">{_escape(title)}</title>',
        f'<desc id="{_escape(element_id)}-desc">'
        f"{_escape(_description(chart, axis_label, drawn, off_chart))}</desc>",
        *_axes(low, high, at_y, axis_label),
        *_lot_labels(chart, xs),
        *_lines(lines + drawn, at_y),
        '<polyline class="trend" fill="none" stroke="currentColor" stroke-width="1.5" '
        f'points="{_polyline(xs, [at_y(p.value) for p in chart.points])}"/>',
        *_marks(chart, xs, at_y),
        "</svg>",
    ]
    return "\n".join(parts)


def _reference_lines(chart: ControlChart) -> list[_Line]:
    limits = chart.limits
    if limits is None:
        return []
    return [
        _Line(limits.upper_control, "+3 SD", "control"),
        _Line(limits.upper_warning, "+2 SD", "warning"),
        _Line(limits.mean, "mean", "mean"),
        _Line(limits.lower_warning, "−2 SD", "warning"),
        _Line(limits.lower_control, "−3 SD", "control"),
    ]


def _specification_lines(
    specification: tuple[float | None, float | None], low: float, high: float
) -> tuple[list[_Line], list[str]]:
    """The specification limits near enough to the data to draw, and the names of the
    others (the description says they are off the chart)."""
    reach = (high - low) * SPEC_REACH or abs(high) * SPEC_REACH or 1.0
    drawn: list[_Line] = []
    off_chart: list[str] = []
    for value, name in zip(specification, ("lower spec.", "upper spec."), strict=True):
        if value is None:
            continue
        if low - reach <= value <= high + reach:
            drawn.append(_Line(value, name, "specification"))
        else:
            off_chart.append(name.replace("spec.", "specification limit"))
    return drawn, off_chart


def _padded(values: Sequence[float]) -> tuple[float, float]:
    """A y range around the values with a little room, never empty."""
    low, high = min(values), max(values)
    room = (high - low) * 0.05 or abs(high) * 0.1 or 1.0
    return low - room, high + room


def _x_positions(count: int) -> list[float]:
    width = CONTROL_WIDTH - LEFT - RIGHT
    if count == 1:
        return [LEFT + width / 2]
    return [LEFT + index / (count - 1) * width for index in range(count)]


def _axes(low: float, high: float, at_y: Callable[[float], float], axis_label: str) -> list[str]:
    bottom, right = CONTROL_HEIGHT - BOTTOM, CONTROL_WIDTH - RIGHT
    parts = [
        f'<line x1="{LEFT:g}" y1="{TOP:g}" x2="{LEFT:g}" y2="{bottom:g}" stroke="currentColor"/>',
        f'<line x1="{LEFT:g}" y1="{bottom:g}" x2="{right:g}" y2="{bottom:g}" '
        'stroke="currentColor"/>',
        f'<text x="{LEFT:g}" y="{TOP - 12:g}" font-size="12">{_escape(axis_label)}</text>',
        f'<text x="{right:g}" y="{CONTROL_HEIGHT - 4:g}" text-anchor="end" font-size="11">'
        "batches, oldest first</text>",
    ]
    for value in _steps(low, high, 5):
        parts.append(
            f'<text x="{LEFT - 4:g}" y="{at_y(value) + 4:.1f}" text-anchor="end" '
            f'font-size="11">{_escape(_label(value))}</text>'
        )
    return parts


def _lot_labels(chart: ControlChart, xs: Sequence[float]) -> list[str]:
    """Lot numbers under the axis, at a slant; every k-th one when there are many."""
    every = math.ceil(len(chart.points) / MAX_LOT_LABELS)
    y = CONTROL_HEIGHT - BOTTOM + 14
    parts = []
    for index in range(0, len(chart.points), every):
        label = chart.points[index].label
        if len(label) > MAX_LOT_CHARACTERS:
            label = label[: MAX_LOT_CHARACTERS - 1] + "…"
        x = xs[index]
        parts.append(
            f'<text x="{x:.1f}" y="{y:g}" text-anchor="end" font-size="10" '
            f'transform="rotate(-40 {x:.1f} {y:g})">{_escape(label)}</text>'
        )
    return parts


def _lines(lines: Sequence[_Line], at_y: Callable[[float], float]) -> list[str]:
    """Horizontal reference lines across the plot, each named at its right end; names
    that would overlap are moved apart (the line itself stays where it belongs)."""
    right = CONTROL_WIDTH - RIGHT
    parts = []
    ordered = sorted(lines, key=lambda line: at_y(line.value))
    name_ys = _spread([at_y(line.value) for line in ordered], LINE_NAME_GAP)
    for line, name_y in zip(ordered, name_ys, strict=True):
        y = at_y(line.value)
        dash = DASHES[line.kind]
        pattern = f' stroke-dasharray="{dash}"' if dash else ""
        width = 1.5 if line.kind == "specification" else 1
        parts.append(
            f'<line class="limit {line.kind}" x1="{LEFT:g}" y1="{y:.1f}" x2="{right:g}" '
            f'y2="{y:.1f}" stroke="currentColor" stroke-width="{width:g}"{pattern}/>'
        )
        parts.append(
            f'<text x="{right + 4:g}" y="{name_y + 4:.1f}" font-size="11">'
            f"{_escape(line.name)}</text>"
        )
    return parts


def _spread(positions: Sequence[float], gap: float) -> list[float]:
    """Sorted positions moved down just enough that neighbours are `gap` apart."""
    spread: list[float] = []
    for position in positions:
        spread.append(position if not spread else max(position, spread[-1] + gap))
    return spread


def _marks(chart: ControlChart, xs: Sequence[float], at_y: Callable[[float], float]) -> list[str]:
    """A point per batch: an open circle, or a filled diamond when a rule flags it; its
    tooltip names the lot and the rules."""
    parts = []
    for index, point in enumerate(chart.points):
        x, y = xs[index], at_y(point.value)
        rules = chart.rules_at(index)
        tip = point.label + (": " + "; ".join(rule.heading for rule in rules) if rules else "")
        if rules:
            size = 6.0
            shape = (
                f'<polygon class="point flagged" fill="{FLAGGED_FILL}" stroke="currentColor" '
                f'points="{x:.1f},{y - size:.1f} {x + size:.1f},{y:.1f} {x:.1f},{y + size:.1f} '
                f'{x - size:.1f},{y:.1f}">'
            )
            end = "</polygon>"
        else:
            shape = (
                f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="white" '
                'stroke="currentColor" stroke-width="1.5">'
            )
            end = "</circle>"
        parts.append(f"{shape}<title>{_escape(tip)}</title>{end}")
    return parts


def _description(
    chart: ControlChart, axis_label: str, drawn: Sequence[_Line], off_chart: Sequence[str]
) -> str:
    """What the chart shows, in words, for screen readers (the page's table has the
    values)."""
    points = chart.points
    count = len(points)
    span = points[0].label if count == 1 else f"{points[0].label} to {points[-1].label}"
    words = [f"{axis_label} of {count} batch{'es' if count != 1 else ''}: {span}, oldest first."]
    if chart.limits is None:
        words.append(chart.no_limits)
    else:
        words.append("Lines: the mean, the ±2 SD warning limits and the ±3 SD control limits.")
    if drawn:
        words.append(f"Specification limits drawn: {', '.join(line.name for line in drawn)}.")
    if off_chart:
        words.append(f"Off the chart, far from the results: {', '.join(off_chart)}.")
    flagged = sorted(chart.flagged)
    if flagged:
        lots = ", ".join(points[index].label for index in flagged)
        words.append(f"Flagged by a run rule ({len(flagged)}): {lots}.")
    elif chart.limits is not None:
        words.append("No run rule flags a batch.")
    return " ".join(words)


def _polyline(xs: Sequence[float], ys: Sequence[float]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))


def _escape(text: str) -> str:
    return html.escape(text, quote=True)
