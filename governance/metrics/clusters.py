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
   Duplicates inside one scope unit (duplicate-grade candidate pairs, registry hygiene) start
   as one node, so that an effort registered three times weighs as much as one registered
   once in the averages.
   UPGMA applies the cannot-link floor in the order it merges: a peripheral member joined
   early vetoes, later, the merge of its cluster with another one that is on average similar
   enough. A repair pass merges such clusters (best average first) without the members that
   have an unrelated pair in the union, when fewer members leave than the smaller cluster has
   and the rest still averages ≥ `threshold` (across the two sides and over all its pairs); a
   member that leaves stays alone.
3. A project in no cluster (never linked, its pairs just under the link level, or left alone
   above) joins the cluster of a member it is a candidate pair of when, over all the cluster's
   members, its mean score and its mean score from text and capability alone are ≥
   `threshold` and no pair is < `cannot_link`: the merge rule, for one project
   (`_attach_singles`).
4. Clusters have two or more members.

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
    # A project left alone joins the cluster it is close to on average (`_attach_singles`).
    attach_singles: bool = True


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
    twins = _twin_groups(analysis, len(profiles))
    member_rows: list[tuple[IntArray, FloatArray]] = []
    for group, scores in _group_scores(profiles, groups, params):
        for local in _average_linkage(scores, params, twins[group]):
            member_rows.append((group[local], scores[np.ix_(local, local)]))
    if params.attach_singles and member_rows:
        member_rows = _attach_singles(analysis, member_rows, params)
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


def _twin_groups(analysis: OverlapAnalysis, n: int) -> IntArray:
    """For every row, the label of its group of within-unit duplicates (its own row if none).

    Duplicate-grade candidate pairs inside one scope unit are registry hygiene: the same effort
    registered twice. They are joined (union-find) so that clustering counts each effort once.
    """
    profiles = analysis.profiles
    rows, cols = analysis.candidate_rows, analysis.candidate_cols
    twin = (analysis.candidate_grades == 3) & (profiles.scope[rows] == profiles.scope[cols])
    if not twin.any():
        return np.arange(n, dtype=np.int64)
    graph = sp.coo_matrix(
        (np.ones(int(twin.sum())), (rows[twin], cols[twin])), shape=(n, n)
    ).tocsr()
    _, labels = connected_components(graph, directed=False)
    return np.asarray(labels, dtype=np.int64)


def _average_linkage(
    scores: FloatArray, params: ClusterParams, twins: IntArray | None = None
) -> list[IntArray]:
    """UPGMA with a cannot-link floor, then repaired merges; local index arrays of the clusters
    with ≥ 2 members.

    Members with the same `twins` label (duplicates inside one scope unit) start as one node,
    unless two of them are unrelated: a node's score with another is the mean over their member
    pairs, so an effort registered three times weighs as much as one registered once.
    """
    nodes = _twin_nodes(scores, params, twins)
    if len(nodes) == scores.shape[0]:
        mean, floor = scores, scores
    else:
        mean, floor = _node_matrices(scores, nodes)
    labels = _upgma(mean, floor, params)
    if (floor < params.cannot_link).any():
        # Without an unrelated pair, UPGMA refused no merge that the repair could make.
        labels = _repair(mean, floor, labels, params)
    out = []
    for label in np.unique(labels):
        members = np.sort(np.concatenate([nodes[i] for i in np.flatnonzero(labels == label)]))
        if members.size >= 2:
            out.append(members.astype(np.int64))
    return out


def _twin_nodes(
    scores: FloatArray, params: ClusterParams, twins: IntArray | None
) -> list[IntArray]:
    """The starting nodes: the twin groups, each member alone when its group holds an unrelated
    pair."""
    m = scores.shape[0]
    singles = [np.array([i], dtype=np.int64) for i in range(m)]
    if twins is None:
        return singles
    _, first, inverse, counts = np.unique(
        twins, return_index=True, return_inverse=True, return_counts=True
    )
    if counts.size == m:
        return singles
    # Nodes in the order of their first member, so that results do not depend on label values.
    nodes: list[IntArray] = []
    for label in np.argsort(first, kind="stable").tolist():
        if counts[label] == 1:
            nodes.append(singles[int(first[label])])
            continue
        members = np.flatnonzero(inverse == label).astype(np.int64)
        if scores[np.ix_(members, members)].min() < params.cannot_link:
            nodes.extend(singles[i] for i in members.tolist())
        else:
            nodes.append(members)
    return nodes


def _node_matrices(scores: FloatArray, nodes: list[IntArray]) -> tuple[FloatArray, FloatArray]:
    """Mean and minimum score between every two nodes (diagonal 1)."""
    order = np.concatenate(nodes)
    sizes = np.asarray([len(n) for n in nodes], dtype=np.float64)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    block = scores[np.ix_(order, order)]
    sums = np.add.reduceat(np.add.reduceat(block, starts, axis=0), starts, axis=1)
    mins = np.minimum.reduceat(np.minimum.reduceat(block, starts, axis=0), starts, axis=1)
    mean = sums / np.outer(sizes, sizes)
    np.fill_diagonal(mean, 1.0)
    np.fill_diagonal(mins, 1.0)
    return mean, mins


