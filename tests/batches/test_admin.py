"""The admin: lab data is read-only there, and what it edits goes through the services."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from assays.models import (
    AssayRun,
    Image,
    Instrument,
    MarkerResult,
    Result,
    SizeDistribution,
    Specification,
)
from assays.services import specification_create
from batches.access import STALE
from batches.models import (
    Aliquot,
    AuditEvent,
    Batch,
    BatchParent,
    CellSource,
    CheckSweep,
    EngineeringStep,
    GuidelineCheck,
    IsolationStep,
    Lab,
    LabMembership,
    Product,
    ProductionRun,
    ReportingGap,
    RuleException,
    SourceSample,
    Storage,
)
from batches.services import (
    LAST_ADMIN,
    PRODUCT_FIELDS,
    batch_record_import,
    product_create,
    product_update,
)
from evqc.vocabulary import LabRole

READ_ONLY = [
    Batch,
    BatchParent,
    CellSource,
    SourceSample,
    ProductionRun,
    IsolationStep,
    EngineeringStep,
    Storage,
    Aliquot,
    RuleException,
    AuditEvent,
    Instrument,
    AssayRun,
    Result,
    MarkerResult,
    Image,
    SizeDistribution,
    Specification,
    ReportingGap,
    GuidelineCheck,
    CheckSweep,
]
EDITABLE = [Lab, LabMembership, Product]
NTA_AT = "2026-03-05T10:00:00Z"


def url(model: type[Model], view: str, *args: Any) -> str:
    meta = model._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


def nta(*values: float) -> dict[str, Any]:
    return {
        "method": "nta",
        "instrument": "NS300",
        "performed_at": NTA_AT,
        "results": [
            {"attribute": "particle_concentration", "value": value, "unit": "particle/mL"}
            for value in values
        ],
        "size_distributions": [
            {
                "bin_quantity": "concentration",
                "value_unit": "particle/mL",
                "bin_centres": [50, 100, 150],
                "bin_values": [1e9, 2e9, 1e9],
            }
        ],
    }


def document(lot: str, **parts: Any) -> dict[str, Any]:
    return {
        "schema": "evqc.batch-record/1",
        "lot_number": lot,
        "product": {"code": "P1", "name": "Product"},
        **parts,
    }


# A batch with every part the admin shows: producer cells, culture, isolation,
# engineering, storage, an aliquot, an exception, and NTA, western blot and TEM runs.
FULL = document(
    "T-1",
    status="in_qc",
    source={"kind": "cell_culture", "name": "MSC bank 12", "species": "human"},
    production={"vessel_type": "flask", "harvest_volume": "500 mL"},
    isolation_steps=[
        {
            "order": 1,
            "method": "ultracentrifugation",
            "output_volume": "5 mL",
            "parameters": {"g_force": "100000 x g", "duration": "70 min"},
        }
    ],
    engineering=[{"method": "electroporation", "cargo": "miR-21", "cargo_amount": "10 µg"}],
    storage={"temperature": "-80 °C", "buffer": "PBS"},
    aliquots=[{"label": "A1", "volume": "100 µL", "location": "Freezer 2"}],
    assays=[
        nta(2.1e11),
        {
            "method": "western_blot",
            "performed_at": NTA_AT,
            "markers": [{"protein": "CD63", "detected": True}],
        },
        {
            "method": "tem",
            "performed_at": NTA_AT,
            "images": [{"technique": "tem", "field": "wide", "scale_bar": "200 nm"}],
        },
    ],
    exceptions=[{"rule": "M18-QNT-03", "justification": "No protein assay yet."}],
)
# A plasma batch split off the first: a source sample and a lineage link.
SPLIT = document(
    "T-2",
    source={"kind": "biofluid", "material": "plasma", "collection_volume": "10 mL"},
    parents=[{"lot_number": "T-1", "relation": "split"}],
)


@pytest.fixture
def qc_lab(admin_user) -> Lab:
    lab = Lab.objects.create(code="lab-a", name="Lab A")
    LabMembership.objects.create(lab=lab, user=admin_user, role=LabRole.ADMIN)
    return lab


@pytest.fixture
def qc_product(qc_lab, admin_user) -> Product:
    return product_create(qc_lab, code="P1", name="Product", acting_user=admin_user)


@pytest.fixture
def batches(qc_lab, qc_product, admin_user) -> list[Batch]:
    specification_create(
        qc_product,
        attribute="particle_concentration",
        lower_limit="1e9 particle/mL",
        upper_limit="1e13 particle/mL",
        acting_user=admin_user,
    )
    imported = [
        batch_record_import(FULL, lab=qc_lab, acting_user=admin_user),
        batch_record_import(SPLIT, lab=qc_lab, acting_user=admin_user),
    ]
    call_command("check_all", stdout=StringIO(), stderr=StringIO())  # gaps and a sweep
    return imported


def product_form(product: Product, **changes: Any) -> dict[str, Any]:
    """The product change form as the admin renders it, with `changes` typed in."""
    data: dict[str, Any] = {"expected_version": product.version, "reason": ""}
    for name in PRODUCT_FIELDS:
        value = getattr(product, name)
        if name == "misev_release_criterion":
            if value:
                data[name] = "on"
            continue
        data[name] = "" if value is None else (getattr(value, "reported", "") or str(value))
    return data | changes


# Every page answers
# ------------------------------------------------------------------------------


def test_the_admin_registers_exactly_the_lab_models():
    registered = {model for model in admin.site._registry if model in {*READ_ONLY, *EDITABLE}}
    app_models = {
        model for model in admin.site._registry if model._meta.app_label in {"batches", "assays"}
    }

    assert registered == app_models == {*READ_ONLY, *EDITABLE}


@pytest.mark.parametrize("model", READ_ONLY + EDITABLE, ids=lambda model: model.__name__)
def test_every_list_and_row_page_answers_with_the_rows(admin_client, batches, model):
    response = admin_client.get(url(model, "changelist"))

    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1
    row = model.objects.order_by("pk").first()
    assert admin_client.get(url(model, "change", row.pk)).status_code == 200


@pytest.mark.parametrize("model", READ_ONLY + EDITABLE, ids=lambda model: model.__name__)
def test_every_list_can_be_searched(admin_client, batches, model):
    response = admin_client.get(url(model, "changelist"), {"q": "T-1"})

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("model", "query", "found"),
    [
        (Batch, "MSC bank", 1),
        (Result, "T-1", 1),
        (Result, "P1", 1),
        (MarkerResult, "CD63", 1),
        (AuditEvent, "T-2", 1),
        (AssayRun, "NS300", 1),
    ],
)
def test_a_search_finds_rows_by_lot_product_cell_source_or_protein(
    admin_client, batches, model, query, found
):
    response = admin_client.get(url(model, "changelist"), {"q": query})

    assert response.context["cl"].result_count == found


def test_the_batch_page_shows_its_parts_and_the_run_page_its_findings(admin_client, batches):
    batch = batches[0]
    run = AssayRun.objects.get(batch=batch, method="nta")

    batch_page = admin_client.get(url(Batch, "change", batch.pk)).content.decode()
    run_page = admin_client.get(url(AssayRun, "change", run.pk)).content.decode()

    assert "100 µL" in batch_page  # the aliquot's volume, with its unit
    assert "miR-21" in batch_page
    assert "5 mL" in batch_page  # the isolation step's output
    assert "2.1e+11 particle/mL" in run_page
    for column in ("dilution_factor_value", "dilution_factor_canonical", "_reported"):
        assert f'name="{column}"' not in run_page
        assert f"field-{column}" not in run_page


def test_a_row_page_shows_each_quantity_once_with_its_unit(admin_client, batches):
    storage = Storage.objects.get(batch=batches[0])

    page = admin_client.get(url(Storage, "change", storage.pk)).content.decode()

    assert page.count("-80 °C") == 1
    assert page.count('field-temperature"') == 1
    for suffix in ("value", "unit", "canonical", "reported"):
        assert f"field-temperature_{suffix}" not in page


# Lab data is read-only
# ------------------------------------------------------------------------------


@pytest.mark.parametrize("model", READ_ONLY, ids=lambda model: model.__name__)
def test_lab_data_pages_offer_no_add_change_or_delete(admin_client, batches, model):
    row = model.objects.order_by("pk").first()

    changelist = admin_client.get(url(model, "changelist"))
    page = admin_client.get(url(model, "change", row.pk)).content.decode()

    assert url(model, "add") not in changelist.content.decode()
    assert 'name="_save"' not in page
    assert url(model, "delete", row.pk) not in page
    assert admin_client.get(url(model, "add")).status_code == 403
    assert admin_client.get(url(model, "delete", row.pk)).status_code == 403


def test_a_post_to_a_batch_page_is_refused_and_changes_nothing(admin_client, batches):
    # given
    batch = batches[0]
    before = Batch.objects.filter(pk=batch.pk).values().get()
    events = AuditEvent.objects.count()

    # when
    response = admin_client.post(
        url(Batch, "change", batch.pk),
        {"description": "changed", "status": "released", "lot_number": "X-9"},
    )

    # then
    assert response.status_code == 403
    assert Batch.objects.filter(pk=batch.pk).values().get() == before
    assert AuditEvent.objects.count() == events


def test_a_result_list_shows_each_value_with_its_unit_and_verdict(admin_client, batches):
    response = admin_client.get(url(Result, "changelist"))

    page = response.content.decode()
    assert "2.1e+11 particle/mL" in page
    assert "T-1" in page
    assert "v1" in page  # the specification version it was judged against
    assert "pass" in page


def test_a_specification_list_shows_its_limits_with_units(admin_client, batches):
    page = admin_client.get(url(Specification, "changelist")).content.decode()

    assert "≥ 1e+09 particle/mL and ≤ 1e+13 particle/mL" in page


def test_the_result_list_costs_the_same_queries_for_3_and_30_results(
    admin_client, qc_lab, qc_product, admin_user
):
    # given
    def import_results(lot: str, count: int) -> None:
        runs = [nta(1e10 * (index + 1)) for index in range(count)]
        batch_record_import(document(lot, assays=runs), lab=qc_lab, acting_user=admin_user)

    import_results("Q-1", 3)
    changelist = url(Result, "changelist")
    admin_client.get(changelist)  # the session and the site's caches, once

    # when
    with CaptureQueriesContext(connection) as with_3:
        assert admin_client.get(changelist).context["cl"].result_count == 3
    import_results("Q-2", 27)
    with CaptureQueriesContext(connection) as with_30:
        assert admin_client.get(changelist).context["cl"].result_count == 30

    # then
    assert len(with_30) == len(with_3)


def test_the_result_list_takes_a_fixed_number_of_queries(
    admin_client, batches, django_assert_num_queries
):
    admin_client.get(url(Result, "changelist"))

    # 1 session, 2 user, 3 labs (lab filter), 4 products (product filter), 5 count of
    # the results, 6 the page of results with their run, batch and specification
    with django_assert_num_queries(6):
        admin_client.get(url(Result, "changelist"))


# The audit trail
# ------------------------------------------------------------------------------


def test_the_audit_page_escapes_what_people_typed(admin_client, qc_product, admin_user):
    # given
    product_update(
        qc_product,
        changes={"description": "<b>bold</b>"},
        expected_version=qc_product.version,
        acting_user=admin_user,
        reason="<script>alert(1)</script>",
    )
    event = AuditEvent.objects.get(action="evqc.product.updated")

    # when
    page = admin_client.get(url(AuditEvent, "change", event.pk)).content.decode()

    # then
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page  # the after snapshot, as JSON
    assert "<b>bold</b>" not in page


def test_the_audit_list_names_the_batch_of_each_event(admin_client, batches):
    page = admin_client.get(url(AuditEvent, "changelist")).content.decode()

    assert "evqc.batch.imported" in page
    assert "T-1" in page


# Labs, members and products go through their services
# ------------------------------------------------------------------------------


def test_adding_a_lab_creates_it_through_the_service(admin_client, admin_user):
    response = admin_client.post(url(Lab, "add"), {"code": "lab-z", "name": "Lab Z"})

    assert response.status_code == 302
    lab = Lab.objects.get(code="lab-z")
    event = AuditEvent.objects.get(action="evqc.lab.created")
    assert (event.object_id, event.actor, event.after) == (
        str(lab.pk),
        admin_user,
        {"code": "lab-z", "name": "Lab Z"},
    )


def test_labs_and_products_cannot_be_deleted_or_labs_changed(admin_client, qc_product):
    lab = qc_product.lab

    lab_delete = admin_client.get(url(Lab, "delete", lab.pk))
    product_delete = admin_client.get(url(Product, "delete", qc_product.pk))
    lab_change = admin_client.post(url(Lab, "change", lab.pk), {"code": "x", "name": "y"})

    assert (lab_delete.status_code, product_delete.status_code) == (403, 403)
    assert lab_change.status_code == 403
    assert Lab.objects.get(pk=lab.pk).name == "Lab A"


def test_adding_a_member_writes_the_member_set_event(admin_client, qc_lab, admin_user):
    # given
    analyst = get_user_model().objects.create_user("ana")

    # when
    response = admin_client.post(
        url(LabMembership, "add"), {"lab": qc_lab.pk, "user": analyst.pk, "role": "analyst"}
    )

    # then
    assert response.status_code == 302
    membership = LabMembership.objects.get(lab=qc_lab, user=analyst)
    assert membership.role == "analyst"
    event = AuditEvent.objects.get(action="evqc.lab.member_set")
    assert (event.object_id, event.actor, event.lab, event.before, event.after) == (
        str(membership.pk),
        admin_user,
        qc_lab,
        None,
        {"user": "ana", "role": "analyst"},
    )


def test_changing_a_role_goes_through_the_service(admin_client, qc_lab):
    analyst = get_user_model().objects.create_user("ana")
    membership = LabMembership.objects.create(lab=qc_lab, user=analyst, role="analyst")

    response = admin_client.post(url(LabMembership, "change", membership.pk), {"role": "viewer"})

    assert response.status_code == 302
    assert LabMembership.objects.get(pk=membership.pk).role == "viewer"
    event = AuditEvent.objects.get(action="evqc.lab.member_set")
    assert (event.before, event.after) == ({"role": "analyst"}, {"user": "ana", "role": "viewer"})


def test_demoting_the_last_admin_shows_why_on_the_form(admin_client, qc_lab, admin_user):
    membership = LabMembership.objects.get(lab=qc_lab, user=admin_user)

    response = admin_client.post(url(LabMembership, "change", membership.pk), {"role": "viewer"})

    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [
        LAST_ADMIN.format(user="admin", lab="lab-a")
    ]
    assert LabMembership.objects.get(pk=membership.pk).role == "admin"
    assert not AuditEvent.objects.filter(action="evqc.lab.member_set").exists()


def test_removing_the_last_admin_is_refused_with_a_message(admin_client, qc_lab, admin_user):
    membership = LabMembership.objects.get(lab=qc_lab, user=admin_user)

    response = admin_client.post(
        url(LabMembership, "delete", membership.pk), {"post": "yes"}, follow=True
    )

    assert response.redirect_chain[0][0] == url(LabMembership, "change", membership.pk)
    assert [str(m) for m in response.context["messages"]] == [
        LAST_ADMIN.format(user="admin", lab="lab-a")
    ]
    assert LabMembership.objects.filter(pk=membership.pk).exists()
    assert not AuditEvent.objects.filter(action="evqc.lab.member_removed").exists()


def test_removing_a_member_writes_the_member_removed_event(admin_client, qc_lab):
    analyst = get_user_model().objects.create_user("ana")
    membership = LabMembership.objects.create(lab=qc_lab, user=analyst, role="analyst")

    response = admin_client.post(url(LabMembership, "delete", membership.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not LabMembership.objects.filter(pk=membership.pk).exists()
    event = AuditEvent.objects.get(action="evqc.lab.member_removed")
    assert event.before == {"user": "ana", "role": "analyst"}


def test_adding_a_product_goes_through_the_service(admin_client, qc_lab):
    response = admin_client.post(
        url(Product, "add"),
        {"lab": qc_lab.pk, "code": "P9", "name": "New EV", "max_dose_volume": "5 mL"},
    )

    assert response.status_code == 302
    product = Product.objects.get(lab=qc_lab, code="P9")
    assert str(product.max_dose_volume) == "5 mL"
    assert AuditEvent.objects.filter(action="evqc.product.created", object_id=product.pk).exists()


def test_adding_a_product_in_a_lab_one_does_not_admin_shows_why(admin_client, qc_lab):
    other = Lab.objects.create(code="lab-b", name="Lab B")

    response = admin_client.post(
        url(Product, "add"), {"lab": other.pk, "code": "P9", "name": "New EV"}
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "lab": ["admin is not a member of lab lab-b."]
    }
    assert not Product.objects.filter(code="P9").exists()


def test_a_product_change_without_a_reason_shows_the_error_and_changes_nothing(
    admin_client, qc_product
):
    # when
    response = admin_client.post(
        url(Product, "change", qc_product.pk), product_form(qc_product, name="Renamed")
    )

    # then
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"reason": ["This field is required."]}
    product = Product.objects.get(pk=qc_product.pk)
    assert (product.name, product.version) == ("Product", 1)
    assert not AuditEvent.objects.filter(action="evqc.product.updated").exists()


def test_a_product_change_with_a_reason_writes_the_updated_event(
    admin_client, qc_product, admin_user
):
    # when
    response = admin_client.post(
        url(Product, "change", qc_product.pk),
        product_form(qc_product, name="Renamed", shelf_life="6 month", reason="New label"),
    )

    # then
    assert response.status_code == 302
    product = Product.objects.get(pk=qc_product.pk)
    assert (product.name, product.version, str(product.shelf_life)) == (
        "Renamed",
        2,
        "6 month",
    )
    event = AuditEvent.objects.get(action="evqc.product.updated")
    assert (event.actor, event.reason) == (admin_user, "New label")
    assert (event.before["name"], event.after["name"]) == ("Product", "Renamed")


def test_a_product_change_from_a_stale_form_is_a_conflict(admin_client, qc_product, admin_user):
    # given: the form was loaded at version 1, then someone else changed the product
    form = product_form(qc_product, name="Mine", reason="Mine")
    product_update(
        qc_product,
        changes={"name": "Theirs"},
        expected_version=1,
        acting_user=admin_user,
        reason="Theirs",
    )

    # when
    response = admin_client.post(url(Product, "change", qc_product.pk), form)

    # then
    assert response.status_code == 200
    message = STALE.format(what="Product P1", expected=1, actual=2)
    assert response.context["adminform"].form.non_field_errors() == [message]
    assert escape(message) in response.content.decode()
    assert Product.objects.get(pk=qc_product.pk).name == "Theirs"


def test_a_product_change_with_a_unit_of_the_wrong_kind_shows_the_field_error(
    admin_client, qc_product
):
    response = admin_client.post(
        url(Product, "change", qc_product.pk),
        product_form(qc_product, max_dose_volume="5 kg", reason="Dose"),
    )

    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["max_dose_volume"]
    assert Product.objects.get(pk=qc_product.pk).version == 1
