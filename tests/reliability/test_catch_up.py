"""Beat and workers down for a night: each missed daily job is caught up once, never twice."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from governance import metrics_services, notifications, recovery, tasks
from governance.models import DailyJobRun, MetricLock, MetricRun
from portfolio.models import AuditEvent, OutboxMessage
from tests.celery_worker import wait_for
from tests.factories import ProjectFactory
from tests.governance.factories import ReviewFactory
from tests.reliability.test_worker_faults import overlapping_portfolio

JOBS = sorted(recovery.DAILY_JOBS)
JOBS_IN_ORDER = list(recovery.DAILY_JOBS)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


@pytest.fixture
def night_down(transactional_db, unit, lead):
    """Everything last ran two days ago; a run was left 'running' by a worker that died before
    the night (holding the metrics lock); two reviews are overdue."""
    today = timezone.localdate()
    before = today - dt.timedelta(days=2)
    overlapping_portfolio()
    MetricRun.objects.create(
        kind=MetricRun.Kind.FULL,
        status=MetricRun.Status.SUCCEEDED,
        started_at=at(before, 2, 30),
        finished_at=at(before, 2, 31),
        scheduled_for=before,
    )
    dead = MetricRun.objects.create(
        kind=MetricRun.Kind.INCREMENTAL,
        status=MetricRun.Status.RUNNING,
        started_at=at(before, 18),
        heartbeat_at=at(before, 18),
    )
    MetricLock.objects.create(
        name=metrics_services.LOCK_NAME, holder=dead, acquired_at=at(before, 18)
    )
    for job in JOBS:
        DailyJobRun.objects.create(
            job=job, day=before, started_at=at(before, 7), finished_at=at(before, 7, 1)
        )
    late = today - dt.timedelta(days=3)
    for name in ("Late review one", "Late review two"):
        ReviewFactory(project=ProjectFactory(name=name, business_unit=unit), due_date=late)
    return {"today": today, "dead": dead}


@pytest.fixture
def concurrent_writers(monkeypatch):
    """SQLite only: threads that write take the database's write lock when their transaction
    begins. With SQLite's default (deferred) transactions, a transaction that read and then
    writes while another thread writes fails at once with "database is locked" (Celery would
    retry it); this test is about the catch-up's own claims, so it avoids that SQLite trait.
    PostgreSQL runs the same test with its row locks and unique keys, as production does."""
    if connection.vendor == "sqlite":
        monkeypatch.setitem(connection.settings_dict["OPTIONS"], "transaction_mode", "IMMEDIATE")


def run_concurrently(function, times: int = 2) -> list[object]:
    """Call `function` from `times` threads at once (each with its own database connection)."""
    barrier = threading.Barrier(times)
    results: list[object] = []
    errors: list[BaseException] = []

    def call() -> None:
        try:
            barrier.wait()
            results.append(function())
        except BaseException as exc:  # reported to the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def test_two_catch_ups_at_once_after_a_night_down_run_each_missed_job_once(
    night_down, concurrent_writers
):
    today = night_down["today"]
    # when beat and a worker come back at 09:00 and two catch-ups run at the same moment
    results = run_concurrently(lambda: recovery.catch_up(now=at(today, 9)))

    # then every missed job was queued by at least one of them
    assert set(JOBS) == {job for queued in results for job in queued}
    # and each ran exactly once for today
    days = DailyJobRun.objects.filter(day=today).order_by("job")
    assert [(d.job, d.attempts) for d in days] == [(job, 1) for job in JOBS]
    assert all(d.finished_at is not None for d in days)
    # one nightly metrics run for today, which could run because the dead run was cleared
    todays = MetricRun.objects.filter(started_at__date=today)
    assert [(r.kind, r.status, r.scheduled_for) for r in todays] == [("full", "succeeded", today)]
    dead = MetricRun.objects.get(pk=night_down["dead"].pk)
    assert dead.status == MetricRun.Status.FAILED and dead.error == recovery.ABANDONED
    assert MetricLock.objects.get().holder_id is None
    # one reminder per overdue review
    assert len(mail.outbox) == 2
    assert AuditEvent.objects.filter(action=notifications.SENT_ACTION).count() == 2

    # when a third catch-up runs later, and beat, restarted, re-sends the entries it missed
    assert recovery.catch_up(now=at(today, 10)) == []
    for job in JOBS:
        tasks.run_daily.apply(kwargs={"job": job}).get()
    tasks.compute_metrics.apply(kwargs={"scheduled": True}).get()

    # then nothing runs twice
    assert MetricRun.objects.filter(started_at__date=today).count() == 1
    assert len(mail.outbox) == 2
    assert DailyJobRun.objects.filter(day=today, attempts=1).count() == len(JOBS)


def test_catch_up_waits_for_each_job_time_and_only_makes_up_today(night_down):
    today = night_down["today"]
    # before the nightly run's time (02:30) nothing of today is due; yesterday is not replayed
    assert recovery.catch_up(now=at(today, 1)) == []
    assert not DailyJobRun.objects.filter(day__gt=today - dt.timedelta(days=2)).exists()
    # beat's own message goes first: within the grace period after 02:30, nothing either
    assert recovery.catch_up(now=at(today, 2, 32)) == []
    # after it, only the nightly metrics run
    assert recovery.catch_up(now=at(today, 3)) == ["metrics-nightly"]
    assert len(mail.outbox) == 0
    # after 07:05 (+5 min) the reminders too
    assert recovery.catch_up(now=at(today, 7, 11)) == [
        "governance-notify-overdue",
        "governance-notify-conditions-due",
    ]
    assert len(mail.outbox) == 2
    assert MetricRun.objects.filter(started_at__date=today).count() == 1


def test_a_failed_catch_up_gives_the_day_back(night_down, monkeypatch):
    today = night_down["today"]
    # given the reminders fail when caught up (embedded mode: they run inside the catch-up)
    monkeypatch.setattr(notifications, "notify_overdue", lambda **kw: 1 / 0)
    assert recovery.catch_up(now=at(today, 9)) == JOBS_IN_ORDER
    # then that day is given back, the other jobs are done
    assert not DailyJobRun.objects.filter(day=today, job="governance-notify-overdue").exists()
    assert DailyJobRun.objects.filter(day=today, finished_at__isnull=False).count() == 2
    monkeypatch.undo()
    # and the next catch-up runs it

    assert recovery.catch_up(now=at(today, 9, 10)) == ["governance-notify-overdue"]
    done = DailyJobRun.objects.get(day=today, job="governance-notify-overdue")
    assert done.finished_at is not None and done.outcome == {"sent": 2}


def test_unknown_daily_job_is_refused(db):
    with pytest.raises(recovery.UnknownJob, match="unknown daily job 'nope'"):
        recovery.daily_job_run(job="nope", day=timezone.localdate())
    with pytest.raises(recovery.UnknownJob, match="not a once-a-day crontab entry"):
        recovery.daily_job_time("metrics-if-changed")


def test_a_day_claimed_by_a_worker_that_died_is_taken_over_after_the_time_limit(night_down):
    today = night_down["today"]
    # given this morning's reminders were started at 07:00 by a worker that died (no redelivery)
    for job in ("governance-notify-overdue", "governance-notify-conditions-due"):
        DailyJobRun.objects.create(job=job, day=today, task_id="lost", started_at=at(today, 7))
    DailyJobRun.objects.filter(day=today).update(started_at=timezone.now() - dt.timedelta(hours=2))

    # when the catch-up runs
    queued = recovery.catch_up(now=at(today, 9))

    # then the dead claims are taken over and done
    assert queued == JOBS_IN_ORDER
    overdue = DailyJobRun.objects.get(day=today, job="governance-notify-overdue")
    assert overdue.attempts == 2 and overdue.finished_at is not None and overdue.task_id != "lost"
    assert len(mail.outbox) == 2


def test_a_day_being_run_is_left_alone(night_down):
    today = night_down["today"]
    DailyJobRun.objects.create(
        job="governance-notify-overdue", day=today, task_id="busy", started_at=timezone.now()
    )
    assert "governance-notify-overdue" not in recovery.catch_up(now=at(today, 9))
    assert len(mail.outbox) == 0


@pytest.mark.integration
def test_workers_back_after_a_night_catch_up_once_on_real_workers(night_down, start_worker):
    # given a worker with two pool processes back on Redis after the night
    today = night_down["today"]
    start_worker(concurrency=2, visibility_timeout=120)
    nine = at(today, 9).isoformat()

    # when two catch-ups arrive at once, and beat, restarted, re-sends the entries it missed
    tasks.catch_up.apply_async(kwargs={"at": nine})
    tasks.catch_up.apply_async(kwargs={"at": nine})
    for job in JOBS:
        tasks.run_daily.apply_async(kwargs={"job": job})

    # then each job is done for today, once
    def all_done() -> bool:
        return DailyJobRun.objects.filter(day=today, finished_at__isnull=False).count() == 3

    assert wait_for(all_done, timeout=90)
    assert wait_for(lambda: not OutboxMessage.objects.filter(dispatched_at=None).exists())
    time.sleep(3)  # anything still queued would have run by now
    days = DailyJobRun.objects.filter(day=today).order_by("job")
    assert [(d.job, d.attempts) for d in days] == [(job, 1) for job in JOBS]
    todays = MetricRun.objects.filter(started_at__date=today)
    done = [(r.kind, r.scheduled_for) for r in todays if r.status == MetricRun.Status.SUCCEEDED]
    assert done == [("full", today)]
    # Two processes writing one SQLite file at once may meet "database is locked": the attempt
    # is recorded as failed and retried (the day was given back meanwhile). Never on PostgreSQL.
    others = [(r.status, r.error) for r in todays if r.status != MetricRun.Status.SUCCEEDED]
    if connection.vendor != "sqlite" or any("database is locked" not in e for _, e in others):
        assert others == []
    sent = AuditEvent.objects.filter(action=notifications.SENT_ACTION)
    assert sorted(sent.values_list("target_id", flat=True)) == sorted(
        notifications.sent_key(notifications.REVIEW_OVERDUE, pk, today.isoformat())
        for pk in notifications.overdue_reviews(today=today)
    )
    assert sent.count() == 2
