"""Clusters of overlapping projects, without chaining unrelated projects together.

The rule:

1. Candidate pairs (the nearest neighbours of every project, `overlap.py`) with an overlap score
   ≥ `threshold` whose text cosine is ≥ `link_text` (0.25, the "overlapping" level) or that
   share a capability are edges; their connected groups are the places where clusters can
   form. Complementary pairs (the same tool for another purpose) do not link projects, though
   their scores count in the averages below.
   A group larger than `max_component` is first split by raising its edge threshold by
   `split_step` until every part is small enough.
2. Inside a group, average-linkage agglomerative clustering (UPGMA) on the exact pairwise overlap
   scores: two clusters merge only while the *average* score over all their cross pairs is
   ≥ `threshold`, and never when any cross pair scores < `cannot_link` ("unrelated"). So a chain
   A ~ B ~ C with A and C unrelated never becomes one cluster, which single linkage would do.
3. Clusters have two or more members.

For each cluster:

* lead project: the most advanced stage (production > pilot > development > retired > idea),
  then the highest known annual cost, then the most complete description (filled text fields,
  then length), then the smallest id;
* combined cost: the sum of the known annual costs (`costs_known` says how many are known);
* spend outside the lead: combined cost minus the lead's cost (all of it when the lead's is
  unknown);
* consolidation estimate: `consolidation_factor` (0.3) × spend outside the lead: the share of
  the other projects' spend that moving onto the lead's solution would typically save
  (licences, hosting, maintenance); a planning figure, not a forecast;
* capability label: a capability named by at least half of the members, else the tools used by
  at least half, completed by the strongest terms that at least half of the members share;
* cross_unit: members in two or more scope units. A cluster inside one scope unit is registry
  hygiene (`hygiene`), not fragmentation;
* reasons: its size and units, the tools most members use, its average overlap score.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.sparse.csgraph import connected_components

from governance.metrics.facts import STAGE_ORDER, ProjectFacts
from governance.metrics.overlap import (
    OverlapAnalysis,
    OverlapParams,
    ProjectProfiles,
    find_overlaps,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ClusterParams:
    threshold: float = 0.2
    cannot_link: float = 0.1
    link_text: float = 0.25
    max_component: int = 2500
    split_step: float = 0.05
    consolidation_factor: float = 0.3
    # Groups up to this size are scored pair by pair, this many groups at a time.
    small_group: int = 200
    batch_groups: int = 2000


@dataclass(frozen=True)
class Cluster:
    """A group of overlapping projects (see the module docstring for every field's rule)."""

    id: str
    member_ids: tuple[int, ...]
    scope_unit_ids: tuple[int, ...]
    capability_label: str
    combined_cost: float | None
    costs_known: int
    spend_outside_lead: float | None
    consolidation_estimate: float | None
    lead_project_id: int
    cross_unit: bool
    cohesion: float
    tools: tuple[str, ...] = field(default=())
    reasons: tuple[str, ...] = field(default=())

    @property
    def hygiene(self) -> bool:
        """All members in one scope unit: registry hygiene rather than fragmentation."""
        return not self.cross_unit

    @property
    def size(self) -> int:
        return len(self.member_ids)


def lead_project(projects: Iterable[ProjectFacts]) -> ProjectFacts:
    """The project a cluster would consolidate onto (rule in the module docstring)."""

    def key(p: ProjectFacts) -> tuple[int, float, int, int, int]:
        texts = (p.problem, p.benefits, p.outputs)
        return (
            STAGE_ORDER.get(p.stage, 0),
            p.annual_cost if p.annual_cost is not None else -1.0,
            sum(1 for t in texts if t.strip()),
            sum(len(t) for t in texts),
            -p.id,
        )

    return max(projects, key=key)


def find_clusters(
    overlaps: OverlapAnalysis | Iterable[ProjectFacts],
    params: ClusterParams | None = None,
    overlap_params: OverlapParams | None = None,
) -> tuple[Cluster, ...]:
    """Clusters of a portfolio, ordered by size (largest first), then id."""
    params = params or ClusterParams()
    analysis = (
        overlaps
        if isinstance(overlaps, OverlapAnalysis)
        else find_overlaps(overlaps, overlap_params)
    )
    profiles = analysis.profiles
    # A pair links projects when its text, or a shared capability, makes it similar: sharing a
    # tool with a different text (a complementary pair) does not.
    edges = (analysis.candidate_scores >= params.threshold) & (
        (analysis.candidate_text >= params.link_text) | (analysis.candidate_capability > 0)
    )
    groups = _components(
        len(profiles),
        analysis.candidate_rows[edges],
        analysis.candidate_cols[edges],
        analysis.candidate_scores[edges],
        params,
    )
    member_rows: list[tuple[IntArray, FloatArray]] = []
    for group, scores in _group_scores(profiles, groups, params):
        for local in _average_linkage(scores, params):
            member_rows.append((group[local], scores[np.ix_(local, local)]))
    clusters = [_cluster(profiles, rows, sub, params) for rows, sub in member_rows]
    clusters.sort(key=lambda c: (-c.size, c.member_ids[0]))
    return tuple(clusters)


def _components(
    n: int, rows: IntArray, cols: IntArray, scores: FloatArray, params: ClusterParams
) -> list[IntArray]:
    """Connected groups of the edges, large ones split at higher thresholds (sorted rows)."""
    out: list[IntArray] = []
    pending: list[tuple[IntArray, IntArray, FloatArray, float]] = [
        (rows, cols, scores, params.threshold)
    ]
    while pending:
        r, c, s, threshold = pending.pop()
        keep = s >= threshold
        r, c, s = r[keep], c[keep], s[keep]
        if r.size == 0:
            continue
        graph = sp.coo_matrix((np.ones(r.size), (r, c)), shape=(n, n)).tocsr()
        _, labels = connected_components(graph, directed=False)
        sizes = np.bincount(labels, minlength=labels.max() + 1)
        big = sizes > params.max_component
        for label in np.flatnonzero((sizes >= 2) & ~big):
            out.append(np.flatnonzero(labels == label).astype(np.int64))
        if big.any():
            inside = big[labels[r]]
            pending.append((r[inside], c[inside], s[inside], threshold + params.split_step))
    out.sort(key=lambda g: int(g[0]))
    return out


def _group_scores(
    profiles: ProjectProfiles, groups: list[IntArray], params: ClusterParams
) -> Iterable[tuple[IntArray, FloatArray]]:
    """Each group with the dense matrix of its pairwise overlap scores.

    Small groups are scored together, pair by pair in one vectorised batch; a large group gets
    its own dense block.
    """
    small = [g for g in groups if len(g) <= params.small_group]
    for start in range(0, len(small), params.batch_groups):
        batch = small[start : start + params.batch_groups]
        uppers = [np.triu_indices(len(g), 1) for g in batch]
        rows = np.concatenate([g[u[0]] for g, u in zip(batch, uppers, strict=True)])
        cols = np.concatenate([g[u[1]] for g, u in zip(batch, uppers, strict=True)])
        scores = profiles.evidence(rows, cols).score
        offset = 0
        for group, upper in zip(batch, uppers, strict=True):
            count = len(upper[0])
            matrix = np.eye(len(group))
            matrix[upper] = scores[offset : offset + count]
            matrix.T[upper] = scores[offset : offset + count]
            offset += count
            yield group, matrix
    for group in groups:
        if len(group) > params.small_group:
            yield group, profiles.score_matrix(group)


def _average_linkage(scores: FloatArray, params: ClusterParams) -> list[IntArray]:
    """UPGMA with a cannot-link floor; local index arrays of the clusters with ≥ 2 members."""
    m = scores.shape[0]
    if m == 2:
        if scores[0, 1] >= params.threshold:
            return [np.array([0, 1], dtype=np.int64)]
        return []
    distance = 1.0 - np.clip(scores, 0.0, 1.0)
    # Any merge containing an unrelated pair averages above 1: it can never be cut below 1 − t.
    distance[scores < params.cannot_link] = float(m * m + 1)
    np.fill_diagonal(distance, 0.0)
    upper = np.triu_indices(m, 1)
    tree = linkage(distance[upper], method="average")
    labels = fcluster(tree, t=1.0 - params.threshold + 1e-9, criterion="distance")
    out = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label).astype(np.int64)
        if members.size >= 2:
            out.append(members)
    return out


