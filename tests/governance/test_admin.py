"""Admin pages of the governance models: they open, workflow records are read-only, catalogue
and status edits go through the audited services."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from governance.models import Control, ControlStatus
from portfolio.models import AuditEvent, Project
from tests.factories import ProjectFactory
from tests.governance.factories import RiskAssessmentFactory, project_in_state

pytestmark = pytest.mark.django_db

MODELS = [
    "riskassessment",
    "review",
    "reviewcomment",
    "reviewcondition",
    "framework",
    "control",
    "controlstatus",
]


@pytest.fixture
def superuser_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.org", "x" * 12)
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", MODELS)
def test_changelists_open(superuser_client, unit, model):
    project, _review = project_in_state(Project.ReviewStatus.SUBMITTED, business_unit=unit)
    RiskAssessmentFactory(project=project)
    assert superuser_client.get(f"/admin/governance/{model}/").status_code == 200


@pytest.mark.parametrize("model", ["riskassessment", "review", "reviewcomment", "reviewcondition"])
def test_workflow_records_cannot_be_added_in_the_admin(superuser_client, model):
    assert superuser_client.get(f"/admin/governance/{model}/add/").status_code == 403


def test_review_detail_shows_read_only(superuser_client, unit):
    review = project_in_state(Project.ReviewStatus.SUBMITTED, business_unit=unit)[1]
    response = superuser_client.get(f"/admin/governance/review/{review.pk}/change/")
    assert response.status_code == 200


def test_control_edit_goes_through_the_audited_service(superuser_client):
    control = Control.objects.get(framework__code="eu-ai-act", identifier="Art. 14")
    form = {
        "framework": control.framework_id,
        "identifier": control.identifier,
        "title": "People can oversee and stop it",
        "description": control.description,
        "applies_to_tiers": '["high", "limited"]',
        "high_impact_only": "",
        "position": control.position,
    }
    response = superuser_client.post(f"/admin/governance/control/{control.pk}/change/", form)
    assert response.status_code == 302, response.content
    control.refresh_from_db()
    assert control.applies_to_tiers == ["high", "limited"]
    event = AuditEvent.objects.get(action="control.updated")
    assert set(event.changes) == {"title", "applies_to_tiers"}
    bad = superuser_client.post(
        f"/admin/governance/control/{control.pk}/change/", {**form, "applies_to_tiers": '["x"]'}
    )
    assert bad.status_code == 200  # the form shows the error
    assert b"Unknown tier" in bad.content


def test_control_status_added_in_the_admin_is_audited(superuser_client, unit):
    project = ProjectFactory(business_unit=unit, risk_tier="high")
    control = Control.objects.get(framework__code="eu-ai-act", identifier="Art. 12")
    response = superuser_client.post(
        "/admin/governance/controlstatus/add/",
        {
            "project": project.pk,
            "control": control.pk,
            "status": "met",
            "evidence_url": "https://example.org/logs",
            "note": "",
            "justification": "",
        },
    )
    assert response.status_code == 302, response.content
    assert ControlStatus.objects.get().set_by.username == "root"
    assert AuditEvent.objects.filter(action="control_status.set").count() == 1


METRIC_MODELS = [
    "metricrun",
    "metriclock",
    "overlappair",
    "overlapcluster",
    "metricsnapshot",
    "similarityindexblob",
    "dailyjobrun",
]


@pytest.fixture
def computed(unit):
    """Two look-alike projects and a metrics run, so that every metrics table has rows."""
    from governance import metrics_services, recovery

    text = dict(problem="Hearings are typed up by hand.", outputs="A transcript of each hearing.")
    ProjectFactory(name="Hearing transcription", business_unit=unit, **text)
    ProjectFactory(name="Hearing transcription service", business_unit=unit, **text)
    run = metrics_services.metrics_compute()
    recovery.daily_job_run(job="governance-notify-overdue", day=run.started_at.date())
    return run


@pytest.mark.parametrize("model", METRIC_MODELS)
def test_metric_records_are_listed_and_shown_read_only(superuser_client, computed, model):
    from django.apps import apps

    changelist = superuser_client.get(f"/admin/governance/{model}/")
    assert changelist.status_code == 200
    obj = apps.get_model("governance", model).objects.first()
    assert obj is not None, f"no {model} row to show"
    detail = superuser_client.get(f"/admin/governance/{model}/{obj.pk}/change/")
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content  # shown, not editable
    assert superuser_client.get(f"/admin/governance/{model}/add/").status_code == 403
    deleted = superuser_client.post(f"/admin/governance/{model}/{obj.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 403
    assert apps.get_model("governance", model).objects.filter(pk=obj.pk).exists()


def test_metric_admin_is_closed_to_non_staff(client, reviewer, computed):
    client.force_login(reviewer)
    response = client.get("/admin/governance/overlappair/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
