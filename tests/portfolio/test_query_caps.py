"""SQL query caps for every endpoint of the load mix (benchmarks/loadclient.py).

Each request is made on a small portfolio and again after it has grown sevenfold (more units,
projects, tools, capabilities, goal alignments, metrics recomputed): the count must stay within
the endpoint's cap both times and must not grow with the data (no N+1). Timings are measured by
benchmarks/bench_load.py, never here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from governance import metrics_services
from portfolio.models import Project
from tests.factories import (
    BusinessUnitFactory,
    CapabilityFactory,
    GoalAlignmentFactory,
    ProjectFactory,
    ToolFactory,
)

pytestmark = pytest.mark.django_db

LIST = "/api/v1/projects/"


def grow(units: list[Any], n: int) -> list[Project]:
    """`n` projects spread over `units`, with tools, capabilities, owners and goal alignments."""
    tools = [ToolFactory() for _ in range(3)]
    capabilities = [CapabilityFactory() for _ in range(2)]
    made = []
    for i in range(n):
        project = ProjectFactory(
            business_unit=units[i % len(units)],
            name=f"Letter triage copy {i}" if i % 3 else f"Invoice reading {i}",
            visibility="restricted" if i % 5 == 0 else "organisation",
        )
        project.tools.set(tools[: i % 4])
        project.capabilities.set(capabilities[: i % 3])
        if i % 4 == 0:
            GoalAlignmentFactory(project=project)
        made.append(project)
    metrics_services.metrics_compute()
    return made


def count(call: Callable[[], Any], expected_status: int = 200) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = call()
    assert response.status_code == expected_status, getattr(response, "content", b"")[:300]
    return len(queries.captured_queries)


def small_then_large(unit, other_unit, measure: Callable[[list[Project]], int]) -> tuple[int, int]:
    small = measure(grow([unit, other_unit], 5))
    extra = [BusinessUnitFactory(parent=unit), BusinessUnitFactory(), BusinessUnitFactory()]
    large = measure(grow([unit, other_unit, *extra], 30))
    return small, large


LIST_QUERIES = [
    {},
    {"stage": "pilot"},
    {"unit": "HOME"},
    {"ordering": "-updated_at"},
    {"q": "letter"},
    {"stage": "pilot", "unit": "HOME", "ordering": "name", "page_size": 1, "page": 2},
]


@pytest.mark.parametrize("params", LIST_QUERIES, ids=lambda p: ",".join(p) or "default")
@pytest.mark.parametrize("role", ["reviewer", "member"])
def test_project_list_with_filters(request, api_client, unit, other_unit, role, params):
    api_client.force_authenticate(request.getfixturevalue(role))
    small, large = small_then_large(
        unit, other_unit, lambda _: count(lambda: api_client.get(LIST, params))
    )
    assert large <= small and large <= 11, (small, large)


@pytest.mark.parametrize("role", ["reviewer", "member"])
def test_project_detail(request, api_client, unit, other_unit, role):
    api_client.force_authenticate(request.getfixturevalue(role))

    def measure(projects: list[Project]) -> int:
        busiest = max(projects, key=lambda p: (p.tools.count(), p.capabilities.count()))
        return count(lambda: api_client.get(f"{LIST}{busiest.pk}/"))

    small, large = small_then_large(unit, other_unit, measure)
    assert large <= small and large <= 8, (small, large)


def test_similar_check(api_client, member, unit, other_unit):
    api_client.force_authenticate(member)

    def measure(_: list[Project]) -> int:
        body = {"name": "Letter triage", "problem": "Caseworkers read scanned letters"}

        def check() -> int:
            with CaptureQueriesContext(connection) as queries:
                response = api_client.post("/api/v1/projects/similar/", body, format="json")
            assert response.status_code == 200 and response.json()["results"]
            return len(queries.captured_queries)

        # The first check after a metrics run loads the new index and re-adds what changed in
        # the minute before it was built (a write may have committed after the run read it):
        # a few queries once per index and process. The checks after it are the steady state.
        first, steady = check(), check()
        assert first <= steady + 8, (first, steady)
        return steady

    small, large = small_then_large(unit, other_unit, measure)
    assert large <= small + 1 and large <= 8, (small, large)


def test_patch_with_if_match(api_client, member, unit, other_unit):
    api_client.force_authenticate(member)

    def measure(projects: list[Project]) -> int:
        own = next(p for p in reversed(projects) if p.business_unit_id == unit.pk)
        return count(
            lambda: api_client.patch(
                f"{LIST}{own.pk}/",
                {"annual_cost": 1234, "outputs": "A weekly summary."},
                format="json",
                HTTP_IF_MATCH=f'"{own.version}"',
            )
        )

    small, large = small_then_large(unit, other_unit, measure)
    # About 25 of them, constant: the version claim, the validation (each unique constraint is
    # its own query in its own savepoint: 3 statements each; check constraints are left to the
    # database, services._clean_project), the audit event, the outbox row and the fresh read.
    assert large <= small and large <= 30, (small, large)


def test_create(api_client, lead, unit, other_unit):
    api_client.force_authenticate(lead)
    tools = [ToolFactory(), ToolFactory()]

    def measure(_: list[Project]) -> int:
        body = {
            "name": f"Intake bot {Project.objects.count()}",
            "business_unit": unit.pk,
            "problem": "Too many letters.",
            "stage": "idea",
            "techniques": ["nlp"],
            "tools": [tool.pk for tool in tools],
        }
        return count(lambda: api_client.post(LIST, body, format="json"), 201)

    small, large = small_then_large(unit, other_unit, measure)
    assert large <= small and large <= 28, (small, large)  # validation: see test_patch_…


PAGES = [
    "/",
    "/projects/",
    "/projects/{id}/",
    "/governance/",
    "/governance/reviews/",
    "/governance/compliance/",
    "/governance/executive/",
    "/governance/tools/",
]


@pytest.mark.parametrize("path", PAGES)
def test_dashboard_pages(client, reviewer, unit, other_unit, path):
    client.force_login(reviewer)

    def measure(projects: list[Project]) -> int:
        return count(lambda: client.get(path.replace("{id}", str(projects[0].pk))))

    small, large = small_then_large(unit, other_unit, measure)
    assert large <= small + 1 and large <= 16, (small, large)
