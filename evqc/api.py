"""REST API building blocks shared by every app: the quantity serializer field (and its
OpenAPI schema), the one error response shape, and the quantity-kind endpoints that let
an integrator or the portal check a value before sending it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from evqc.exceptions import EVQCError
from evqc.units import (
    KINDS,
    QuantityKind,
    QuantityValue,
    UnitError,
    describe_dimension,
    kind_named,
    parse_quantity,
)
from evqc.vocabulary import TokenScope

# Keys of the output object that a client may send back unchanged.
READ_ONLY_QUANTITY_KEYS = frozenset({"canonical_value", "canonical_unit", "reported_text"})


class QuantitySerializerField(serializers.Field):
    """A quantity on the wire: `{"value": 2.1e11, "unit": "particle/mL"}` or the text
    "2.1e11 particles/mL" in; always the object (with canonical value and reported text)
    out.
    """

    default_error_messages: ClassVar[dict[str, str]] = {
        "invalid": 'Expected a quantity: text such as "2.1e11 particles/mL", or an object '
        "with value and unit."
    }

    def __init__(self, kind: QuantityKind | str | None, **kwargs: Any) -> None:
        """`kind` None: the serializer's context gives it, as "kind" (one endpoint, many kinds)."""
        self._kind = None if kind is None else kind_named(kind)
        super().__init__(**kwargs)

    @property
    def kind(self) -> QuantityKind | None:
        return self._kind or self.context.get("kind")

    def to_internal_value(self, data: Any) -> QuantityValue:
        if isinstance(data, Mapping):
            unexpected = set(data) - {"value", "unit"} - READ_ONLY_QUANTITY_KEYS
            if unexpected:
                raise ValidationError(
                    f"Unexpected keys {sorted(unexpected)}; a quantity has value and unit.",
                    code="invalid",
                )
            data = {key: data[key] for key in ("value", "unit") if key in data}
        elif not isinstance(data, str):
            self.fail("invalid")
        try:
            return parse_quantity(data, self.kind, field=self.field_name or "")
        except UnitError as error:
            raise ValidationError(error.message, code=error.code) from error

    def to_representation(self, value: QuantityValue) -> dict[str, Any]:
        return {
            "value": value.value,
            "unit": value.unit,
            "canonical_value": value.canonical_value,
            "canonical_unit": value.canonical_unit,
            "reported_text": value.reported,
        }


class QuantitySerializer(serializers.Serializer):
    """The schema of a quantity (drf-spectacular names it Quantity / QuantityRequest)."""

    value = serializers.FloatField(help_text="The value as entered.")
    unit = serializers.CharField(help_text='Unit as entered, e.g. "particle/mL", "µg/mL".')
    canonical_value = serializers.FloatField(
        read_only=True, help_text="The same amount in the kind's canonical unit."
    )
    canonical_unit = serializers.CharField(read_only=True)
    reported_text = serializers.CharField(
        read_only=True, help_text="The text exactly as it was reported."
    )


class QuantityFieldSchema(OpenApiSerializerFieldExtension):
    target_class = QuantitySerializerField

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        kind: QuantityKind | None = self.target._kind
        component = auto_schema.resolve_serializer(QuantitySerializer, direction).ref
        if kind is None:
            description = "A quantity of the kind the endpoint names."
            example = "2.1e11 particles/mL"
        else:
            dimension = describe_dimension(kind.pint_unit.dimensionality)
            description = (
                f'{kind.label.capitalize()} ({dimension}); canonical unit "{kind.unit_label}".'
            )
            example = kind.example
        if direction == "request":
            text = {"type": "string", "example": example}
            return {"oneOf": [component, text], "description": description}
        return {"allOf": [component], "description": description}


