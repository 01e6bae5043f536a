"""`/healthz` for load balancers and orchestrators: can evqc reach its database and broker?"""

from django.conf import settings
from django.db import connection as default_connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.celery_app import app as celery_app

OK = "ok"
UNAVAILABLE = "unavailable"
# No broker: tasks run in the web process, so there is nothing to reach.
EAGER = "eager"


def database_status(connection: BaseDatabaseWrapper = default_connection) -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any failure to talk to the database is "unavailable"
        return UNAVAILABLE
    return OK


def broker_status() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return EAGER
    try:
        with celery_app.connection_for_write(settings.CELERY_BROKER_URL) as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=2)
    except Exception:  # refused, timed out, bad credentials: all "unavailable"
        return UNAVAILABLE
    return OK


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and broker answer, 503 naming the one that does not.

    Says only "ok" or "unavailable": error texts can carry hostnames and credentials.
    """
    statuses = {"database": database_status(), "broker": broker_status()}
    healthy = all(state in (OK, EAGER) for state in statuses.values())
    return JsonResponse(statuses, status=200 if healthy else 503)