def _upgma(mean: FloatArray, floor: FloatArray, params: ClusterParams) -> IntArray:
    """A cluster label for every node: UPGMA cut at the threshold, never joining two nodes
    whose `floor` is below the cannot-link."""
    k = mean.shape[0]
    if k < 3:
        together = k == 2 and mean[0, 1] >= params.threshold and floor[0, 1] >= params.cannot_link
        return np.zeros(k, dtype=np.int64) if together else np.arange(k, dtype=np.int64)
    distance = 1.0 - np.clip(mean, 0.0, 1.0)
    # Any merge containing an unrelated pair averages above 1: it can never be cut below 1 − t.
    distance[floor < params.cannot_link] = float(k * k + 1)
    np.fill_diagonal(distance, 0.0)
    tree = linkage(distance[np.triu_indices(k, 1)], method="average")
    labels = fcluster(tree, t=1.0 - params.threshold + 1e-9, criterion="distance")
    return np.asarray(labels, dtype=np.int64)


def _repair(
    mean: FloatArray, floor: FloatArray, labels: IntArray, params: ClusterParams
) -> IntArray:
    """Merges that UPGMA refused only because of a member it had joined early.

    UPGMA applies the cannot-link floor in the order it merges: a peripheral member joined to
    one group early (at a high score with one project) vetoes, later, the merge of that group
    with another whose members are on average as similar as the threshold asks. Here two
    clusters whose mean cross score is ≥ the threshold are merged without the members that
    have an unrelated pair in the union (most such pairs first), when fewer members leave
    than the smaller cluster has and the rest still averages ≥ the threshold, across the two
    sides and over all its pairs. A member that leaves stays alone. Best mean first, until
    nothing changes.
    """
    labels = np.unique(labels, return_inverse=True)[1].astype(np.int64)
    k = mean.shape[0]
    unrelated = (floor < params.cannot_link).astype(np.float64)
    frozen = np.zeros(k, dtype=bool)
    while True:
        count = int(labels.max()) + 1 if k else 0
        if count < 2:
            return labels
        indicator = sp.csr_matrix(
            (np.ones(k), (np.arange(k), labels)), shape=(k, count), dtype=np.float64
        )
        sizes = np.asarray(indicator.sum(axis=0), dtype=np.float64).ravel()
        sums = np.asarray((indicator.T @ (indicator.T @ mean).T), dtype=np.float64)
        between = sums / np.outer(sizes, sizes)
        vetoes = np.asarray(indicator.T @ (indicator.T @ unrelated).T, dtype=np.float64)
        stuck = np.zeros(count, dtype=bool)
        stuck[labels[frozen]] = True
        a_idx, b_idx = np.triu_indices(count, 1)
        ok = (between[a_idx, b_idx] >= params.threshold) & ~stuck[a_idx] & ~stuck[b_idx]
        a_idx, b_idx = a_idx[ok], b_idx[ok]
        order = np.lexsort((b_idx, a_idx, -between[a_idx, b_idx]))
        changed: set[int] = set()
        merged = False
        for a, b in zip(a_idx[order].tolist(), b_idx[order].tolist(), strict=True):
            if a in changed or b in changed:
                continue
            left, right = np.flatnonzero(labels == a), np.flatnonzero(labels == b)
            if vetoes[a, b] == 0:
                labels[right] = a
            else:
                evicted = _evict(mean, unrelated, np.concatenate([left, right]))
                if len(evicted) >= min(left.size, right.size):
                    continue
                kept_left = np.setdiff1d(left, evicted)
                kept_right = np.setdiff1d(right, evicted)
                if not kept_left.size or not kept_right.size:
                    continue
                if mean[np.ix_(kept_left, kept_right)].mean() < params.threshold:
                    continue
                kept = np.concatenate([kept_left, kept_right])
                if (
                    mean[np.ix_(kept, kept)][np.triu_indices(kept.size, 1)].mean()
                    < params.threshold
                ):
                    continue
                labels[right] = a
                for node in evicted:
                    labels[node] = int(labels.max()) + 1
                    frozen[node] = True
            changed.update((a, b))
            merged = True
        if not merged:
            return labels
        labels = np.unique(labels, return_inverse=True)[1].astype(np.int64)


def _evict(mean: FloatArray, unrelated: FloatArray, members: IntArray) -> list[int]:
    """The members to drop so that no unrelated pair is left: the one in most such pairs
    first (ties: the lowest mean score with the others, then the larger index)."""
    members = members.copy()
    evicted: list[int] = []
    while True:
        block = unrelated[np.ix_(members, members)]
        counts = block.sum(axis=1)
        if not counts.any():
            return evicted
        closeness = mean[np.ix_(members, members)].sum(axis=1)
        worst = int(np.lexsort((-members, closeness, -counts))[0])
        evicted.append(int(members[worst]))
        members = np.delete(members, worst)


