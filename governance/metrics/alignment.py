"""Alignment of projects with strategic goals, and goal suggestions.

Alignment counts only *confirmed* alignments (`ProjectFacts.goal_ids`):

* share of projects aligned to at least one goal (of all projects), and share of the known
  spend they carry (of all known spend; None when no spend is known);
* per goal: its projects, their known spend (None when none is known) and stage mix;
* goals with no project, projects with no goal.

Suggestions: for each project, the active goals whose title and description match its text.
Both are TF-IDF vectors (`text.py`) with the vocabulary and idf of the projects, the goal's
title weighted twice as its description like a project's name, and without the words of
strategy documents ("goal", "objective", "strategic", …); a goal is suggested when the
cosine is ≥ `threshold` (0.1), at most `limit` (3) per project, best first, never a goal the
project is already aligned to. The rationale names the shared terms.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from governance.metrics.facts import STAGE_ORDER, GoalFacts, ProjectFacts
from governance.metrics.text import (
    DEFAULT_LEXICON,
    Document,
    Lexicon,
    TextModel,
    TextParams,
    l2_normalise,
)


@dataclass(frozen=True)
class GoalStats:
    goal_id: int
    title: str
    active: bool
    project_ids: tuple[int, ...]
    spend: float | None
    stage_mix: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class AlignmentReport:
    projects: int
    aligned_projects: int
    share_projects_aligned: float
    known_spend: float
    aligned_spend: float
    share_spend_aligned: float | None
    goals: tuple[GoalStats, ...]
    goals_without_projects: tuple[int, ...]
    projects_without_goal: tuple[int, ...]


def alignment(projects: Iterable[ProjectFacts], goals: Iterable[GoalFacts]) -> AlignmentReport:
    """Alignment shares, per-goal figures and the gaps (see the module docstring)."""
    project_list = sorted(projects, key=lambda p: p.id)
    goal_list = sorted(goals, key=lambda g: g.id)
    known_goals = {g.id for g in goal_list}
    members: dict[int, list[ProjectFacts]] = defaultdict(list)
    aligned: list[ProjectFacts] = []
    unaligned: list[int] = []
    for p in project_list:
        goal_ids = sorted(set(p.goal_ids) & known_goals)
        for goal_id in goal_ids:
            members[goal_id].append(p)
        if goal_ids:
            aligned.append(p)
        else:
            unaligned.append(p.id)
    known_spend = float(sum(p.annual_cost for p in project_list if p.annual_cost is not None))
    aligned_spend = float(sum(p.annual_cost for p in aligned if p.annual_cost is not None))
    stats = []
    for goal in goal_list:
        goal_projects = members.get(goal.id, [])
        costs = [p.annual_cost for p in goal_projects if p.annual_cost is not None]
        stages = Counter(p.stage or "" for p in goal_projects)
        stats.append(
            GoalStats(
                goal_id=goal.id,
                title=goal.title,
                active=goal.active,
                project_ids=tuple(p.id for p in goal_projects),
                spend=float(sum(costs)) if costs else None,
                stage_mix=tuple(
                    sorted(stages.items(), key=lambda item: (-STAGE_ORDER.get(item[0], 0), item[0]))
                ),
            )
        )
    n = len(project_list)
    return AlignmentReport(
        projects=n,
        aligned_projects=len(aligned),
        share_projects_aligned=round(len(aligned) / n, 4) if n else 0.0,
        known_spend=known_spend,
        aligned_spend=aligned_spend,
        share_spend_aligned=round(aligned_spend / known_spend, 4) if known_spend > 0 else None,
        goals=tuple(stats),
        goals_without_projects=tuple(s.goal_id for s in stats if not s.project_ids),
        projects_without_goal=tuple(unaligned),
    )


# Words of strategy documents ("Goal 2: …", "Strategic objective") that say nothing about what a
# goal is for; left out of the goals' vectors so that "the goal of this project" matches nothing.
PLANNING_WORDS = ("goal", "goals", "objective", "objectives", "strategic", "priority", "example")


def _without_planning_words(matrix: sp.csr_matrix, model: TextModel) -> sp.csr_matrix:
    keep = np.ones(len(model.terms), dtype=np.float32)
    for word in PLANNING_WORDS:
        for term in model.analyzer.terms(word):
            column = model.index.get(term)
            if column is not None:
                keep[column] = 0.0
    return l2_normalise(sp.csr_matrix(matrix @ sp.diags(keep)))


@dataclass(frozen=True)
class SuggestionParams:
    threshold: float = 0.1
    limit: int = 3
    text: TextParams = field(default_factory=lambda: TextParams(name_weight=2.0))


@dataclass(frozen=True)
class GoalSuggestion:
    project_id: int
    goal_id: int
    score: float
    rationale: str


def suggest_goals(
    projects: Iterable[ProjectFacts],
    goals: Iterable[GoalFacts],
    params: SuggestionParams | None = None,
    lexicon: Lexicon = DEFAULT_LEXICON,
    *,
    text: tuple[TextModel, sp.csr_matrix] | None = None,
) -> tuple[GoalSuggestion, ...]:
    """Suggested goals per project, ordered by project id then score (see the docstring).

    `text` reuses a text model already fitted on these projects (sorted by id) and their rows.
    """
    params = params or SuggestionParams()
    project_list = sorted(projects, key=lambda p: p.id)
    goal_list = sorted((g for g in goals if g.active), key=lambda g: g.id)
    if not project_list or not goal_list:
        return ()
    if text is None:
        fitted = TextModel.fit([Document.of(p) for p in project_list], params.text, lexicon)
        model, project_matrix = fitted.model, fitted.matrix
    else:
        model, project_matrix = text
    goal_matrix, _ = model.transform(
        [Document(name=g.title, problem=g.description) for g in goal_list]
    )
    goal_matrix = _without_planning_words(goal_matrix, model)
    scores = np.asarray((project_matrix @ goal_matrix.T).toarray(), dtype=np.float64)
    goal_weights = [
        dict(zip(goal_matrix[j].indices.tolist(), goal_matrix[j].data.tolist(), strict=True))
        for j in range(len(goal_list))
    ]
    goal_ids = np.asarray([g.id for g in goal_list])
    out: list[GoalSuggestion] = []
    candidates = np.argwhere(scores >= params.threshold)
    by_project: dict[int, list[int]] = defaultdict(list)
    for i, j in candidates.tolist():
        by_project[i].append(j)
    for i in sorted(by_project):
        project = project_list[i]
        already = set(project.goal_ids)
        row = scores[i]
        order = sorted(by_project[i], key=lambda j: (-row[j], goal_ids[j]))
        picked = [j for j in order if goal_list[j].id not in already][: params.limit]
        if not picked:
            continue
        vector = project_matrix[i]
        weights = dict(zip(vector.indices.tolist(), vector.data.tolist(), strict=True))
        for j in picked:
            shared = sorted(
                (c for c in goal_weights[j] if c in weights),
                key=lambda c: (-weights[c] * goal_weights[j][c], model.terms[c]),
            )[:4]
            words = ", ".join(model.analyzer.display(model.terms[c]) for c in shared)
            out.append(
                GoalSuggestion(
                    project_id=project.id,
                    goal_id=goal_list[j].id,
                    score=round(float(row[j]), 4),
                    rationale=f"shared terms: {words}" if words else "similar wording",
                )
            )
    return tuple(out)
