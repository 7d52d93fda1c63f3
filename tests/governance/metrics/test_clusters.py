"""Clusters: no chaining, lead project, costs, labels and invariants."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.metrics import ClusterParams, find_clusters, find_overlaps, lead_project
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
