"""Pairwise overlap: scores, grades, reasons, invariants and hygiene."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.metrics import OverlapParams, find_overlaps
from governance.metrics.overlap import ProjectProfiles, _by_end_best_first, combine
from tests.governance.metrics.factories import LEGAL_A, LEGAL_B, TRANSCRIPTION, WEATHER, project
from tests.governance.metrics.strategies import projects

P = OverlapParams()


def _grade(**evidence: float) -> tuple[float, str]:
    values = {k: 0.0 for k in ("text", "capability", "tool", "vendor", "data", "context")}
    values.update(evidence)
    same_name = bool(values.pop("same_name", 0.0))
    arrays = {k: np.array([v]) for k, v in values.items()}
    result = combine(P, same_name=np.array([same_name]), **arrays)
    return float(result.score[0]), ["", "complementary", "overlapping", "duplicate"][
        int(result.grade[0])
    ]


@pytest.mark.parametrize(
    ("evidence", "grade"),
    [
        ({"text": 0.95}, "duplicate"),
        ({"text": 0.6, "same_name": 1.0}, "duplicate"),
        ({"text": 0.6}, "overlapping"),
        ({"text": 0.3}, "overlapping"),
        ({"text": 0.05, "capability": 1.0}, "overlapping"),
        ({"text": 0.15, "tool": 1.0}, "complementary"),
        ({"text": 0.15, "data": 0.9}, "complementary"),
        ({"text": 0.02, "tool": 1.0}, ""),
        ({"text": 0.15}, ""),
        ({"text": 0.24, "context": 1.0}, ""),
    ],
)
def test_grade_rules(evidence, grade):
    assert _grade(**evidence)[1] == grade


def test_score_is_a_noisy_or_of_the_evidence():
    assert _grade(text=0.4)[0] == pytest.approx(0.4)
    assert _grade(text=0.4, capability=1.0)[0] == pytest.approx(1 - 0.6 * 0.5)
    assert _grade(text=0.4, tool=1.0, vendor=1.0)[0] == pytest.approx(1 - 0.6 * 0.9 * 0.95)
    assert _grade(capability=1, tool=1, vendor=1, data=1, context=1)[0] < 0.7


def test_legal_research_projects_overlap_with_reasons_in_words():
    analysis = find_overlaps([LEGAL_A, LEGAL_B, TRANSCRIPTION, WEATHER])

    assert [(p.a_id, p.b_id) for p in analysis.pairs] == [(1, 2)]
    pair = analysis.pairs[0]
    assert pair.grade == "overlapping"
    assert pair.cross_unit is True
    assert "both use Westlaw" in pair.reasons
    shared = next(r for r in pair.reasons if r.startswith("shared terms: "))
    assert "legal research" in shared
    assert 0 < pair.text_similarity <= pair.score <= 1


def test_same_tool_for_another_purpose_is_complementary():
    routing = project(
        10,
        "Ticket routing",
        "Route IT helpdesk tickets on our ServiceNow platform to the right team.",
        unit=1,
    )
    hr_bot = project(
        11,
        "HR virtual agent",
        "Employees ask human resources questions about leave; the ServiceNow platform answers.",
        unit=2,
    )
    (pair,) = find_overlaps([routing, hr_bot]).pairs
    assert pair.grade == "complementary"
    assert pair.reasons[0] == "both use ServiceNow"


def test_shared_capability_is_named():
    a = project(1, "Invoice intake", "Scanned invoices become data", unit=1, capabilities=("OCR",))
    b = project(2, "Archive digitisation", "Old paper files", unit=2, capabilities=("ocr ",))
    (pair,) = find_overlaps([a, b]).pairs
    assert pair.grade == "overlapping"
    assert "same capability: OCR" in pair.reasons


def test_same_text_twice_is_a_duplicate_and_hygiene_inside_one_unit():
    twin = replace(LEGAL_A, id=99)
    other_unit = replace(LEGAL_A, id=100, unit_id=5, scope_unit_id=5)
    analysis = find_overlaps([LEGAL_A, twin, other_unit, WEATHER])

    grades = {(p.a_id, p.b_id): (p.grade, p.cross_unit) for p in analysis.pairs}
    assert grades[(1, 99)] == ("duplicate", False)
    assert grades[(1, 100)] == ("duplicate", True)
    kinds = {(h.kind, h.project_ids) for h in analysis.hygiene}
    assert ("same_name", (1, 99)) in kinds
    assert all(h.scope_unit_id == 1 for h in analysis.hygiene)


def test_one_name_registered_many_times_in_one_unit_is_one_hygiene_finding():
    uses = [
        project(i, "Generative AI Usage", text, unit=3)
        for i, text in enumerate(
            [
                "summaries and outlines of presentations",
                "code snippets in various languages",
                "courses of action for scenarios",
                "key points of public articles",
            ],
            start=1,
        )
    ]
    analysis = find_overlaps([*uses, replace(LEGAL_A, id=50)])
    (finding,) = [h for h in analysis.hygiene if h.kind == "same_name"]
    assert finding.project_ids == (1, 2, 3, 4)
    assert finding.label == "Generative AI Usage"
    assert not any(p.cross_unit for p in analysis.pairs)


def test_pairs_are_capped_per_project():
    many = [
        project(i, "Legal research", LEGAL_A.problem + f" variant {i}", unit=i)
        for i in range(1, 12)
    ]
    analysis = find_overlaps(many, OverlapParams(pairs_per_project=2))
    counts: dict[int, int] = {}
    for p in analysis.pairs:
        counts[p.a_id] = counts.get(p.a_id, 0) + 1
        counts[p.b_id] = counts.get(p.b_id, 0) + 1
    # a pair is kept when it is among the best two of either project
    assert len(analysis.pairs) <= 2 * len(many)


@settings(max_examples=40, deadline=None)
@given(projects())
def test_scores_in_unit_interval_and_pairs_well_formed(portfolio):
    analysis = find_overlaps(portfolio)
    seen = set()
    for pair in analysis.pairs:
        assert 0.0 <= pair.score <= 1.0
        assert 0.0 <= pair.text_similarity <= 1.0
        assert pair.a_id < pair.b_id
        assert (pair.a_id, pair.b_id) not in seen
        assert pair.grade in {"duplicate", "overlapping", "complementary"}
        assert pair.reasons
        seen.add((pair.a_id, pair.b_id))


@settings(max_examples=40, deadline=None)
@given(projects(), st.randoms(use_true_random=False))
def test_order_independence(portfolio, rng: random.Random):
    shuffled = list(portfolio)
    rng.shuffle(shuffled)
    first, second = find_overlaps(portfolio), find_overlaps(shuffled)
    assert first.pairs == second.pairs
    assert first.hygiene == second.hygiene


@settings(max_examples=40, deadline=None)
@given(projects())
def test_evidence_is_symmetric(portfolio):
    profiles = ProjectProfiles(portfolio)
    n = len(profiles)
    rows, cols = np.triu_indices(n, 1)
    forward = profiles.evidence(rows.astype(np.int64), cols.astype(np.int64))
    backward = profiles.evidence(cols.astype(np.int64), rows.astype(np.int64))
    assert forward.score == pytest.approx(backward.score, abs=1e-6)
    assert np.array_equal(forward.grade, backward.grade)
    dense = profiles.score_matrix(np.arange(n, dtype=np.int64))
    assert dense == pytest.approx(dense.T, abs=1e-9)
    assert dense[rows, cols] == pytest.approx(forward.score, abs=1e-5)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=4),
            st.sampled_from((0.0, 0.2, 0.2000000001, 0.7, 1.0)),
            st.integers(min_value=0, max_value=4),
        ),
        max_size=40,
    )
)
def test_best_first_order_is_the_lexsort_order(entries):
    ends = np.asarray([e for e, _, _ in entries], dtype=np.int64)
    score = np.asarray([s for _, s, _ in entries], dtype=np.float64)
    others = np.asarray([o for _, _, o in entries], dtype=np.int64)
    expected = np.lexsort((others, -score, ends))
    assert _by_end_best_first(ends, score, others).tolist() == expected.tolist()
