"""API input and output shapes of governance.

Plain serializers are `Serializer[Any]`: they read dicts and computed rows, and DRF's stubs type
`instance` as one object while `many=True` passes a list.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework import serializers

from governance import risk
from governance.models import (
    Control,
    ControlStatus,
    Framework,
    Review,
    ReviewComment,
    ReviewCondition,
    RiskAssessment,
)
from portfolio.models import Project
from portfolio.serializers import UnitRefSerializer, UserRefSerializer

User = get_user_model()


def tier_choices(qualifier: str) -> list[tuple[str, str]]:
    """The tiers, labelled for one field (distinct labels keep each field's enum its own in
    the OpenAPI schema)."""
    return [(value, f"{label} {qualifier}") for value, label in Project.RiskTier.choices]


class ProjectRefSerializer(serializers.ModelSerializer[Project]):
    business_unit = UnitRefSerializer(read_only=True)

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "external_ref",
            "business_unit",
            "risk_tier",
            "review_status",
            "version",
        ]
        read_only_fields = fields


# --- Risk assessments ----------------------------------------------------------------------------


def _answer_field(question: risk.Question) -> serializers.Field[Any, Any, Any, Any]:
    label = f"{question.text} ({question.reference})" if question.reference else question.text
    if question.choices is not None:
        return serializers.ListField(
            child=serializers.ChoiceField(choices=list(question.choices.items())),
            required=False,
            default=list,
            help_text=label,
        )
    return serializers.BooleanField(required=False, default=False, help_text=label)


class _AnswersBase(serializers.Serializer[Any]):
    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(risk.ANSWER_KEYS))
            if unknown:
                raise serializers.ValidationError({key: ["Unknown question."] for key in unknown})
        return super().to_internal_value(data)


RiskAnswersSerializer = type(
    "RiskAnswersSerializer",
    (_AnswersBase,),
    {
        "__doc__": "The questionnaire: every question defaults to no / nothing chosen.",
        "__module__": __name__,
        **{q.key: _answer_field(q) for q in risk.QUESTIONS},
    },
)


class QuestionSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    group = serializers.CharField()
    reference = serializers.CharField()
    text = serializers.CharField()
    choices = serializers.DictField(child=serializers.CharField(), allow_null=True)


class RiskAssessmentInputSerializer(serializers.Serializer[Any]):
    project = serializers.PrimaryKeyRelatedField(queryset=Project.objects.none())
    answers = RiskAnswersSerializer()


class RiskAssessmentOutputSerializer(serializers.ModelSerializer[RiskAssessment]):
    project = ProjectRefSerializer(read_only=True)
    assessor = UserRefSerializer(read_only=True)
    answers = RiskAnswersSerializer(read_only=True)
    eu_tier = serializers.ChoiceField(choices=tier_choices("(EU AI Act)"), read_only=True)
    is_current = serializers.SerializerMethodField(
        help_text="This is the newest assessment of the project (the one that set its tier)."
    )

    class Meta:
        model = RiskAssessment
        fields = [
            "id",
            "project",
            "assessor",
            "created_at",
            "eu_tier",
            "high_impact",
            "rule",
            "rationale",
            "is_current",
            "answers",
        ]
        read_only_fields = fields

    def get_is_current(self, obj: RiskAssessment) -> bool:
        return obj.pk == getattr(obj, "latest_id", None)


# --- Reviews -------------------------------------------------------------------------------------


class ReviewCommentSerializer(serializers.ModelSerializer[ReviewComment]):
    author = UserRefSerializer(read_only=True)

    class Meta:
        model = ReviewComment
        fields = ["id", "author", "text", "created_at"]
        read_only_fields = ["id", "author", "created_at"]


class ReviewConditionSerializer(serializers.ModelSerializer[ReviewCondition]):
    met_by = UserRefSerializer(read_only=True)

    class Meta:
        model = ReviewCondition
        fields = ["id", "text", "due_date", "met", "met_by", "met_at", "met_note"]
        read_only_fields = fields


class ReviewOutputSerializer(serializers.ModelSerializer[Review]):
    project = ProjectRefSerializer(read_only=True)
    submitted_by = UserRefSerializer(read_only=True)
    reviewer = UserRefSerializer(read_only=True)
    decided_by = UserRefSerializer(read_only=True)
    comments = ReviewCommentSerializer(many=True, read_only=True)
    conditions = ReviewConditionSerializer(many=True, read_only=True)
    tier = serializers.ChoiceField(choices=tier_choices("at submission"), read_only=True)
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = Review
        fields = [
            "id",
            "project",
            "cycle",
            "status",
            "tier",
            "submitted_by",
            "submitted_at",
            "submission_note",
            "due_date",
            "overdue",
            "reviewer",
            "assigned_at",
            "started_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "conditions",
            "comments",
            "updated_at",
        ]
        read_only_fields = fields

    def get_overdue(self, obj: Review) -> bool:
        return obj.is_open and obj.due_date < timezone.localdate()


class ReviewSubmitSerializer(serializers.Serializer[Any]):
    project = serializers.PrimaryKeyRelatedField(queryset=Project.objects.none())
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ReviewAssignSerializer(serializers.Serializer[Any]):
    reviewer = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))


class ConditionInputSerializer(serializers.Serializer[Any]):
    text = serializers.CharField()
    due_date = serializers.DateField(required=False, allow_null=True, default=None)


class ReviewDecideSerializer(serializers.Serializer[Any]):
    decision = serializers.ChoiceField(choices=[(str(d), d.label) for d in Review.DECISIONS])
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Required when requesting changes or rejecting.",
    )
    conditions = ConditionInputSerializer(
        many=True,
        required=False,
        default=list,
        help_text="Required (at least one) for approved_with_conditions, refused otherwise.",
    )


class CommentInputSerializer(serializers.Serializer[Any]):
    text = serializers.CharField()


class ConditionMetSerializer(serializers.Serializer[Any]):
    note = serializers.CharField(required=False, allow_blank=True, default="")


# --- Frameworks and controls ---------------------------------------------------------------------


class FrameworkRefSerializer(serializers.ModelSerializer[Framework]):
    class Meta:
        model = Framework
        fields = ["id", "code", "name"]
        read_only_fields = fields


class FrameworkSerializer(serializers.ModelSerializer[Framework]):
    control_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Framework
        fields = ["id", "code", "name", "version", "description", "url", "control_count"]
        read_only_fields = fields


class ControlSerializer(serializers.ModelSerializer[Control]):
    framework = FrameworkRefSerializer(read_only=True)
    applies_to_tiers = serializers.ListField(
        child=serializers.ChoiceField(choices=tier_choices("tier")), read_only=True
    )

    class Meta:
        model = Control
        fields = [
            "id",
            "framework",
            "identifier",
            "title",
            "description",
            "applies_to_tiers",
            "high_impact_only",
        ]
        read_only_fields = fields


class ProjectControlSerializer(serializers.Serializer[Any]):
    """A control that applies to the project and the project's status on it; PUT the status,
    evidence link, note and justification."""

    control = ControlSerializer(read_only=True)
    status = serializers.ChoiceField(choices=ControlStatus.Status.choices)
    evidence_url = serializers.URLField(
        max_length=1000, required=False, allow_blank=True, default=""
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")
    justification = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Required for not_applicable."
    )
    set_by = UserRefSerializer(read_only=True, allow_null=True)
    set_at = serializers.DateTimeField(read_only=True, allow_null=True)

    @staticmethod
    def data_of(item: Any) -> dict[str, Any]:
        """The output of a `selectors.ProjectControl`."""
        entry = item.entry
        return {
            "control": item.control,
            "status": item.status,
            "evidence_url": entry.evidence_url if entry else "",
            "note": entry.note if entry else "",
            "justification": entry.justification if entry else "",
            "set_by": entry.set_by if entry else None,
            "set_at": entry.set_at if entry else None,
        }


# --- Compliance and the review queue -------------------------------------------------------------


class ComplianceFigureSerializer(serializers.Serializer[Any]):
    applicable = serializers.IntegerField(help_text="Applicable (project, control) pairs.")
    met = serializers.IntegerField()
    not_applicable = serializers.IntegerField(help_text="Marked not applicable, with a reason.")
    satisfied = serializers.IntegerField(help_text="met + not_applicable")
    share = serializers.FloatField(
        allow_null=True, help_text="satisfied / applicable; null when nothing applies."
    )


class ComplianceFrameworkSerializer(ComplianceFigureSerializer):
    framework = FrameworkRefSerializer()


class ComplianceRowSerializer(ComplianceFigureSerializer):
    id = serializers.IntegerField(help_text="Unit, project or framework id (see `by`).")
    # `label` and `parent` are also Field attributes in the stubs; DRF's metaclass moves
    # declared fields into `_declared_fields`, so at run time nothing is shadowed.
    label = serializers.CharField()  # type: ignore[assignment]
    parent = serializers.IntegerField(  # type: ignore[assignment]
        allow_null=True, help_text="With rollup: the parent unit's id (null for a top unit)."
    )
    own = ComplianceFigureSerializer(
        allow_null=True,
        help_text="With rollup: the unit's own projects only (the row's figures include the "
        "units below it); null otherwise.",
    )
    frameworks = ComplianceFrameworkSerializer(many=True)


class QueueEntrySerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=[("review", "review"), ("rereview", "rereview")])
    status = serializers.ChoiceField(
        choices=[
            ("submitted", "submitted"),
            ("in_review", "in_review"),
            ("rereview_due", "rereview_due"),
        ]
    )
    project = ProjectRefSerializer()
    review = serializers.IntegerField(source="review.pk", default=None, allow_null=True)
    reviewer = UserRefSerializer(allow_null=True)
    due_date = serializers.DateField()
    overdue = serializers.BooleanField()
    last_decided_at = serializers.DateTimeField(allow_null=True)
