"""`{% quantity value %}`: the one way a page shows a number with its unit.

The value as the lab entered it, its unit beside it (never only in a column header),
and, for machines and screen readers, the canonical value in a `data` element. With
`sd=`, "value ± SD unit". A missing value reads "not recorded", not an empty cell.
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from evqc.units import QuantityValue, convert

register = template.Library()

NOT_RECORDED = '<span class="quantity missing">not recorded</span>'


def number(value: float) -> str:
    """A number as a lab writes it: up to 4 significant digits, 2.1e+11 as 2.1e11."""
    text = f"{value:.4g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


@register.simple_tag
def quantity(value: QuantityValue | None, sd: QuantityValue | None = None) -> str:
    if value is None:
        return mark_safe(NOT_RECORDED)  # noqa: S308 (a constant)
    spread = "" if not sd else f" ± {number(convert(sd, value.unit).value)}"
    return format_html(
        '<span class="quantity"><data value="{}" title="{} {}">{}{}</data> '
        '<span class="unit">{}</span></span>',
        value.canonical_value,
        number(value.canonical_value),
        value.canonical_unit,
        number(value.value),
        spread,
        value.unit,
    )
