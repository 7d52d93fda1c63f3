"""Pure portfolio metrics: no Django, no database, deterministic, frozen dataclasses in and out.

Inputs (`facts.py`), built by `governance.selectors` in a handful of queries:

* `ProjectFacts(id, name, unit_id, scope_unit_id, problem, benefits, outputs, capabilities,
  tools, vendors, techniques, topic, stage, annual_cost, involves_pii, data_description,
  goal_ids, owner_id)`: one project. `tools` are catalogue names, `goal_ids` the *confirmed*
  alignments, `annual_cost` None when unknown, `stage` one of `Project.Stage`.
* `UnitFacts(id, code, name, parent_id)`; `scope_units(units) -> {unit_id: scope_unit_id}`
  gives the unit at which overlap "across business units" is counted: the root of each unit
  when there are several roots (federal agencies), the root's child (a division) when there is
  one organisation root. Put the result in `ProjectFacts.scope_unit_id`.
* `GoalFacts(id, title, description, active)`.
* `ToolFacts(name, vendor, aliases, sanction_status)`: the tool catalogue, used to recognise
  tool names in text (merged over a small seed catalogue, `text.DEFAULT_TOOLS`) and for
  shadow-AI coverage.
* `GovernanceFacts(project_id, risk_tier, assessment_current, required_controls,
  met_controls)` and `ReviewFacts(project_id, submitted_at, due_on, decided_at)`: optional.

Outputs and functions (each module's docstring defines its numbers):

* `overlap.find_overlaps(projects, params, tools=) -> OverlapAnalysis` with
  `pairs: tuple[OverlapPair(a_id, b_id, score, grade, cross_unit, reasons, text_similarity)]`
  and `hygiene: tuple[HygieneFinding(kind, scope_unit_id, project_ids, label)]`.
* `clusters.find_clusters(analysis, params) -> tuple[Cluster(id, member_ids, scope_unit_ids,
  capability_label, combined_cost, costs_known, spend_outside_lead, consolidation_estimate,
  lead_project_id, cross_unit, cohesion, tools)]`.
* `fragmentation.fragmentation(projects, clusters) -> FragmentationReport(groups, units,
  portfolio)`; `fragmentation.inverse_herfindahl(values)`.
* `alignment.alignment(projects, goals) -> AlignmentReport`;
  `alignment.suggest_goals(projects, goals) -> tuple[GoalSuggestion(project_id, goal_id, score,
  rationale)]`.
* `coverage.coverage(projects, as_of=, governance=, reviews=, tools=) -> CoverageReport`.
* `similar.SimilarityIndex.build(projects)`, `.query(name=, problem=, benefits=, outputs=,
  tools=, capabilities=, scope_unit_id=, exclude_id=, limit=) -> list[SimilarProject(project_id,
  score, grade, reasons, same_scope)]`, `.add(projects)`, `.to_bytes()`, `.from_bytes(data)`.
* `report.compute_portfolio_metrics(projects, as_of=, goals=, tools=, governance=, reviews=)
  -> PortfolioMetrics`: all of the above from one fitted text model (the Celery task's call).

docs/metrics.md explains every definition in words with the measured quality and speed.
"""

from governance.metrics.alignment import (
    AlignmentReport,
    GoalStats,
    GoalSuggestion,
    alignment,
    suggest_goals,
)
from governance.metrics.clusters import Cluster, ClusterParams, find_clusters, lead_project
from governance.metrics.coverage import CoverageReport, coverage
from governance.metrics.facts import (
    GoalFacts,
    GovernanceFacts,
    ProjectFacts,
    ReviewFacts,
    ToolFacts,
    UnitFacts,
    scope_units,
)
from governance.metrics.fragmentation import (
    FragmentationReport,
    FragmentationScore,
    PortfolioFragmentation,
    UnitFragmentation,
    fragmentation,
    inverse_herfindahl,
)
from governance.metrics.overlap import (
    HygieneFinding,
    OverlapAnalysis,
    OverlapPair,
    OverlapParams,
    find_overlaps,
)
from governance.metrics.report import MetricsParams, PortfolioMetrics, compute_portfolio_metrics
from governance.metrics.similar import SimilarityIndex, SimilarProject

__all__ = [
    "AlignmentReport",
    "Cluster",
    "ClusterParams",
    "CoverageReport",
    "FragmentationReport",
    "FragmentationScore",
    "GoalFacts",
    "GoalStats",
    "GoalSuggestion",
    "GovernanceFacts",
    "HygieneFinding",
    "MetricsParams",
    "OverlapAnalysis",
    "OverlapPair",
    "OverlapParams",
    "PortfolioFragmentation",
    "PortfolioMetrics",
    "ProjectFacts",
    "ReviewFacts",
    "SimilarProject",
    "SimilarityIndex",
    "ToolFacts",
    "UnitFacts",
    "UnitFragmentation",
    "alignment",
    "compute_portfolio_metrics",
    "coverage",
    "find_clusters",
    "find_overlaps",
    "fragmentation",
    "inverse_herfindahl",
    "lead_project",
    "scope_units",
    "suggest_goals",
]
