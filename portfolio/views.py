"""Server-rendered pages of the registry (thin: one selector, one template)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portfolio import roles, selectors


@login_required
def home(request: HttpRequest) -> HttpResponse:
    projects = selectors.project_queryset(user=request.user)
    by_stage = dict(projects.values_list("stage").annotate(n=Count("id")).order_by())
    context = {
        "total": sum(by_stage.values()),
        "by_stage": by_stage,
        "is_reviewer": roles.is_reviewer(request.user),
        "is_executive": roles.is_executive(request.user),
        "memberships": request.user.memberships.select_related("business_unit"),
    }
    return render(request, "portfolio/home.html", context)


@login_required
def project_detail(request: HttpRequest, pk: int) -> HttpResponse:
    project = selectors.project_get(user=request.user, pk=pk)
    history = selectors.project_history(user=request.user, project=project)[:50]
    return render(
        request,
        "portfolio/project_detail.html",
        {"project": project, "history": history},
    )


def _check_redis() -> str:
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
    """Liveness and dependencies: database, broker. Open to anonymous callers (no data)."""
    checks: dict[str, str] = {}
    healthy = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
        healthy = False
    try:
        checks["broker"] = _check_redis()
    except Exception as exc:
        checks["broker"] = f"error: {type(exc).__name__}"
        healthy = False
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", "checks": checks},
        status=200 if healthy else 503,
    )
