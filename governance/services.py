"""Every governance write. Each service runs in one transaction and writes one AuditEvent.

The project's `risk_tier` and `review_status` are written here and only here, with a queryset
`update()` that also bumps `Project.version`, so that a person editing the project with an older
version gets 412 instead of overwriting the governance state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, cast

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import F, Max
from django.utils import timezone

from governance import notifications, permissions, risk, selectors
from governance.models import (
    Control,
    ControlStatus,
    Framework,
    Review,
    ReviewComment,
    ReviewCondition,
    RiskAssessment,
    WebhookEndpoint,
)
from portfolio import audit, roles
from portfolio.models import Project

Actor = AbstractBaseUser | AnonymousUser | None
ReviewStatus = Project.ReviewStatus

APPROVED = frozenset({ReviewStatus.APPROVED, ReviewStatus.APPROVED_WITH_CONDITIONS})


class TransitionError(Exception):
    """A workflow step the current state does not allow (the API answers 409 with the reason)."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise PermissionDenied(message)


def _user(actor: Actor) -> User | None:
    return roles.signed_in_user(actor)


def _person(actor: Actor) -> AbstractBaseUser | AnonymousUser:
    """Who takes a workflow step: someone (the permission checks then say whether they may)."""
    if actor is None:
        raise PermissionDenied("Only a person takes this step.")
    return actor


def _label(status: str) -> str:
    return str(ReviewStatus(status).label).lower() if status in ReviewStatus.values else status


def _set_project_state(project_id: int, **values: Any) -> None:
    """Write governance fields of a project and bump its version (optimistic concurrency)."""
    Project.objects.filter(pk=project_id).update(
        **values, version=F("version") + 1, updated_at=timezone.now()
    )


# --- Risk assessment -----------------------------------------------------------------------------


@transaction.atomic
def risk_assessment_record(
    *, actor: Actor, project: Project, answers: risk.RiskAnswers | Mapping[str, Any]
) -> RiskAssessment:
    """Record an assessment; the newest one sets the project's tier.

    A tier change on an approved project sends it back to review (changed since approval).
    """
    _require(
        permissions.can_record_assessment(_person(actor), project),
        "You may assess only projects you can edit.",
    )
    if not isinstance(answers, risk.RiskAnswers):
        try:
            answers = risk.answers_from_mapping(answers)
        except risk.InvalidAnswers as exc:
            raise ValidationError(
                {"answers": [f"{key}: {message}" for key, message in exc.errors.items()]}
            ) from exc
    decision = risk.assess(answers)
    locked = Project.objects.select_for_update().get(pk=project.pk)
    assessment = RiskAssessment(
        project=locked,
        assessor=_user(actor),
        answers=risk.answers_to_mapping(answers),
        eu_tier=decision.tier.value,
        high_impact=decision.high_impact,
        rule=decision.rule,
        rationale=decision.rationale,
    )
    assessment.full_clean()
    assessment.save()

    changes: dict[str, Any] = {
        "eu_tier": {"before": None, "after": assessment.eu_tier},
        "high_impact": {"before": None, "after": assessment.high_impact},
        "rule": {"before": None, "after": assessment.rule},
    }
    project_values: dict[str, Any] = {}
    if locked.risk_tier != assessment.eu_tier:
        project_values["risk_tier"] = assessment.eu_tier
        changes["project_risk_tier"] = {"before": locked.risk_tier, "after": assessment.eu_tier}
        if locked.review_status in APPROVED:
            project_values["review_status"] = ReviewStatus.CHANGES_SINCE_APPROVAL
            changes["project_review_status"] = {
                "before": locked.review_status,
                "after": ReviewStatus.CHANGES_SINCE_APPROVAL.value,
            }
    if project_values:
        _set_project_state(locked.pk, **project_values)
    audit.record(
        actor=actor,
        action="risk_assessment.recorded",
        target=assessment,
        changes=changes,
        business_unit=locked.business_unit_id,
    )
    return assessment


# --- Review workflow -----------------------------------------------------------------------------


