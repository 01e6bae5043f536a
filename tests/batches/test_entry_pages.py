"""Entering data in the portal: production, storage, isolation steps, results and status
moves. Each quantity is typed with its unit and read by evqc.units; a wrong one is
refused beside its input, naming what is expected, and nothing is written."""

from __future__ import annotations

import pytest
from django.urls import reverse

from assays.models import AssayRun
from batches.models import Batch, IsolationStep, ProductionRun, Storage
from tests.api import conftest as api
from tests.batches.conftest import db_state

site = api.site
batches = api.batches


@pytest.fixture
def analyst(client, site):
    client.force_login(site.analyst)
    return client


def version_of(lot: str) -> int:
    return Batch.objects.get(lot_number=lot).version


class TestQuantityCheck:
    """What the inputs' script asks while a person types."""

    def check(self, client, kind: str, value: str):
        return client.get(reverse("quantity-check"), {"kind": kind, "value": value})

    def test_a_quantity_of_the_kind_is_read_and_shown_in_the_canonical_unit(self, analyst):
        answer = self.check(analyst, "particle_concentration", "2e11 /L").json()
        assert answer["ok"] is True
        assert answer["canonical_value"] == pytest.approx(2e8)
        assert answer["canonical_unit"] == "particle/mL"

    def test_a_wrong_dimension_names_what_is_expected(self, analyst):
        answer = self.check(analyst, "particle_concentration", "2 mL").json()
        assert answer["ok"] is False
        assert "is a volume" in answer["message"]
        assert "expected a particle concentration" in answer["message"]

    def test_an_unknown_kind_is_a_400_and_strangers_are_sent_to_log_in(self, client, analyst):
        assert self.check(analyst, "colour", "red").status_code == 400
        analyst.logout()
        assert self.check(client, "volume", "2 mL").status_code == 302


class TestProductionAndStorage:
    def test_a_production_run_is_recorded_with_each_quantity_in_its_unit(self, analyst, batches):
        response = analyst.post(
            reverse("batch-production", args=["EV-A-3"]),
            {
                "version": version_of("EV-A-3"),
                "vessel_type": "hollow_fibre",
                "working_volume": "0.5 L",
                "harvest_volume": "450 mL",
                "viability_at_harvest": "92 %",
                "conditioning_started_at": "2026-03-01T09:00",
            },
        )

        assert response.status_code == 302
        run = ProductionRun.objects.get(batch__lot_number="EV-A-3")
        assert run.working_volume.canonical_value == pytest.approx(500)
        viability = run.viability_at_harvest
        assert (viability.canonical_value, viability.canonical_unit) == (pytest.approx(92), "%")
        assert run.conditioning_started_at.isoformat() == "2026-03-01T09:00:00+00:00"

    def test_a_wrong_unit_is_refused_on_its_input_and_nothing_is_written(self, analyst, batches):
        before = db_state()
        response = analyst.post(
            reverse("batch-production", args=["EV-A-3"]),
            {"version": version_of("EV-A-3"), "working_volume": "2 kg", "harvest_volume": "1 L"},
        )

        assert response.status_code == 200
        errors = response.context["form"].errors
        assert list(errors) == ["working_volume"]
        assert "is a mass; expected a volume" in errors["working_volume"][0]
        assert "2 kg" in response.content.decode()  # what was typed stays for correcting
        assert db_state() == before

    def test_a_correction_after_production_needs_a_reason(self, analyst, batches):
        url = reverse("batch-storage", args=["EV-A1"])  # in QC, storage recorded
        page = analyst.get(url)
        assert page.context["correcting"] is True
        stored = page.context["form"].initial["temperature"]
        assert stored.canonical_unit == "°C"

        refused = analyst.post(url, {"version": version_of("EV-A1"), "temperature": "-70 °C"})
        assert "reason is required" in " ".join(refused.context["form"].non_field_errors())
        assert Storage.objects.get(batch__lot_number="EV-A1").temperature == stored

        analyst.post(
            url,
            {"version": version_of("EV-A1"), "temperature": "-70 °C", "reason": "Freezer moved"},
        )
        assert Storage.objects.get(batch__lot_number="EV-A1").temperature.canonical_value == -70

    def test_an_edit_loaded_before_someone_elses_change_is_refused(self, analyst, batches):
        url = reverse("batch-storage", args=["EV-A1"])
        stale = version_of("EV-A1") - 1
        response = analyst.post(url, {"version": stale, "temperature": "-70 °C", "reason": "x"})
        assert "changed" in " ".join(response.context["form"].non_field_errors())

    def test_a_plasma_batch_is_told_it_has_no_production_run(self, analyst, site, batches):
        source = {"kind": "biofluid", "material": "plasma"}
        api.import_records(
            site.lab, site.admin, [api.document("EV-P1", api.MSC, status="planned", source=source)]
        )
        url = reverse("batch-production", args=["EV-P1"])

        page = analyst.get(url).content.decode()

        assert "only cell-culture batches have a production run" in page
        assert 'name="working_volume"' not in page
        batch_page = analyst.get(reverse("batch-page", args=["EV-P1"])).content.decode()
        assert "Add an isolation step" in batch_page
        assert url not in batch_page


