"""A project's history shows the governance steps taken on it, not only edits of its fields."""

from __future__ import annotations

import pytest

from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def test_assessment_and_submission_appear_in_project_history(api_client, unit, lead):
    project = ProjectFactory(business_unit=unit)
    api_client.force_authenticate(lead)
    assessed = api_client.post(
        "/api/v1/risk-assessments/",
        {"project": project.pk, "answers": {"annex_iii_areas": ["employment"]}},
        format="json",
    )
    assert assessed.status_code == 201, assessed.content
    submitted = api_client.post("/api/v1/reviews/submit/", {"project": project.pk}, format="json")
    assert submitted.status_code == 201, submitted.content

    history = api_client.get(f"/api/v1/projects/{project.pk}/history/").json()["results"]

    actions = [event["action"] for event in history]
    assert "risk_assessment.recorded" in actions
    assert any(action.startswith("review.") for action in actions)
