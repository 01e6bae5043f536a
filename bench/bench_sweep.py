"""The nightly sweep: re-checking 10,000 batches through Celery with one real worker
(chunks of 100 ids per task), against the same checks in a plain in-process loop, in the
same run. Target: the sweep reaches at least 0.6x the loop's batches/s.

The worker is Celery's own test worker (one process, concurrency 1) on the in-memory
broker; every check loads the batch's record, runs every rule and replaces its gaps.
"""

import logging
import os
import time

from . import django_db
from .timing import report

BATCHES = int(os.environ.get("EVQC_BENCH_SWEEP_BATCHES", "10000"))
TARGET = 0.6


def _document(index: int) -> dict[str, object]:
    """A small, realistic QC record: UC isolation, NTA, BCA, a blot and TEM."""
    return {
        "schema": "evqc.batch-record/1",
        "lot_number": f"SWEEP-{index:05d}",
        "product": {"code": "SWEEP", "name": "Sweep sEV"},
        "status": "in_qc",
        "preparation_term": "sev",
        "source": {"kind": "cell_culture", "name": "UC-MSC MCB-01", "species": "Homo sapiens"},
        "production": {"harvest_volume": "2 L", "viability_at_harvest": "94 %"},
        "isolation_steps": [
            {
                "order": 1,
                "method": "ultracentrifugation",
                "parameters": {"g_force": "100,000 x g", "duration": "70 min"},
            },
        ],
        "storage": {"temperature": "-80 °C", "freeze_thaw_cycles": 0},
        "assays": [
            {
                "method": "nta",
                "performed_at": "2026-03-05T10:00:00Z",
                "dilution_factor": 200,
                "results": [
                    {
                        "attribute": "particle_concentration",
                        "value": 1.1e9 + index,
                        "unit": "particle/mL",
                        "basis": "measured",
                    },
                    {"attribute": "size_mode", "value": 100 + index % 30, "unit": "nm"},
                ],
            },
            {
                "method": "bca",
                "performed_at": "2026-03-05T12:00:00Z",
                "results": [{"attribute": "protein_concentration", "value": "85 µg/mL"}],
            },
            {
                "method": "western_blot",
                "performed_at": "2026-03-06T10:00:00Z",
                "markers": [
                    {"protein": p, "detected": p != "calnexin"}
                    for p in ("CD63", "CD81", "TSG101", "calnexin")
                ],
            },
            {
                "method": "tem",
                "performed_at": "2026-03-07T10:00:00Z",
                "images": [{"technique": "tem", "field": "wide"}],
            },
        ],
    }


def run() -> tuple[str, bool]:
    django_db.setup()
    from celery.contrib.testing.worker import start_worker
    from django.contrib.auth import get_user_model

    from batches.gaps import batch_check
    from batches.models import Batch, CheckSweep, Lab, LabMembership
    from batches.services import BatchRecordImporter
    from batches.tasks import batch_sweep_task
    from config.celery_app import app

    logging.getLogger("celery").setLevel(logging.WARNING)  # one line per task otherwise
    user = get_user_model().objects.create_user("bench")
    lab = Lab.objects.create(code="bench", name="Bench lab")
    LabMembership.objects.create(lab=lab, user=user, role="admin")
    BatchRecordImporter(lab=lab, acting_user=user).import_records(
        _document(index) for index in range(BATCHES)
    )
    # The imports asked for checks; no worker ran them. Start both sides from nothing.
    app.control.purge()
    Batch.objects.update(check_pending=False)
    ids = list(Batch.objects.order_by("pk").values_list("pk", flat=True))

    started = time.perf_counter()
    for batch_id in ids:
        batch_check(batch_id)
    baseline = len(ids) / (time.perf_counter() - started)

    with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False):
        started = time.perf_counter()
        batch_sweep_task.delay()
        while not CheckSweep.objects.filter(finished_at__isnull=False).exists():
            time.sleep(0.1)
        candidate = len(ids) / (time.perf_counter() - started)
    sweep = CheckSweep.objects.get()

    return report(
        "sweep_batches",
        candidate,
        baseline,
        "batches/s",
        f">={TARGET:g}x",
        candidate / baseline >= TARGET and sweep.failed == 0,
        batches=len(ids),
        chunks=-(-len(ids) // 100),
        failed=sweep.failed,
    )
