"""Text normalisation, terms, TF-IDF rows and nearest neighbours."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.metrics import text as text_module
from governance.metrics.facts import ToolFacts
from governance.metrics.stemming import porter_stem, stem
from governance.metrics.text import (
    Analyzer,
    Document,
    Lexicon,
    NeighbourParams,
    TextModel,
    TextParams,
    descending_within,
    fold,
    normalise,
    rank_within,
    rowwise_dot,
    top_k_neighbours,
)


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("caresses", "caress"),
        ("ponies", "poni"),
        ("relational", "relat"),
        ("generalizations", "gener"),
        ("annotation", "annot"),
        ("annotations", "annot"),
        ("annotated", "annot"),
        ("tracking", "track"),
        ("detectors", "detector"),
        ("hopping", "hop"),
        ("ocr", "ocr"),
        ("m365", "m365"),
    ],
)
def test_porter_stem(word, stem):
    assert porter_stem(word) == stem


@pytest.mark.parametrize(
    "words",
    [
        ("anomaly", "anomalies", "anomalous"),
        ("classify", "classified", "classification", "classifier"),
        ("identify", "identification"),
        ("verify", "verification"),
        ("technology", "technologies", "technological"),
        ("category", "categories", "categorize"),
        ("summary", "summarize", "summarization"),
        ("transcribe", "transcribed", "transcription", "transcripts"),
        ("describe", "description"),
    ],
)
def test_stem_joins_the_forms_porter_leaves_apart(words):
    assert len({porter_stem(w) for w in words}) > 1
    assert len({stem(w) for w in words}) == 1


@pytest.mark.parametrize(
    "words",
    [("count", "county"), ("part", "party"), ("police", "policy"), ("need", "needy")],
)
def test_stem_keeps_short_stems_apart(words):
    assert len({stem(w) for w in words}) == len(words)


def test_normalise_folds_unicode_case_and_spaces():
    assert normalise("  Café\u00a0Résumé  ＯＣＲ\n tools ") == "cafe resume ocr tools"
    assert fold("Ａ/Ｖ") == "a/v"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Optical Character Recognition of scanned forms", ["ocr", "scan", "form"]),
        ("We use M365 Copilot and Copilot for Microsoft 365", ["toolmicrosoft365copilot"] * 2),
        ("GitHub Copilot writes code", ["toolgithubcopilot", "write", "code"]),
        ("Speech-to-text transcription", ["speechtotext", "transcript"]),
        ("The purpose of the AI system is to help", []),
    ],
)
def test_analyzer_terms_normalise_tools_and_phrases(text, expected):
    assert Analyzer().terms(text) == expected


def test_catalogue_aliases_extend_the_seed_tools():
    lexicon = Lexicon.with_catalogue([ToolFacts("Westlaw", "Thomson Reuters", ("WL Edge",))])
    assert lexicon.tools_in("Research on WL Edge and westlaw precision") == {"Westlaw"}
    assert lexicon.tools_in("no tool here") == frozenset()


def test_display_shows_words_tools_and_phrases():
    analyzer = Analyzer()
    analyzer.terms("legal research researchers research tools Grammarly OCR")
    assert analyzer.display("research") == "research"
    assert analyzer.display("toolgrammarly") == "Grammarly"
    assert analyzer.display("ocr") == "OCR"
    assert analyzer.display("legal research") == "legal research"


def test_a_phrase_is_shown_as_people_wrote_it():
    # given texts where "consuming" is the most frequent word of its stem, but the phrase is
    # always written "consumer complaints"
    analyzer = Analyzer()
    analyzer.terms("Consuming less time and consuming fewer staff hours, consuming nothing.")
    analyzer.terms("Sort consumer complaints by product; consumer complaints rise.")
    analyzer.terms("Route consumers complaint letters")
    # then the word alone is its most frequent form, but the phrase reads as written most often
    assert analyzer.display("consum") == "consuming"
    assert analyzer.display("consum complaint") == "consumer complaints"
    # a phrase never seen written is composed from its words, and tools keep their names
    assert analyzer.display("complaint consum") == "complaints consuming"
    analyzer.terms("Grammarly suggestions for consumer letters")
    assert analyzer.display("toolgrammarly suggest") == "Grammarly suggestions"


def test_phrase_forms_are_kept_once_the_counting_is_over():
    with mock.patch.object(text_module, "WORD_COUNT_TEXTS", 2):
        analyzer = Analyzer()
        analyzer.terms("consumer complaints: consuming, consuming, consuming")
        analyzer.terms("consumer complaints")
        analyzer.terms("consuming complaint consuming complaint consuming complaint")
    # the third text came after the counting: it changes nothing
    assert analyzer.display("consum complaint") == "consumer complaints"
    assert analyzer.phrases_as_written({"consum complaint"}) == {
        "consum complaint": "consumer complaints"
    }


def test_tfidf_rows_are_unit_length_and_ignore_unseen_terms():
    documents = [
        Document("Legal research", "case law search"),
        Document("Transcription", "audio to text"),
        Document("", ""),
    ]
    model, matrix, _, _ = TextModel.fit(documents, TextParams())
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    assert norms == pytest.approx([1.0, 1.0, 0.0], abs=1e-6)
    new, _ = model.transform([Document("zebra quokka", "")])
    assert new.nnz == 0


def test_sublinear_tf_and_name_weight():
    # given the same term once and five times, and a heavier name
    plain = TextParams(sublinear_tf=False)
    model, matrix, _, _ = TextModel.fit(
        [Document("", "ocr"), Document("", "ocr ocr ocr ocr ocr translation")], plain
    )
    _, sub_matrix, _, _ = TextModel.fit(
        [Document("", "ocr"), Document("", "ocr ocr ocr ocr ocr translation")], TextParams()
    )
    ocr = model.index["ocr"]
    translation = model.index["translat"]
    # then sublinear tf damps the repeated term relative to the single one
    ratio_plain = matrix[1, ocr] / matrix[1, translation]
    ratio_sub = sub_matrix[1, ocr] / sub_matrix[1, translation]
    assert ratio_sub < ratio_plain


def _random_matrix(seed: int, n: int, terms: int) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = (rng.random((n, terms)) < 0.08) * rng.random((n, terms))
    matrix = sp.csr_matrix(dense.astype(np.float32))
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1
    return sp.csr_matrix(sp.diags(1 / norms) @ matrix, dtype=np.float32)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_neighbours_match_brute_force(seed):
    matrix = _random_matrix(seed, 60, 40)
    rows, cols, scores = top_k_neighbours(matrix, 5, 0.05, NeighbourParams(exact_below=10**6))
    dense = (matrix @ matrix.T).toarray()
    np.fill_diagonal(dense, -1)
    for r in range(60):
        mine = cols[rows == r]
        expected = [c for c in np.argsort(-dense[r], kind="stable") if dense[r, c] >= 0.05][:5]
        assert list(mine) == expected
        assert scores[rows == r] == pytest.approx(dense[r, mine], abs=1e-5)


def test_approximate_neighbours_have_exact_scores_and_high_recall():
    matrix = _random_matrix(7, 300, 120)
    exact = top_k_neighbours(matrix, 10, 0.1, NeighbourParams(exact_below=10**6))
    approx = top_k_neighbours(matrix, 10, 0.1, NeighbourParams(exact_below=0))
    dense = (matrix @ matrix.T).toarray()
    assert approx[2] == pytest.approx(dense[approx[0], approx[1]], abs=1e-5)
    found = set(zip(approx[0].tolist(), approx[1].tolist(), strict=True))
    wanted = list(zip(exact[0].tolist(), exact[1].tolist(), strict=True))
    assert sum(pair in found for pair in wanted) / len(wanted) > 0.9


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=1, max_value=8))
def test_neighbours_never_include_self_and_respect_k(seed, k):
    matrix = _random_matrix(seed, 40, 30)
    rows, cols, scores = top_k_neighbours(matrix, k, 0.0, NeighbourParams(exact_below=0))
    assert not np.any(rows == cols)
    assert np.all(np.bincount(rows, minlength=40) <= k)
    assert np.all((scores >= -1e-6) & (scores <= 1 + 1e-6))


_FIELD_TEXTS = (
    "",
    "Legal research on case law",
    "Résumé screening with Westlaw Edge and OCR",
    "optical character recognition of scanned forms",
    "Transcription of hearings; speech to text",
    "Microsoft 365 Copilot drafts the case summaries",
)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(*(st.sampled_from(_FIELD_TEXTS) for _ in range(4))), min_size=1, max_size=12
    ),
    st.integers(min_value=0, max_value=6),
)
def test_fit_rows_are_the_rows_of_each_document_alone(fields, counted):
    # given documents that repeat texts (the batch analyses each distinct text once, once the
    # word counts for display are complete: after `counted` texts here)
    documents = [Document(*f) for f in fields]
    with mock.patch.object(text_module, "WORD_COUNT_TEXTS", counted):
        model, matrix, phrases, tools = TextModel.fit(documents, TextParams(name_weight=2.0))
    # then every row is the row of its document analysed alone, and so are the tools it names
    alone, alone_phrases = model.transform(documents)
    assert (matrix != alone).nnz == 0
    assert (phrases != alone_phrases).nnz == 0
    lexicon = Lexicon()
    for document, named in zip(documents, tools, strict=True):
        fields_named = [lexicon.tools_in(f) for f in (document.name, document.problem)]
        fields_named += [lexicon.tools_in(f) for f in (document.benefits, document.outputs)]
        assert named == frozenset().union(*fields_named)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=5),
            st.sampled_from((0.0, -0.0, 0.25, 0.5, 0.5000001, 1.0, 3e-39)),
        ),
        max_size=40,
    )
)
def test_descending_within_is_the_lexsort_order(entries):
    groups = np.asarray([g for g, _ in entries], dtype=np.int64)
    values = np.asarray([v for _, v in entries], dtype=np.float32)
    expected = np.lexsort((-values, groups))
    assert descending_within(groups, values).tolist() == expected.tolist()
    # and the rank inside each group counts the group's earlier elements
    ranks = rank_within(groups[expected])
    assert ranks.tolist() == [
        int(np.sum(groups[expected][:i] == g)) for i, g in enumerate(groups[expected])
    ]


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.sampled_from((0.1, 0.4, 1.0)))
def test_rowwise_dot_is_the_dot_of_each_pair(seed, density):
    # given sparse rows, many of them empty or with a single entry
    rng = np.random.default_rng(seed)
    matrix = sp.random(30, 6, density=density / 3, format="csr", dtype=np.float32, rng=rng)
    single = sp.csr_matrix(
        (np.ones(20, dtype=np.float32), rng.integers(0, 3, 20), np.r_[0, np.arange(21)]),
        shape=(21, 3),
    )
    for m in (matrix, single):
        rows = rng.integers(0, m.shape[0], 50)
        cols = rng.integers(0, m.shape[0], 50)
        dense = m.toarray()
        expected = np.einsum("ij,ij->i", dense[rows], dense[cols])
        assert rowwise_dot(m, m, rows, cols) == pytest.approx(expected, abs=1e-6)
