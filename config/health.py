"""`/healthz`: database, broker and the age of the last metrics run, for monitoring.

Lives in `config` because it looks at both apps. Open to anonymous callers; it shows no data.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

# Older than this, the metrics are reported stale (the nightly run plus slack).
METRICS_STALE_AFTER_S = 36 * 3600


def _check_broker() -> str:
    url = settings.CELERY_BROKER_URL
    if not url:
        return "not configured (tasks run in-process)"
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    client.ping()
    return "ok"


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, object] = {}
    healthy = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # any failure is reported, not raised
        checks["database"] = f"error: {type(exc).__name__}"
        healthy = False
    try:
        checks["broker"] = _check_broker()
    except Exception as exc:
        checks["broker"] = f"error: {type(exc).__name__}"
        healthy = False
    if checks["database"] == "ok":
        from governance.metrics_selectors import last_run_age_seconds

        age = last_run_age_seconds()
        checks["metrics_last_run_age_s"] = None if age is None else round(age)
        checks["metrics"] = (
            "never computed" if age is None else "stale" if age > METRICS_STALE_AFTER_S else "ok"
        )
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", "checks": checks},
        status=200 if healthy else 503,
    )
