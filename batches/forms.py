"""Portal forms: they read what a person typed; the services decide."""

from django import forms


class RuleExceptionForm(forms.Form):
    rule = forms.CharField(widget=forms.HiddenInput, max_length=40)
    justification = forms.CharField(
        label="Why the rule does not apply, or how it is met",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=4000,
    )
