"""Celery tasks of the registry: thin, named, one service call each."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from portfolio import services, task_queue


@shared_task(
    name="portfolio.run_import_job",
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    retry_backoff_max=120,
    max_retries=5,
)
def run_import_job(job_id: int) -> str:
    return services.import_job_run(job_id=job_id)


@shared_task(name="portfolio.flush_outbox", ignore_result=True)
def flush_outbox() -> int:
    return task_queue.flush_outbox()
