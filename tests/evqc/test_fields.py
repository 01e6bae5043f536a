import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.migrations.state import ModelState

from evqc.exceptions import UnitError, UnitErrorCode
from evqc.fields import QuantityFormField
from evqc.units import KINDS, QuantityValue
from tests.testapp.models import Sample


def columns(sample, name):
    return tuple(
        getattr(sample, f"{name}_{suffix}")
        for suffix in ("value", "unit", "canonical", "reported")
    )


def test_assigning_text_fills_value_unit_canonical_value_and_reported_text():
    sample = Sample(label="EV-001")

    sample.concentration = "2e8 particles/µL"

    assert columns(sample, "concentration") == (2e8, "particle/µL", 2e11, "2e8 particles/µL")


@pytest.mark.django_db
def test_a_quantity_survives_a_round_trip_through_the_database():
    Sample.objects.create(label="EV-001", concentration="1.2x10^11 /mL", temperature="-80 °C")

    sample = Sample.objects.get(label="EV-001")

    assert sample.concentration == QuantityValue(
        1.2e11, "particle/mL", 1.2e11, KINDS["particle_concentration"], "1.2x10^11 /mL"
    )
    assert sample.temperature.canonical_value == -80
    assert sample.dilution is None


@pytest.mark.django_db
def test_queries_filter_on_the_canonical_value_whatever_unit_was_entered():
    Sample.objects.create(label="stock", concentration="2e8 particles/µL")
    Sample.objects.create(label="dilute", concentration="5e10 particles/mL")

    rich = Sample.objects.filter(concentration_canonical__gt=1e11)

    assert [sample.label for sample in rich] == ["stock"]


def test_bad_input_raises_the_unit_error_and_leaves_the_columns_unchanged():
    sample = Sample(label="EV-001", concentration="2e11 /mL")

    with pytest.raises(UnitError) as refused:
        sample.concentration = "2e11 nm"

    assert refused.value.message.startswith('concentration: "2e11 nm" is a length')
    assert columns(sample, "concentration") == (2e11, "particle/mL", 2e11, "2e11 /mL")


def test_none_clears_a_quantity():
    sample = Sample(label="EV-001", concentration="2e11 /mL")

    sample.concentration = None

    assert columns(sample, "concentration") == (None, "", None, "")


def test_the_kind_can_depend_on_the_row():
    by_size = Sample(label="a", reading_kind="length", reading="0.1 µm")
    by_volume = Sample(label="b", reading_kind="volume", reading="100 µL")

    assert by_size.reading.canonical_value == pytest.approx(100)
    assert by_volume.reading.canonical_value == pytest.approx(0.1)
    with pytest.raises(UnitError):
        Sample(label="c", reading_kind="volume", reading="0.1 µm")


def test_a_quantity_of_another_kind_is_checked_against_this_fields_kind():
    count = KINDS["count"].parse("3")
    sample = Sample(label="EV-001", dilution=count)

    assert sample.dilution.kind is KINDS["dilution_factor"]
    assert sample.dilution.reported == "3"


@pytest.mark.django_db
def test_the_database_refuses_a_value_without_its_unit():
    sample = Sample.objects.create(label="EV-001", concentration="2e11 /mL")

    with pytest.raises(IntegrityError), transaction.atomic():
        Sample.objects.filter(pk=sample.pk).update(concentration_unit="")


@pytest.mark.django_db
def test_the_database_refuses_a_value_below_the_kinds_minimum_even_in_bulk():
    negative = Sample(label="EV-001")
    negative.concentration_value = negative.concentration_canonical = -1.0
    negative.concentration_unit = "particle/mL"

    with pytest.raises(IntegrityError), transaction.atomic():
        Sample.objects.bulk_create([negative])


@pytest.mark.django_db
def test_full_clean_reports_an_incomplete_quantity():
    sample = Sample(label="EV-001", concentration_value=2e11, concentration_unit="particle/mL")

    with pytest.raises(ValidationError) as refused:
        sample.full_clean()

    assert "testapp_sample_concentration_complete" in str(refused.value)


def test_migrations_see_the_constraints():
    names = {c.name for c in ModelState.from_model(Sample).options["constraints"]}

    assert {
        "testapp_sample_concentration_complete",
        "testapp_sample_concentration_in_range",
        "testapp_sample_reading_complete",
    } <= names


# Forms
# ------------------------------------------------------------------------------


class SampleForm(forms.ModelForm):
    class Meta:
        model = Sample
        fields = ("label", "concentration", "temperature")


def test_a_model_form_gets_a_quantity_input_that_says_what_it_expects():
    form = SampleForm()

    assert isinstance(form.fields["concentration"], QuantityFormField)
    html = str(form["concentration"])
    assert 'placeholder="e.g. 2.1e11 particle/mL"' in html
    assert 'data-quantity-kind="particle_concentration"' in html


def test_a_model_form_shows_the_unit_error_on_its_field():
    form = SampleForm(data={"label": "EV-001", "concentration": "2e11 nm", "temperature": ""})

    assert not form.is_valid()
    assert form.errors["concentration"] == [
        '"2e11 nm" is a length; expected a particle concentration (number per volume) such as '
        '"2.1e11 particle/mL".'
    ]


@pytest.mark.django_db
def test_a_model_form_saves_a_typed_quantity():
    form = SampleForm(data={"label": "EV-001", "concentration": "2e11 /mL", "temperature": "4 C"})

    sample = form.save()

    sample.refresh_from_db()
    assert columns(sample, "temperature") == (4.0, "°C", 4.0, "4 C")


def test_an_edit_form_shows_the_text_as_reported():
    sample = Sample(label="EV-001", concentration="1.2x10^11 /mL")

    form = SampleForm(instance=sample)

    assert 'value="1.2x10^11 /mL"' in str(form["concentration"])


def test_an_empty_optional_input_is_no_quantity():
    field = QuantityFormField(kind="volume", required=False)

    assert field.clean("  ") is None
    with pytest.raises(ValidationError) as refused:
        QuantityFormField(kind="volume").clean("")
    assert refused.value.code == "required"


def test_the_form_error_carries_the_unit_error_code():
    with pytest.raises(ValidationError) as refused:
        QuantityFormField(kind="volume").clean("1,5 mL")

    assert refused.value.code == UnitErrorCode.DECIMAL_COMMA
