"""The demo's example governance activity: assessments from the inventory's own answers, a
review in each state, once, through the audited services; `load_demo` end to end."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.utils.html import escape

from governance import demo
from governance.models import ControlStatus, Review, ReviewCondition, RiskAssessment
from portfolio import demo as portfolio_demo
from portfolio.models import AuditEvent, GoalAlignment, Project, ToolAdoption
from tests.factories import (
    BusinessUnitFactory,
    GoalAlignmentFactory,
    ProjectFactory,
    StrategicGoalFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def doj():
    agency = BusinessUnitFactory(code="DOJ", name="Department of Justice")
    bureau = BusinessUnitFactory(code="FBI", name="FBI", parent=agency)
    impacts = ["rights", "neither", "rights_and_safety", "", "safety", "neither", "neither", ""]
    projects = [
        ProjectFactory(business_unit=bureau if i % 2 else agency, omb_impact=impact)
        for i, impact in enumerate(impacts)
    ]
    BusinessUnitFactory(code="VA", name="Veterans Affairs")
    portfolio_demo.demo_users_ensure()
    return projects


def test_answers_are_only_what_the_inventory_says():
    rights = Project(omb_impact="rights", involves_pii=True, techniques=["generative"])
    safety = Project(omb_impact="safety", involves_pii=None, techniques=["nlp"])
    neither = Project(omb_impact="neither")

    assert demo.answers_from_inventory(rights) == {
        "principal_basis_for_decisions": True,
        "omb_effect_areas": ["civil_rights_privacy"],
        "processes_personal_data": True,
        "generates_synthetic_content": True,
    }
    assert demo.answers_from_inventory(safety)["omb_effect_areas"] == ["health_safety"]
    # a rights-impacting use in a topic area that is an Annex III area is placed there
    policing = Project(omb_impact="rights", topic_area="law_enforcement")
    assert demo.answers_from_inventory(policing)["annex_iii_areas"] == ["law_enforcement"]
    not_rights = Project(omb_impact="safety", topic_area="law_enforcement")
    assert "annex_iii_areas" not in demo.answers_from_inventory(not_rights)
    assert demo.answers_from_inventory(neither) == {
        "principal_basis_for_decisions": False,
        "omb_effect_areas": [],
        "processes_personal_data": False,
        "generates_synthetic_content": False,
    }


def test_demo_activity_assesses_owns_and_reviews_the_leads_projects(doj):
    line = demo.demo_governance_ensure()

    assert line is not None and "8 projects of DOJ" in line
    assert RiskAssessment.objects.count() == 8
    assert set(Project.objects.values_list("owner__username", flat=True)) == {"lead"}
    impacting = Project.objects.filter(omb_impact__in=["rights", "rights_and_safety", "safety"])
    assert all(a.high_impact for a in RiskAssessment.objects.filter(project__in=impacting))
    # one review in each state, and two waiting to be started
    assert sorted(Review.objects.values_list("status", flat=True)) == [
        "approved",
        "approved_with_conditions",
        "changes_requested",
        "in_review",
        "submitted",
        "submitted",
    ]
    assert ReviewCondition.objects.get().met_at is None
    # the plainly approved project has its applicable controls met
    approved = Review.objects.get(status="approved").project
    statuses = ControlStatus.objects.filter(project=approved)
    assert statuses.exists() and {c.status for c in statuses} == {"met"}
    decided = Review.objects.exclude(decided_by=None)
    assert {r.decided_by.username for r in decided} == {"reviewer"}
    # every step is on the audit trail, by the demo lead or reviewer
    actors = set(AuditEvent.objects.values_list("actor__username", flat=True))
    assert actors == {"lead", "reviewer"}
    assert AuditEvent.objects.filter(action="risk_assessment.recorded").count() == 8


def test_demo_activity_runs_once_and_never_over_real_governance(doj):
    demo.demo_governance_ensure()
    events = AuditEvent.objects.count()

    assert demo.demo_governance_ensure() is None
    assert AuditEvent.objects.count() == events
    assert RiskAssessment.objects.count() == 8


def test_demo_activity_needs_the_demo_lead(doj):
    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(username="lead").delete()

    assert demo.demo_governance_ensure() is None
    assert not RiskAssessment.objects.exists()


def test_demo_confirms_the_best_suggestion_of_the_strongest_quarter(doj):
    # given eight projects with goal suggestions, the first one with two
    goals = [StrategicGoalFactory(title=f"Example goal {g}") for g in "ab"]
    for i, project in enumerate(doj):
        GoalAlignmentFactory(
            project=project,
            goal=goals[i % 2],
            status="suggested",
            strength=0.1 + i / 100,
            rationale="Suggested by the metrics run.",
        )
    GoalAlignmentFactory(project=doj[7], goal=goals[0], status="suggested", strength=0.5)

    line = demo.demo_alignments_ensure()

    # then the two projects (8 / 4) with the strongest suggestions get their best one confirmed
    assert line is not None and "2 of the 8 projects" in line
    confirmed = GoalAlignment.objects.filter(status="confirmed")
    assert {(a.project, a.goal) for a in confirmed} == {(doj[7], goals[0]), (doj[6], goals[0])}
    assert all(demo.CONFIRMED_NOTE in a.rationale for a in confirmed)
    assert GoalAlignment.objects.filter(status="suggested").count() == 7
    events = AuditEvent.objects.filter(action="alignment.updated")
    assert {e.actor.username for e in events} == {"admin"} and events.count() == 2
    # and never again once an alignment is confirmed
    assert demo.demo_alignments_ensure() is None
    assert confirmed.count() == 2


def test_load_demo_end_to_end_fills_the_review_desk(capsys, client):
    call_command("load_demo")
    out = capsys.readouterr().out

    assert "projects created: 2133" in out
    assert "Maestro demo: http://127.0.0.1:8000" in out
    assert "tool adoptions created: 816" in out
    assert ToolAdoption.objects.count() == 816
    assert "Demo governance: 12 projects of DOJ" in out
    assert Review.objects.filter(status__in=Review.OPEN).count() == 3
    # the inventory's rights-impacting law-enforcement uses come out high-risk (Annex III)
    assert RiskAssessment.objects.filter(eu_tier="high").exists()
    # the executive view has confirmed example alignments to show
    assert "Demo alignments: the best goal suggestion of" in out
    confirmed = GoalAlignment.objects.filter(status="confirmed")
    assert confirmed.exists() and GoalAlignment.objects.filter(status="suggested").exists()
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="reviewer"))
    desk = client.get("/governance/reviews/").content.decode()
    for review in Review.objects.filter(status__in=Review.OPEN):
        assert escape(review.project.name) in desk
    # a second run reuses everything
    call_command("load_demo", url="http://127.0.0.1:8080")
    again = capsys.readouterr().out
    assert "Maestro demo: http://127.0.0.1:8080" in again
    assert "The 2024 federal AI use case inventory: already loaded." in again
    assert "created:" not in again
    assert ToolAdoption.objects.count() == 816
    assert RiskAssessment.objects.count() == 12
