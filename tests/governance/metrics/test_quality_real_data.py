"""Quality on the real federal AI inventories (reads the CSVs; no database).

The figures and the example clusters are those of `benchmarks/bench_overlap_quality.py`, which
prints the full report. The issue's targets that the method does not reach yet are kept as
strict expected failures, next to floors that guard what it does reach (docs/metrics.md).
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.bench_overlap_quality import (
    EXAMPLES,
    TOP1_TARGET,
    TOP5_TARGET,
    apart_violations,
    check_example,
    cluster_analysis,
    index_rankings,
    load_2023,
    load_2024,
    rank_rates,
    reregistrations,
)
from governance.metrics import ClusterParams

NOT_YET_WHOLE = {
    "network anomaly detection": "splits into a threat-hunting cluster (DHS, TVA) and a network-"
    "monitoring one (FHFA, FRB, TVA) averaging under 0.2 across; USAID's exfiltration pilot shares "
    "too few words",
}


@pytest.fixture(scope="module")
def editions():
    return load_2023(), load_2024()


@pytest.fixture(scope="module")
def rewritten(editions):
    old, new = editions
    return [c for c in reregistrations(old, new) if c.rewritten]


@pytest.fixture(scope="module")
def scoped_rates(editions, rewritten):
    old, _ = editions
    return rank_rates(index_rankings(old, rewritten, scoped=True), rewritten)


@pytest.fixture(scope="module")
def clustered():
    return cluster_analysis()


def test_reregistration_pairs_are_found(rewritten):
    # about 180 use cases of 2023 were registered again in 2024 with a rewritten description
    assert 170 <= len(rewritten) <= 200


def test_reregistration_ranks_the_old_project_first(editions, rewritten, scoped_rates):
    old, _ = editions
    text_only = rank_rates(index_rankings(old, rewritten), rewritten)
    # guards on what the method reaches (0.907 / 0.956 with the agency, 0.874 / 0.945 without)
    assert scoped_rates.top1 >= 0.90
    assert scoped_rates.top5 >= 0.95
    assert text_only.top1 >= 0.87
    assert text_only.top5 >= 0.94


@pytest.mark.xfail(
    strict=True,
    reason="issue target not reached: 0.907 / 0.956 measured; the misses are rewritten texts "
    "that share almost no words with the 2023 summary (docs/metrics.md)",
)
def test_reregistration_meets_the_issue_targets(scoped_rates):
    assert scoped_rates.top1 >= TOP1_TARGET
    assert scoped_rates.top5 >= TOP5_TARGET


@pytest.mark.parametrize(
    "example",
    [
        pytest.param(
            e,
            id=e.label,
            marks=[pytest.mark.xfail(strict=True, reason=NOT_YET_WHOLE[e.label])]
            if e.label in NOT_YET_WHOLE
            else [],
        )
        for e in EXAMPLES
    ],
)
def test_example_capability_is_one_cross_unit_cluster(clustered, example):
    inventory, _, clusters = clustered
    result = check_example(example, inventory, clusters)
    assert result.cluster is not None and result.cluster.cross_unit
    assert result.covered == result.agencies, result.elsewhere


def test_no_cluster_mixes_unrelated_projects(clustered):
    inventory, analysis, clusters = clustered
    assert apart_violations(inventory, clusters) == []
    floor = ClusterParams().cannot_link
    for cluster in clusters:
        rows = np.asarray([analysis.profiles.position[i] for i in cluster.member_ids])
        block = analysis.profiles.score_matrix(rows)
        assert block[np.triu_indices(len(rows), 1)].min() >= floor - 1e-9


def test_one_agency_registering_one_name_51_times_is_hygiene(clustered):
    inventory, analysis, clusters = clustered
    rows = {p.id for p in inventory.projects if p.name.lower() == "generative ai usage"}
    assert len(rows) == 51
    findings = [h for h in analysis.hygiene if rows <= set(h.project_ids)]
    assert [h.kind for h in findings] == ["same_name"]
    assert not any(p.cross_unit for p in analysis.pairs if {p.a_id, p.b_id} <= rows)
    assert not any(c.cross_unit for c in clusters if set(c.member_ids) <= rows)
