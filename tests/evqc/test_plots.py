from xml.etree import ElementTree

from evqc.control_charts import Point, control_chart
from evqc.plots import HEIGHT, MARGIN, WIDTH, control_chart_svg, line_chart


def test_the_highest_value_reaches_the_top_and_the_ends_reach_the_sides():
    chart = line_chart([50.0, 100.0, 150.0], [0.0, 4.0e8, 1.0e8])

    points = [tuple(map(float, point.split(","))) for point in chart.points.split()]
    assert points[0] == (MARGIN, HEIGHT - MARGIN)
    assert points[1] == ((WIDTH) / 2, MARGIN)
    assert points[2][0] == WIDTH - MARGIN
    # 5 ticks over 100 nm: round steps of 20, the multiples of 20 inside the range
    assert [tick.label for tick in chart.x_ticks] == [str(v) for v in range(60, 151, 20)]
    assert chart.y_ticks[0].label == "0"
    assert chart.y_ticks[-1].label == "4e8"


def test_nothing_to_draw_is_no_chart():
    assert line_chart([], []) is None
    assert line_chart([1.0, 2.0], [1.0]) is None


def test_all_zero_values_draw_a_flat_line_on_the_axis():
    chart = line_chart([1.0, 2.0], [0.0, 0.0])

    assert (
        chart.points
        == f"{MARGIN:.1f},{HEIGHT - MARGIN:.1f} {WIDTH - MARGIN:.1f},{HEIGHT - MARGIN:.1f}"
    )


# Control charts
# ------------------------------------------------------------------------------

SVG = "{http://www.w3.org/2000/svg}"


def svg_of(values, *, labels=None, specification=(None, None), title="Control chart: size"):
    points = [
        Point(label, value)
        for label, value in zip(labels or [f"L{n}" for n in range(1, 99)], values, strict=False)
    ]
    text = control_chart_svg(
        control_chart(points),
        element_id="trend-1",
        title=title,
        axis_label="Modal size (nm)",
        specification=specification,
    )
    return text, ElementTree.fromstring(text)  # noqa: S314 (our own output: is it well-formed?)


# 5 and 15 alternating around a 62 in 7th place: mean 14, SD sqrt(233), 62 beyond 3 SD
OUTLIER = [5.0, 15.0] * 3 + [62.0] + [5.0, 15.0] * 3


def test_a_control_chart_is_an_accessible_image_with_a_title_and_a_description():
    _, svg = svg_of(OUTLIER)

    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "trend-1-title trend-1-desc"
    assert svg.find(f"{SVG}title").text == "Control chart: size"
    assert svg.find(f"{SVG}title").get("id") == "trend-1-title"
    assert svg.find(f"{SVG}desc").text == (
        "Modal size (nm) of 13 batches: L1 to L13, oldest first. Lines: the mean, the ±2 SD "
        "warning limits and the ±3 SD control limits. Flagged by a run rule (1): L7."
    )


def test_flagged_points_are_diamonds_and_the_others_circles():
    _, svg = svg_of(OUTLIER)

    diamonds = svg.findall(f"{SVG}polygon")
    assert [d.find(f"{SVG}title").text for d in diamonds] == [
        "L7: Point beyond the 3 SD control limit"
    ]
    assert len(svg.findall(f"{SVG}circle")) == 12


def test_the_mean_and_the_limits_are_named_lines_told_apart_by_their_dashes():
    _, svg = svg_of(OUTLIER)

    lines = {line.get("class"): line.get("stroke-dasharray") for line in svg.iter(f"{SVG}line")}
    assert lines == {
        None: None,  # the axes
        "limit mean": None,
        "limit warning": "6 4",
        "limit control": "2 3",
    }
    names = {text.text for text in svg.iter(f"{SVG}text")}
    assert {"+3 SD", "+2 SD", "mean", "−2 SD", "−3 SD", "Modal size (nm)"} <= names


def test_a_specification_limit_near_the_results_is_drawn_and_a_far_one_described():
    # results and control limits span about -32 to 62: 70 is within half a span, 1000 not
    _, svg = svg_of(OUTLIER, specification=(None, 70.0))
    assert "upper spec." in {text.text for text in svg.iter(f"{SVG}text")}
    assert len(svg.findall(f"{SVG}line[@class='limit specification']")) == 1

    _, svg = svg_of(OUTLIER, specification=(None, 1000.0))
    assert svg.findall(f"{SVG}line[@class='limit specification']") == []
    assert "Off the chart, far from the results: upper specification limit." in (
        svg.find(f"{SVG}desc").text
    )


def test_every_text_is_escaped():
    text, svg = svg_of(
        [1.0, 2.0, 4.0], labels=["<b>L1</b>", "L2 & co", 'L"3'], title="<script>x</script>"
    )

    assert "<script>" not in text
    assert "<b>" not in text
    assert svg.find(f"{SVG}title").text == "<script>x</script>"
    assert {"<b>L1</b>", "L2 & co", 'L"3'} <= {t.text for t in svg.iter(f"{SVG}text")}


def test_without_limits_the_chart_says_why_and_draws_no_limit_line():
    _, svg = svg_of([120.0, 130.0])

    assert svg.findall(f"{SVG}line[@class]") == []
    assert "No control limits yet: 2 batches with a result" in svg.find(f"{SVG}desc").text


def test_no_point_is_no_chart():
    assert control_chart_svg(control_chart([]), element_id="t", title="t", axis_label="a") is None
