"""Portal forms for assay runs: results typed in by hand and export files uploaded.
They read what a person typed; the services (and the batch-record models they check
with) decide."""

from __future__ import annotations

from typing import Any

from django import forms

from evqc import batch_record as record
from evqc.fields import QuantityFormField, QuantityWidget
from evqc.forms import PartForm, part_form
from evqc.vocabulary import ATTRIBUTES, AssayMethod, ResultBasis

RECORD_HELP = (
    "For a file of several records without an overall value: the number of the one that "
    'belongs to this batch, or "all" to keep each as its own result.'
)
DILUTION_HELP = (
    "The dilution of the sample as measured, when the file does not record it; "
    "evqc never guesses it from a sample name."
)
PERFORMED_HELP = "When the file records no date and time (or to correct it), in the lab's time."
# Methods whose results are numbers or outcomes a person can type into rows; markers and
# images travel in batch records and the API.
TYPED_METHODS = [method for method in AssayMethod if method.info.attributes]


class ImportUploadForm(forms.Form):
    file = forms.FileField(label="Export file", help_text="NanoSight, ZetaView, Zetasizer, "
                           "Gen5, SoftMax Pro or FCS, as is or zipped.")  # fmt: skip
    user_dilution = QuantityFormField(
        kind="dilution_factor", required=False, label="Dilution", help_text=DILUTION_HELP
    )
    performed_at = forms.DateTimeField(
        required=False,
        label="Performed at",
        help_text=PERFORMED_HELP,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    record = forms.RegexField(
        r"^([1-9][0-9]{0,4}|all)$",
        required=False,
        label="Record",
        help_text=RECORD_HELP,
        error_messages={"invalid": 'Give a record number such as 2, or "all".'},
    )

    def chosen_record(self) -> int | str | None:
        given = self.cleaned_data.get("record") or None
        return given if given in (None, "all") else int(given)


AssayFieldsForm = part_form(
    record.Assay, exclude=("method", "settings", "raw_file", "software_version")
)


class AssayForm(AssayFieldsForm):  # type: ignore[misc,valid-type]
    """The run itself; its results are the rows of a ResultFormSet."""

    method = forms.ChoiceField(choices=[(m.value, m.label) for m in TYPED_METHODS])

    def clean(self) -> dict[str, Any]:
        # Checked whole, with its results: see assay_from.
        return forms.Form.clean(self) or {}


class AttributeSelect(forms.Select):
    """Attribute choices that tell the value input which kind of quantity to expect."""

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        attribute = ATTRIBUTES.get(str(value))
        if attribute is not None:
            option["attrs"]["data-kind"] = attribute.kind_name
            if attribute.outcomes:
                option["attrs"]["data-outcomes"] = ", ".join(attribute.outcomes)
        return option


class ResultForm(forms.Form):
    """One row of results: the attribute and the value as typed, with its unit."""

    attribute = forms.ChoiceField(widget=AttributeSelect)
    value = forms.CharField(
        max_length=200,
        widget=QuantityWidget(attrs={"placeholder": 'e.g. "2.1e11 /mL" or "negative"'}),
    )
    sd = forms.CharField(
        label="SD",
        required=False,
        max_length=200,
        help_text="In the value's unit, or with its own.",
    )
    n = forms.IntegerField(label="n", required=False, min_value=1)
    basis = forms.ChoiceField(
        required=False,
        choices=[("", "not stated"), *((b.value, b.label) for b in ResultBasis)],
        help_text="For values that change with dilution: of the diluted sample as "
        "measured, or of the stock.",
    )

    def __init__(self, *args: Any, method: AssayMethod, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = sorted(method.info.attributes, key=list(ATTRIBUTES).index)
        self.fields["attribute"].choices = [("", "choose")] + [
            (name, ATTRIBUTES[name].label) for name in names
        ]
        value_id = self.add_prefix("value")
        self.fields["attribute"].widget.attrs["data-kind-for"] = f"id_{value_id}"

    def document(self) -> dict[str, Any]:
        return {
            name: value for name, value in self.cleaned_data.items() if value not in (None, "")
        }


ResultFormSet = forms.formset_factory(ResultForm, extra=6, max_num=50, validate_max=True)


def assay_from(assay_form: PartForm, results: Any) -> record.Assay | None:
    """The assay run the form and its result rows describe, checked whole; None (with
    each error on the input it names) when it is not a valid run."""
    if not (assay_form.is_valid() and results.is_valid()):
        return None
    rows = [form for form in results if form.has_changed()]
    document = assay_form.document(assay_form.cleaned_data)
    document["results"] = [form.document() for form in rows]
    try:
        return record.parse_part(record.Assay, document)
    except record.BatchRecordError as error:
        for path, problems in error.fields.items():
            index, _, name = path.removeprefix("results[").partition("].")
            if path.startswith("results[") and index.isdigit() and int(index) < len(rows):
                row = rows[int(index)]
                for problem in problems:
                    row.add_error(name if name in row.fields else None, problem["message"])
            else:
                assay_form.add_path_errors({path: problems})
        return None