class TestIsolationSteps:
    def test_the_methods_parameters_are_asked_and_checked(self, analyst, batches):
        url = reverse("batch-isolation-step-new", args=["EV-A-3"])
        page = analyst.get(url, {"method": "sec"})
        assert "parameters-flow_rate" in page.content.decode()
        assert page.context["form"].initial["order"] == 1

        refused = analyst.post(
            url, {"method": "sec", "order": 1, "parameters-bed_volume": "10 nm"}
        )
        assert "expected a volume" in refused.context["parameters"].errors["bed_volume"][0]
        assert not IsolationStep.objects.filter(batch__lot_number="EV-A-3").exists()

        analyst.post(
            url,
            {
                "method": "sec",
                "order": 1,
                "input_volume": "0.5 mL",
                "parameters-bed_volume": "10 mL",
                "parameters-resin": "Sepharose CL-2B",
            },
        )
        step = IsolationStep.objects.get(batch__lot_number="EV-A-3")
        assert step.method == "sec"
        assert step.parameters["bed_volume"]["canonical_value"] == 10
        assert step.input_volume.canonical_value == pytest.approx(0.5)

    def test_a_taken_order_is_refused_on_the_order_input(self, analyst, batches):
        response = analyst.post(
            reverse("batch-isolation-step-new", args=["EV-A1"]),
            {"method": "ultracentrifugation", "order": 1},
        )
        assert "order" in response.context["form"].errors


class TestResults:
    def test_results_are_entered_in_rows_with_their_units(self, analyst, batches):
        url = reverse("batch-assay-run-new", args=["EV-A-3"])
        form = analyst.get(url, {"method": "nta"}).content.decode()
        assert 'data-kind="particle_concentration"' in form

        response = analyst.post(
            url,
            {
                "method": "nta",
                "performed_at": "2026-03-02T10:30",
                "dilution_factor": "1000",
                "results-TOTAL_FORMS": "6",
                "results-INITIAL_FORMS": "0",
                "results-0-attribute": "particle_concentration",
                "results-0-value": "3.1e8 /mL",
                "results-0-basis": "measured",
                "results-1-attribute": "size_mode",
                "results-1-value": "0.112 µm",
            },
        )

        run = AssayRun.objects.get(batch__lot_number="EV-A-3")
        assert response["Location"] == reverse("assay-run-page", args=[run.pk])
        concentration = run.results.get(attribute="particle_concentration")
        assert concentration.stock_canonical == pytest.approx(3.1e11)
        assert run.results.get(attribute="size_mode").value.canonical_value == pytest.approx(112)

    def test_a_value_of_the_wrong_dimension_is_refused_on_its_row(self, analyst, batches):
        before = db_state()
        response = analyst.post(
            reverse("batch-assay-run-new", args=["EV-A-3"]),
            {
                "method": "nta",
                "performed_at": "2026-03-02T10:30",
                "results-TOTAL_FORMS": "2",
                "results-INITIAL_FORMS": "0",
                "results-0-attribute": "size_mode",
                "results-0-value": "112 nm",
                "results-1-attribute": "size_mean",
                "results-1-value": "2 mL",
            },
        )
        rows = response.context["results"]
        assert not rows[0].errors
        assert "expected a size" in rows[1].errors["value"][0]
        assert db_state() == before


class TestTransitionsAndRoles:
    def test_a_batch_moves_on_from_its_page(self, analyst, batches):
        analyst.post(
            reverse("batch-transition", args=["EV-A-3"]),
            {"to": "in_production", "version": version_of("EV-A-3")},
        )
        assert Batch.objects.get(lot_number="EV-A-3").status == "in_production"

    def test_an_analyst_cannot_release_and_is_told_why(self, analyst, batches):
        response = analyst.post(
            reverse("batch-transition", args=["EV-A1"]),
            {"to": "released", "version": version_of("EV-A1")},
            follow=True,
        )
        assert "reviewer" in response.content.decode()
        assert Batch.objects.get(lot_number="EV-A1").status == "in_qc"

    def test_another_labs_batch_has_no_forms(self, client, site, batches):
        client.force_login(site.outsider)
        for name in ("batch-production", "batch-storage", "batch-isolation-step-new",
                     "batch-assay-run-new", "batch-import"):  # fmt: skip
            assert client.get(reverse(name, args=["EV-A1"])).status_code == 404
        response = client.post(
            reverse("batch-transition", args=["EV-A-3"]), {"to": "in_production", "version": 1}
        )
        assert response.status_code == 404
