"""Forms of the governance pages: parse input for one service call, nothing more."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.forms.utils import flatatt
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from governance import risk
from governance.models import ControlStatus, Review
from portfolio import roles
from portfolio.models import BusinessUnit, Project

CONDITION_ROWS = 3
QUEUE_STATUSES = (
    ("submitted", "Submitted"),
    ("in_review", "In review"),
    ("rereview_due", "Re-review due"),
)


class PlainSelect(forms.Select):
    """A single select rendered in Python. Django renders each option through a template, which
    for the few hundred business units of a large registry costs more than the whole queue."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        chosen = set(self.format_value(value))
        options = []
        for option_value, label in self.choices:
            text = "" if option_value is None else str(option_value)
            selected = " selected" if text in chosen else ""
            options.append(
                f'<option value="{escape(text)}"{selected}>{escape(str(label))}</option>'
            )
        attributes = flatatt(self.build_attrs(self.attrs, attrs))
        return mark_safe(  # noqa: S308 # nosec B308 B703 # every value above is escaped
            f'<select name="{escape(name)}"{attributes}>{"".join(options)}</select>'
        )


class ReviewQueueFilterForm(forms.Form):
    status = forms.MultipleChoiceField(
        label="Status", required=False, choices=QUEUE_STATUSES, widget=forms.CheckboxSelectMultiple
    )
    tier = forms.MultipleChoiceField(
        label="Risk tier",
        required=False,
        choices=Project.RiskTier.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    unit = forms.ModelChoiceField(
        label="Business unit",
        required=False,
        queryset=BusinessUnit.objects.none(),
        empty_label="All units",
        widget=PlainSelect,
        help_text="Includes the units below it.",
    )
    mine = forms.BooleanField(label="Assigned to me", required=False)
    overdue = forms.BooleanField(label="Overdue only", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        unit = cast("forms.ModelChoiceField[BusinessUnit]", self.fields["unit"])
        unit.queryset = BusinessUnit.objects.only("pk", "name", "code").order_by("name")


def reviewer_queryset() -> QuerySet[Any]:
    """Users who may review: the reviewer or admin group, or superusers."""
    return (
        get_user_model()
        .objects.filter(
            Q(groups__name__in=[roles.REVIEWER, roles.ADMIN]) | Q(is_superuser=True),
            is_active=True,
        )
        .distinct()
        .order_by("username")
    )


class AssignForm(forms.Form):
    reviewer = forms.ModelChoiceField(
        label="Assign to", queryset=reviewer_queryset(), empty_label="Choose a reviewer"
    )


class CommentForm(forms.Form):
    text = forms.CharField(label="Comment", widget=forms.Textarea(attrs={"rows": 3}))


class ConditionMetForm(forms.Form):
    note = forms.CharField(label="How it was met (optional)", required=False)


class DecideForm(forms.Form):
    decision = forms.ChoiceField(
        label="Decision",
        choices=[(d.value, d.label) for d in Review.DECISIONS],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label="Decision note",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required when you request changes or reject.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for i in range(1, CONDITION_ROWS + 1):
            self.fields[f"condition_{i}"] = forms.CharField(
                label=f"Condition {i}", required=False, max_length=2000
            )
            self.fields[f"condition_{i}_due"] = forms.DateField(
                label=f"Condition {i} due by",
                required=False,
                widget=forms.DateInput(attrs={"type": "date"}),
            )

    def condition_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"condition_{i}"], self[f"condition_{i}_due"]) for i in range(1, 4)]

    def conditions(self) -> list[dict[str, Any]]:
        out = []
        for i in range(1, CONDITION_ROWS + 1):
            text = (self.cleaned_data.get(f"condition_{i}") or "").strip()
            if text:
                out.append({"text": text, "due_date": self.cleaned_data.get(f"condition_{i}_due")})
        return out


class SubmitForm(forms.Form):
    note = forms.CharField(
        label="Note for the reviewers (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ControlStatusForm(forms.Form):
    status = forms.ChoiceField(label="Status", choices=ControlStatus.Status.choices)
    evidence_url = forms.URLField(
        label="Evidence link", required=False, max_length=1000, assume_scheme="https"
    )
    note = forms.CharField(
        label="Evidence or note", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    justification = forms.CharField(
        label="Why it does not apply",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when the status is Not applicable.",
    )


class RiskAssessmentForm(forms.Form):
    """The questionnaire of `governance.risk`: one field per question, grouped for display."""

    GROUP_TITLES = {
        "prohibited": "Prohibited practices",
        "emotion": "Emotion recognition",
        "high_risk": "High-risk uses",
        "exemption": "Narrow-task exemption",
        "transparency": "Transparency duties",
        "high_impact": "High-impact (OMB)",
        "context": "Context",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for q in risk.QUESTIONS:
            if q.choices:
                field: forms.Field = forms.MultipleChoiceField(
                    label=q.text,
                    required=False,
                    choices=list(q.choices.items()),
                    widget=forms.CheckboxSelectMultiple,
                )
            else:
                field = forms.BooleanField(label=q.text, required=False)
            field.help_text = q.reference
            self.fields[q.key] = field

    def groups(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for q in risk.QUESTIONS:
            if not out or out[-1]["key"] != q.group:
                out.append(
                    {"key": q.group, "title": self.GROUP_TITLES.get(q.group, q.group), "fields": []}
                )
            out[-1]["fields"].append(self[q.key])
        return out

    def answers(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for q in risk.QUESTIONS:
            value = self.cleaned_data.get(q.key)
            out[q.key] = list(value or []) if q.choices else bool(value)
        return out
