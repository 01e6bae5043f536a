"""`{% quantity %}`: every value on a page shows its unit beside it."""

from django.template import Context, Template

from evqc.units import parse_quantity


def render(text, **context):
    return Template("{% load quantities %}" + text).render(Context(context))


def test_a_value_is_shown_as_entered_with_its_unit_and_its_canonical_value_for_machines():
    concentration = parse_quantity("2.1e11 particles/mL", "particle_concentration")

    html = render("{% quantity c %}", c=concentration)

    assert html == (
        '<span class="quantity"><data value="210000000000.0" title="2.1e11 particle/mL">'
        '2.1e11</data> <span class="unit">particle/mL</span></span>'
    )


def test_an_sd_in_another_unit_is_shown_in_the_values_unit():
    size = parse_quantity("112 nm", "length")
    sd = parse_quantity("0.015 µm", "length")

    html = render("{% quantity v sd=s %}", v=size, s=sd)

    assert ">112 ± 15</data>" in html
    assert '<span class="unit">nm</span>' in html


def test_a_missing_value_reads_not_recorded():
    assert render("{% quantity v %}", v=None) == (
        '<span class="quantity missing">not recorded</span>'
    )


def test_units_are_escaped():
    odd = parse_quantity("4 °C", "temperature")._replace(unit="<b>°C</b>")

    assert "&lt;b&gt;°C&lt;/b&gt;" in render("{% quantity v %}", v=odd)
