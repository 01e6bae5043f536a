"""Between batch-record parts (`evqc.batch_record`) and rows: the field names are the same,
so a part becomes model keyword arguments, and a row becomes a part, field by field.
"""

from __future__ import annotations

from enum import Enum
from functools import cache
from typing import Any, TypeVar

from django.db import models
from pydantic import BaseModel

PartT = TypeVar("PartT", bound=BaseModel)


@cache
def _text_fields(model: type[models.Model]) -> frozenset[str]:
    return frozenset(
        field.name
        for field in model._meta.get_fields()
        if isinstance(field, models.CharField | models.TextField)
    )


def row_values(
    part: BaseModel, model: type[models.Model], *, exclude: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """A part's fields as keyword arguments of `model` (enums as values, None as "" in
    text columns, quantities as QuantityValue for the QuantityField to store)."""
    text = _text_fields(model)
    values: dict[str, Any] = {}
    for name in type(part).model_fields:
        if name in exclude:
            continue
        value = getattr(part, name)
        if isinstance(value, Enum):
            value = value.value
        elif value is None and name in text:
            value = ""
        values[name] = value
    return values


def part_of(part_class: type[PartT], row: models.Model, **values: Any) -> PartT:
    """The part a row holds; `values` give the fields the row keeps elsewhere."""
    data: dict[str, Any] = {}
    for name, info in part_class.model_fields.items():
        if name in values or not hasattr(row, name):
            continue
        value = getattr(row, name)
        if value == "" and info.default is None:
            continue  # an empty choice column is an unset optional field
        data[name] = value
    data.update(values)
    return part_class.model_validate(data)
