"""Reads of the dashboard pages: the IT overview's coverage and the overlap explorer.

Counts over the whole portfolio come from `portfolio.selectors.portfolio_counts` (one GROUP BY,
cached under the registry's change stamp for those who see everything); what depends on reviews
and controls is counted live, each in one indexed query. The overlap explorer reads the latest
run's clusters one page at a time, with each cluster's first members and strongest pairs.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from governance import metrics_selectors, selectors
from governance.models import (
    CLUSTER_ORDERING,
    Control,
    ControlStatus,
    MetricRun,
    OverlapCluster,
    OverlapPair,
    Review,
)
from portfolio import roles
from portfolio.models import BusinessUnit, Project, Tool, ToolAdoption
from portfolio.selectors import (
    PortfolioCounts,
    cached_under_stamp,
    portfolio_counts,
    project_queryset,
)

User = AbstractBaseUser | AnonymousUser

CLUSTER_PAGE_SIZE = 10
MEMBERS_SHOWN = 20
PAIRS_SHOWN = 5
T = TypeVar("T")


# --- IT overview ---------------------------------------------------------------------------------


def _shadow_count(projects: QuerySet[Project]) -> int:
    return (
        projects.filter(
            tools__sanction_status__in=[
                Tool.SanctionStatus.PROHIBITED,
                Tool.SanctionStatus.UNREVIEWED,
            ]
        )
        .values("pk")
        .distinct()
        .count()
    )


def cached_for_everyone(name: str, user: User, compute: Callable[[], T]) -> T:
    """`compute()`, cached under the registry's stamp when the user sees every project (the
    result is then the same for all such users), with the same bounded freshness as the portfolio
    counts (`portfolio.selectors.cached_under_stamp`); computed afresh for anyone else."""
    if not roles.sees_everything(user):
        return compute()
    return cached_under_stamp(name, compute)[0]


def shadow_project_count(*, user: User) -> int:
    """Projects using a prohibited or unreviewed tool; cached under the registry's stamp (which
    moves with every tool link and every audited write, tool sanctions included)."""
    projects = project_queryset(user=user)
    return cached_for_everyone("portfolio-shadow", user, lambda: _shadow_count(projects))


def tool_project_counts(*, user: User) -> dict[int, int]:
    """Visible active projects per tool (one GROUP BY over the links), cached like the counts."""
    projects = project_queryset(user=user)

    def compute() -> dict[int, int]:
        links = Project.tools.through.objects.filter(project_id__in=projects.values("pk"))
        return dict(links.order_by().values_list("tool_id").annotate(n=Count("project_id")))

    return cached_for_everyone("portfolio-tool-counts", user, compute)


def tool_catalogue(*, user: User, limit: int = 100) -> list[dict[str, Any]]:
    """Catalogue tools with the visible projects using them and the units adopting them, most
    used first."""
    counts = tool_project_counts(user=user)
    unit_count = (
        ToolAdoption.objects.filter(tool_id=OuterRef("pk"))
        .order_by()
        .values("tool_id")
        .annotate(n=Count("business_unit_id", distinct=True))
        .values("n")
    )
    rows: list[dict[str, Any]] = [
        {**row, "project_count": counts.get(row["pk"], 0)}
        for row in Tool.objects.annotate(unit_count=Coalesce(Subquery(unit_count), 0)).values(
            "pk", "name", "vendor", "sanction_status", "unit_count"
        )
    ]
    rows.sort(key=lambda r: (-r["project_count"], r["name"]))
    return rows[:limit]


def high_tier_all_met(projects: QuerySet[Project]) -> tuple[int, int]:
    """(high-tier projects, of which every applicable control is met or justified N/A), in two
    queries: the catalogue, then one aggregate over the high-tier projects."""
    rules = list(Control.objects.values_list("pk", "applies_to_tiers", "high_impact_only"))
    plain = [pk for pk, tiers, hi_only in rules if "high" in (tiers or []) and not hi_only]
    every = [pk for pk, tiers, _ in rules if "high" in (tiers or [])]
    high = projects.filter(risk_tier=Project.RiskTier.HIGH).annotate(
        hi=selectors.high_impact_expression(),
        sat=Count(
            "control_statuses",
            filter=Q(control_statuses__control_id__in=every)
            & (
                Q(control_statuses__status=ControlStatus.Status.MET)
                | (
                    Q(control_statuses__status=ControlStatus.Status.NOT_APPLICABLE)
                    & ~Q(control_statuses__justification="")
                )
            ),
        ),
    )
    total = met = 0
    for hi, sat in high.order_by().values_list("hi", "sat"):
        total += 1
        needed = len(every) if hi else len(plain)
        if needed and sat >= needed:
            met += 1
    return total, met


@dataclass(frozen=True)
class Overview:
    counts: PortfolioCounts
    coverage: dict[str, Any]


def projects_per_top_unit(*, counts: PortfolioCounts) -> list[tuple[str, int]]:
    """The portfolio counts per top-level unit (an agency with its bureaus; with one
    organisation root, each division with its teams), most projects first. One query: the unit
    tree (a few hundred rows), not the projects, which the cached counts already summed."""
    tree, scope = metrics_selectors.unit_facts()
    names = {u.id: u.name for u in tree}
    per_top: dict[str, int] = defaultdict(int)
    for unit in counts.units:
        per_top[names.get(scope.get(unit.pk, unit.pk), unit.name)] += unit.n
    return sorted(per_top.items(), key=lambda kv: (-kv[1], kv[0]))


def it_overview(*, user: User, today: dt.date) -> Overview:
    """The IT overview's figures: portfolio counts, overdue reviews, high-tier controls and
    shadow AI."""
    projects = project_queryset(user=user)
    counts = portfolio_counts(user=user)
    overdue = Review.objects.filter(
        status__in=Review.OPEN, due_date__lt=today, project_id__in=projects.values("pk")
    ).count()
    high_total, high_met = high_tier_all_met(projects)
    total = counts.total
    coverage = {
        "total": total,
        "assessed": counts.assessed,
        "assessed_share": counts.assessed / total if total else None,
        "no_owner": counts.no_owner,
        "overdue": overdue,
        "shadow": shadow_project_count(user=user),
        "high_total": high_total,
        "high_met": high_met,
        "high_share": high_met / high_total if high_total else None,
        "as_of": counts.as_of,  # None when the counts are of the registry's latest state
    }
    return Overview(counts=counts, coverage=coverage)


def latest_cluster_run() -> MetricRun | None:
    """The newest succeeded metrics run that stored clusters."""
    with_clusters = Exists(OverlapCluster.objects.filter(run_id=OuterRef("pk")))
    return (
        MetricRun.objects.filter(with_clusters, status=MetricRun.Status.SUCCEEDED)
        .order_by("-started_at", "-id")
        .first()
    )


# --- Overlap explorer ----------------------------------------------------------------------------


class ClusterKind:
    """The explorer's `kind` filter."""

    ALL = ""
    CROSS_UNIT = "cross_unit"
    HYGIENE = "hygiene"
    CHOICES = (
        (ALL, "All clusters"),
        (CROSS_UNIT, "Across business units"),
        (HYGIENE, "Duplicates inside one unit"),
    )


