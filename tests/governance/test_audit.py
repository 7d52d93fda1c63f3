"""Every governance write leaves exactly one audit event, written in its own transaction."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from governance import services
from governance.models import Control, ReviewCondition
from portfolio.models import AuditEvent, Project
from tests.governance.factories import RiskAssessmentFactory, project_in_state

pytestmark = pytest.mark.django_db

S = Project.ReviewStatus


def one_event(action: str, call):
    before = AuditEvent.objects.count()
    result = call()
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.order_by("-id").first()
    assert event.action == action
    assert event.request_id is not None
    return result, event


def test_each_service_writes_one_event(unit, member, lead, reviewer, admin_user):
    project = project_in_state(S.NOT_SUBMITTED, business_unit=unit, tier="")[0]

    assessment, event = one_event(
        "risk_assessment.recorded",
        lambda: services.risk_assessment_record(
            actor=member, project=project, answers={"annex_iii_areas": ["education"]}
        ),
    )
    assert event.target_id == str(assessment.pk) and event.actor == member

    review, event = one_event(
        "review.submitted",
        lambda: services.review_submit(actor=lead, project=project, note="Please look."),
    )
    assert event.business_unit_id == unit.pk
    review, _ = one_event(
        "review.started", lambda: services.review_start(actor=reviewer, review=review)
    )
    _, event = one_event(
        "review.assigned",
        lambda: services.review_assign(actor=admin_user, review=review, reviewer=reviewer),
    )
    _, event = one_event(
        "review.commented",
        lambda: services.review_comment_add(actor=member, review=review, text="Data is public."),
    )
    review, event = one_event(
        "review.decided",
        lambda: services.review_decide(
            actor=reviewer,
            review=review,
            decision="approved_with_conditions",
            conditions=[{"text": "Log every output."}],
        ),
    )
    assert event.changes["conditions"] == {"before": [], "after": ["Log every output."]}
    condition = ReviewCondition.objects.get(review=review)
    one_event(
        "review.condition_met",
        lambda: services.condition_mark_met(actor=reviewer, condition=condition),
    )
    control = Control.objects.get(framework__code="eu-ai-act", identifier="Art. 12")
    one_event(
        "control_status.set",
        lambda: services.control_status_set(
            actor=member, project=project, control=control, status="in_progress"
        ),
    )
    one_event(
        "control.updated",
        lambda: services.control_save(
            actor=admin_user, control=control, data={"title": "Logs are kept automatically"}
        ),
    )


def test_refused_writes_leave_no_event_and_no_change(unit, member, executive, reviewer):
    project = project_in_state(S.IN_REVIEW, business_unit=unit, reviewer=reviewer)[1]
    with pytest.raises(PermissionDenied):
        services.review_decide(actor=member, review=project, decision="approved")
    with pytest.raises(services.TransitionError):
        services.review_start(actor=reviewer, review=project)
    with pytest.raises(PermissionDenied):
        services.risk_assessment_record(actor=executive, project=project.project, answers={})
    with pytest.raises(PermissionDenied):
        services.control_save(
            actor=reviewer, control=Control.objects.first(), data={"title": "Changed"}
        )
    assert not AuditEvent.objects.exists()


def test_failed_write_is_rolled_back_with_its_event(unit, reviewer):
    # A claim that succeeds but a later check that fails leaves nothing behind.
    project, review = project_in_state(
        S.IN_REVIEW, business_unit=unit, reviewer=reviewer, tier="prohibited"
    )
    with pytest.raises(services.TransitionError):
        services.review_decide(actor=reviewer, review=review, decision="approved")
    review.refresh_from_db()
    project.refresh_from_db()
    assert (review.status, review.decided_at) == ("in_review", None)
    assert project.version == 1
    assert not AuditEvent.objects.exists()


def test_risk_tier_is_written_only_by_the_governance_service(unit, member):
    project = project_in_state(S.NOT_SUBMITTED, business_unit=unit, tier="")[0]
    RiskAssessmentFactory(project=project, eu_tier="high")  # a bare row does not set the tier
    project.refresh_from_db()
    assert project.risk_tier == ""
    services.risk_assessment_record(actor=member, project=project, answers={"deep_fake": True})
    project.refresh_from_db()
    assert project.risk_tier == "limited"
