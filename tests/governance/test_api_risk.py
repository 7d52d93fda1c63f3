"""Risk assessments through the API: rights, scoping, answers validation, the tier they set."""

from __future__ import annotations

import pytest

from governance import risk
from governance.models import RiskAssessment
from portfolio.models import AuditEvent, Project
from tests.factories import ProjectFactory
from tests.governance.factories import RiskAssessmentFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/risk-assessments/"
HIGH_ANSWERS = {
    "annex_iii_areas": ["employment"],
    "principal_basis_for_decisions": True,
    "omb_effect_areas": ["access_to_opportunities"],
}


def record(api_client, project, answers):
    return api_client.post(LIST, {"project": project.pk, "answers": answers}, format="json")


def test_member_records_an_assessment_that_sets_the_tier(api_client, unit, member):
    # Given a project of the member's unit, not assessed yet
    project = ProjectFactory(business_unit=unit)
    api_client.force_authenticate(member)

    # When they record an assessment
    response = record(api_client, project, HIGH_ANSWERS)

    # Then the decision is stored, explained, and sets the project's tier (new version)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["eu_tier"] == "high"
    assert body["high_impact"] is True
    assert body["rule"] == "annex_iii.employment"
    assert "Annex III" in body["rationale"] and "M-25-21" in body["rationale"]
    assert body["assessor"]["username"] == "member"
    assert body["is_current"] is True
    assert body["answers"]["annex_iii_areas"] == ["employment"]
    assert body["answers"]["social_scoring"] is False
    assert body["project"]["risk_tier"] == "high"
    project.refresh_from_db()
    assert (project.risk_tier, project.version) == ("high", 2)
    event = AuditEvent.objects.get()
    assert event.action == "risk_assessment.recorded"
    assert event.target_type == "governance.riskassessment"
    assert event.business_unit_id == unit.pk
    assert event.changes["project_risk_tier"] == {"before": "", "after": "high"}


def test_every_assessment_is_kept_and_the_newest_sets_the_tier(api_client, unit, member):
    project = ProjectFactory(business_unit=unit)
    api_client.force_authenticate(member)
    first = record(api_client, project, HIGH_ANSWERS).json()
    second = record(api_client, project, {"deep_fake": True}).json()
    assert second["eu_tier"] == "limited"
    project.refresh_from_db()
    assert project.risk_tier == "limited"
    assert RiskAssessment.objects.filter(project=project).count() == 2
    current = {r["id"]: r["is_current"] for r in api_client.get(LIST).json()["results"]}
    assert current == {first["id"]: False, second["id"]: True}
    only = api_client.get(LIST, {"current": "true"}).json()["results"]
    assert [r["id"] for r in only] == [second["id"]]
    assert api_client.get(LIST, {"tier": "high"}).json()["count"] == 1
    assert api_client.get(LIST, {"project": project.pk}).json()["count"] == 2


@pytest.mark.parametrize(
    ("role", "own", "other"),
    [
        ("member", 201, 403),
        ("lead", 201, 403),
        ("reviewer", 201, 201),
        ("admin_user", 201, 201),
        ("executive", 403, 403),
    ],
)
def test_assessment_rights(request, api_client, unit, other_unit, role, own, other):
    api_client.force_authenticate(request.getfixturevalue(role))
    assert record(api_client, ProjectFactory(business_unit=unit), {}).status_code == own
    assert record(api_client, ProjectFactory(business_unit=other_unit), {}).status_code == other
    assert AuditEvent.objects.count() == [own, other].count(201)


def test_hidden_projects_and_their_assessments_do_not_exist(api_client, other_unit, member):
    hidden = ProjectFactory(business_unit=other_unit, visibility="restricted")
    assessment = RiskAssessmentFactory(project=hidden)
    api_client.force_authenticate(member)
    assert api_client.get(LIST).json()["count"] == 0
    assert api_client.get(f"{LIST}{assessment.pk}/").status_code == 404
    response = record(api_client, hidden, {})
    assert response.status_code == 400
    assert "project" in response.json()


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ({"social_scoring": "perhaps"}, "social_scoring"),
        ({"annex_iii_areas": ["astrology"]}, "annex_iii_areas"),
        ({"telepathy": True}, "telepathy"),
    ],
)
def test_invalid_answers_are_field_errors(api_client, unit, member, answers, field):
    project = ProjectFactory(business_unit=unit)
    api_client.force_authenticate(member)
    response = record(api_client, project, answers)
    assert response.status_code == 400
    assert field in response.json()["answers"]
    assert not RiskAssessment.objects.exists()


def test_questionnaire_lists_every_question(api_client, member):
    api_client.force_authenticate(member)
    questions = api_client.get(f"{LIST}questionnaire/").json()
    assert [q["key"] for q in questions] == [q.key for q in risk.QUESTIONS]
    areas = next(q for q in questions if q["key"] == "annex_iii_areas")
    assert set(areas["choices"]) == set(risk.ANNEX_III_AREAS)


def test_tier_cannot_be_set_through_the_project_api(api_client, unit, member):
    project = ProjectFactory(business_unit=unit, risk_tier="high")
    api_client.force_authenticate(member)
    response = api_client.patch(
        f"/api/v1/projects/{project.pk}/",
        {"risk_tier": "minimal", "review_status": "approved"},
        HTTP_IF_MATCH='"1"',
    )
    assert response.status_code == 200
    project.refresh_from_db()
    assert (project.risk_tier, project.review_status) == (
        "high",
        Project.ReviewStatus.NOT_SUBMITTED,
    )


def test_prohibited_answers_give_a_prohibited_tier(api_client, unit, member):
    project = ProjectFactory(business_unit=unit)
    api_client.force_authenticate(member)
    body = record(api_client, project, {"social_scoring": True, **HIGH_ANSWERS}).json()
    assert (body["eu_tier"], body["rule"]) == ("prohibited", "art5.social_scoring")
