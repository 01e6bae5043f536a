"""Every list endpoint costs the same number of queries for a page of 500 rows as for a
page of 10: the session, the user, the count and the page itself (no query per row).

The rows are bulk-created with everything a row points at filled in (a run's instrument,
aliquot and isolation step, a gap's exception, ...), so a serializer that followed a
relation row by row would show here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assays.models import AssayRun, Instrument, Result, Specification
from batches.models import (
    Aliquot,
    AuditEvent,
    Batch,
    IsolationStep,
    Lab,
    LabMembership,
    Product,
    ReportingGap,
    RuleException,
    Storage,
)
from tests.api.conftest import Site

WHEN = datetime(2026, 3, 1, 10, tzinfo=UTC)


class Rows:
    """Makes rows of lab A for one list endpoint, `add(n)` at a time."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.serial = count()
        self.product = Product.objects.create(lab=site.lab, code="Q", name="Query counts")
        self.batch = self.batches(1)[0]

    def batches(self, n: int) -> list[Batch]:
        return Batch.objects.bulk_create(
            Batch(
                lab=self.site.lab,
                product=self.product,
                lot_number=f"Q-{next(self.serial):04d}",
                status="in_qc",
                created_by=self.site.admin,
            )
            for _ in range(n)
        )

    def labs(self, n: int) -> None:
        labs = Lab.objects.bulk_create(
            Lab(code=f"q-{index}", name=f"Lab {index}") for index in self.numbers(n)
        )
        LabMembership.objects.bulk_create(
            LabMembership(lab=lab, user=self.site.analyst, role="viewer") for lab in labs
        )

    def products(self, n: int) -> None:
        Product.objects.bulk_create(
            Product(
                lab=self.site.lab,
                code=f"P-{index}",
                name=f"Product {index}",
                storage_temperature="-80 °C",
                max_freeze_thaw_cycles=1,
            )
            for index in self.numbers(n)
        )

    def isolation_steps(self, n: int) -> None:
        IsolationStep.objects.bulk_create(
            IsolationStep(
                batch=self.batch,
                order=1 + index,
                method="ultracentrifugation",
                parameters={"g_force": {"value": 1e5, "unit": "xg"}},
                input_volume="20 mL",
            )
            for index in self.numbers(n)
        )

    def storage(self, n: int) -> None:
        Storage.objects.bulk_create(
            Storage(batch=batch, temperature="-80 °C", fill_volume="100 µL")
            for batch in self.batches(n)
        )

    def assay_runs(self, n: int) -> None:
        instrument = Instrument.objects.create(lab=self.site.lab, name=f"NTA {next(self.serial)}")
        step = IsolationStep.objects.create(
            batch=self.batch, order=1000 + next(self.serial), method="sec"
        )
        aliquot = Aliquot.objects.create(batch=self.batch, label=f"A{next(self.serial)}")
        AssayRun.objects.bulk_create(
            AssayRun(
                batch=self.batch,
                position=1 + index,
                method="nta",
                instrument=instrument,
                performed_at=WHEN,
                sample_stage="in_process",
                isolation_step=step,
                aliquot=aliquot,
                dilution_factor=100,
                raw_file_name="run.csv",
                raw_file_sha256="0" * 64,
                recorded_by=self.site.admin,
            )
            for index in self.numbers(n)
        )

    def results(self, n: int) -> None:
        spec = self.specification()
        run = AssayRun.objects.create(
            batch=self.batch, position=next(self.serial), method="nta", performed_at=WHEN
        )
        Result.objects.bulk_create(
            Result(
                assay_run=run,
                position=1 + index,
                attribute="particle_concentration",
                value="2.1e11 particle/mL",
                sd="1e10 particle/mL",
                n=3,
                stock_canonical=2.1e11,
                specification=spec,
                verdict="pass",
            )
            for index in self.numbers(n)
        )

    def specification(self) -> Specification:
        """A (retired) specification version that results were judged against."""
        return Specification.objects.create(
            product=self.product,
            attribute="particle_concentration",
            version=next(self.serial) + 1,
            effective_from=WHEN,
            retired_at=WHEN,
            lower_limit="1e10 particle/mL",
        )

    def specifications(self, n: int) -> None:
        Specification.objects.bulk_create(
            Specification(
                product=self.product,
                attribute="size_mode",
                method="nta",
                version=1 + index,
                effective_from=WHEN,
                retired_at=WHEN,
                lower_limit="50 nm",
                upper_limit="200 nm",
            )
            for index in self.numbers(n)
        )

    def reporting_gaps(self, n: int) -> None:
        exception = RuleException.objects.create(
            batch=self.batch, rule=f"R-{next(self.serial)}", justification="Not applicable."
        )
        ReportingGap.objects.bulk_create(
            ReportingGap(
                batch=self.batch,
                catalogue="misev2018",
                rule_id=f"R-{index}",
                status="excepted",
                severity="required",
                confidence="C",
                guideline="MISEV2018",
                title="A rule",
                message="Something is missing.",
                how_to_fix="Record it.",
                missing=["it"],
                exception=exception,
                checked_at=WHEN,
            )
            for index in self.numbers(n)
        )

    def audit_events(self, n: int) -> None:
        AuditEvent.objects.bulk_create(
            AuditEvent(
                occurred_at=WHEN,
                actor=self.site.admin,
                actor_name="adam",
                action="evqc.batch.updated",
                lab=self.site.lab,
                batch=self.batch,
                object_type="batches.batch",
                object_id=str(self.batch.pk),
                object_repr=self.batch.lot_number,
                before={"status": "planned"},
                after={"status": "in_qc"},
            )
            for _ in range(n)
        )

    def numbers(self, n: int) -> list[int]:
        return [next(self.serial) for _ in range(n)]


LISTS: dict[str, Callable[[Rows], Callable[[int], object]]] = {
    "/api/v1/labs/": lambda rows: rows.labs,
    "/api/v1/products/": lambda rows: rows.products,
    "/api/v1/batches/": lambda rows: rows.batches,
    "/api/v1/isolation-steps/": lambda rows: rows.isolation_steps,
    "/api/v1/storage/": lambda rows: rows.storage,
    "/api/v1/assay-runs/": lambda rows: rows.assay_runs,
    "/api/v1/results/": lambda rows: rows.results,
    "/api/v1/specifications/": lambda rows: rows.specifications,
    "/api/v1/reporting-gaps/": lambda rows: rows.reporting_gaps,
    "/api/v1/audit-events/": lambda rows: rows.audit_events,
}


def queries_for_a_page(client, url: str, rows: int) -> list[dict[str, str]]:
    """The queries of one request for the whole list, which must hold `rows` rows."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, {"page_size": 1000})
    body = response.json()
    assert (response.status_code, body["count"], len(body["results"])) == (200, rows, rows)
    return captured.captured_queries


@pytest.mark.parametrize("url", LISTS)
def test_a_list_costs_as_many_queries_for_500_rows_as_for_10(
    url, analyst_client, site, django_assert_max_num_queries
):
    # given: 10 rows (counting those the site already has)
    add = LISTS[url](Rows(site))
    add(10 - analyst_client.get(url).json()["count"])
    small = queries_for_a_page(analyst_client, url, 10)

    # when: 490 more
    add(490)

    # then: no more queries than for 10 (and so no query per row)
    with django_assert_max_num_queries(len(small)):
        large = queries_for_a_page(analyst_client, url, 500)
    assert len(large) == len(small)
