"""Celery tasks of the metrics engine and of the daily jobs: thin, named, one service each.

Every metrics task first settles what an earlier delivery of the same message left (a worker
killed mid-run: see `governance.recovery`). Notification tasks live in
`governance.notification_tasks`.
"""

from __future__ import annotations

import datetime as dt
from typing import TypedDict

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from governance import metrics_services, recovery
from governance.models import MetricRun


class RetryOptions(TypedDict):
    """Retry settings of a task: transient errors only, with backoff and a cap."""

    autoretry_for: tuple[type[BaseException], ...]
    retry_backoff: int
    retry_backoff_max: int
    max_retries: int


RETRY: RetryOptions = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": 10,
    "retry_backoff_max": 300,
    "max_retries": 3,
}


def _task_id(task: object) -> str:
    return str(getattr(getattr(task, "request", None), "id", "") or "")


def _day(day: str | None) -> dt.date:
    return dt.date.fromisoformat(day) if day else timezone.localdate()


@shared_task(bind=True, name="governance.compute_metrics", **RETRY)
def compute_metrics(self: object, scheduled: bool = False, day: str | None = None) -> int | None:
    """A full run. `scheduled=True` (older nightly messages) makes it today's nightly run, done
    once for the day whatever the number of deliveries (see `run_daily`)."""
    if scheduled or day:
        done = recovery.daily_job_run(job="metrics-nightly", day=_day(day), task_id=_task_id(self))
        return done.outcome.get("run") if done is not None else None
    earlier = recovery.metrics_delivery_settle(task_id=_task_id(self))
    if earlier is not None:
        return earlier.pk
    return metrics_services.metrics_compute(kind=MetricRun.Kind.FULL, task_id=_task_id(self)).pk


@shared_task(bind=True, name="governance.compute_metrics_incremental", **RETRY)
def compute_metrics_incremental(self: object) -> int:
    earlier = recovery.metrics_delivery_settle(task_id=_task_id(self))
    if earlier is not None:
        return earlier.pk
    run = metrics_services.metrics_compute(kind=MetricRun.Kind.INCREMENTAL, task_id=_task_id(self))
    return run.pk


@shared_task(bind=True, name="governance.compute_metrics_if_changed", ignore_result=True, **RETRY)
def compute_metrics_if_changed(self: object) -> int | None:
    """Every minute (beat): a run only when something changed since the last successful one."""
    earlier = recovery.metrics_delivery_settle(task_id=_task_id(self))
    if earlier is not None:
        return earlier.pk
    run = metrics_services.metrics_compute_if_changed(task_id=_task_id(self))
    return run.pk if run is not None else None


@shared_task(bind=True, name="governance.snapshot_metrics", **RETRY)
def snapshot_metrics(self: object, day: str | None = None) -> int | None:
    """The day's snapshot if no run of that day succeeded yet (once per day). Beat no longer
    sends it (`catch_up` makes up a missed nightly run); kept for messages already queued."""
    earlier = recovery.metrics_delivery_settle(task_id=_task_id(self))
    if earlier is not None:
        return earlier.pk
    run = metrics_services.metrics_snapshot_day(day=_day(day), task_id=_task_id(self))
    return run.pk if run is not None else None


@shared_task(bind=True, name="governance.run_daily", **RETRY)
def run_daily(self: object, job: str, day: str | None = None) -> dict[str, object] | None:
    """A daily beat job (`recovery.DAILY_JOBS`) for `day` (default today), once per day."""
    done = recovery.daily_job_run(job=job, day=_day(day), task_id=_task_id(self))
    return done.outcome if done is not None else None


@shared_task(name="governance.catch_up", ignore_result=True, **RETRY)
def catch_up(at: str | None = None) -> list[str]:
    """Every 10 minutes (beat): queue today's daily jobs that were missed (once). `at`, an ISO
    date-time, reads the schedule as of that moment instead of now."""
    moment = dt.datetime.fromisoformat(at) if at else None
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return recovery.catch_up(now=moment)
