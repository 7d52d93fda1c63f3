"""Webhook endpoints are changed through an audited service, from the API and the admin alike:
one audit event per write, naming what changed, never the secret; nothing for refused writes."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied

from governance import services
from governance.models import WebhookEndpoint
from portfolio.models import AuditEvent

pytestmark = pytest.mark.django_db

SECRET = "a-long-enough-secret"
BODY = {
    "name": "Teams",
    "url": "https://hooks.example.org/maestro",
    "secret": SECRET,
    "events": ["review.decided"],
}


def events(action: str):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def test_api_create_update_delete_each_write_one_event(api_client, admin_user):
    api_client.force_authenticate(admin_user)

    created = api_client.post("/api/v1/webhooks/", BODY, format="json")
    assert created.status_code == 201
    pk = created.json()["id"]
    [event] = events("webhook.created")
    assert event.actor == admin_user and event.target_id == str(pk)
    assert event.changes["url"]["after"] == BODY["url"]
    assert SECRET not in str(event.changes) and event.changes["secret"]["after"] == "(changed)"

    renamed = api_client.patch(f"/api/v1/webhooks/{pk}/", {"name": "Slack"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Slack"
    [event] = events("webhook.updated")
    assert event.changes == {"name": {"before": "Teams", "after": "Slack"}}

    rotated = api_client.patch(f"/api/v1/webhooks/{pk}/", {"secret": "x" * 20}, format="json")
    assert rotated.status_code == 200
    assert WebhookEndpoint.objects.get(pk=pk).secret == "x" * 20
    assert "x" * 20 not in str(events("webhook.updated")[-1].changes)
    assert set(events("webhook.updated")[-1].changes) == {"secret"}

    assert api_client.delete(f"/api/v1/webhooks/{pk}/").status_code == 204
    [event] = events("webhook.deleted")
    assert event.target_id == str(pk) and event.changes["name"]["before"] == "Slack"
    assert not WebhookEndpoint.objects.filter(pk=pk).exists()


def test_refused_and_invalid_writes_leave_no_event(api_client, admin_user, reviewer):
    api_client.force_authenticate(reviewer)
    assert api_client.post("/api/v1/webhooks/", BODY, format="json").status_code == 403
    api_client.force_authenticate(admin_user)
    bad = api_client.post("/api/v1/webhooks/", {**BODY, "url": "ftp://x.org/"}, format="json")
    assert bad.status_code == 400
    assert not AuditEvent.objects.filter(action__startswith="webhook.").exists()
    assert not WebhookEndpoint.objects.exists()


def test_service_refuses_non_admins(reviewer):
    with pytest.raises(PermissionDenied):
        services.webhook_endpoint_save(actor=reviewer, endpoint=None, data=BODY)
    assert not WebhookEndpoint.objects.exists()


def test_admin_add_change_and_delete_are_audited(client):
    root = get_user_model().objects.create_superuser("root", "root@example.org", "x" * 12)
    client.force_login(root)
    form = {**BODY, "events": ["review.decided"], "active": "on"}
    assert client.post("/admin/governance/webhookendpoint/add/", form).status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.created_by == root
    assert len(events("webhook.created")) == 1

    changed = {**form, "name": "Renamed", "secret": ""}  # a blank secret keeps the old one
    url = f"/admin/governance/webhookendpoint/{endpoint.pk}/change/"
    assert client.post(url, changed).status_code == 302
    [event] = events("webhook.updated")
    assert event.changes == {"name": {"before": "Teams", "after": "Renamed"}}
    endpoint.refresh_from_db()
    assert endpoint.secret == SECRET

    delete = f"/admin/governance/webhookendpoint/{endpoint.pk}/delete/"
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert len(events("webhook.deleted")) == 1 and not WebhookEndpoint.objects.exists()
