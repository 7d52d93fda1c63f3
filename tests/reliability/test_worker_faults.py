"""A worker killed with SIGKILL mid-task: the task is delivered again and completes once.

Real Celery workers (prefork pool, as `make worker` runs them) on Redis, sharing the test
database. The metrics run is the longest task; a test-only module makes it wait in the middle
(lock taken, run recorded as running, nothing stored) so that the kill lands there.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from django.utils import timezone

from governance import metrics_services, recovery, tasks
from governance.models import DailyJobRun, MetricLock, MetricRun, OverlapPair
from portfolio.models import AuditEvent, GoalAlignment
from tests.celery_worker import wait_for
from tests.factories import BusinessUnitFactory, ProjectFactory, StrategicGoalFactory
from tests.reliability.conftest import VISIBILITY_TIMEOUT

pytestmark = pytest.mark.integration

TRANSCRIBE = {
    "problem": "Court hearings are transcribed by hand, which takes weeks.",
    "benefits": "Same-day transcripts of hearings.",
    "outputs": "Hearing transcripts.",
}
FRAUD = {
    "problem": "Invoice fraud is found late by manual sampling of invoices.",
    "benefits": "Fraudulent invoices flagged before payment.",
    "outputs": "Fraud risk scores for invoices.",
}


def overlapping_portfolio() -> None:
    justice = BusinessUnitFactory(code="JUS", name="Justice")
    health = BusinessUnitFactory(code="HEA", name="Health")
    ProjectFactory(name="Hearing transcription", business_unit=justice, **TRANSCRIBE)
    ProjectFactory(name="Hearing transcription service", business_unit=health, **TRANSCRIBE)
    ProjectFactory(name="Invoice fraud detection", business_unit=justice, **FRAUD)
    ProjectFactory(name="Invoice fraud screening", business_unit=health, **FRAUD)
    StrategicGoalFactory(
        title="Faster court hearings transcripts",
        description="Transcripts of hearing recordings for courts the same day.",
    )


def held_run() -> MetricRun | None:
    """The run a held worker is in the middle of (lock taken, facts read)."""
    return MetricRun.objects.filter(status=MetricRun.Status.RUNNING, progress__gte=10).first()


def assert_results_stored_once(run: MetricRun) -> None:
    assert run.counts["pairs"] > 0
    assert OverlapPair.objects.count() == run.counts["pairs"]
    suggested = GoalAlignment.objects.filter(status="suggested")
    assert suggested.count() == run.counts["suggestions_created"]
    assert AuditEvent.objects.filter(action="alignment.suggested").count() == suggested.count()
    lock = MetricLock.objects.get(name=metrics_services.LOCK_NAME)
    assert lock.holder_id is None


def test_run_killed_with_its_worker_is_delivered_again_and_completes_once(
    start_worker, hold_file, reviewer
):
    # given a metrics run asked for by a reviewer, in the middle of its work on a worker
    overlapping_portfolio()
    first = start_worker(hold=True)
    metrics_services.metrics_run_request(actor=reviewer)
    assert wait_for(lambda: held_run() is not None, timeout=60)
    dead = held_run()

    # when the whole worker is killed (SIGKILL: no chance to acknowledge or clean up)
    first.kill()
    dead.refresh_from_db()
    assert dead.status == MetricRun.Status.RUNNING
    assert OverlapPair.objects.count() == 0
    # and another worker starts (after the visibility timeout Redis hands the message over)
    hold_file.unlink()
    start_worker()

    # then the same task runs again and completes
    assert wait_for(
        lambda: MetricRun.objects.filter(status=MetricRun.Status.SUCCEEDED).exists(), timeout=60
    )
    # and nothing runs a third time, even after another visibility timeout
    time.sleep(VISIBILITY_TIMEOUT + 2)
    runs = list(MetricRun.objects.order_by("id"))
    assert [run.status for run in runs] == ["failed", "succeeded"]
    lost, done = runs
    assert lost.pk == dead.pk and lost.error == recovery.WORKER_LOST
    assert done.task_id == lost.task_id != ""
    assert_results_stored_once(done)


def test_pool_process_killed_mid_nightly_run_is_requeued_and_day_done_once(start_worker, hold_file):
    # given the nightly run (as beat sends it) held in a prefork pool process
    overlapping_portfolio()
    worker = start_worker(hold=True)
    tasks.run_daily.apply_async(kwargs={"job": "metrics-nightly"})
    assert wait_for(lambda: held_run() is not None, timeout=60)
    dead = held_run()
    assert dead.scheduled_for == timezone.localdate()

    # when the pool process is killed (as the OOM killer would), the worker itself living on
    (child,) = worker.pool_children()
    os.kill(child, signal.SIGKILL)
    hold_file.unlink()

    # then the worker requeues the message at once (task_reject_on_worker_lost) and runs it again
    assert wait_for(
        lambda: MetricRun.objects.filter(status=MetricRun.Status.SUCCEEDED).exists(), timeout=60
    )
    time.sleep(VISIBILITY_TIMEOUT + 2)
    runs = list(MetricRun.objects.order_by("id"))
    assert [run.status for run in runs] == ["failed", "succeeded"]
    lost, done = runs
    assert lost.error == recovery.WORKER_LOST and lost.scheduled_for is None
    assert done.kind == MetricRun.Kind.FULL and done.scheduled_for == timezone.localdate()
    assert done.task_id == lost.task_id
    assert_results_stored_once(done)
    # and the day is recorded as done once, by the second attempt of the same task
    day = DailyJobRun.objects.get()
    assert (day.job, day.day, day.attempts) == ("metrics-nightly", timezone.localdate(), 2)
    assert day.finished_at is not None and day.outcome == {"run": done.pk}
