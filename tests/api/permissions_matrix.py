"""Who may call which operation of the REST API, as data: the callers, a world of two labs
to call it on, and per operation the rule the expected answer follows.

`tests/api/test_permissions.py` checks every operation of the schema against this matrix,
for every caller and for an object of the caller's own lab and of another lab;
`tests/api/test_schemathesis.py` builds the same world for its property tests.

The rules, in the order the API applies them (`expected_status`):

1. Nobody signed in: 401.
2. A token whose scope does not cover the operation: 403 (batches.api.auth).
3. An object (in the path, the body or `?lab=`) of a lab the caller is not a member of:
   404, exactly like an object that does not exist (batches.selectors).
4. A role below the operation's minimum in the object's lab: 403 (batches.access).
5. Otherwise the operation's success status: a list shows the rows of the caller's labs
   only (none for a member of no lab), and a quantity kind belongs to no lab.

A token acts as a member of its lab with its scope's role (read = viewer,
results:write = analyst, admin = admin), so rule 4 applies to tokens too.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client, override_settings

from assays.imports import ImportOptions, import_job_create
from assays.models import AssayRun, ImportJob, Instrument, Result, Specification
from assays.services import specification_create
from batches.gaps import batch_check
from batches.models import (
    AuditEvent,
    Batch,
    IsolationStep,
    Lab,
    Product,
    ReportingGap,
    Storage,
)
from batches.services import lab_create, product_create
from batches.tokens import SCOPE_GRANTS, token_create
from evqc.vocabulary import LabRole, TokenScope
from tests.api.conftest import HEK, MSC, PASSWORD, document, import_records, member, nta

API = "/api/v1"
ZETAVIEW = (
    Path(__file__).resolve().parents[1]
    / "fixtures"
    / "instruments"
    / "zetaview"
    / "HEK293-EV-P3-2000_size_488.txt"
)
# The instrument lab A's results:write token is bound to.
TOKEN_INSTRUMENT = "ZetaView PMX-120"


# The world
# ------------------------------------------------------------------------------


@dataclass
class LabRows:
    """One lab's rows that the API names in a path or a body."""

    lab: Lab
    lot: str
    product: Product
    isolation_step: IsolationStep
    storage: Storage
    assay_run: AssayRun
    result: Result
    specification: Specification
    reporting_gap: ReportingGap
    audit_event: AuditEvent
    import_job: ImportJob
    person_import_job: ImportJob


@dataclass
class World:
    """Lab A with a member of each role and a token of each scope; lab B with its admin.
    Each lab has one complete batch (`LabRows.lot`) and everything the API lists."""

    lab_a: LabRows
    lab_b: LabRows
    users: dict[str, Any]
    token_keys: dict[TokenScope, str]
    session_keys: dict[str, str] = field(default_factory=dict)

    def rows(self, lab: Lab) -> LabRows:
        return self.lab_a if lab == self.lab_a.lab else self.lab_b

    @property
    def labs(self) -> tuple[Lab, Lab]:
        return (self.lab_a.lab, self.lab_b.lab)


def zetaview_upload() -> SimpleUploadedFile:
    return SimpleUploadedFile(ZETAVIEW.name, ZETAVIEW.read_bytes(), "text/plain")


def _lab_rows(lab: Lab, lot: str, import_job: ImportJob, person_job: ImportJob) -> LabRows:
    batch = Batch.objects.get(lot_number=lot)
    rows = LabRows(
        lab=lab,
        lot=lot,
        product=batch.product,
        isolation_step=IsolationStep.objects.filter(batch=batch).first(),
        storage=Storage.objects.filter(batch=batch).first(),
        assay_run=AssayRun.objects.filter(batch=batch).first(),
        result=Result.objects.filter(assay_run__batch=batch).first(),
        specification=Specification.objects.filter(product=batch.product).first(),
        reporting_gap=ReportingGap.objects.filter(batch=batch).first(),
        audit_event=AuditEvent.objects.filter(lab=lab, batch=batch).first(),
        import_job=import_job,
        person_import_job=person_job,
    )
    missing = [name for name, value in vars(rows).items() if value is None]
    assert missing == [], f"lab {lab.code} lacks {missing}"
    return rows


