"""Text similarity: normalisation, terms, sparse TF-IDF and top-k nearest neighbours.

The pipeline for one document (a project's name, problem, benefits and outputs):

1. Unicode NFKC, accents stripped, lower case.
2. Words are ``[a-z0-9]+`` runs. Tool names and their aliases become one canonical term per
   tool (``m365 copilot``, ``copilot for microsoft 365`` → the term of *Microsoft 365
   Copilot*), and a small table of domain phrases is normalised (``optical character
   recognition`` → ``ocr``).
3. English and domain stop words ("ai", "purpose", "benefits", …)
   and one-letter words are dropped; the rest are Porter-stemmed (tool terms are not).
   Optionally adjacent pairs of kept words become bigram terms.
4. Term weight = (1 + ln tf) × idf, with tf the field-weighted count and
   idf = ln((1 + N) / (1 + df)) + 1 over the N documents the model was fitted on; rows are
   L2-normalised so that a dot product is a cosine in [0, 1].

`top_k_neighbours` finds, for every row, its k most similar other rows without a dense n × n
matrix. Up to `NeighbourParams.exact_below` rows it multiplies the matrix by its transpose one
chunk of rows at a time and keeps the best k entries of each row above a floor. Above, it takes
as candidates the rows that share one of a row's heaviest terms among the heaviest rows of that
term (impact-ordered postings, a bounded amount of work per row) and scores every candidate
exactly: scores are exact, recall is approximate (measured in docs/metrics.md).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain, pairwise, repeat
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from governance.metrics.facts import ProjectFacts, ToolFacts
from governance.metrics.stemming import porter_stem
from governance.metrics.stemming import stem as variant_stem

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


ENGLISH_STOP_WORDS = _word_set(
    """a about above across after again against all almost along already also although always
    am among an and another any are around as at be became because become been before being
    below between both but by can cannot could did do does doing done down during each either
    else enough etc even ever every few for from further had has have having he her here hers
    herself him himself his how however i ie if in into is it its itself just least less many
    may me might more most much must my myself neither no nor not now of off often on once one
    only onto or other others our ours ourselves out over own per rather same several shall she
    should since so some such than that the their theirs them themselves then there therefore
    these they this those though through throughout thus to together too toward towards under
    until up upon us very via was we well were what whatever when where whether which while who
    whom whose why will with within without would yet you your yours yourself yourselves"""
)

# Words that every AI-project description carries, intake-form boilerplate such as
# "Purpose: … Expected benefits: …" and life-cycle notes ("this use case is retired"): they say
# nothing about what a project does (the stage is a field of its own).
DOMAIN_STOP_WORDS = _word_set(
    """ai artificial intelligence ml use used uses using usage case cases purpose purposes
    expected benefit benefits intended project projects tool tools system systems output outputs
    solution solutions new help helps allow allows enable enables provide provides retired
    inactive discontinued decommissioned"""
)

# Domain phrases and spellings normalised to one term. Kept small and general; tool names are
# handled by the tool catalogue, not here.
DEFAULT_PHRASES: Mapping[str, str] = {
    "optical character recognition": "ocr",
    "optical character reader": "ocr",
    "natural language processing": "nlp",
    "natural language understanding": "nlu",
    "natural language generation": "nlg",
    "large language models": "llm",
    "large language model": "llm",
    "llms": "llm",
    "generative artificial intelligence": "genai",
    "generative ai": "genai",
    "gen ai": "genai",
    "speech to text": "speechtotext",
    "speech-to-text": "speechtotext",
    "voice to text": "speechtotext",
    "voice-to-text": "speechtotext",
    "automatic speech recognition": "speechtotext",
    "speech recognition": "speechtotext",
    "text to speech": "texttospeech",
    "text-to-speech": "texttospeech",
    "robotic process automation": "rpa",
    "intelligent document processing": "idp",
    "computer vision": "computervision",
    "machine vision": "computervision",
    "chat bot": "chatbot",
    "chat-bot": "chatbot",
    "virtual agents": "virtualagent",
    "virtual agent": "virtualagent",
    "virtual assistant": "virtualagent",
    "machine learning": "ml",
}

# A seed catalogue of widely used commercial AI products and their usual spellings. The tool
# catalogue of the registry (`ToolFacts`) is merged over it: a catalogue entry with the same
# canonical name wins, its aliases are added.
DEFAULT_TOOLS: tuple[ToolFacts, ...] = (
    ToolFacts(
        "Microsoft 365 Copilot",
        "Microsoft",
        (
            "m365 copilot",
            "microsoft 365 copilot",
            "copilot for microsoft 365",
            "copilot for m365",
            "copilot for ms 365",
            "office 365 copilot",
            "microsoft copilot",
            "ms copilot",
        ),
    ),
    ToolFacts("GitHub Copilot", "Microsoft", ("github copilot",)),
    ToolFacts(
        "Microsoft Security Copilot",
        "Microsoft",
        ("copilot for security", "microsoft copilot for security", "security copilot"),
    ),
    ToolFacts("Azure OpenAI", "Microsoft", ("azure openai", "azure open ai")),
    ToolFacts("Azure AI Speech", "Microsoft", ("azure ai speech", "azure speech")),
    ToolFacts("ChatGPT", "OpenAI", ("chatgpt", "chat gpt")),
    ToolFacts("Whisper", "OpenAI", ("openai whisper",)),
    ToolFacts("Gemini", "Google", ("google gemini",)),
    ToolFacts("Claude", "Anthropic", ("anthropic claude",)),
    ToolFacts("Amazon Transcribe", "Amazon", ("aws transcribe", "amazon transcribe")),
    ToolFacts("Amazon Textract", "Amazon", ("textract",)),
    ToolFacts("Amazon Rekognition", "Amazon", ("rekognition",)),
    ToolFacts("Grammarly", "Grammarly", ("grammarly",)),
    ToolFacts("Westlaw", "Thomson Reuters", ("westlaw", "westlaw edge", "westlaw precision")),
    ToolFacts("CoCounsel", "Thomson Reuters", ("cocounsel", "casetext")),
    ToolFacts("Lexis+ AI", "LexisNexis", ("lexis+ ai", "lexis +ai", "lexis+", "lexis")),
    ToolFacts("ServiceNow", "ServiceNow", ("servicenow", "service now", "now assist")),
    ToolFacts("UiPath", "UiPath", ("uipath", "ui path")),
    ToolFacts("ABBYY FineReader", "ABBYY", ("abbyy", "finereader")),
    ToolFacts("Adobe Acrobat", "Adobe", ("adobe acrobat", "adobe pro", "acrobat pro")),
    ToolFacts("Otter.ai", "Otter.ai", ("otter.ai", "otter ai")),
    ToolFacts("Webex", "Cisco", ("webex",)),
    ToolFacts("Veritone", "Veritone", ("veritone",)),
    ToolFacts("Axon Evidence", "Axon", ("evidence.com", "axon")),
    ToolFacts("ArcGIS", "Esri", ("arcgis",)),
    ToolFacts("Palantir", "Palantir", ("palantir",)),
    ToolFacts("Tableau", "Salesforce", ("tableau",)),
    ToolFacts("Salesforce Einstein", "Salesforce", ("salesforce einstein", "einstein gpt")),
    ToolFacts("Power Virtual Agents", "Microsoft", ("power virtual agents", "copilot studio")),
    ToolFacts("Form Recognizer", "Microsoft", ("form recognizer", "document intelligence")),
)

_TOKEN = re.compile(r"[a-z0-9]+")
# A term is shown as its most frequent word among the first texts analysed (enough to be
# stable, and counting every word of a large portfolio would cost more than it tells).
WORD_COUNT_TEXTS = 20_000
_SPACES = re.compile(r"\s+")
TOOL_TERM_PREFIX = "tool"
_MISSING: Any = object()


@lru_cache(maxsize=100_000)
def slug(text: str) -> str:
    """Lower-case alphanumerics only: the term of a tool or capability name."""
    return "".join(_TOKEN.findall(normalise(text)))


def fold(text: str) -> str:
    """NFKC, accents stripped, lower case (whitespace kept as it is)."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        # The combining marks among the text's distinct characters, deleted in one pass.
        marks = {ord(ch): None for ch in set(text) if unicodedata.combining(ch)}
        if marks:
            text = text.translate(marks)
    return text.lower()


