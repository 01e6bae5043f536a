"""The REST API's lists: (a) every list endpoint costs the same number of queries for a
page of 10 rows as for one of 500; (b) a page of 1,000 results
(`/api/v1/results/?page_size=1000`) takes at most 3x the time of `.values()` of the same
1,000 rows turned into JSON.

Two labs hold the same kind of data, one 10 batches and the other 500: each batch (of
its own product, with a specification) is imported as a batch record with an isolation
step, storage and an NTA run of two results, then checked against the guidelines; an
import job is bulk-created per batch. A viewer of each lab reads each list through
Django's test client (session login, the whole middleware stack) with page_size=1000,
filtered where a batch has several rows of the kind (results of one attribute, gaps of
one rule, audit events of one action) so that the page holds exactly 10 or 500 rows.
`django.test.utils.CaptureQueriesContext` counts the queries of the second request to
each list (the first warms caches).

For (b) the candidate is the whole GET of the 500-batch lab's 1,000 results, as the
test client sees it: session and user, the count, the page, the serializer and the JSON
renderer. The baseline is the same queryset (`assays.selectors.result_list` for the same
user, in the API's order) reduced to `.values()` of the columns the API returns,
evaluated and `json.dumps`-ed (datetimes as `str`), with no count. Best of 10, interleaved.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable
from typing import Any

from . import django_db

SIZES = (10, 500)
RESULTS_PAGE = 1_000
REPEATS = 10
TARGET = 3.0
# The columns ResultSerializer.to_representation reads (annotations first).
RESULT_COLUMNS = (
    "id",
    "lot_number",
    "assay_run_id",
    "method",
    "performed_at",
    "position",
    "attribute",
    *(
        f"{name}_{part}"
        for name in ("value", "sd", "se", "lod", "loq")
        for part in ("value", "unit", "canonical", "reported")
    ),
    "outcome",
    "qualifier",
    "basis",
    "n",
    "stock_canonical",
    "specification_id",
    "verdict",
    "version",
    "notes",
    "created_at",
    "updated_at",
)


def _document(size: int, index: int) -> dict[str, Any]:
    return {
        "schema": "evqc.batch-record/1",
        "lot_number": f"L{size}-{index:04d}",
        "product": {"code": f"L{size}-P{index:04d}", "name": f"Lists product {index}"},
        "status": "in_qc",
        "source": {"kind": "cell_culture", "name": "UC-MSC MCB-01", "species": "human"},
        "isolation_steps": [
            {
                "order": 1,
                "method": "ultracentrifugation",
                "parameters": {"g_force": "100,000 x g", "duration": "70 min"},
            }
        ],
        "storage": {"temperature": "-80 °C", "buffer": "PBS"},
        "assays": [
            {
                "method": "nta",
                "instrument": "NS300",
                "performed_at": f"2026-03-{1 + index % 28:02d}T10:00:00Z",
                "results": [
                    {"attribute": "particle_concentration", "value": f"{2 + index % 7}e11 /mL"},
                    {"attribute": "size_mode", "value": 90 + index % 40, "unit": "nm"},
                ],
            }
        ],
    }


def _lab(size: int, root: Any) -> Any:
    """A lab of `size` batches and everything listed about them; returns its viewer."""
    from django.contrib.auth import get_user_model

    from assays.models import ImportJob
    from assays.services import specification_create
    from batches.gaps import batch_check
    from batches.services import BatchRecordImporter, lab_create, lab_member_set

    users = get_user_model().objects
    lab = lab_create(code=f"lists-{size}", name=f"Lists {size}", acting_user=root)
    admin = users.create_user(f"lists-{size}-admin")
    viewer = users.create_user(f"lists-{size}-viewer")
    lab_member_set(lab, admin, role="admin", acting_user=root)
    lab_member_set(lab, viewer, role="viewer", acting_user=root)
    documents = [_document(size, index) for index in range(size)]
    batches = BatchRecordImporter(lab=lab, acting_user=admin).import_records(documents)
    refused = [outcome for outcome in batches if not hasattr(outcome, "lot_number")]
    if refused:
        raise RuntimeError(f"the benchmark's records were refused: {refused[:3]}")
    for batch in batches:
        specification_create(
            batch.product,
            attribute="particle_concentration",
            lower_limit="1e10 /mL",
            acting_user=admin,
        )
        batch_check(batch.pk)
    ImportJob.objects.bulk_create(
        ImportJob(
            lab=lab,
            batch=batch,
            file=f"imports/bench/{batch.lot_number}.csv",
            file_name=f"{batch.lot_number}.csv",
            file_sha256=f"{index:064x}",
            file_size=1024,
            format="nanosight",
            created_by=admin,
        )
        for index, batch in enumerate(batches)
    )
    return viewer


def _lists(rule_id: str) -> dict[str, str]:
    """Each list endpoint, with the filter that leaves one row per batch."""
    return {
        "products": "/api/v1/products/",
        "batches": "/api/v1/batches/",
        "isolation-steps": "/api/v1/isolation-steps/",
        "storage": "/api/v1/storage/",
        "assay-runs": "/api/v1/assay-runs/",
        "results": "/api/v1/results/?attribute=size_mode",
        "specifications": "/api/v1/specifications/",
        "reporting-gaps": f"/api/v1/reporting-gaps/?rule_id={rule_id}",
        "audit-events": "/api/v1/audit-events/?action=evqc.batch.imported",
        "imports": "/api/v1/imports/",
    }


def _rule_in_every_batch(sizes: dict[int, Any]) -> str:
    """A guideline rule with exactly one gap row per batch in every lab."""
    from django.db.models import Count

    from batches.models import ReportingGap

    counts: dict[str, list[int]] = {}
    for size in sizes:
        rows = (
            ReportingGap.objects.filter(batch__lab__code=f"lists-{size}")
            .values("rule_id")
            .annotate(rows=Count("id"), batches=Count("batch", distinct=True))
        )
        for row in rows:
            if row["rows"] == row["batches"] == size:
                counts.setdefault(row["rule_id"], []).append(size)
    for rule_id, found in sorted(counts.items()):
        if len(found) == len(sizes):
            return rule_id
    raise RuntimeError("no guideline rule leaves one gap per batch")


def run() -> tuple[str, bool]:
    django_db.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    root = get_user_model().objects.create_superuser("lists-root")
    viewers = {size: _lab(size, root) for size in SIZES}
    clients = {}
    for size, viewer in viewers.items():
        clients[size] = Client()
        clients[size].force_login(viewer)
    urls = _lists(_rule_in_every_batch(viewers))

    queries: dict[str, dict[int, int]] = {}
    wrong_rows: list[str] = []
    for name, url in urls.items():
        separator = "&" if "?" in url else "?"
        for size, client in clients.items():
            page = f"{url}{separator}page_size=1000"
            client.get(page)
            with CaptureQueriesContext(connection) as captured:
                response = client.get(page)
            if response.status_code != 200:
                raise RuntimeError(f"{page}: {response.status_code} {response.content[:300]!r}")
            rows = len(response.json()["results"])
            if rows != size:
                wrong_rows.append(f"{name} gave {rows} rows for page_size=1000, not {size}")
            queries.setdefault(name, {})[size] = len(captured)
    differ = [name for name, counts in queries.items() if len(set(counts.values())) > 1]
    lists_met = not differ and not wrong_rows
    small, large = SIZES
    if differ:
        outcome = "queries differ: " + ", ".join(
            f"{name} {queries[name][small]} vs {queries[name][large]}" for name in differ
        )
    else:
        outcome = f"queries equal for {small} and {large} rows"
    counts = ",".join(f"{name}={queries[name][small]}" for name in urls)
    lists_line = (
        f"api_lists: {len(urls)} endpoints, {outcome} {'met' if lists_met else 'NOT MET'}"
        f"{' (' + '; '.join(wrong_rows) + ')' if wrong_rows else ''} queries: {counts}"
    )

    candidate, baseline = _results_page(clients[large], viewers[large])
    ratio = candidate / baseline
    page_met = ratio <= TARGET
    page_line = (
        f"results page: candidate={candidate * 1000:.1f} ms baseline={baseline * 1000:.1f} ms "
        f"ratio={ratio:.2f} target=<={TARGET:g}x {'met' if page_met else 'NOT MET'} "
        f"rows={RESULTS_PAGE} repeats={REPEATS}"
    )
    return f"{lists_line}; {page_line}", lists_met and page_met


def _results_page(client: Any, viewer: Any) -> tuple[float, float]:
    """Best seconds of the API's page of 1,000 results and of `.values()` + json.dumps."""
    from assays.api.views import ResultViewSet
    from assays.selectors import result_list

    order = (*ResultViewSet.ordering, "pk")  # the API adds pk to break ties
    url = f"/api/v1/results/?page_size={RESULTS_PAGE}"

    def candidate() -> int:
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code}")
        return len(response.content)

    def baseline() -> int:
        rows = list(
            result_list(user=viewer).order_by(*order).values(*RESULT_COLUMNS)[:RESULTS_PAGE]
        )
        if len(rows) != RESULTS_PAGE:
            raise RuntimeError(f"the lab has {len(rows)} results, not {RESULTS_PAGE}")
        return len(json.dumps(rows, default=str).encode())

    body = json.loads(client.get(url).content)
    if len(body["results"]) != RESULTS_PAGE or set(body["results"][0]) != _api_fields():
        raise RuntimeError("the results page is not the shape this benchmark reads")
    seconds: dict[Callable[[], int], list[float]] = {candidate: [], baseline: []}
    for _ in range(REPEATS):  # interleaved, so both sides meet the same noise
        for work, times in seconds.items():
            gc.collect()
            started = time.perf_counter()
            work()
            times.append(time.perf_counter() - started)
    return min(seconds[candidate]), min(seconds[baseline])


def _api_fields() -> set[str]:
    """The keys of a result as the API writes it, from the columns the baseline reads."""
    fields = set()
    for column in RESULT_COLUMNS:
        for name in ("value", "sd", "se", "lod", "loq"):
            if column.startswith(f"{name}_"):
                column = name
        fields.add(column.removesuffix("_id"))
    return fields