def _attach_singles(
    analysis: OverlapAnalysis,
    member_rows: list[tuple[IntArray, FloatArray]],
    params: ClusterParams,
) -> list[tuple[IntArray, FloatArray]]:
    """Projects in no cluster joined to the cluster they are close to on average.

    The links decide where clusters can form; a project whose pairs all fall just under the
    link level (text cosine < `link_text`) is left out of every group, even when the average
    linkage rule would accept it. Here a project in no cluster that is a candidate pair of a
    member joins that cluster when, over all the cluster's members, its mean overlap score is
    ≥ `threshold`, its mean *purpose* score (the score from the text and a shared capability
    alone, without tools, vendors, data or context: a shared tool does not link) is ≥
    `threshold`, and no pair is unrelated (< `cannot_link`). A project goes to the cluster of
    its best mean score; projects joining one cluster are taken best mean first, each checked
    against the members and those already joined.
    """
    profiles = analysis.profiles
    n = len(profiles)
    label = np.full(n, -1, dtype=np.int64)
    for k, (rows, _) in enumerate(member_rows):
        label[rows] = k
    a, b = analysis.candidate_rows, analysis.candidate_cols
    # (single, cluster) through a candidate pair with one end alone and the other clustered.
    ends = np.concatenate([a, b])
    others = np.concatenate([b, a])
    reach = (label[ends] < 0) & (label[others] >= 0)
    if not reach.any():
        return member_rows
    keys = np.unique(ends[reach] * len(member_rows) + label[others[reach]])
    singles, targets = keys // len(member_rows), keys % len(member_rows)
    sizes = np.asarray([len(member_rows[k][0]) for k in targets.tolist()], dtype=np.int64)
    left = np.repeat(singles, sizes)
    right = np.concatenate([member_rows[k][0] for k in targets.tolist()])
    evidence = profiles.evidence(left, right)
    purpose = 1.0 - (1.0 - evidence.text) * (
        1.0 - profiles.params.capability_weight * evidence.capability
    )
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    mean = np.add.reduceat(evidence.score, starts) / sizes
    purpose_mean = np.add.reduceat(purpose, starts) / sizes
    lowest = np.minimum.reduceat(evidence.score, starts)
    ok = (
        (mean >= params.threshold)
        & (purpose_mean >= params.threshold)
        & (lowest >= params.cannot_link)
    )
    if not ok.any():
        return member_rows
    # Each single's best cluster (highest mean, then the smaller cluster index).
    idx = np.flatnonzero(ok)
    order = idx[np.lexsort((targets[idx], -mean[idx], singles[idx]))]
    first = np.concatenate(([True], singles[order][1:] != singles[order][:-1]))
    chosen = order[first]
    by_target: dict[int, list[int]] = {}
    for i in sorted(chosen.tolist(), key=lambda i: (-float(mean[i]), int(singles[i]))):
        by_target.setdefault(int(targets[i]), []).append(i)
    # Scores between the projects joining one cluster, in one batch (a matrix per cluster).
    targets_joined = sorted(by_target)
    uppers = [np.triu_indices(len(by_target[k]), 1) for k in targets_joined]
    joined = [singles[np.asarray(by_target[k], dtype=np.int64)] for k in targets_joined]
    pair_scores = profiles.evidence(
        np.concatenate([j[u[0]] for j, u in zip(joined, uppers, strict=True)]),
        np.concatenate([j[u[1]] for j, u in zip(joined, uppers, strict=True)]),
    ).score
    out = list(member_rows)
    offset = 0
    for k, upper in zip(targets_joined, uppers, strict=True):
        joining = by_target[k]
        between = np.eye(len(joining))
        count = len(upper[0])
        between[upper] = pair_scores[offset : offset + count]
        between.T[upper] = pair_scores[offset : offset + count]
        offset += count
        rows, scores = member_rows[k]
        size = len(rows)
        accepted: list[int] = []
        for x, i in enumerate(joining):
            with_joined = between[x, accepted]
            unrelated = with_joined.size > 0 and float(with_joined.min()) < params.cannot_link
            total = float(mean[i]) * size + float(with_joined.sum())
            if unrelated or total / (size + with_joined.size) < params.threshold:
                continue
            accepted.append(x)
        if not accepted:
            continue
        m = size + len(accepted)
        block = np.eye(m)
        block[:size, :size] = scores
        block[size:, size:] = between[np.ix_(accepted, accepted)]
        for x, position in enumerate(accepted):
            i = joining[position]
            cross = evidence.score[starts[i] : starts[i] + size]
            block[size + x, :size] = cross
            block[:size, size + x] = cross
        accepted_rows = singles[np.asarray([joining[x] for x in accepted], dtype=np.int64)]
        extended = np.concatenate([rows, accepted_rows])
        order_rows = np.argsort(extended, kind="stable")
        out[k] = (extended[order_rows], block[np.ix_(order_rows, order_rows)])
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
