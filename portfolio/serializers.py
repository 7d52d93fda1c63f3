"""API input and output shapes of the registry."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from portfolio.models import (
    AuditEvent,
    BusinessUnit,
    Capability,
    GoalAlignment,
    Project,
    StrategicGoal,
    Tool,
)
from portfolio.services import PROJECT_FIELDS

User = get_user_model()


class UserRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username"]
        read_only_fields = fields


class UnitRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = BusinessUnit
        fields = ["id", "code", "name"]
        read_only_fields = fields


class BusinessUnitSerializer(serializers.ModelSerializer):
    parent = serializers.PrimaryKeyRelatedField(
        queryset=BusinessUnit.objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = BusinessUnit
        fields = ["id", "code", "name", "parent", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators: list[Any] = []

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        # Uniqueness is enforced by the service's full_clean; keep DRF from double-checking.
        fields["code"].validators = []
        return fields


class ToolRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tool
        fields = ["id", "name", "vendor", "sanction_status"]
        read_only_fields = fields


class CapabilityRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Capability
        fields = ["id", "name", "slug"]
        read_only_fields = fields


class ProjectOutputSerializer(serializers.ModelSerializer):
    business_unit = UnitRefSerializer(read_only=True)
    owner = UserRefSerializer(read_only=True, allow_null=True)
    executive_sponsor = UserRefSerializer(read_only=True, allow_null=True)
    contact_email = serializers.CharField(read_only=True, help_text="An e-mail address or empty.")
    tools = ToolRefSerializer(many=True, read_only=True)
    capabilities = CapabilityRefSerializer(many=True, read_only=True)
    techniques = serializers.ListField(child=serializers.CharField(), read_only=True)
    demographic_features = serializers.ListField(child=serializers.CharField(), read_only=True)
    extra = serializers.DictField(read_only=True)
    # Optional choices: "" means "not stated" and must appear in the schema's enums.
    topic_area = serializers.ChoiceField(
        choices=Project.TopicArea.choices, allow_blank=True, read_only=True
    )
    development_method = serializers.ChoiceField(
        choices=Project.DevelopmentMethod.choices, allow_blank=True, read_only=True
    )
    omb_impact = serializers.ChoiceField(
        choices=Project.OmbImpact.choices, allow_blank=True, read_only=True
    )
    risk_tier = serializers.ChoiceField(
        choices=Project.RiskTier.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = Project
        fields = [
            "id",
            *PROJECT_FIELDS,
            "tools",
            "capabilities",
            "source",
            "risk_tier",
            "review_status",
            "archived_at",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ProjectInputSerializer(serializers.ModelSerializer):
    """What a person may send; the service validates the rest (full_clean) and checks rights."""

    business_unit = serializers.PrimaryKeyRelatedField(queryset=BusinessUnit.objects.all())
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), allow_null=True, required=False
    )
    executive_sponsor = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), allow_null=True, required=False
    )
    techniques = serializers.ListField(
        child=serializers.ChoiceField(choices=Project.Technique.choices), required=False
    )
    demographic_features = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False
    )
    extra = serializers.DictField(required=False)
    tools = serializers.PrimaryKeyRelatedField(
        queryset=Tool.objects.all(), many=True, required=False
    )
    capabilities = serializers.PrimaryKeyRelatedField(
        queryset=Capability.objects.all(), many=True, required=False
    )

    class Meta:
        model = Project
        fields = [*PROJECT_FIELDS, "tools", "capabilities"]
        validators: list[Any] = []


class StrategicGoalSerializer(serializers.ModelSerializer):
    parent = serializers.PrimaryKeyRelatedField(
        queryset=StrategicGoal.objects.all(), allow_null=True, required=False
    )
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = StrategicGoal
        fields = [
            "id",
            "title",
            "description",
            "parent",
            "owner",
            "period_start",
            "period_end",
            "active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators: list[Any] = []


class GoalAlignmentSerializer(serializers.ModelSerializer):
    project = serializers.PrimaryKeyRelatedField(queryset=Project.objects.all())
    goal = serializers.PrimaryKeyRelatedField(queryset=StrategicGoal.objects.all())

    class Meta:
        model = GoalAlignment
        fields = [
            "id",
            "project",
            "goal",
            "strength",
            "status",
            "rationale",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators: list[Any] = []


class ToolSerializer(serializers.ModelSerializer):
    aliases = serializers.ListField(
        child=serializers.CharField(max_length=255, allow_blank=True), required=False
    )
    capabilities = serializers.PrimaryKeyRelatedField(
        queryset=Capability.objects.all(), many=True, required=False
    )

    class Meta:
        model = Tool
        fields = [
            "id",
            "name",
            "vendor",
            "aliases",
            "sanction_status",
            "description",
            "capabilities",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators: list[Any] = []

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["name"].validators = []
        return fields


class CapabilitySerializer(serializers.ModelSerializer):
    parent = serializers.PrimaryKeyRelatedField(
        queryset=Capability.objects.all(), allow_null=True, required=False
    )
    slug = serializers.SlugField(max_length=255, required=False)

    class Meta:
        model = Capability
        fields = ["id", "name", "slug", "description", "parent"]
        read_only_fields = ["id"]
        validators: list[Any] = []

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["name"].validators = []
        fields["slug"].validators = []
        return fields


class AuditEventSerializer(serializers.ModelSerializer):
    actor = UserRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "actor",
            "actor_label",
            "action",
            "target_type",
            "target_id",
            "target_repr",
            "business_unit",
            "changes",
            "request_id",
        ]
        read_only_fields = fields
