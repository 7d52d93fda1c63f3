"""The similar-project index: query, add, exclusion, scope preference and storage."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from hypothesis import given, settings

from governance.metrics import SimilarityIndex
from governance.metrics.overlap import ProjectProfiles
from governance.metrics.text import Lexicon
from tests.governance.metrics.factories import LEGAL_A, LEGAL_B, TRANSCRIPTION, WEATHER, project
from tests.governance.metrics.strategies import projects


@pytest.fixture
def index() -> SimilarityIndex:
    return SimilarityIndex.build([LEGAL_A, LEGAL_B, TRANSCRIPTION, WEATHER])


def test_query_finds_the_similar_projects_with_reasons(index):
    results = index.query(
        name="Case law search", problem="Attorneys research case law and precedents", limit=3
    )
    assert [r.project_id for r in results][:2] in ([1, 2], [2, 1])
    best = results[0]
    assert 0 < best.score <= 1
    assert best.grade == "overlapping"
    assert any(r.startswith("shared terms: ") for r in best.reasons)


def test_query_uses_tools_and_capabilities(index):
    (result, *_) = index.query(problem="Contract review", tools=["Westlaw Edge"])
    assert result.project_id in (1, 2)
    assert "both use Westlaw" in result.reasons


def test_exclude_and_limit(index):
    results = index.query(problem=LEGAL_A.problem, exclude_id=1, limit=1)
    assert len(results) == 1
    assert results[0].project_id == 2


def test_scope_preference_ranks_own_unit_first_without_changing_scores():
    near_a = project(10, "Legal research", LEGAL_A.problem, unit=1)
    near_b = project(11, "Legal research", LEGAL_A.problem, unit=2)
    index = SimilarityIndex.build([near_a, near_b, WEATHER])
    plain = index.query(problem=LEGAL_A.problem, limit=2)
    scoped = index.query(problem=LEGAL_A.problem, scope_unit_id=2, limit=2)
    assert [r.project_id for r in plain] == [10, 11]
    assert [r.project_id for r in scoped] == [11, 10]
    assert scoped[0].same_scope and not scoped[1].same_scope
    assert {r.score for r in plain} == {r.score for r in scoped}


def test_add_appends_with_the_build_vocabulary(index):
    index.add([project(20, "Court transcripts", "Transcribe court hearings audio", unit=9)])
    assert len(index) == 5
    results = index.query(problem="transcribe hearings audio recordings")
    assert results[0].project_id in (3, 20)
    assert {r.project_id for r in results[:2]} == {3, 20}
    # a word no project has is not an error
    assert index.query(problem="zyxwvut") == []


def test_a_project_added_after_the_build_is_found_by_a_word_the_build_never_saw(index):
    assert "zorbatron" not in index.model.index
    index.add([project(21, "Zorbatron rollout", "Deploy the Zorbatron to triage mail", unit=9)])
    results = index.query(problem="Which offices already run a zorbatron?")
    assert [r.project_id for r in results] == [21]
    assert "shared terms: zorbatron" in results[0].reasons
    # the new word weighs as a rare word: a query mixing it with common words still finds it
    mixed = index.query(problem="zorbatron legal research case law", limit=4)
    assert 21 in [r.project_id for r in mixed]
    # and the grown vocabulary survives storage
    loaded = SimilarityIndex.from_bytes(index.to_bytes())
    assert [r.project_id for r in loaded.query(problem="zorbatron")] == [21]
    loaded.add([project(22, "Quillomatic", "Quillomatic drafts letters", unit=2)])
    assert [r.project_id for r in loaded.query(problem="a quillomatic pilot")] == [22]
    assert [r.project_id for r in loaded.query(problem="zorbatron")] == [21]


def test_add_replaces_a_known_project(index):
    index.add([project(4, "Weather", "Attorneys research case law and precedents", unit=1)])
    assert len(index) == 4
    ids = [r.project_id for r in index.query(problem="attorneys case law precedents")]
    assert 4 in ids[:3]


def test_round_trip_through_bytes_without_pickle(index):
    data = index.to_bytes()
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        assert "meta" in archive.files
    loaded = SimilarityIndex.from_bytes(data)
    query = {"name": "Case law", "problem": "legal research with Westlaw", "limit": 4}
    assert loaded.query(**query) == index.query(**query)
    loaded.add([project(30, "Legal research bot", "legal research chatbot", unit=3)])
    assert 30 in [r.project_id for r in loaded.query(problem="legal research chatbot")]


def test_an_index_stored_before_variant_stemming_keeps_plain_porter_stems():
    anomaly = project(40, "Network anomaly detection", "Flags anomalies in network traffic", unit=1)
    index = SimilarityIndex.build([anomaly, WEATHER])
    assert "anomal" in index.model.index  # "anomalies" and "anomalous" meet as one term
    with np.load(io.BytesIO(index.to_bytes()), allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
    del meta["text_params"]["stem_variants"]
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    loaded = SimilarityIndex.from_bytes(buffer.getvalue())
    assert loaded.model.params.stem_variants is False
    assert loaded.model.analyzer.terms("anomalies") == ["anomali"]


def test_a_stored_index_shows_phrases_as_the_build_saw_them_written():
    complaints = [
        project(50, "Complaint triage", "Sort consumer complaints by product", unit=1),
        project(51, "Complaint routing", "Route consumer complaints to teams", unit=2),
        project(52, "Efficiency", "Consuming less time, consuming fewer hours, consuming", unit=3),
    ]
    loaded = SimilarityIndex.from_bytes(SimilarityIndex.build(complaints).to_bytes())
    # (a query writing the phrase otherwise is answered in the words of the portfolio)
    (best, *_) = loaded.query(problem="Which teams read each consumer complaint?")
    assert best.reasons == ("shared terms: consumer complaints, teams",)
    # and a stored index without phrase forms (stored before they were kept) still loads
    with np.load(io.BytesIO(loaded.to_bytes()), allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
    del meta["phrase_display"]
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    assert SimilarityIndex.from_bytes(buffer.getvalue()).query(problem="consumer complaints")


def test_from_bytes_rejects_other_formats(index):
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.frombuffer(json.dumps({"format": 99}).encode(), dtype=np.uint8))
    with pytest.raises(ValueError, match="format"):
        SimilarityIndex.from_bytes(buffer.getvalue())


def test_empty_index():
    index = SimilarityIndex.build([])
    assert index.query(problem="anything") == []
    index.add([LEGAL_A])
    assert index.query(problem=LEGAL_A.problem)[0].project_id == 1


@settings(max_examples=20, deadline=None)
@given(projects())
def test_index_from_profiles_is_the_built_index(portfolio):
    # given the profiles the metrics run computes anyway (with the catalogue `build` uses)
    profiles = ProjectProfiles(portfolio, None, Lexicon.with_catalogue(()))
    # then the index that shares them stores the same bytes as one built from the projects
    shared = SimilarityIndex.from_profiles(profiles)
    stored = SimilarityIndex.build(portfolio).to_bytes()
    assert shared.to_bytes() == stored
    # and answers as that index does once stored and loaded (terms shown as the words the
    # build saw, until a query brings its own)
    draft = portfolio[0]
    asked = {"name": draft.name, "problem": draft.problem, "tools": draft.tools}
    assert shared.query(**asked) == SimilarityIndex.from_bytes(stored).query(**asked)
