"""The review queue at size: lazily counted and paged (`selectors.ReviewQueue`), the same order
page by page, a constant number of queries, bounded counts, and the desk's unit filter."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from governance import selectors
from governance.models import Review
from portfolio.models import Project
from tests.factories import BusinessUnitFactory
from tests.governance.factories import project_in_state

pytestmark = pytest.mark.django_db

S = Project.ReviewStatus
QUEUE = "/api/v1/review-queue/"


def _due(review: Review, days: int) -> None:
    Review.objects.filter(pk=review.pk).update(due_date=timezone.localdate() + dt.timedelta(days))


def _queue(unit, reviews: int, rereviews: int = 0) -> None:
    for i in range(reviews):
        _due(project_in_state(S.SUBMITTED, business_unit=unit, name=f"Open {i:02d}")[1], i % 7 - 3)
    for i in range(rereviews):
        project_in_state(S.APPROVED, business_unit=unit, decided_days_ago=366 + i % 5)


def test_same_day_reviews_come_in_submission_order_then_rereviews(api_client, unit, reviewer):
    # Given two reviews and a re-review all due on the same day, the later review first created
    today = timezone.localdate()
    rereview = project_in_state(S.APPROVED, business_unit=unit, decided_days_ago=370)[0]
    due = timezone.localdate(timezone.now() - dt.timedelta(days=370)) + dt.timedelta(days=365)
    first = project_in_state(S.SUBMITTED, business_unit=unit, name="Zeta")
    second = project_in_state(S.IN_REVIEW, business_unit=unit, name="Alpha", reviewer=reviewer)
    for _project, review in (first, second):
        Review.objects.filter(pk=review.pk).update(due_date=due)
    api_client.force_authenticate(reviewer)

    # When the reviewer reads the queue
    results = api_client.get(QUEUE).json()["results"]

    # Then the reviews of that day come in the order they were submitted, then the re-review
    assert [(e["kind"], e["project"]["id"]) for e in results] == [
        ("review", first[0].pk),
        ("review", second[0].pk),
        ("rereview", rereview.pk),
    ]
    assert all(e["due_date"] == due.isoformat() for e in results)
    assert due < today and all(e["overdue"] for e in results)


def test_pages_concatenate_to_the_whole_queue_in_due_date_order(api_client, unit, reviewer):
    _queue(unit, reviews=17, rereviews=4)
    api_client.force_authenticate(reviewer)

    whole = api_client.get(QUEUE, {"page_size": 100}).json()
    pages = []
    for page in range(1, 5):
        body = api_client.get(QUEUE, {"page_size": 6, "page": page}).json()
        pages += body["results"]
        assert body["count"] == 21 and body["count_is_exact"] is True

    keys = [(e["kind"], e["project"]["id"]) for e in whole["results"]]
    assert [(e["kind"], e["project"]["id"]) for e in pages] == keys
    assert len(set(keys)) == 21
    dates = [e["due_date"] for e in whole["results"]]
    assert dates == sorted(dates)
    assert api_client.get(QUEUE, {"page_size": 6, "page": 5}).status_code == 404


def test_the_queue_costs_the_same_queries_at_any_size(
    api_client, unit, reviewer, django_assert_num_queries
):
    # Given a small queue, measured
    _queue(unit, reviews=3, rereviews=1)
    api_client.force_authenticate(reviewer)
    api_client.get(QUEUE)  # the first request also reads the user's roles
    with CaptureQueriesContext(connection) as small:
        assert api_client.get(QUEUE).status_code == 200

    # When the queue grows tenfold
    _queue(unit, reviews=30, rereviews=10)

    # Then a page costs the same number of queries
    with django_assert_num_queries(len(small.captured_queries)):
        body = api_client.get(QUEUE).json()
    assert body["count"] == 44


def test_counting_stops_at_the_bound_and_says_so(api_client, unit, reviewer, settings, client):
    # Given more open reviews than the counting bound
    settings.MAESTRO_QUEUE_MAX_COUNT = 5
    _queue(unit, reviews=8, rereviews=2)
    api_client.force_authenticate(reviewer)

    # When the queue is read through the API
    body = api_client.get(QUEUE, {"page_size": 4}).json()

    # Then the reviews are counted up to the bound (plus the re-reviews), flagged as inexact
    assert body["count"] == 7 and body["count_is_exact"] is False
    # and below the bound the count is exact
    assert api_client.get(QUEUE, {"overdue": "false"}).json()["count_is_exact"] is True

    # and the desk says "more than" rather than a wrong number
    client.force_login(reviewer)
    html = client.get("/governance/reviews/").content.decode()
    assert "More than 7 items in the queue" in html
    assert "counting stops at 5 open reviews" in html


def test_overdue_count_is_exact_below_the_bound(unit, reviewer, settings):
    settings.MAESTRO_QUEUE_MAX_COUNT = 5
    _queue(unit, reviews=14)  # due offsets -3..3: six overdue, eight not
    queue = selectors.review_queue(user=reviewer)
    assert queue.count_is_exact is False
    overdue = Review.objects.filter(due_date__lt=timezone.localdate()).count()
    assert overdue == 6
    assert queue.overdue_count() == 5 and queue.overdue_is_exact is False
    settings.MAESTRO_QUEUE_MAX_COUNT = 10
    queue = selectors.review_queue(user=reviewer)
    assert queue.overdue_count() == 6 and queue.overdue_is_exact is True


def test_iterating_the_queue_lists_every_entry_and_slices_are_pages(unit, reviewer):
    _queue(unit, reviews=5, rereviews=2)
    queue = selectors.review_queue(user=reviewer)
    entries = list(queue)
    assert len(entries) == len(queue) == 7
    assert queue[2:4] == entries[2:4]
    assert queue[6:50] == entries[6:]
    with pytest.raises(TypeError):
        queue[3]


def test_archived_and_hidden_projects_stay_out_of_the_queue_and_its_count(
    api_client, unit, other_unit, member
):
    visible = project_in_state(S.SUBMITTED, business_unit=unit)[0]
    archived = project_in_state(S.SUBMITTED, business_unit=unit)[0]
    Project.objects.filter(pk=archived.pk).update(archived_at=timezone.now())
    project_in_state(S.SUBMITTED, business_unit=other_unit, visibility="restricted")
    api_client.force_authenticate(member)
    body = api_client.get(QUEUE).json()
    assert [e["project"]["id"] for e in body["results"]] == [visible.pk]
    assert body["count"] == 1


def test_desk_unit_filter_includes_sub_units(client: Client, reviewer, unit):
    bureau = BusinessUnitFactory(code="BUREAU", name="Bureau", parent=unit)
    elsewhere = BusinessUnitFactory(code="ELSE", name="Elsewhere")
    in_bureau = project_in_state(S.SUBMITTED, business_unit=bureau, name="Bureau project")[0]
    in_agency = project_in_state(S.SUBMITTED, business_unit=unit, name="Agency project")[0]
    project_in_state(S.SUBMITTED, business_unit=elsewhere, name="Elsewhere project")
    client.force_login(reviewer)

    response = client.get("/governance/reviews/", {"unit": unit.pk})

    shown = {e.project.pk for e in response.context["entries"]}
    assert shown == {in_bureau.pk, in_agency.pk}
    assert "2 items in the queue" in response.content.decode()


def test_desk_unit_choice_keeps_the_chosen_unit_and_escapes_names(client: Client, reviewer, unit):
    odd = BusinessUnitFactory(code="ODD", name='R&D <"Lab">')
    client.force_login(reviewer)
    html = client.get("/governance/reviews/", {"unit": odd.pk}).content.decode()
    assert f'<option value="{odd.pk}" selected>' in html
    assert "R&amp;D &lt;&quot;Lab&quot;&gt;" in html
    assert '<option value="">All units</option>' in html
    assert f'<option value="{unit.pk}">' in html