def normalise(text: str) -> str:
    """NFKC, accents stripped, lower case, whitespace collapsed."""
    return _SPACES.sub(" ", fold(text)).strip()


def tokens(text: str) -> list[str]:
    """The ``[a-z0-9]+`` words of folded text."""
    return _TOKEN.findall(fold(text))


Sequence_ = tuple[str, ...]


@dataclass(frozen=True)
class Lexicon:
    """Tool catalogue and phrase table, applied to the words of a text in one pass.

    Every alias of a tool becomes the tool's term (``tool`` + slug of its canonical name);
    `tool_terms` maps that term back to the canonical name, so that reasons can name the tool
    ("both use Westlaw"). Aliases and phrases are matched as word sequences, longest first, so
    "microsoft 365 copilot" wins over "microsoft copilot" and punctuation or line breaks inside
    a name do not matter.
    """

    tools: tuple[ToolFacts, ...] = DEFAULT_TOOLS
    phrases: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_PHRASES))
    tool_terms: Mapping[str, str] = field(init=False, repr=False, compare=False)
    protected: frozenset[str] = field(init=False, repr=False, compare=False)
    tool_vendors: Mapping[str, str] = field(init=False, repr=False, compare=False)
    canonical_tools: Mapping[str, str] = field(init=False, repr=False, compare=False)
    _sequences: Mapping[str, tuple[tuple[Sequence_, Sequence_], ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        replacements: dict[Sequence_, Sequence_] = {}
        tool_terms: dict[str, str] = {}
        vendors: dict[str, str] = {}
        for tool in self.tools:
            term = TOOL_TERM_PREFIX + slug(tool.name)
            if term == TOOL_TERM_PREFIX:
                continue
            tool_terms[term] = tool.name
            vendors[tool.name] = tool.vendor
            for alias in (tool.name, *tool.aliases):
                words = tuple(tokens(alias))
                if words:
                    replacements.setdefault(words, (term,))
        for phrase, target in self.phrases.items():
            words = tuple(tokens(phrase))
            if words:
                replacements.setdefault(words, tuple(tokens(target)))
        by_first: dict[str, list[tuple[Sequence_, Sequence_]]] = {}
        for alias_words, replaced in replacements.items():
            by_first.setdefault(alias_words[0], []).append((alias_words, replaced))
        sequences = {
            first: tuple(sorted(options, key=lambda o: (-len(o[0]), o[0])))
            for first, options in by_first.items()
        }
        protected = set(tool_terms)
        for replaced in replacements.values():
            protected.update(replaced)
        object.__setattr__(self, "tool_terms", tool_terms)
        object.__setattr__(self, "protected", frozenset(protected))
        object.__setattr__(self, "tool_vendors", vendors)
        canonical: dict[str, str] = {}
        for tool in self.tools:
            for alias in (tool.name, *tool.aliases):
                canonical.setdefault(slug(alias), tool.name)
        object.__setattr__(self, "canonical_tools", canonical)
        object.__setattr__(self, "_sequences", sequences)

    @classmethod
    def with_catalogue(cls, catalogue: Iterable[ToolFacts]) -> Lexicon:
        """The default tools overridden and extended by the registry's catalogue."""
        merged: dict[str, ToolFacts] = {slug(tool.name): tool for tool in DEFAULT_TOOLS}
        for tool in catalogue:
            key = slug(tool.name)
            previous = merged.get(key)
            aliases = tuple(dict.fromkeys((*tool.aliases, *(previous.aliases if previous else ()))))
            merged[key] = ToolFacts(tool.name, tool.vendor, aliases, tool.sanction_status)
        return cls(tools=tuple(merged[key] for key in sorted(merged)))

    def apply(self, words: list[str]) -> list[str]:
        """The words with tool aliases and phrases replaced by their terms."""
        sequences = self._sequences
        if sequences.keys().isdisjoint(words):
            return words
        hits = [i for i, word in enumerate(words) if word in sequences]
        if not hits:
            return words
        out: list[str] = []
        position = 0
        for i in hits:
            if i < position:
                continue
            for alias, replacement in sequences[words[i]]:
                size = len(alias)
                if tuple(words[i : i + size]) == alias:
                    out.extend(words[position:i])
                    out.extend(replacement)
                    position = i + size
                    break
        out.extend(words[position:])
        return out

    def tools_in(self, text: str) -> frozenset[str]:
        """Canonical names of the catalogue tools that the text mentions."""
        terms = self.tool_terms
        return frozenset(terms[w] for w in self.apply(tokens(text)) if w in terms)


DEFAULT_LEXICON = Lexicon()


@dataclass(frozen=True)
class TextParams:
    """How text becomes vectors. The defaults are the measured choice (docs/metrics.md)."""

    name_weight: float = 1.0
    problem_weight: float = 1.0
    benefits_weight: float = 1.0
    outputs_weight: float = 1.0
    stem: bool = True
    # Join the word forms that Porter leaves apart ("anomaly" / "anomalous", `stemming.stem`).
    stem_variants: bool = True
    bigrams: bool = False
    sublinear_tf: bool = True


@dataclass(frozen=True)
class Document:
    """The text fields of one project (or of one query)."""

    name: str = ""
    problem: str = ""
    benefits: str = ""
    outputs: str = ""

    @classmethod
    def of(cls, project: ProjectFacts) -> Document:
        return cls(project.name, project.problem, project.benefits, project.outputs)

    def text(self) -> str:
        return " \n ".join(f for f in (self.name, self.problem, self.benefits, self.outputs) if f)

    def weighted_fields(self, params: TextParams) -> list[tuple[str, float]]:
        """The fields that count, as (text, weight): not empty, with a positive weight."""
        return [
            (text, weight)
            for text, weight in (
                (self.name, params.name_weight),
                (self.problem, params.problem_weight),
                (self.benefits, params.benefits_weight),
                (self.outputs, params.outputs_weight),
            )
            if text and weight > 0
        ]


# How the single terms that the phrase table produces are shown to people.
TERM_DISPLAY: Mapping[str, str] = {
    "ocr": "OCR",
    "nlp": "NLP",
    "nlu": "NLU",
    "nlg": "NLG",
    "llm": "LLM",
    "genai": "generative AI",
    "speechtotext": "speech to text",
    "texttospeech": "text to speech",
    "rpa": "RPA",
    "idp": "intelligent document processing",
    "computervision": "computer vision",
    "chatbot": "chatbot",
    "virtualagent": "virtual agent",
}


# The terms of one text: (term, count) in order of first occurrence, and its two-word phrases.
FieldTerms = tuple[tuple[tuple[str, int], ...], frozenset[str]]
FieldCache = dict[str, FieldTerms]


class Analyzer:
    """Turns text into terms (see the module docstring), with a per-word cache."""

    def __init__(
        self, lexicon: Lexicon = DEFAULT_LEXICON, *, stem: bool = True, variants: bool = True
    ) -> None:
        self.lexicon = lexicon
        self.stem = stem
        self._stemmer = variant_stem if variants else porter_stem
        self._stop = ENGLISH_STOP_WORDS | DOMAIN_STOP_WORDS
        self._cache: dict[str, str | None] = {}
        # The words seen for each term and how often, to show a term as its most frequent word.
        self._words_of: dict[str, list[str]] = {}
        self._word_counts: Counter[str] = Counter()
        # Adjacent word pairs as written ("consumer complaints"), to show a two-word phrase
        # the way people wrote it rather than as each stem's most frequent word.
        # Counted while the word counts are; once the counting is over, only the best written
        # form of each phrase is kept.
        self._pair_counts: dict[str, int] = {}
        self._phrase_shown: dict[str, str] = {}
        self._special = frozenset(lexicon.tool_terms) | TERM_DISPLAY.keys()
        self._display: dict[str, str] = {}
        self._counted_texts = 0

    @property
    def words_counted(self) -> bool:
        """True once the word counts that `display` uses are complete."""
        return self._counted_texts >= WORD_COUNT_TEXTS

    def _term(self, word: str) -> str | None:
        term: str | None
        if len(word) < 2 or word in self._stop:
            term = None
        elif word in self.lexicon.protected or not self.stem:
            term = word
        else:
            term = self._stemmer(word)
            if term in self._stop:
                term = None
        self._cache[word] = term
        if term is not None:
            self._words_of.setdefault(term, []).append(word)
        return term

    def words(self, text: str) -> list[str | None]:
        """The terms of the text in order, None where a stop word was (it breaks phrases)."""
        if not text:
            return []
        words = self.lexicon.apply(tokens(text))
        cache = self._cache
        get = cache.get
        term = self._term
        terms = [
            known if (known := get(word, _MISSING)) is not _MISSING else term(word)
            for word in words
        ]
        if self._counted_texts < WORD_COUNT_TEXTS:
            self._counted_texts += 1
            self._word_counts.update(words)
            self._count_phrases(words, terms)
        return terms

    def _count_phrases(self, words: Sequence[str], terms: Sequence[str | None]) -> None:
        """Count the written forms of the text's phrases of two plain words (a tool or a
        phrase-table term is shown by its name instead)."""
        counts = self._pair_counts
        get = counts.get
        special = self._special
        for (a, ta), (b, tb) in pairwise(zip(words, terms, strict=True)):
            if ta and tb and ta != tb and ta not in special and tb not in special:
                written = a + " " + b
                counts[written] = get(written, 0) + 1
        if self.words_counted:
            # Counting is over: keep each phrase's best form, free the counts.
            cache = self._cache
            best: dict[str, tuple[int, str]] = {}
            for written, n in counts.items():
                first, second = written.split(" ")
                phrase = f"{cache[first]} {cache[second]}"
                known = best.get(phrase)
                if known is None or _better_form(n, written, *known):
                    best[phrase] = (n, written)
            self._phrase_shown = {phrase: form for phrase, (_, form) in best.items()}
            self._pair_counts = {}

    def _written_form(self, phrase: str) -> str | None:
        """The phrase's best written form while the counting goes on."""
        first, second = phrase.split(" ")
        counts = self._pair_counts
        best: tuple[int, str] | None = None
        for a in self._words_of.get(first, ()):
            for b in self._words_of.get(second, ()):
                written = a + " " + b
                n = counts.get(written, 0)
                if n and (best is None or _better_form(n, written, *best)):
                    best = (n, written)
        return best[1] if best else None

    def terms(self, text: str) -> list[str]:
        return [w for w in self.words(text) if w is not None]

    def display(self, term: str) -> str:
        """A term as people read it: the tool's name, the phrase, or its most frequent word.

        A two-word phrase is shown as a stored index recorded it, else as this analyzer saw it
        most often written ("consumer complaints", not "consuming complaints" when "consuming"
        is the stem's most frequent word), else as its two terms shown one by one.
        """
        if " " in term:
            shown = self._display.get(term) or self._phrase_shown.get(term)
            if shown is None and self._pair_counts:
                shown = self._written_form(term)
            return shown or self.composed(term)
        tool = self.lexicon.tool_terms.get(term)
        if tool is not None:
            return tool
        shown = TERM_DISPLAY.get(term)
        if shown is not None:
            return shown
        words = self._words_of.get(term)
        if not words:
            return self._display.get(term, term)
        counts = self._word_counts
        return min(words, key=lambda w: (-counts[w], len(w), w))

    def composed(self, phrase: str) -> str:
        """A phrase shown as its terms shown one by one (the fallback of `display`)."""
        return " ".join(self.display(part) for part in phrase.split(" "))

    def phrases_as_written(self, vocabulary: Container[str]) -> dict[str, str]:
        """The phrases of `vocabulary` that `display` shows otherwise than `composed`, in
        order (what a stored index keeps to show them the same way)."""
        phrases = {p for p in self._display if " " in p} | self._phrase_shown.keys()
        phrases.update(
            f"{self._cache[a]} {self._cache[b]}" for a, b in map(str.split, self._pair_counts)
        )
        out = {}
        for phrase in sorted(p for p in phrases if p in vocabulary):
            shown = self.display(phrase)
            if shown != self.composed(phrase):
                out[phrase] = shown
        return out

    def set_display(self, mapping: Mapping[str, str]) -> None:
        """How to show terms whose words this analyzer has not seen (a stored index)."""
        self._display.update(mapping)

    def field(self, text: str, cache: FieldCache | None = None) -> FieldTerms:
        """The term counts (in order of first occurrence) and two-word phrases of one text.

        `cache` (text → result) spares analysing a text seen before, as many registrations
        repeat boilerplate; it is only filled once the word counts for `display` are complete,
        so that it changes nothing but the time taken.
        """
        if cache is not None:
            known = cache.get(text)
            if known is not None:
                return known
        words = self.words(text)
        result = (
            tuple(Counter(filter(None, words)).items()),
            frozenset(f"{a} {b}" for a, b in pairwise(words) if a and b and a != b),
        )
        if cache is not None and self.words_counted:
            cache[text] = result
        return result

    def analyse(
        self, document: Document, params: TextParams, cache: FieldCache | None = None
    ) -> tuple[dict[str, float], set[str]]:
        """Field-weighted term counts and the set of two-word phrases of one document.

        `cache`: see `field` (for a batch of documents)."""
        counts: dict[str, float] = {}
        phrases: set[str] = set()
        for text, weight in document.weighted_fields(params):
            field_counts, field_phrases = self.field(text, cache)
            get = counts.get
            for word, n in field_counts:
                counts[word] = get(word, 0.0) + n * weight
            phrases.update(field_phrases)
        if params.bigrams:
            for phrase in phrases:
                counts[phrase] = counts.get(phrase, 0.0) + 1.0
        return counts, phrases


def _better_form(count: int, written: str, best_count: int, best_written: str) -> bool:
    """The most frequent written form, then the shortest, then the first alphabetically."""
    if count != best_count:
        return count > best_count
    return (len(written), written) < (len(best_written), best_written)


def _tf(count: float, sublinear: bool) -> float:
    if not sublinear:
        return count
    return 1.0 + math.log(count) if count >= 1.0 else count


def _idf(df: int, n: int) -> float:
    return math.log((1 + n) / (1 + df)) + 1.0


class Fitted(NamedTuple):
    """A fitted model with the rows of the documents it was fitted on."""

    model: TextModel
    matrix: sp.csr_matrix
    phrases: sp.csr_matrix
    # The canonical names of the catalogue tools each document mentions.
    tools: list[frozenset[str]]


class TextModel:
    """A fitted vocabulary with idf weights.

    `transform` gives L2-normalised CSR rows of term weights (`matrix`) and, for reasons and
    labels only, rows of the document's two-word phrases weighted by their idf (`phrases`).
    """

    def __init__(
        self,
        terms: Sequence[str],
        idf: FloatArray,
        phrase_terms: Sequence[str],
        phrase_idf: FloatArray,
        params: TextParams,
        lexicon: Lexicon = DEFAULT_LEXICON,
    ) -> None:
        self.terms: tuple[str, ...] = tuple(terms)
        self.index: dict[str, int] = {term: i for i, term in enumerate(self.terms)}
        self.idf = np.asarray(idf, dtype=np.float32)
        self.phrase_terms: tuple[str, ...] = tuple(phrase_terms)
        self.phrase_index: dict[str, int] = {p: i for i, p in enumerate(self.phrase_terms)}
        self.phrase_idf = np.asarray(phrase_idf, dtype=np.float32)
        self.params = params
        self.analyzer = Analyzer(lexicon, stem=params.stem, variants=params.stem_variants)

    @classmethod
    def fit(
        cls,
        documents: Sequence[Document],
        params: TextParams | None = None,
        lexicon: Lexicon = DEFAULT_LEXICON,
    ) -> Fitted:
        """Fit the vocabulary on the documents; return the model and their rows."""
        params = params or TextParams()
        analyzer = Analyzer(lexicon, stem=params.stem, variants=params.stem_variants)
        if params.bigrams:
            return cls._fit_analysed(documents, params, lexicon, analyzer)
        batch = _analyse_batch(analyzer, documents, params)
        n = len(documents)
        # Columns in term order; the counts of a document's fields are summed by the CSR build.
        order = sorted(range(len(batch.terms)), key=batch.terms.__getitem__)
        column = np.empty(len(order), dtype=np.int64)
        column[order] = np.arange(len(order))
        terms = [batch.terms[i] for i in order]
        counts = sp.csr_matrix(
            (batch.counts, (batch.rows, column[batch.cols])),
            shape=(n, len(terms)),
            dtype=np.float64,
        )
        counts.sum_duplicates()
        df = np.bincount(counts.indices, minlength=len(terms)).tolist()
        phrase_pattern = sp.csr_matrix(
            (np.ones(batch.phrase_cols.size), (batch.phrase_rows, batch.phrase_cols)),
            shape=(n, len(batch.phrases)),
        )
        phrase_pattern.sum_duplicates()
        phrase_df = np.bincount(phrase_pattern.indices, minlength=len(batch.phrases)).tolist()
        # A phrase seen once cannot be shared: it is left out of the phrase vocabulary.
        kept = sorted((p for i, p in enumerate(batch.phrases) if phrase_df[i] >= 2))
        phrase_column = np.full(len(batch.phrases), -1, dtype=np.int64)
        first_id = {p: i for i, p in enumerate(batch.phrases)}
        kept_ids = [first_id[p] for p in kept]
        phrase_column[kept_ids] = np.arange(len(kept))
        model = cls(
            terms,
            np.array([_idf(df[i], n) for i in range(len(terms))], dtype=np.float32),
            kept,
            np.array([_idf(phrase_df[i], n) for i in kept_ids], dtype=np.float32),
            params,
            lexicon,
        )
        model.analyzer = analyzer
        return Fitted(
            model,
            model._weighted(counts),
            model._phrase_rows(phrase_pattern, phrase_column),
            _mentions(counts, model.terms, lexicon.tool_terms),
        )

    @classmethod
    def _fit_analysed(
        cls,
        documents: Sequence[Document],
        params: TextParams,
        lexicon: Lexicon,
        analyzer: Analyzer,
    ) -> Fitted:
        """`fit` document by document (for bigram terms, which `_analyse_batch` leaves out)."""
        cache: FieldCache = {}
        analysed = [analyzer.analyse(doc, params, cache) for doc in documents]
        del cache
        df: Counter[str] = Counter()
        phrase_df: Counter[str] = Counter()
        for counts, phrases in analysed:
            df.update(counts.keys())
            phrase_df.update(phrases)
        n = len(documents)
        terms = sorted(df)
        phrase_terms = sorted(p for p, c in phrase_df.items() if c >= 2)
        model = cls(
            terms,
            np.array([_idf(df[t], n) for t in terms], dtype=np.float32),
            phrase_terms,
            np.array([_idf(phrase_df[p], n) for p in phrase_terms], dtype=np.float32),
            params,
            lexicon,
        )
        model.analyzer = analyzer
        tool_terms = lexicon.tool_terms
        mentions = [
            frozenset(tool_terms[t] for t in counts if t in tool_terms) for counts, _ in analysed
        ]
        return Fitted(
            model,
            model._matrix([a[0] for a in analysed]),
            model._phrases([a[1] for a in analysed]),
            mentions,
        )

    def extend(self, documents: Sequence[Document], total: int) -> int:
        """Add the terms of `documents` that the vocabulary lacks; return how many were added.

        A term unseen at fit time occurs in none of the fitted documents, so its document
        frequency is the number of `documents` holding it and its idf is taken over `total`,
        the number of documents the rows will cover (the idf of known terms is kept). The new
        terms get the columns after the fitted ones: earlier rows stay valid once widened.
        """
        df: Counter[str] = Counter()
        for document in documents:
            counts, _ = self.analyzer.analyse(document, self.params)
            df.update(term for term in counts if term not in self.index)
        if not df:
            return 0
        new_terms = sorted(df)
        start = len(self.terms)
        self.terms = self.terms + tuple(new_terms)
        self.index.update((term, start + i) for i, term in enumerate(new_terms))
        new_idf = np.array([_idf(df[t], max(total, 1)) for t in new_terms], dtype=np.float32)
        self.idf = np.concatenate([self.idf, new_idf])
        return len(new_terms)

    def transform(self, documents: Sequence[Document]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """Rows for new documents; terms outside the fitted vocabulary are ignored (see
        `extend` to add them first)."""
        cache: FieldCache = {}
        analysed = [self.analyzer.analyse(doc, self.params, cache) for doc in documents]
        return self._matrix([a[0] for a in analysed]), self._phrases([a[1] for a in analysed])

    def _matrix(self, counts: Sequence[Mapping[str, float]]) -> sp.csr_matrix:
        cols, lengths = _columns(self.index, [row.keys() for row in counts])
        values = np.fromiter(
            chain.from_iterable(row.values() for row in counts), dtype=np.float64, count=len(cols)
        )
        known = cols >= 0
        matrix = sp.csr_matrix(
            (values[known], cols[known].astype(np.int32), _indptr(lengths, known)),
            shape=(len(counts), len(self.terms)),
            dtype=np.float64,
        )
        matrix.sort_indices()
        return self._weighted(matrix)

    def _weighted(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """Rows of term weights from rows of field-weighted term counts (sorted columns)."""
        values = counts.data
        if self.params.sublinear_tf:
            values = np.where(values >= 1.0, 1.0 + np.log(np.maximum(values, 1.0)), values)
        data = values.astype(np.float32) * self.idf[counts.indices]
        matrix = sp.csr_matrix(
            (data, counts.indices.astype(np.int32), counts.indptr.astype(np.int64)),
            shape=counts.shape,
            dtype=np.float32,
        )
        return l2_normalise(matrix)

    def _phrase_rows(self, pattern: sp.csr_matrix, column: IntArray) -> sp.csr_matrix:
        """Rows of phrase idf weights from a pattern over first-seen phrase ids (`column`:
        the id's column, -1 when the phrase is not in the vocabulary)."""
        cols = column[pattern.indices]
        known = cols >= 0
        lengths = np.diff(pattern.indptr)
        matrix = sp.csr_matrix(
            (self.phrase_idf[cols[known]], cols[known].astype(np.int32), _indptr(lengths, known)),
            shape=(pattern.shape[0], len(self.phrase_terms)),
            dtype=np.float32,
        )
        matrix.sort_indices()
        return matrix

    def _phrases(self, phrase_sets: Sequence[set[str]]) -> sp.csr_matrix:
        cols, lengths = _columns(self.phrase_index, phrase_sets)
        known = cols >= 0
        cols = cols[known]
        matrix = sp.csr_matrix(
            (self.phrase_idf[cols], cols.astype(np.int32), _indptr(lengths, known)),
            shape=(len(phrase_sets), len(self.phrase_terms)),
            dtype=np.float32,
        )
        matrix.sort_indices()
        return matrix


class _Ids(dict[str, int]):
    """Ids in order of first sight: a missing key gets the next one."""

    def __missing__(self, key: str) -> int:
        value = self[key] = len(self)
        return value


class _Batch(NamedTuple):
    """The terms and phrases of a batch of documents, as ids in order of first sight."""

    terms: list[str]
    rows: IntArray
    cols: IntArray
    counts: npt.NDArray[np.float64]
    phrases: list[str]
    phrase_rows: IntArray
    phrase_cols: IntArray


def _analyse_batch(analyzer: Analyzer, documents: Sequence[Document], params: TextParams) -> _Batch:
    """Every field of every document analysed (each distinct text once, see `Analyzer.field`),
    as (document, term id, field-weighted count) and (document, phrase id) entries; a term
    counted in two fields of a document has two entries."""
    term_id, phrase_id = _Ids(), _Ids()
    cache: dict[str, tuple[IntArray, npt.NDArray[np.float64], IntArray]] = {}
    term_parts: list[IntArray] = []
    count_parts: list[npt.NDArray[np.float64]] = []
    phrase_parts: list[IntArray] = []
    field_rows: list[int] = []
    field_weights: list[float] = []
    empty = np.zeros(0, dtype=np.int64)
    for row, document in enumerate(documents):
        for text, weight in document.weighted_fields(params):
            entry = cache.get(text)
            if entry is None:
                words = analyzer.words(text)
                counted = Counter(filter(None, words))
                phrases = {f"{a} {b}" for a, b in pairwise(words) if a and b and a != b}
                entry = (
                    np.fromiter(map(term_id.__getitem__, counted), np.int64, len(counted)),
                    np.fromiter(counted.values(), np.float64, len(counted)),
                    np.fromiter(map(phrase_id.__getitem__, phrases), np.int64, len(phrases)),
                )
                if analyzer.words_counted:
                    cache[text] = entry
            term_parts.append(entry[0])
            count_parts.append(entry[1])
            phrase_parts.append(entry[2])
            field_rows.append(row)
            field_weights.append(weight)
    del cache
    rows = np.asarray(field_rows, dtype=np.int64)
    if not term_parts:
        return _Batch([], empty, empty, np.zeros(0), [], empty, empty)
    sizes = [part.size for part in term_parts]
    return _Batch(
        list(term_id),
        np.repeat(rows, sizes),
        np.concatenate(term_parts),
        np.concatenate(count_parts) * np.repeat(np.asarray(field_weights), sizes),
        list(phrase_id),
        np.repeat(rows, [part.size for part in phrase_parts]),
        np.concatenate(phrase_parts),
    )


def _mentions(
    counts: sp.csr_matrix, terms: Sequence[str], tool_terms: Mapping[str, str]
) -> list[frozenset[str]]:
    """The canonical names of the catalogue tools each row holds a term of."""
    out: list[frozenset[str]] = [frozenset()] * counts.shape[0]
    tool_cols = np.fromiter((t in tool_terms for t in terms), dtype=bool, count=len(terms))
    hits = tool_cols[counts.indices]
    if not hits.any():
        return out
    rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))[hits]
    cols = counts.indices[hits]
    bounds = np.flatnonzero(np.diff(rows)) + 1
    starts = np.concatenate(([0], bounds)).tolist()
    stops = [*bounds.tolist(), rows.size]
    row_list, col_list = rows.tolist(), cols.tolist()
    for a, b in zip(starts, stops, strict=True):
        out[row_list[a]] = frozenset(tool_terms[terms[c]] for c in col_list[a:b])
    return out


def _columns(index: Mapping[str, int], rows: Sequence[Iterable[str]]) -> tuple[IntArray, IntArray]:
    """Column of every term of every row (-1 when unknown) and the number of terms per row."""
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))  # type: ignore[arg-type]
    total = int(lengths.sum())
    lookup = index.get
    cols = np.fromiter(
        map(lookup, chain.from_iterable(rows), repeat(-1)), dtype=np.int64, count=total
    )
    return cols, lengths


