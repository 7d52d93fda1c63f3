"""The review desk and the project governance page: decisions through the services, messages
for illegal steps (never a 500), and who may do what."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from governance.models import ControlStatus, Review, RiskAssessment
from portfolio.models import Project
from tests.factories import ProjectFactory, user_with_role
from tests.governance.factories import ControlFactory, RiskAssessmentFactory, project_in_state

pytestmark = pytest.mark.django_db


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_approve_with_a_condition_from_the_desk(client: Client, reviewer, unit):
    project, review = project_in_state("in_review", business_unit=unit, reviewer=reviewer)
    client.force_login(reviewer)
    due = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    response = client.post(
        f"/governance/reviews/{review.pk}/",
        {
            "action": "decide",
            "decision": "approved_with_conditions",
            "note": "Fine with a DPIA.",
            "condition_1": "Complete a DPIA",
            "condition_1_due": due,
        },
        follow=True,
    )
    assert response.status_code == 200
    review.refresh_from_db()
    project.refresh_from_db()
    assert review.status == Review.Status.APPROVED_WITH_CONDITIONS
    assert project.review_status == "approved_with_conditions"
    html = response.content.decode()
    assert "Complete a DPIA" in html and "Mark met" in html
    assert review.conditions.get().due_date.isoformat() == due


def test_condition_marked_met(client: Client, reviewer, unit):
    _project, review = project_in_state("in_review", business_unit=unit, reviewer=reviewer)
    client.force_login(reviewer)
    client.post(
        f"/governance/reviews/{review.pk}/",
        {"action": "decide", "decision": "approved_with_conditions", "condition_1": "Train staff"},
    )
    condition = review.conditions.get()
    response = client.post(
        f"/governance/reviews/{review.pk}/",
        {"action": "condition_met", "condition": condition.pk, "note": "Done in May"},
        follow=True,
    )
    condition.refresh_from_db()
    assert condition.met and condition.met_note == "Done in May"
    assert "Condition marked met." in _messages(response)
    again = client.post(
        f"/governance/reviews/{review.pk}/",
        {"action": "condition_met", "condition": condition.pk},
        follow=True,
    )
    assert again.status_code == 200
    assert any("already marked met" in m for m in _messages(again))


def test_start_then_decide_changes_requested(client: Client, reviewer, unit):
    _project, review = project_in_state("submitted", business_unit=unit)
    client.force_login(reviewer)
    client.post(f"/governance/reviews/{review.pk}/", {"action": "start"})
    review.refresh_from_db()
    assert review.status == "in_review" and review.reviewer == reviewer
    response = client.post(
        f"/governance/reviews/{review.pk}/",
        {"action": "decide", "decision": "changes_requested", "note": "Add oversight."},
        follow=True,
    )
    review.refresh_from_db()
    assert review.status == "changes_requested"
    assert "Decision recorded: Changes requested." in _messages(response)


def test_illegal_transition_is_a_message_not_a_500(client: Client, reviewer, unit):
    _project, review = project_in_state("submitted", business_unit=unit)
    client.force_login(reviewer)
    response = client.post(
        f"/governance/reviews/{review.pk}/",
        {"action": "decide", "decision": "approved"},
        follow=True,
    )
    assert response.status_code == 200
    review.refresh_from_db()
    assert review.status == "submitted"
    assert _messages(response), "an error message is shown"


def test_prohibited_cannot_be_approved_message(client: Client, reviewer, unit):
    _project, review = project_in_state(
        "in_review", business_unit=unit, reviewer=reviewer, tier="prohibited"
    )
    client.force_login(reviewer)
    response = client.post(
        f"/governance/reviews/{review.pk}/",
        {"action": "decide", "decision": "approved"},
        follow=True,
    )
    assert response.status_code == 200
    assert any("prohibited" in m for m in _messages(response))
    review.refresh_from_db()
    assert review.status == "in_review"


def test_missing_note_for_rejection_is_a_message(client: Client, reviewer, unit):
    _project, review = project_in_state("in_review", business_unit=unit, reviewer=reviewer)
    client.force_login(reviewer)
    response = client.post(
        f"/governance/reviews/{review.pk}/",
        {"action": "decide", "decision": "rejected"},
        follow=True,
    )
    assert any("why the project is rejected" in m for m in _messages(response))


def test_conflicted_reviewer_sees_no_decision_form(client: Client, reviewer, unit):
    _project, review = project_in_state("in_review", business_unit=unit, owner=reviewer)
    client.force_login(reviewer)
    html = client.get(f"/governance/reviews/{review.pk}/").content.decode()
    assert "own or sponsor" in html
    assert 'value="decide"' not in html


def test_assign_and_comment(client: Client, reviewer, unit):
    other = user_with_role("reviewer", username="second")
    _project, review = project_in_state("submitted", business_unit=unit)
    client.force_login(reviewer)
    client.post(f"/governance/reviews/{review.pk}/", {"action": "assign", "reviewer": other.pk})
    review.refresh_from_db()
    assert review.reviewer == other
    client.post(f"/governance/reviews/{review.pk}/", {"action": "comment", "text": "Looks ok"})
    assert review.comments.get().text == "Looks ok"
    # Only the assigned reviewer (or an admin) starts it now: a message, not a 500.
    response = client.post(f"/governance/reviews/{review.pk}/", {"action": "start"}, follow=True)
    assert any("assigned to" in m for m in _messages(response))


@pytest.mark.parametrize("role", ["member", "lead", "executive"])
def test_desk_is_forbidden_to_non_reviewers(client: Client, request, role, unit):
    _project, review = project_in_state("submitted", business_unit=unit)
    client.force_login(request.getfixturevalue(role))
    assert client.get(f"/governance/reviews/{review.pk}/").status_code == 403
    assert client.post(f"/governance/reviews/{review.pk}/", {"action": "start"}).status_code == 403


def test_member_assesses_risk_and_lead_submits(client: Client, member, lead, unit):
    project = ProjectFactory(business_unit=unit)
    client.force_login(member)
    html = client.get(f"/governance/projects/{project.pk}/").content.decode()
    assert "Assess risk" in html and "Submit for review</button>" not in html
    response = client.post(
        f"/governance/projects/{project.pk}/",
        {"action": "assess", "annex_iii_areas": ["employment"]},
        follow=True,
    )
    project.refresh_from_db()
    assert project.risk_tier == "high"
    assessment = RiskAssessment.objects.get(project=project)
    assert assessment.rationale in response.content.decode()

    client.force_login(lead)
    html = client.get(f"/governance/projects/{project.pk}/").content.decode()
    assert "Submit for review</button>" in html
    client.post(f"/governance/projects/{project.pk}/", {"action": "submit", "note": "Ready"})
    project.refresh_from_db()
    assert project.review_status == "submitted"
    again = client.post(f"/governance/projects/{project.pk}/", {"action": "submit"}, follow=True)
    assert again.status_code == 200 and _messages(again)


def test_executive_changes_nothing(client: Client, executive, unit):
    project = ProjectFactory(business_unit=unit, risk_tier="high")
    client.force_login(executive)
    html = client.get(f"/governance/projects/{project.pk}/").content.decode()
    assert 'value="assess"' not in html and 'value="submit"' not in html
    response = client.post(f"/governance/projects/{project.pk}/", {"action": "assess"}, follow=True)
    assert response.status_code == 200
    assert not RiskAssessment.objects.filter(project=project).exists()


def test_control_status_set_by_editor(client: Client, member, executive, unit):
    project = ProjectFactory(business_unit=unit, risk_tier="high")
    RiskAssessmentFactory(project=project, eu_tier="high")
    control = ControlFactory(applies_to_tiers=["high"])
    client.force_login(member)
    html = client.get(f"/governance/projects/{project.pk}/").content.decode()
    assert control.identifier in html and "Set status" in html
    url = f"/governance/projects/{project.pk}/controls/{control.pk}/"
    bad = client.post(url, {"status": "met"})
    assert bad.status_code == 200 and not ControlStatus.objects.exists()
    client.post(url, {"status": "met", "evidence_url": "https://intranet.example/dpia"})
    assert ControlStatus.objects.get().status == "met"
    client.force_login(executive)
    assert client.get(url).status_code == 403


def test_project_page_links_to_governance(client: Client, member, unit):
    project = ProjectFactory(business_unit=unit, risk_tier=Project.RiskTier.LIMITED)
    client.force_login(member)
    html = client.get(f"/projects/{project.pk}/").content.decode()
    assert f"/governance/projects/{project.pk}/" in html
    assert "plotly" not in html


def test_project_page_shows_rationale_and_conditions(client: Client, reviewer, member, unit):
    project, review = project_in_state("in_review", business_unit=unit, reviewer=reviewer)
    RiskAssessmentFactory(project=project, eu_tier="high", rationale="Used for recruitment.")
    client.force_login(reviewer)
    client.post(
        f"/governance/reviews/{review.pk}/",
        {"action": "decide", "decision": "approved_with_conditions", "condition_1": "Run a DPIA"},
    )
    client.force_login(member)
    html = client.get(f"/projects/{project.pk}/").content.decode()
    assert "Used for recruitment." in html and "Run a DPIA" in html


def test_queue_is_paginated(client: Client, reviewer, unit):
    for i in range(55):
        project_in_state("submitted", business_unit=unit, name=f"Queued {i:02d}")
    client.force_login(reviewer)
    first = client.get("/governance/reviews/")
    assert len(first.context["entries"]) == 50 and "55 items in the queue" in first.content.decode()
    second = client.get("/governance/reviews/?page=2")
    assert len(second.context["entries"]) == 5