def _claim_review(review_id: int, *, from_statuses: Iterable[str], **values: Any) -> Review:
    """Move a review out of one of `from_statuses`, atomically on every database.

    The conditional UPDATE is the claim: of two reviewers acting at once, the second one's
    UPDATE waits for the first transaction and then matches nothing (409). The row and its
    project are then locked for the rest of the transaction.
    """
    allowed = list(from_statuses)
    claimed = Review.objects.filter(pk=review_id, status__in=allowed).update(
        updated_at=timezone.now(), **values
    )
    locked = Review.objects.select_for_update().select_related("project").get(pk=review_id)
    if not claimed:
        wanted = " or ".join(_label(s) for s in allowed)
        raise TransitionError(
            f"The review is {_label(locked.status)}; this step needs it to be {wanted}."
        )
    return locked


@transaction.atomic
def review_submit(*, actor: Actor, project: Project, note: str = "") -> Review:
    """Open a new review pass (cycle) for a project; the due date follows its tier."""
    _require(
        permissions.can_submit(_person(actor), project),
        "Only leads of the project's business unit and the project's owner submit it for review.",
    )
    locked = Project.objects.select_for_update().get(pk=project.pk)
    status = locked.review_status
    blocker = selectors.submission_blocker(project=locked)
    if blocker is not None:
        raise TransitionError(blocker)
    now = timezone.now()
    last_cycle = Review.objects.filter(project=locked).aggregate(last=Max("cycle"))["last"] or 0
    review = Review(
        project=locked,
        cycle=last_cycle + 1,
        status=Review.Status.SUBMITTED,
        tier=locked.risk_tier,
        submitted_by=_user(actor),
        submitted_at=now,
        submission_note=note.strip(),
        due_date=timezone.localdate(now)
        + dt.timedelta(days=selectors.review_due_days(locked.risk_tier)),
    )
    review.full_clean()
    review.save()
    _set_project_state(locked.pk, review_status=ReviewStatus.SUBMITTED)
    audit.record(
        actor=actor,
        action="review.submitted",
        target=review,
        changes={
            "status": {"before": None, "after": review.status},
            "cycle": {"before": None, "after": review.cycle},
            "due_date": {"before": None, "after": review.due_date.isoformat()},
            "project_review_status": {"before": status, "after": ReviewStatus.SUBMITTED.value},
        },
        business_unit=locked.business_unit_id,
    )
    notifications.review_submitted_queued(review=review)
    return review


def _require_reviewer_for(actor: Actor, review: Review, *, verb: str) -> None:
    _require(roles.is_reviewer(_person(actor)), f"Only reviewers {verb} reviews.")
    _require(
        not permissions.has_conflict(_person(actor), review.project),
        f"You own or sponsor this project, so you may not {verb} its review.",
    )
    _require(
        permissions.is_assigned_or_admin(_person(actor), review),
        f"This review is assigned to {review.reviewer}; only they or an admin {verb} it.",
    )


@transaction.atomic
def review_start(*, actor: Actor, review: Review) -> Review:
    """submitted → in_review. An unassigned review is assigned to whoever starts it."""
    _require_reviewer_for(actor, review, verb="start")
    now = timezone.now()
    locked = _claim_review(
        review.pk,
        from_statuses=[Review.Status.SUBMITTED],
        status=Review.Status.IN_REVIEW,
        started_at=now,
    )
    _require_reviewer_for(actor, locked, verb="start")
    before_reviewer = locked.reviewer_id
    if locked.reviewer_id is None:
        locked.reviewer = _user(actor)
        locked.assigned_at = now
        locked.save(update_fields=["reviewer", "assigned_at", "updated_at"])
    _set_project_state(locked.project_id, review_status=ReviewStatus.IN_REVIEW)
    changes: dict[str, Any] = {
        "status": {"before": Review.Status.SUBMITTED.value, "after": locked.status},
        "project_review_status": {
            "before": locked.project.review_status,
            "after": ReviewStatus.IN_REVIEW.value,
        },
    }
    if before_reviewer != locked.reviewer_id:
        changes["reviewer"] = {"before": before_reviewer, "after": locked.reviewer_id}
    audit.record(
        actor=actor,
        action="review.started",
        target=locked,
        changes=changes,
        business_unit=locked.project.business_unit_id,
    )
    return locked