def _indptr(lengths: IntArray, known: npt.NDArray[np.bool_]) -> IntArray:
    """Row pointers after dropping the unknown terms."""
    row_of = np.repeat(np.arange(lengths.size), lengths)
    kept = np.bincount(row_of[known], minlength=lengths.size)
    return np.concatenate(([0], np.cumsum(kept))).astype(np.int64)


def l2_normalise(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Rows scaled to unit length (empty rows stay empty); a new matrix."""
    matrix = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    squares = np.add.reduceat(
        np.concatenate([matrix.data.astype(np.float64) ** 2, [0.0]]),
        np.minimum(matrix.indptr[:-1], matrix.nnz),
    )
    squares[np.diff(matrix.indptr) == 0] = 0.0
    norms = np.sqrt(squares)
    norms[norms == 0] = 1.0
    matrix.data /= np.repeat(norms, np.diff(matrix.indptr)).astype(np.float32)
    return matrix


def rowwise_dot(
    left: sp.csr_matrix, right: sp.csr_matrix, rows: IntArray, cols: IntArray
) -> FloatArray:
    """left[rows[i]] · right[cols[i]] for every i, in bounded memory.

    Only pairs of two non-empty rows are multiplied (the others are 0); when no row holds more
    than one entry (a topic), a pair's product is that of the entries in the same column."""
    out = np.zeros(len(rows), dtype=np.float32)
    left_sizes, right_sizes = np.diff(left.indptr), np.diff(right.indptr)
    both = np.flatnonzero((left_sizes[rows] > 0) & (right_sizes[cols] > 0))
    if both.size == 0:
        return out
    if int(left_sizes.max()) == 1 and int(right_sizes.max()) == 1:
        a, b = rows[both], cols[both]
        left_at, right_at = left.indptr[a], right.indptr[b]
        same = left.indices[left_at] == right.indices[right_at]
        out[both[same]] = left.data[left_at[same]] * right.data[right_at[same]]
        return out
    if both.size < len(rows):
        rows, cols = rows[both], cols[both]
    dots = np.empty(len(rows), dtype=np.float32)
    step = 200_000
    for start in range(0, len(rows), step):
        stop = start + step
        product = left[rows[start:stop]].multiply(right[cols[start:stop]])
        dots[start:stop] = np.asarray(product.sum(axis=1), dtype=np.float32).ravel()
    if both.size < out.size:
        out[both] = dots
        return out
    return dots


def descending_within(groups: IntArray, values: npt.NDArray[Any]) -> IntArray:
    """The order of `np.lexsort((-values, groups))`: groups ascending, values descending
    within a group, ties in input order.

    Non-negative float32 values and groups below 2**32 are sorted as one 64-bit key (the
    group, then the value's bits inverted), several times faster than `lexsort`."""
    if (
        values.dtype == np.float32
        and values.size
        and groups.size == values.size
        and int(groups.min()) >= 0
        and int(groups.max()) < 2**32
        and float(values.min()) >= 0.0  # False for NaN
    ):
        bits = (values + np.float32(0.0)).view(np.uint32)  # -0.0 becomes 0.0
        key = (groups.astype(np.uint64) << np.uint64(32)) | (~bits).astype(np.uint64)
        return np.argsort(key, kind="stable")
    return np.lexsort((-values, groups))


def rank_within(groups: IntArray) -> IntArray:
    """For sorted `groups`, each element's position inside its group (0 for the first); the
    same as `arange(n) - searchsorted(groups, groups)`, in linear time."""
    n = groups.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], groups[1:] != groups[:-1])))
    first = np.repeat(starts, np.diff(np.append(starts, n)))
    return np.arange(n, dtype=np.int64) - first


