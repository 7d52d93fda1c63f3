"""Governance coverage from plain facts."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from governance.metrics import GovernanceFacts, ReviewFacts, ToolFacts, coverage
from tests.governance.metrics.factories import project

AS_OF = date(2025, 6, 30)


def test_coverage_figures():
    portfolio = [
        project(1, "a", owner_id=7, tools=("Westlaw",)),
        project(2, "b", owner_id=7, tools=("ChatGPT",)),
        project(3, "c", tools=("DeepSeek",)),
        project(4, "d", owner_id=8),
    ]
    governance = [
        GovernanceFacts(1, "high", True, required_controls=5, met_controls=5),
        GovernanceFacts(2, "high", True, required_controls=5, met_controls=4),
        GovernanceFacts(3, "minimal", False),
        GovernanceFacts(99, "high", True, 1, 1),  # not a project of this portfolio
    ]
    reviews = [
        ReviewFacts(1, datetime(2025, 1, 1), date(2025, 2, 1), datetime(2025, 1, 11)),
        ReviewFacts(2, datetime(2025, 1, 1), date(2025, 2, 1), datetime(2025, 1, 31)),
        ReviewFacts(3, datetime(2025, 5, 1), date(2025, 6, 1)),
        ReviewFacts(4, datetime(2025, 6, 1), date(2025, 7, 1)),
    ]
    tools = [
        ToolFacts("Westlaw", sanction_status="approved"),
        ToolFacts("ChatGPT", aliases=("Chat GPT",), sanction_status="prohibited"),
    ]

    report = coverage(portfolio, as_of=AS_OF, governance=governance, reviews=reviews, tools=tools)

    assert report.projects == 4
    assert report.with_current_assessment == 2
    assert report.share_with_current_assessment == 0.5
    assert report.high_tier_projects == 2
    assert report.high_tier_controls_met == 1
    assert report.share_high_tier_controls_met == 0.5
    assert report.open_reviews == 2
    assert report.overdue_reviews == 1
    assert report.overdue_project_ids == (3,)
    assert report.median_days_to_decision == pytest.approx(20.0)
    assert report.unsanctioned_tool_project_ids == (3,)
    assert report.prohibited_tool_project_ids == (2,)
    assert report.projects_without_owner == (3,)


def test_coverage_without_governance_facts():
    report = coverage([project(1, "a")], as_of=AS_OF)
    assert report.share_with_current_assessment == 0.0
    assert report.share_high_tier_controls_met is None
    assert report.median_days_to_decision is None
    assert report.projects_without_owner == (1,)


def test_high_tier_without_required_controls_is_not_met():
    report = coverage(
        [project(1, "a")], as_of=AS_OF, governance=[GovernanceFacts(1, "high", True, 0, 0)]
    )
    assert report.high_tier_controls_met == 0
