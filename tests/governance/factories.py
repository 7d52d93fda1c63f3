"""Factories for governance models, and a project placed in any review state."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory
from django.utils import timezone

from governance import risk
from governance.models import (
    Control,
    ControlStatus,
    Framework,
    Review,
    RiskAssessment,
)
from portfolio.models import Project
from tests.factories import ProjectFactory


class RiskAssessmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RiskAssessment

    project = factory.SubFactory(ProjectFactory)
    answers = factory.LazyFunction(lambda: risk.answers_to_mapping(risk.RiskAnswers()))
    eu_tier = Project.RiskTier.MINIMAL
    high_impact = False
    rule = "minimal"
    rationale = "Minimal risk."


class ReviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Review

    project = factory.SubFactory(ProjectFactory)
    cycle = 1
    status = Review.Status.SUBMITTED
    tier = Project.RiskTier.HIGH
    submitted_at = factory.LazyFunction(timezone.now)
    due_date = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=10))


class FrameworkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Framework

    code = factory.Sequence(lambda n: f"fw-{n}")
    name = factory.Sequence(lambda n: f"Framework {n}")


class ControlFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Control

    framework = factory.SubFactory(FrameworkFactory)
    identifier = factory.Sequence(lambda n: f"C-{n}")
    title = factory.Sequence(lambda n: f"Control {n}")
    applies_to_tiers = factory.LazyFunction(lambda: ["high"])
    high_impact_only = False


class ControlStatusFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ControlStatus

    project = factory.SubFactory(ProjectFactory)
    control = factory.SubFactory(ControlFactory)
    status = ControlStatus.Status.MET
    note = "Evidence in the project folder."
    set_at = factory.LazyFunction(timezone.now)


def project_in_state(
    state: str,
    *,
    tier: str = Project.RiskTier.HIGH,
    reviewer: Any = None,
    decided_days_ago: int = 10,
    **project_fields: Any,
) -> tuple[Project, Review | None]:
    """A project whose review status is `state`, with the review pass that got it there.

    `changes_since_approval` is an approved pass followed by a material change of the project.
    """
    project = ProjectFactory(risk_tier=tier, review_status=state, **project_fields)
    if state == Project.ReviewStatus.NOT_SUBMITTED:
        return project, None
    status = (
        Review.Status.APPROVED if state == Project.ReviewStatus.CHANGES_SINCE_APPROVAL else state
    )
    now = timezone.now()
    values: dict[str, Any] = {"project": project, "status": status, "tier": tier}
    values["submitted_at"] = now - dt.timedelta(days=decided_days_ago + 5)
    if status != Review.Status.SUBMITTED:
        values.update(reviewer=reviewer, started_at=values["submitted_at"], assigned_at=now)
    if status in Review.DECISIONS:
        values.update(decided_at=now - dt.timedelta(days=decided_days_ago), decided_by=reviewer)
    return project, ReviewFactory(**values)