def _top_per_row(
    rows: IntArray, cols: IntArray, scores: FloatArray, k: int
) -> tuple[IntArray, IntArray, FloatArray]:
    """Keep the k best (score desc, then smaller column) of each row; rows come out ascending."""
    # Stable: ties keep the input order, which is by column within a row.
    order = descending_within(rows, scores)
    rows, cols, scores = rows[order], cols[order], scores[order]
    keep = rank_within(rows) < k
    return rows[keep], cols[keep], scores[keep]


def _unique_pairs(rows: IntArray, cols: IntArray, n: int) -> tuple[IntArray, IntArray]:
    keys = np.concatenate([rows * n + cols, cols * n + rows])
    keys.sort()
    if keys.size:
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    return keys // n, keys % n


def _keep_top_terms(matrix: sp.csr_matrix, m: int) -> sp.csr_matrix:
    """Each row reduced to its m largest entries (ties: the smaller column)."""
    n = matrix.shape[0]
    lengths = np.diff(matrix.indptr)
    rows = np.repeat(np.arange(n), lengths)
    order = descending_within(rows, matrix.data)
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size) - np.repeat(matrix.indptr[:-1], lengths)
    data = np.where(rank < m, matrix.data, 0).astype(np.float32)
    pruned = sp.csr_matrix((data, matrix.indices.copy(), matrix.indptr.copy()), shape=matrix.shape)
    pruned.eliminate_zeros()
    return pruned


