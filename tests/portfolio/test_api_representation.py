"""The project API's JSON is built by a lean path (ProjectOutputSerializer.to_representation):
it must give exactly what DRF's declared fields give. A search matching few projects is sorted
after the match (PostgreSQL): the order and the pages must be the ones of the plain list."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework import serializers

from portfolio import selectors
from portfolio.models import Project
from portfolio.serializers import ProjectOutputSerializer
from tests.factories import CapabilityFactory, ProjectFactory, ToolFactory, UserFactory

pytestmark = pytest.mark.django_db


def _generic(project: Project) -> dict:
    """What DRF's declared fields give, field by field."""
    serializer = ProjectOutputSerializer(project)
    return dict(serializers.ModelSerializer.to_representation(serializer, project))


def test_lean_json_is_the_declared_fields_json_for_a_full_and_a_bare_project(reviewer, unit):
    owner, sponsor = UserFactory(username="owner-a"), UserFactory(username="sponsor-b")
    full = ProjectFactory(
        business_unit=unit,
        name="Letters triage — “quoted” name",
        owner=owner,
        executive_sponsor=sponsor,
        contact_email="team@example.org",
        techniques=["nlp", "classification"],
        demographic_features=["age", "income"],
        involves_pii=True,
        annual_cost=Decimal("12345.5"),
        expected_annual_benefit=Decimal("0"),
        people_affected=420,
        date_initiated=dt.date(2024, 2, 29),
        date_implemented=dt.date(2025, 1, 1),
        extra={"1_question": "Yes", "nested": {"a": [1, 2]}, "none": None},
        risk_tier=Project.RiskTier.HIGH,
        archived_at=timezone.now(),
    )
    full.tools.add(ToolFactory(name="Zeta tool"), ToolFactory(name="Alpha tool"))
    full.capabilities.add(CapabilityFactory(name="Vision", slug="vision"))
    bare = ProjectFactory(
        business_unit=unit, techniques=[], topic_area="", involves_pii=None, extra={}
    )
    for project in (full, bare):
        fetched = selectors.project_get(user=reviewer, pk=project.pk)
        lean = dict(ProjectOutputSerializer(fetched).data)
        generic = _generic(fetched)
        assert lean == generic
        assert list(lean) == list(generic)  # same key order in the JSON
        unfetched = Project.objects.get(pk=project.pk)  # relations not prefetched
        assert dict(ProjectOutputSerializer(unfetched).data) == _generic(unfetched)
        as_lists = selectors.project_get(user=reviewer, pk=project.pk, relations_as_lists=True)
        assert dict(ProjectOutputSerializer(as_lists).data) == generic


def test_list_and_detail_answer_the_lean_json(api_client, reviewer, unit):
    project = ProjectFactory(business_unit=unit, annual_cost=Decimal("10.10"))
    project.tools.add(ToolFactory())
    api_client.force_authenticate(reviewer)
    listed = api_client.get("/api/v1/projects/").json()["results"][0]
    detail = api_client.get(f"/api/v1/projects/{project.pk}/").json()
    assert listed == detail
    assert detail["annual_cost"] == "10.10"
    assert detail["business_unit"] == {"id": unit.pk, "code": unit.code, "name": unit.name}
    assert detail["created_at"].endswith("Z")


@pytest.mark.parametrize(
    "ordering", ["", "-name", "annual_cost", "-annual_cost", "-updated_at", "business_unit__name"]
)
def test_a_search_lists_its_matches_in_the_requested_order_page_by_page(
    api_client, reviewer, unit, other_unit, ordering
):
    costs = [None, Decimal(5), Decimal(5), Decimal(1), None, Decimal(9), Decimal(3)]
    for i, cost in enumerate(costs):
        ProjectFactory(
            name=f"Beaver {'gfedcba'[i]} dam",
            annual_cost=cost,
            business_unit=unit if i % 2 else other_unit,
        )
    ProjectFactory.create_batch(3, business_unit=unit, name="Otter lodge")
    api_client.force_authenticate(reviewer)
    params = {"ordering": ordering} if ordering else {}
    field = ordering.lstrip("-") or "name"

    def value(name: str):
        project = Project.objects.select_related("business_unit").get(name=name)
        return (
            project.business_unit.name
            if field == "business_unit__name"
            else getattr(project, field)
        )

    pages = []
    for page in (1, 2, 3):
        body = api_client.get(
            "/api/v1/projects/", {**params, "q": "beaver", "page_size": 3, "page": page}
        ).json()
        assert body["count"] == 7 and body["count_is_exact"] is True
        pages.extend(r["name"] for r in body["results"])
    assert sorted(pages) == sorted(f"Beaver {c} dam" for c in "gfedcba")  # each once
    plain = api_client.get("/api/v1/projects/", {**params, "page_size": 50}).json()["results"]
    listed = [r["name"] for r in plain if r["name"].startswith("Beaver")]
    # The same order as the unsearched list (ties between equal values aside).
    assert [value(n) for n in pages] == [value(n) for n in listed]


def test_a_count_that_reached_the_bound_is_remembered_for_the_freshness_bound(
    api_client, reviewer, lead, unit, settings, monkeypatch
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from portfolio import api_pagination, services

    settings.API_MAX_COUNT = 3
    settings.PORTFOLIO_COUNTS_MAX_AGE = 10
    api_pagination._capped.clear()
    now = [500.0]
    monkeypatch.setattr(api_pagination.time, "monotonic", lambda: now[0])
    projects = ProjectFactory.create_batch(5, business_unit=unit)
    api_client.force_authenticate(reviewer)

    def listed(**params: object) -> tuple[dict, int]:
        with CaptureQueriesContext(connection) as captured:
            body = api_client.get("/api/v1/projects/", {"page_size": 2, **params}).json()
        return body, sum("COUNT(" in q["sql"] for q in captured.captured_queries)

    body, counts = listed()
    assert (body["count"], body["count_is_exact"], counts) == (3, False, 1)
    body, counts = listed(page=2)  # the next page of the same list: not counted again
    assert (body["count"], body["count_is_exact"], counts) == (3, False, 0)
    assert [r["name"] for r in body["results"]] == [sorted(p.name for p in projects)[2]]

    for project in projects[:3]:
        services.project_archive(actor=lead, project=project, expected_version=project.version)
    now[0] += 11  # past the bound: counted again, now exact
    body, counts = listed()
    assert (body["count"], body["count_is_exact"], counts) == (2, True, 1)
    body, counts = listed()  # an exact count is never remembered
    assert counts == 1

    settings.PORTFOLIO_COUNTS_MAX_AGE = 0
    ProjectFactory.create_batch(3, business_unit=unit)
    assert listed()[1] == 1 and listed()[1] == 1
    api_pagination._capped.clear()