@transaction.atomic
def review_assign(*, actor: Actor, review: Review, reviewer: User) -> Review:
    """Give an open review to a reviewer who has no conflict of interest on the project."""
    _require(
        permissions.can_review(_person(actor), review.project),
        "Only reviewers without a conflict of interest on the project assign its review.",
    )
    if not roles.is_reviewer(reviewer):
        raise ValidationError({"reviewer": "Choose a user with the reviewer role."})
    if permissions.has_conflict(reviewer, review.project):
        raise ValidationError(
            {"reviewer": "This reviewer owns or sponsors the project and may not review it."}
        )
    locked = Review.objects.select_for_update().select_related("project").get(pk=review.pk)
    if not locked.is_open:
        raise TransitionError(f"The review is {_label(locked.status)}; only open reviews move.")
    if permissions.has_conflict(reviewer, locked.project):
        raise ValidationError(
            {"reviewer": "This reviewer owns or sponsors the project and may not review it."}
        )
    before = locked.reviewer_id
    locked.reviewer = reviewer
    locked.assigned_at = timezone.now()
    locked.save(update_fields=["reviewer", "assigned_at", "updated_at"])
    audit.record(
        actor=actor,
        action="review.assigned",
        target=locked,
        changes={"reviewer": {"before": before, "after": reviewer.pk}},
        business_unit=locked.project.business_unit_id,
    )
    return locked


