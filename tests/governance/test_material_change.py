"""An approved project whose purpose, data, tools or tier change goes back to review."""

from __future__ import annotations

import pytest

from portfolio.models import AuditEvent, Project
from tests.factories import ToolFactory
from tests.governance.factories import project_in_state

pytestmark = pytest.mark.django_db

S = Project.ReviewStatus


def patch(api_client, project, body):
    return api_client.patch(
        f"/api/v1/projects/{project.pk}/", body, HTTP_IF_MATCH=f'"{project.version}"'
    )


MATERIAL = [
    {"name": "Letter triage 2"},
    {"problem": "Now it also answers the letters."},
    {"benefits": "Fewer staff needed."},
    {"outputs": "A drafted reply."},
    {"involves_pii": True},
    {"data_description": "Scanned letters with health data."},
    {"demographic_features": ["age"]},
    {"tools": "new-tool"},
]
NOT_MATERIAL = [
    {"annual_cost": "1000.00"},
    {"stage": "production"},
    {"contact_email": "team@example.org"},
    {"people_affected": 1200},
    {"expected_annual_benefit": "5000.00"},
]


@pytest.mark.parametrize("state", [S.APPROVED, S.APPROVED_WITH_CONDITIONS])
@pytest.mark.parametrize("body", MATERIAL, ids=lambda b: next(iter(b)))
def test_material_change_after_approval_goes_back_to_review(api_client, unit, member, state, body):
    project = project_in_state(state, business_unit=unit)[0]
    if body.get("tools") == "new-tool":
        body = {"tools": [ToolFactory().pk]}
    api_client.force_authenticate(member)

    response = patch(api_client, project, body)

    assert response.status_code == 200, response.content
    assert response.json()["review_status"] == S.CHANGES_SINCE_APPROVAL
    project.refresh_from_db()
    assert project.review_status == S.CHANGES_SINCE_APPROVAL
    event = AuditEvent.objects.get(action="project.updated")
    assert event.changes["review_status"] == {"before": state, "after": S.CHANGES_SINCE_APPROVAL}
    assert next(iter(body)) in event.changes


@pytest.mark.parametrize("body", NOT_MATERIAL, ids=lambda b: next(iter(b)))
def test_non_material_change_keeps_the_approval(api_client, unit, member, body):
    project = project_in_state(S.APPROVED, business_unit=unit)[0]
    api_client.force_authenticate(member)

    response = patch(api_client, project, body)

    assert response.status_code == 200, response.content
    project.refresh_from_db()
    assert project.review_status == S.APPROVED
    assert "review_status" not in AuditEvent.objects.get(action="project.updated").changes


def test_same_value_is_not_a_change(api_client, unit, member):
    project = project_in_state(S.APPROVED, business_unit=unit)[0]
    api_client.force_authenticate(member)
    assert patch(api_client, project, {"problem": project.problem}).status_code == 200
    project.refresh_from_db()
    assert project.review_status == S.APPROVED


@pytest.mark.parametrize(
    "state", [S.NOT_SUBMITTED, S.SUBMITTED, S.IN_REVIEW, S.CHANGES_REQUESTED, S.REJECTED]
)
def test_material_change_before_approval_changes_no_state(api_client, unit, member, state):
    project = project_in_state(state, business_unit=unit)[0]
    api_client.force_authenticate(member)
    assert patch(api_client, project, {"problem": "Different."}).status_code == 200
    project.refresh_from_db()
    assert project.review_status == state


def test_tier_change_after_approval_goes_back_to_review(api_client, unit, member):
    project = project_in_state(S.APPROVED, business_unit=unit, tier="minimal")[0]
    api_client.force_authenticate(member)
    same = api_client.post(
        "/api/v1/risk-assessments/", {"project": project.pk, "answers": {}}, format="json"
    )
    assert same.status_code == 201
    project.refresh_from_db()
    assert project.review_status == S.APPROVED  # same tier (minimal): still approved

    changed = api_client.post(
        "/api/v1/risk-assessments/",
        {"project": project.pk, "answers": {"interacts_with_people": True}},
        format="json",
    )

    assert changed.status_code == 201
    project.refresh_from_db()
    assert (project.risk_tier, project.review_status) == ("limited", S.CHANGES_SINCE_APPROVAL)
    event = AuditEvent.objects.filter(action="risk_assessment.recorded").first()
    assert event.changes["project_review_status"] == {
        "before": S.APPROVED,
        "after": S.CHANGES_SINCE_APPROVAL,
    }
    assert event.changes["project_risk_tier"] == {"before": "minimal", "after": "limited"}


def test_changed_project_is_resubmitted_as_a_new_pass(api_client, unit, member, lead):
    project = project_in_state(S.APPROVED, business_unit=unit)[0]
    api_client.force_authenticate(member)
    patch(api_client, project, {"problem": "Bigger scope."})
    api_client.force_authenticate(lead)
    response = api_client.post("/api/v1/reviews/submit/", {"project": project.pk})
    assert response.status_code == 201
    assert response.json()["cycle"] == 2
    assert response.json()["project"]["review_status"] == S.SUBMITTED
