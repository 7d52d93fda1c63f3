"""Every (role, from-state, action) triple of the review workflow through the API.

Roles are relative to one project of the `HOME` unit: a member and a lead of the unit, the
project's owner (no membership), a reviewer, a reviewer who owns the project, a reviewer who
sponsors it, an executive and an admin. An in-review pass is assigned to the plain reviewer (or,
when someone else acts, to another reviewer). A project that was never submitted has no review
pass, so the steps on a pass (start, decide) have nothing to address: 404.
"""

from __future__ import annotations

import pytest

from governance.models import Review
from portfolio import roles
from portfolio.models import AuditEvent, Project
from tests.factories import UserFactory, member_of, user_with_role
from tests.governance.factories import project_in_state

pytestmark = pytest.mark.django_db

S = Project.ReviewStatus
ROLES = [
    "member",
    "lead",
    "owner",
    "reviewer",
    "reviewer_owner",
    "reviewer_sponsor",
    "executive",
    "admin",
]
STATES = list(S.values)
DECISIONS = {
    "decide_approve": {"decision": "approved"},
    "decide_approve_with_conditions": {
        "decision": "approved_with_conditions",
        "conditions": [{"text": "Publish the model card.", "due_date": "2031-01-31"}],
    },
    "decide_request_changes": {"decision": "changes_requested", "note": "Describe the data."},
    "decide_reject": {"decision": "rejected", "note": "Out of scope."},
}
ACTIONS = ["submit", "start", *DECISIONS]

SUBMITTERS = {"lead", "owner", "reviewer_owner"}  # unit leads and the project's owner
DECIDERS = {"reviewer", "admin"}  # reviewers without a conflict (the assigned one, or an admin)
SUBMITTABLE = {S.NOT_SUBMITTED, S.CHANGES_REQUESTED, S.CHANGES_SINCE_APPROVAL}


def expected(role: str, state: str, action: str) -> tuple[int, str]:
    """The rules of the workflow, written out: (status code, resulting project state)."""
    if action == "submit":
        if role not in SUBMITTERS:
            return 403, state
        return (201, S.SUBMITTED) if state in SUBMITTABLE else (409, state)
    if state == S.NOT_SUBMITTED:
        return 404, state
    if role not in DECIDERS:
        return 403, state
    if action == "start":
        return (200, S.IN_REVIEW) if state == S.SUBMITTED else (409, state)
    if state == S.IN_REVIEW:
        return 200, DECISIONS[action]["decision"]
    return 409, state


def actor_for(role: str, unit):
    if role == "member":
        return member_of(unit)
    if role == "lead":
        return member_of(unit, role="lead")
    if role in {"reviewer", "reviewer_owner", "reviewer_sponsor"}:
        return user_with_role(roles.REVIEWER)
    if role == "executive":
        return user_with_role(roles.EXECUTIVE)
    if role == "admin":
        return user_with_role(roles.ADMIN)
    return UserFactory()


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
def test_workflow_matrix(api_client, unit, role, state, action):
    # Given a project in `state` and a user in `role`
    actor = actor_for(role, unit)
    other_reviewer = user_with_role(roles.REVIEWER)
    owner = actor if role in {"owner", "reviewer_owner"} else UserFactory()
    sponsor = actor if role == "reviewer_sponsor" else UserFactory()
    assigned = actor if role == "reviewer" else other_reviewer
    project, review = project_in_state(
        state, business_unit=unit, owner=owner, executive_sponsor=sponsor, reviewer=assigned
    )
    version = project.version
    events = AuditEvent.objects.count()
    api_client.force_authenticate(actor)

    # When they take the action
    if action == "submit":
        response = api_client.post("/api/v1/reviews/submit/", {"project": project.pk})
    else:
        target = review.pk if review else 999999
        path = "start" if action == "start" else "decide"
        response = api_client.post(f"/api/v1/reviews/{target}/{path}/", DECISIONS.get(action, {}))

    # Then the answer and the resulting state are those of the rules
    code, result = expected(role, state, action)
    assert response.status_code == code, response.content
    project.refresh_from_db()
    assert project.review_status == result
    if code in (200, 201):
        assert project.version == version + 1
        assert AuditEvent.objects.count() == events + 1
        current = Review.objects.filter(project=project).order_by("-cycle").first()
        assert current is not None and current.status == result
        assert response.json()["status"] == result
        assert response.json()["project"]["review_status"] == result
    else:
        assert project.version == version
        assert AuditEvent.objects.count() == events
        if code == 409:
            assert response.json()["detail"]
