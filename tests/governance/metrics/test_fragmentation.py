"""Fragmentation: inverse Herfindahl, groups, units and the portfolio share."""

from __future__ import annotations

import pytest

from governance.metrics import Cluster, fragmentation, inverse_herfindahl
from tests.governance.metrics.factories import project


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1, 1], 2.0),
        ([1, 1, 1, 1], 4.0),
        ([10, 1], 121 / 101),
        ([5], 1.0),
        ([3, 0], 1.0),
        ([0.5, 0.25, 0.25], 1 / (0.25 + 0.0625 + 0.0625)),
        ([], 0.0),
    ],
)
def test_inverse_herfindahl(values, expected):
    assert inverse_herfindahl(values) == pytest.approx(expected)


def _cluster(cid: str, members: tuple[int, ...], units: tuple[int, ...]) -> Cluster:
    return Cluster(
        id=cid,
        member_ids=members,
        scope_unit_ids=units,
        capability_label=f"label {cid}",
        combined_cost=None,
        costs_known=0,
        spend_outside_lead=None,
        consolidation_estimate=None,
        lead_project_id=members[0],
        cross_unit=len(units) > 1,
        cohesion=0.5,
    )


def test_fragmentation_per_group_unit_and_portfolio():
    portfolio = [
        project(1, "a", unit=1, annual_cost=300.0, stage="production", tools=("UiPath",)),
        project(2, "b", unit=1, annual_cost=100.0, stage="pilot"),
        project(3, "c", unit=2, annual_cost=100.0, stage="pilot", tools=("ABBYY FineReader",)),
        project(4, "d", unit=3, capabilities=("OCR",), annual_cost=50.0),
        project(5, "e", unit=4, capabilities=("OCR", "Translation")),
        project(6, "f", unit=4),
    ]
    clusters = [_cluster("C1", (1, 2, 3), (1, 2)), _cluster("C6", (5, 6), (4,))]

    report = fragmentation(portfolio, clusters)

    by_key = {g.key: g for g in report.groups}
    cluster_group = by_key["cluster:C1"]
    assert cluster_group.units == 2
    assert cluster_group.effective_efforts == pytest.approx(inverse_herfindahl([2, 1]), abs=1e-4)
    assert cluster_group.effective_efforts_spend == pytest.approx(1.4706, abs=1e-4)
    assert cluster_group.distinct_tools == 2
    assert cluster_group.total_spend == 500.0
    assert cluster_group.lead_project_id == 1
    assert cluster_group.spend_outside_lead == 200.0
    ocr = by_key["capability:ocr"]
    assert ocr.project_ids == (4, 5) and ocr.units == 2 and ocr.effective_efforts == 2.0
    assert ocr.total_spend == 50.0 and ocr.effective_efforts_spend == 1.0
    # a cluster whose members all name capabilities is not a group of its own
    assert "cluster:C6" not in by_key

    units = {u.scope_unit_id: u for u in report.units}
    assert units[1].projects_in_multi_unit_clusters == 2
    assert units[1].share_in_multi_unit_clusters == 1.0
    assert units[4].shared_capability_groups == 1

    assert report.portfolio.projects == 6
    assert report.portfolio.projects_in_multi_unit_clusters == 3
    assert report.portfolio.share_in_multi_unit_clusters == 0.5
    assert report.portfolio.multi_unit_groups == 2
    # OCR: the only known cost is the lead's own, so nothing is spent outside it
    assert report.portfolio.spend_outside_lead == pytest.approx(200.0)


def test_fragmentation_of_an_empty_portfolio():
    report = fragmentation([], [])
    assert report.groups == () and report.units == ()
    assert report.portfolio.share_in_multi_unit_clusters == 0.0
