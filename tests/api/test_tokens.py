"""API tokens: created by a lab admin with `manage.py create_api_token`, shown once,
stored hashed, confined to one lab and to what their scope allows."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from assays.models import Instrument
from batches.models import ApiToken, AuditEvent, LabMembership
from batches.tokens import NEEDS_INSTRUMENT, key_hash
from evqc.vocabulary import LabRole, TokenScope
from tests.api.conftest import nta

pytestmark = pytest.mark.django_db


def create_token(name: str, scope: str, *, lab: str = "lab-a", user: str = "adam", **extra):
    out, err = io.StringIO(), io.StringIO()
    args = [name, "--scope", scope, "--lab", lab, "--user", user]
    for option, value in extra.items():
        args += [f"--{option}", value]
    call_command("create_api_token", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def bearer(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


@pytest.fixture
def ns300(site, batches):
    return Instrument.objects.get_or_create(lab=site.lab, name="NS300")[0]


class TestCreate:
    def test_the_key_is_shown_once_and_only_its_hash_is_stored(self, site, ns300):
        key, message = create_token("nta-1", "results:write", instrument="NS300")
        assert "Copy the key now" in message
        token = ApiToken.objects.get(name="nta-1")
        assert token.key_hash == key_hash(key)
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM batches_apitoken")
            stored = [str(value) for row in cursor.fetchall() for value in row]
        assert not any(key in value or value in key for value in stored if len(value) > 20)
        assert AuditEvent.objects.filter(action="evqc.api_token.created").count() == 1

    @pytest.mark.parametrize("scope", list(TokenScope))
    def test_a_token_is_a_member_of_one_lab_with_its_scopes_role(self, site, ns300, scope):
        extra = {"instrument": "NS300"} if scope == TokenScope.RESULTS_WRITE else {}
        create_token("t", scope.value, **extra)
        token = ApiToken.objects.get(name="t")
        memberships = LabMembership.objects.filter(user=token.user)
        assert [(m.lab, m.role) for m in memberships] == [(site.lab, scope.role.value)]
        assert not token.user.has_usable_password()

    def test_results_write_needs_an_instrument_of_the_lab(self, site, ns300):
        with pytest.raises(CommandError, match=re.escape(NEEDS_INSTRUMENT)):
            create_token("t", "results:write")
        with pytest.raises(CommandError, match='no instrument named "Other"'):
            create_token("t", "results:write", instrument="Other")
        assert not ApiToken.objects.exists()

    def test_only_a_lab_admin_creates_tokens(self, site):
        with pytest.raises(CommandError, match="needs the admin role"):
            create_token("t", "read", user="ana")
        with pytest.raises(CommandError, match="not a member of lab lab-a"):
            create_token("t", "read", user="bea")
        assert not ApiToken.objects.exists()

    def test_names_are_unique(self, site):
        create_token("t", "read")
        with pytest.raises(CommandError, match='named "t" already exists'):
            create_token("t", "admin")


class TestAuthentication:
    def test_a_token_reads_its_own_labs_batches_only(self, client, batches):
        key, _ = create_token("reader", "read")
        response = client.get("/api/v1/batches/", **bearer(key))
        assert response.status_code == 200
        lots = {row["lot_number"] for row in response.json()["results"]}
        assert lots == {lot for lot, batch in batches.items() if batch.lab.code == "lab-a"}
        assert client.get("/api/v1/batches/EV-B1/", **bearer(key)).status_code == 404

    @pytest.mark.parametrize(
        "header",
        ["Bearer evqc_000000000000_nope", "Bearer not-a-key", "Bearer", "Bearer a b"],
    )
    def test_a_bad_key_is_refused(self, client, site, header):
        create_token("reader", "read")
        response = client.get("/api/v1/batches/", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401
        assert response.json()["message"]

    def test_a_revoked_token_is_refused_at_once(self, client, site):
        key, _ = create_token("reader", "read")
        assert client.get("/api/v1/batches/", **bearer(key)).status_code == 200
        call_command("revoke_api_token", "reader", "--user", "adam", stdout=io.StringIO())
        response = client.get("/api/v1/batches/", **bearer(key))
        assert response.status_code == 401
        assert AuditEvent.objects.filter(action="evqc.api_token.revoked").count() == 1

    def test_a_token_user_cannot_sign_in_to_the_portal(self, client, site):
        create_token("reader", "read")
        assert not client.login(username="token:reader", password="")


class TestScopes:
    def test_a_read_token_cannot_post(self, client, batches):
        key, _ = create_token("reader", "read")
        body = {"lot_number": "EV-A1", **nta("2026-03-09T10:00:00Z", "1e11 particle/mL")}
        response = client.post(
            "/api/v1/assay-runs/", body, content_type="application/json", **bearer(key)
        )
        assert response.status_code == 403
        assert "scope (read) does not allow POST /api/v1/assay-runs/" in response.json()["message"]

    def test_a_results_write_token_posts_results_and_reads_nothing_else(
        self, client, batches, ns300
    ):
        key, _ = create_token("nta-1", "results:write", instrument="NS300")
        body = {"lot_number": "EV-A1", **nta("2026-03-09T10:00:00Z", "1e11 particle/mL")}
        response = client.post(
            "/api/v1/assay-runs/", body, content_type="application/json", **bearer(key)
        )
        assert response.status_code == 201, response.json()
        for path in ("/api/v1/batches/", "/api/v1/results/", "/api/v1/audit-events/"):
            assert client.get(path, **bearer(key)).status_code == 403, path

    def test_a_results_write_token_posts_for_its_own_instrument_only(self, client, batches, ns300):
        key, _ = create_token("nta-1", "results:write", instrument="NS300")
        body = {
            "lot_number": "EV-A1",
            **nta("2026-03-09T10:00:00Z", "1e11 particle/mL"),
            "instrument": "ZetaView",
        }
        response = client.post(
            "/api/v1/assay-runs/", body, content_type="application/json", **bearer(key)
        )
        assert response.status_code == 403
        assert response.json()["extra"]["fields"]["instrument"][0]["code"] == "wrong_instrument"

    def test_a_results_write_token_cannot_import_batch_records(self, client, batches, ns300):
        key, _ = create_token("nta-1", "results:write", instrument="NS300")
        response = client.post(
            "/api/v1/batch-records/", {}, content_type="application/json", **bearer(key)
        )
        assert response.status_code == 403

    def test_an_admin_token_acts_as_the_labs_admin(self, client, batches):
        key, _ = create_token("mes", "admin")
        document = {
            "schema": "evqc.batch-record/1",
            "lot_number": "EV-A9",
            "product": {"code": "MSC-EV", "name": "MSC small EVs"},
            "status": "planned",
        }
        response = client.post(
            "/api/v1/batch-records/", document, content_type="application/json", **bearer(key)
        )
        assert response.status_code == 201, response.json()
        assert response.json()["lot_number"] == "EV-A9"
        token = ApiToken.objects.get(name="mes")
        created = AuditEvent.objects.filter(batch__lot_number="EV-A9").first()
        assert created.actor == token.user
        assert LabMembership.objects.get(user=token.user).role == LabRole.ADMIN