def build_world() -> World:
    """Create the world through the services (the caller holds the transaction and the
    MEDIA_ROOT the import files go to)."""
    site_admin = get_user_model().objects.create_superuser(username="root", password=PASSWORD)
    lab_a = lab_create(code="lab-a", name="Lab A", acting_user=site_admin)
    lab_b = lab_create(code="lab-b", name="Lab B", acting_user=site_admin)
    users = {
        f"{role.value}_a": member(lab_a, f"{role.value}-a", role, site_admin=site_admin)
        for role in LabRole
    }
    users["admin_b"] = member(lab_b, "admin-b", LabRole.ADMIN, site_admin=site_admin)
    users["site_admin"] = site_admin
    steps = [{"order": 1, "method": "ultracentrifugation", "parameters": {}}]
    storage = {"temperature": "-80 °C", "buffer": "PBS", "container": "cryovial"}
    for lab, admin, lot in (
        (lab_a, users["admin_a"], "EV-A1"),
        (lab_b, users["admin_b"], "EV-B1"),
    ):
        for code, name in (MSC, HEK):
            product = product_create(lab, code=code, name=name, acting_user=admin)
            specification_create(
                product,
                attribute="particle_concentration",
                lower_limit="1e10 particle/mL",
                required_for_release=True,
                acting_user=admin,
            )
        (batch,) = import_records(
            lab,
            admin,
            [
                document(
                    lot,
                    MSC,
                    isolation_steps=steps,
                    storage=storage,
                    assays=[
                        nta("2026-03-01T10:00:00Z", "2.1e11 particle/mL"),
                        nta(
                            "2026-03-02T10:00:00Z", "3e11 particle/mL", instrument=TOKEN_INSTRUMENT
                        ),
                    ],
                )
            ],
        )
        batch_check(batch.pk)
    tokens = {
        scope: token_create(
            lab_a,
            name=f"token-{scope.value}",
            scope=scope,
            acting_user=users["admin_a"],
            instrument_name=TOKEN_INSTRUMENT if scope == TokenScope.RESULTS_WRITE else "",
        )
        for scope in TokenScope
    }
    instrument = Instrument.objects.get(lab=lab_a, name=TOKEN_INSTRUMENT)

    def job(lot: str, user: Any, token_instrument: Instrument | None = None) -> ImportJob:
        return import_job_create(
            Batch.objects.get(lot_number=lot),
            ZETAVIEW.read_bytes(),
            ZETAVIEW.name,
            ImportOptions(),
            acting_user=user,
            token_instrument=token_instrument,
        )

    token_job = job("EV-A1", tokens[TokenScope.RESULTS_WRITE].token.user, instrument)
    person_job_a = job("EV-A1", users["analyst_a"])
    job_b = job("EV-B1", users["admin_b"])
    world = World(
        lab_a=_lab_rows(lab_a, "EV-A1", token_job, person_job_a),
        lab_b=_lab_rows(lab_b, "EV-B1", job_b, job_b),
        users=users,
        token_keys={scope: new.key for scope, new in tokens.items()},
    )
    for name, user in users.items():
        client = Client()
        client.force_login(user)
        world.session_keys[name] = client.session.session_key
    return world


@contextmanager
def world_for_module(django_db_blocker: Any, media_root: Path) -> Iterator[World]:
    """The world, in a transaction rolled back when the module is done: pytest-django's
    `db` puts each test in a savepoint of it, so what a test writes is gone before the
    next, and nothing is left for other modules."""
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media_root):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield build_world()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


# The callers
# ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """Who calls: nobody, a person with a role in one lab (or in none), or a token of
    lab A."""

    name: str
    lab: str | None = None  # "a" or "b"
    role: LabRole | None = None
    scope: TokenScope | None = None
    signed_in: bool = True

    def is_member(self, lab: Lab) -> bool:
        return self.lab is not None and lab.code == f"lab-{self.lab}"

    def credentials(self, world: World) -> dict[str, str]:
        """Extra arguments of django.test.Client's request methods."""
        if self.scope is not None:
            return {"HTTP_AUTHORIZATION": f"Bearer {world.token_keys[self.scope]}"}
        return {}


