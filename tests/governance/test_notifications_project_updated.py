"""Editing a project emits a project.updated webhook delivery to subscribed endpoints."""

from __future__ import annotations

import pytest

from governance.models import WebhookDelivery, WebhookEndpoint
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_project_update_creates_one_delivery_per_subscribed_endpoint(api_client, member, unit):
    subscribed = WebhookEndpoint.objects.create(
        name="Jira", url="http://127.0.0.1:9/hook", secret="s3cret", events=["project.updated"]
    )
    WebhookEndpoint.objects.create(
        name="Slack", url="http://127.0.0.1:9/other", secret="x", events=["review.decided"]
    )
    project = ProjectFactory(business_unit=unit)
    api_client.force_authenticate(member)

    response = api_client.patch(
        f"/api/v1/projects/{project.pk}/",
        {"stage": "production"},
        format="json",
        HTTP_IF_MATCH='"1"',
    )

    assert response.status_code == 200
    deliveries = WebhookDelivery.objects.filter(event="project.updated")
    assert [d.endpoint_id for d in deliveries] == [subscribed.pk]
    assert deliveries.get().payload["project"]["id"] == project.pk