def _cluster(
    profiles: ProjectProfiles, rows: IntArray, scores: FloatArray, params: ClusterParams
) -> Cluster:
    members = [profiles.projects[int(r)] for r in rows]
    ids = tuple(p.id for p in members)
    scopes = tuple(sorted({p.scope_unit_id for p in members}))
    lead = lead_project(members)
    costs = [p.annual_cost for p in members if p.annual_cost is not None]
    combined = float(sum(costs)) if costs else None
    outside: float | None = None
    if combined is not None:
        outside = combined - (lead.annual_cost or 0.0)
    upper = np.triu_indices(len(rows), 1)
    tools = Counter(t for r in rows for t in profiles.tool_names[int(r)])
    label = _label(profiles, rows, tools)
    half = max(2, math.ceil(len(rows) / 2))
    reasons = [f"{len(ids)} projects in {len(scopes)} scope units"]
    common_tools = sorted((t for t, c in tools.items() if c >= half), key=str.lower)
    if common_tools:
        reasons.append("most use " + ", ".join(common_tools))
    reasons.append(f"average overlap score {float(scores[upper].mean()):.2f}")
    return Cluster(
        id=f"C{min(ids)}",
        member_ids=ids,
        scope_unit_ids=scopes,
        capability_label=label,
        combined_cost=combined,
        costs_known=len(costs),
        spend_outside_lead=outside,
        consolidation_estimate=(
            round(outside * params.consolidation_factor, 2) if outside is not None else None
        ),
        lead_project_id=lead.id,
        cross_unit=len(scopes) >= 2,
        cohesion=round(float(scores[upper].mean()), 4),
        tools=tuple(sorted(tools, key=str.lower)),
        reasons=tuple(reasons),
    )