ANONYMOUS = Caller("anonymous", signed_in=False)
PEOPLE = [Caller(f"{role.value}_a", "a", role) for role in LabRole]
MEMBER_OF_B = Caller("admin_b", "b", LabRole.ADMIN)
# The site's superuser, a member of no lab: Django's admin is theirs, the labs' data not.
SITE_ADMIN = Caller("site_admin")
TOKENS = [
    Caller(f"token_{scope.value.replace(':', '_')}_a", "a", scope.role, scope)
    for scope in (TokenScope.READ, TokenScope.RESULTS_WRITE, TokenScope.ADMIN)
]
CALLERS = [ANONYMOUS, *PEOPLE, MEMBER_OF_B, SITE_ADMIN, *TOKENS]


# The operations
# ------------------------------------------------------------------------------


class Kind(enum.Enum):
    OBJECT = "object"  # names one lab's row (path, body or ?lab=): tried on lab A's and B's
    LIST = "list"  # lists the caller's labs' rows
    GLOBAL = "global"  # belongs to no lab


@dataclass(frozen=True)
class Call:
    """A request: django.test.Client's method arguments."""

    path: str
    data: Any = None
    content_type: str | None = None
    query: dict[str, Any] = field(default_factory=dict)

    def send(self, client: Client, method: str, **extra: Any) -> Any:
        send = getattr(client, method.lower())
        if method == "GET":
            return send(self.path, self.query, **extra)
        path = self.path
        if self.query:
            path += "?" + urlencode(self.query)
        if self.content_type is None:  # multipart
            return send(path, self.data, **extra)
        return send(path, self.data, content_type=self.content_type, **extra)


READ = frozenset({TokenScope.READ})
RESULTS_WRITE = frozenset({TokenScope.RESULTS_WRITE})
ADMIN = frozenset({TokenScope.ADMIN})


@dataclass(frozen=True)
class Case:
    """How to call an operation and what it needs.

    `call(world, rows)` builds the request on a lab's rows (`rows` is None for LIST and
    GLOBAL). `scopes` are the token scopes that allow it, `role` the minimum role in the
    object's lab (OBJECT only). `listed(rows)` are the keys (`key` field) of a lab's rows
    a list shows; `names` is the field of a retrieved object that `value(rows)` equals.
    """

    call: Callable[[World, LabRows | None], Call]
    kind: Kind = Kind.OBJECT
    scopes: frozenset[TokenScope] = READ
    role: LabRole | None = LabRole.VIEWER
    success: int = 200
    variant: str = ""
    key: str = "id"
    listed: Callable[[LabRows], set[Any]] | None = None
    names: tuple[str, Callable[[LabRows], Any]] | None = None
    # A results:write token sees only the rows it sent itself (imports).
    hidden_from_results_write: bool = False
    # A token acts in its own lab whatever ?lab= says (batch-records).
    token_acts_in_own_lab: bool = False
    # A successful call changes the database (a write, not a check).
    changes: bool = False
    # A permission bug: (caller, target lab code) -> the reason, for a strict xfail of the
    # calls that show it (None for the others).
    bug: Callable[[Caller, str | None], str | None] | None = None


def expected_status(case: Case, caller: Caller, lab: Lab | None) -> int:
    """The status the API must answer `caller` with (see the module's docstring)."""
    if not caller.signed_in:
        return 401
    if caller.scope is not None and not (SCOPE_GRANTS[caller.scope] & case.scopes):
        return 403
    if case.kind is Kind.OBJECT:
        assert lab is not None
        acts_in = lab
        if case.token_acts_in_own_lab and caller.scope is not None:
            acts_in = None  # its own lab: rule 3 cannot apply
        if acts_in is not None and not caller.is_member(acts_in):
            return 404
        if case.hidden_from_results_write and caller.scope == TokenScope.RESULTS_WRITE:
            return 404
        assert caller.role is not None  # a member of the lab, by rule 3
        assert case.role is not None
        if caller.role.rank < case.role.rank:
            return 403
    return case.success


# Request builders
# ------------------------------------------------------------------------------


def listing(resource: str, rows: Callable[[LabRows], Any], key: str = "id") -> Case:
    def keys(lab_rows: LabRows) -> set[Any]:
        return {getattr(row, "pk" if key == "id" else key) for row in rows(lab_rows)}

    return Case(
        lambda world, _: Call(f"{API}/{resource}/", query={"page_size": 1000}),
        kind=Kind.LIST,
        key=key,
        listed=keys,
    )


