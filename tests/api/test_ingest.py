"""Where instruments and scripts send results: `POST /api/v1/assay-runs/`,
`/api/v1/imports/` (with the real Celery worker) and `/api/v1/batch-records/`, each
honouring Idempotency-Key; bad input is a 4xx that says why and stores nothing."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.utils import timezone

from assays.models import AssayRun, ImportJob, Result
from batches.idempotency import IN_FLIGHT, KEEP_FOR, OTHER_BODY, credential_of, prune
from batches.models import IdempotencyRecord
from tests.api.conftest import nta
from tests.batches.conftest import db_state

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "instruments"
MINIMAL_NTA = FIXTURES / "nanosight" / "minimal-3.4-ExperimentSummary.csv"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def post_run(client: Client, body: Any, key: str | None = None, **headers: str):
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post("/api/v1/assay-runs/", body, content_type="application/json", **headers)


def run_body(lot: str = "EV-A1", concentration: str = "2e11 particle/mL", **extra: Any):
    return {"lot_number": lot, **nta("2026-03-09T10:00:00Z", concentration), **extra}


class TestAssayRuns:
    def test_a_run_is_recorded_and_its_verdicts_returned(self, analyst_client, batches):
        response = post_run(analyst_client, run_body(concentration="5e9 particle/mL"))
        assert response.status_code == 201, response.json()
        body = response.json()
        run = AssayRun.objects.get(pk=body["id"])
        assert (run.batch.lot_number, run.method, body["position"]) == (
            "EV-A1",
            "nta",
            run.position,
        )
        verdicts = {r.verdict for r in run.results.all()}
        assert body["verdicts"] == {
            verdict: run.results.filter(verdict=verdict).count() for verdict in verdicts
        }
        assert "fail" in body["verdicts"]  # 5e9 is below the specification's 1e10
        assert response["Location"] == body["url"]
        assert analyst_client.get(body["url"]).status_code == 200

    def test_every_bad_row_is_named_by_its_json_path_and_nothing_is_stored(
        self, analyst_client, batches
    ):
        body = run_body()
        body["results"] += [
            {"attribute": "size_mode", "value": "5 particle/mL"},
            {"attribute": "particle_concentration", "value": 1, "unit": "furlong"},
        ]
        before = db_state()
        response = post_run(analyst_client, body)
        assert response.status_code == 400
        fields = response.json()["extra"]["fields"]
        assert set(fields) == {"results[2].value", "results[3].value"}
        assert db_state() == before

    def test_up_to_ten_thousand_results_in_one_run(self, analyst_client, batches):
        results = [
            {"attribute": "size_mode", "value": 80 + index % 50, "unit": "nm"}
            for index in range(10_000)
        ]
        response = post_run(analyst_client, {**run_body(), "results": results})
        assert response.status_code == 201, response.content[:500]
        assert Result.objects.filter(assay_run_id=response.json()["id"]).count() == 10_000
        response = post_run(analyst_client, {**run_body(), "results": [*results, results[0]]})
        assert response.status_code == 400
        assert "results" in response.json()["extra"]["fields"]

    @pytest.mark.parametrize("lot", ["EV-B1", "EV-NONE"])
    def test_another_labs_batch_is_as_unknown_as_a_missing_one(self, analyst_client, batches, lot):
        response = post_run(analyst_client, run_body(lot=lot))
        assert response.status_code == 404
        assert response.json()["message"] == f"No batch {lot}."

    def test_the_lot_number_is_required(self, analyst_client, batches):
        body = run_body()
        del body["lot_number"]
        response = post_run(analyst_client, body)
        assert response.status_code == 400
        assert list(response.json()["extra"]["fields"]) == ["lot_number"]

    def test_a_released_batch_refuses_new_runs(self, analyst_client, batches):
        response = post_run(analyst_client, run_body(lot="EV-A.2"))
        assert response.status_code == 400
        assert "locked" in response.json()["message"]


class TestIdempotencyKey:
    def test_a_retry_gets_the_first_answer_and_records_nothing_twice(
        self, analyst_client, batches
    ):
        first = post_run(analyst_client, run_body(), key="run-1")
        again = post_run(analyst_client, run_body(), key="run-1")
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert again["Idempotent-Replayed"] == "true"
        assert again["Location"] == first["Location"]
        assert AssayRun.objects.filter(batch__lot_number="EV-A1").count() == 2 + 1

    def test_the_same_key_with_another_body_is_refused(self, analyst_client, batches):
        post_run(analyst_client, run_body(), key="run-1")
        runs = AssayRun.objects.count()
        response = post_run(
            analyst_client, run_body(concentration="3e11 particle/mL"), key="run-1"
        )
        assert response.status_code == 422
        assert response.json()["message"] == OTHER_BODY.format(key="run-1")
        assert AssayRun.objects.count() == runs

    def test_a_key_in_flight_answers_409(self, analyst_client, site, batches):
        client_request = type("R", (), {"auth": None, "user": site.analyst})()
        first = post_run(analyst_client, run_body(), key="warm-up")  # the fingerprint's shape
        assert first.status_code == 201
        record = IdempotencyRecord.objects.get(key="warm-up")
        IdempotencyRecord.objects.create(
            credential=credential_of(client_request),
            key="run-2",
            fingerprint=record.fingerprint,
            created_at=timezone.now(),
        )
        runs = AssayRun.objects.count()
        response = post_run(analyst_client, run_body(), key="run-2")
        assert response.status_code == 409
        assert response.json()["message"] == IN_FLIGHT.format(key="run-2")
        assert AssayRun.objects.count() == runs

    def test_a_claim_left_by_a_dead_request_expires(self, analyst_client, site, batches):
        post_run(analyst_client, run_body(), key="warm-up")
        record = IdempotencyRecord.objects.get(key="warm-up")
        IdempotencyRecord.objects.create(
            credential=record.credential,
            key="run-3",
            fingerprint=record.fingerprint,
            created_at=timezone.now() - timedelta(hours=1),
        )
        assert post_run(analyst_client, run_body(), key="run-3").status_code == 201

    def test_answers_are_forgotten_after_a_week(self, analyst_client, batches):
        post_run(analyst_client, run_body(), key="old")
        post_run(analyst_client, run_body(concentration="3e11 particle/mL"), key="new")
        IdempotencyRecord.objects.filter(key="old").update(
            created_at=timezone.now() - KEEP_FOR - timedelta(minutes=1)
        )
        assert prune() == 1
        assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]

    def test_keys_belong_to_their_caller(self, client, site, batches):
        for user in (site.analyst, site.admin):
            client.force_login(user)
            assert post_run(client, run_body(), key="shared-key").status_code == 201
        assert IdempotencyRecord.objects.filter(key="shared-key").count() == 2

    def test_a_refused_request_can_be_corrected_under_the_same_key(self, analyst_client, batches):
        bad = run_body(concentration="2e11 nm")
        assert post_run(analyst_client, bad, key="run-4").status_code == 400
        assert post_run(analyst_client, bad, key="run-4").status_code == 400
        assert post_run(analyst_client, run_body(), key="run-4").status_code == 201

    @pytest.mark.parametrize("key", ["", " ", "é" * 3, "x" * 256])
    def test_a_malformed_key_is_refused(self, analyst_client, batches, key):
        response = post_run(analyst_client, run_body(), key=key)
        assert response.status_code == 400
        assert "Idempotency-Key" in response.json()["message"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_twins_record_once(site, batches):
    """Two clients send the same request with the same key at the same moment: one
    records it, the other is told it is in flight or gets the same answer."""
    barrier = threading.Barrier(2)
    answers: list[Any] = []

    def send() -> None:
        client = Client()
        client.force_login(site.analyst)
        barrier.wait()
        answers.append(post_run(client, run_body(), key="twin"))
        connection.close()

    before = AssayRun.objects.count()
    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses in ([201, 201], [201, 409])
    if statuses == [201, 201]:
        assert answers[0].json() == answers[1].json()
    assert AssayRun.objects.count() == before + 1


class TestImports:
    def upload(
        self, client: Client, content: bytes, name: str = MINIMAL_NTA.name, key: str = "", **fields
    ):
        data = {"file": SimpleUploadedFile(name, content), "lot_number": "EV-A1", **fields}
        headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
        return client.post("/api/v1/imports/", data, **headers)

    def test_an_export_file_is_accepted_and_stored_by_the_worker(
        self, celery_worker, analyst_client, batches
    ):
        response = self.upload(analyst_client, MINIMAL_NTA.read_bytes(), user_dilution="200")
        assert response.status_code == 202, response.json()
        job = response.json()
        assert job["status"] == "queued"
        assert response["Location"] == job["url"]
        deadline = time.monotonic() + 30
        while job["status"] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.1)
            job = analyst_client.get(job["url"]).json()
        assert job["status"] == "succeeded", job
        assert job["progress"] == 100
        run = AssayRun.objects.get(pk=job["assay_run"])
        assert run.raw_file_sha256 == job["file_sha256"]
        assert job["summary"]["format"] == "nanosight"

    def test_an_unreadable_file_is_a_400_naming_the_file(self, analyst_client, batches):
        before = db_state()
        response = self.upload(analyst_client, b"just,some\ncsv,1\n", name="notes.csv")
        assert response.status_code == 400
        problem = response.json()["extra"]["fields"]["file"][0]
        assert problem["code"] == "unknown_format"
        assert problem["message"].startswith("notes.csv is not an export evqc can read")
        assert db_state() == before

    def test_an_upload_over_the_limit_is_a_413(self, analyst_client, batches, settings):
        settings.EVQC_MAX_UPLOAD_MB = 1
        response = self.upload(analyst_client, b"x" * (2**20 + 1))
        assert response.status_code == 413
        assert "at most 1 MB" in response.json()["message"]
        assert not ImportJob.objects.exists()

    def test_a_wrong_dimension_for_the_dilution_is_named(self, analyst_client, batches):
        response = self.upload(analyst_client, MINIMAL_NTA.read_bytes(), user_dilution="5 mL")
        assert response.status_code == 400
        assert list(response.json()["extra"]["fields"]) == ["user_dilution"]

    def test_a_retried_upload_is_one_import(self, analyst_client, batches):
        content = MINIMAL_NTA.read_bytes()
        first = self.upload(analyst_client, content, user_dilution="200", key="f1")
        again = self.upload(analyst_client, content, user_dilution="200", key="f1")
        assert first.status_code == again.status_code == 202
        assert again.json()["id"] == first.json()["id"]
        assert ImportJob.objects.count() == 1

    def test_another_labs_import_job_is_not_found(self, client, site, batches):
        client.force_login(site.analyst)
        job = self.upload(client, MINIMAL_NTA.read_bytes(), user_dilution="200").json()
        client.force_login(site.outsider)
        assert client.get(job["url"]).status_code == 404
        assert client.get("/api/v1/imports/").json()["count"] == 0
