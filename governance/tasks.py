"""Celery tasks of the metrics engine: thin, named, one service call each.

Notification tasks live in `governance.notification_tasks`.
"""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from governance import metrics_services
from governance.models import MetricRun

RETRY = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": 10,
    "retry_backoff_max": 300,
    "max_retries": 3,
}


def _task_id(task: object) -> str:
    return str(getattr(getattr(task, "request", None), "id", "") or "")


@shared_task(bind=True, name="governance.compute_metrics", **RETRY)
def compute_metrics(self: object, scheduled: bool = False, day: str | None = None) -> int:
    """A full run. The nightly beat entry passes `scheduled=True`: the run stands for today and
    runs once for it whatever the number of deliveries."""
    scheduled_for = dt.date.fromisoformat(day) if day else None
    if scheduled and scheduled_for is None:
        scheduled_for = timezone.localdate()
    run = metrics_services.metrics_compute(
        kind=MetricRun.Kind.FULL, scheduled_for=scheduled_for, task_id=_task_id(self)
    )
    return run.pk


@shared_task(bind=True, name="governance.compute_metrics_incremental", **RETRY)
def compute_metrics_incremental(self: object) -> int:
    run = metrics_services.metrics_compute(kind=MetricRun.Kind.INCREMENTAL, task_id=_task_id(self))
    return run.pk


@shared_task(bind=True, name="governance.compute_metrics_if_changed", ignore_result=True, **RETRY)
def compute_metrics_if_changed(self: object) -> int | None:
    """Every minute (beat): a run only when something changed since the last successful one."""
    run = metrics_services.metrics_compute_if_changed(task_id=_task_id(self))
    return run.pk if run is not None else None


@shared_task(bind=True, name="governance.snapshot_metrics", **RETRY)
def snapshot_metrics(self: object, day: str | None = None) -> int | None:
    """The day's snapshot if no run of that day succeeded yet (catch-up, once per day)."""
    when = dt.date.fromisoformat(day) if day else timezone.localdate()
    run = metrics_services.metrics_snapshot_day(day=when, task_id=_task_id(self))
    return run.pk if run is not None else None
