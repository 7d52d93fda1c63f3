"""E-mails: the right people, not the wrong ones, and never twice for one (event, object, day)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from governance import notifications, services
from governance.models import ReviewCondition
from portfolio import roles
from portfolio.models import Project
from tests.factories import BusinessUnitFactory, ProjectFactory, member_of, user_with_role
from tests.governance.factories import ReviewFactory, project_in_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(unit, lead, member, reviewer):
    """Two reviewers (one without an e-mail), an owner and sponsor, another unit's lead."""
    user_with_role(roles.REVIEWER, username="reviewer2")
    user_with_role(roles.REVIEWER, username="silent", email="")
    other_lead = member_of(BusinessUnitFactory(code="ELSE"), role="lead", username="elsewhere")
    owner = member_of(unit, username="owner")
    sponsor = member_of(unit, username="sponsor")
    return {"owner": owner, "sponsor": sponsor, "other_lead": other_lead}


def recipients() -> list[list[str]]:
    return [sorted(message.to) for message in mail.outbox]


def test_submission_mails_reviewers_and_assigned_reviewer(
    unit, lead, people, django_capture_on_commit_callbacks
):
    # given
    assigned = user_with_role(roles.ADMIN, username="assigned")
    project = ProjectFactory(business_unit=unit, risk_tier=Project.RiskTier.HIGH)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        review = services.review_submit(actor=lead, project=project)
    # then: every reviewer with an e-mail, once
    assert recipients() == [["reviewer2@example.org", "reviewer@example.org"]]
    assert project.name in mail.outbox[0].subject
    # and an assigned reviewer is told too; a second run the same day sends nothing
    review.reviewer = assigned
    review.save()
    notifications.notification_send(
        event=notifications.REVIEW_SUBMITTED, object_id=review.pk, day="2030-01-01"
    )
    assert "assigned@example.org" in mail.outbox[-1].to
    assert (
        notifications.notification_send(
            event=notifications.REVIEW_SUBMITTED, object_id=review.pk, day="2030-01-01"
        )
        == 0
    )
    assert len(mail.outbox) == 2


def test_decision_mails_owner_sponsor_contact_and_leads(
    unit, lead, member, reviewer, people, django_capture_on_commit_callbacks
):
    # given
    _, review = project_in_state(
        Project.ReviewStatus.IN_REVIEW,
        reviewer=reviewer,
        business_unit=unit,
        owner=people["owner"],
        executive_sponsor=people["sponsor"],
        contact_email="team@example.org",
    )
    # when
    with django_capture_on_commit_callbacks(execute=True):
        services.review_decide(
            actor=reviewer, review=review, decision="changes_requested", note="Add a DPIA."
        )
    # then: not the member, not the reviewers, not another unit's lead
    assert recipients() == [
        ["lead@example.org", "owner@example.org", "sponsor@example.org", "team@example.org"]
    ]
    assert "Add a DPIA." in mail.outbox[0].body
    # and never twice for the same review on the same day
    day = timezone.localdate().isoformat()
    notifications.notification_send(
        event=notifications.REVIEW_DECIDED, object_id=review.pk, day=day
    )
    assert len(mail.outbox) == 1


def test_decision_in_rolled_back_transaction_sends_nothing(
    unit, reviewer, django_capture_on_commit_callbacks
):
    # given a decision the service refuses (rejection needs a note)
    _, review = project_in_state(Project.ReviewStatus.IN_REVIEW, reviewer=reviewer)
    # when
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        services.review_decide(actor=reviewer, review=review, decision="rejected")
    # then
    assert mail.outbox == []


def test_overdue_review_mails_assigned_reviewer_or_all_reviewers_and_leads(
    unit, lead, reviewer, people
):
    # given: one overdue review assigned, one overdue unassigned, one not yet due
    late = timezone.localdate() - dt.timedelta(days=2)
    assigned = user_with_role(roles.REVIEWER, username="assigned")
    ReviewFactory(
        project=ProjectFactory(business_unit=unit),
        status="in_review",
        reviewer=assigned,
        due_date=late,
    )
    ReviewFactory(project=ProjectFactory(business_unit=unit), due_date=late)
    ReviewFactory(project=ProjectFactory(business_unit=unit))
    # when run twice the same day
    assert notifications.notify_overdue() == 2
    assert notifications.notify_overdue() == 0
    # then
    assert sorted(recipients()) == [
        ["assigned@example.org", "lead@example.org"],
        [
            "assigned@example.org",
            "lead@example.org",
            "reviewer2@example.org",
            "reviewer@example.org",
        ],
    ]
    # and the next day they are reminded again
    assert notifications.notify_overdue(today=timezone.localdate() + dt.timedelta(days=1)) == 2


def test_condition_due_mails_owner_and_leads(unit, lead, reviewer, people):
    # given: conditions due in 2 days, overdue, in 10 days, and one already met
    _, review = project_in_state(
        Project.ReviewStatus.APPROVED_WITH_CONDITIONS,
        reviewer=reviewer,
        business_unit=unit,
        owner=people["owner"],
        executive_sponsor=people["sponsor"],
    )
    today = timezone.localdate()
    due_soon = ReviewCondition.objects.create(
        review=review, text="Publish the model card", due_date=today + dt.timedelta(days=2)
    )
    ReviewCondition.objects.create(
        review=review, text="Bias audit", due_date=today - dt.timedelta(days=1)
    )
    ReviewCondition.objects.create(review=review, text="Later", due_date=today + dt.timedelta(10))
    ReviewCondition.objects.create(
        review=review, text="Done", due_date=today, met=True, met_at=timezone.now()
    )
    # when run twice
    assert notifications.notify_conditions_due() == 2
    assert notifications.notify_conditions_due() == 0
    # then: owner and leads only (not the sponsor, not reviewers)
    assert recipients() == [["lead@example.org", "owner@example.org"]] * 2
    assert any(due_soon.text in message.body for message in mail.outbox)


def test_tasks_are_registered_under_their_names():
    from config.celery import app

    for name in (
        "governance.send_notification",
        "governance.notify_overdue",
        "governance.notify_conditions_due",
        "governance.dispatch_event",
        "governance.deliver_webhook",
    ):
        assert name in app.tasks


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [("https://maestro.example.org", "https://maestro.example.org/projects/"), ("", "/projects/")],
)
def test_mail_links_start_with_the_base_url(
    settings, unit, lead, people, django_capture_on_commit_callbacks, base_url, expected
):
    settings.MAESTRO_BASE_URL = base_url
    project = ProjectFactory(business_unit=unit, risk_tier=Project.RiskTier.HIGH)

    with django_capture_on_commit_callbacks(execute=True):
        services.review_submit(actor=lead, project=project)

    body = mail.outbox[0].body
    link = f"{expected}{project.pk}/"
    assert link in body
    if not base_url:
        assert "://" not in body.split(link)[0].splitlines()[-1]
