"""Importing 1,000 batch records (about 50,000 results) through `batch_record_import`,
each file in its own transaction with its checks and audit event, against a raw
`bulk_create` of the very rows the import wrote. Target: at least 0.5x the rows/s.

The baseline gets the column values of every row the import wrote (read back from the
database), builds the model instances and bulk-creates them, table by table in one
transaction: the database and the ORM only, with no parsing, unit checks, verdicts,
locking, per-file transactions or audit.
"""

import time
from typing import Any, NamedTuple

from . import django_db
from .timing import report

BATCHES = 1_000
ROUNDS = 3
TARGET = 0.5
RESULTS_PER_NTA = (
    ("particle_concentration", "particle/mL", 1.1e9),
    ("size_mean", "nm", 121.0),
    ("size_mode", "nm", 104.0),
    ("size_sd", "nm", 38.0),
    ("size_d10", "nm", 78.0),
    ("size_d50", "nm", 112.0),
    ("size_d90", "nm", 171.0),
    ("size_within_range", "%", 93.0),
    ("zeta_potential", "mV", -21.0),
)


def _document(index: int, prefix: str) -> dict[str, object]:
    """A batch record with 5 NTA runs of 9 results, BCA, LAL, sterility and a western
    blot: 48 results and 4 markers, as an instrument-heavy QC record looks."""
    day = f"2026-{1 + index % 12:02d}-{1 + index % 28:02d}"
    nta = [
        {
            "method": "nta",
            "instrument": "NS300",
            "performed_at": f"{day}T{9 + video:02d}:00:00Z",
            "dilution_factor": 200,
            "results": [
                {
                    "attribute": attribute,
                    "value": value * (1 + video / 100),
                    "unit": unit,
                    "sd": value / 20,
                    "n": 5,
                    **({"basis": "measured"} if attribute == "particle_concentration" else {}),
                }
                for attribute, unit, value in RESULTS_PER_NTA
            ],
        }
        for video in range(5)
    ]
    return {
        "schema": "evqc.batch-record/1",
        "lot_number": f"BENCH-{prefix}-{index:05d}",
        "product": {"code": "BENCH", "name": "Benchmark sEV"},
        "status": "in_qc",
        "source": {"kind": "cell_culture", "name": "UC-MSC MCB-01", "species": "Homo sapiens"},
        "production": {
            "cell_count_at_harvest": "2.4e8 cell",
            "viability_at_harvest": "94 %",
            "harvest_volume": "2 L",
            "conditioning_started_at": f"{day}T08:00:00Z",
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
                "parameters": {
                    "g_force": "100,000 x g",
                    "duration": "70 min",
                    "rotor": "Type 45 Ti",
                    "k_factor": 133,
                },
            },
        ],
        "storage": {"temperature": "-80 °C", "buffer": "PBS", "freeze_thaw_cycles": 0},
        "assays": [
            *nta,
            {
                "method": "bca",
                "performed_at": f"{day}T14:00:00Z",
                "results": [{"attribute": "protein_concentration", "value": "85 µg/mL"}],
            },
            {
                "method": "lal_endotoxin",
                "performed_at": f"{day}T15:00:00Z",
                "results": [{"attribute": "endotoxin", "value": "< 0.05 EU/mL"}],
            },
            {
                "method": "sterility",
                "performed_at": f"{day}T16:00:00Z",
                "results": [{"attribute": "sterility", "value": "no_growth"}],
            },
            {
                "method": "western_blot",
                "performed_at": f"{day}T17:00:00Z",
                "lysis_buffer": "RIPA",
                "markers": [
                    {"protein": p, "detected": p != "calnexin"}
                    for p in ("CD63", "CD81", "TSG101", "calnexin")
                ],
            },
        ],
    }


def run() -> tuple[str, bool]:
    django_db.setup()
    from django.contrib.auth import get_user_model

    from batches.models import Lab, LabMembership
    from batches.services import batch_record_import

    user = get_user_model().objects.create_user("bench")
    lab = Lab.objects.create(code="bench", name="Bench lab")
    LabMembership.objects.create(lab=lab, user=user, role="admin")
    batch_record_import(_document(0, "SETUP"), lab=lab, acting_user=user)  # product, cells
    # Interleaved rounds, so both sides meet the same noise; the best round of each counts.
    rounds = [_round(lab, user, f"R{number}") for number in range(ROUNDS)]
    candidate = max(round_.candidate for round_ in rounds)
    baseline = max(round_.baseline for round_ in rounds)
    return report(
        "import_batch_records", candidate, baseline, "rows/s", f">={TARGET:g}x",
        candidate / baseline >= TARGET, batches=BATCHES, rows=rounds[0].rows,
        results=rounds[0].results, rounds=ROUNDS,
    )  # fmt: skip


class Round(NamedTuple):
    candidate: float  # rows/s
    baseline: float
    rows: int
    results: int


def _round(lab: Any, user: Any, prefix: str) -> Round:
    """Import BATCHES records (as `import_batch` with that many files), then
    bulk-create the very rows they wrote: their column values are read back, the rows
    removed, and instances built from the values and bulk-created in one transaction."""
    from django.apps import apps
    from django.db import transaction

    from assays.models import Result
    from batches.models import Batch
    from batches.services import BatchRecordImporter

    documents = [_document(index, prefix) for index in range(BATCHES)]
    models = [m for m in apps.get_models() if m._meta.app_label in {"batches", "assays"}]
    before = {model: model.objects.count() for model in models}

    started = time.perf_counter()
    outcomes = BatchRecordImporter(lab=lab, acting_user=user).import_records(documents)
    candidate_seconds = time.perf_counter() - started

    written = {
        model: list(model.objects.order_by("pk").values()[before[model] :])
        for model in models
        if model.objects.count() > before[model]
    }
    with transaction.atomic():  # children first: the registry lists parents first
        for model in reversed(written):
            ids = [row["id"] for row in written[model]]
            model.objects.filter(pk__in=ids)._raw_delete(model.objects.db)
    started = time.perf_counter()
    with transaction.atomic():
        for model, rows in written.items():
            model.objects.bulk_create([model(**values) for values in rows])
    baseline_seconds = time.perf_counter() - started

    if not all(isinstance(outcome, Batch) for outcome in outcomes):
        raise RuntimeError(f"the benchmark's records were refused: {outcomes[:3]}")
    rows = sum(len(values) for values in written.values())
    return Round(rows / candidate_seconds, rows / baseline_seconds, rows, len(written[Result]))