def _keep_top_postings(matrix: sp.csr_matrix, length: int) -> sp.csr_matrix:
    """Each column reduced to its `length` largest entries (ties: the smaller row)."""
    csc = matrix.tocsc()
    csc.sort_indices()
    lengths = np.diff(csc.indptr)
    cols = np.repeat(np.arange(csc.shape[1]), lengths)
    order = descending_within(cols, csc.data)
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size) - np.repeat(csc.indptr[:-1], lengths)
    data = np.where(rank < length, csc.data, 0).astype(np.float32)
    pruned = sp.csc_matrix((data, csc.indices.copy(), csc.indptr.copy()), shape=csc.shape)
    pruned.eliminate_zeros()
    return pruned.tocsr()


@dataclass(frozen=True)
class NeighbourParams:
    """How nearest neighbours are searched.

    Up to `exact_below` rows the search is exact: all dot products, chunk by chunk. Above, the
    candidates of a row are the rows that share one of its `terms_per_row` heaviest terms among
    the `postings_per_term` heaviest rows of that term (impact-ordered postings); every candidate
    is then scored exactly, so scores are exact and only recall is approximate (measured in
    docs/metrics.md). The cost is linear in the number of rows.
    """

    exact_below: int = 5_000
    terms_per_row: int = 16
    postings_per_term: int = 300
    candidates_per_row: int = 40
    chunk_rows: int = 1024


