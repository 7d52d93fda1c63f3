"""Dashboard pages at scale: the overlap explorer pages by cluster (filters kept), and the cached
portfolio counts of the home page, the IT overview and the registry follow every change."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from governance.models import MetricRun, OverlapCluster, OverlapPair
from portfolio import services
from portfolio.models import Project
from tests.factories import BusinessUnitFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def _run_with_clusters(unit, other_unit, n: int) -> list[OverlapCluster]:
    """`n` clusters of two projects (the first of 25), every third one across units, the
    largest saving first; each lead has one current pair with the other member."""
    run = MetricRun.objects.create(
        kind="full", status="succeeded", started_at=timezone.now(), finished_at=timezone.now()
    )
    clusters = []
    for i in range(n):
        size = 25 if i == 0 else 2
        cross = i % 3 == 0
        members = [
            ProjectFactory(
                name=f"Cluster {i:02d} project {j:02d}",
                business_unit=other_unit if cross and j == 1 else unit,
            )
            for j in range(size)
        ]
        cluster = OverlapCluster.objects.create(
            run=run,
            key=f"k{i}",
            label=f"Capability {i:02d}",
            size=size,
            unit_count=2 if cross else 1,
            cross_unit=cross,
            hygiene=not cross,
            consolidation_estimate=Decimal(100_000 - i * 100),
            lead_project=members[0],
        )
        cluster.members.set(members)
        cluster.business_units.set([unit, other_unit] if cross else [unit])
        a, b = sorted(members[:2], key=lambda p: p.pk)
        OverlapPair.objects.create(
            project_a=a, project_b=b, score=0.9, grade="duplicate", reasons=[f"pair {i:02d}"]
        )
        clusters.append(cluster)
    return clusters


def _labels(html: str) -> list[str]:
    return re.findall(r'<h3 id="cluster-\d+" class="mb-0">(Capability \d\d)</h3>', html)


def test_overlap_explorer_pages_by_cluster(client: Client, reviewer, unit, other_unit):
    _run_with_clusters(unit, other_unit, 25)
    client.force_login(reviewer)

    first = client.get("/governance/overlaps/")
    html = first.content.decode()
    assert _labels(html) == [f"Capability {i:02d}" for i in range(10)]
    assert "25 clusters, largest estimated saving first, then those spanning" in html
    assert "Showing 1–10 of 25" in html and 'href="?page=2"' in html
    # The big cluster lists its lead first and twenty members, then says how many are left.
    assert html.count("Cluster 00 project") == 20 + 2  # twenty members and the lead's pair
    assert "and 5 more" in html and "Suggested lead" in html
    assert "pair 00" in html and "pair 09" in html and "pair 10" not in html

    last = client.get("/governance/overlaps/?page=3").content.decode()
    assert _labels(last) == [f"Capability {i:02d}" for i in range(20, 25)]
    assert "Showing 21–25 of 25" in last
    # A page number past the end shows the last page rather than an error.
    assert _labels(client.get("/governance/overlaps/?page=99").content.decode()) == _labels(last)


def test_without_costs_clusters_spanning_more_units_come_first(
    client: Client, reviewer, unit, other_unit
):
    # given clusters whose projects have no known cost (an imported inventory)
    clusters = _run_with_clusters(unit, other_unit, 6)
    OverlapCluster.objects.update(consolidation_estimate=0, combined_cost=0, costs_known=0)
    client.force_login(reviewer)
    html = client.get("/governance/overlaps/").content.decode()
    # then those across units come first (the largest first), and no cost reads as 0
    cross = [c.label for c in clusters if c.cross_unit]
    inside = sorted((c for c in clusters if not c.cross_unit), key=lambda c: (-c.size, c.pk))
    assert _labels(html) == cross + [c.label for c in inside]
    assert "cost not known" in html and "combined cost 0" not in html


def test_overlap_explorer_filters_are_kept_in_page_links(
    client: Client, reviewer, unit, other_unit
):
    _run_with_clusters(unit, other_unit, 25)
    client.force_login(reviewer)
    html = client.get("/governance/overlaps/?kind=cross_unit").content.decode()
    assert _labels(html) == [f"Capability {i:02d}" for i in range(0, 25, 3)][:10]
    assert "9 clusters match" in html and "Showing" not in html  # one page only

    hygiene = client.get("/governance/overlaps/?kind=hygiene&unit=home").content.decode()
    assert "16 clusters match" in hygiene
    assert 'href="?kind=hygiene&amp;unit=home&amp;page=2"' in hygiene
    second = client.get("/governance/overlaps/?kind=hygiene&unit=HOME&page=2").content.decode()
    assert _labels(second) == [f"Capability {i:02d}" for i in range(25) if i % 3][10:]

    other = client.get("/governance/overlaps/?unit=OTHER").content.decode()
    assert "9 clusters match" in other
    bad = client.get("/governance/overlaps/?kind=nonsense&unit=NOPE").content.decode()
    assert "Unknown kind of cluster" in bad and "No business unit has the code “NOPE”" in bad
    assert "25 clusters" in bad


def test_overlap_explorer_query_count_does_not_grow_with_the_run(
    client: Client, reviewer, unit, other_unit, django_assert_max_num_queries
):
    _run_with_clusters(unit, other_unit, 12)
    client.force_login(reviewer)
    with django_assert_max_num_queries(15) as small:
        assert client.get("/governance/overlaps/").status_code == 200
    MetricRun.objects.all().delete()
    _run_with_clusters(BusinessUnitFactory(), BusinessUnitFactory(), 40)
    with django_assert_max_num_queries(15) as large:
        assert client.get("/governance/overlaps/?page=2").status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries)


def test_reviewing_a_pair_returns_to_the_same_page_and_filters(
    client: Client, reviewer, unit, other_unit
):
    from governance import views

    if views._overlap_review_service() is None:
        pytest.skip("the metrics service is not installed")
    _run_with_clusters(unit, other_unit, 25)
    pair = OverlapPair.objects.get(reasons=["pair 21"])
    client.force_login(reviewer)
    page = client.get("/governance/overlaps/?kind=cross_unit&page=1").content.decode()
    assert 'name="back" value="kind=cross_unit&amp;page=1"' in page
    response = client.post(
        f"/governance/overlaps/pairs/{pair.pk}/review/",
        {"decision": "dismissed", "back": "kind=cross_unit&page=1&evil=1"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/governance/overlaps/?kind=cross_unit&page=1"


def _stage_count(response, key: str, stage: str) -> int:
    rows = response.context[key]["by_stage"] if key else response.context["by_stage"]
    return next(s["n"] for s in rows if s["value"] == stage)


def test_cached_counts_follow_registrations_changes_and_archiving(
    client: Client, reviewer, lead, unit
):
    ProjectFactory.create_batch(3, business_unit=unit, stage="idea")
    client.force_login(reviewer)
    home = client.get("/")
    assert home.context["total"] == 3 and _stage_count(home, "portfolio", "idea") == 3
    overview = client.get("/governance/")
    assert overview.context["coverage"]["total"] == 3
    assert client.get("/projects/").context["matched"] == 3

    # Registered through the service, as the form and the API do: seen on the next request.
    project = services.project_register(
        actor=lead, data={"name": "Fresh", "business_unit": unit, "stage": "pilot"}
    )
    home = client.get("/")
    assert home.context["total"] == 4 and _stage_count(home, "portfolio", "pilot") == 1
    assert client.get("/governance/").context["coverage"]["total"] == 4
    assert client.get("/projects/").context["matched"] == 4

    services.project_update(
        actor=lead, project=project, expected_version=project.version, data={"stage": "production"}
    )
    home = client.get("/")
    assert _stage_count(home, "portfolio", "pilot") == 0
    assert _stage_count(home, "portfolio", "production") == 1
    assert _stage_count(client.get("/governance/"), "", "production") == 1

    project.refresh_from_db()
    services.project_archive(actor=lead, project=project, expected_version=project.version)
    assert client.get("/").context["total"] == 3
    assert client.get("/projects/").context["matched"] == 3
    filtered = client.get("/projects/?stage=idea")
    assert filtered.context["matched"] == 3 and filtered.context["total"] == 3


def test_cached_counts_skip_the_group_by_until_something_changes(
    client: Client, reviewer, unit, django_assert_num_queries
):
    ProjectFactory.create_batch(2, business_unit=unit)
    client.force_login(reviewer)
    client.get("/")  # computes and caches

    def group_bys(captured) -> int:
        return sum("GROUP BY" in q["sql"] for q in captured.captured_queries)

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as cached:
        client.get("/")
    assert group_bys(cached) == 0
    ProjectFactory(business_unit=unit, stage="retired")
    with CaptureQueriesContext(connection) as fresh:
        response = client.get("/")
    assert group_bys(fresh) == 1
    assert response.context["total"] == 3


def test_members_see_their_own_counts_not_the_cached_portfolio(
    client: Client, member, unit, other_unit
):
    ProjectFactory(business_unit=unit)
    ProjectFactory(business_unit=other_unit, visibility=Project.Visibility.RESTRICTED)
    ProjectFactory(business_unit=other_unit)
    client.force_login(member)
    response = client.get("/")
    assert response.context["total"] == 2 and "portfolio" not in response.context
    assert response.context["ours"]["total"] == 1


def test_cached_tool_counts_follow_new_links_and_archiving(client: Client, reviewer, lead, unit):
    from tests.factories import ToolFactory

    tool = ToolFactory(name="Copilot Y", sanction_status="unreviewed")
    first = ProjectFactory(business_unit=unit)
    first.tools.add(tool)
    client.force_login(reviewer)

    def used_by() -> int:
        rows = client.get("/governance/tools/").context["tools"]
        return next(t["project_count"] for t in rows if t["name"] == "Copilot Y")

    assert used_by() == 1
    assert client.get("/governance/").context["coverage"]["shadow"] == 1
    ProjectFactory(business_unit=unit).tools.add(tool)
    assert used_by() == 2
    assert client.get("/governance/").context["coverage"]["shadow"] == 2
    first.refresh_from_db()
    services.project_archive(actor=lead, project=first, expected_version=first.version)
    assert used_by() == 1
    assert client.get("/governance/").context["coverage"]["shadow"] == 1