def detail(resource: str, row: Callable[[LabRows], Any], key: str = "id", **extra: Any) -> Case:
    def value(rows: LabRows) -> Any:
        found = row(rows)
        return getattr(found, "pk" if key == "id" else key)

    return Case(
        lambda world, rows: Call(f"{API}/{resource}/{value(rows)}/"),
        key=key,
        names=(key, value),
        **extra,
    )


def batch_part(part: str) -> Case:
    return Case(lambda world, rows: Call(f"{API}/batches/{rows.lot}/{part}/"))


def assay_run_body(world: World, rows: LabRows) -> Call:
    body = {"lot_number": rows.lot, **nta("2026-03-09T10:00:00Z", "2e11 particle/mL")}
    del body["instrument"]  # a results:write token fills in its own
    return Call(f"{API}/assay-runs/", body, "application/json")


def import_body(world: World, rows: LabRows) -> Call:
    return Call(f"{API}/imports/", {"file": zetaview_upload(), "lot_number": rows.lot})


def batch_record_body(status: str) -> Callable[[World, LabRows], Call]:
    def build(world: World, rows: LabRows) -> Call:
        body = {
            "schema": "evqc.batch-record/1",
            "lot_number": f"EV-NEW-{rows.lab.code}",
            "product": {"code": MSC[0], "name": MSC[1]},
            "status": status,
        }
        return Call(f"{API}/batch-records/", body, "application/json", {"lab": rows.lab.code})

    return build


def batch_rows(rows: LabRows) -> Any:
    return Batch.objects.filter(lab=rows.lab)


def json_call(path: str, body: dict[str, Any], **query: Any) -> Call:
    return Call(f"{API}/{path}", body, "application/json", query)


def version(row: Any) -> int:
    """The version stored now (the world's copy may be older)."""
    return type(row).objects.get(pk=row.pk).version


def change(
    build: Callable[[World, LabRows], Call], role: LabRole, success: int = 200, **extra: Any
) -> Case:
    """A change only a token of the admin scope may make, as a person of `role` may."""
    return Case(build, scopes=ADMIN, role=role, success=success, changes=True, **extra)


def in_lab(build: Callable[[World, LabRows], Call], role: LabRole, **extra: Any) -> Case:
    """A creation in the lab `?lab=` names (a token's own lab, whatever it names)."""
    return change(build, role, 201, token_acts_in_own_lab=True, **extra)


def batch_change(
    part: str, body: dict[str, Any], role: LabRole = LabRole.ANALYST, **extra: Any
) -> Case:
    return change(lambda world, rows: json_call(f"batches/{rows.lot}/{part}", body), role, **extra)


NEW_LOT = "EV-NEW-1"
STEP = {"method": "ultracentrifugation", "parameters": {"g_force": "100000 x g"}}