@dataclass(frozen=True)
class Member:
    pk: int
    name: str
    unit: str
    is_lead: bool


@dataclass(frozen=True)
class ClusterEntry:
    cluster: OverlapCluster
    members: list[Member] = field(default_factory=list)
    units: list[str] = field(default_factory=list)
    pairs: list[OverlapPair] = field(default_factory=list)

    @property
    def more(self) -> int:
        """Members not listed (beyond the first MEMBERS_SHOWN, or not visible to the user)."""
        return max(self.cluster.size - len(self.members), 0)


@dataclass(frozen=True)
class OverlapExplorer:
    run: MetricRun | None
    page: Page[OverlapCluster] | None
    clusters: list[ClusterEntry]
    total_clusters: int
    # Fragmentation of the clusters on this page: projects per (unit, cluster label).
    fragmentation: dict[tuple[str, str], int]


def _clusters(run: MetricRun, kind: str, unit: BusinessUnit | None) -> QuerySet[OverlapCluster]:
    clusters = OverlapCluster.objects.filter(run=run)
    if kind == ClusterKind.CROSS_UNIT:
        clusters = clusters.filter(cross_unit=True)
    elif kind == ClusterKind.HYGIENE:
        clusters = clusters.filter(hygiene=True)
    if unit is not None:
        clusters = clusters.filter(business_units=unit)
    return clusters.order_by(*CLUSTER_ORDERING)


def _visible_ids(user: User) -> list[int]:
    return list(project_queryset(user=user, include_archived=True).values_list("pk", flat=True))


