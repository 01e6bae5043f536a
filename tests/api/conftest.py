"""Two labs, their people and their batches, for the tests of the REST API's read side.

Labs and members are made by the services a site administrator uses; batches arrive as
batch records through the import service, as they would from an MES. Rows that only
exist to make a list long are bulk-created (`tests/api/test_query_counts.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from assays.services import specification_create
from batches.gaps import batch_check
from batches.models import Batch, Lab, Product
from batches.services import BatchRecordImporter, lab_create, lab_member_set, product_create
from evqc.vocabulary import LabRole

PASSWORD = "a-long-test-password"


def make_user(username: str) -> Any:
    return get_user_model().objects.create_user(username=username, password=PASSWORD)


def member(lab: Lab, username: str, role: LabRole | str, *, site_admin: Any) -> Any:
    user = make_user(username)
    lab_member_set(lab, user, role=role, acting_user=site_admin)
    return user


def nta(performed_at: str, concentration: str, **extra: Any) -> dict[str, Any]:
    """An NTA run reporting a particle concentration and a mode size."""
    return {
        "method": "nta",
        "instrument": "NS300",
        "operator": "Ana",
        "performed_at": performed_at,
        "results": [
            {"attribute": "particle_concentration", "value": concentration},
            {"attribute": "size_mode", "value": 112, "unit": "nm"},
        ],
        **extra,
    }


def bca(performed_at: str, protein: str) -> dict[str, Any]:
    return {
        "method": "microbca",
        "instrument": "Plate reader",
        "performed_at": performed_at,
        "results": [{"attribute": "protein_concentration", "value": protein}],
    }


def document(lot: str, product: tuple[str, str], **parts: Any) -> dict[str, Any]:
    """A batch record of a cell-culture batch; `parts` add or replace its parts."""
    return {
        "schema": "evqc.batch-record/1",
        "lot_number": lot,
        "product": {"code": product[0], "name": product[1]},
        "status": "in_qc",
        "source": {"kind": "cell_culture", "name": "MSC bank 12", "species": "human"},
        **parts,
    }


def import_records(lab: Lab, admin: Any, documents: list[dict[str, Any]]) -> list[Batch]:
    outcomes = BatchRecordImporter(lab=lab, acting_user=admin).import_records(documents)
    refused = [outcome for outcome in outcomes if not isinstance(outcome, Batch)]
    assert refused == []
    return outcomes


MSC = ("MSC-EV", "MSC small EVs")
HEK = ("HEK-EV", "HEK293T EVs")


@dataclass(frozen=True)
class Site:
    """Lab A, whose analyst calls the API, and lab B, whose rows the analyst must never
    see. `lots` are lab A's batches by name, `other_lots` lab B's."""

    lab: Lab
    other_lab: Lab
    site_admin: Any
    admin: Any
    analyst: Any
    other_admin: Any
    outsider: Any


@pytest.fixture
def site(db) -> Site:
    site_admin = get_user_model().objects.create_superuser(username="root", password=PASSWORD)
    lab = lab_create(code="lab-a", name="Lab A", acting_user=site_admin)
    other_lab = lab_create(code="lab-b", name="Lab B", acting_user=site_admin)
    return Site(
        lab=lab,
        other_lab=other_lab,
        site_admin=site_admin,
        admin=member(lab, "adam", LabRole.ADMIN, site_admin=site_admin),
        analyst=member(lab, "ana", LabRole.ANALYST, site_admin=site_admin),
        other_admin=member(other_lab, "bea", LabRole.ADMIN, site_admin=site_admin),
        outsider=member(other_lab, "otto", LabRole.ANALYST, site_admin=site_admin),
    )


@pytest.fixture
def batches(site) -> dict[str, Batch]:
    """Three batches of lab A and two of lab B, checked against the guidelines.

    Lab A: EV-A1 (MSC, in QC, ultracentrifuged, NTA passing its specification and a
    microBCA), EV-A.2 (HEK, released, SEC then TFF, NTA failing the specification),
    EV-A-3 (MSC, planned, nothing recorded yet). Lab B: EV-B1 and EV-B2, complete.
    """
    for lab, admin in ((site.lab, site.admin), (site.other_lab, site.other_admin)):
        for code, name in (MSC, HEK):
            product = product_create(lab, code=code, name=name, acting_user=admin)
            specification_create(
                product,
                attribute="particle_concentration",
                lower_limit="1e10 particle/mL",
                required_for_release=True,
                acting_user=admin,
            )
    ultracentrifugation = {
        "order": 1,
        "method": "ultracentrifugation",
        "parameters": {"g_force": "100000 x g", "duration": "70 min"},
    }
    sec = {"order": 1, "method": "sec", "parameters": {}}
    tff = {"order": 2, "method": "tff", "purpose": "concentration", "parameters": {}}
    own = import_records(
        site.lab,
        site.admin,
        [
            document(
                "EV-A1",
                MSC,
                isolation_steps=[ultracentrifugation],
                storage={"temperature": "-80 °C", "buffer": "PBS", "container": "cryovial"},
                aliquots=[{"label": "A1", "volume": "100 µL"}],
                assays=[
                    nta("2026-03-01T10:00:00Z", "2.1e11 particle/mL", aliquot="A1"),
                    bca("2026-03-02T10:00:00Z", "85 µg/mL"),
                ],
                exceptions=[{"rule": "M18-QNT-03", "justification": "No protein ratio yet."}],
            ),
            document(
                "EV-A.2",
                HEK,
                status="released",
                isolation_steps=[sec, tff],
                storage={"temperature": "4 °C", "buffer": "PBS + 25 mM trehalose"},
                assays=[nta("2026-03-05T09:00:00Z", "3e9 particle/mL")],
            ),
            document("EV-A-3", MSC, status="planned"),
        ],
    )
    theirs = import_records(
        site.other_lab,
        site.other_admin,
        [
            document(
                lot,
                MSC,
                isolation_steps=[ultracentrifugation],
                storage={"temperature": "-80 °C", "buffer": "PBS"},
                assays=[nta("2026-03-03T10:00:00Z", "5e11 particle/mL")],
            )
            for lot in ("EV-B1", "EV-B2")
        ],
    )
    for batch in [*own, *theirs]:
        batch_check(batch.pk)
    return {batch.lot_number: batch for batch in [*own, *theirs]}


@pytest.fixture
def analyst_client(client, site):
    client.force_login(site.analyst)
    return client


def product_of(lab: Lab, code: str) -> Product:
    return Product.objects.get(lab=lab, code=code)


def listed(client, url: str, **params: Any) -> list[dict[str, Any]]:
    """Every row a list endpoint gives for these query parameters (one page of up to
    1000 rows; the test fails if there are more)."""
    response = client.get(url, {"page_size": 1000, **params})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == len(body["results"])
    return body["results"]
