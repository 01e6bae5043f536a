"""The portal's batch page of a batch with 200 assay runs renders within 3x the time of
the same data from the API (`GET /api/v1/batches/{lot}/record/`, the whole batch record),
in the same run; and the page costs the same number of queries for 2 runs as for 200.

One batch record is imported (`batch_record_import`) for a product with specifications
for particle concentration, modal size, protein and endotoxin: production, two isolation
steps, storage, two aliquots and 200 assay runs: 140 NTA runs of 4 results (the
concentration with its SD, n and basis, modal, mean and median size, with SDs), every
tenth with a number-weighted size distribution of 100 bins; 30 BCA runs (protein), 20
western blots of 4 markers and 10 LAL runs ("< 0.05 EU/mL"): 600 results. The batch is
then checked against the guidelines, so the page shows its gaps and compliance. A second
batch of the same product holds the first 2 runs of the same record.

An analyst of the lab (who sees the exception forms) reads both through one Django test
client (session login, the whole middleware stack). The candidate is the GET of the
portal page `/batches/{lot}/`; the baseline the GET of the batch's record from the API.
`CaptureQueriesContext` counts the queries of each request after one warm-up request.
Best of 10, interleaved.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

from . import django_db

RUNS = 200
NTA_RUNS = 140
BCA_RUNS = 30
BLOT_RUNS = 20
LAL_RUNS = 10
DISTRIBUTION_EVERY = 10
BINS = 100
REPEATS = 10
TARGET = 3.0
LOT = "PAGE-0001"
SMALL_LOT = "PAGE-0002"


def _performed_at(index: int) -> str:
    return f"2026-{1 + index // 28 % 12:02d}-{1 + index % 28:02d}T{8 + index % 10:02d}:00:00Z"


def _nta(index: int) -> dict[str, Any]:
    run: dict[str, Any] = {
        "method": "nta",
        "instrument": "NS300",
        "performed_at": _performed_at(index),
        "dilution_factor": 200,
        "results": [
            {
                "attribute": "particle_concentration",
                "value": 1.1e11 * (1 + index % 9 / 10),
                "unit": "particle/mL",
                "sd": 4e9,
                "n": 5,
                "basis": "measured",
            },
            {"attribute": "size_mode", "value": 95 + index % 30, "unit": "nm", "sd": 3.1, "n": 5},
            {"attribute": "size_mean", "value": 120 + index % 25, "unit": "nm", "sd": 4.2, "n": 5},
            {"attribute": "size_d50", "value": 110 + index % 20, "unit": "nm", "sd": 3.8, "n": 5},
        ],
    }
    if index % DISTRIBUTION_EVERY == 0:
        centres = [5.0 * (bin_ + 1) for bin_ in range(BINS)]
        run["size_distributions"] = [
            {
                "weighting": "number",
                "basis": "measured",
                "bin_quantity": "concentration_density",
                "value_unit": "particle/mL/nm",
                "bin_centres": centres,
                "bin_values": [1e9 * centre * 2.718 ** (-centre / 60) for centre in centres],
            }
        ]
    return run


def _runs() -> list[dict[str, Any]]:
    runs = [_nta(index) for index in range(NTA_RUNS)]
    runs += [
        {
            "method": "bca",
            "performed_at": _performed_at(index),
            "aliquot": "A01",
            "results": [{"attribute": "protein_concentration", "value": f"{80 + index} µg/mL"}],
        }
        for index in range(BCA_RUNS)
    ]
    runs += [
        {
            "method": "western_blot",
            "performed_at": _performed_at(index),
            "lysis_buffer": "RIPA",
            "markers": [
                {"protein": protein, "detected": protein != "calnexin"}
                for protein in ("CD63", "CD81", "TSG101", "calnexin")
            ],
        }
        for index in range(BLOT_RUNS)
    ]
    runs += [
        {
            "method": "lal_endotoxin",
            "performed_at": _performed_at(index),
            "results": [{"attribute": "endotoxin", "value": "< 0.05 EU/mL"}],
        }
        for index in range(LAL_RUNS)
    ]
    return runs


def _document(lot_number: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schema": "evqc.batch-record/1",
        "lot_number": lot_number,
        "product": {"code": "PAGE", "name": "Batch page sEV"},
        "status": "in_qc",
        "preparation_term": "sev",
        "source": {"kind": "cell_culture", "name": "UC-MSC MCB-01", "species": "Homo sapiens"},
        "production": {
            "cell_count_at_harvest": "2.4e8 cell",
            "viability_at_harvest": "94 %",
            "harvest_volume": "2 L",
            "conditioning_started_at": "2026-01-01T08:00:00Z",
        },
        "isolation_steps": [
            {
                "order": 1,
                "method": "centrifugation",
                "purpose": "pre_processing",
                "parameters": {"g_force": "2,000 x g", "duration": "20 min"},
            },
            {
                "order": 2,
                "method": "ultracentrifugation",
                "parameters": {"g_force": "100,000 x g", "duration": "70 min", "k_factor": 133},
            },
        ],
        "storage": {"temperature": "-80 °C", "buffer": "PBS", "freeze_thaw_cycles": 0},
        "aliquots": [{"label": "A01", "volume": "100 µL"}, {"label": "A02", "volume": "100 µL"}],
        "assays": runs,
    }


def _lab() -> Any:
    """The lab, its product with specifications and the two batches; returns its analyst."""
    from django.contrib.auth import get_user_model

    from assays.services import specification_create
    from batches.gaps import batch_check
    from batches.services import batch_record_import, lab_create, lab_member_set, product_create

    users = get_user_model().objects
    root = users.create_superuser("page-root")
    lab = lab_create(code="page", name="Batch page lab", acting_user=root)
    admin = users.create_user("page-admin")
    analyst = users.create_user("page-analyst")
    lab_member_set(lab, admin, role="admin", acting_user=root)
    lab_member_set(lab, analyst, role="analyst", acting_user=root)
    product = product_create(lab, code="PAGE", name="Batch page sEV", acting_user=admin)
    for attribute, limits in (
        ("particle_concentration", {"lower_limit": "1e10 /mL"}),
        ("size_mode", {"method": "nta", "lower_limit": "50 nm", "upper_limit": "200 nm"}),
        ("protein_concentration", {"upper_limit": "1 mg/mL"}),
        ("endotoxin", {"upper_limit": "1 EU/mL"}),
    ):
        specification_create(product, attribute=attribute, acting_user=admin, **limits)
    runs = _runs()
    for lot_number, its_runs in ((LOT, runs), (SMALL_LOT, runs[:2])):
        batch = batch_record_import(_document(lot_number, its_runs), lab=lab, acting_user=admin)
        batch_check(batch.pk)
    return analyst


def run() -> tuple[str, bool]:
    django_db.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from assays.models import AssayRun, Result

    client = Client()
    client.force_login(_lab())
    page = f"/batches/{LOT}/"
    api = f"/api/v1/batches/{LOT}/record/"

    queries: dict[str, int] = {}
    for name, url in (("page", page), ("small_page", f"/batches/{SMALL_LOT}/"), ("api", api)):
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code} {response.content[:300]!r}")
        queries[name] = len(captured)
    runs = AssayRun.objects.filter(batch__lot_number=LOT).count()
    results = Result.objects.filter(assay_run__batch__lot_number=LOT).count()
    html = client.get(page).content.decode()
    record = client.get(api).json()
    if runs != RUNS or len(record["assays"]) != RUNS or html.count("badge verdict-") != results:
        raise RuntimeError("the batch page or its record is not the shape this benchmark reads")

    def candidate() -> int:
        return len(client.get(page).content)

    def baseline() -> int:
        return len(client.get(api).content)

    seconds: dict[Callable[[], int], list[float]] = {candidate: [], baseline: []}
    for _ in range(REPEATS):  # interleaved, so both sides meet the same noise
        for work, times in seconds.items():
            gc.collect()
            started = time.perf_counter()
            work()
            times.append(time.perf_counter() - started)
    best_page, best_api = min(seconds[candidate]), min(seconds[baseline])
    ratio = best_page / best_api
    constant = queries["page"] == queries["small_page"]
    met = ratio <= TARGET and constant
    line = (
        f"batch_page: candidate={best_page * 1000:.1f} ms baseline={best_api * 1000:.1f} ms "
        f"ratio={ratio:.2f} target=<={TARGET:g}x {'met' if met else 'NOT MET'} "
        f"queries: page={queries['page']} (2 runs: {queries['small_page']}"
        f"{'' if constant else ', NOT constant'}) api={queries['api']} "
        f"runs={runs} results={results} repeats={REPEATS}"
    )
    return line, met
