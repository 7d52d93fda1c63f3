"""Celery tasks of notifications: thin, named, one service call each (see governance.notifications).

Imported by `governance.apps.GovernanceConfig.ready` so that workers and the outbox know them.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from celery import Task, shared_task
from django.db import OperationalError

from governance import notifications

if TYPE_CHECKING:
    from governance.tasks import RetryOptions

# Longest backoff waited out in process when a task runs eagerly (seconds).
EAGER_MAX_WAIT = 1.0
RETRY: RetryOptions = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": 10,
    "retry_backoff_max": 300,
    "max_retries": 5,
}


@shared_task(name="governance.send_notification", **RETRY)
def send_notification(event: str, object_id: int, day: str) -> int:
    return notifications.notification_send(event=event, object_id=object_id, day=day)


@shared_task(name="governance.notify_overdue", ignore_result=True, **RETRY)
def notify_overdue() -> int:
    return notifications.notify_overdue()


@shared_task(name="governance.notify_conditions_due", ignore_result=True, **RETRY)
def notify_conditions_due() -> int:
    return notifications.notify_conditions_due()


@shared_task(name="governance.dispatch_event", **RETRY)
def dispatch_event(event: str, object_id: int, version: int | None = None) -> list[int]:
    return notifications.event_deliver(event=event, object_id=object_id, version=version)


@shared_task(
    bind=True,
    name="governance.deliver_webhook",
    autoretry_for=(OperationalError,),
    retry_backoff=10,
    retry_backoff_max=300,
    max_retries=2 * notifications.WEBHOOK_MAX_ATTEMPTS + 5,
)
def deliver_webhook(self: Task[[int], str], delivery_id: int) -> str:
    """Attempts when due; a pending outcome (non-2xx, connection error) is retried with backoff.

    Run eagerly (embedded mode, no worker to come back later) a short backoff is waited out in
    process; a long one leaves the delivery pending for `governance.retry_webhooks`.
    """
    while True:
        wait = notifications.webhook_due_in(delivery_id=delivery_id)
        if wait > 0:
            if not self.request.is_eager:
                raise self.retry(countdown=wait)
            if wait > EAGER_MAX_WAIT:
                return "pending"
            time.sleep(wait)
        status, _ = notifications.webhook_attempt(delivery_id=delivery_id)
        if status != "pending":
            return str(status)


@shared_task(name="governance.retry_webhooks", ignore_result=True, **RETRY)
def retry_webhooks() -> int:
    """Re-queue pending deliveries whose next attempt is due (lost tasks, embedded mode)."""
    return notifications.webhook_retry_due()
