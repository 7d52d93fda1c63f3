"""Background jobs survive a broker that is down or frozen, and run once it is back."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from django.db import transaction

from portfolio import services, task_queue
from portfolio.models import ImportJob, OutboxMessage, Project
from tests.celery_worker import use_broker, wait_for

INVENTORY_2023 = (
    Path(__file__).resolve().parents[2]
    / "portfolio"
    / "fixtures"
    / "inventories"
    / "federal-ai-inventory-2023.csv"
)


def small_2023_file(rows: int = 25) -> bytes:
    lines = INVENTORY_2023.read_text(encoding="utf-8")
    import csv
    import io

    reader = list(csv.reader(io.StringIO(lines)))
    out = io.StringIO()
    csv.writer(out).writerows(reader[: rows + 1])
    return out.getvalue().encode("utf-8")


@pytest.fixture
def frozen_broker():
    """A TCP port that accepts connections and never answers (a hung Redis)."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    server.close()


def queue_job(actor) -> tuple[ImportJob, float]:
    started = time.monotonic()
    with transaction.atomic():
        job = services.import_job_create(
            actor=actor, name="inventory.csv", content=small_2023_file(), fmt="omb-2023"
        )
    return job, time.monotonic() - started


def test_embedded_mode_runs_the_job_in_process_after_commit(transactional_db, reviewer):
    job, _ = queue_job(reviewer)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.SUCCEEDED
    assert job.report["created"] == 25
    assert Project.objects.count() == 25
    assert OutboxMessage.objects.get().dispatched_at is not None


@pytest.mark.parametrize("broker", ["refused", "frozen"])
def test_broker_down_or_frozen_keeps_job_in_outbox_within_two_seconds(
    transactional_db, reviewer, frozen_broker, broker
):
    url = "redis://127.0.0.1:1/0" if broker == "refused" else frozen_broker
    with use_broker(url):
        job, elapsed = queue_job(reviewer)
    assert elapsed < 2.8
    message = OutboxMessage.objects.get()
    assert message.dispatched_at is None
    assert message.last_error
    job.refresh_from_db()
    assert job.status == ImportJob.Status.QUEUED


@pytest.mark.integration
def test_pending_job_runs_on_a_real_worker_once_the_broker_is_back(reviewer, celery_worker):
    with use_broker("redis://127.0.0.1:1/0"):
        job, _ = queue_job(reviewer)
    assert OutboxMessage.objects.filter(dispatched_at__isnull=True).count() == 1

    # The broker is back (celery_worker publishes to the real Redis): the periodic flush sends it.
    sent = task_queue.flush_outbox(min_age=__import__("datetime").timedelta(0))

    assert sent == 1
    assert wait_for(lambda: ImportJob.objects.get(pk=job.pk).status == "succeeded", timeout=90)
    assert Project.objects.count() == 25
    # Sending again (a duplicate delivery) creates nothing more.
    from portfolio.tasks import run_import_job

    run_import_job.delay(job.pk)
    time.sleep(2)
    assert Project.objects.count() == 25


@pytest.mark.integration
def test_upload_import_through_real_worker_reports_progress(reviewer, celery_worker):
    job, elapsed = queue_job(reviewer)
    assert elapsed < 2.8
    assert OutboxMessage.objects.get().last_error == ""
    assert wait_for(lambda: ImportJob.objects.get(pk=job.pk).status == "succeeded", timeout=90)
    job.refresh_from_db()
    assert job.progress_percent == 100
    assert job.report["created"] == 25
    assert job.started_at <= job.finished_at
