"""Governance coverage of the portfolio, from plain facts (all optional).

* current risk assessment: projects whose `GovernanceFacts.assessment_current` is true, over
  all projects (a project without governance facts has none);
* high-tier controls: projects of tier `high` with at least one required control and every
  required control met, over the high-tier projects (None when there is none);
* reviews overdue: open reviews (not decided) whose due date is before `as_of`;
* median time to decision: the median of (decided − submitted) in days over decided reviews;
* shadow AI: projects using a tool that the catalogue does not know or has not reviewed
  (`unreviewed`), and projects using a `prohibited` tool; `restricted` tools are sanctioned
  with conditions and not counted;
* projects without an owner.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from governance.metrics.facts import GovernanceFacts, ProjectFacts, ReviewFacts, ToolFacts
from governance.metrics.text import slug


@dataclass(frozen=True)
class CoverageReport:
    projects: int
    with_current_assessment: int
    share_with_current_assessment: float
    high_tier_projects: int
    high_tier_controls_met: int
    share_high_tier_controls_met: float | None
    open_reviews: int
    overdue_reviews: int
    overdue_project_ids: tuple[int, ...]
    decided_reviews: int
    median_days_to_decision: float | None
    unsanctioned_tool_project_ids: tuple[int, ...]
    prohibited_tool_project_ids: tuple[int, ...]
    projects_without_owner: tuple[int, ...]


def coverage(
    projects: Iterable[ProjectFacts],
    *,
    as_of: date,
    governance: Iterable[GovernanceFacts] = (),
    reviews: Iterable[ReviewFacts] = (),
    tools: Iterable[ToolFacts] = (),
) -> CoverageReport:
    """Governance coverage as of a date (see the module docstring)."""
    project_list = sorted(projects, key=lambda p: p.id)
    known = {p.id for p in project_list}
    facts = {g.project_id: g for g in governance if g.project_id in known}
    n = len(project_list)
    current = sum(1 for g in facts.values() if g.assessment_current)
    high = [g for g in facts.values() if g.risk_tier == "high"]
    high_met = sum(
        1 for g in high if g.required_controls > 0 and g.met_controls >= g.required_controls
    )

    review_list = [r for r in reviews if r.project_id in known]
    open_reviews = [r for r in review_list if r.decided_at is None]
    overdue = [r for r in open_reviews if r.due_on is not None and r.due_on < as_of]
    durations = [
        (r.decided_at - r.submitted_at).total_seconds() / 86_400
        for r in review_list
        if r.decided_at is not None
    ]

    status: dict[str, str] = {}
    for tool in tools:
        for name in (tool.name, *tool.aliases):
            if slug(name):
                status.setdefault(slug(name), tool.sanction_status)
    unsanctioned: list[int] = []
    prohibited: list[int] = []
    for p in project_list:
        states = [status.get(slug(t), "unknown") for t in p.tools if slug(t)]
        if any(s in ("unknown", "unreviewed") for s in states):
            unsanctioned.append(p.id)
        if any(s == "prohibited" for s in states):
            prohibited.append(p.id)

    return CoverageReport(
        projects=n,
        with_current_assessment=current,
        share_with_current_assessment=round(current / n, 4) if n else 0.0,
        high_tier_projects=len(high),
        high_tier_controls_met=high_met,
        share_high_tier_controls_met=round(high_met / len(high), 4) if high else None,
        open_reviews=len(open_reviews),
        overdue_reviews=len(overdue),
        overdue_project_ids=tuple(sorted({r.project_id for r in overdue})),
        decided_reviews=len(durations),
        median_days_to_decision=round(statistics.median(durations), 2) if durations else None,
        unsanctioned_tool_project_ids=tuple(unsanctioned),
        prohibited_tool_project_ids=tuple(prohibited),
        projects_without_owner=tuple(p.id for p in project_list if p.owner_id is None),
    )