def _clean_conditions(
    decision: str, conditions: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    items = [dict(c) for c in conditions]
    if decision == Review.Status.APPROVED_WITH_CONDITIONS and not items:
        raise ValidationError({"conditions": "An approval with conditions names at least one."})
    if decision != Review.Status.APPROVED_WITH_CONDITIONS and items:
        raise ValidationError(
            {"conditions": "Only an approval with conditions carries conditions."}
        )
    for item in items:
        item["text"] = str(item.get("text") or "").strip()
        if not item["text"]:
            raise ValidationError({"conditions": "Every condition needs a text."})
    return items


@transaction.atomic
def review_decide(
    *,
    actor: Actor,
    review: Review,
    decision: str,
    note: str = "",
    conditions: Iterable[Mapping[str, Any]] = (),
) -> Review:
    """in_review → approved | approved_with_conditions | changes_requested | rejected."""
    _require_reviewer_for(actor, review, verb="decide")
    if decision not in Review.DECISIONS:
        raise ValidationError(
            {"decision": f"Choose one of: {', '.join(str(d) for d in Review.DECISIONS)}."}
        )
    note = note.strip()
    if decision in (Review.Status.CHANGES_REQUESTED, Review.Status.REJECTED) and not note:
        raise ValidationError({"note": "Say what has to change, or why the project is rejected."})
    items = _clean_conditions(decision, conditions)
    now = timezone.now()
    locked = _claim_review(
        review.pk,
        from_statuses=[Review.Status.IN_REVIEW],
        status=decision,
        decided_at=now,
        decided_by=_user(actor),
        decision_note=note,
    )
    _require_reviewer_for(actor, locked, verb="decide")
    project = locked.project
    if decision in APPROVED and project.risk_tier == Project.RiskTier.PROHIBITED:
        raise TransitionError(
            "The project is assessed as prohibited (EU AI Act Art. 5) and cannot be approved, "
            "with or without conditions. Reject it, or request changes and a new assessment."
        )
    created = []
    for item in items:
        condition = ReviewCondition(
            review=locked, text=item["text"], due_date=item.get("due_date") or None
        )
        condition.full_clean()
        condition.save()
        created.append(condition)
    _set_project_state(project.pk, review_status=decision)
    changes: dict[str, Any] = {
        "status": {"before": Review.Status.IN_REVIEW.value, "after": decision},
        "project_review_status": {"before": project.review_status, "after": decision},
    }
    if note:
        changes["decision_note"] = {"before": "", "after": note}
    if created:
        changes["conditions"] = {"before": [], "after": [c.text for c in created]}
    audit.record(
        actor=actor,
        action="review.decided",
        target=locked,
        changes=changes,
        business_unit=project.business_unit_id,
    )
    notifications.review_decided_queued(review=locked)
    locked.refresh_from_db()
    return locked


@transaction.atomic
def review_comment_add(*, actor: Actor, review: Review, text: str) -> ReviewComment:
    _require(
        permissions.can_comment(_person(actor), review.project),
        "Only the project team, its owner and sponsor, and reviewers comment on its review.",
    )
    comment = ReviewComment(review=review, author=_user(actor), text=text.strip())
    if not comment.text:
        raise ValidationError({"text": "Write a comment."})
    comment.full_clean()
    comment.save()
    audit.record(
        actor=actor,
        action="review.commented",
        target=comment,
        changes={"text": {"before": None, "after": comment.text}, "review": review.pk},
        business_unit=review.project.business_unit_id,
    )
    return comment


@transaction.atomic
def condition_mark_met(
    *, actor: Actor, condition: ReviewCondition, note: str = ""
) -> ReviewCondition:
    """A reviewer confirms a condition of an approval is met (once).

    When that was the last open condition of an `approved_with_conditions` pass, the pass
    becomes `approved` (and so does the project, when this pass is its current state), in the
    same transaction and the same audit event: the approval no longer carries conditions. The
    decision's date stays, so the yearly re-review still counts from it.
    """
    project = condition.review.project
    _require(
        permissions.can_review(_person(actor), project),
        "Only reviewers without a conflict of interest confirm that a condition is met.",
    )
    now = timezone.now()
    claimed = ReviewCondition.objects.filter(pk=condition.pk, met=False).update(
        met=True, met_by=_user(actor), met_at=now, met_note=note.strip()
    )
    locked = ReviewCondition.objects.select_for_update().get(pk=condition.pk)
    if not claimed:
        raise TransitionError(
            f"The condition was already marked met by {locked.met_by or 'someone'} "
            f"on {locked.met_at:%Y-%m-%d}."
        )
    changes: dict[str, Any] = {"met": {"before": False, "after": True}}
    if locked.met_note:
        changes["met_note"] = {"before": "", "after": locked.met_note}
    changes.update(_approve_when_all_conditions_met(locked.review_id))
    audit.record(
        actor=actor,
        action="review.condition_met",
        target=locked,
        changes=changes,
        business_unit=project.business_unit_id,
    )
    return locked


def _approve_when_all_conditions_met(review_id: int) -> dict[str, Any]:
    """approved_with_conditions → approved once no condition is open; the changes made."""
    if ReviewCondition.objects.filter(review_id=review_id, met=False).exists():
        return {}
    lifted = Review.objects.filter(
        pk=review_id, status=Review.Status.APPROVED_WITH_CONDITIONS
    ).update(status=Review.Status.APPROVED, updated_at=timezone.now())
    if not lifted:  # a pass decided otherwise keeps its status
        return {}
    changes: dict[str, Any] = {
        "review_status": {
            "before": Review.Status.APPROVED_WITH_CONDITIONS.value,
            "after": Review.Status.APPROVED.value,
        }
    }
    review = Review.objects.select_related("project").get(pk=review_id)
    latest = Review.objects.filter(project_id=review.project_id).aggregate(last=Max("cycle"))
    project = Project.objects.select_for_update().get(pk=review.project_id)
    if (
        latest["last"] == review.cycle
        and project.review_status == ReviewStatus.APPROVED_WITH_CONDITIONS
    ):
        _set_project_state(project.pk, review_status=ReviewStatus.APPROVED)
        changes["project_review_status"] = {
            "before": ReviewStatus.APPROVED_WITH_CONDITIONS.value,
            "after": ReviewStatus.APPROVED.value,
        }
    return changes


# --- Controls ------------------------------------------------------------------------------------

CONTROL_STATUS_FIELDS = ("status", "evidence_url", "note", "justification")


@transaction.atomic
def control_status_set(
    *,
    actor: Actor,
    project: Project,
    control: Control,
    status: str,
    evidence_url: str = "",
    note: str = "",
    justification: str = "",
) -> ControlStatus:
    """Say where the project stands on one applicable control, with evidence or a reason."""
    _require(
        permissions.can_set_control_status(_person(actor), project),
        "You may set control statuses only of projects you can edit.",
    )
    locked = Project.objects.select_for_update().get(pk=project.pk)
    high_impact = selectors.project_high_impact(project=locked)
    if not control.applies_to(tier=locked.risk_tier, high_impact=high_impact):
        tier = locked.risk_tier or "not assessed"
        raise ValidationError(
            {
                "control": f"{control.identifier} does not apply to this project "
                f"(tier {tier}, {'high-impact' if high_impact else 'not high-impact'})."
            }
        )
    justification = justification.strip()
    note = note.strip()
    evidence_url = evidence_url.strip()
    if status == ControlStatus.Status.NOT_APPLICABLE and not justification:
        raise ValidationError({"justification": "Say why the control does not apply."})
    if status == ControlStatus.Status.MET and not (evidence_url or note):
        raise ValidationError({"evidence_url": "Link the evidence or describe it in the note."})
    existing = (
        ControlStatus.objects.select_for_update().filter(project=locked, control=control).first()
    )
    before = audit.snapshot(existing, CONTROL_STATUS_FIELDS) if existing else {}
    entry = existing or ControlStatus(project=locked, control=control)
    entry.status = status
    entry.evidence_url = evidence_url
    entry.note = note
    entry.justification = justification
    entry.set_by = _user(actor)
    entry.set_at = timezone.now()
    entry.full_clean()
    entry.save()
    changes: dict[str, Any] = audit.diff(before, audit.snapshot(entry, CONTROL_STATUS_FIELDS))
    changes["control"] = control.identifier
    audit.record(
        actor=actor,
        action="control_status.set",
        target=entry,
        changes=changes,
        business_unit=locked.business_unit_id,
    )
    return entry


# --- Catalogue (admin) ---------------------------------------------------------------------------

FRAMEWORK_FIELDS = ("code", "name", "version", "description", "url", "position")
CONTROL_FIELDS = (
    "framework",
    "identifier",
    "title",
    "description",
    "applies_to_tiers",
    "high_impact_only",
    "position",
)


def _catalogue_save(
    *,
    actor: Actor,
    instance: models.Model,
    data: Mapping[str, Any],
    fields: tuple[str, ...],
    action: str,
) -> Any:
    _require(
        permissions.can_manage_catalogue(_person(actor)),
        "Only admins change the frameworks and controls.",
    )
    unknown = set(data) - set(fields)
    if unknown:
        raise ValidationError({name: "This field cannot be set here." for name in sorted(unknown)})
    created = instance.pk is None
    before = {} if created else audit.snapshot(instance, fields)
    for name, value in data.items():
        setattr(instance, name, value)
    instance.full_clean()
    instance.save()
    audit.record(
        actor=actor,
        action=f"{action}.{'created' if created else 'updated'}",
        target=instance,
        changes=audit.diff(before, audit.snapshot(instance, fields)),
    )
    return instance


@transaction.atomic
def framework_save(*, actor: Actor, framework: Framework, data: Mapping[str, Any]) -> Framework:
    return cast(
        Framework,
        _catalogue_save(
            actor=actor, instance=framework, data=data, fields=FRAMEWORK_FIELDS, action="framework"
        ),
    )


@transaction.atomic
def control_save(*, actor: Actor, control: Control, data: Mapping[str, Any]) -> Control:
    return cast(
        Control,
        _catalogue_save(
            actor=actor, instance=control, data=data, fields=CONTROL_FIELDS, action="control"
        ),
    )


# --- Webhook endpoints (admins) ---------------------------------------------------------------

WEBHOOK_FIELDS = ("name", "url", "events", "active")
WEBHOOK_EDITABLE = frozenset({*WEBHOOK_FIELDS, "secret"})


def _require_admin(actor: Actor) -> None:
    _require(
        actor is not None and actor.is_authenticated and roles.is_admin(actor),
        "Only admins manage webhooks.",
    )


@transaction.atomic
def webhook_endpoint_save(
    *, actor: Actor, endpoint: WebhookEndpoint | None, data: Mapping[str, Any]
) -> WebhookEndpoint:
    """Create (`endpoint` None or unsaved) or change a webhook endpoint; one audit event
    (`webhook.created` / `webhook.updated`) with the changed fields. The secret is never written
    to the audit trail: a new secret shows as changed, nothing more."""
    _require_admin(actor)
    unknown = set(data) - WEBHOOK_EDITABLE
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    target = endpoint if endpoint is not None else WebhookEndpoint()
    creating = target.pk is None
    before = {} if creating else audit.snapshot(target, WEBHOOK_FIELDS)
    old_secret = target.secret
    for name, value in data.items():
        setattr(target, name, value)
    if creating:
        target.created_by = _user(actor)
    target.full_clean(exclude=["created_by"])
    target.save()
    changes = audit.diff(before, audit.snapshot(target, WEBHOOK_FIELDS))
    if creating or target.secret != old_secret:
        changes["secret"] = {"before": None if creating else "(set)", "after": "(changed)"}
    audit.record(
        actor=actor,
        action="webhook.created" if creating else "webhook.updated",
        target=target,
        changes=changes,
    )
    return target


@transaction.atomic
def webhook_endpoint_delete(*, actor: Actor, endpoint: WebhookEndpoint) -> None:
    """Delete an endpoint with its delivery log; one `webhook.deleted` event keeps what it was."""
    _require_admin(actor)
    audit.record_deletion(
        actor=actor, action="webhook.deleted", target=endpoint, fields=WEBHOOK_FIELDS
    )
