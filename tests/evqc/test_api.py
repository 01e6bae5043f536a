import pytest
from django.urls import reverse
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from evqc.api import QuantitySerializerField, exception_handler
from evqc.exceptions import UnitErrorCode


class ResultInput(serializers.Serializer):
    attribute = serializers.CharField()
    concentration = QuantitySerializerField("particle_concentration")


class RunInput(serializers.Serializer):
    results = ResultInput(many=True)


def test_a_quantity_is_accepted_as_an_object_or_as_text():
    as_object = ResultInput(
        data={"attribute": "c", "concentration": {"value": 2.1e11, "unit": "particle/mL"}}
    )
    as_text = ResultInput(data={"attribute": "c", "concentration": "2.1e11 particles/mL"})

    assert as_object.is_valid(), as_object.errors
    assert as_text.is_valid(), as_text.errors
    assert (
        as_object.validated_data["concentration"].canonical_value
        == as_text.validated_data["concentration"].canonical_value
        == 2.1e11
    )


def test_a_quantity_is_always_emitted_as_an_object():
    incoming = ResultInput(data={"attribute": "c", "concentration": "2e8 particles/µL"})
    incoming.is_valid(raise_exception=True)

    emitted = ResultInput(incoming.validated_data).data["concentration"]

    assert emitted == {
        "value": 2e8,
        "unit": "particle/µL",
        "canonical_value": 2e11,
        "canonical_unit": "particle/mL",
        "reported_text": "2e8 particles/µL",
    }


def test_an_emitted_quantity_can_be_sent_back_unchanged():
    incoming = ResultInput(data={"attribute": "c", "concentration": "2e8 particles/µL"})
    incoming.is_valid(raise_exception=True)
    emitted = ResultInput(incoming.validated_data).data

    again = ResultInput(data=emitted)

    assert again.is_valid(), again.errors
    assert again.validated_data["concentration"].canonical_value == 2e11


@pytest.mark.parametrize(
    ("sent", "code"),
    [
        (12, "invalid"),
        ({"value": 1, "unit": "/mL", "colour": "red"}, "invalid"),
        ({"value": 1}, UnitErrorCode.MISSING_VALUE),
        ("2e11 nm", UnitErrorCode.WRONG_DIMENSION),
    ],
)
def test_a_bad_quantity_is_a_validation_error_on_its_field(sent, code):
    incoming = ResultInput(data={"attribute": "c", "concentration": sent})

    assert not incoming.is_valid()
    assert incoming.errors["concentration"][0].code == code


def test_nested_field_errors_are_reported_by_json_path_in_one_response_shape():
    incoming = RunInput(
        data={
            "results": [
                {"attribute": "a", "concentration": "1e11 /mL"},
                {"attribute": "b", "concentration": "1e11 nm"},
            ]
        }
    )
    assert not incoming.is_valid()

    response = exception_handler(ValidationError(incoming.errors), {})

    assert response.status_code == 400
    assert response.data == {
        "message": 'results[1].concentration: concentration: "1e11 nm" is a length; expected a '
        'particle concentration (number per volume) such as "2.1e11 particle/mL".',
        "code": "invalid",
        "extra": {
            "fields": {
                "results[1].concentration": [
                    {
                        "message": 'concentration: "1e11 nm" is a length; expected a particle '
                        'concentration (number per volume) such as "2.1e11 particle/mL".',
                        "code": "wrong_dimension",
                    }
                ]
            }
        },
    }


# The quantity-kind endpoints
# ------------------------------------------------------------------------------


def test_the_kinds_need_a_signed_in_user(client, db):
    response = client.get(reverse("api:quantity-kind-list"))

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_the_kinds_list_their_canonical_unit_and_an_example(signed_in_client):
    response = signed_in_client.get(reverse("api:quantity-kind-list"))

    kinds = {kind["name"]: kind for kind in response.json()}
    assert kinds["particle_concentration"] == {
        "name": "particle_concentration",
        "label": "particle concentration",
        "unit": "particle/mL",
        "dimension": "number per volume",
        "example": "2.1e11 particle/mL",
        "minimum": 0.0,
        "maximum": None,
        "integer": False,
    }


def test_checking_a_value_returns_it_normalised(signed_in_client):
    url = reverse("api:quantity-kind-check", kwargs={"name": "g_force"})

    response = signed_in_client.post(
        url, {"quantity": "100,000 x g"}, content_type="application/json"
    )

    assert response.status_code == 200
    assert response.json()["canonical_value"] == 100_000
    assert response.json()["unit"] == "xg"


def test_checking_a_wrong_value_says_why_under_the_field(signed_in_client):
    url = reverse("api:quantity-kind-check", kwargs={"name": "temperature"})

    response = signed_in_client.post(url, {"quantity": "4"}, content_type="application/json")

    assert response.status_code == 400
    body = response.json()
    assert body["extra"]["fields"]["quantity"][0]["code"] == "missing_unit"
    assert body["message"] == 'quantity: "4" has no unit; expected a temperature such as "4 °C".'


def test_checking_against_an_unknown_kind_is_not_found(signed_in_client):
    url = reverse("api:quantity-kind-check", kwargs={"name": "colour"})

    response = signed_in_client.post(url, {"quantity": "4"}, content_type="application/json")

    assert response.status_code == 404
    assert response.json() == {
        "message": "No kind of quantity is called 'colour'.",
        "code": "not_found",
        "extra": {},
    }


# The schema
# ------------------------------------------------------------------------------


@pytest.fixture
def schema(client, db):
    response = client.get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_the_schema_documents_the_quantity_object_and_its_text_form(schema):
    components = schema["components"]["schemas"]
    assert set(components["Quantity"]["properties"]) == {
        "value",
        "unit",
        "canonical_value",
        "canonical_unit",
        "reported_text",
    }
    assert set(components["QuantityRequest"]["properties"]) == {"value", "unit"}


def test_the_schema_lists_the_api_under_v1(schema):
    assert schema["info"]["title"] == "evqc API"
    assert "/api/v1/quantity-kinds/{name}/check/" in schema["paths"]
