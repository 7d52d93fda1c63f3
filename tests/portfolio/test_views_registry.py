"""The registry list (/projects/) and "Our projects" (/projects/ours/): scoping, filters, search,
sorting, pagination, export link and a query count that does not grow with the page."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from portfolio.models import Project
from tests.factories import (
    BusinessUnitFactory,
    CapabilityFactory,
    GoalAlignmentFactory,
    ProjectFactory,
    ToolFactory,
    member_of,
)

pytestmark = pytest.mark.django_db


def names(response) -> list[str]:
    return [p.name for p in response.context["projects"]]


def test_anonymous_is_sent_to_sign_in(client: Client):
    for url in ["/projects/", "/projects/ours/"]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")


def test_member_sees_shared_projects_and_own_restricted_but_not_others_restricted(
    client: Client, member, unit, other_unit
):
    ProjectFactory(name="Shared elsewhere", business_unit=other_unit)
    ProjectFactory(
        name="Secret elsewhere",
        business_unit=other_unit,
        visibility=Project.Visibility.RESTRICTED,
        problem="Zebra telemetry",
    )
    ProjectFactory(name="Our secret", business_unit=unit, visibility=Project.Visibility.RESTRICTED)
    client.force_login(member)

    response = client.get("/projects/")

    assert response.status_code == 200
    assert names(response) == ["Our secret", "Shared elsewhere"]
    html = response.content.decode()
    assert "Secret elsewhere" not in html
    search = client.get("/projects/", {"q": "zebra"})
    assert names(search) == []
    assert "Secret elsewhere" not in search.content.decode()


@pytest.mark.parametrize("role", ["reviewer", "executive", "admin_user"])
def test_organisation_roles_see_restricted_projects(client: Client, request, role, other_unit):
    ProjectFactory(
        name="Secret elsewhere", business_unit=other_unit, visibility=Project.Visibility.RESTRICTED
    )
    client.force_login(request.getfixturevalue(role))
    assert names(client.get("/projects/")) == ["Secret elsewhere"]


def test_archived_projects_are_listed_only_on_request(client: Client, reviewer, unit):
    ProjectFactory(name="Live", business_unit=unit)
    archived = ProjectFactory(name="Gone", business_unit=unit)
    Project.objects.filter(pk=archived.pk).update(archived_at="2025-01-01T00:00:00Z")
    client.force_login(reviewer)
    assert names(client.get("/projects/")) == ["Live"]
    assert names(client.get("/projects/", {"archived": "true"})) == ["Gone"]


def test_filters_are_the_api_filters(client: Client, reviewer, unit, other_unit):
    tool = ToolFactory(name="Westlaw Edge")
    capability = CapabilityFactory(slug="summarisation")
    a = ProjectFactory(
        name="A", business_unit=unit, stage="pilot", risk_tier="high", topic_area="health"
    )
    a.tools.add(tool)
    a.capabilities.add(capability)
    ProjectFactory(name="B", business_unit=unit, stage="production", review_status="approved")
    ProjectFactory(name="C", business_unit=other_unit, stage="pilot", problem="fraud detection")
    client.force_login(reviewer)

    def listed(**params):
        return names(client.get("/projects/", params))

    assert listed(stage="pilot") == ["A", "C"]
    assert listed(stage=["pilot", "production"], unit=str(unit.pk)) == ["A", "B"]
    assert listed(tier="high") == ["A"]
    assert listed(tier="none") == ["B", "C"]
    assert listed(topic="health") == ["A"]
    assert listed(review_status="approved") == ["B"]
    assert listed(tool="Westlaw Edge") == ["A"]
    assert listed(capability="summarisation") == ["A"]
    assert listed(technique="nlp") == ["A", "B", "C"]
    assert listed(q="fraud") == ["C"]
    assert listed(unit="OTHER") == ["C"]


def test_counts_and_export_link_carry_the_filters(client: Client, reviewer, unit):
    ProjectFactory.create_batch(3, business_unit=unit, stage="pilot")
    ProjectFactory.create_batch(2, business_unit=unit, stage="idea")
    client.force_login(reviewer)

    response = client.get("/projects/", {"stage": "pilot", "ordering": "-name", "page": "1"})

    assert (response.context["matched"], response.context["total"]) == (3, 5)
    assert "3 of 5 projects match" in response.content.decode()
    export = urlsplit(response.context["export_url"])
    assert export.path == "/api/v1/projects/export/"
    query = parse_qs(export.query)
    assert query["format"] == ["csv"]
    assert query["stage"] == ["pilot"]
    assert query["ordering"] == ["-name"]
    assert "page" not in query
    assert 'href="/api/v1/projects/export/?' in response.content.decode()


def test_sorting_uses_the_api_ordering_fields(client: Client, reviewer, unit):
    ProjectFactory(name="Beta", business_unit=unit, annual_cost=5)
    ProjectFactory(name="Alpha", business_unit=unit, annual_cost=50)
    ProjectFactory(name="Gamma", business_unit=unit, annual_cost=1)
    client.force_login(reviewer)

    assert names(client.get("/projects/")) == ["Alpha", "Beta", "Gamma"]
    assert names(client.get("/projects/", {"ordering": "-name"})) == ["Gamma", "Beta", "Alpha"]
    assert names(client.get("/projects/", {"ordering": "annual_cost"})) == [
        "Gamma",
        "Beta",
        "Alpha",
    ]
    # An unknown field falls back to the default order instead of failing.
    assert names(client.get("/projects/", {"ordering": "problem"})) == ["Alpha", "Beta", "Gamma"]
    html = client.get("/projects/", {"ordering": "name"}).content.decode()
    assert 'aria-sort="ascending"' in html
    assert "ordering=-name" in html


def test_pagination_is_fifty_per_page_and_bounded(client: Client, reviewer, unit):
    ProjectFactory.create_batch(60, business_unit=unit)
    client.force_login(reviewer)

    first = client.get("/projects/", {"stage": "pilot"})
    assert len(first.context["projects"]) == 50
    html = first.content.decode()
    assert "page=2" in html and "stage=pilot" in html
    second = client.get("/projects/", {"stage": "pilot", "page": "2"})
    assert len(second.context["projects"]) == 10
    assert client.get("/projects/", {"page": "999"}).context["page"].number == 2
    assert client.get("/projects/", {"page": "x"}).context["page"].number == 1


def test_filter_form_works_without_javascript(client: Client, member):
    client.force_login(member)
    html = client.get("/projects/").content.decode()
    form = re.search(r'<form id="project-filters"[^>]*>', html).group(0)
    assert 'method="get"' in form
    for name in ["unit", "stage", "tier", "review_status", "topic", "technique", "tool", "goal"]:
        assert f'name="{name}"' in html, name
    assert 'name="q"' in html and 'form="project-filters"' in html


def test_invalid_filter_values_are_reported_not_fatal(client: Client, member):
    client.force_login(member)
    response = client.get("/projects/", {"stage": "nonsense"})
    assert response.status_code == 200
    assert "Some filters were not understood" in response.content.decode()


def _projects_with_relations(count: int, unit) -> None:
    tools = ToolFactory.create_batch(3)
    capabilities = CapabilityFactory.create_batch(2)
    for project in ProjectFactory.create_batch(count, business_unit=unit):
        project.tools.set(tools)
        project.capabilities.set(capabilities)


@pytest.mark.parametrize("url", ["/projects/", "/projects/ours/"])
def test_list_query_count_does_not_grow_with_the_page(
    client: Client, member, unit, url, django_assert_max_num_queries
):
    client.force_login(member)
    _projects_with_relations(5, unit)
    with django_assert_max_num_queries(20) as small:
        assert len(client.get(url).context["projects"]) == 5
    _projects_with_relations(45, unit)
    with django_assert_max_num_queries(20) as large:
        assert len(client.get(url).context["projects"]) == 50
    assert len(large.captured_queries) == len(small.captured_queries)


def test_our_projects_lists_only_the_users_units_and_sub_units(client: Client, unit, other_unit):
    team = BusinessUnitFactory(name="Team", code="TEAM", parent=unit)
    lead = member_of(unit, role="lead", username="the-lead")
    ProjectFactory(name="Ours", business_unit=unit)
    ProjectFactory(name="Team's", business_unit=team)
    ProjectFactory(name="Theirs", business_unit=other_unit)
    client.force_login(lead)

    response = client.get("/projects/ours/")

    assert response.status_code == 200
    assert names(response) == ["Ours", "Team's"]
    assert names(client.get("/projects/ours/", {"unit": str(team.pk)})) == ["Team's"]
    assert names(client.get("/projects/ours/", {"unit": str(other_unit.pk)})) == []
    html = response.content.decode()
    assert "Theirs" not in html
    assert f'<option value="{other_unit.pk}"' not in html
    assert 'data-kind="stage"' in html and 'data-kind="review"' in html
    assert 'data-kind="tier"' in html


def test_our_projects_for_a_user_without_units(client: Client, reviewer):
    client.force_login(reviewer)
    response = client.get("/projects/ours/")
    assert response.status_code == 200
    assert "You are not a member of any business unit" in response.content.decode()


def test_our_projects_points_to_goal_suggestions_awaiting_a_decision(
    client: Client, unit, other_unit
):
    lead = member_of(unit, role="lead", username="the-lead")
    suggested = ProjectFactory(name="Suggested", business_unit=unit)
    confirmed = ProjectFactory(name="Confirmed", business_unit=unit)
    ProjectFactory(name="Nothing", business_unit=unit)
    GoalAlignmentFactory(project=suggested, status="suggested")
    GoalAlignmentFactory(project=confirmed, status="confirmed")
    GoalAlignmentFactory(project=ProjectFactory(business_unit=other_unit), status="suggested")
    client.force_login(lead)

    html = client.get("/projects/ours/").content.decode()
    assert "1 of your units' projects has a strategic goal suggested by the metrics" in html
    assert 'href="/projects/ours/?alignment=suggested"' in html
    # and so does the home page
    home = client.get("/").content.decode()
    assert "1 of your units' projects has a strategic goal suggested by the metrics" in home

    # the filter (also on the registry and the API) lists them, and the others
    assert names(client.get("/projects/ours/", {"alignment": "suggested"})) == ["Suggested"]
    assert names(client.get("/projects/ours/", {"alignment": "confirmed"})) == ["Confirmed"]
    assert names(client.get("/projects/ours/", {"alignment": "none"})) == ["Nothing", "Suggested"]
    filtered = client.get("/projects/ours/", {"alignment": "suggested"}).content.decode()
    assert "has a strategic goal suggested" not in filtered  # already showing them
