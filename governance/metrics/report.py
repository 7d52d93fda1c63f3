"""One call for the nightly metrics run: overlap, clusters, fragmentation, alignment, coverage."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from governance.metrics.alignment import (
    AlignmentReport,
    GoalSuggestion,
    SuggestionParams,
    alignment,
    suggest_goals,
)
from governance.metrics.clusters import Cluster, ClusterParams, find_clusters
from governance.metrics.coverage import CoverageReport, coverage
from governance.metrics.facts import (
    GoalFacts,
    GovernanceFacts,
    ProjectFacts,
    ReviewFacts,
    ToolFacts,
)
from governance.metrics.fragmentation import FragmentationReport, fragmentation
from governance.metrics.overlap import (
    HygieneFinding,
    OverlapPair,
    OverlapParams,
    ProjectProfiles,
    find_overlaps,
)
from governance.metrics.text import Lexicon


@dataclass(frozen=True)
class MetricsParams:
    overlap: OverlapParams = field(default_factory=OverlapParams)
    clusters: ClusterParams = field(default_factory=ClusterParams)
    suggestions: SuggestionParams = field(default_factory=SuggestionParams)


@dataclass(frozen=True)
class PortfolioMetrics:
    pairs: tuple[OverlapPair, ...]
    hygiene: tuple[HygieneFinding, ...]
    clusters: tuple[Cluster, ...]
    fragmentation: FragmentationReport
    alignment: AlignmentReport
    goal_suggestions: tuple[GoalSuggestion, ...]
    coverage: CoverageReport


def compute_portfolio_metrics(
    projects: Iterable[ProjectFacts],
    *,
    as_of: date,
    goals: Iterable[GoalFacts] = (),
    tools: Iterable[ToolFacts] = (),
    governance: Iterable[GovernanceFacts] = (),
    reviews: Iterable[ReviewFacts] = (),
    params: MetricsParams | None = None,
) -> PortfolioMetrics:
    """Every portfolio-wide metric from one set of facts (the text model is fitted once)."""
    params = params or MetricsParams()
    project_list = sorted(projects, key=lambda p: p.id)
    goal_list = list(goals)
    tool_list = list(tools)
    lexicon = Lexicon.with_catalogue(tool_list)
    profiles = ProjectProfiles(project_list, params.overlap, lexicon)
    overlaps = find_overlaps(profiles)
    clusters = find_clusters(overlaps, params.clusters)
    tools_by_project = {
        p.id: sorted(profiles.tool_names[i]) for i, p in enumerate(profiles.projects)
    }
    return PortfolioMetrics(
        pairs=overlaps.pairs,
        hygiene=overlaps.hygiene,
        clusters=clusters,
        fragmentation=fragmentation(project_list, clusters, tools=tools_by_project),
        alignment=alignment(project_list, goal_list),
        goal_suggestions=suggest_goals(
            project_list,
            goal_list,
            params.suggestions,
            lexicon,
            text=(profiles.text_model, profiles.text),
        ),
        coverage=coverage(
            project_list, as_of=as_of, governance=governance, reviews=reviews, tools=tool_list
        ),
    )
