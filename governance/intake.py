"""The risk questionnaire as a section of the registration form (see `portfolio.intake`).

Answering it there records the project's first risk assessment together with the project;
ticking "Submit for review" also opens the first review, so that a unit can register, assess
and submit in one step. Leaving it blank registers the project alone (the questionnaire is then
on the project's "Risk, review and controls" page).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from governance import services
from governance.forms import RiskAssessmentForm
from portfolio.intake import IntakeSection, register_section
from portfolio.models import Project


class IntakeRiskForm(RiskAssessmentForm):
    """The questionnaire with the two choices that only make sense at registration."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["record"] = forms.BooleanField(
            label="None of these apply: record the assessment now",
            required=False,
            help_text="Any answer ticked above is recorded anyway. Leave everything blank to "
            "answer the questionnaire later.",
        )
        self.fields["submit"] = forms.BooleanField(
            label="Submit for review once registered",
            required=False,
            help_text="Needs the assessment. Only the project's owner or a lead of its unit "
            "submits.",
        )

    def answered(self) -> bool:
        return bool(self.cleaned_data.get("record")) or any(self.answers().values())


def save(request: HttpRequest, project: Project, form: IntakeRiskForm, draft: bool) -> list[str]:
    submit = bool(form.cleaned_data.get("submit"))
    if not form.answered():
        if submit:
            raise ValidationError(
                "A project is submitted with a risk assessment: answer the questionnaire, or tick "
                "“None of these apply”."
            )
        return []
    if submit and draft:
        raise ValidationError(
            "A draft is not submitted for review: choose “Register project” to submit it."
        )
    assessment = services.risk_assessment_record(
        actor=request.user, project=project, answers=form.answers()
    )
    notes = [f"Risk assessment recorded: {assessment.get_eu_tier_display()} tier."]
    if submit:
        try:
            services.review_submit(actor=request.user, project=project)
        except services.TransitionError as exc:
            raise ValidationError(str(exc)) from exc
        notes.append("Submitted for review.")
    return notes


def register() -> None:
    register_section(
        IntakeSection(
            key="risk",
            title="Risk questionnaire",
            template="governance/_intake_risk.html",
            form_class=IntakeRiskForm,
            save=save,
        )
    )
