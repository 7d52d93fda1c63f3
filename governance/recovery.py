"""Keeping background work whole across worker faults and downtime (docs/reliability.md).

- A worker killed mid-task leaves its message unacknowledged; the broker hands it to a worker
  again (`acks_late`, `task_reject_on_worker_lost`, the Redis visibility timeout). The new
  delivery carries the same task id: `metrics_delivery_settle` finds the run the lost delivery
  left "running", marks it failed, frees the metrics lock and the scheduled day it held, so that
  the new delivery computes once; a delivery of a task whose run already succeeded does nothing.
- Daily beat jobs (the nightly metrics run, the morning reminders) run through `daily_job_run`,
  which claims (job, day) with a unique row first: whether beat sent the job on time, beat
  re-sent it on restart, or `catch_up` sent it after a night with beat or the workers down, it
  runs once for the day, never twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from celery.schedules import crontab
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from governance import metrics_services, notifications
from governance.models import DailyJobRun, MetricLock, MetricRun
from portfolio import task_queue

logger = logging.getLogger(__name__)

WORKER_LOST = "The worker running it was lost; the task was delivered again."
ABANDONED = "Abandoned: no progress for longer than the longest task may run."
# A daily job is caught up only once this long after its time, so that beat's own message goes
# first when everything is up.
CATCH_UP_GRACE = dt.timedelta(minutes=5)
# A redelivered message starts at most this long after the delivery it replaces.
REDELIVERY_WINDOW = dt.timedelta(days=2)
RUN_DAILY_TASK = "governance.run_daily"


# --- Redelivered metrics tasks -------------------------------------------------------------------


def metrics_delivery_settle(*, task_id: str) -> MetricRun | None:
    """Settle what an earlier delivery of the task `task_id` left, before this one runs.

    Returns the run when an earlier delivery already succeeded (nothing to do again); otherwise
    marks the runs an earlier delivery left running as failed (its worker was lost: no other
    delivery of one task runs at the same time while the visibility timeout exceeds the time
    limit), releases the lock and the scheduled day they held, and returns None.
    """
    if not task_id:
        return None
    recent = MetricRun.objects.filter(
        kind__in=MetricRun.Kind.values,
        started_at__gte=timezone.now() - REDELIVERY_WINDOW,
        task_id=task_id[:64],
    )
    done = recent.filter(status=MetricRun.Status.SUCCEEDED).order_by("-started_at").first()
    if done is not None:
        logger.info("task %s delivered again: run %s already succeeded", task_id, done.pk)
        return done
    _fail_runs(list(recent.filter(status=MetricRun.Status.RUNNING).values_list("pk", flat=True)))
    return None


def _fail_runs(run_ids: list[int], error: str = WORKER_LOST) -> int:
    if not run_ids:
        return 0
    with transaction.atomic():
        failed = MetricRun.objects.filter(pk__in=run_ids, status=MetricRun.Status.RUNNING).update(
            status=MetricRun.Status.FAILED,
            finished_at=timezone.now(),
            error=error,
            scheduled_for=None,  # the day is given back, as a failed run does
        )
        MetricLock.objects.filter(holder_id__in=run_ids).update(holder=None, acquired_at=None)
    logger.warning("metrics runs %s marked failed: %s", run_ids, error)
    return failed


def metrics_runs_abandoned_fail(*, now: dt.datetime | None = None) -> int:
    """Mark failed the runs left running with no heartbeat for longer than any task may run
    (their worker died and the message was lost too); returns how many."""
    cutoff = (now or timezone.now()) - metrics_services.lock_stale_after()
    stale = MetricRun.objects.filter(
        kind__in=MetricRun.Kind.values, status=MetricRun.Status.RUNNING
    ).filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff))
    return _fail_runs(list(stale.values_list("pk", flat=True)), ABANDONED)


# --- Daily jobs ----------------------------------------------------------------------------------


def _metrics_nightly(day: dt.date, task_id: str) -> dict[str, Any] | None:
    if metrics_delivery_settle(task_id=task_id) is not None:
        return {"run": None, "note": "already done by an earlier delivery"}
    run = metrics_services.metrics_compute(
        kind=MetricRun.Kind.FULL, scheduled_for=day, task_id=task_id
    )
    if run.status != MetricRun.Status.SUCCEEDED:
        return None  # skipped (another run held the lock) or still running elsewhere: not done
    return {"run": run.pk}


def _notify_overdue(day: dt.date, task_id: str) -> dict[str, Any]:
    return {"sent": notifications.notify_overdue(today=day)}


def _notify_conditions_due(day: dt.date, task_id: str) -> dict[str, Any]:
    return {"sent": notifications.notify_conditions_due(today=day)}


# Beat entry name → what it does for a day: a JSON-ready outcome, or None when it could not be
# done now (the day stays open for a later attempt).
DAILY_JOBS: dict[str, Callable[[dt.date, str], dict[str, Any] | None]] = {
    "metrics-nightly": _metrics_nightly,
    "governance-notify-overdue": _notify_overdue,
    "governance-notify-conditions-due": _notify_conditions_due,
}


class UnknownJob(ValueError):
    """Not a daily job."""


def daily_job_time(job: str) -> dt.time:
    """The local time of day at which beat sends `job` (its crontab entry in settings)."""
    entry = settings.CELERY_BEAT_SCHEDULE.get(job)
    schedule = entry.get("schedule") if entry else None
    if not isinstance(schedule, crontab):
        raise UnknownJob(f"'{job}' is not a once-a-day crontab entry of CELERY_BEAT_SCHEDULE")
    # crontab parses its fields into sets of ints; celery-types' stub leaves them out.
    hours: set[int] = schedule.hour  # type: ignore[attr-defined]
    minutes: set[int] = schedule.minute  # type: ignore[attr-defined]
    if len(hours) != 1 or len(minutes) != 1:
        raise UnknownJob(f"'{job}' is not a once-a-day crontab entry of CELERY_BEAT_SCHEDULE")
    return dt.time(next(iter(hours)), next(iter(minutes)))


def _claim(*, job: str, day: dt.date, task_id: str) -> DailyJobRun | None:
    """Claim (job, day): a new row, or the unfinished row of an earlier delivery of this task or
    of a run that died long ago. None when the day is done or being done by someone else."""
    now = timezone.now()
    try:
        with transaction.atomic():
            return DailyJobRun.objects.create(job=job, day=day, task_id=task_id, started_at=now)
    except IntegrityError:
        pass
    ours = Q(task_id=task_id) if task_id else Q(pk__in=[])
    dead = Q(started_at__lt=now - metrics_services.lock_stale_after())
    taken = (
        DailyJobRun.objects.filter(job=job, day=day, finished_at__isnull=True)
        .filter(ours | dead)
        .update(task_id=task_id, started_at=now, attempts=F("attempts") + 1)
    )
    return DailyJobRun.objects.get(job=job, day=day) if taken else None


def daily_job_run(*, job: str, day: dt.date, task_id: str = "") -> DailyJobRun | None:
    """Run the daily `job` for `day` unless it ran (or is running) for that day already.

    Returns the day's finished row (this call's, or the earlier one's: `attempts` and
    `started_at` tell), or None when it is not done (running elsewhere, or could not be done
    now). A job that fails or cannot be done now gives the day back (its row is deleted), so that
    a retry or the next catch-up runs it.
    """
    if job not in DAILY_JOBS:
        raise UnknownJob(f"unknown daily job '{job}'")
    claim = _claim(job=job, day=day, task_id=task_id[:64])
    if claim is None:
        return DailyJobRun.objects.filter(job=job, day=day, finished_at__isnull=False).first()
    try:
        outcome = DAILY_JOBS[job](day, task_id)
    except Exception:  # given back, then raised for the task to retry or report
        DailyJobRun.objects.filter(pk=claim.pk).delete()
        raise
    if outcome is None:
        DailyJobRun.objects.filter(pk=claim.pk).delete()
        return None
    DailyJobRun.objects.filter(pk=claim.pk).update(finished_at=timezone.now(), outcome=outcome)
    claim.refresh_from_db()
    return claim


def catch_up(*, now: dt.datetime | None = None) -> list[str]:
    """Queue, once, each daily job whose time today (as of `now`) has passed and that has not
    run today.

    Only today's run is made up (a reminder or a metrics run for a past day would be stale).
    Runs left "running" by dead workers are marked failed first. Returns the jobs queued; two
    catch-ups at once may both queue one, and the (job, day) claim lets only one of them run.
    A job that fails gives its day back, so the next catch-up (10 minutes later) tries again.
    """
    metrics_runs_abandoned_fail()  # by the clock, whatever `now` the schedule is read at
    # A day is taken when its job finished, or started less than the longest task ago.
    started_after = timezone.now() - metrics_services.lock_stale_after()
    live = Q(finished_at__isnull=False) | Q(started_at__gte=started_after)
    local = timezone.localtime(now or timezone.now())
    day = local.date()
    queued = []
    for job in DAILY_JOBS:
        due = dt.datetime.combine(day, daily_job_time(job), tzinfo=local.tzinfo) + CATCH_UP_GRACE
        if local < due or DailyJobRun.objects.filter(job=job, day=day).filter(live).exists():
            continue
        logger.warning("daily job %s of %s was missed: catching up", job, day)
        try:
            with transaction.atomic():
                task_queue.enqueue(RUN_DAILY_TASK, job, day.isoformat())
        except Exception:  # embedded mode ran it here and it failed: the others still run
            logger.exception("catching up %s of %s failed; the next catch-up tries again", job, day)
        queued.append(job)
    return queued
