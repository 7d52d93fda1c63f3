"""Notifications: e-mails to the right people and outbound webhooks (HMAC-signed JSON POSTs).

Services call the `*_queued` functions inside their transactions: they only record jobs in the
outbox (`portfolio.task_queue.enqueue`), so nothing is sent for a transaction that rolls back.
The Celery tasks in `governance.notification_tasks` then call `notification_send` (one e-mail
per (event, object, day), remembered as an AuditEvent `notification.sent`), `event_deliver`
(one WebhookDelivery per active subscribed endpoint, unique per endpoint and event id, each tried
once at once) and `webhook_attempt` (one POST, recorded in the delivery log; retries).

Who gets which e-mail:
- review submitted → every active reviewer with an e-mail, and the assigned reviewer;
- review decided → the project's owner, executive sponsor, contact e-mail and the unit's leads;
- review overdue → the assigned reviewer (or, when none, every reviewer) and the unit's leads;
- condition due (due within `CONDITION_DUE_DAYS` days or overdue, not met) → the project's owner
  and the unit's leads.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from governance.models import Review, ReviewCondition, WebhookDelivery, WebhookEndpoint
from portfolio import roles, task_queue
from portfolio.models import AuditEvent, Membership, Project

REVIEW_SUBMITTED = "review.submitted"
REVIEW_DECIDED = "review.decided"
REVIEW_OVERDUE = "review.overdue"
CONDITION_DUE = "condition.due"
MAIL_EVENTS = (REVIEW_SUBMITTED, REVIEW_DECIDED, REVIEW_OVERDUE, CONDITION_DUE)
CONDITION_DUE_DAYS = 3
SENT_ACTION = "notification.sent"

WEBHOOK_TIMEOUT = 5  # seconds
WEBHOOK_MAX_ATTEMPTS = 8
WEBHOOK_BACKOFF_CAP = 3600  # seconds
WEBHOOK_SCHEMES = frozenset({"http", "https"})
# The sweep leaves a delivery to its own scheduled retry for this long after it is due.
RETRY_GRACE = dt.timedelta(minutes=2)
# Event ids are UUIDv5 of (event, object, version) in this namespace, so that dispatching one
# event twice (the outbox delivers at least once) finds the deliveries it already made.
EVENT_NAMESPACE = uuid.UUID("6f1d3c1e-5b7a-4f0e-9a55-2d0f1e9c7b11")


# --- Called by services, inside their transactions -----------------------------------------------


# Nothing is queued when nobody is to be told and no endpoint listens: fewer jobs, and no
# after-commit work in the request that wrote (which embedded SQLite serialises).


def review_submitted_queued(*, review: Review) -> None:
    if recipients(REVIEW_SUBMITTED, review):
        task_queue.enqueue("governance.send_notification", REVIEW_SUBMITTED, review.pk, _today())


def review_decided_queued(*, review: Review) -> None:
    if recipients(REVIEW_DECIDED, review):
        task_queue.enqueue("governance.send_notification", REVIEW_DECIDED, review.pk, _today())
    if subscribed_endpoints(REVIEW_DECIDED):
        task_queue.enqueue("governance.dispatch_event", REVIEW_DECIDED, review.pk)


def subscribed_endpoints(event: str) -> list[WebhookEndpoint]:
    return [e for e in WebhookEndpoint.objects.filter(active=True) if event in e.events]


def _today() -> str:
    return timezone.localdate().isoformat()


# --- Recipients ----------------------------------------------------------------------------------


def _emails(values: Iterable[str | None]) -> list[str]:
    """Non-blank addresses, each once (case-insensitively), in a stable order."""
    seen: dict[str, str] = {}
    for value in values:
        address = (value or "").strip()
        if address and address.casefold() not in seen:
            seen[address.casefold()] = address
    return sorted(seen.values(), key=str.casefold)


def reviewer_emails() -> list[str]:
    users = (
        get_user_model()
        .objects.filter(groups__name=roles.REVIEWER, is_active=True)
        .exclude(email="")
    )
    return _emails(users.values_list("email", flat=True))


def unit_lead_emails(unit_id: int) -> list[str]:
    leads = Membership.objects.filter(
        business_unit_id=unit_id, role=Membership.Role.LEAD, user__is_active=True
    ).exclude(user__email="")
    return _emails(leads.values_list("user__email", flat=True))


def _user_email(user: Any) -> str:
    return user.email if user is not None and user.is_active else ""


def recipients(event: str, obj: Review | ReviewCondition) -> list[str]:
    """Who is told about `event` on `obj` (a review, or a condition for CONDITION_DUE)."""
    review = obj.review if isinstance(obj, ReviewCondition) else obj
    project = review.project
    leads = unit_lead_emails(project.business_unit_id)
    if event == REVIEW_SUBMITTED:
        return _emails([*reviewer_emails(), _user_email(review.reviewer)])
    if event == REVIEW_DECIDED:
        return _emails(
            [
                _user_email(project.owner),
                _user_email(project.executive_sponsor),
                project.contact_email,
                *leads,
            ]
        )
    if event == REVIEW_OVERDUE:
        assigned = _user_email(review.reviewer)
        return _emails([*([assigned] if assigned else reviewer_emails()), *leads])
    if event == CONDITION_DUE:
        return _emails([_user_email(project.owner), *leads])
    raise ValueError(f"unknown notification event '{event}'")


# --- E-mails -------------------------------------------------------------------------------------


def _project_url(project: Project) -> str:
    return f"{getattr(settings, 'MAESTRO_BASE_URL', '').rstrip('/')}{project.get_absolute_url()}"


def _message(event: str, obj: Review | ReviewCondition) -> tuple[str, str]:
    review = obj.review if isinstance(obj, ReviewCondition) else obj
    project = review.project
    url = _project_url(project)
    if event == REVIEW_SUBMITTED:
        subject = f"Review requested: {project.name}"
        body = (
            f"{project.name} ({project.business_unit.name}) was submitted for review "
            f"(cycle {review.cycle}, tier {review.tier or 'not assessed'}), "
            f"due {review.due_date:%Y-%m-%d}."
        )
    elif event == REVIEW_DECIDED:
        subject = f"Review decided: {project.name} is {review.get_status_display().lower()}"
        body = f"The review of {project.name} was decided: {review.get_status_display()}."
        if review.decided_by is not None:
            body += f"\nReviewer: {review.decided_by.get_username()}"
        if review.decision_note:
            body += f"\n\n{review.decision_note}"
        conditions = list(review.conditions.order_by("id"))
        if conditions:
            body += "\n\nConditions:\n" + "\n".join(
                f"- {c.text}" + (f" (due {c.due_date:%Y-%m-%d})" if c.due_date else "")
                for c in conditions
            )
    elif event == REVIEW_OVERDUE:
        subject = f"Review overdue: {project.name}"
        body = (
            f"The review of {project.name} was due on {review.due_date:%Y-%m-%d} "
            f"and is still {review.get_status_display().lower()}."
        )
    else:
        if not isinstance(obj, ReviewCondition):
            raise TypeError(f"{event} notifications are about a review condition, not {obj!r}")
        due = f"{obj.due_date:%Y-%m-%d}" if obj.due_date else "now"
        subject = f"Condition due: {project.name}"
        body = (
            f"A condition of the approval of {project.name} is due {due} and not met:\n\n{obj.text}"
        )
    return subject, f"{body}\n\n{url}\n"


def _locked_object(event: str, object_id: int) -> Review | ReviewCondition | None:
    if event == CONDITION_DUE:
        return (
            ReviewCondition.objects.select_for_update(of=("self",))
            .select_related("review__project__business_unit", "review__project__owner")
            .filter(pk=object_id)
            .first()
        )
    return (
        Review.objects.select_for_update(of=("self",))
        .select_related(
            "project__business_unit",
            "project__owner",
            "project__executive_sponsor",
            "reviewer",
            "decided_by",
        )
        .filter(pk=object_id)
        .first()
    )


def sent_key(event: str, object_id: int, day: str) -> str:
    return f"{event}:{object_id}:{day}"


@transaction.atomic
def notification_send(*, event: str, object_id: int, day: str) -> int:
    """Send the e-mail of `event` on the object once per day; returns how many were addressed
    (0 when it was already sent, the object is gone or nobody is to be told)."""
    if event not in MAIL_EVENTS:
        raise ValueError(f"unknown notification event '{event}'")
    obj = _locked_object(event, object_id)  # the row lock serialises two runs of one key
    if obj is None:
        return 0
    key = sent_key(event, object_id, day)
    if AuditEvent.objects.filter(action=SENT_ACTION, target_id=key).exists():
        return 0
    to = recipients(event, obj)
    if not to:
        return 0
    subject, body = _message(event, obj)
    send_mail(subject, body, None, to)
    project = (obj.review if isinstance(obj, ReviewCondition) else obj).project
    AuditEvent.objects.create(
        actor=None,
        actor_label="system",
        action=SENT_ACTION,
        target_type="notification",
        target_id=key,
        target_repr=subject[:500],
        business_unit_id=project.business_unit_id,
        project_id=project.pk,
        changes={"event": event, "to": to},
    )
    return len(to)


def overdue_reviews(*, today: dt.date) -> list[int]:
    return list(
        Review.objects.filter(
            status__in=Review.OPEN, due_date__lt=today, project__archived_at__isnull=True
        )
        .order_by("id")
        .values_list("id", flat=True)
    )


def conditions_due(*, today: dt.date) -> list[int]:
    return list(
        ReviewCondition.objects.filter(
            met=False,
            due_date__isnull=False,
            due_date__lte=today + dt.timedelta(days=CONDITION_DUE_DAYS),
            review__project__archived_at__isnull=True,
        )
        .order_by("id")
        .values_list("id", flat=True)
    )


def notify_overdue(*, today: dt.date | None = None) -> int:
    """Tell about every overdue open review (once a day); returns how many e-mails went out."""
    today = today or timezone.localdate()
    return sum(
        1
        for pk in overdue_reviews(today=today)
        if notification_send(event=REVIEW_OVERDUE, object_id=pk, day=today.isoformat())
    )


def notify_conditions_due(*, today: dt.date | None = None) -> int:
    today = today or timezone.localdate()
    return sum(
        1
        for pk in conditions_due(today=today)
        if notification_send(event=CONDITION_DUE, object_id=pk, day=today.isoformat())
    )


# --- Webhooks ------------------------------------------------------------------------------------


def event_id_for(event: str, object_id: int, version: int | None = None) -> uuid.UUID:
    return uuid.uuid5(EVENT_NAMESPACE, f"{event}:{object_id}:{version or ''}")


def _project_summary(project: Project) -> dict[str, Any]:
    unit = project.business_unit
    return {
        "id": project.pk,
        "name": project.name,
        "unit": {"id": unit.pk, "code": unit.code, "name": unit.name},
        "stage": project.stage,
        "tier": project.risk_tier,
        "review_status": project.review_status,
        "url": _project_url(project),
    }


def event_payload(
    event: str, object_id: int, event_id: uuid.UUID
) -> tuple[dict[str, Any], int] | None:
    """(payload, project id) of an event, or None when its object is gone."""
    if event == REVIEW_DECIDED:
        review = (
            Review.objects.select_related("project__business_unit", "decided_by")
            .filter(pk=object_id)
            .first()
        )
        if review is None:
            return None
        project = review.project
        occurred = review.decided_at or timezone.now()
        extra: dict[str, Any] = {
            "review": {
                "id": review.pk,
                "cycle": review.cycle,
                "decision": review.status,
                "note": review.decision_note,
                "reviewer": review.decided_by.get_username() if review.decided_by else None,
                "decided_at": occurred.isoformat(),
            }
        }
    elif event in (WebhookEndpoint.Event.PROJECT_REGISTERED, WebhookEndpoint.Event.PROJECT_UPDATED):
        found = Project.objects.select_related("business_unit").filter(pk=object_id).first()
        if found is None:
            return None
        project = found
        occurred = (
            project.created_at if event == WebhookEndpoint.Event.PROJECT_REGISTERED else None
        ) or project.updated_at
        extra = {}
    else:
        raise ValueError(f"unknown webhook event '{event}'")
    payload = {
        "event": event,
        "id": str(event_id),
        "occurred_at": occurred.isoformat(),
        "project": _project_summary(project),
        **extra,
    }
    return payload, project.pk


@transaction.atomic
def event_dispatch(*, event: str, object_id: int, version: int | None = None) -> list[int]:
    """One pending WebhookDelivery per active endpoint subscribed to `event` (once per event id),
    each queued for delivery; returns the ids of the deliveries created."""
    endpoints = subscribed_endpoints(event)
    if not endpoints:
        return []
    event_id = event_id_for(event, object_id, version)
    built = event_payload(event, object_id, event_id)
    if built is None:
        return []
    payload, _ = built
    created_ids = []
    for endpoint in endpoints:
        delivery, created = WebhookDelivery.objects.get_or_create(
            endpoint=endpoint,
            event_id=event_id,
            defaults={"event": event, "payload": payload, "next_attempt_at": timezone.now()},
        )
        if created:
            created_ids.append(delivery.pk)
    return created_ids


def event_deliver(*, event: str, object_id: int, version: int | None = None) -> list[int]:
    """Dispatch an event, try each new delivery once right away, and queue the ones that did not
    go through for `governance.deliver_webhook` (retries with backoff). Returns the delivery ids.

    A crash between the two steps leaves deliveries pending and due: `webhook_retry_due` finds
    them."""
    delivery_ids = event_dispatch(event=event, object_id=object_id, version=version)
    for delivery_id in delivery_ids:
        status, _ = webhook_attempt(delivery_id=delivery_id)
        if status == WebhookDelivery.Status.PENDING:
            with transaction.atomic():
                task_queue.enqueue("governance.deliver_webhook", delivery_id)
    return delivery_ids


def webhook_due_in(*, delivery_id: int) -> float:
    """Seconds until a pending delivery's next attempt is due (0 when due or not pending)."""
    next_at = (
        WebhookDelivery.objects.filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING)
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if next_at is None:
        return 0.0
    return max((next_at - timezone.now()).total_seconds(), 0.0)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256("<timestamp>.<body>") with the endpoint's secret."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def backoff_seconds(attempts: int) -> int:
    """Countdown before the next attempt: base × 2^(attempts − 1), capped."""
    base = float(getattr(settings, "MAESTRO_WEBHOOK_BACKOFF_SECONDS", 10))
    return int(min(base * 2 ** max(attempts - 1, 0), WEBHOOK_BACKOFF_CAP))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer (non-2xx), not an instruction to POST elsewhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


