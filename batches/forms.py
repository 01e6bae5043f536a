"""Portal forms: they read what a person typed; the services decide.

The forms for a batch's parts are built from the batch-record format's models
(evqc/forms.py), so the portal accepts what the API accepts and says why in the same
words, each message beside its input.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django import forms

from evqc import batch_record as record
from evqc.forms import PartForm, part_form
from evqc.vocabulary import BatchStatus, IsolationMethod

REASON_HELP = "Needed to correct recorded data once the batch has left production."


class RuleExceptionForm(forms.Form):
    rule = forms.CharField(widget=forms.HiddenInput, max_length=40)
    justification = forms.CharField(
        label="Why the rule does not apply, or how it is met",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=4000,
    )


class ChangeForm(PartForm):
    """A part form that records or corrects: it carries the batch version the person
    loaded (a stale one is refused, not overwritten) and the reason for a correction."""

    extra_fields = frozenset({"version", "reason"})
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label="Reason for the change",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=REASON_HELP,
    )


ProductionForm = part_form(record.Production, base=ChangeForm)
StorageForm = part_form(record.Storage, base=ChangeForm)


class StepForm(part_form(record.CentrifugationStep, exclude=("method", "parameters"))):  # type: ignore[misc]
    """What every isolation step records; its method's parameters are a second form."""

    method = forms.ChoiceField(
        choices=[(m.value, m.label) for m in IsolationMethod], label="Method"
    )

    def clean(self) -> dict[str, Any]:
        # The step is checked whole, with its parameters: see isolation_step_from.
        return forms.Form.clean(self) or {}


def parameters_form(method: str) -> type[PartForm]:
    """The form of one isolation method's parameters (`parameters-` inputs)."""
    step = record.isolation_step_model(method)
    return part_form(step.model_fields["parameters"].annotation)  # type: ignore[arg-type]


def isolation_step_from(step_form: StepForm, parameters: PartForm) -> Any:
    """The isolation step both forms describe, checked whole; None (with the errors on
    the inputs they name) when it is not a valid step."""
    if not (step_form.is_valid() and parameters.is_valid()):
        return None
    document = step_form.document(step_form.cleaned_data)
    document["parameters"] = parameters.document(parameters.cleaned_data)
    try:
        return record.parse_part(record.IsolationStep, document)
    except record.BatchRecordError as error:
        nested = {p: e for p, e in error.fields.items() if p.startswith("parameters.")}
        step_form.add_path_errors({p: e for p, e in error.fields.items() if p not in nested})
        parameters.add_path_errors(nested, prefix="parameters.")
        return None


class TransitionForm(forms.Form):
    to = forms.ChoiceField(choices=[(s.value, s.label) for s in BatchStatus])
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label="Reason",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Needed for holds, rejections and moves back.",
    )


def time_zone_of(lab: Any) -> ZoneInfo:
    """The zone a lab's people type times in (UTC when the lab's is not a zone name)."""
    try:
        return ZoneInfo(lab.time_zone)
    except (ValueError, KeyError):
        return ZoneInfo("UTC")
