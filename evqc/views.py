"""Views shared by the portal's pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from evqc.exceptions import UnitError
from evqc.templatetags.quantities import number
from evqc.units import KINDS, MAX_TEXT_LENGTH, parse_quantity

UNKNOWN_KIND = 'kind: "{kind}" is not a kind of quantity evqc knows.'


@login_required
@require_GET
def quantity_check(request: HttpRequest) -> JsonResponse:
    """Whether typed text is a quantity of a kind ("2e11 /mL" as a particle
    concentration), for the portal's inputs to say so while the person types: the same
    reading (evqc.units) the form applies when it is sent."""
    kind_name = request.GET.get("kind", "")
    text = request.GET.get("value", "")[: MAX_TEXT_LENGTH + 1]
    kind = KINDS.get(kind_name)
    if kind is None:
        message = UNKNOWN_KIND.format(kind=kind_name[:40])
        return JsonResponse({"ok": False, "message": message}, status=400)
    if not text.strip():
        return JsonResponse({"ok": True, "message": ""})
    try:
        quantity = parse_quantity(text, kind)
    except UnitError as error:
        return JsonResponse({"ok": False, "message": error.message})
    same = quantity.unit == quantity.canonical_unit
    shown = f"{number(quantity.canonical_value)} {quantity.canonical_unit}"
    return JsonResponse(
        {
            "ok": True,
            "message": f"read as {number(quantity.value)} {quantity.unit}"
            + ("" if same else f" = {shown}"),
            "canonical_value": quantity.canonical_value,
            "canonical_unit": quantity.canonical_unit,
        }
    )
