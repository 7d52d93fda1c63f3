"""Fragmentation: how many separate efforts run the same capability across scope units.

A *capability group* is either an explicit capability (every project that names it) or, for
projects that name none, a cluster (`clusters.py`) of such projects. For each group:

* units: the distinct scope units running a project of the group;
* effective efforts: the inverse Herfindahl index of the units' shares, 1 / Σ s_u², where s_u
  is unit u's share of the group's projects (and, separately, of its known spend). Two units
  with one project each give 2; ten projects in one unit and one in another give 1.2;
* distinct tools: the tools named or used by the group's projects;
* spend outside the lead: the group's known spend minus the lead project's
  (`clusters.lead_project`).

Per scope unit: its projects, the groups it takes part in, those shared with other units, and
its projects in multi-unit groups. For the portfolio: the share of projects in multi-unit
clusters (and groups), and the spend outside the lead summed over multi-unit groups.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from governance.metrics.clusters import Cluster, lead_project
from governance.metrics.facts import ProjectFacts
from governance.metrics.text import slug


def inverse_herfindahl(values: Iterable[float]) -> float:
    """The effective number of contributors: (Σ v)² / Σ v², 0 when everything is 0."""
    positive = [v for v in values if v > 0]
    total = sum(positive)
    squares = sum(v * v for v in positive)
    return (total * total) / squares if squares > 0 else 0.0


@dataclass(frozen=True)
class FragmentationScore:
    """One capability group (see the module docstring)."""

    key: str
    label: str
    source: str
    project_ids: tuple[int, ...]
    scope_unit_ids: tuple[int, ...]
    units: int
    effective_efforts: float
    effective_efforts_spend: float | None
    distinct_tools: int
    tools: tuple[str, ...]
    total_spend: float | None
    spend_outside_lead: float | None
    lead_project_id: int


@dataclass(frozen=True)
class UnitFragmentation:
    scope_unit_id: int
    projects: int
    capability_groups: int
    shared_capability_groups: int
    projects_in_multi_unit_clusters: int
    share_in_multi_unit_clusters: float


@dataclass(frozen=True)
class PortfolioFragmentation:
    projects: int
    projects_in_multi_unit_clusters: int
    share_in_multi_unit_clusters: float
    projects_in_multi_unit_groups: int
    share_in_multi_unit_groups: float
    multi_unit_groups: int
    mean_effective_efforts: float | None
    spend_outside_lead: float


@dataclass(frozen=True)
class FragmentationReport:
    groups: tuple[FragmentationScore, ...]
    units: tuple[UnitFragmentation, ...]
    portfolio: PortfolioFragmentation


def _score(
    key: str,
    label: str,
    source: str,
    members: Sequence[ProjectFacts],
    tools: Mapping[int, Iterable[str]],
) -> FragmentationScore:
    by_unit: dict[int, int] = defaultdict(int)
    spend_by_unit: dict[int, float] = defaultdict(float)
    for p in members:
        by_unit[p.scope_unit_id] += 1
        if p.annual_cost is not None:
            spend_by_unit[p.scope_unit_id] += p.annual_cost
    known = [p.annual_cost for p in members if p.annual_cost is not None]
    total = float(sum(known)) if known else None
    lead = lead_project(members)
    outside = None if total is None else total - (lead.annual_cost or 0.0)
    tool_names = sorted({t for p in members for t in tools.get(p.id, p.tools)}, key=str.lower)
    return FragmentationScore(
        key=key,
        label=label,
        source=source,
        project_ids=tuple(sorted(p.id for p in members)),
        scope_unit_ids=tuple(sorted(by_unit)),
        units=len(by_unit),
        effective_efforts=round(inverse_herfindahl(by_unit.values()), 4),
        effective_efforts_spend=(
            round(inverse_herfindahl(spend_by_unit.values()), 4)
            if total is not None and total > 0
            else None
        ),
        distinct_tools=len(tool_names),
        tools=tuple(tool_names),
        total_spend=total,
        spend_outside_lead=outside,
        lead_project_id=lead.id,
    )


def fragmentation(
    projects: Iterable[ProjectFacts],
    clusters: Iterable[Cluster],
    *,
    tools: Mapping[int, Iterable[str]] | None = None,
) -> FragmentationReport:
    """Fragmentation per capability group, per scope unit and for the portfolio.

    `tools` maps project ids to the tools to count (e.g. named in the text as well); by default
    each project's explicit tools.
    """
    project_list = sorted(projects, key=lambda p: p.id)
    by_id = {p.id: p for p in project_list}
    tool_map: Mapping[int, Iterable[str]] = tools or {}
    groups: list[FragmentationScore] = []
    members_by_capability: dict[str, list[ProjectFacts]] = defaultdict(list)
    capability_label: dict[str, str] = {}
    for p in project_list:
        for capability in p.capabilities:
            key = slug(capability)
            if key:
                members_by_capability[key].append(p)
                capability_label.setdefault(key, capability.strip())
    for key in sorted(members_by_capability):
        groups.append(
            _score(
                f"capability:{key}",
                capability_label[key],
                "capability",
                members_by_capability[key],
                tool_map,
            )
        )
    cluster_list = sorted(clusters, key=lambda c: c.id)
    multi_unit_cluster_projects: set[int] = set()
    for cluster in cluster_list:
        members = [by_id[i] for i in cluster.member_ids if i in by_id]
        if cluster.cross_unit:
            multi_unit_cluster_projects.update(p.id for p in members)
        untagged = [p for p in members if not any(slug(c) for c in p.capabilities)]
        if len(untagged) >= 2:
            groups.append(
                _score(
                    f"cluster:{cluster.id}", cluster.capability_label, "cluster", untagged, tool_map
                )
            )
    groups.sort(key=lambda g: (-g.units, -len(g.project_ids), g.key))

    multi_groups = [g for g in groups if g.units >= 2]
    in_multi_groups = {pid for g in multi_groups for pid in g.project_ids}
    units: list[UnitFragmentation] = []
    projects_by_unit: dict[int, list[int]] = defaultdict(list)
    for p in project_list:
        projects_by_unit[p.scope_unit_id].append(p.id)
    involved: dict[int, int] = defaultdict(int)
    shared: dict[int, int] = defaultdict(int)
    for g in groups:
        for unit_id in g.scope_unit_ids:
            involved[unit_id] += 1
            shared[unit_id] += g.units >= 2
    for unit_id in sorted(projects_by_unit):
        ids = projects_by_unit[unit_id]
        in_clusters = sum(1 for i in ids if i in multi_unit_cluster_projects)
        units.append(
            UnitFragmentation(
                scope_unit_id=unit_id,
                projects=len(ids),
                capability_groups=involved[unit_id],
                shared_capability_groups=shared[unit_id],
                projects_in_multi_unit_clusters=in_clusters,
                share_in_multi_unit_clusters=round(in_clusters / len(ids), 4),
            )
        )
    n = len(project_list)
    in_clusters_total = len(multi_unit_cluster_projects & by_id.keys())
    in_groups_total = len(in_multi_groups)
    portfolio = PortfolioFragmentation(
        projects=n,
        projects_in_multi_unit_clusters=in_clusters_total,
        share_in_multi_unit_clusters=round(in_clusters_total / n, 4) if n else 0.0,
        projects_in_multi_unit_groups=in_groups_total,
        share_in_multi_unit_groups=round(in_groups_total / n, 4) if n else 0.0,
        multi_unit_groups=len(multi_groups),
        mean_effective_efforts=(
            round(sum(g.effective_efforts for g in multi_groups) / len(multi_groups), 4)
            if multi_groups
            else None
        ),
        spend_outside_lead=float(sum(g.spend_outside_lead or 0.0 for g in multi_groups)),
    )
    return FragmentationReport(tuple(groups), tuple(units), portfolio)
