"""Example governance activity for the demo (`manage.py load_demo`, run by `make run`).

An imported inventory has no risk assessment and no review, so the review desk, the tiers and
the compliance matrix of a fresh demo would be empty. This step gives a few of the demo lead's
projects an owner, an assessment and a review in each state, through the same services as the
pages (each step audited, by the demo lead and the demo reviewer). It runs once, on a registry
with no assessment and no review yet, and never in a real installation unless `load_demo` is run
there.

A second step confirms example goal alignments: an imported inventory names no strategic goal, so
the executive view's alignment charts would show nothing until leads confirm the metrics' goal
suggestions. It computes the metrics once, then confirms the best suggestion of the projects whose
best suggestions are the strongest quarter (as the demo admin, audited); the rest stay suggested
for their leads.

The assessments answer only what the inventory itself says: its OMB impact classification
(rights- or safety-impacting → principal basis for decisions with an effect on civil rights or
on health and safety), whether it holds personal data, and whether it uses generative AI
(synthetic content, EU AI Act Art. 50). A rights-impacting use whose topic area is an EU AI Act
Annex III area (law enforcement, government benefits, human resources, education) is placed in
that area. Everything else is answered "no"; the rationale says so.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from governance import metrics_services, selectors, services
from governance.models import Review, RiskAssessment
from portfolio import roles
from portfolio import services as portfolio_services
from portfolio.models import BusinessUnit, GoalAlignment, Project

DEMO_LEAD = "lead"
DEMO_REVIEWER = "reviewer"
DEMO_ADMIN = "admin"
# The demo confirms the best goal suggestion of 1 in CONFIRMED_SHARE projects with a suggestion.
CONFIRMED_SHARE = 4
CONFIRMED_NOTE = "Confirmed as example activity by manage.py load_demo."
ASSESSED = 12  # projects of the lead's unit given an owner and an assessment
RIGHTS = {Project.OmbImpact.RIGHTS, Project.OmbImpact.RIGHTS_AND_SAFETY}
SAFETY = {Project.OmbImpact.SAFETY, Project.OmbImpact.RIGHTS_AND_SAFETY}
IMPACTING = RIGHTS | SAFETY | {Project.OmbImpact.HIGH_IMPACT}
# Inventory topic areas that are EU AI Act Annex III areas (for rights-impacting uses only).
TOPIC_ANNEX_III: dict[str, str] = {
    Project.TopicArea.LAW_ENFORCEMENT.value: "law_enforcement",
    Project.TopicArea.BENEFITS.value: "essential_services",
    Project.TopicArea.HUMAN_RESOURCES.value: "employment",
    Project.TopicArea.EDUCATION_WORKFORCE.value: "education",
}
# What happens to the first projects after their assessment, in order (the rest stay assessed).
REVIEW_STORY = (
    "approved",
    "approved_with_conditions",
    "changes_requested",
    "in_review",
    "submitted",
    "submitted",
)
DEMO_NOTE = "Demo: an example review recorded by manage.py load_demo."


def answers_from_inventory(project: Project) -> dict[str, Any]:
    """The questionnaire's answers that the inventory's own fields give; the rest stay "no"."""
    areas = []
    if project.omb_impact in RIGHTS or project.omb_impact == Project.OmbImpact.HIGH_IMPACT:
        areas.append("civil_rights_privacy")
    if project.omb_impact in SAFETY:
        areas.append("health_safety")
    answers: dict[str, Any] = {
        "principal_basis_for_decisions": bool(areas),
        "omb_effect_areas": areas,
        "processes_personal_data": bool(project.involves_pii),
        "generates_synthetic_content": "generative" in (project.techniques or []),
    }
    annex_iii = TOPIC_ANNEX_III.get(project.topic_area)
    if project.omb_impact in RIGHTS and annex_iii:
        answers["annex_iii_areas"] = [annex_iii]
    return answers


def _demo_projects(unit: BusinessUnit) -> list[Project]:
    """Half impacting, half not, in id order (so that every demo gets the same ones)."""
    in_unit = Project.objects.filter(
        business_unit_id__in=roles.descendant_ids([unit.pk]) | {unit.pk}, archived_at=None
    ).order_by("pk")
    impacting = list(in_unit.filter(omb_impact__in=IMPACTING)[: ASSESSED // 2])
    others = list(in_unit.exclude(omb_impact__in=IMPACTING)[: ASSESSED - len(impacting)])
    # alternate, so that the review story covers both kinds
    mixed: list[Project] = []
    for i in range(max(len(impacting), len(others))):
        mixed += impacting[i : i + 1] + others[i : i + 1]
    return mixed


def _review_story(project: Project, step: str, lead: Any, reviewer: Any) -> None:
    review = services.review_submit(actor=lead, project=project, note=DEMO_NOTE)
    if step == "submitted":
        return
    review = services.review_start(actor=reviewer, review=review)
    if step == "in_review":
        return
    conditions = []
    note = ""
    if step == "approved_with_conditions":
        due = timezone.localdate() + dt.timedelta(days=30)
        conditions = [
            {"text": "Publish a plain-language notice for the people affected.", "due_date": due}
        ]
    if step == "changes_requested":
        note = "Describe the data used and how a person can contest an output."
    if step == "approved":
        # the evidence a reviewer would have looked for: every applicable control met
        for control in selectors.applicable_controls(project=project):
            services.control_status_set(
                actor=lead,
                project=project,
                control=control,
                status="met",
                note="Demo: example evidence recorded by manage.py load_demo.",
            )
    services.review_decide(
        actor=reviewer, review=review, decision=step, note=note, conditions=conditions
    )


@contextmanager
def _quiet_task_log() -> Iterator[None]:
    """Without a broker the tasks the steps queue run in-process and log a line each."""
    logger = logging.getLogger("celery.app.trace")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def demo_governance_ensure() -> str | None:
    """Record the example activity once; returns what to print, or None when nothing was done."""
    if RiskAssessment.objects.exists() or Review.objects.exists():
        return None
    users = get_user_model().objects
    lead = users.filter(username=DEMO_LEAD).first()
    reviewer = users.filter(username=DEMO_REVIEWER).first()
    membership = lead.memberships.select_related("business_unit").first() if lead else None
    if lead is None or reviewer is None or membership is None:
        return None
    projects = _demo_projects(membership.business_unit)
    if not projects:
        return None
    # The demo's notifications would print to the console (the default backend): keep them out
    # of `make run`'s output; they are recorded as sent as usual.
    quiet = "django.core.mail.backends.locmem.EmailBackend"
    with override_settings(EMAIL_BACKEND=quiet), _quiet_task_log(), transaction.atomic():
        for i, project in enumerate(projects):
            if project.owner_id is None:
                project = portfolio_services.project_update(
                    actor=lead,
                    project=project,
                    expected_version=project.version,
                    data={"owner": lead},
                )
            services.risk_assessment_record(
                actor=lead, project=project, answers=answers_from_inventory(project)
            )
            project.refresh_from_db()  # the tier the assessment set
            if i < len(REVIEW_STORY):
                _review_story(project, REVIEW_STORY[i], lead, reviewer)
    reviews = min(len(projects), len(REVIEW_STORY))
    return (
        f"Demo governance: {len(projects)} projects of {membership.business_unit.code} assessed "
        f"from their inventory answers and owned by '{lead.get_username()}', {reviews} of them "
        f"in review or decided by '{reviewer.get_username()}' (example activity)."
    )


def demo_alignments_ensure() -> str | None:
    """Confirm example goal alignments once (see the module docstring); returns what to print,
    or None when nothing was done (an alignment is confirmed already, or nothing matches)."""
    confirmed = GoalAlignment.Status.CONFIRMED
    if GoalAlignment.objects.filter(status=confirmed).exists():
        return None
    admin = get_user_model().objects.filter(username=DEMO_ADMIN).first()
    if admin is None or not Project.objects.exists():
        return None
    suggested = GoalAlignment.objects.filter(status=GoalAlignment.Status.SUGGESTED)
    if not suggested.exists():
        with _quiet_task_log():
            metrics_services.metrics_compute()
    best: dict[int, GoalAlignment] = {}
    for alignment in suggested.select_related("project").order_by("-strength", "pk"):
        best.setdefault(alignment.project_id, alignment)
    chosen = list(best.values())[: len(best) // CONFIRMED_SHARE]
    if not chosen:
        return None
    with transaction.atomic():
        for alignment in chosen:
            portfolio_services.alignment_update(
                actor=admin,
                alignment=alignment,
                data={"status": confirmed, "rationale": f"{alignment.rationale} {CONFIRMED_NOTE}"},
            )
    return (
        f"Demo alignments: the best goal suggestion of {len(chosen)} of the {len(best)} projects "
        f"with one confirmed by '{admin.get_username()}' (example activity); the others wait "
        "for their leads."
    )


def register() -> None:
    from portfolio.demo import register_demo_step

    register_demo_step(demo_governance_ensure)
    register_demo_step(demo_alignments_ensure)
