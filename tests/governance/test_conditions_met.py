"""When the last condition of an approval is met, the approval no longer carries conditions:
the pass (and the project, when it is its current state) becomes approved, audited once."""

from __future__ import annotations

import pytest
from django.test import Client

from governance import selectors, services
from governance.models import Review, ReviewCondition
from portfolio.models import AuditEvent, Project
from tests.governance.factories import ReviewFactory, project_in_state

pytestmark = pytest.mark.django_db

S = Project.ReviewStatus


def conditional(unit, reviewer, texts=("Publish the model card.", "Train the operators."), **kw):
    project, review = project_in_state(
        S.APPROVED_WITH_CONDITIONS, business_unit=unit, reviewer=reviewer, **kw
    )
    conditions = [ReviewCondition.objects.create(review=review, text=t) for t in texts]
    return project, review, conditions


def test_meeting_the_last_condition_makes_the_approval_unconditional(unit, reviewer):
    project, review, (first, second) = conditional(unit, reviewer)
    decided_at = review.decided_at
    version = project.version

    # When the first of two conditions is met, nothing else changes
    services.condition_mark_met(actor=reviewer, condition=first, note="Card online.")
    review.refresh_from_db()
    project.refresh_from_db()
    assert review.status == Review.Status.APPROVED_WITH_CONDITIONS
    assert project.review_status == S.APPROVED_WITH_CONDITIONS

    # When the last one is met
    services.condition_mark_met(actor=reviewer, condition=second)

    # Then the pass and the project are approved; the decision keeps its date
    review.refresh_from_db()
    project.refresh_from_db()
    assert review.status == Review.Status.APPROVED
    assert review.decided_at == decided_at
    assert project.review_status == S.APPROVED
    assert project.version == version + 1  # an editor with the old version gets 412
    # and one audit event per confirmation, the last one saying what it lifted
    events = list(AuditEvent.objects.filter(action="review.condition_met").order_by("id"))
    assert len(events) == 2
    assert "review_status" not in events[0].changes
    assert events[1].changes["review_status"] == {
        "before": "approved_with_conditions",
        "after": "approved",
    }
    assert events[1].changes["project_review_status"]["after"] == "approved"


def test_a_project_changed_since_approval_keeps_that_status(unit, reviewer):
    project, review, (only,) = conditional(unit, reviewer, texts=("Run a DPIA.",))
    Project.objects.filter(pk=project.pk).update(review_status=S.CHANGES_SINCE_APPROVAL)

    services.condition_mark_met(actor=reviewer, condition=only)

    review.refresh_from_db()
    project.refresh_from_db()
    assert review.status == Review.Status.APPROVED  # the pass's conditions are all met
    assert project.review_status == S.CHANGES_SINCE_APPROVAL  # it still needs a new pass
    event = AuditEvent.objects.get(action="review.condition_met")
    assert "project_review_status" not in event.changes


def test_an_earlier_pass_does_not_change_the_current_state(unit, reviewer):
    project, old, (only,) = conditional(unit, reviewer, texts=("Run a DPIA.",))
    current = ReviewFactory(project=project, cycle=2, status=Review.Status.SUBMITTED)
    Project.objects.filter(pk=project.pk).update(review_status=S.SUBMITTED)

    services.condition_mark_met(actor=reviewer, condition=only)

    project.refresh_from_db()
    old.refresh_from_db()
    assert old.status == Review.Status.APPROVED
    assert project.review_status == S.SUBMITTED
    assert Review.objects.get(pk=current.pk).status == Review.Status.SUBMITTED


def test_the_yearly_rereview_still_counts_from_the_decision(unit, reviewer):
    project, _review, (only,) = conditional(
        unit, reviewer, texts=("Run a DPIA.",), decided_days_ago=400
    )
    services.condition_mark_met(actor=reviewer, condition=only)
    assert list(selectors.rereview_due_list(user=reviewer)) == [project]


def test_review_page_says_all_conditions_are_met(client: Client, unit, reviewer):
    _project, review, conditions = conditional(unit, reviewer)
    client.force_login(reviewer)
    url = f"/governance/reviews/{review.pk}/"
    assert "All conditions met" not in client.get(url).content.decode()
    for condition in conditions:
        client.post(url, {"action": "condition_met", "condition": condition.pk})
    html = client.get(url).content.decode()
    assert "All conditions met" in html
    assert "Mark met" not in html
