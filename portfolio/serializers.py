"""API input and output shapes of the registry."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User as AuthUser
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


class UserRefSerializer(serializers.ModelSerializer[AuthUser]):
    class Meta:
        model = User
        fields = ["id", "username"]
        read_only_fields = fields


class UnitRefSerializer(serializers.ModelSerializer[BusinessUnit]):
    class Meta:
        model = BusinessUnit
        fields = ["id", "code", "name"]
        read_only_fields = fields


class BusinessUnitSerializer(serializers.ModelSerializer[BusinessUnit]):
    # `parent` is also a Field attribute in the stubs; DRF's metaclass moves declared fields
    # into `_declared_fields`, so at run time nothing is shadowed.
    parent = serializers.PrimaryKeyRelatedField(  # type: ignore[assignment]
        queryset=BusinessUnit.objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = BusinessUnit
        fields = ["id", "code", "name", "parent", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators: list[Any] = []

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        # Uniqueness is enforced by the service's full_clean; keep DRF from double-checking.
        fields["code"].validators = []
        return fields


class ToolRefSerializer(serializers.ModelSerializer[Tool]):
    class Meta:
        model = Tool
        fields = ["id", "name", "vendor", "sanction_status"]
        read_only_fields = fields


class CapabilityRefSerializer(serializers.ModelSerializer[Capability]):
    class Meta:
        model = Capability
        fields = ["id", "name", "slug"]
        read_only_fields = fields


class ProjectOutputSerializer(serializers.ModelSerializer[Project]):
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

    def to_representation(self, instance: Project) -> dict[str, Any]:
        """The same JSON as the declared fields give (tests/portfolio/test_api_representation.py
        compares them), built without walking DRF's field machinery for every value: a list
        page of 50 projects costs a fraction of the generic path."""
        return _project_representation(instance)


def _ref(value: Any, names: tuple[str, ...]) -> dict[str, Any] | None:
    return None if value is None else {name: getattr(value, name) for name in names}


def _related(instance: Project, name: str) -> list[Any]:
    listed = instance.__dict__.get(f"listed_{name}")  # selectors.project_list(relations_as_lists)
    if listed is not None:
        return list(listed)
    prefetched = getattr(instance, "_prefetched_objects_cache", {})
    return list(prefetched[name]) if name in prefetched else list(getattr(instance, name).all())


def _strings(values: Any) -> list[Any]:
    return [None if v is None else str(v) for v in values]


@cache
def _project_plan() -> tuple[tuple[str, Callable[[Project], Any]], ...]:
    """(key, value getter) per output field, in the serializer's order; built once per process
    from the serializer's own fields so dates, decimals and datetimes keep DRF's formats."""
    declared = serializers.ModelSerializer.get_fields(ProjectOutputSerializer())
    unit_names = ("id", "code", "name")
    user_names = ("id", "username")
    tool_names = ("id", "name", "vendor", "sanction_status")
    capability_names = ("id", "name", "slug")

    def plain(name: str) -> Callable[[Project], Any]:
        return lambda p: getattr(p, name)

    def formatted(
        name: str, field: serializers.Field[Any, Any, Any, Any]
    ) -> Callable[[Project], Any]:
        convert = field.to_representation

        def get(p: Project) -> Any:
            value = getattr(p, name)
            return None if value is None else convert(value)

        return get

    def text(name: str) -> Callable[[Project], Any]:
        return lambda p: None if (v := getattr(p, name)) is None else str(v)

    special: dict[str, Callable[[Project], Any]] = {
        "business_unit": lambda p: _ref(p.business_unit, unit_names),
        "owner": lambda p: _ref(p.owner, user_names),
        "executive_sponsor": lambda p: _ref(p.executive_sponsor, user_names),
        "tools": lambda p: [_ref(t, tool_names) for t in _related(p, "tools")],
        "capabilities": lambda p: [_ref(c, capability_names) for c in _related(p, "capabilities")],
        "techniques": lambda p: _strings(p.techniques),
        "demographic_features": lambda p: _strings(p.demographic_features),
        "extra": lambda p: {str(k): v for k, v in p.extra.items()},
    }
    plan = []
    for name, field in declared.items():
        if name in special:
            plan.append((name, special[name]))
        elif isinstance(
            field,
            serializers.DateTimeField | serializers.DateField | serializers.DecimalField,
        ):
            plan.append((name, formatted(name, field)))
        elif isinstance(field, serializers.CharField):  # includes email and choice-less text
            plan.append((name, text(name)))
        elif isinstance(
            field,
            serializers.IntegerField | serializers.BooleanField | serializers.ChoiceField,
        ):
            plan.append((name, plain(name)))
        else:
            raise TypeError(f"no lean representation for {name}: {type(field).__name__}")
    return tuple(plan)


def _project_representation(instance: Project) -> dict[str, Any]:
    return {key: get(instance) for key, get in _project_plan()}


class ProjectInputSerializer(serializers.ModelSerializer[Project]):
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


class StrategicGoalSerializer(serializers.ModelSerializer[StrategicGoal]):
    # `parent` is also a Field attribute in the stubs; DRF's metaclass moves declared fields
    # into `_declared_fields`, so at run time nothing is shadowed.
    parent = serializers.PrimaryKeyRelatedField(  # type: ignore[assignment]
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


class GoalAlignmentSerializer(serializers.ModelSerializer[GoalAlignment]):
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


class ToolSerializer(serializers.ModelSerializer[Tool]):
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

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields["name"].validators = []
        return fields


class CapabilitySerializer(serializers.ModelSerializer[Capability]):
    # `parent` is also a Field attribute in the stubs; DRF's metaclass moves declared fields
    # into `_declared_fields`, so at run time nothing is shadowed.
    parent = serializers.PrimaryKeyRelatedField(  # type: ignore[assignment]
        queryset=Capability.objects.all(), allow_null=True, required=False
    )
    slug = serializers.SlugField(max_length=255, required=False)

    class Meta:
        model = Capability
        fields = ["id", "name", "slug", "description", "parent"]
        read_only_fields = ["id"]
        validators: list[Any] = []

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields["name"].validators = []
        fields["slug"].validators = []
        return fields


class AuditEventSerializer(serializers.ModelSerializer[AuditEvent]):
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
