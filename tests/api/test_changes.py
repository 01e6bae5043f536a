"""The write side of API v1: products, batches and their parts, specifications and
results. Each change goes through its service (role, lock, version, reason, audit);
the API's part is the request and the error a person can act on."""

from __future__ import annotations

from typing import Any

import pytest

from assays.models import Result, Specification
from batches.models import AuditEvent, Batch, IsolationStep, Product, RuleException, Storage
from tests.batches.conftest import db_state

pytestmark = pytest.mark.django_db


def send(client, method: str, path: str, body: Any = None, **headers: str):
    call = getattr(client, method)
    return call(path, body, content_type="application/json", **headers)


@pytest.fixture
def admin_client(client, site):
    client.force_login(site.admin)
    return client


class TestProducts:
    def test_a_lab_admin_creates_a_product_with_units_checked(self, admin_client, site):
        body = {"code": "EXO-1", "name": "Exosomes 1", "max_dose_volume": "2 mL"}
        response = send(admin_client, "post", "/api/v1/products/", body)
        assert response.status_code == 201, response.json()
        product = Product.objects.get(lab=site.lab, code="EXO-1")
        assert product.max_dose_volume.canonical_value == pytest.approx(2.0)
        assert response["Location"].endswith(f"/api/v1/products/{product.pk}/")

    def test_a_wrong_dimension_names_the_field_and_stores_nothing(self, admin_client, site):
        before = db_state()
        body = {"code": "EXO-1", "name": "Exosomes 1", "max_dose_volume": "2 kg"}
        response = send(admin_client, "post", "/api/v1/products/", body)
        assert response.status_code == 400
        assert list(response.json()["extra"]["fields"]) == ["max_dose_volume"]
        assert db_state() == before

    def test_an_analyst_cannot_create_products(self, analyst_client, site):
        response = send(analyst_client, "post", "/api/v1/products/", {"code": "X", "name": "X"})
        assert response.status_code == 403
        assert "needs the admin role" in response.json()["message"]

    def test_a_change_needs_the_version_loaded_and_a_reason(self, admin_client, batches, site):
        product = Product.objects.get(lab=site.lab, code="MSC-EV")
        path = f"/api/v1/products/{product.pk}/"
        stale = {"name": "New", "version": product.version + 1, "reason": "Renamed"}
        assert send(admin_client, "patch", path, stale).status_code == 409
        fresh = {"name": "New", "version": product.version, "reason": "Renamed"}
        response = send(admin_client, "patch", path, fresh)
        assert response.status_code == 200, response.json()
        assert response.json()["name"] == "New"
        assert response.json()["version"] == product.version + 1


class TestBatches:
    def test_an_analyst_plans_a_batch(self, analyst_client, batches, site):
        body = {"lot_number": "EV-A9", "product": "MSC-EV", "description": "Run 9"}
        response = send(analyst_client, "post", "/api/v1/batches/", body)
        assert response.status_code == 201, response.json()
        assert response.json()["status"] == "planned"
        assert Batch.objects.get(lot_number="EV-A9").created_by == site.analyst

    def test_another_labs_product_is_unknown(self, analyst_client, batches):
        body = {"lot_number": "EV-A9", "product": "NOPE"}
        response = send(analyst_client, "post", "/api/v1/batches/", body)
        assert response.status_code == 404
        assert response.json()["message"] == 'Lab lab-a has no product "NOPE".'

    def test_a_stale_edit_is_a_conflict_that_changes_nothing(self, analyst_client, batches):
        batch = batches["EV-A1"]
        before = db_state()
        body = {"description": "x", "version": batch.version - 1 or 99, "reason": "typo"}
        response = send(analyst_client, "patch", "/api/v1/batches/EV-A1/", body)
        assert response.status_code == 409
        assert response.json()["extra"]["current_version"] == batch.version
        assert db_state() == before

    def test_the_lifecycle_moves_by_role(self, client, batches, site):
        client.force_login(site.analyst)
        path = "/api/v1/batches/EV-A1/transition/"
        assert send(client, "post", path, {"to": "under_review"}).status_code == 200
        response = send(client, "post", path, {"to": "released"})
        assert response.status_code == 403
        assert "needs the reviewer role" in response.json()["message"]
        response = send(client, "post", path, {"to": "planned"})
        assert response.status_code == 400
        assert "it can move to" in response.json()["message"]

    def test_storage_is_recorded_in_the_record_shape_with_a_reason_after_production(
        self, analyst_client, batches
    ):
        path = "/api/v1/batches/EV-A1/storage/"
        body = {"temperature": "-80 °C", "buffer": "PBS", "container": "cryovial"}
        response = send(analyst_client, "put", path, body)
        assert response.status_code == 400  # EV-A1 is in QC: a correction says why
        assert response.json()["code"] == "reason_required"
        response = send(analyst_client, "put", path, {**body, "reason": "Moved to LN2 later"})
        assert response.status_code == 200, response.json()
        storage = Storage.objects.get(batch__lot_number="EV-A1")
        assert storage.container == "cryovial"
        bad = send(analyst_client, "put", path, {"temperature": "80 mL", "reason": "x"})
        assert bad.status_code == 400
        assert "temperature" in bad.json()["extra"]["fields"]

    def test_isolation_steps_are_added_corrected_and_removed(self, analyst_client, batches):
        step = {
            "order": 2,
            "method": "sec",
            "parameters": {"column": "qEV original"},
        }
        response = send(analyst_client, "post", "/api/v1/batches/EV-A-3/isolation-steps/", step)
        assert response.status_code == 201, response.json()
        row = IsolationStep.objects.get(pk=response.json()["id"])
        again = send(analyst_client, "post", "/api/v1/batches/EV-A-3/isolation-steps/", step)
        assert again.status_code == 409
        path = f"/api/v1/isolation-steps/{row.pk}/"
        corrected = {"method": "sec", "parameters": {"column": "qEV 35 nm"}}
        assert send(analyst_client, "put", path, corrected).status_code == 200
        row.refresh_from_db()
        assert row.parameters["column"] == "qEV 35 nm"
        assert analyst_client.delete(path).status_code == 204
        assert not IsolationStep.objects.filter(pk=row.pk).exists()

    def test_a_bad_step_is_refused_at_its_json_path(self, analyst_client, batches):
        step = {"order": 1, "method": "ultracentrifugation", "parameters": {"g_force": "5 mL"}}
        response = send(analyst_client, "post", "/api/v1/batches/EV-A-3/isolation-steps/", step)
        assert response.status_code == 400
        assert list(response.json()["extra"]["fields"]) == ["parameters.g_force"]

    def test_an_exception_is_recorded_for_a_rule(self, analyst_client, batches):
        body = {"rule": "M18-MRK-01", "justification": "Markers run at the CRO next week."}
        response = send(analyst_client, "post", "/api/v1/batches/EV-A1/exceptions/", body)
        assert response.status_code == 201, response.json()
        assert RuleException.objects.filter(batch__lot_number="EV-A1", rule="M18-MRK-01").exists()
        response = send(
            analyst_client, "post", "/api/v1/batches/EV-A1/exceptions/", {**body, "rule": "X"}
        )
        assert response.status_code == 400

    def test_another_labs_batch_is_not_found_for_every_change(self, analyst_client, batches):
        before = AuditEvent.objects.count()
        for method, path, body in [
            ("patch", "/api/v1/batches/EV-B1/", {"description": "x", "version": 1}),
            ("post", "/api/v1/batches/EV-B1/transition/", {"to": "under_review"}),
            ("put", "/api/v1/batches/EV-B1/storage/", {"temperature": "4 °C", "reason": "x"}),
            ("post", "/api/v1/batches/EV-B1/exceptions/", {"rule": "M18-MRK-01",
                                                           "justification": "x"}),
        ]:  # fmt: skip
            response = send(analyst_client, method, path, body)
            assert response.status_code == 404, (method, path, response.json())
            assert response.json()["message"] == "No batch EV-B1."
        assert AuditEvent.objects.count() == before


