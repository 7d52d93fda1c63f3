"""Emotion recognition through the questionnaire's API and page: the questions are offered, and
the answers give the tier the rules derive (Art. 5(1)(f), Annex III 1(c), Art. 50(3))."""

from __future__ import annotations

import pytest
from django.test import Client

from governance.models import RiskAssessment
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/risk-assessments/"


def record(api_client, project, answers):
    return api_client.post(LIST, {"project": project.pk, "answers": answers}, format="json")


def test_questionnaire_lists_the_emotion_questions(api_client, member):
    api_client.force_authenticate(member)
    questions = {q["key"]: q for q in api_client.get(f"{LIST}questionnaire/").json()}
    assert questions["emotion_recognition"]["group"] == "emotion"
    assert "Annex III point 1(c)" in questions["emotion_recognition"]["reference"]
    settings = questions["emotion_recognition_settings"]
    assert set(settings["choices"]) == {"workplace", "education"}
    assert settings["reference"] == "EU AI Act Art. 5(1)(f)"
    assert questions["emotion_recognition_medical_or_safety"]["choices"] is None


@pytest.mark.parametrize(
    ("answers", "tier", "rule"),
    [
        (
            {"emotion_recognition": True, "emotion_recognition_settings": ["workplace"]},
            "prohibited",
            "art5.emotion_recognition_work_education",
        ),
        (
            {
                "emotion_recognition": True,
                "emotion_recognition_settings": ["education"],
                "emotion_recognition_medical_or_safety": True,
            },
            "high",
            "annex_iii.biometrics",
        ),
        ({"emotion_recognition": True}, "high", "annex_iii.biometrics"),
    ],
)
def test_recorded_emotion_answers_set_the_derived_tier(
    api_client, unit, member, answers, tier, rule
):
    project = ProjectFactory(business_unit=unit)
    api_client.force_authenticate(member)
    response = record(api_client, project, answers)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["eu_tier"], body["rule"]) == (tier, rule)
    assert body["project"]["risk_tier"] == tier
    assert body["answers"]["emotion_recognition_settings"] == answers.get(
        "emotion_recognition_settings", []
    )


def test_an_unknown_setting_is_a_field_error(api_client, unit, member):
    project = ProjectFactory(business_unit=unit)
    api_client.force_authenticate(member)
    response = record(
        api_client,
        project,
        {"emotion_recognition": True, "emotion_recognition_settings": ["prison"]},
    )
    assert response.status_code == 400
    assert "emotion_recognition_settings" in response.json()["answers"]
    assert not RiskAssessment.objects.exists()


def test_project_page_asks_and_records_emotion_recognition(client: Client, unit, member):
    project = ProjectFactory(business_unit=unit)
    client.force_login(member)
    page = client.get(f"/governance/projects/{project.pk}/").content.decode()
    assert "Emotion recognition" in page
    assert 'name="emotion_recognition_settings"' in page

    client.post(
        f"/governance/projects/{project.pk}/",
        {
            "action": "assess",
            "emotion_recognition": "on",
            "emotion_recognition_settings": ["education"],
        },
    )

    assessment = RiskAssessment.objects.get(project=project)
    assert assessment.eu_tier == "prohibited"
    assert "Art. 5(1)(f)" in assessment.rationale
    assert "in education institutions" in assessment.rationale