# Pairs of each cluster's lead with another member of the same cluster, strongest first.
_LEAD_PAIRS_SQL = """
SELECT p.id, c.id
FROM governance_overlapcluster c
JOIN governance_overlappair p
  ON (p.project_a_id = c.lead_project_id OR p.project_b_id = c.lead_project_id)
WHERE c.id IN ({ids}) AND p.current
  AND EXISTS (
    SELECT 1 FROM governance_overlapcluster_members m
    WHERE m.overlapcluster_id = c.id
      AND m.project_id = CASE WHEN p.project_a_id = c.lead_project_id
                              THEN p.project_b_id ELSE p.project_a_id END)
ORDER BY c.id, p.score DESC, p.id
"""


def _lead_pair_ids(cluster_ids: list[int]) -> list[tuple[int, int]]:
    """(pair id, cluster id) of the clusters' lead pairs, strongest first within a cluster."""
    if not cluster_ids:
        return []
    sql = _LEAD_PAIRS_SQL.format(ids=", ".join(["%s"] * len(cluster_ids)))
    with connection.cursor() as cursor:
        cursor.execute(sql, cluster_ids)
        return [(int(pk), int(cid)) for pk, cid in cursor.fetchall()]


def overlap_explorer(
    *, user: User, page_number: Any, kind: str = "", unit: BusinessUnit | None = None
) -> OverlapExplorer:
    """One page of the latest run's clusters (largest saving first) with, for each, its lead and
    first members by name (those visible to the user), its units, and its lead's strongest current
    pairs inside the cluster; five queries whatever the run's size."""
    run = latest_cluster_run()
    if run is None:
        return OverlapExplorer(None, None, [], 0, {})
    paginator = Paginator(_clusters(run, kind, unit), CLUSTER_PAGE_SIZE)
    page = paginator.get_page(page_number)
    entries = {c.pk: ClusterEntry(cluster=c) for c in page.object_list}
    if not entries:
        return OverlapExplorer(run, page, [], paginator.count, {})
    sees_everything = roles.sees_everything(user)
    visible = set() if sees_everything else set(_visible_ids(user))
    # Every member of the page's clusters with its unit, in one query (index-ordered by cluster):
    # each cluster lists its lead, then its first members by name; the units and the
    # fragmentation count every member.
    fragmentation: dict[tuple[str, str], int] = defaultdict(int)
    found: dict[int, list[tuple[bool, str, int, str, str]]] = defaultdict(list)
    units: dict[int, set[str]] = defaultdict(set)
    rows = OverlapCluster.members.through.objects.filter(overlapcluster_id__in=entries)
    for cluster_id, pk, name, unit_name in rows.values_list(
        "overlapcluster_id", "project_id", "project__name", "project__business_unit__name"
    ):
        label = entries[cluster_id].cluster.label
        fragmentation[(unit_name, label)] += 1
        units[cluster_id].add(unit_name)
        if sees_everything or pk in visible:
            lead = pk == entries[cluster_id].cluster.lead_project_id
            found[cluster_id].append((not lead, name.casefold(), pk, name, unit_name))
    for cluster_id, entry in entries.items():
        entry.units.extend(sorted(units[cluster_id]))
        first = heapq.nsmallest(MEMBERS_SHOWN, found[cluster_id])
        entry.members.extend(
            Member(pk, name, unit_name, not not_lead) for not_lead, _, pk, name, unit_name in first
        )
    # The strongest current pairs of each cluster's suggested lead with the cluster's other
    # members: index look-ups from the (few) leads, whatever the size of the clusters.
    ranked_pairs = _lead_pair_ids(list(entries))
    pairs = {
        p.pk: p
        for p in OverlapPair.objects.filter(pk__in=[pk for pk, _ in ranked_pairs])
        .select_related("project_a__business_unit", "project_b__business_unit")
        .only(
            "id",
            "score",
            "grade",
            "cross_unit",
            "reasons",
            "review_status",
            "project_a__id",
            "project_a__name",
            "project_a__business_unit__name",
            "project_b__id",
            "project_b__name",
            "project_b__business_unit__name",
        )
    }
    for pk, cluster_id in ranked_pairs:
        pair = pairs[pk]
        entry = entries[cluster_id]
        shown = sees_everything or {pair.project_a_id, pair.project_b_id} <= visible
        if shown and len(entry.pairs) < PAIRS_SHOWN:
            entry.pairs.append(pair)
    return OverlapExplorer(
        run=run,
        page=page,
        clusters=list(entries.values()),
        total_clusters=paginator.count,
        fragmentation=dict(fragmentation),
    )
