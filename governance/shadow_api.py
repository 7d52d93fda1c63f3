"""Shadow-AI endpoints: `GET /api/v1/shadow-ai/` (the three flags) and `/api/v1/tool-adoptions/`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from governance import shadow
from governance.filters import unit_ids_with_descendants
from portfolio.models import Tool, ToolAdoption


class ToolAdoptionFilterSet(django_filters.FilterSet):
    unit = django_filters.CharFilter(
        method="filter_unit", help_text="Unit ids or codes, comma-separated (and their sub-units)."
    )
    tool = django_filters.NumberFilter(field_name="tool_id", help_text="Tool id.")
    sanction_status = django_filters.MultipleChoiceFilter(
        field_name="tool__sanction_status", choices=Tool.SanctionStatus.choices
    )
    source = django_filters.CharFilter(field_name="source")

    class Meta:
        model = ToolAdoption
        fields: list[str] = []

    def filter_unit(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return queryset.filter(business_unit_id__in=unit_ids_with_descendants(value))


class _UnitRefSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class _ToolRefSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    vendor = serializers.CharField()
    sanction_status = serializers.CharField()


class ToolAdoptionOutputSerializer(serializers.ModelSerializer[ToolAdoption]):
    business_unit = _UnitRefSerializer()
    tool = _ToolRefSerializer()

    class Meta:
        model = ToolAdoption
        fields = [
            "id",
            "business_unit",
            "tool",
            "task",
            "estimated_users",
            "raw_name",
            "source",
            "created_at",
            "updated_at",
        ]


class ToolAdoptionViewSet(viewsets.ReadOnlyModelViewSet[ToolAdoption]):
    """Tools business units use (e.g. the OMB commercial-AI list); members see their units'."""

    serializer_class = ToolAdoptionOutputSerializer
    filterset_class = ToolAdoptionFilterSet
    ordering_fields = ["business_unit__name", "tool__name", "task", "updated_at"]

    def get_queryset(self) -> QuerySet[ToolAdoption]:
        return shadow.tool_adoption_list(user=self.request.user)


class RiskyToolUseSerializer(serializers.Serializer[Any]):
    project_id = serializers.IntegerField()
    project_name = serializers.CharField()
    unit_code = serializers.CharField()
    tool_id = serializers.IntegerField()
    tool_name = serializers.CharField()
    sanction_status = serializers.CharField()


class UnregisteredUseSerializer(serializers.Serializer[Any]):
    unit_id = serializers.IntegerField()
    unit_code = serializers.CharField()
    unit_name = serializers.CharField()
    tool_id = serializers.IntegerField()
    tool_name = serializers.CharField()
    sanction_status = serializers.CharField()
    tasks = serializers.ListField(child=serializers.CharField())


class OwnerlessProjectSerializer(serializers.Serializer[Any]):
    project_id = serializers.IntegerField()
    project_name = serializers.CharField()
    unit_code = serializers.CharField()


def _flagged(item: serializers.Serializer[Any]) -> type[serializers.Serializer[Any]]:
    class FlaggedSerializer(serializers.Serializer[Any]):
        count = serializers.IntegerField(help_text="All flagged rows; `items` is capped.")
        items = item.__class__(many=True)

    FlaggedSerializer.__name__ = f"Flagged{item.__class__.__name__.removesuffix('Serializer')}"
    return FlaggedSerializer


class ShadowSummarySerializer(serializers.Serializer[Any]):
    adoptions = serializers.IntegerField()
    adopted_tools_unreviewed = serializers.IntegerField(
        help_text="Distinct adopted tools that are prohibited or unreviewed."
    )
    risky_tool_uses = serializers.IntegerField()
    unregistered_uses = serializers.IntegerField()
    ownerless_projects = serializers.IntegerField()


class ShadowReportSerializer(serializers.Serializer[Any]):
    summary = ShadowSummarySerializer()
    limit = serializers.IntegerField()
    risky_tool_uses = _flagged(RiskyToolUseSerializer())()
    unregistered_uses = _flagged(UnregisteredUseSerializer())()
    ownerless_projects = _flagged(OwnerlessProjectSerializer())()


class _OneObjectSchema(AutoSchema):
    """`list` answers one report object, not an array."""

    def _is_list_view(self, serializer: Any = None) -> bool:
        return False


class ShadowAIViewSet(viewsets.ViewSet):
    """Shadow AI: projects on prohibited or unreviewed tools, adopted tools no registered project
    uses, projects without an owner. Lists are capped at `limit` rows (default 50, at most 500);
    `count` gives the full number."""

    schema = _OneObjectSchema()

    @extend_schema(
        parameters=[OpenApiParameter("limit", OpenApiTypes.INT, default=shadow.DEFAULT_LIMIT)],
        responses={200: ShadowReportSerializer},
    )
    def list(self, request: Request) -> Response:
        try:
            limit = int(request.query_params.get("limit", shadow.DEFAULT_LIMIT))
        except ValueError:
            raise serializers.ValidationError({"limit": "A whole number."}) from None
        limit = max(0, min(limit, shadow.MAX_LIMIT))
        report = shadow.shadow_report(user=request.user, limit=limit)
        data = {
            "summary": {
                "adoptions": report.adoptions,
                "adopted_tools_unreviewed": report.adopted_tools_unreviewed,
                "risky_tool_uses": report.risky_tool_uses.count,
                "unregistered_uses": report.unregistered_uses.count,
                "ownerless_projects": report.ownerless_projects.count,
            },
            "limit": limit,
            **{
                name: {
                    "count": flagged.count,
                    "items": [asdict(item) for item in flagged.items],
                }
                for name, flagged in (
                    ("risky_tool_uses", report.risky_tool_uses),
                    ("unregistered_uses", report.unregistered_uses),
                    ("ownerless_projects", report.ownerless_projects),
                )
            },
        }
        return Response(ShadowReportSerializer(data).data)
