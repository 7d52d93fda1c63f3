"""Clusters: no chaining, lead project, costs, labels and invariants."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.metrics import (
    ClusterParams,
    OverlapParams,
    find_clusters,
    find_overlaps,
    lead_project,
)
from governance.metrics.clusters import _average_linkage
from tests.governance.metrics.factories import LEGAL_A, LEGAL_B, WEATHER, project
from tests.governance.metrics.strategies import projects

CHAIN_WORDS = [
    "quartzite basalt granite marble",
    "granite marble obsidian pumice",
    "obsidian pumice feldspar mica",
    "feldspar mica gypsum talc",
    "gypsum talc halite calcite",
]


def _chain(words: list[str]) -> list:
    return [project(i + 1, text.split()[0], text, unit=i + 1) for i, text in enumerate(words)]


@pytest.mark.parametrize("length", [3, 4, 5])
def test_a_chain_of_neighbours_is_not_one_cluster(length):
    # given A ~ B ~ C ~ … where the ends share nothing
    chain = _chain(CHAIN_WORDS[:length])
    analysis = find_overlaps(chain)
    linked = {(p.a_id, p.b_id) for p in analysis.pairs if p.grade != "complementary"}
    assert (1, 2) in linked and (2, 3) in linked and (1, 3) not in linked

    # when
    clusters = find_clusters(analysis)

    # then no cluster holds two unrelated projects (single linkage would hold them all)
    scores = analysis.profiles.score_matrix(np.arange(length, dtype=np.int64))
    for cluster in clusters:
        rows = [analysis.profiles.position[i] for i in cluster.member_ids]
        block = scores[np.ix_(rows, rows)]
        assert block.min() >= ClusterParams().cannot_link
    assert all(c.size < length for c in clusters)


def _scores(size: int, pairs: dict[tuple[int, int], float], default: float) -> np.ndarray:
    matrix = np.full((size, size), default)
    for (a, b), score in pairs.items():
        matrix[a, b] = matrix[b, a] = score
    np.fill_diagonal(matrix, 1.0)
    return matrix


def test_a_member_joined_early_does_not_keep_two_similar_groups_apart():
    # given two groups of one capability, {0, 1, 2} and {3, 4}, similar across (0.3), and a
    # peripheral project 5 very close to 4 but unrelated to 0 and 1
    scores = _scores(
        6,
        {(0, 1): 0.7, (0, 2): 0.7, (1, 2): 0.7, (3, 4): 0.7, (4, 5): 0.65, (3, 5): 0.3}
        | {(a, b): 0.3 for a in (0, 1, 2) for b in (3, 4)}
        | {(0, 5): 0.05, (1, 5): 0.05, (2, 5): 0.2},
        0.0,
    )
    # when
    clusters = [c.tolist() for c in _average_linkage(scores, ClusterParams())]
    # then UPGMA's early merge of 5 into {3, 4} does not veto the merge of the two groups:
    # the groups merge and 5, unrelated to part of the union, stays out
    assert clusters == [[0, 1, 2, 3, 4]]


def test_the_repair_never_joins_groups_that_are_not_similar_on_average():
    scores = _scores(
        6,
        {(0, 1): 0.7, (0, 2): 0.7, (1, 2): 0.7, (3, 4): 0.7, (4, 5): 0.65, (3, 5): 0.3}
        | {(a, b): 0.15 for a in (0, 1, 2) for b in (3, 4)}
        | {(0, 5): 0.05, (1, 5): 0.05, (2, 5): 0.2},
        0.0,
    )
    clusters = [c.tolist() for c in _average_linkage(scores, ClusterParams())]
    assert clusters == [[0, 1, 2], [3, 4, 5]]


def test_duplicates_inside_one_unit_weigh_once_in_the_averages():
    # given an effort registered three times by one unit (0, 1, 2), a project 3 of another unit
    # similar to it (0.3) and a project 4 close to 3 (0.28) but weaker with the effort (0.15)
    scores = _scores(
        5,
        {(0, 1): 0.9, (0, 2): 0.9, (1, 2): 0.9, (3, 4): 0.28}
        | {(a, 3): 0.3 for a in (0, 1, 2)}
        | {(a, 4): 0.15 for a in (0, 1, 2)},
        0.0,
    )
    params = ClusterParams()
    # counted three times, the effort outweighs 4: (3 × 0.15 + 0.28) / 4 < 0.2, 4 stays alone
    assert [c.tolist() for c in _average_linkage(scores, params)] == [[0, 1, 2, 3]]
    # counted once (the three are twins), 4 joins: mean (0.15 + 0.28) / 2 ≥ 0.2
    twins = np.array([0, 0, 0, 3, 4])
    assert [c.tolist() for c in _average_linkage(scores, params, twins)] == [[0, 1, 2, 3, 4]]


def test_a_project_just_under_the_link_level_joins_the_cluster_it_matches_on_average():
    # given two legal-research projects (text cosine 0.55, linked), a court-decision digest
    # sharing a little of their text with each (cosine about 0.22, under the 0.25 link level),
    # a contract tracker that only shares their tool, and an unrelated project
    a = project(1, LEGAL_A.name, LEGAL_A.problem, unit=1)
    b = project(2, LEGAL_B.name, LEGAL_B.problem, unit=2)
    digest = project(
        3,
        "Court opinions digest",
        "Summaries of court decisions, case law and statutes for attorneys drafting briefs.",
        unit=3,
    )
    contracts = project(
        4,
        "Contract tracking",
        "Procurement staff track vendor contracts and renewal dates.",
        unit=4,
        tools=("Westlaw",),
    )
    weather = project(5, WEATHER.name, WEATHER.problem, unit=1)
    # a shared tool weighs enough here to put the contract tracker over the threshold
    analysis = find_overlaps([a, b, digest, contracts, weather], OverlapParams(tool_weight=0.5))
    scores = analysis.profiles.score_matrix(np.arange(5, dtype=np.int64))
    text = (analysis.profiles.text @ analysis.profiles.text.T).toarray()
    assert 0.2 <= text[2, 0] < 0.25 and 0.2 <= text[2, 1] < 0.25
    assert scores[3, [0, 1]].mean() >= 0.2 and text[3, 0] < 0.1

    # when / then: without attaching, the digest is in no group; with it, the digest joins (its
    # mean score with the cluster is above the threshold) and the contract tracker does not
    # (only its tool makes it similar: a shared tool does not link)
    alone = find_clusters(analysis, ClusterParams(attach_singles=False))
    assert [c.member_ids for c in alone] == [(1, 2)]
    (cluster,) = find_clusters(analysis)
    assert cluster.member_ids == (1, 2, 3)
    assert cluster.cohesion == pytest.approx(scores[np.triu_indices(3, 1)].mean(), abs=1e-4)


def test_cluster_fields_on_a_hand_made_portfolio():
    a = project(1, LEGAL_A.name, LEGAL_A.problem, unit=1, stage="pilot", annual_cost=100_000.0)
    b = project(2, LEGAL_B.name, LEGAL_B.problem, unit=2, stage="production", annual_cost=40_000.0)
    c = project(
        3, "Legal research with Westlaw", LEGAL_A.problem, unit=2, stage="idea", annual_cost=None
    )
    (cluster,) = find_clusters([a, b, c, WEATHER])

    assert cluster.member_ids == (1, 2, 3)
    assert cluster.id == "C1"
    assert cluster.scope_unit_ids == (1, 2)
    assert cluster.cross_unit is True
    assert cluster.lead_project_id == 2  # production beats pilot, whatever the cost
    assert cluster.combined_cost == 140_000.0
    assert cluster.costs_known == 2
    assert cluster.spend_outside_lead == 100_000.0
    assert cluster.consolidation_estimate == pytest.approx(30_000.0)
    assert "legal research" in cluster.capability_label
    assert cluster.tools == ("Westlaw",)
    assert cluster.cohesion >= ClusterParams().threshold


def test_cluster_inside_one_unit_is_not_cross_unit():
    a = project(1, LEGAL_A.name, LEGAL_A.problem, unit=4)
    b = project(2, LEGAL_B.name, LEGAL_B.problem, unit=4)
    (cluster,) = find_clusters([a, b])
    assert cluster.cross_unit is False
    assert cluster.scope_unit_ids == (4,)


def test_explicit_capability_names_the_cluster():
    a = project(1, "Invoice intake", "Scanned invoices become data", capabilities=("OCR",))
    b = project(2, "Archive scanning", "Scanned files become data", unit=2, capabilities=("OCR",))
    (cluster,) = find_clusters([a, b])
    assert cluster.capability_label == "OCR"


@pytest.mark.parametrize(
    ("stages_costs", "lead"),
    [
        ([("pilot", 5.0), ("production", 1.0)], 2),
        ([("pilot", 5.0), ("pilot", 9.0)], 2),
        ([("pilot", None), ("pilot", 0.0)], 2),
        ([("retired", 9.0), ("development", 1.0)], 2),
        ([("pilot", 5.0), ("pilot", 5.0)], 1),
    ],
)
def test_lead_project_rule(stages_costs, lead):
    members = [
        project(i + 1, "x", "same text", stage=stage, annual_cost=cost)
        for i, (stage, cost) in enumerate(stages_costs)
    ]
    assert lead_project(members).id == lead


@settings(max_examples=40, deadline=None)
@given(projects(), st.randoms(use_true_random=False))
def test_clusters_are_order_independent_and_cohesive(portfolio, rng: random.Random):
    shuffled = list(portfolio)
    rng.shuffle(shuffled)
    analysis = find_overlaps(portfolio)
    clusters = find_clusters(analysis)
    assert clusters == find_clusters(shuffled)

    params = ClusterParams()
    seen: set[int] = set()
    for cluster in clusters:
        assert cluster.size >= 2
        assert not seen & set(cluster.member_ids)
        seen.update(cluster.member_ids)
        rows = np.array([analysis.profiles.position[i] for i in cluster.member_ids])
        block = analysis.profiles.score_matrix(rows)
        upper = block[np.triu_indices(len(rows), 1)]
        # average linkage: the mean pairwise score is at least the threshold,
        # and no two members are unrelated
        assert upper.mean() >= params.threshold - 1e-9
        assert upper.min() >= params.cannot_link - 1e-9
        assert cluster.cross_unit == (len(cluster.scope_unit_ids) > 1)
