"""The similar-project index: "is this new registration an existing project?" in milliseconds.

`SimilarityIndex.build(projects)` fits the text model and keeps each project's TF-IDF row and
structure. `query(...)` scores a draft project against all of them:

1. text cosine with every project (the query's few terms against the column-oriented matrix);
2. the `candidates` best by text, plus the projects sharing a tool or capability with the draft,
   are scored with the overlap score and grade of `overlap.py` (data descriptions are not part
   of the index: their evidence is 0);
3. results are ranked by score, with `scope_bonus` (0.1) added *for ranking only* to projects of
   the draft's own scope unit, because a re-registration comes from the same unit; the score
   returned is the plain overlap score. Results below `min_score` are dropped.

`add(projects)` appends projects created since the build: their terms are weighted with the
build's idf, and a word the build never saw becomes a new term of the vocabulary (its idf from
the added projects that hold it), so that a new project is found by its own new words until
the next nightly rebuild.
`to_bytes()` / `from_bytes()` store the index as one numpy ``.npz`` archive (arrays plus one
JSON document), loaded with ``allow_pickle=False``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from governance.metrics.facts import ProjectFacts, ToolFacts
from governance.metrics.overlap import (
    Evidence,
    OverlapParams,
    ProjectProfiles,
    Structure,
    combine,
    describe,
    grade_name,
    pick_shared_terms,
)
from governance.metrics.text import (
    Document,
    Lexicon,
    NeighbourParams,
    TextModel,
    TextParams,
    normalise,
    slug,
)

FORMAT_VERSION = 1
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class SimilarProject:
    project_id: int
    score: float
    grade: str
    reasons: tuple[str, ...]
    same_scope: bool


@dataclass(frozen=True)
class QueryParams:
    candidates: int = 200
    scope_bonus: float = 0.1
    min_score: float = 0.1


@dataclass
class _Rows:
    """Per-project data kept alongside the matrices (aligned with their rows)."""

    ids: list[int] = field(default_factory=list)
    scopes: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    structures: list[Structure] = field(default_factory=list)


class SimilarityIndex:
    """Prebuilt index for the intake check (see the module docstring)."""

    def __init__(
        self,
        model: TextModel,
        matrix: sp.csr_matrix,
        phrases: sp.csr_matrix,
        rows: _Rows,
        params: OverlapParams,
        query_params: QueryParams,
    ) -> None:
        self.model = model
        self.params = params
        self.query_params = query_params
        self._matrix = sp.csr_matrix(matrix, dtype=np.float32)
        self._phrases = sp.csr_matrix(phrases, dtype=np.float32)
        self._rows = rows
        self._columns: sp.csc_matrix | None = None
        self._position = {pid: i for i, pid in enumerate(rows.ids)}
        self._refresh_structure_index()

    # Building --------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        projects: Iterable[ProjectFacts],
        params: OverlapParams | None = None,
        *,
        tools: Iterable[ToolFacts] = (),
        query_params: QueryParams | None = None,
    ) -> SimilarityIndex:
        params = params or OverlapParams()
        lexicon = Lexicon.with_catalogue(tools)
        project_list = sorted(projects, key=lambda p: p.id)
        model, matrix, phrases, _ = TextModel.fit(
            [Document.of(p) for p in project_list], params.text, lexicon
        )
        index = cls(model, matrix, phrases, _Rows(), params, query_params or QueryParams())
        index._append_rows(project_list)
        return index

    @classmethod
    def from_profiles(
        cls, profiles: ProjectProfiles, query_params: QueryParams | None = None
    ) -> SimilarityIndex:
        """The index of the projects of `profiles`, sharing their fitted text and structures
        instead of analysing every text again; the same index as `build` over those projects
        (but for a tool alias split across two text fields, which `build` counts and the
        profiles do not).

        Build it before the profiles' model analyses other texts (goals): the words shown for
        its terms are taken now.
        """
        fitted = profiles.text_model
        model = TextModel(
            fitted.terms,
            fitted.idf,
            fitted.phrase_terms,
            fitted.phrase_idf,
            fitted.params,
            fitted.analyzer.lexicon,
        )
        display = fitted.analyzer.display
        model.analyzer.set_display(
            {term: display(term) for term in fitted.terms}
            | fitted.analyzer.phrases_as_written(fitted.phrase_index)
        )
        rows = _Rows(
            ids=[p.id for p in profiles.projects],
            scopes=[p.scope_unit_id for p in profiles.projects],
            names=list(profiles.names),
            structures=list(profiles.structures),
        )
        return cls(
            model,
            profiles.text,
            profiles.phrases,
            rows,
            profiles.params,
            query_params or QueryParams(),
        )

    def add(self, projects: Iterable[ProjectFacts]) -> None:
        """Append projects; an id already indexed is replaced by its new facts.

        One pass over the index whatever the number of projects, so that loading a stored
        index and adding everything changed since its build stays cheap.
        """
        project_list = sorted({p.id: p for p in projects}.values(), key=lambda p: p.id)
        if not project_list:
            return
        replaced = {self._position[p.id] for p in project_list if p.id in self._position}
        if replaced:
            keep = np.asarray([i for i in range(len(self)) if i not in replaced], dtype=np.int64)
            self._matrix = self._matrix[keep]
            self._phrases = self._phrases[keep]
            rows = self._rows
            self._rows = _Rows(
                ids=[rows.ids[i] for i in keep],
                scopes=[rows.scopes[i] for i in keep],
                names=[rows.names[i] for i in keep],
                structures=[rows.structures[i] for i in keep],
            )
            self._position = {pid: i for i, pid in enumerate(self._rows.ids)}
        documents = [Document.of(p) for p in project_list]
        if self.model.extend(documents, len(self) + len(documents)):
            width = len(self.model.terms)
            self._matrix = sp.csr_matrix(
                (self._matrix.data, self._matrix.indices, self._matrix.indptr),
                shape=(self._matrix.shape[0], width),
            )
        matrix, phrases = self.model.transform(documents)
        self._matrix = sp.vstack([self._matrix, matrix], format="csr")
        self._phrases = sp.vstack([self._phrases, phrases], format="csr")
        self._append_rows(project_list)

    def _structure_of(self, p: ProjectFacts) -> Structure:
        return Structure.of(
            self.model.analyzer.lexicon,
            text=Document.of(p).text(),
            tools=p.tools,
            vendors=p.vendors,
            capabilities=p.capabilities,
            techniques=p.techniques,
            topic=p.topic,
            pii=p.involves_pii,
        )

    def _append_rows(self, projects: list[ProjectFacts]) -> None:
        for p in projects:
            self._position[p.id] = len(self._rows.ids)
            self._rows.ids.append(p.id)
            self._rows.scopes.append(p.scope_unit_id)
            self._rows.names.append(normalise(p.name))
            self._rows.structures.append(self._structure_of(p))
        self._columns = None
        self._refresh_structure_index()

    def _refresh_structure_index(self) -> None:
        by_key: dict[str, list[int]] = {}
        for i, s in enumerate(self._rows.structures):
            for tool in s.tools:
                by_key.setdefault("t:" + slug(tool), []).append(i)
            for capability in s.capabilities:
                by_key.setdefault("c:" + capability, []).append(i)
        self._by_structure = by_key
        self._ids = np.asarray(self._rows.ids, dtype=np.int64)
        self._scopes = np.asarray(self._rows.scopes, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._rows.ids)

    # Querying --------------------------------------------------------------------------
    def query(
        self,
        *,
        name: str = "",
        problem: str = "",
        benefits: str = "",
        outputs: str = "",
        tools: Iterable[str] = (),
        vendors: Iterable[str] = (),
        capabilities: Iterable[str] = (),
        techniques: Iterable[str] = (),
        topic: str = "",
        involves_pii: bool | None = None,
        scope_unit_id: int | None = None,
        exclude_id: int | None = None,
        limit: int = 10,
    ) -> list[SimilarProject]:
        """The projects most similar to a draft, best first (see the module docstring)."""
        n = len(self)
        if n == 0 or limit <= 0:
            return []
        qp = self.query_params
        document = Document(name, problem, benefits, outputs)
        vector, phrase_vector = self.model.transform([document])
        structure = Structure.of(
            self.model.analyzer.lexicon,
            text=document.text(),
            tools=tools,
            vendors=vendors,
            capabilities=capabilities,
            techniques=techniques,
            topic=topic,
            pii=involves_pii,
        )
        text = self._text_scores(vector)
        pool = set(np.flatnonzero(text > 0).tolist()) if n <= qp.candidates else set()
        if not pool:
            count = min(qp.candidates, n)
            best = np.argpartition(-text, count - 1)[:count]
            pool = {int(i) for i in best if text[i] > 0}
        for tool in structure.tools:
            pool.update(self._by_structure.get("t:" + slug(tool), ()))
        for capability in structure.capabilities:
            pool.update(self._by_structure.get("c:" + capability, ()))
        if exclude_id is not None and exclude_id in self._position:
            pool.discard(self._position[exclude_id])
        if not pool:
            return []
        rows = np.asarray(sorted(pool), dtype=np.int64)
        evidence = self._evidence(structure, normalise(name), text[rows], rows)
        rank = evidence.score.copy()
        if scope_unit_id is not None:
            rank = rank + qp.scope_bonus * (self._scopes[rows] == scope_unit_id)
        keep = evidence.score >= qp.min_score
        order = sorted(np.flatnonzero(keep).tolist(), key=lambda i: (-rank[i], int(rows[i])))
        order = order[:limit]
        shared = self._shared_terms(vector, phrase_vector, rows[order])
        results = []
        for k, i in enumerate(order):
            r = int(rows[i])
            results.append(
                SimilarProject(
                    project_id=int(self._ids[r]),
                    score=round(float(evidence.score[i]), 4),
                    grade=grade_name(int(evidence.grade[i])),
                    reasons=describe(
                        structure,
                        self._rows.structures[r],
                        self.model.analyzer.lexicon,
                        same_name=bool(evidence.same_name[i]),
                        shared_terms=shared[k],
                        data=0.0,
                        params=self.params,
                    ),
                    same_scope=scope_unit_id is not None and int(self._scopes[r]) == scope_unit_id,
                )
            )
        return results

    def _text_scores(self, vector: sp.csr_matrix) -> FloatArray:
        if self._columns is None:
            self._columns = self._matrix.tocsc()
        cols = vector.indices
        if cols.size == 0:
            return np.zeros(len(self), dtype=np.float64)
        sub = self._columns[:, cols]
        scores = sub @ vector.data.astype(np.float32)
        return np.clip(np.asarray(scores, dtype=np.float64).ravel(), 0.0, 1.0)

    def _evidence(
        self, structure: Structure, name: str, text: FloatArray, rows: npt.NDArray[np.int64]
    ) -> Evidence:
        size = rows.size
        capability = np.zeros(size)
        tool = np.zeros(size)
        vendor = np.zeros(size)
        context = np.zeros(size)
        same_name = np.zeros(size, dtype=bool)
        q_tools = {slug(t) for t in structure.tools}
        for k, r in enumerate(rows.tolist()):
            other = self._rows.structures[r]
            capability[k] = _coefficient(structure.capabilities.keys(), other.capabilities.keys())
            tool[k] = _coefficient(q_tools, {slug(t) for t in other.tools})
            vendor[k] = _coefficient(structure.vendors.keys(), other.vendors.keys())
            topic = float(bool(structure.topic_key) and structure.topic_key == other.topic_key)
            union = structure.techniques.keys() | other.techniques.keys()
            technique = (
                len(structure.techniques.keys() & other.techniques.keys()) / len(union)
                if union
                else 0.0
            )
            context[k] = (topic + technique + float(structure.pii and other.pii)) / 3.0
            same_name[k] = bool(name) and name == self._rows.names[r]
        return combine(
            self.params, text, capability, tool, vendor, np.zeros(size), context, same_name
        )

    def _shared_terms(
        self, vector: sp.csr_matrix, phrase_vector: sp.csr_matrix, rows: npt.NDArray[np.int64]
    ) -> list[list[str]]:
        terms = self.model.terms
        phrase_terms = self.model.phrase_terms
        tool_terms = self.model.analyzer.lexicon.tool_terms
        q = dict(zip(vector.indices.tolist(), vector.data.tolist(), strict=True))
        q_phrases = set(phrase_vector.indices.tolist())
        display = self.model.analyzer.display
        out = []
        for r in rows.tolist():
            row = self._matrix[r]
            products = {
                terms[c]: q[c] * v
                for c, v in zip(row.indices.tolist(), row.data.tolist(), strict=True)
                if c in q and terms[c] not in tool_terms
            }
            top = dict(sorted(products.items(), key=lambda kv: (-kv[1], kv[0]))[:6])
            shared_phrases = [
                phrase_terms[c] for c in self._phrases[r].indices.tolist() if c in q_phrases
            ]
            out.append([display(t) for t in pick_shared_terms(top, shared_phrases, 3)])
        return out

    # Storage ---------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """The index as one ``.npz`` archive (no pickle)."""
        model = self.model
        lexicon = model.analyzer.lexicon
        meta = {
            "format": FORMAT_VERSION,
            "terms": list(model.terms),
            "display": [model.analyzer.display(t) for t in model.terms],
            "phrase_terms": list(model.phrase_terms),
            "phrase_display": model.analyzer.phrases_as_written(model.phrase_index),
            "text_params": asdict(model.params),
            "overlap_params": {
                k: v for k, v in asdict(self.params).items() if k not in ("text", "neighbours")
            },
            "query_params": asdict(self.query_params),
            "tools": [asdict(t) for t in lexicon.tools],
            "phrases": dict(lexicon.phrases),
            "names": self._rows.names,
            "structures": [
                {
                    "tools": sorted(s.tools),
                    "vendors": dict(s.vendors),
                    "capabilities": dict(s.capabilities),
                    "techniques": dict(s.techniques),
                    "topic": s.topic,
                    "pii": s.pii,
                }
                for s in self._rows.structures
            ],
        }
        arrays: dict[str, npt.NDArray[Any]] = {
            "meta": np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8),
            "ids": self._ids,
            "scopes": self._scopes,
            "idf": model.idf,
            "phrase_idf": model.phrase_idf,
            **_sparse_arrays("matrix", self._matrix),
            **_sparse_arrays("phrases", self._phrases),
        }
        buffer = io.BytesIO()
        np.savez_compressed(buffer, allow_pickle=False, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> SimilarityIndex:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            meta = json.loads(archive["meta"].tobytes().decode("utf-8"))
            if meta.get("format") != FORMAT_VERSION:
                raise ValueError(f"unsupported similarity index format: {meta.get('format')}")
            arrays = {key: archive[key] for key in archive.files}
        lexicon = Lexicon(
            tools=tuple(
                ToolFacts(t["name"], t["vendor"], tuple(t["aliases"]), t["sanction_status"])
                for t in meta["tools"]
            ),
            phrases=dict(meta["phrases"]),
        )
        # An index stored before `stem_variants` existed was stemmed with plain Porter.
        text_params = TextParams(**{"stem_variants": False, **meta["text_params"]})
        params = OverlapParams(
            text=text_params, neighbours=NeighbourParams(), **meta["overlap_params"]
        )
        model = TextModel(
            meta["terms"],
            arrays["idf"],
            meta["phrase_terms"],
            arrays["phrase_idf"],
            text_params,
            lexicon,
        )
        model.analyzer.set_display(dict(zip(meta["terms"], meta["display"], strict=True)))
        # An index stored before phrases were shown as written has none: they are composed.
        model.analyzer.set_display(meta.get("phrase_display", {}))
        rows = _Rows(
            ids=[int(i) for i in arrays["ids"]],
            scopes=[int(s) for s in arrays["scopes"]],
            names=list(meta["names"]),
            structures=[
                Structure(
                    tools=frozenset(s["tools"]),
                    vendors=s["vendors"],
                    capabilities=s["capabilities"],
                    techniques=s["techniques"],
                    topic=s["topic"],
                    pii=bool(s["pii"]),
                    topic_key=slug(s["topic"]),
                )
                for s in meta["structures"]
            ],
        )
        return cls(
            model,
            _sparse_from("matrix", arrays),
            _sparse_from("phrases", arrays),
            rows,
            params,
            QueryParams(**meta["query_params"]),
        )


def _coefficient(a: Iterable[str], b: Iterable[str]) -> float:
    sa, sb = set(a), set(b)
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / min(len(sa), len(sb))


def _sparse_arrays(prefix: str, matrix: sp.csr_matrix) -> dict[str, npt.NDArray[Any]]:
    return {
        f"{prefix}_data": matrix.data.astype(np.float32),
        f"{prefix}_indices": matrix.indices.astype(np.int32),
        f"{prefix}_indptr": matrix.indptr.astype(np.int64),
        f"{prefix}_shape": np.asarray(matrix.shape, dtype=np.int64),
    }


def _sparse_from(prefix: str, arrays: dict[str, npt.NDArray[Any]]) -> sp.csr_matrix:
    shape = tuple(int(x) for x in arrays[f"{prefix}_shape"])
    return sp.csr_matrix(
        (arrays[f"{prefix}_data"], arrays[f"{prefix}_indices"], arrays[f"{prefix}_indptr"]),
        shape=shape,
    )