def top_k_neighbours(
    matrix: sp.csr_matrix,
    k: int,
    floor: float,
    params: NeighbourParams | None = None,
) -> tuple[IntArray, IntArray, FloatArray]:
    """The k most similar other rows of every row, with similarity ≥ floor.

    Returns (rows, cols, scores): rows ascending and, within a row, scores descending with ties
    broken by the smaller column. Similarity is the dot product of rows (a cosine when the rows
    are L2-normalised). The relation is not symmetric: j may be among i's best without the reverse.
    """
    params = params or NeighbourParams()
    csr = sp.csr_matrix(matrix, dtype=np.float32)
    csr.sort_indices()
    n = csr.shape[0]
    empty_i = np.zeros(0, dtype=np.int64)
    if n < 2 or k <= 0:
        return empty_i, empty_i.copy(), np.zeros(0, dtype=np.float32)
    if n <= params.exact_below:
        return _exact_neighbours(csr, k, floor, params.chunk_rows)
    query = _keep_top_terms(csr, params.terms_per_row)
    index = _keep_top_postings(query, params.postings_per_term).T.tocsr()
    cand_rows: list[IntArray] = []
    cand_cols: list[IntArray] = []
    wanted = params.candidates_per_row
    for start in range(0, n, params.chunk_rows):
        stop = min(n, start + params.chunk_rows)
        product = (query[start:stop] @ index).tocsr()
        indptr, indices, negated = product.indptr, product.indices, -product.data
        lengths = np.diff(indptr)
        # A row's entries are all kept when they are few, else its `wanted` + 1 best.
        keep = np.repeat(lengths <= wanted + 1, lengths)
        bounds = indptr.tolist()
        for r in np.flatnonzero(lengths > wanted + 1).tolist():
            a = bounds[r]
            keep[a + np.argpartition(negated[a : bounds[r + 1]], wanted)[: wanted + 1]] = True
        rows = np.repeat(np.arange(start, stop, dtype=np.int64), lengths)[keep]
        cols = indices[keep].astype(np.int64)
        others = cols != rows
        cand_rows.append(rows[others])
        cand_cols.append(cols[others])
    if not cand_rows:
        return empty_i, empty_i.copy(), np.zeros(0, dtype=np.float32)
    rows, cols = _unique_pairs(np.concatenate(cand_rows), np.concatenate(cand_cols), n)
    scores = rowwise_dot(csr, csr, rows, cols)
    keep = scores >= floor
    return _top_per_row(rows[keep], cols[keep], scores[keep], k)


def _exact_neighbours(
    csr: sp.csr_matrix, k: int, floor: float, chunk_rows: int
) -> tuple[IntArray, IntArray, FloatArray]:
    n = csr.shape[0]
    transposed = csr.T.tocsr()
    out_rows: list[IntArray] = []
    out_cols: list[IntArray] = []
    out_scores: list[FloatArray] = []
    for start in range(0, n, chunk_rows):
        stop = min(n, start + chunk_rows)
        product = (csr[start:stop] @ transposed).tocsr()
        product.sort_indices()
        rows = np.repeat(np.arange(start, stop, dtype=np.int64), np.diff(product.indptr))
        cols = product.indices.astype(np.int64)
        scores = product.data.astype(np.float32)
        keep = (scores >= floor) & (cols != rows)
        if not keep.any():
            continue
        r, c, s = _top_per_row(rows[keep], cols[keep], scores[keep], k)
        out_rows.append(r)
        out_cols.append(c)
        out_scores.append(s)
    if not out_rows:
        empty_i = np.zeros(0, dtype=np.int64)
        return empty_i, empty_i.copy(), np.zeros(0, dtype=np.float32)
    return np.concatenate(out_rows), np.concatenate(out_cols), np.concatenate(out_scores)