# Errors
# ------------------------------------------------------------------------------


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every API error as `{"message", "code", "extra"}`; field errors under
    `extra.fields`, keyed by JSON path ("results[3].value")."""
    if isinstance(exc, EVQCError):
        http_status = getattr(exc, "http_status", status.HTTP_400_BAD_REQUEST)
        body = {"message": exc.message, "code": exc.code, "extra": exc.extra}
        return Response(body, status=http_status)
    if isinstance(exc, DjangoValidationError):
        exc = ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):  # keep the view's message ("No batch EV-001.")
        exc = NotFound(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ValidationError):
        fields = _flatten(exc.get_full_details())
        response.data = {
            "message": _summary(fields),
            "code": "invalid",
            "extra": {"fields": fields},
        }
    elif isinstance(exc, APIException):
        response.data = {"message": str(exc.detail), "code": exc.get_codes(), "extra": {}}
    return response


def _flatten(details: Any, path: str = "") -> dict[str, list[dict[str, str]]]:
    """Turn DRF's nested error details into {json_path: [{message, code}]}."""
    if isinstance(details, dict) and set(details) == {"message", "code"}:
        return {path: [{"message": str(details["message"]), "code": str(details["code"])}]}
    flat: dict[str, list[dict[str, str]]] = {}
    if isinstance(details, dict):  # list items' errors come keyed by int index
        items = ((_join(path, key), value) for key, value in details.items())
    elif isinstance(details, list):
        if all(isinstance(item, dict) and set(item) == {"message", "code"} for item in details):
            return {
                path: [{"message": str(d["message"]), "code": str(d["code"])} for d in details]
            }
        items = ((f"{path}[{index}]", value) for index, value in enumerate(details))
    else:
        return {path: [{"message": str(details), "code": "invalid"}]}
    for key, value in items:
        for sub_path, errors in _flatten(value, key).items():
            if errors:
                flat.setdefault(sub_path, []).extend(errors)
    return flat


def _join(path: str, key: object) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _summary(fields: dict[str, list[dict[str, str]]]) -> str:
    if len(fields) == 1:
        ((path, errors),) = fields.items()
        message = errors[0]["message"]
        return message if message.startswith(path) or not path else f"{path}: {message}"
    return f"{len(fields)} fields are invalid: {', '.join(sorted(fields))}."


# Quantity kinds
# ------------------------------------------------------------------------------


class QuantityKindSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    unit = serializers.CharField(source="unit_label", help_text="Canonical unit.")
    dimension = serializers.SerializerMethodField()
    example = serializers.CharField()
    minimum = serializers.FloatField(allow_null=True, help_text="In the canonical unit.")
    maximum = serializers.FloatField(allow_null=True, help_text="In the canonical unit.")
    integer = serializers.BooleanField()

    def get_dimension(self, kind: QuantityKind) -> str:
        return describe_dimension(kind.pint_unit.dimensionality)


class QuantityCheckSerializer(serializers.Serializer):
    quantity = QuantitySerializerField(kind=None)


class QuantityKindViewSet(viewsets.ViewSet):
    """The kinds of quantity evqc stores, and a check of a value against one of them."""

    lookup_field = "name"
    lookup_value_regex = "[a-z_]+"
    # Checking a value stores nothing: any token may ask (batches.api.auth).
    token_scopes: ClassVar[dict[str, set[TokenScope]]] = {"check": set(TokenScope)}

    @extend_schema(responses=QuantityKindSerializer(many=True))
    def list(self, request: Request) -> Response:
        return Response(QuantityKindSerializer(list(KINDS.values()), many=True).data)

    @extend_schema(responses=QuantityKindSerializer)
    def retrieve(self, request: Request, name: str) -> Response:
        return Response(QuantityKindSerializer(_kind_or_404(name)).data)

    @extend_schema(
        request=QuantityCheckSerializer,
        responses={200: QuantitySerializer},
        description="Parse and check a quantity as evqc would on input; nothing is stored.",
    )
    @action(detail=True, methods=["post"])
    def check(self, request: Request, name: str) -> Response:
        kind = _kind_or_404(name)
        incoming = QuantityCheckSerializer(data=request.data, context={"kind": kind})
        incoming.is_valid(raise_exception=True)
        return Response(incoming.data["quantity"])


def _kind_or_404(name: str) -> QuantityKind:
    try:
        return KINDS[name]
    except KeyError:
        raise Http404(f"No kind of quantity is called {name!r}.") from None
