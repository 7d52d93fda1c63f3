"""Alignment shares, per-goal figures, gaps and goal suggestions."""

from __future__ import annotations

import pytest

from governance.metrics import GoalFacts, alignment, suggest_goals
from tests.governance.metrics.factories import project

GOALS = [
    GoalFacts(1, "Digitise and understand documents", "OCR, scanned forms, records extraction."),
    GoalFacts(2, "Protect systems", "Network anomalies, cyber threats and fraud detection."),
    GoalFacts(3, "Faster public services", "Chatbots answering citizens, benefits processing."),
    GoalFacts(4, "Retired goal", "Old strategy for scanned forms.", active=False),
]


def test_alignment_shares_per_goal_and_gaps():
    portfolio = [
        project(1, "a", goal_ids=(1,), annual_cost=100.0, stage="production"),
        project(2, "b", goal_ids=(1, 2), annual_cost=300.0, stage="pilot"),
        project(3, "c", annual_cost=600.0),
        project(4, "d", goal_ids=(99,)),  # unknown goal ids are ignored
    ]

    report = alignment(portfolio, GOALS)

    assert report.projects == 4
    assert report.aligned_projects == 2
    assert report.share_projects_aligned == 0.5
    assert report.known_spend == 1000.0
    assert report.aligned_spend == 400.0
    assert report.share_spend_aligned == 0.4
    goals = {g.goal_id: g for g in report.goals}
    assert goals[1].project_ids == (1, 2)
    assert goals[1].spend == 400.0
    assert goals[1].stage_mix == (("production", 1), ("pilot", 1))
    assert goals[2].spend == 300.0
    assert report.goals_without_projects == (3, 4)
    assert report.projects_without_goal == (3, 4)


def test_alignment_without_known_spend():
    report = alignment([project(1, "a")], GOALS[:1])
    assert report.share_spend_aligned is None
    assert report.goals[0].spend is None
    assert report.share_projects_aligned == 0.0


def test_goal_suggestions_match_text_with_a_rationale():
    portfolio = [
        project(1, "Invoice OCR", "Optical character recognition of scanned invoices and forms."),
        project(2, "Intrusion alerts", "Detect network anomalies and cyber threats in traffic."),
        project(3, "Crop forecast", "Satellite imagery predicts crop yield."),
        project(
            4, "Records scanning", "Scanned records and forms become searchable.", goal_ids=(1,)
        ),
    ]

    suggestions = suggest_goals(portfolio, GOALS)

    by_project = {}
    for s in suggestions:
        by_project.setdefault(s.project_id, []).append(s)
    assert by_project[1][0].goal_id == 1
    assert "OCR" in by_project[1][0].rationale
    assert by_project[2][0].goal_id == 2
    assert by_project[2][0].rationale.startswith("shared terms: ")
    assert 3 not in by_project  # nothing in common with any goal
    # never the goal a project is already aligned to, never an inactive goal
    assert all(s.goal_id != 1 for s in by_project.get(4, []))
    assert all(s.goal_id != 4 for s in suggestions)
    assert all(0 < s.score <= 1 for s in suggestions)


@pytest.mark.parametrize("limit", [1, 2])
def test_goal_suggestions_respect_limit(limit):
    from governance.metrics.alignment import SuggestionParams

    portfolio = [project(1, "All", "OCR scanned forms network anomalies chatbots citizens")]
    suggestions = suggest_goals(portfolio, GOALS, SuggestionParams(threshold=0.01, limit=limit))
    assert len(suggestions) == limit
    assert [s.score for s in suggestions] == sorted((s.score for s in suggestions), reverse=True)


def test_strategy_document_words_do_not_suggest_goals():
    goal = GoalFacts(1, "Strategic goal 3: objective for the example year", "Goal objective.")
    portfolio = [project(1, "Goal tracker", "The goal and objective of this project are goals.")]
    assert suggest_goals(portfolio, [goal]) == ()
