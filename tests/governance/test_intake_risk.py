"""The risk questionnaire on the registration form: register, assess and submit in one step,
or register alone; refused steps keep nothing (no project, no assessment, no audit event)."""

from __future__ import annotations

import pytest
from django.test import Client

from governance.models import Review, RiskAssessment
from portfolio.models import AuditEvent, Project
from tests.portfolio.test_views_form import form_data

pytestmark = pytest.mark.django_db


def test_the_registration_form_offers_the_questionnaire_and_editing_points_to_it(
    client: Client, member, unit
):
    client.force_login(member)
    page = client.get("/projects/new/").content.decode()
    assert "Answer the risk questionnaire now (optional)" in page
    assert 'name="risk-annex_iii_areas"' in page
    assert 'name="risk-submit"' in page

    client.post("/projects/new/", form_data(unit, owner=member.pk))
    project = Project.objects.get()
    edit = client.get(f"/projects/{project.pk}/edit/").content.decode()
    assert 'name="risk-annex_iii_areas"' not in edit
    assert "risk, review and controls page" in edit


def test_blank_questionnaire_registers_the_project_alone(client: Client, member, unit):
    client.force_login(member)

    response = client.post("/projects/new/", form_data(unit, owner=member.pk))

    assert response.status_code == 302
    project = Project.objects.get()
    assert project.risk_tier == ""
    assert not RiskAssessment.objects.exists()
    assert [e.action for e in AuditEvent.objects.all()] == ["project.registered"]


def test_answers_record_the_first_assessment_with_the_project(client: Client, member, unit):
    client.force_login(member)

    response = client.post(
        "/projects/new/",
        form_data(unit, owner=member.pk, **{"risk-annex_iii_areas": ["employment"]}),
        follow=True,
    )

    project = Project.objects.get()
    assessment = RiskAssessment.objects.get(project=project)
    assert assessment.eu_tier == "high"
    assert assessment.assessor == member
    assert project.risk_tier == "high"
    assert project.review_status == Project.ReviewStatus.NOT_SUBMITTED
    assert "Risk assessment recorded: High tier." in response.content.decode()
    assert sorted(e.action for e in AuditEvent.objects.all()) == [
        "project.registered",
        "risk_assessment.recorded",
    ]


def test_none_apply_records_a_minimal_assessment(client: Client, member, unit):
    client.force_login(member)

    client.post("/projects/new/", form_data(unit, owner=member.pk, **{"risk-record": "on"}))

    assert RiskAssessment.objects.get().eu_tier == "minimal"
    assert Project.objects.get().risk_tier == "minimal"


def test_owner_registers_assesses_and_submits_in_one_step(client: Client, member, unit):
    client.force_login(member)

    response = client.post(
        "/projects/new/",
        form_data(
            unit,
            owner=member.pk,
            **{"risk-interacts_with_people": "on", "risk-submit": "on"},
        ),
        follow=True,
    )

    project = Project.objects.get()
    review = Review.objects.get(project=project)
    assert project.risk_tier == "limited"
    assert project.review_status == Project.ReviewStatus.SUBMITTED
    assert review.status == Review.Status.SUBMITTED
    assert review.submitted_by == member
    assert "Submitted for review." in response.content.decode()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        # submitting needs an assessment
        ({"risk-submit": "on"}, "A project is submitted with a risk assessment"),
        # a draft is not submitted
        ({"risk-record": "on", "risk-submit": "on", "action": "draft"}, "A draft is not submitted"),
        # an answer that is not one of the choices
        ({"risk-annex_iii_areas": ["astrology"]}, "Risk questionnaire: "),
    ],
)
def test_refused_questionnaire_keeps_nothing(client: Client, member, unit, overrides, message):
    client.force_login(member)

    response = client.post("/projects/new/", form_data(unit, owner=member.pk, **overrides))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Project.objects.exists()
    assert not RiskAssessment.objects.exists()
    assert not AuditEvent.objects.exists()
    # what the user typed is still in the form
    assert "Letter summariser" in response.content.decode()


def test_member_who_does_not_own_the_project_cannot_submit_it(client: Client, member, unit):
    # only the owner or a lead of the unit submits: a member registering for someone else
    client.force_login(member)

    response = client.post(
        "/projects/new/",
        form_data(unit, owner="", **{"risk-record": "on", "risk-submit": "on"}),
    )

    assert response.status_code == 200
    assert "Only leads of the project" in response.content.decode()
    assert not Project.objects.exists()
    assert not AuditEvent.objects.exists()


def test_lead_submits_a_project_owned_by_nobody_yet(client: Client, lead, unit):
    client.force_login(lead)

    response = client.post(
        "/projects/new/",
        form_data(unit, owner="", **{"risk-record": "on", "risk-submit": "on"}),
    )

    assert response.status_code == 302
    assert Project.objects.get().review_status == Project.ReviewStatus.SUBMITTED
