"""Reviewers deciding at the same moment: exactly one decision wins, the others get 409."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from governance.models import Review
from portfolio import roles
from portfolio.models import AuditEvent, Project
from tests.factories import user_with_role
from tests.governance.factories import project_in_state

pytestmark = pytest.mark.django_db(transaction=True)

DECISIONS = [
    {"decision": "approved"},
    {"decision": "rejected", "note": "No."},
    {"decision": "changes_requested", "note": "More data."},
    {"decision": "approved_with_conditions", "conditions": [{"text": "Add a model card."}]},
]


def test_concurrent_decisions_one_wins_the_others_get_409(unit):
    # Given a review in progress and eight admins (each may decide in place of the reviewer)
    reviewer = user_with_role(roles.REVIEWER)
    project, review = project_in_state(
        Project.ReviewStatus.IN_REVIEW, business_unit=unit, reviewer=reviewer
    )
    deciders = [user_with_role(roles.ADMIN) for _ in range(8)]
    for user in deciders:
        roles.is_admin(user)  # warm the role cache outside the race
    barrier = threading.Barrier(len(deciders))
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def decide(i: int) -> None:
        client = APIClient()
        client.force_authenticate(deciders[i])
        body = DECISIONS[i % len(DECISIONS)]
        try:
            barrier.wait(timeout=30)
            response = client.post(f"/api/v1/reviews/{review.pk}/decide/", body, format="json")
            with lock:
                results.append((response.status_code, body["decision"]))
        finally:
            connection.close()

    # When they all decide at once
    threads = [threading.Thread(target=decide, args=(i,)) for i in range(len(deciders))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # Then one decision stands and the rest were refused with 409
    codes = sorted(code for code, _ in results)
    assert codes == [200] + [409] * (len(deciders) - 1)
    winner = next(decision for code, decision in results if code == 200)
    review.refresh_from_db()
    project.refresh_from_db()
    assert review.status == winner
    assert project.review_status == winner
    assert project.version == 2
    assert AuditEvent.objects.filter(action="review.decided").count() == 1
    assert Review.objects.filter(project=project).count() == 1
