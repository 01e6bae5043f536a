"""Portal forms built from the batch-record format's parts (evqc/batch_record.py), so a
form accepts exactly what the API accepts: each input follows its field's annotation (a
quantity of one kind, a choice, a time, text), and the filled-in part is checked by the
part's own model, whose errors go back onto the inputs they name.

Times typed into a form are the lab's local time (a `datetime-local` input has no zone).
"""

from __future__ import annotations

import types
import typing
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any, ClassVar, Literal, get_args, get_origin
from zoneinfo import ZoneInfo

from annotated_types import MaxLen
from django import forms
from pydantic import AwareDatetime
from pydantic.fields import FieldInfo

from evqc import batch_record as record
from evqc.exceptions import EVQCError
from evqc.fields import QuantityFormField
from evqc.units import QuantityValue

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
LONG_TEXT = 1000  # longer text limits get a text area
YES_NO = [("", "not recorded"), ("true", "yes"), ("false", "no")]


class PartForm(forms.Form):
    """A form for one batch-record part; `cleaned_data["part"]` is the checked part."""

    part: ClassVar[type[record.Part]]
    # Inputs of this form that are not keys of the part (a reason, a version, ...).
    extra_fields: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, *args: Any, time_zone: ZoneInfo | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.time_zone = time_zone or ZoneInfo("UTC")
        # The part's own inputs first; a reason or version after them.
        self.order_fields([name for name in self.fields if name not in self.extra_fields])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        try:
            cleaned["part"] = record.parse_part(self.part, self.document(cleaned))
        except record.BatchRecordError as error:
            self.add_path_errors(error.fields)
        return cleaned

    def document(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        """The part as the batch-record format writes it: what was filled in, nothing else."""
        document: dict[str, Any] = {}
        for name, value in cleaned.items():
            if name == "part" or name in self.extra_fields or value is None or value == "":
                continue
            if isinstance(value, datetime) and value.tzinfo is None:
                value = value.replace(tzinfo=self.time_zone)
            document[name] = value
        return document

    def add_service_error(self, error: EVQCError) -> None:
        """A service's refusal: on the inputs it names, else above the form."""
        fields = error.extra.get("fields")
        if isinstance(fields, dict) and fields:
            self.add_path_errors(fields)
        else:
            self.add_error(None, error.message)

    def add_path_errors(self, fields: dict[str, list[dict[str, str]]], prefix: str = "") -> None:
        """The part's errors, each on the input its JSON path names (the rest on the form)."""
        for path, problems in fields.items():
            name = path.removeprefix(prefix)
            for problem in problems:
                message = problem["message"]
                if name in self.fields:
                    self.add_error(name, message)
                else:
                    self.add_error(None, f"{path}: {message}" if path else message)


def initial_of(part: record.Part | None, time_zone: ZoneInfo) -> dict[str, Any]:
    """A stored part as a form's initial values (times in the lab's zone)."""
    if part is None:
        return {}
    initial: dict[str, Any] = {}
    for name in type(part).model_fields:
        value = getattr(part, name)
        if isinstance(value, Enum):
            value = value.value
        elif isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, datetime):
            value = value.astimezone(time_zone).replace(tzinfo=None)
        if value is not None and value != "" and not isinstance(value, record.Part):
            initial[name] = value
    return initial


def part_form(
    part: type[record.Part],
    *,
    exclude: tuple[str, ...] = (),
    base: type[PartForm] = PartForm,
) -> type[PartForm]:
    """A PartForm class with one input per field of `part` (nested parts excluded)."""
    fields: dict[str, Any] = {"part": part}
    for name, info in part.model_fields.items():
        if name in exclude:
            continue
        field = form_field(name, info)
        if field is not None:
            fields[name] = field
    return type(f"{part.__name__}Form", (base,), fields)


def form_field(name: str, info: FieldInfo) -> forms.Field | None:
    """The input for one field of a part, or None for a nested part or list."""
    annotation, metadata, optional = _unwrap(info.annotation, list(info.metadata))
    required = info.is_required() and not optional
    common = {"required": required, "label": _label(name), "help_text": info.description or ""}
    kind = next((item.kind for item in metadata if isinstance(item, record.QuantityOf)), None)
    if kind is not None:
        return QuantityFormField(kind=kind, **common)
    if get_origin(annotation) is Literal:
        values = [value for value in get_args(annotation) if value != ""]
        choices = [(value, str(value).replace("_", " ")) for value in values]
        return forms.ChoiceField(choices=[("", "not recorded"), *choices], **common)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        choices = [(m.value, getattr(m, "label", m.value)) for m in annotation]
        blank = [] if required else [("", "not recorded")]
        return forms.ChoiceField(choices=[*blank, *choices], **common)
    if annotation is bool:
        return forms.TypedChoiceField(
            choices=YES_NO, coerce=lambda value: value == "true", empty_value=None, **common
        )
    if annotation is AwareDatetime or annotation is datetime:
        return forms.DateTimeField(widget=DATETIME_INPUT, **common)
    if annotation is date:
        return forms.DateField(widget=DATE_INPUT, **common)
    if annotation is int:
        return forms.IntegerField(**common)
    if annotation is str:
        length = next((item.max_length for item in metadata if _has_max(item)), None)
        widget = forms.Textarea(attrs={"rows": 3}) if (length or 0) > LONG_TEXT else None
        return forms.CharField(max_length=length, widget=widget, strip=True, **common)
    return None


def _unwrap(annotation: Any, metadata: list[Any]) -> tuple[Any, list[Any], bool]:
    """The annotation without Optional and Annotated layers, with their metadata, and
    whether None was allowed."""
    optional = False
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *more = get_args(annotation)
            metadata = [*metadata, *more]
        elif origin in (typing.Union, types.UnionType):
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            optional = optional or len(members) < len(get_args(annotation))
            if len(members) != 1 or members[0] is QuantityValue:
                return (members[0] if len(members) == 1 else annotation), metadata, optional
            annotation = members[0]
        else:
            return annotation, metadata, optional


def _has_max(item: Any) -> bool:
    return isinstance(item, MaxLen) or getattr(item, "max_length", None) is not None


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()