def _label(profiles: ProjectProfiles, rows: IntArray, tools: Counter[str]) -> str:
    size = len(rows)
    half = max(2, math.ceil(size / 2))
    capabilities: Counter[str] = Counter()
    names: dict[str, str] = {}
    for r in rows:
        for key, name in profiles.capability_names[int(r)].items():
            capabilities[key] += 1
            names.setdefault(key, name)
    common = [k for k, c in capabilities.items() if c >= half]
    if common:
        best = min(common, key=lambda k: (-capabilities[k], k))
        return names[best]
    parts = sorted((t for t, c in tools.items() if c >= half), key=lambda t: (-tools[t], t))[:2]
    parts += _shared_terms(profiles, rows, half, 3 - len(parts))
    if not parts:
        parts = _shared_terms(profiles, rows, 2, 3)
    return ", ".join(parts) if parts else profiles.projects[int(rows[0])].name


def _shared_terms(
    profiles: ProjectProfiles, rows: IntArray, at_least: int, limit: int
) -> list[str]:
    if limit <= 0:
        return []
    text = profiles.text[rows]
    counts = np.bincount(text.indices, minlength=text.shape[1])
    weights = np.asarray(text.sum(axis=0), dtype=np.float64).ravel()
    terms = profiles.text_model.terms
    tool_terms = profiles.lexicon.tool_terms
    eligible = [
        c for c in np.flatnonzero(counts >= at_least).tolist() if terms[c] not in tool_terms
    ]
    ranked = sorted(eligible, key=lambda c: (-weights[c], terms[c]))[: limit + 3]
    chosen_terms = {terms[c]: float(weights[c]) for c in ranked}
    phrases = profiles.phrases[rows]
    phrase_counts = np.bincount(phrases.indices, minlength=phrases.shape[1])
    candidates: list[tuple[float, str, str]] = []
    for c in np.flatnonzero(phrase_counts >= at_least).tolist():
        first, second = profiles.text_model.phrase_terms[c].split(" ", 1)
        if first in chosen_terms and second in chosen_terms:
            candidates.append((chosen_terms[first] + chosen_terms[second], first, second))
    picked: list[tuple[float, str]] = []
    covered: set[str] = set()
    for weight, first, second in sorted(candidates, key=lambda c: (-c[0], c[1], c[2])):
        if not {first, second} & covered:
            picked.append((weight, f"{first} {second}"))
            covered.update((first, second))
    for term, weight in chosen_terms.items():
        if term not in covered:
            picked.append((weight, term))
    picked.sort(key=lambda item: (-item[0], item[1]))
    return [profiles.analyzer.display(term) for _, term in picked[:limit]]
