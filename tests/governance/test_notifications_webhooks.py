"""Outbound webhooks delivered to a real HTTP server on loopback: signature, retries, once only."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import override_settings

from governance import notification_tasks, notifications
from governance.models import WebhookDelivery, WebhookEndpoint
from portfolio import services as portfolio_services
from portfolio.models import Project
from tests.celery_worker import wait_for
from tests.governance.factories import project_in_state

SECRET = "s3cret-for-tests"


@dataclass
class Receiver:
    """What the loopback server saw, and the status codes it answers with (then 200)."""

    url: str = ""
    answers: list[int] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def verified(headers, body: bytes) -> bool:
    """How a receiver checks the signature (the example of docs/shadow-ai-and-notifications.md)."""
    timestamp = headers["X-Maestro-Timestamp"]
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(headers["X-Maestro-Signature"], f"sha256={expected.hexdigest()}")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with state.lock:
                state.requests.append(
                    {
                        "headers": dict(self.headers),
                        "body": json.loads(body),
                        "valid": verified(self.headers, body),
                    }
                )
                code = state.answers.pop(0) if state.answers else 200
            self.send_response(code)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def endpoint_for(receiver: Receiver, *events: str) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        name="Loopback",
        url=receiver.url,
        secret=SECRET,
        events=list(events) or ["project.registered", "project.updated", "review.decided"],
    )


@pytest.mark.django_db
def test_project_registration_is_delivered_signed_once(
    receiver, unit, member, django_capture_on_commit_callbacks
):
    # given
    endpoint_for(receiver)
    WebhookEndpoint.objects.create(
        name="Off", url=receiver.url, secret="x", events=["project.registered"], active=False
    )
    WebhookEndpoint.objects.create(
        name="Other events", url=receiver.url, secret="x", events=["review.decided"]
    )
    # when
    with django_capture_on_commit_callbacks(execute=True):
        project = portfolio_services.project_register(
            actor=member, data={"name": "Letter triage", "business_unit": unit}
        )
    # then: one signed POST, and the delivery log says delivered
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request["valid"]
    assert request["headers"]["X-Maestro-Event"] == "project.registered"
    delivery = WebhookDelivery.objects.get()
    assert request["headers"]["X-Maestro-Delivery"] == str(delivery.event_id)
    assert request["body"]["id"] == str(delivery.event_id)
    assert request["body"]["project"]["id"] == project.pk
    assert request["body"]["project"]["unit"]["code"] == unit.code
    assert set(request["body"]["project"]) >= {"name", "stage", "tier", "review_status", "url"}
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    # when the task and the dispatch run again (at-least-once delivery)
    assert notification_tasks.deliver_webhook.apply(args=[delivery.pk]).get() == "delivered"
    assert notifications.event_dispatch(event="project.registered", object_id=project.pk) == []
    # then nothing is sent again
    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.django_db
@override_settings(MAESTRO_WEBHOOK_BACKOFF_SECONDS=0.01)
def test_a_500_is_retried_with_backoff_then_delivered(
    receiver, reviewer, django_capture_on_commit_callbacks
):
    # given: the receiver answers 500 first, then 200
    receiver.answers = [500]
    endpoint_for(receiver, "review.decided")
    _, review = project_in_state(Project.ReviewStatus.IN_REVIEW, reviewer=reviewer)
    # when
    from governance import services

    with django_capture_on_commit_callbacks(execute=True):
        services.review_decide(actor=reviewer, review=review, decision="approved")
    # then
    assert len(receiver.requests) == 2
    assert all(r["valid"] for r in receiver.requests)
    assert (
        receiver.requests[0]["headers"]["X-Maestro-Delivery"]
        == (receiver.requests[1]["headers"]["X-Maestro-Delivery"])
    )
    body = receiver.requests[1]["body"]
    assert body["event"] == "review.decided"
    assert body["review"]["decision"] == "approved"
    assert body["review"]["reviewer"] == reviewer.username
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 2, 200)


@pytest.mark.django_db
@override_settings(MAESTRO_WEBHOOK_BACKOFF_SECONDS=0.01)
def test_gives_up_after_max_attempts_and_records_each(receiver, unit):
    # given: a receiver that always fails, and one that does not listen at all
    receiver.answers = [503] * 20
    endpoint = endpoint_for(receiver)
    project = project_in_state(Project.ReviewStatus.NOT_SUBMITTED, business_unit=unit)[0]
    [delivery_id] = notifications.event_dispatch(event="project.updated", object_id=project.pk)
    # when
    assert notification_tasks.deliver_webhook.apply(args=[delivery_id]).get() == "failed"
    # then
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.attempts == notifications.WEBHOOK_MAX_ATTEMPTS
    assert len(receiver.requests) == notifications.WEBHOOK_MAX_ATTEMPTS
    assert (delivery.last_status_code, delivery.last_error) == (503, "HTTP 503 Service Unavailable")

    # given a closed port
    endpoint.url = "http://127.0.0.1:9/closed"
    endpoint.save()
    [other] = notifications.event_dispatch(event="project.updated", object_id=project.pk, version=2)
    status, attempts = notifications.webhook_attempt(delivery_id=other)
    delivery = WebhookDelivery.objects.get(pk=other)
    assert (status, attempts, delivery.last_status_code) == ("pending", 1, None)
    assert "URLError" in delivery.last_error
    assert delivery.next_attempt_at is not None


def test_backoff_doubles_and_is_capped(settings):
    settings.MAESTRO_WEBHOOK_BACKOFF_SECONDS = 10
    assert [notifications.backoff_seconds(n) for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert notifications.backoff_seconds(30) == notifications.WEBHOOK_BACKOFF_CAP


@pytest.mark.django_db
def test_only_http_urls_are_delivered(unit):
    endpoint = WebhookEndpoint.objects.create(
        name="File", url="file:///etc/passwd", secret="x", events=["project.updated"]
    )
    project = project_in_state(Project.ReviewStatus.NOT_SUBMITTED, business_unit=unit)[0]
    [delivery_id] = notifications.event_dispatch(event="project.updated", object_id=project.pk)
    assert notifications.webhook_attempt(delivery_id=delivery_id)[0] == "failed"
    assert endpoint.deliveries.get().last_error == "only http and https URLs are delivered"


@pytest.mark.integration
def test_registration_is_delivered_by_a_real_worker(receiver, unit, member, celery_worker):
    # given
    endpoint_for(receiver, "project.registered")
    # when: the outbox hands the job to Redis after commit and the worker delivers it
    project = portfolio_services.project_register(
        actor=member, data={"name": "Worker-delivered", "business_unit": unit}
    )
    # then
    assert wait_for(lambda: WebhookDelivery.objects.filter(status="delivered").exists(), timeout=60)
    assert len(receiver.requests) == 1
    assert receiver.requests[0]["valid"]
    assert receiver.requests[0]["body"]["project"]["id"] == project.pk
