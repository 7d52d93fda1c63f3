"""The review workflow beyond the matrix: separation of duties, the prohibited block, conditions,
comments, assignment, due dates, re-submission, scoping, the queue and the yearly re-review."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from governance import selectors
from governance.models import Review, ReviewCondition
from portfolio import roles
from portfolio.models import AuditEvent, Project
from tests.factories import BusinessUnitFactory, UserFactory, member_of, user_with_role
from tests.governance.factories import ReviewFactory, project_in_state

pytestmark = pytest.mark.django_db

S = Project.ReviewStatus
SUBMIT = "/api/v1/reviews/submit/"


def url(review: Review, step: str = "") -> str:
    return f"/api/v1/reviews/{review.pk}/" + (f"{step}/" if step else "")


# --- Separation of duties ------------------------------------------------------------------------


@pytest.mark.parametrize("relation", ["owner", "executive_sponsor"])
def test_reviewer_who_owns_or_sponsors_may_not_start_decide_assign_or_verify(
    api_client, unit, reviewer, relation
):
    conflicted = user_with_role(roles.REVIEWER)
    _submitted, review = project_in_state(S.SUBMITTED, business_unit=unit, **{relation: conflicted})
    _in_review, ongoing = project_in_state(
        S.IN_REVIEW, business_unit=unit, reviewer=reviewer, **{relation: conflicted}
    )
    _approved, decided = project_in_state(
        S.APPROVED_WITH_CONDITIONS, business_unit=unit, reviewer=reviewer, **{relation: conflicted}
    )
    condition = ReviewCondition.objects.create(review=decided, text="Train the operators.")
    api_client.force_authenticate(conflicted)

    assert api_client.post(url(review, "start")).status_code == 403
    assert api_client.post(url(ongoing, "decide"), {"decision": "approved"}).status_code == 403
    assign = api_client.post(url(ongoing, "assign"), {"reviewer": conflicted.pk})
    assert assign.status_code == 403
    met = api_client.post(url(decided, f"conditions/{condition.pk}/met"))
    assert met.status_code == 403
    assert "own or sponsor" in api_client.post(url(review, "start")).json()["detail"]
    # nor can anyone hand them the review
    api_client.force_authenticate(reviewer)
    response = api_client.post(url(ongoing, "assign"), {"reviewer": conflicted.pk})
    assert response.status_code == 400
    assert "reviewer" in response.json()
    assert not AuditEvent.objects.exists()


def test_owner_who_is_not_a_reviewer_cannot_decide_their_own_project(api_client, unit, reviewer):
    owner = member_of(unit, role="lead")
    _project, review = project_in_state(S.IN_REVIEW, business_unit=unit, owner=owner)
    api_client.force_authenticate(owner)
    assert api_client.post(url(review, "decide"), {"decision": "approved"}).status_code == 403


def test_only_the_assigned_reviewer_or_an_admin_decides(api_client, unit, reviewer, admin_user):
    _project, review = project_in_state(S.IN_REVIEW, business_unit=unit, reviewer=reviewer)
    colleague = user_with_role(roles.REVIEWER)
    api_client.force_authenticate(colleague)
    refused = api_client.post(url(review, "decide"), {"decision": "approved"})
    assert refused.status_code == 403
    assert "assigned to reviewer" in refused.json()["detail"]
    api_client.force_authenticate(admin_user)
    assert api_client.post(url(review, "decide"), {"decision": "approved"}).status_code == 200


# --- The prohibited block ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"decision": "approved"}, 409),
        ({"decision": "approved_with_conditions", "conditions": [{"text": "Stop it."}]}, 409),
        ({"decision": "rejected", "note": "Social scoring is prohibited."}, 200),
        ({"decision": "changes_requested", "note": "Remove the scoring."}, 200),
    ],
)
def test_prohibited_project_cannot_be_approved(api_client, unit, reviewer, body, code):
    project, review = project_in_state(
        S.IN_REVIEW, business_unit=unit, reviewer=reviewer, tier=Project.RiskTier.PROHIBITED
    )
    api_client.force_authenticate(reviewer)
    response = api_client.post(url(review, "decide"), body)
    assert response.status_code == code, response.content
    project.refresh_from_db()
    review.refresh_from_db()
    if code == 409:
        assert "prohibited" in response.json()["detail"]
        assert project.review_status == S.IN_REVIEW
        assert review.status == Review.Status.IN_REVIEW
        assert not ReviewCondition.objects.exists()
        assert not AuditEvent.objects.exists()
    else:
        assert project.review_status == body["decision"]


# --- Decisions: input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "approved_with_conditions"}, "conditions"),
        ({"decision": "approved_with_conditions", "conditions": [{"text": ""}]}, "conditions"),
        ({"decision": "approved", "conditions": [{"text": "x"}]}, "conditions"),
        ({"decision": "changes_requested"}, "note"),
        ({"decision": "rejected", "note": "  "}, "note"),
        ({"decision": "maybe"}, "decision"),
    ],
)
def test_decision_input_errors_are_field_level(api_client, unit, reviewer, body, field):
    _project, review = project_in_state(S.IN_REVIEW, business_unit=unit, reviewer=reviewer)
    api_client.force_authenticate(reviewer)
    response = api_client.post(url(review, "decide"), body)
    assert response.status_code == 400
    assert field in response.json()
    review.refresh_from_db()
    assert review.status == Review.Status.IN_REVIEW


def test_conditions_are_recorded_and_marked_met_once(api_client, unit, reviewer, member):
    _project, review = project_in_state(S.IN_REVIEW, business_unit=unit, reviewer=reviewer)
    api_client.force_authenticate(reviewer)
    body = {
        "decision": "approved_with_conditions",
        "note": "Fine once the card is out.",
        "conditions": [
            {"text": "Publish the model card.", "due_date": "2031-01-31"},
            {"text": "Train the operators."},
        ],
    }
    decided = api_client.post(url(review, "decide"), body)
    assert decided.status_code == 200
    conditions = decided.json()["conditions"]
    assert [c["text"] for c in conditions] == ["Publish the model card.", "Train the operators."]
    assert conditions[0]["due_date"] == "2031-01-31"
    assert conditions[1]["due_date"] is None
    assert decided.json()["decided_by"]["username"] == "reviewer"

    first = conditions[0]["id"]
    api_client.force_authenticate(member)
    assert api_client.post(url(review, f"conditions/{first}/met")).status_code == 403
    api_client.force_authenticate(reviewer)
    met = api_client.post(url(review, f"conditions/{first}/met"), {"note": "Card online."})
    assert met.status_code == 200
    condition = met.json()["conditions"][0]
    assert condition["met"] is True
    assert condition["met_by"]["username"] == "reviewer"
    assert condition["met_at"] and condition["met_note"] == "Card online."
    again = api_client.post(url(review, f"conditions/{first}/met"))
    assert again.status_code == 409
    assert "already marked met" in again.json()["detail"]
    other_review = project_in_state(S.SUBMITTED, business_unit=unit)[1]
    assert api_client.post(url(other_review, f"conditions/{first}/met")).status_code == 404
    assert AuditEvent.objects.filter(action="review.condition_met").count() == 1


# --- Comments ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "code"),
    [
        ("member", 201),
        ("lead", 201),
        ("reviewer", 201),
        ("admin_user", 201),
        ("executive", 403),
    ],
)
def test_comment_rights(request, api_client, unit, role, code):
    _project, review = project_in_state(S.SUBMITTED, business_unit=unit)
    api_client.force_authenticate(request.getfixturevalue(role))
    response = api_client.post(url(review, "comments"), {"text": "Which data does it use?"})
    assert response.status_code == code
    listed = api_client.get(url(review, "comments")).json()
    assert len(listed) == (1 if code == 201 else 0)
    assert AuditEvent.objects.filter(action="review.commented").count() == len(listed)


def test_owner_and_sponsor_comment_and_outsiders_do_not(api_client, unit, other_unit):
    owner, sponsor = UserFactory(), UserFactory()
    outsider = member_of(other_unit)
    _project, review = project_in_state(
        S.SUBMITTED, business_unit=unit, owner=owner, executive_sponsor=sponsor
    )
    for user, code in [(owner, 201), (sponsor, 201), (outsider, 403)]:
        api_client.force_authenticate(user)
        assert api_client.post(url(review, "comments"), {"text": "Note."}).status_code == code
    api_client.force_authenticate(owner)
    assert "text" in api_client.post(url(review, "comments"), {"text": ""}).json()


# --- Assignment ----------------------------------------------------------------------------------


def test_assign_open_review_to_a_reviewer(api_client, unit, reviewer, member):
    _project, review = project_in_state(S.SUBMITTED, business_unit=unit)
    colleague = user_with_role(roles.REVIEWER)
    api_client.force_authenticate(member)
    assert api_client.post(url(review, "assign"), {"reviewer": colleague.pk}).status_code == 403
    api_client.force_authenticate(reviewer)
    not_a_reviewer = api_client.post(url(review, "assign"), {"reviewer": member.pk})
    assert not_a_reviewer.status_code == 400
    assigned = api_client.post(url(review, "assign"), {"reviewer": colleague.pk})
    assert assigned.status_code == 200
    assert assigned.json()["reviewer"]["id"] == colleague.pk
    # now only the assignee (or an admin) starts it
    assert api_client.post(url(review, "start")).status_code == 403
    api_client.force_authenticate(colleague)
    assert api_client.post(url(review, "start")).json()["reviewer"]["id"] == colleague.pk


def test_assign_a_decided_review_is_409(api_client, unit, reviewer):
    _project, review = project_in_state(S.APPROVED, business_unit=unit, reviewer=reviewer)
    api_client.force_authenticate(reviewer)
    response = api_client.post(url(review, "assign"), {"reviewer": reviewer.pk})
    assert response.status_code == 409


def test_start_assigns_an_unassigned_review_to_whoever_starts_it(api_client, unit, reviewer):
    _project, review = project_in_state(S.SUBMITTED, business_unit=unit)
    api_client.force_authenticate(reviewer)
    body = api_client.post(url(review, "start")).json()
    assert body["reviewer"]["username"] == "reviewer"
    assert body["started_at"]
    event = AuditEvent.objects.get(action="review.started")
    assert event.changes["reviewer"] == {"before": None, "after": reviewer.pk}


# --- Submission, due dates, re-submission --------------------------------------------------------


def test_submit_needs_a_risk_assessment(api_client, unit, lead):
    project = project_in_state(S.NOT_SUBMITTED, business_unit=unit, tier="")[0]
    api_client.force_authenticate(lead)
    response = api_client.post(SUBMIT, {"project": project.pk})
    assert response.status_code == 409
    assert "risk assessment" in response.json()["detail"]


@pytest.mark.parametrize(
    ("tier", "days"), [("prohibited", 10), ("high", 10), ("limited", 20), ("minimal", 30)]
)
def test_due_date_follows_the_tier(api_client, unit, lead, tier, days):
    project = project_in_state(S.NOT_SUBMITTED, business_unit=unit, tier=tier)[0]
    api_client.force_authenticate(lead)
    body = api_client.post(SUBMIT, {"project": project.pk, "note": "Ready."}).json()
    assert body["due_date"] == (timezone.localdate() + dt.timedelta(days=days)).isoformat()
    assert body["tier"] == tier
    assert body["submission_note"] == "Ready."
    assert body["overdue"] is False


def test_due_days_can_be_overridden_by_a_setting(api_client, unit, lead, settings):
    settings.MAESTRO_REVIEW_DUE_DAYS = {"high": 3}
    assert selectors.review_due_days("high") == 3
    assert selectors.review_due_days("limited") == 20
    project = project_in_state(S.NOT_SUBMITTED, business_unit=unit, tier="high")[0]
    api_client.force_authenticate(lead)
    body = api_client.post(SUBMIT, {"project": project.pk}).json()
    assert body["due_date"] == (timezone.localdate() + dt.timedelta(days=3)).isoformat()


def test_resubmission_after_changes_requested_opens_a_new_pass(api_client, unit, lead, reviewer):
    project, first = project_in_state(S.CHANGES_REQUESTED, business_unit=unit, reviewer=reviewer)
    api_client.force_authenticate(lead)
    second = api_client.post(SUBMIT, {"project": project.pk})
    assert second.status_code == 201
    assert second.json()["cycle"] == 2
    assert second.json()["id"] != first.pk
    first.refresh_from_db()
    assert first.status == Review.Status.CHANGES_REQUESTED  # history kept
    listed = api_client.get("/api/v1/reviews/", {"project": project.pk}).json()["results"]
    assert [r["cycle"] for r in listed] == [2, 1]


def test_rejected_is_final(api_client, unit, lead):
    project = project_in_state(S.REJECTED, business_unit=unit)[0]
    api_client.force_authenticate(lead)
    assert api_client.post(SUBMIT, {"project": project.pk}).status_code == 409


def test_archived_project_cannot_be_submitted(api_client, unit, lead):
    project = project_in_state(S.NOT_SUBMITTED, business_unit=unit, archived_at=timezone.now())[0]
    api_client.force_authenticate(lead)
    assert api_client.post(SUBMIT, {"project": project.pk}).status_code == 409


def test_lead_of_a_parent_unit_submits_for_a_sub_unit(api_client, unit, lead):
    child = BusinessUnitFactory(parent=unit)
    project = project_in_state(S.NOT_SUBMITTED, business_unit=child)[0]
    api_client.force_authenticate(lead)
    assert api_client.post(SUBMIT, {"project": project.pk}).status_code == 201


def test_governance_writes_bump_the_project_version(api_client, unit, lead, member):
    project = project_in_state(S.NOT_SUBMITTED, business_unit=unit)[0]
    api_client.force_authenticate(lead)
    assert api_client.post(SUBMIT, {"project": project.pk}).status_code == 201
    # someone who read version 1 before the submission cannot overwrite the new state
    api_client.force_authenticate(member)
    stale = api_client.patch(
        f"/api/v1/projects/{project.pk}/", {"stage": "production"}, HTTP_IF_MATCH='"1"'
    )
    assert stale.status_code == 412
    project.refresh_from_db()
    assert project.review_status == S.SUBMITTED


# --- Scoping -------------------------------------------------------------------------------------


def test_reviews_of_hidden_projects_do_not_exist(api_client, unit, other_unit, member, lead):
    hidden, review = project_in_state(
        S.SUBMITTED, business_unit=other_unit, visibility="restricted"
    )
    visible, own = project_in_state(S.SUBMITTED, business_unit=unit)
    api_client.force_authenticate(member)
    ids = {r["id"] for r in api_client.get("/api/v1/reviews/").json()["results"]}
    assert ids == {own.pk}
    assert api_client.get(url(review)).status_code == 404
    assert api_client.get(url(review, "comments")).status_code == 404
    assert api_client.post(url(review, "comments"), {"text": "x"}).status_code == 404
    assert api_client.post(url(review, "start")).status_code == 404
    api_client.force_authenticate(lead)
    refused = api_client.post(SUBMIT, {"project": hidden.pk})
    assert refused.status_code == 400
    assert "project" in refused.json()
    queue = api_client.get("/api/v1/review-queue/").json()["results"]
    assert [e["project"]["id"] for e in queue] == [visible.pk]


def test_review_list_filters(api_client, unit, other_unit, reviewer):
    a = project_in_state(S.SUBMITTED, business_unit=unit, tier="high")[1]
    b = project_in_state(S.IN_REVIEW, business_unit=other_unit, tier="limited", reviewer=reviewer)[
        1
    ]
    api_client.force_authenticate(reviewer)

    def ids(**params):
        return {r["id"] for r in api_client.get("/api/v1/reviews/", params).json()["results"]}

    assert ids(status="submitted") == {a.pk}
    assert ids(tier="limited") == {b.pk}
    assert ids(unit="HOME") == {a.pk}
    assert ids(reviewer=reviewer.pk) == {b.pk}
    assert api_client.get("/api/v1/reviews/", {"status": "pending"}).status_code == 400


# --- The queue and the yearly re-review ----------------------------------------------------------


def test_rereview_selector_lists_approved_high_projects_decided_over_a_year_ago(unit, reviewer):
    due = project_in_state(S.APPROVED, business_unit=unit, reviewer=reviewer, decided_days_ago=400)
    due_conditions = project_in_state(
        S.APPROVED_WITH_CONDITIONS, business_unit=unit, reviewer=reviewer, decided_days_ago=366
    )
    project_in_state(S.APPROVED, business_unit=unit, decided_days_ago=364)  # not yet
    project_in_state(S.APPROVED, business_unit=unit, tier="limited", decided_days_ago=800)
    project_in_state(S.CHANGES_SINCE_APPROVAL, business_unit=unit, decided_days_ago=800)
    project_in_state(S.REJECTED, business_unit=unit, decided_days_ago=800)
    # a project whose latest decision is recent is not due, even with an old first decision
    renewed, _old = project_in_state(S.APPROVED, business_unit=unit, decided_days_ago=700)
    ReviewFactory(
        project=renewed,
        cycle=2,
        status=Review.Status.APPROVED,
        submitted_at=timezone.now() - dt.timedelta(days=40),
        decided_at=timezone.now() - dt.timedelta(days=30),
    )

    found = set(selectors.rereview_due_list(user=reviewer).values_list("pk", flat=True))
    assert found == {due[0].pk, due_conditions[0].pk}


def test_rereview_due_project_can_be_resubmitted(api_client, unit, lead):
    project = project_in_state(S.APPROVED, business_unit=unit, decided_days_ago=400)[0]
    fresh = project_in_state(S.APPROVED, business_unit=unit, decided_days_ago=30)[0]
    api_client.force_authenticate(lead)
    assert api_client.post(SUBMIT, {"project": fresh.pk}).status_code == 409
    response = api_client.post(SUBMIT, {"project": project.pk})
    assert response.status_code == 201
    assert response.json()["cycle"] == 2


def test_review_queue_sorted_by_due_date_with_filters(api_client, unit, other_unit, reviewer):
    today = timezone.localdate()
    late = project_in_state(S.SUBMITTED, business_unit=unit, tier="high")
    Review.objects.filter(pk=late[1].pk).update(due_date=today - dt.timedelta(days=2))
    mine = project_in_state(
        S.IN_REVIEW, business_unit=other_unit, tier="limited", reviewer=reviewer
    )
    Review.objects.filter(pk=mine[1].pk).update(due_date=today + dt.timedelta(days=5))
    rereview = project_in_state(S.APPROVED, business_unit=unit, decided_days_ago=370)[0]
    project_in_state(S.APPROVED, business_unit=unit, decided_days_ago=10)  # not in the queue
    project_in_state(S.CHANGES_REQUESTED, business_unit=unit)  # waits for the team
    api_client.force_authenticate(reviewer)

    def queue(**params):
        response = api_client.get("/api/v1/review-queue/", params)
        assert response.status_code == 200, response.content
        return [(e["kind"], e["project"]["id"]) for e in response.json()["results"]]

    # the re-review was due 5 days ago, the late review 2 days ago, mine in 5 days
    assert queue() == [
        ("rereview", rereview.pk),
        ("review", late[0].pk),
        ("review", mine[0].pk),
    ]
    entry = api_client.get("/api/v1/review-queue/").json()["results"][0]
    assert entry["status"] == "rereview_due" and entry["overdue"] is True
    assert entry["due_date"] == (today - dt.timedelta(days=5)).isoformat()
    assert queue(status="submitted") == [("review", late[0].pk)]
    assert queue(status="rereview_due") == [("rereview", rereview.pk)]
    assert queue(tier="limited") == [("review", mine[0].pk)]
    assert queue(unit="OTHER") == [("review", mine[0].pk)]
    assert queue(overdue="true") == [("rereview", rereview.pk), ("review", late[0].pk)]
    assert queue(overdue="false") == [("review", mine[0].pk)]
    assert queue(assigned="me") == [("review", mine[0].pk)]
    bad = api_client.get("/api/v1/review-queue/", {"status": "approved"})
    assert bad.status_code == 400
    assert "status" in bad.json()


def test_project_review_status_mirrors_the_current_pass(api_client, unit, lead, reviewer):
    project = project_in_state(S.NOT_SUBMITTED, business_unit=unit)[0]
    api_client.force_authenticate(lead)
    review_id = api_client.post(SUBMIT, {"project": project.pk}).json()["id"]
    api_client.force_authenticate(reviewer)
    steps = [
        ("start", {}, S.IN_REVIEW),
        ("decide", {"decision": "changes_requested", "note": "More."}, S.CHANGES_REQUESTED),
    ]
    for step, body, status in steps:
        assert api_client.post(f"/api/v1/reviews/{review_id}/{step}/", body).status_code == 200
        project.refresh_from_db()
        assert project.review_status == status
        assert Review.objects.get(pk=review_id).status == status
        detail = api_client.get(f"/api/v1/projects/{project.pk}/").json()
        assert detail["review_status"] == status