# Operation (method, path template as the schema has it) -> its cases.
MATRIX: dict[tuple[str, str], tuple[Case, ...]] = {
    ("GET", "/api/v1/labs/"): (
        listing("labs", lambda rows: Lab.objects.filter(pk=rows.lab.pk), "code"),
    ),
    ("GET", "/api/v1/labs/{code}/"): (detail("labs", lambda rows: rows.lab, "code"),),
    ("GET", "/api/v1/products/"): (
        listing("products", lambda rows: Product.objects.filter(lab=rows.lab)),
    ),
    ("GET", "/api/v1/products/{id}/"): (detail("products", lambda rows: rows.product),),
    ("GET", "/api/v1/batches/"): (listing("batches", batch_rows, "lot_number"),),
    ("GET", "/api/v1/batches/{lot_number}/"): (
        detail("batches", lambda rows: Batch.objects.get(lot_number=rows.lot), "lot_number"),
    ),
    ("GET", "/api/v1/batches/{lot_number}/record/"): (batch_part("record"),),
    ("GET", "/api/v1/batches/{lot_number}/gaps/"): (batch_part("gaps"),),
    ("GET", "/api/v1/batches/{lot_number}/compliance/"): (batch_part("compliance"),),
    ("GET", "/api/v1/isolation-steps/"): (
        listing("isolation-steps", lambda rows: IsolationStep.objects.filter(batch__lab=rows.lab)),
    ),
    ("GET", "/api/v1/isolation-steps/{id}/"): (
        detail("isolation-steps", lambda rows: rows.isolation_step),
    ),
    ("GET", "/api/v1/storage/"): (
        listing("storage", lambda rows: Storage.objects.filter(batch__lab=rows.lab)),
    ),
    ("GET", "/api/v1/storage/{id}/"): (detail("storage", lambda rows: rows.storage),),
    ("GET", "/api/v1/assay-runs/"): (
        listing("assay-runs", lambda rows: AssayRun.objects.filter(batch__lab=rows.lab)),
    ),
    ("GET", "/api/v1/assay-runs/{id}/"): (detail("assay-runs", lambda rows: rows.assay_run),),
    ("POST", "/api/v1/assay-runs/"): (
        Case(
            assay_run_body, scopes=RESULTS_WRITE, role=LabRole.ANALYST, success=201, changes=True
        ),
    ),
    ("GET", "/api/v1/results/"): (
        listing("results", lambda rows: Result.objects.filter(assay_run__batch__lab=rows.lab)),
    ),
    ("GET", "/api/v1/results/{id}/"): (detail("results", lambda rows: rows.result),),
    ("GET", "/api/v1/specifications/"): (
        listing(
            "specifications", lambda rows: Specification.objects.filter(product__lab=rows.lab)
        ),
    ),
    ("GET", "/api/v1/specifications/{id}/"): (
        detail("specifications", lambda rows: rows.specification),
    ),
    ("GET", "/api/v1/reporting-gaps/"): (
        listing("reporting-gaps", lambda rows: ReportingGap.objects.filter(batch__lab=rows.lab)),
    ),
    ("GET", "/api/v1/reporting-gaps/{id}/"): (
        detail("reporting-gaps", lambda rows: rows.reporting_gap),
    ),
    ("GET", "/api/v1/audit-events/"): (
        listing("audit-events", lambda rows: AuditEvent.objects.filter(lab=rows.lab)),
    ),
    ("GET", "/api/v1/audit-events/{id}/"): (
        detail("audit-events", lambda rows: rows.audit_event),
    ),
    ("GET", "/api/v1/imports/"): (
        listing("imports", lambda rows: ImportJob.objects.filter(lab=rows.lab)),
    ),
    ("GET", "/api/v1/imports/{id}/"): (
        detail(
            "imports",
            lambda rows: rows.import_job,
            scopes=READ | RESULTS_WRITE,
            variant="sent_by_the_token",
        ),
        detail(
            "imports",
            lambda rows: rows.person_import_job,
            scopes=READ | RESULTS_WRITE,
            variant="sent_by_a_person",
            hidden_from_results_write=True,
        ),
    ),
    ("POST", "/api/v1/imports/"): (
        Case(import_body, scopes=RESULTS_WRITE, role=LabRole.ANALYST, success=202, changes=True),
    ),
    ("POST", "/api/v1/batch-records/"): (
        in_lab(batch_record_body("planned"), LabRole.ANALYST, variant="planned"),
        in_lab(batch_record_body("released"), LabRole.REVIEWER, variant="released"),
    ),
    ("POST", "/api/v1/products/"): (
        in_lab(
            lambda world, rows: json_call(
                "products/", {"code": "EXO-NEW", "name": "Exosomes"}, lab=rows.lab.code
            ),
            LabRole.ADMIN,
        ),
    ),
    ("PATCH", "/api/v1/products/{id}/"): (
        change(
            lambda world, rows: Call(
                f"{API}/products/{rows.product.pk}/",
                {"name": "Renamed", "version": version(rows.product), "reason": "New name"},
                "application/json",
            ),
            LabRole.ADMIN,
        ),
    ),
    ("POST", "/api/v1/batches/"): (
        in_lab(
            lambda world, rows: json_call(
                "batches/", {"lot_number": NEW_LOT, "product": MSC[0]}, lab=rows.lab.code
            ),
            LabRole.ANALYST,
        ),
    ),
    ("PATCH", "/api/v1/batches/{lot_number}/"): (
        change(
            lambda world, rows: Call(
                f"{API}/batches/{rows.lot}/",
                {
                    "description": "Harvest 3",
                    "version": version(Batch.objects.get(lot_number=rows.lot)),
                    "reason": "Typo",
                },
                "application/json",
            ),
            LabRole.ANALYST,
        ),
    ),
    ("POST", "/api/v1/batches/{lot_number}/transition/"): (
        batch_change("transition/", {"to": "under_review"}, variant="to_review"),
        batch_change(
            "transition/",
            {"to": "quarantined", "reason": "Sterility pending"},
            LabRole.REVIEWER,
            variant="hold",
        ),
    ),
    ("PUT", "/api/v1/batches/{lot_number}/production/"): (
        batch_change("production/", {"base_medium": "DMEM", "passage_number": 5}),
    ),
    ("PUT", "/api/v1/batches/{lot_number}/storage/"): (
        batch_change("storage/", {"temperature": "-196 °C", "buffer": "PBS", "reason": "LN2"}),
    ),
    ("POST", "/api/v1/batches/{lot_number}/isolation-steps/"): (
        batch_change(
            "isolation-steps/", {"order": 2, "method": "sec", "parameters": {}}, success=201
        ),
    ),
    ("POST", "/api/v1/batches/{lot_number}/exceptions/"): (
        batch_change(
            "exceptions/", {"rule": "M18-MRK-01", "justification": "At the CRO"}, success=201
        ),
    ),
    ("PUT", "/api/v1/isolation-steps/{id}/"): (
        change(
            lambda world, rows: json_call(
                f"isolation-steps/{rows.isolation_step.pk}/", {**STEP, "reason": "Corrected"}
            ),
            LabRole.ANALYST,
        ),
    ),
    ("DELETE", "/api/v1/isolation-steps/{id}/"): (
        change(
            lambda world, rows: Call(
                f"{API}/isolation-steps/{rows.isolation_step.pk}/",
                query={"reason": "Recorded by mistake"},
            ),
            LabRole.ANALYST,
            success=204,
        ),
    ),
    ("POST", "/api/v1/specifications/"): (
        change(
            lambda world, rows: json_call(
                "specifications/",
                {
                    "product": rows.product.pk,
                    "attribute": "protein_concentration",
                    "upper_limit": "200 µg/mL",
                },
            ),
            LabRole.ADMIN,
            success=201,
        ),
    ),
    ("POST", "/api/v1/specifications/{id}/revise/"): (
        change(
            lambda world, rows: json_call(
                f"specifications/{rows.specification.pk}/revise/",
                {"lower_limit": "2e10 particle/mL", "reason": "Tighter CQA"},
            ),
            LabRole.ADMIN,
            success=201,
        ),
    ),
    ("POST", "/api/v1/results/"): (
        change(
            lambda world, rows: json_call(
                "results/",
                {
                    "assay_run": rows.assay_run.pk,
                    "attribute": "size_d50",
                    "value": 101,
                    "unit": "nm",
                },
            ),
            LabRole.ANALYST,
            success=201,
        ),
    ),
    ("PATCH", "/api/v1/results/{id}/"): (
        change(
            lambda world, rows: Call(
                f"{API}/results/{rows.result.pk}/",
                {"value": "2.2e11 particle/mL", "version": version(rows.result), "reason": "Typo"},
                "application/json",
            ),
            LabRole.ANALYST,
        ),
    ),
    ("GET", "/api/v1/quantity-kinds/"): (
        Case(lambda world, _: Call(f"{API}/quantity-kinds/"), kind=Kind.GLOBAL, role=None),
    ),
    ("GET", "/api/v1/quantity-kinds/{name}/"): (
        Case(
            lambda world, _: Call(f"{API}/quantity-kinds/particle_concentration/"),
            kind=Kind.GLOBAL,
            role=None,
        ),
    ),
    ("POST", "/api/v1/quantity-kinds/{name}/check/"): (
        # Checks a value and stores nothing: any token may call it (evqc.api).
        Case(
            lambda world, _: Call(
                f"{API}/quantity-kinds/particle_concentration/check/",
                {"quantity": "2.1e11 particle/mL"},
                "application/json",
            ),
            kind=Kind.GLOBAL,
            scopes=frozenset(TokenScope),
            role=None,
        ),
    ),
}


def case_name(method: str, path: str, case: Case) -> str:
    """ "POST /api/v1/batch-records/ (released)": an operation and its variant."""
    return f"{method} {path}" + (f" ({case.variant})" if case.variant else "")


def matrix_cases() -> Iterator[tuple[str, str, Case]]:
    for (method, path), cases in MATRIX.items():
        for case in cases:
            yield method, path, case
