from evqc.plots import HEIGHT, MARGIN, WIDTH, line_chart


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
