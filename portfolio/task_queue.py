"""Handing work to Celery without losing it: a transactional outbox.

`enqueue()` records an OutboxMessage inside the caller's transaction and, after commit, tries to
publish it to the broker with a short timeout. If the broker is down or frozen the row stays
pending; `flush_outbox()` (periodic task and management command) publishes what is pending.
With no broker configured (embedded mode) tasks run in-process after commit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from portfolio.models import OutboxMessage

logger = logging.getLogger(__name__)

# How long after creation a pending message is considered stuck rather than in flight.
STALE_AFTER = timedelta(seconds=30)


def enqueue(task_name: str, *args: Any) -> OutboxMessage:
    """Record a job for `task_name(*args)`, published after the current transaction commits."""
    message = OutboxMessage.objects.create(task_name=task_name, args=list(args))
    transaction.on_commit(lambda: dispatch(message.pk))
    return message


# Publishing runs in this small pool so that a frozen broker cannot hold the caller longer than
# CELERY_PUBLISH_TIMEOUT. A publish that gives up may still land later; tasks are idempotent.
_publisher = ThreadPoolExecutor(max_workers=4, thread_name_prefix="maestro-publish")


def _publish(task_name: str, args: Sequence[Any]) -> str:
    task = current_app.tasks[task_name]
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return str(task.apply(args=tuple(args)).id)
    future = _publisher.submit(task.apply_async, args=tuple(args), retry=False)
    return str(future.result(timeout=settings.CELERY_PUBLISH_TIMEOUT).id)


# A claimed message not marked dispatched after this long (the publishing process died) is
# claimed again by the next flush.
CLAIM_LEASE = timedelta(minutes=5)


def dispatch(message_id: int) -> bool | None:
    """Publish one pending message: True when it reached the broker (or ran, when eager), False
    when the broker is unavailable (kept pending), None when there was nothing to do (already
    sent, or being sent by another process).

    The message is claimed with one UPDATE (no lock held while publishing or running the task),
    which every database, SQLite included, does atomically.
    """
    now = timezone.now()
    claimed = (
        OutboxMessage.objects.filter(pk=message_id, dispatched_at__isnull=True)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_LEASE))
        .update(claimed_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    message = OutboxMessage.objects.get(pk=message_id)
    try:
        _publish(message.task_name, message.args)
    except Exception as exc:  # the broker's errors vary by transport; all mean "not yet"
        OutboxMessage.objects.filter(pk=message_id).update(
            claimed_at=None, last_error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        if settings.CELERY_TASK_ALWAYS_EAGER:
            raise  # the task itself failed, in-process: the caller sees it
        logger.warning("broker unavailable, job kept in outbox: %s", message)
        return False
    OutboxMessage.objects.filter(pk=message_id).update(dispatched_at=timezone.now(), last_error="")
    return True


def flush_outbox(*, limit: int = 500, min_age: timedelta = STALE_AFTER) -> int:
    """Publish pending messages older than `min_age`; returns how many were sent."""
    cutoff = timezone.now() - min_age
    pending = list(
        OutboxMessage.objects.filter(dispatched_at__isnull=True, created_at__lte=cutoff)
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    sent = 0
    for message_id in pending:
        outcome = dispatch(message_id)
        if outcome is False:
            break  # broker still down: stop, try again next time
        sent += bool(outcome)
    return sent