class TestSpecificationsAndResults:
    def test_a_specification_is_created_and_revised_by_a_lab_admin(
        self, admin_client, batches, site
    ):
        product = Product.objects.get(lab=site.lab, code="MSC-EV")
        body = {
            "product": product.pk,
            "attribute": "protein_concentration",
            "upper_limit": "200 µg/mL",
        }
        response = send(admin_client, "post", "/api/v1/specifications/", body)
        assert response.status_code == 201, response.json()
        spec = Specification.objects.get(pk=response.json()["id"])
        path = f"/api/v1/specifications/{spec.pk}/revise/"
        assert send(admin_client, "post", path, {"upper_limit": "250 µg/mL"}).status_code == 400
        revised = send(admin_client, "post", path, {"upper_limit": "250 µg/mL", "reason": "CQA"})
        assert revised.status_code == 201, revised.json()
        assert revised.json()["version"] == spec.version + 1
        spec.refresh_from_db()
        assert spec.retired_at is not None

    def test_another_labs_product_gets_no_specification(self, admin_client, batches, site):
        theirs = Product.objects.get(lab=site.other_lab, code="MSC-EV")
        body = {
            "product": theirs.pk,
            "attribute": "protein_concentration",
            "upper_limit": "1 mg/mL",
        }
        response = send(admin_client, "post", "/api/v1/specifications/", body)
        assert response.status_code == 404

    def test_a_result_is_added_to_a_run_and_corrected(self, analyst_client, batches):
        run = batches["EV-A1"].assay_runs.get(method="nta")
        body = {"assay_run": run.pk, "attribute": "size_d50", "value": 101, "unit": "nm"}
        response = send(analyst_client, "post", "/api/v1/results/", body)
        assert response.status_code == 201, response.json()
        result = Result.objects.get(pk=response.json()["id"])
        path = f"/api/v1/results/{result.pk}/"
        correction = {"value": 103, "unit": "nm", "version": result.version}
        assert send(analyst_client, "patch", path, correction).status_code == 400  # reason
        response = send(analyst_client, "patch", path, {**correction, "reason": "Typo"})
        assert response.status_code == 200, response.json()
        assert response.json()["value"]["value"] == 103
        assert (
            send(analyst_client, "patch", path, {**correction, "reason": "Again"}).status_code
            == 409
        )

    def test_another_labs_run_and_result_are_not_found(self, analyst_client, batches):
        theirs = batches["EV-B1"].assay_runs.get()
        body = {"assay_run": theirs.pk, "attribute": "size_d50", "value": 101, "unit": "nm"}
        assert send(analyst_client, "post", "/api/v1/results/", body).status_code == 404
        result = theirs.results.first()
        change = {"value": 1, "unit": "nm", "version": 1, "reason": "x"}
        assert (
            send(analyst_client, "patch", f"/api/v1/results/{result.pk}/", change).status_code
            == 404
        )
