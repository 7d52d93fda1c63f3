"""Pairwise overlap of projects: a score in [0, 1], a grade and the reasons in words.

Evidence for a pair (a, b), each in [0, 1]:

* text: cosine of the TF-IDF vectors of name, problem, benefits and outputs (`text.py`);
* capability, tool, vendor: overlap coefficient |A ∩ B| / min(|A|, |B|) of the explicit
  capabilities, of the tools (explicit or named in the text) and of their vendors, 0 when
  either side has none;
* data: cosine of the data descriptions (0 when either is empty);
* context: the mean of "same topic area", the Jaccard index of the AI techniques and "both
  process personal data".

The score combines them as a noisy-OR: every piece of evidence closes a fixed share of the
gap that the text leaves,

    score = 1 − (1 − text) · Π_k (1 − w_k · evidence_k)

with w = capability 0.5, tool 0.1, vendor 0.05, data 0.1, context 0.05. Text alone gives
score = text; no structure alone reaches more than 1 − 0.5·0.9·0.95·0.9·0.95 ≈ 0.63.

Grades (first rule that holds):

* duplicate: text ≥ 0.8, or the same name (case and spacing ignored) and text ≥ 0.5;
* overlapping: a shared capability, or text ≥ 0.25 (same capability: could share one solution);
* complementary: a shared tool or vendor, or data ≥ 0.5 (same tools or data, another purpose).

A pair is reported when it has a grade and a score ≥ 0.2; every project keeps its best
`pairs_per_project` pairs (a pair is kept when it is among the best of either project).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from governance.metrics.facts import ProjectFacts, ToolFacts
from governance.metrics.text import (
    Analyzer,
    Document,
    Lexicon,
    NeighbourParams,
    TextModel,
    TextParams,
    descending_within,
    l2_normalise,
    normalise,
    rank_within,
    rowwise_dot,
    slug,
    top_k_neighbours,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

DUPLICATE = "duplicate"
OVERLAPPING = "overlapping"
COMPLEMENTARY = "complementary"
GRADES = (DUPLICATE, OVERLAPPING, COMPLEMENTARY)
_GRADE_CODES = {0: "", 1: COMPLEMENTARY, 2: OVERLAPPING, 3: DUPLICATE}


@dataclass(frozen=True)
class OverlapParams:
    """The documented constants of the overlap score, grades and search."""

    text: TextParams = field(default_factory=lambda: TextParams(name_weight=2.0))
    neighbours: NeighbourParams = field(default_factory=NeighbourParams)
    capability_weight: float = 0.5
    tool_weight: float = 0.1
    vendor_weight: float = 0.05
    data_weight: float = 0.1
    context_weight: float = 0.05
    floor: float = 0.2
    overlapping_text: float = 0.25
    duplicate_text: float = 0.8
    duplicate_same_name_text: float = 0.5
    complementary_data: float = 0.5
    pairs_per_project: int = 5
    # Candidate search: the k best neighbours of each project by a vector that gives 80 % of
    # its length to the text and 20 % to tools and capabilities, above a low floor.
    candidates_per_project: int = 20
    candidate_floor: float = 0.1
    structure_share: float = 0.2


@dataclass(frozen=True, slots=True)
class OverlapPair:
    """Two projects that overlap; `a_id` < `b_id`. `text_similarity` is the text cosine."""

    a_id: int
    b_id: int
    score: float
    grade: str
    cross_unit: bool
    reasons: tuple[str, ...]
    text_similarity: float


@dataclass(frozen=True)
class HygieneFinding:
    """Registry hygiene inside one scope unit, not overlap across units.

    `kind` is `same_name` (one unit registers the same name several times) or `duplicate`
    (duplicate-grade pairs inside one unit, grouped).
    """

    kind: str
    scope_unit_id: int
    project_ids: tuple[int, ...]
    label: str


@dataclass(frozen=True)
class Evidence:
    """The evidence and score of a batch of pairs (aligned arrays)."""

    text: FloatArray
    capability: FloatArray
    tool: FloatArray
    vendor: FloatArray
    data: FloatArray
    context: FloatArray
    same_name: BoolArray
    score: FloatArray
    grade: npt.NDArray[np.int8]


def _binary_matrix(rows: Sequence[Iterable[str]], vocabulary: dict[str, int]) -> sp.csr_matrix:
    indptr = [0]
    cols: list[int] = []
    for items in rows:
        cols.extend(sorted({vocabulary[item] for item in items}))
        indptr.append(len(cols))
    return sp.csr_matrix(
        (np.ones(len(cols), dtype=np.float32), np.asarray(cols, dtype=np.int32), indptr),
        shape=(len(rows), max(1, len(vocabulary))),
        dtype=np.float32,
    )


def _vocabulary(rows: Sequence[Iterable[str]]) -> dict[str, int]:
    keys = sorted({item for items in rows for item in items})
    return {key: i for i, key in enumerate(keys)}


def _overlap_coefficient(
    matrix: sp.csr_matrix, counts: FloatArray, rows: IntArray, cols: IntArray
) -> FloatArray:
    shared = rowwise_dot(matrix, matrix, rows, cols).astype(np.float64)
    smaller = np.minimum(counts[rows], counts[cols])
    return np.where(smaller > 0, shared / np.maximum(smaller, 1.0), 0.0)


def combine(
    params: OverlapParams,
    text: FloatArray,
    capability: FloatArray,
    tool: FloatArray,
    vendor: FloatArray,
    data: FloatArray,
    context: FloatArray,
    same_name: BoolArray,
) -> Evidence:
    """Score (noisy-OR) and grade of pairs from their evidence (see the module docstring)."""
    p = params
    gap = (
        (1.0 - text)
        * (1.0 - p.capability_weight * capability)
        * (1.0 - p.tool_weight * tool)
        * (1.0 - p.vendor_weight * vendor)
        * (1.0 - p.data_weight * data)
        * (1.0 - p.context_weight * context)
    )
    score = np.clip(1.0 - gap, 0.0, 1.0)
    duplicate = (text >= p.duplicate_text) | (same_name & (text >= p.duplicate_same_name_text))
    overlapping = (capability > 0) | (text >= p.overlapping_text)
    complementary = ((tool > 0) | (vendor > 0) | (data >= p.complementary_data)) & (
        score >= p.floor
    )
    grade = np.where(duplicate, 3, np.where(overlapping, 2, np.where(complementary, 1, 0))).astype(
        np.int8
    )
    return Evidence(text, capability, tool, vendor, data, context, same_name, score, grade)


def grade_name(code: int) -> str:
    return _GRADE_CODES[code]


def pick_shared_terms(
    term_weights: dict[str, float], phrase_candidates: Sequence[str], limit: int
) -> list[str]:
    """Shared terms strongest first; a shared two-word phrase replaces its two words."""
    if not phrase_candidates:
        return sorted(term_weights, key=lambda t: (-term_weights[t], t))[:limit]
    candidates = []
    for phrase in phrase_candidates:
        first, second = phrase.split(" ", 1)
        if first in term_weights and second in term_weights:
            candidates.append((term_weights[first] + term_weights[second], first, second))
    chosen: list[tuple[float, str]] = []
    covered: set[str] = set()
    for weight, first, second in sorted(candidates, key=lambda c: (-c[0], c[1], c[2])):
        if not {first, second} & covered:
            chosen.append((weight, f"{first} {second}"))
            covered.update((first, second))
    for term, weight in term_weights.items():
        if term not in covered:
            chosen.append((weight, term))
    chosen.sort(key=lambda item: (-item[0], item[1]))
    return [term for _, term in chosen[:limit]]


@dataclass(frozen=True)
class Structure:
    """The structural facts of one project or query, keyed by slug with display names."""

    tools: frozenset[str] = frozenset()
    vendors: Mapping[str, str] = field(default_factory=dict)
    capabilities: Mapping[str, str] = field(default_factory=dict)
    techniques: Mapping[str, str] = field(default_factory=dict)
    topic: str = ""
    pii: bool = False
    topic_key: str = ""

    @classmethod
    def of(
        cls,
        lexicon: Lexicon,
        *,
        text: str = "",
        mentioned: frozenset[str] | None = None,
        tools: Iterable[str] = (),
        vendors: Iterable[str] = (),
        capabilities: Iterable[str] = (),
        techniques: Iterable[str] = (),
        topic: str = "",
        pii: bool | None = None,
    ) -> Structure:
        canonical = lexicon.canonical_tools
        explicit = {canonical.get(slug(t), t.strip()) for t in tools if t.strip()}
        found = lexicon.tools_in(text) if mentioned is None else mentioned
        tool_set = frozenset(explicit | found)
        vendor_map = {slug(v): v.strip() for v in vendors if v.strip()}
        for tool in sorted(tool_set):
            vendor = lexicon.tool_vendors.get(tool, "")
            if vendor:
                vendor_map.setdefault(slug(vendor), vendor)
        return cls(
            tools=tool_set,
            vendors=vendor_map,
            capabilities={slug(c): c.strip() for c in capabilities if slug(c)},
            techniques={slug(t): t.strip() for t in techniques if slug(t)},
            topic=topic.strip(),
            pii=pii is True,
            topic_key=slug(topic),
        )


def describe(
    a: Structure,
    b: Structure,
    lexicon: Lexicon,
    *,
    same_name: bool,
    shared_terms: Sequence[str],
    data: float,
    params: OverlapParams,
) -> tuple[str, ...]:
    """The reasons of a pair, in words ("both use Westlaw", "shared terms: legal research")."""
    reasons: list[str] = []
    if same_name:
        reasons.append("same name")
    if a.capabilities and b.capabilities:
        common_caps = sorted(a.capabilities.keys() & b.capabilities.keys())
        if common_caps:
            label = "same capability" if len(common_caps) == 1 else "same capabilities"
            reasons.append(f"{label}: " + ", ".join(a.capabilities[c] for c in common_caps))
    common_tools: list[str] = []
    if a.tools and b.tools:
        common_tools = sorted(a.tools & b.tools, key=str.lower)
        if common_tools:
            reasons.append("both use " + ", ".join(common_tools))
    if a.vendors and b.vendors:
        tool_vendors = {slug(lexicon.tool_vendors.get(t, "")) for t in common_tools}
        common_vendors = sorted((a.vendors.keys() & b.vendors.keys()) - tool_vendors)
        if common_vendors:
            reasons.append("same vendor: " + ", ".join(a.vendors[v] for v in common_vendors))
    if shared_terms:
        reasons.append("shared terms: " + ", ".join(shared_terms))
    if data >= params.complementary_data:
        reasons.append(f"similar data descriptions ({data:.2f})")
    if a.pii and b.pii:
        reasons.append("both process personal data")
    if a.topic_key and a.topic_key == b.topic_key:
        reasons.append(f"same topic: {a.topic}")
    if a.techniques and b.techniques:
        common_techniques = sorted(a.techniques.keys() & b.techniques.keys())
        if common_techniques:
            reasons.append(
                "same technique: " + ", ".join(a.techniques[t] for t in common_techniques)
            )
    return tuple(reasons)


class ProjectProfiles:
    """Everything the overlap score needs about a set of projects, as aligned arrays.

    Rows follow `projects` sorted by id, so that results do not depend on the input order.
    """

    def __init__(
        self,
        projects: Iterable[ProjectFacts],
        params: OverlapParams | None = None,
        lexicon: Lexicon | None = None,
    ) -> None:
        self.params = params or OverlapParams()
        self.lexicon = lexicon or Lexicon()
        self.projects: tuple[ProjectFacts, ...] = tuple(sorted(projects, key=lambda p: p.id))
        ids = [p.id for p in self.projects]
        if len(set(ids)) != len(ids):
            raise ValueError("project ids must be unique")
        self.ids = np.asarray(ids, dtype=np.int64)
        self.position = {pid: i for i, pid in enumerate(ids)}
        self.scope = np.asarray([p.scope_unit_id for p in self.projects], dtype=np.int64)
        documents = [Document.of(p) for p in self.projects]
        fitted = TextModel.fit(documents, self.params.text, self.lexicon)
        self.text_model, self.text, self.phrases = fitted.model, fitted.matrix, fitted.phrases
        self.mentioned_tools = fitted.tools
        self.analyzer: Analyzer = self.text_model.analyzer
        self._build_structure(self.projects)

    # Structure -------------------------------------------------------------------------
    def _build_structure(self, projects: Sequence[ProjectFacts]) -> None:
        self.structures = [
            Structure.of(
                self.lexicon,
                mentioned=self.mentioned_tools[i],
                tools=p.tools,
                vendors=p.vendors,
                capabilities=p.capabilities,
                techniques=p.techniques,
                topic=p.topic,
                pii=p.involves_pii,
            )
            for i, p in enumerate(projects)
        ]
        self.tool_names = [s.tools for s in self.structures]
        self.capability_names = [s.capabilities for s in self.structures]
        self.vendor_names = [s.vendors for s in self.structures]
        tool_keys = [{slug(t) for t in tools} for tools in self.tool_names]
        self.tool_matrix = _binary_matrix(tool_keys, _vocabulary(tool_keys))
        self.vendor_matrix = _binary_matrix(
            [v.keys() for v in self.vendor_names],
            _vocabulary([v.keys() for v in self.vendor_names]),
        )
        caps = [c.keys() for c in self.capability_names]
        self.capability_matrix = _binary_matrix(caps, _vocabulary(caps))
        techniques = [s.techniques.keys() for s in self.structures]
        self.technique_matrix = _binary_matrix(techniques, _vocabulary(techniques))
        topics = [{slug(s.topic)} if slug(s.topic) else set() for s in self.structures]
        self.topic_matrix = _binary_matrix(topics, _vocabulary(topics))
        self.tool_count = np.asarray(self.tool_matrix.sum(axis=1), dtype=np.float64).ravel()
        self.vendor_count = np.asarray(self.vendor_matrix.sum(axis=1), dtype=np.float64).ravel()
        self.capability_count = np.asarray(
            self.capability_matrix.sum(axis=1), dtype=np.float64
        ).ravel()
        self.technique_count = np.asarray(
            self.technique_matrix.sum(axis=1), dtype=np.float64
        ).ravel()
        self.pii = np.asarray([p.involves_pii is True for p in projects], dtype=np.float64)
        self.names = [normalise(p.name) for p in projects]
        name_codes: dict[str, int] = {}
        self.name_code = np.asarray(
            [
                name_codes.setdefault(n, len(name_codes)) if n else -1 - i
                for i, n in enumerate(self.names)
            ],
            dtype=np.int64,
        )
        data_docs = [Document(problem=p.data_description) for p in projects]
        self.data_model: TextModel | None = None
        self.data = sp.csr_matrix((len(projects), 1), dtype=np.float32)
        if any(p.data_description.strip() for p in projects):
            data = TextModel.fit(data_docs, TextParams(), self.lexicon)
            self.data_model, self.data = data.model, data.matrix

    def __len__(self) -> int:
        return len(self.projects)

    # Search ----------------------------------------------------------------------------
    def structure_rows(self) -> sp.csr_matrix:
        """Tools and capabilities as one L2-normalised block (for the candidate search)."""
        return l2_normalise(sp.hstack([self.tool_matrix, self.capability_matrix]).tocsr())

    def search_matrix(self) -> sp.csr_matrix:
        """Text and structure in one vector: dot = (1 − s)·text + s·structure cosine."""
        share = self.params.structure_share
        return sp.hstack(
            [self.text * math.sqrt(1.0 - share), self.structure_rows() * math.sqrt(share)],
            format="csr",
        )

    def candidate_pairs(self, k: int) -> tuple[IntArray, IntArray, FloatArray]:
        """Unordered candidate pairs (i < j, by row) from the k nearest neighbours of each row.

        Returns (rows, cols, text cosines).
        """
        n = len(self)
        rows, cols, dots = top_k_neighbours(
            self.search_matrix(), k, self.params.candidate_floor, self.params.neighbours
        )
        keys = np.minimum(rows, cols) * n + np.maximum(rows, cols)
        keys, first = np.unique(keys, return_index=True)
        rows, cols = keys // n, keys % n
        # The search dot mixes text and structure; take the structure's part out again.
        share = self.params.structure_share
        structure = self.structure_rows()
        structure_dots = rowwise_dot(structure, structure, rows, cols).astype(np.float64)
        text = (dots[first].astype(np.float64) - share * structure_dots) / (1.0 - share)
        return rows, cols, np.clip(text, 0.0, 1.0)

    # Scoring ---------------------------------------------------------------------------
    def evidence(self, rows: IntArray, cols: IntArray, text: FloatArray | None = None) -> Evidence:
        """Evidence, score and grade for the pairs (rows[i], cols[i]).

        `text` is their text cosine when already known (the candidate search gives it).
        """
        if text is None:
            text = np.clip(rowwise_dot(self.text, self.text, rows, cols).astype(np.float64), 0, 1)
        capability = _overlap_coefficient(self.capability_matrix, self.capability_count, rows, cols)
        tool = _overlap_coefficient(self.tool_matrix, self.tool_count, rows, cols)
        vendor = _overlap_coefficient(self.vendor_matrix, self.vendor_count, rows, cols)
        data = np.clip(rowwise_dot(self.data, self.data, rows, cols).astype(np.float64), 0, 1)
        topic = rowwise_dot(self.topic_matrix, self.topic_matrix, rows, cols).astype(np.float64)
        shared_techniques = rowwise_dot(
            self.technique_matrix, self.technique_matrix, rows, cols
        ).astype(np.float64)
        union = self.technique_count[rows] + self.technique_count[cols] - shared_techniques
        technique = np.where(union > 0, shared_techniques / np.maximum(union, 1.0), 0.0)
        context = (topic + technique + self.pii[rows] * self.pii[cols]) / 3.0
        same_name = self.name_code[rows] == self.name_code[cols]
        return combine(self.params, text, capability, tool, vendor, data, context, same_name)

    def score_matrix(self, idx: IntArray) -> FloatArray:
        """The dense matrix of scores among the given rows (diagonal 1)."""
        m = len(idx)

        def block(matrix: sp.csr_matrix) -> FloatArray:
            sub = matrix[idx]
            return np.asarray((sub @ sub.T).toarray(), dtype=np.float64)

        def coefficient(matrix: sp.csr_matrix, counts: FloatArray) -> FloatArray:
            smaller = np.minimum.outer(counts[idx], counts[idx])
            return np.where(smaller > 0, block(matrix) / np.maximum(smaller, 1.0), 0.0)

        text = np.clip(block(self.text), 0.0, 1.0)
        techniques = block(self.technique_matrix)
        union = np.add.outer(self.technique_count[idx], self.technique_count[idx]) - techniques
        technique = np.where(union > 0, techniques / np.maximum(union, 1.0), 0.0)
        context = block(self.topic_matrix) + technique + np.outer(self.pii[idx], self.pii[idx])
        codes = self.name_code[idx]
        evidence = combine(
            self.params,
            text,
            coefficient(self.capability_matrix, self.capability_count),
            coefficient(self.tool_matrix, self.tool_count),
            coefficient(self.vendor_matrix, self.vendor_count),
            np.clip(block(self.data), 0.0, 1.0),
            context / 3.0,
            codes[:, None] == codes[None, :],
        )
        scores = evidence.score
        scores[np.arange(m), np.arange(m)] = 1.0
        return scores

    # Reasons ---------------------------------------------------------------------------
    def shared_terms(self, rows: IntArray, cols: IntArray, limit: int = 3) -> list[list[str]]:
        """For every pair, up to `limit` shared terms as words, strongest first.

        A term's strength is the product of its two weights; a two-word phrase that both texts
        contain, made of two of the pair's five strongest terms, replaces them with the sum of
        their strengths ("legal research" rather than "legal, research"). Tool names are left
        to the "both use" reason.
        """
        model = self.text_model
        tool_terms = self.lexicon.tool_terms
        exclude = np.fromiter((t in tool_terms for t in model.terms), bool, len(model.terms))
        t_bounds, t_cols, t_vals = _top_entries(self.text, self.text, rows, cols, 5, exclude)
        p_bounds, p_cols, _ = _top_entries(self.phrases, self.phrases, rows, cols, 6)
        first, second = self._phrase_parts()
        display = self.analyzer.display
        shown: dict[int, str] = {}

        def word(c: int) -> str:
            text = shown.get(c)
            if text is None:
                text = shown[c] = display(model.terms[c])
            return text

        out: list[list[str]] = []
        for i in range(len(rows)):
            a, b = t_bounds[i], t_bounds[i + 1]
            top = t_cols[a:b]
            pa, pb = p_bounds[i], p_bounds[i + 1]
            if pa == pb:
                out.append([word(c) for c in top[:limit]])
                continue
            weight = dict(zip(top, t_vals[a:b], strict=True))
            candidates = []
            for phrase in p_cols[pa:pb]:
                f, g = first[phrase], second[phrase]
                if f in weight and g in weight:
                    candidates.append((-(weight[f] + weight[g]), f, g))
            if not candidates:
                out.append([word(c) for c in top[:limit]])
                continue
            candidates.sort()
            chosen: list[tuple[float, int, int]] = []
            covered: set[int] = set()
            for strength, f, g in candidates:
                if f not in covered and g not in covered:
                    chosen.append((strength, f, g))
                    covered.update((f, g))
            chosen.extend((-weight[c], c, -1) for c in top if c not in covered)
            chosen.sort()
            out.append([word(f) if g < 0 else f"{word(f)} {word(g)}" for _, f, g in chosen[:limit]])
        return out

    def _phrase_parts(self) -> tuple[list[int], list[int]]:
        """The term columns of the two words of every phrase (-1 when not a term)."""
        index = self.text_model.index
        first: list[int] = []
        second: list[int] = []
        for phrase in self.text_model.phrase_terms:
            f, g = phrase.split(" ", 1)
            first.append(index.get(f, -1))
            second.append(index.get(g, -1))
        return first, second

    def reasons(self, rows: IntArray, cols: IntArray, evidence: Evidence) -> list[tuple[str, ...]]:
        """The reasons of every pair, in words."""
        shared = self.shared_terms(rows, cols)
        return [
            describe(
                self.structures[a],
                self.structures[b],
                self.lexicon,
                same_name=bool(evidence.same_name[i]),
                shared_terms=shared[i],
                data=float(evidence.data[i]),
                params=self.params,
            )
            for i, (a, b) in enumerate(zip(rows.tolist(), cols.tolist(), strict=True))
        ]


def _top_entries(
    left: sp.csr_matrix,
    right: sp.csr_matrix,
    rows: IntArray,
    cols: IntArray,
    limit: int,
    exclude: BoolArray | None = None,
) -> tuple[list[int], list[int], list[float]]:
    """For every pair, the `limit` columns with the largest products (largest first).

    Returns (bounds, columns, products): pair i owns columns[bounds[i]:bounds[i + 1]].
    Columns flagged in `exclude` are skipped.
    """
    bounds = [0]
    out_cols: list[int] = []
    out_vals: list[float] = []
    step = 100_000
    for start in range(0, len(rows), step):
        stop = min(len(rows), start + step)
        product = left[rows[start:stop]].multiply(right[cols[start:stop]]).tocsr()
        product.sum_duplicates()
        lengths = np.diff(product.indptr)
        pair = np.repeat(np.arange(stop - start), lengths)
        keep = product.data > 0
        if exclude is not None:
            keep &= ~exclude[product.indices]
        pair, columns, values = pair[keep], product.indices[keep], product.data[keep]
        order = descending_within(pair, values)
        pair, columns, values = pair[order], columns[order], values[order]
        keep = rank_within(pair) < limit
        pair, columns, values = pair[keep], columns[keep], values[keep]
        counts = np.bincount(pair, minlength=stop - start)
        bounds.extend((np.cumsum(counts) + bounds[-1]).tolist())
        out_cols.extend(columns.tolist())
        out_vals.extend(values.tolist())
    return bounds, out_cols, out_vals


@dataclass(frozen=True)
class OverlapAnalysis:
    """The reported pairs, the hygiene findings, and what clustering reuses."""

    pairs: tuple[OverlapPair, ...]
    hygiene: tuple[HygieneFinding, ...]
    profiles: ProjectProfiles = field(repr=False, compare=False)
    # Candidate pairs (rows of `profiles`, i < j) with their scores, for clustering.
    candidate_rows: IntArray = field(repr=False, compare=False)
    candidate_cols: IntArray = field(repr=False, compare=False)
    candidate_scores: FloatArray = field(repr=False, compare=False)
    candidate_grades: npt.NDArray[np.int8] = field(repr=False, compare=False)
    candidate_text: FloatArray = field(repr=False, compare=False)
    candidate_capability: FloatArray = field(repr=False, compare=False)


def find_overlaps(
    projects: Iterable[ProjectFacts] | ProjectProfiles,
    params: OverlapParams | None = None,
    *,
    tools: Iterable[ToolFacts] = (),
) -> OverlapAnalysis:
    """Overlapping pairs and registry hygiene of a portfolio (see the module docstring).

    `tools` is the registry's tool catalogue (merged over the seed catalogue) used to find tool
    names in the text. Deterministic and independent of the order of `projects`.
    """
    if isinstance(projects, ProjectProfiles):
        profiles = projects
    else:
        profiles = ProjectProfiles(projects, params, Lexicon.with_catalogue(tools))
    p = profiles.params
    rows, cols, text = profiles.candidate_pairs(p.candidates_per_project)
    evidence = profiles.evidence(rows, cols, text)
    reported = (evidence.grade > 0) & ((evidence.score >= p.floor) | (evidence.grade == 3))
    keep = _best_per_project(rows, cols, evidence.score, reported, p.pairs_per_project)
    sel = np.flatnonzero(keep)
    kept = Evidence(*(getattr(evidence, f)[sel] for f in Evidence.__dataclass_fields__))
    reasons = profiles.reasons(rows[sel], cols[sel], kept)
    ids, scope = profiles.ids, profiles.scope
    kept_rows, kept_cols = rows[sel], cols[sel]
    pairs = tuple(
        map(
            OverlapPair,
            ids[kept_rows].tolist(),
            ids[kept_cols].tolist(),
            np.round(kept.score, 4).tolist(),
            [grade_name(g) for g in kept.grade.tolist()],
            (scope[kept_rows] != scope[kept_cols]).tolist(),
            reasons,
            np.round(kept.text, 4).tolist(),
        )
    )
    hygiene = _hygiene(profiles, rows[sel], cols[sel], kept)
    return OverlapAnalysis(
        pairs,
        hygiene,
        profiles,
        rows,
        cols,
        evidence.score,
        evidence.grade,
        evidence.text,
        evidence.capability,
    )


def _best_per_project(
    rows: IntArray, cols: IntArray, score: FloatArray, eligible: BoolArray, limit: int
) -> BoolArray:
    """Eligible pairs among the `limit` best of either of their projects."""
    keep = np.zeros(len(rows), dtype=bool)
    idx = np.flatnonzero(eligible)
    if idx.size == 0:
        return keep
    ends = np.concatenate([rows[idx], cols[idx]])
    others = np.concatenate([cols[idx], rows[idx]])
    pair = np.concatenate([idx, idx])
    order = _by_end_best_first(ends, score[pair], others)
    best = order[rank_within(ends[order]) < limit]
    keep[pair[best]] = True
    return keep


def _by_end_best_first(ends: IntArray, score: FloatArray, others: IntArray) -> IntArray:
    """The order of `np.lexsort((others, -score, ends))`, by two stable sorts of integer keys
    (the scores replaced by their rank) when the ends fit in 32 bits."""
    if ends.size == 0 or int(ends.min()) < 0 or int(ends.max()) >= 2**32 or np.isnan(score).any():
        return np.lexsort((others, -score, ends))
    distinct, rank = np.unique(score, return_inverse=True)
    descending = (distinct.size - 1 - rank.ravel()).astype(np.uint64)
    by_other = np.argsort(others, kind="stable")
    key = (ends.astype(np.uint64) << np.uint64(32)) | descending
    return by_other[np.argsort(key[by_other], kind="stable")]


def _hygiene(
    profiles: ProjectProfiles, rows: IntArray, cols: IntArray, evidence: Evidence
) -> tuple[HygieneFinding, ...]:
    findings: list[HygieneFinding] = []
    by_name: dict[tuple[int, str], list[int]] = defaultdict(list)
    for i, project in enumerate(profiles.projects):
        if profiles.names[i]:
            by_name[(project.scope_unit_id, profiles.names[i])].append(project.id)
    named_group: dict[int, int] = {}
    for (scope_id, _), members in sorted(by_name.items()):
        if len(members) >= 2:
            first = profiles.projects[profiles.position[members[0]]]
            findings.append(HygieneFinding("same_name", scope_id, tuple(members), first.name))
            for member in members:
                named_group[member] = len(findings)
    # Duplicate-grade pairs inside one scope unit, grouped (duplicates do not chain: text ≥ 0.8).
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    ids, scope = profiles.ids, profiles.scope
    inside = (evidence.grade == 3) & (scope[rows] == scope[cols])
    for a, b in zip(rows[inside].tolist(), cols[inside].tolist(), strict=True):
        ra, rb = root(int(ids[a])), root(int(ids[b]))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = defaultdict(list)
    for member in list(parent):
        groups[root(member)].append(member)
    for members in sorted(sorted(g) for g in groups.values()):
        if len(members) < 2 or len({named_group.get(m, -m) for m in members}) == 1:
            continue
        first = profiles.projects[profiles.position[members[0]]]
        findings.append(
            HygieneFinding("duplicate", first.scope_unit_id, tuple(members), first.name)
        )
    return tuple(findings)
