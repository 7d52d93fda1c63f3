"""`/api/v1/webhooks/`: outbound webhook endpoints (admins only; the secret is write-only), with
each endpoint's delivery log at `/api/v1/webhooks/{id}/deliveries/`."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from governance import notifications, services
from governance.models import WebhookDelivery, WebhookEndpoint
from portfolio import roles


class IsAdmin(permissions.BasePermission):
    message = "Only admins manage webhooks."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and roles.is_admin(request.user))


class WebhookEndpointSerializer(serializers.ModelSerializer[WebhookEndpoint]):
    secret = serializers.CharField(
        write_only=True, min_length=16, max_length=255, help_text="HMAC key; never read back."
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEndpoint.Event.choices), allow_empty=False
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "name", "url", "secret", "events", "active", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_url(self, value: str) -> str:
        if urlsplit(value).scheme.lower() not in notifications.WEBHOOK_SCHEMES:
            raise serializers.ValidationError("Only http and https URLs are delivered.")
        return value

    def validate_events(self, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class WebhookDeliverySerializer(serializers.ModelSerializer[WebhookDelivery]):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "event_id",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "created_at",
            "next_attempt_at",
            "delivered_at",
            "payload",
        ]
        read_only_fields = fields


class WebhookEndpointViewSet(viewsets.ModelViewSet[WebhookEndpoint]):
    """Admin-configured endpoints that receive signed `project.registered`, `project.updated`
    and `review.decided` events."""

    serializer_class = WebhookEndpointSerializer
    permission_classes = [IsAdmin]
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        return WebhookEndpoint.objects.order_by("name", "id")

    def perform_create(self, serializer: serializers.BaseSerializer[WebhookEndpoint]) -> None:
        serializer.instance = services.webhook_endpoint_save(
            actor=self.request.user, endpoint=None, data=dict(serializer.validated_data)
        )

    def perform_update(self, serializer: serializers.BaseSerializer[WebhookEndpoint]) -> None:
        serializer.instance = services.webhook_endpoint_save(
            actor=self.request.user,
            endpoint=serializer.instance,
            data=dict(serializer.validated_data),
        )

    def perform_destroy(self, instance: WebhookEndpoint) -> None:
        services.webhook_endpoint_delete(actor=self.request.user, endpoint=instance)

    @extend_schema(responses={200: WebhookDeliverySerializer(many=True)})
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        """The endpoint's delivery log, newest first."""
        endpoint = self.get_object()
        queryset = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("-created_at", "-id")
        # The view's paginator directly: `paginate_queryset` is typed for the endpoints.
        paginator = self.paginator
        page = paginator.paginate_queryset(queryset, request, view=self) if paginator else None
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)
