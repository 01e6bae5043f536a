from django.db import connection
from django.urls import reverse

from config.health import broker_status, database_status

# Nothing listens on port 1: a real refused connection, not a mock.
UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"


def test_healthz_is_ok_when_database_and_broker_answer(client, db):
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_is_503_naming_an_unreachable_broker(client, db, settings):
    settings.CELERY_BROKER_URL = UNREACHABLE_BROKER

    response = client.get(reverse("healthz"))

    assert response.status_code == 503
    assert response.json() == {"database": "ok", "broker": "unavailable"}


def test_a_single_process_evqc_has_no_broker_to_reach(client, db, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_BROKER_URL = UNREACHABLE_BROKER

    assert broker_status() == "eager"
    assert client.get(reverse("healthz")).status_code == 200


def test_an_unreachable_database_is_unavailable(db):
    broken = dict(connection.settings_dict)
    if connection.vendor == "sqlite":
        broken["NAME"] = "/nonexistent-directory/evqc.sqlite3"
    else:
        broken["PORT"] = 1
    unreachable = connection.__class__(broken, alias="unreachable")

    assert database_status(unreachable) == "unavailable"
    assert database_status(connection) == "ok"
