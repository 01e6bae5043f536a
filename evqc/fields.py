"""Django fields for quantities: a model field over four plain columns and a form field.

A measured value is stored as value + unit as entered, the value in the kind's canonical
unit (for filtering, ordering, specifications and charts) and the text as reported. The
columns are ordinary FloatField/CharField columns, so any database works and queries
filter on `<name>_canonical` directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models

from evqc.units import (
    MAX_TEXT_LENGTH,
    MAX_UNIT_LENGTH,
    QuantityKind,
    QuantityValue,
    UnitError,
    kind_named,
    parse_quantity,
)

KindSource = QuantityKind | str | Callable[[models.Model], QuantityKind]

# Text as given (200) or a structured value's repr and unit (24 + 1 + 100).
MAX_REPORTED_LENGTH = 255


class QuantityField(models.Field):
    """A quantity of one kind, kept in columns `<name>_value`, `_unit`, `_canonical` and
    `_reported`.

    Assigning text, a (value, unit) pair or a mapping parses it through
    `evqc.units.parse_quantity` and fills all four columns, or raises `UnitError` and
    leaves them unchanged; reading gives a `QuantityValue` or None. `kind` may be a
    callable of the instance for rows whose kind depends on another column (a result's
    attribute). Like GenericForeignKey, this field has no column of its own; it adds
    database constraints so that no row has a value without its unit or canonical value,
    and none outside the kind's bounds (static kinds only).
    """

    many_to_many = False
    many_to_one = False
    one_to_many = False
    one_to_one = False

    def __init__(
        self,
        kind: KindSource,
        *,
        verbose_name: str | None = None,
        help_text: str = "",
        blank: bool = True,
        db_index: bool = False,
    ) -> None:
        super().__init__(verbose_name=verbose_name, help_text=help_text, blank=blank, null=True)
        self.kind = kind
        # Created here, not in contribute_to_class, so the columns keep their place in the
        # model's field order.
        self.columns = {
            "value": models.FloatField(null=True, blank=True, editable=False),
            "unit": models.CharField(max_length=MAX_UNIT_LENGTH, blank=True, editable=False),
            "canonical": models.FloatField(
                null=True, blank=True, editable=False, db_index=db_index
            ),
            "reported": models.CharField(
                max_length=MAX_REPORTED_LENGTH, blank=True, editable=False
            ),
        }

    def contribute_to_class(self, cls: type[models.Model], name: str, **kwargs: Any) -> None:
        super().contribute_to_class(cls, name, private_only=True, **kwargs)
        setattr(cls, name, self)
        if getattr(self, "mti_inherited", False):
            return  # the parent table holds the columns
        if cls._meta.abstract:
            raise ImproperlyConfigured("QuantityField is for concrete models only.")
        label = self.verbose_name or name.replace("_", " ")
        descriptions = {
            "value": f"{label} (as entered)",
            "unit": f"{label} unit (as entered)",
            "canonical": f"{label} in the canonical unit",
            "reported": f"{label} as reported",
        }
        for suffix, column in self.columns.items():
            column.verbose_name = descriptions[suffix]
            cls.add_to_class(f"{name}_{suffix}", column)
        constraints = [*cls._meta.constraints, *self._constraints(cls, name)]
        cls._meta.constraints = constraints
        # Migrations read constraints only when Meta declared some.
        cls._meta.original_attrs["constraints"] = constraints

    def get_attname_column(self) -> tuple[str, None]:
        return self.get_attname(), None

    def check(self, **kwargs: Any) -> list[Any]:
        return [*self._check_field_name()]

    def formfield(self, **kwargs: Any) -> forms.Field:
        kind = None if callable(self.kind) else kind_named(self.kind)
        defaults = {"kind": kind, "required": not self.blank, "label": self.verbose_name}
        return QuantityFormField(**{**defaults, **kwargs})

    def kind_for(self, instance: models.Model) -> QuantityKind:
        if isinstance(self.kind, QuantityKind | str):
            return kind_named(self.kind)
        return self.kind(instance)

    def __get__(self, instance: models.Model | None, owner: Any = None) -> Any:
        if instance is None:
            return self
        value = getattr(instance, f"{self.name}_value")
        if value is None:
            return None
        return QuantityValue(
            value,
            getattr(instance, f"{self.name}_unit"),
            getattr(instance, f"{self.name}_canonical"),
            self.kind_for(instance),
            getattr(instance, f"{self.name}_reported"),
        )

    def __set__(self, instance: models.Model, given: object) -> None:
        if given is None:
            columns = {
                f"{self.name}_value": None,
                f"{self.name}_unit": "",
                f"{self.name}_canonical": None,
                f"{self.name}_reported": "",
            }
        else:
            columns = quantity_columns(self.name, self._parse(instance, given))
        for attname, column_value in columns.items():
            setattr(instance, attname, column_value)

    def _parse(self, instance: models.Model, given: object) -> QuantityValue:
        kind = self.kind_for(instance)
        if isinstance(given, QuantityValue):
            if given.kind is kind:
                return given
            # Same amount, checked against this field's kind; keep what was reported.
            checked = parse_quantity((given.value, given.unit), kind, field=self.name)
            return checked._replace(reported=given.reported)
        return parse_quantity(given, kind, field=self.name)

    def _constraints(self, cls: type[models.Model], name: str) -> list[models.CheckConstraint]:
        prefix = f"{cls._meta.app_label}_{cls._meta.model_name}_{name}"
        value, unit, canonical = f"{name}_value", f"{name}_unit", f"{name}_canonical"
        empty = models.Q(**{f"{value}__isnull": True, f"{canonical}__isnull": True, unit: ""})
        filled = models.Q(**{f"{value}__isnull": False, f"{canonical}__isnull": False})
        if callable(self.kind):
            return [models.CheckConstraint(condition=empty | filled, name=f"{prefix}_complete")]
        kind = kind_named(self.kind)
        if kind.unit_label:  # a dimensionless count is the only value without a unit
            filled &= ~models.Q(**{unit: ""})
        constraints = [models.CheckConstraint(condition=empty | filled, name=f"{prefix}_complete")]
        bounds = models.Q()
        if kind.minimum is not None:
            bounds &= models.Q(**{f"{canonical}__gte": kind.minimum})
        if kind.maximum is not None:
            bounds &= models.Q(**{f"{canonical}__lte": kind.maximum})
        if bounds:
            constraints.append(
                models.CheckConstraint(
                    condition=models.Q(**{f"{canonical}__isnull": True}) | bounds,
                    name=f"{prefix}_in_range",
                )
            )
        return constraints


def quantity_columns(name: str, quantity: QuantityValue) -> dict[str, Any]:
    """The four column values of a checked quantity, for building many rows at once
    (`Model(**quantity_columns("value", q))`) without a descriptor call per column."""
    return {
        f"{name}_value": quantity.value,
        f"{name}_unit": quantity.unit,
        f"{name}_canonical": quantity.canonical_value,
        f"{name}_reported": quantity.reported,
    }


class QuantityWidget(forms.TextInput):
    """A text box for "2.1e11 particles/mL"; the portal's script checks it as you type."""

    def __init__(self, kind: QuantityKind | None = None, attrs: dict[str, Any] | None = None):
        defaults = {"autocomplete": "off", "spellcheck": "false", "inputmode": "text"}
        if kind is not None:
            defaults |= {"placeholder": f"e.g. {kind.example}", "data-quantity-kind": kind.name}
        super().__init__(attrs={**defaults, **(attrs or {})})


class QuantityFormField(forms.Field):
    """A form field that reads a typed quantity and shows the unit error beside the input."""

    def __init__(self, *, kind: QuantityKind | str | None = None, **kwargs: Any) -> None:
        self.kind = None if kind is None else kind_named(kind)
        kwargs.setdefault("widget", QuantityWidget(self.kind, {"maxlength": MAX_TEXT_LENGTH}))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, QuantityValue):
            return value.reported or str(value)
        return value

    def to_python(self, value: Any) -> QuantityValue | None:
        if isinstance(value, QuantityValue):
            return value
        text = "" if value is None else str(value).strip()
        if not text:
            return None
        if self.kind is None:
            raise ImproperlyConfigured("QuantityFormField needs a kind before it can clean.")
        try:
            return parse_quantity(text, self.kind)
        except UnitError as error:
            raise ValidationError(error.message, code=error.code) from error
