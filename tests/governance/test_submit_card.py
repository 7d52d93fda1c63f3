"""The project's governance page offers "Submit for review" only when the submission would be
taken, and otherwise says why (the same reason the service gives)."""

from __future__ import annotations

import pytest
from django.test import Client

from governance import selectors
from portfolio.models import Project
from tests.governance.factories import project_in_state

pytestmark = pytest.mark.django_db

BUTTON = '<button type="submit" class="btn btn-primary">Submit for review</button>'


def page(client: Client, lead, project: Project) -> str:
    client.force_login(lead)
    return client.get(f"/governance/projects/{project.pk}/").content.decode()


@pytest.mark.parametrize("state", ["not_submitted", "changes_requested", "changes_since_approval"])
def test_submittable_project_offers_the_button(client: Client, lead, unit, state):
    project, _ = project_in_state(state, business_unit=unit)
    assert BUTTON in page(client, lead, project)


@pytest.mark.parametrize("state", ["approved", "approved_with_conditions"])
def test_approved_project_says_when_it_comes_back_instead(client: Client, lead, unit, state):
    project, _ = project_in_state(state, business_unit=unit)

    html = page(client, lead, project)

    assert BUTTON not in html
    assert "It comes back to review when its purpose, data, tools or tier change" in html


def test_high_tier_approved_a_year_ago_is_due_again(client: Client, lead, unit):
    project, _ = project_in_state("approved", business_unit=unit, decided_days_ago=400)
    assert selectors.submission_blocker(project=project) is None
    assert BUTTON in page(client, lead, project)


def test_unassessed_project_asks_for_an_assessment_first(client: Client, lead, unit):
    project, _ = project_in_state("not_submitted", business_unit=unit, tier="")

    html = page(client, lead, project)

    assert BUTTON not in html
    assert "Record a risk assessment before submitting the project for review." in html


@pytest.mark.parametrize("state", ["submitted", "in_review"])
def test_open_review_shows_no_submit_card(client: Client, lead, unit, state):
    project, _ = project_in_state(state, business_unit=unit)

    html = page(client, lead, project)

    assert BUTTON not in html
    assert "data-submission-blocker" not in html


def test_the_service_refuses_with_the_reason_the_page_shows(lead, unit):
    from governance import services

    project, _ = project_in_state("approved", business_unit=unit)
    reason = selectors.submission_blocker(project=project)

    with pytest.raises(services.TransitionError) as refused:
        services.review_submit(actor=lead, project=project)

    assert str(refused.value) == reason