@dataclass(frozen=True)
class Attempt:
    status_code: int | None
    error: str


def _post(url: str, body: bytes, headers: dict[str, str]) -> Attempt:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _opener.open(request, timeout=WEBHOOK_TIMEOUT) as response:
            return Attempt(status_code=response.status, error="")
    except urllib.error.HTTPError as exc:
        return Attempt(status_code=exc.code, error=f"HTTP {exc.code} {exc.reason}"[:2000])
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Attempt(status_code=None, error=f"{type(exc).__name__}: {reason}"[:2000])


@transaction.atomic
def webhook_attempt(*, delivery_id: int) -> tuple[str, int]:
    """POST a pending delivery once and record the outcome; returns (status, attempts).

    The row is locked first and only a pending delivery is sent, so a delivered one is never
    sent again however often the task runs. 2xx → delivered; otherwise pending with the next
    attempt's time, or failed after WEBHOOK_MAX_ATTEMPTS attempts.
    """
    delivery = (
        WebhookDelivery.objects.select_for_update(of=("self",))
        .select_related("endpoint")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None:
        return WebhookDelivery.Status.FAILED, 0
    if delivery.status != WebhookDelivery.Status.PENDING:
        return delivery.status, delivery.attempts
    endpoint = delivery.endpoint
    now = timezone.now()
    delivery.attempts += 1
    if urlsplit(endpoint.url).scheme.lower() not in WEBHOOK_SCHEMES:
        outcome = Attempt(status_code=None, error="only http and https URLs are delivered")
        delivery.attempts = max(delivery.attempts, WEBHOOK_MAX_ATTEMPTS)
    elif not endpoint.active:
        outcome = Attempt(status_code=None, error="endpoint deactivated")
        delivery.attempts = max(delivery.attempts, WEBHOOK_MAX_ATTEMPTS)
    else:
        body = json.dumps(delivery.payload, sort_keys=True, separators=(",", ":")).encode()
        timestamp = str(int(time.time()))
        outcome = _post(
            endpoint.url,
            body,
            {
                "Content-Type": "application/json",
                "User-Agent": "Maestro-Webhook/1",
                "X-Maestro-Event": delivery.event,
                "X-Maestro-Delivery": str(delivery.event_id),
                "X-Maestro-Timestamp": timestamp,
                "X-Maestro-Signature": sign(endpoint.secret, timestamp, body),
            },
        )
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    if outcome.status_code is not None and 200 <= outcome.status_code < 300:
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    elif delivery.attempts >= WEBHOOK_MAX_ATTEMPTS:
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = now + dt.timedelta(seconds=backoff_seconds(delivery.attempts))
    delivery.save(
        update_fields=[
            "attempts",
            "last_status_code",
            "last_error",
            "status",
            "delivered_at",
            "next_attempt_at",
        ]
    )
    return delivery.status, delivery.attempts


@transaction.atomic
def webhook_retry_due(*, limit: int = 500) -> int:
    """Queue again the pending deliveries whose next attempt is due; returns how many."""
    due = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at__lte=timezone.now() - RETRY_GRACE,
        )
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )
    for delivery_id in due:
        task_queue.enqueue("governance.deliver_webhook", delivery_id)
    return len(due)
