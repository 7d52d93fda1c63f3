"""Realistic synthetic portfolios in the omb-2024 inventory format, for the benchmarks.

Every text is recombined from the real 2023 and 2024 federal AI inventories with a seeded RNG:
names mixed head-to-tail or qualified, descriptions built from real sentences. Categorical columns
are copied, block by block, from real 2024 rows of the same agency, so their value distributions
(noise included: trailing spaces, "N/A" next to "", odd stage names) are the real ones. On top of
that the generator plants what a registry really holds:

- near-duplicates across agencies: the same capability phrased differently (about 4 % of rows);
- exact duplicate names inside one unit: re-entered projects or reused names (about 1.5 %).

The unit tree scales with the size: about 40 agencies (unique codes) and 400 bureaus at 100k
projects, fewer for smaller files. The output is deterministic for a seed and streamed to disk
row by row (memory stays at the size of the source inventories).

    python benchmarks/generate.py --projects 100000 --seed 1 --out /tmp/p100k.csv
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import time
from bisect import bisect
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from functools import cache
from itertools import accumulate
from pathlib import Path
from random import Random

INVENTORIES = Path(__file__).resolve().parent.parent / "portfolio" / "fixtures" / "inventories"
SOURCE_2024 = INVENTORIES / "federal-ai-inventory-2024.csv"
SOURCE_2023 = INVENTORIES / "federal-ai-inventory-2023.csv"

NAME, AGENCY, ABR, BUREAU = "2_use_case_name", "3_agency", "3_abr", "4_bureau"
PURPOSE, OUTPUTS, TOPIC = "11_purpose_benefits", "12_outputs", "8_topic_area"

NEAR_DUPLICATE_RATE = 0.04
SAME_UNIT_DUPLICATE_RATE = 0.015
SAME_AGENCY_TEXT_RATE = 0.7

# 2023 department codes that the 2024 inventory spells differently.
CODES_2023 = {"DOS": "STATE"}

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"“])")
# Where a name splits into "what" and "for what" (the tails are recombined).
_NAME_JOINS = (" for ", " using ", ": ", " - ")

# Same capability, other words: applied to build near-duplicates across agencies.
SYNONYMS: tuple[tuple[str, str], ...] = (
    ("Chatbot", "Virtual Assistant"),
    ("chatbot", "virtual assistant"),
    ("Chat Bot", "Conversational Agent"),
    ("Generative AI", "GenAI"),
    ("generative AI", "large language models"),
    ("Machine Learning", "ML"),
    ("machine learning", "ML models"),
    ("Artificial Intelligence", "AI"),
    ("Natural Language Processing", "NLP"),
    ("natural language processing", "text analytics"),
    ("Optical Character Recognition", "OCR"),
    ("Document", "Records"),
    ("document", "record"),
    ("Automated", "Automatic"),
    ("automated", "automatic"),
    ("Automation", "Streamlining"),
    ("Analysis", "Analytics"),
    ("analysis", "analytics"),
    ("Detection", "Identification"),
    ("detect", "identify"),
    ("Classification", "Categorization"),
    ("classify", "categorize"),
    ("Prediction", "Forecasting"),
    ("predict", "forecast"),
    ("Tool", "Application"),
    ("tool", "application"),
    ("System", "Platform"),
    ("system", "platform"),
    ("Assistant", "Copilot"),
    ("Summarization", "Summaries"),
    ("summarize", "condense"),
    ("Translation", "Language Conversion"),
    ("Fraud", "Improper Payment"),
    ("Search", "Discovery"),
    ("improve", "enhance"),
    ("reduce", "cut"),
    ("staff", "employees"),
    ("employees", "personnel"),
    ("data", "information"),
)
NAME_PREFIXES = (
    "AI-assisted ",
    "Enterprise ",
    "Automated ",
    "Pilot: ",
    "Next-Gen ",
    "Smart ",
    "Integrated ",
    "Cloud-based ",
    "Regional ",
    "Agency-wide ",
    "Modernized ",
    "Predictive ",
)
NAME_SUFFIXES = (
    " Pilot",
    " 2.0",
    " (Phase II)",
    " Prototype",
    " Modernization",
    " Initiative",
    " Enhancement",
    " - Expansion",
    " (FY2024)",
    " (FY2025)",
    " Proof of Concept",
    " Dashboard",
    " Service",
    " v3",
)
EXTRA_OFFICES = (
    "Office of the Chief Information Officer",
    "Office of the Chief Financial Officer",
    "Office of Inspector General",
    "Office of General Counsel",
    "Office of Human Capital",
    "Office of Policy and Planning",
    "Office of Acquisition Management",
    "Office of Data and Analytics",
    "Office of Operations",
    "Office of Research and Development",
    "Office of Communications",
    "Office of Civil Rights",
    "Office of Management",
    "Office of Security",
    "Office of Field Operations",
)
AGENCY_SUBJECTS = (
    "Maritime",
    "Space Weather",
    "Public Lands",
    "Trade Policy",
    "Disaster Recovery",
    "Water Resources",
    "Rural Development",
    "Digital Services",
    "Consumer Safety",
    "Arts and Humanities",
    "Broadcasting",
    "Nuclear Safety",
    "Railroad Safety",
    "Small Business",
    "Federal Mediation",
    "Workforce Development",
)
AGENCY_FORMS = ("National {} Administration", "Federal {} Commission", "Office of {}")


@dataclass(frozen=True)
class Record:
    """The text of one real use case."""

    name: str
    sentences: tuple[str, ...]
    outputs: str
    topic: str | None  # 2023 records have no 2024 topic


@dataclass
class Agency:
    name: str
    code: str
    real: bool
    weight: float
    bureaus: list[str] = field(default_factory=list)
    bureau_cum: list[float] = field(default_factory=list)
    templates: list[dict[str, str]] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    tails: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Sources:
    header: tuple[str, ...]
    rows: tuple[dict[str, str], ...]
    records: tuple[Record, ...]
    records_2023_by_code: dict[str, tuple[Record, ...]]
    offices_2023_by_code: dict[str, tuple[str, ...]]
    heads: dict[str, tuple[str, ...]]
    tails: dict[str, tuple[str, ...]]
    all_sentences: tuple[str, ...]


def _sentences(text: str) -> tuple[str, ...]:
    parts = [part for part in _SENTENCE_END.split(text.strip()) if part.strip()]
    return tuple(parts) or ((text,) if text else ())


@cache
def load_sources() -> Sources:
    """Read both inventories once (about 4,500 use cases)."""
    with SOURCE_2024.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = tuple(reader.fieldnames or ())
        rows = tuple(reader)
    if len(header) != 62:
        raise ValueError(f"{SOURCE_2024.name}: expected 62 columns, found {len(header)}")
    records = [
        Record(
            name=row[NAME],
            sentences=_sentences(row[PURPOSE]),
            outputs=row[OUTPUTS],
            topic=row[TOPIC],
        )
        for row in rows
        if row[NAME].strip()
    ]
    records_2023: dict[str, list[Record]] = defaultdict(list)
    offices_2023: dict[str, Counter[str]] = defaultdict(Counter)
    with SOURCE_2023.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            code = CODES_2023.get(row["Department_Code"], row["Department_Code"])
            if not row["Title"].strip():
                continue
            record = Record(
                name=row["Title"], sentences=_sentences(row["Summary"]), outputs="", topic=None
            )
            records.append(record)
            records_2023[code].append(record)
            if row["Agency"].strip():
                offices_2023[code][row["Agency"].strip()] += 1
    heads: dict[str, list[str]] = defaultdict(list)
    tails: dict[str, list[str]] = defaultdict(list)
    for record in records:
        for join in _NAME_JOINS:
            head, found, tail = record.name.strip().partition(join)
            if found and head and tail:
                heads[join].append(head)
                tails[join].append(tail)
                break
    return Sources(
        header=header,
        rows=rows,
        records=tuple(records),
        records_2023_by_code={code: tuple(found) for code, found in records_2023.items()},
        offices_2023_by_code={
            code: tuple(name for name, _ in counts.most_common())
            for code, counts in offices_2023.items()
        },
        heads={join: tuple(found) for join, found in heads.items()},
        tails={join: tuple(found) for join, found in tails.items()},
        all_sentences=tuple(s for record in records for s in record.sentences),
    )


def unit_counts(n_projects: int) -> tuple[int, int]:
    """(agencies, bureaus) for a portfolio of this size: about (41, 400) at 100k."""
    scale = max(n_projects, 1) / 100_000
    agencies = max(3, round(41 * scale**0.3))
    bureaus = max(agencies, round(400 * scale**0.5))
    return agencies, bureaus


def _real_agencies(sources: Sources) -> list[Agency]:
    by_code: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in sources.rows:
        by_code[row[ABR].strip()].append(row)
    agencies = []
    for code, rows in by_code.items():
        name = Counter(row[AGENCY].strip() for row in rows).most_common(1)[0][0]
        agency = Agency(name=name, code=code, real=True, weight=len(rows) + 2, templates=rows)
        agency.records = [
            Record(row[NAME], _sentences(row[PURPOSE]), row[OUTPUTS], row[TOPIC])
            for row in rows
            if row[NAME].strip()
        ]
        agency.records += sources.records_2023_by_code.get(code, ())
        for record in agency.records:
            for join in _NAME_JOINS:
                head, found, tail = record.name.strip().partition(join)
                if found and head and tail:
                    agency.tails.setdefault(join, []).append(tail)
                    break
        agencies.append(agency)
    # Largest first, code as tie-break: a deterministic order whatever the file order.
    agencies.sort(key=lambda a: (-a.weight, a.code))
    return agencies


def _synthetic_agencies(count: int, taken: set[str], rng: Random) -> list[Agency]:
    made: list[Agency] = []
    index = 0
    while len(made) < count:
        subject = AGENCY_SUBJECTS[index % len(AGENCY_SUBJECTS)]
        form = AGENCY_FORMS[(index // len(AGENCY_SUBJECTS)) % len(AGENCY_FORMS)]
        name = form.format(subject)
        if index >= len(AGENCY_SUBJECTS) * len(AGENCY_FORMS):
            name = f"{name} {index // (len(AGENCY_SUBJECTS) * len(AGENCY_FORMS)) + 1}"
        code = "".join(word[0] for word in name.split() if word[0].isupper() or word.isdigit())
        suffix = 2
        base = code
        while code in taken:
            code = f"{base}{suffix}"
            suffix += 1
        taken.add(code)
        made.append(Agency(name=name, code=code, real=False, weight=rng.uniform(3, 30)))
        index += 1
    return made


def build_units(n_projects: int, rng: Random) -> list[Agency]:
    """The agencies (unique codes) with their bureaus and the rows that serve as templates."""
    sources = load_sources()
    n_agencies, n_bureaus = unit_counts(n_projects)
    agencies = _real_agencies(sources)[:n_agencies]
    if len(agencies) < n_agencies:
        taken = {agency.code for agency in agencies}
        agencies += _synthetic_agencies(n_agencies - len(agencies), taken, rng)
    # Bureaus per agency grow sub-linearly with the agency's size.
    spread = [agency.weight**0.7 for agency in agencies]
    for agency, part in zip(agencies, spread, strict=True):
        wanted = max(1, round(n_bureaus * part / sum(spread)))
        real = Counter(row[BUREAU] for row in agency.templates)
        names = [name for name, _ in sorted(real.items(), key=lambda item: (-item[1], item[0]))]
        seen = {name.strip().lower() for name in names}
        for office in sources.offices_2023_by_code.get(agency.code, ()):
            if office.lower() not in seen:
                names.append(office)
                seen.add(office.lower())
        extra = 0
        while len(names) < wanted:
            office = EXTRA_OFFICES[extra % len(EXTRA_OFFICES)]
            if extra >= len(EXTRA_OFFICES):
                office = f"{agency.code} Region {extra - len(EXTRA_OFFICES) + 1}"
            if office.lower() not in seen:
                names.append(office)
                seen.add(office.lower())
            extra += 1
        agency.bureaus = names[:wanted]
        # Zipf-like shares: the biggest bureau holds a large part of the agency's projects.
        agency.bureau_cum = list(accumulate(1 / (rank + 1) ** 0.9 for rank in range(wanted)))
        if not agency.templates:
            agency.templates = list(rng.sample(sources.rows, 40))
    return agencies


def _rephrase(text: str, rng: Random, *, budget: int) -> str:
    """Replace up to `budget` words by synonyms (the same capability, phrased differently)."""
    candidates = [pair for pair in SYNONYMS if pair[0] in text]
    rng.shuffle(candidates)
    for old, new in candidates[:budget]:
        text = text.replace(old, new, 1)
    return text


def _near_duplicate(name: str, sentences: list[str], outputs: str, rng: Random):
    new_name = _rephrase(name, rng, budget=2)
    if new_name == name:
        if rng.random() < 0.5:
            new_name = rng.choice(NAME_PREFIXES) + name.strip()
        else:
            new_name = name.strip() + rng.choice(NAME_SUFFIXES)
    new_sentences = [_rephrase(sentence, rng, budget=1) for sentence in sentences]
    if len(new_sentences) > 2 and rng.random() < 0.5:
        new_sentences.pop(rng.randrange(1, len(new_sentences)))
    if len(new_sentences) > 1:
        first = new_sentences.pop(0)
        rng.shuffle(new_sentences)
        new_sentences.insert(rng.randrange(0, 2), first)
    return new_name, new_sentences, _rephrase(outputs, rng, budget=1)


class Generator:
    """Draws one row at a time; holds only the source inventories and small bounded buffers."""

    def __init__(self, n_projects: int, seed: int) -> None:
        self.rng = Random(seed)
        self.sources = load_sources()
        self.agencies = build_units(n_projects, self.rng)
        self.agency_cum = list(accumulate(agency.weight for agency in self.agencies))
        header = self.sources.header
        own = {NAME, AGENCY, ABR, BUREAU, PURPOSE, OUTPUTS}
        start = header.index
        # Column blocks copied together from one real row, so that answers that belong
        # together (stage and dates, impact type and the high-impact practices) stay coherent.
        self.blocks = (
            header[start(TOPIC) : start(PURPOSE)],
            header[start("16_dev_stage") : start("17_impact_type")]
            + header[start("18_date_initiated") : start("24_hisp_support")],
            header[start("24_hisp_support") : start("42_dev_tools_wait")],
            header[start("42_dev_tools_wait") : start("50_internal_review")],
            (header[start("17_impact_type")], *header[start("50_internal_review") :]),
        )
        covered = own.union(*self.blocks)
        missing = [column for column in header if column not in covered]
        if missing:
            raise ValueError(f"columns without a source: {missing}")
        self.outputs = tuple(row[OUTPUTS] for row in self.sources.rows if row[OUTPUTS].strip())
        # (unit, name) pairs written so far: about 10 MB at 100k rows, the only growing state.
        self.names_seen: set[tuple[tuple[int, int], str]] = set()
        self.recent: deque[tuple[int, str, list[str], str]] = deque(maxlen=1000)
        self.last_in_unit: dict[tuple[int, int], tuple[str, list[str], str]] = {}

    def _pick(self, cum: list[float]) -> int:
        return bisect(cum, self.rng.random() * cum[-1])

    def _name(self, first: Record, bureau: str, agency_tails: dict[str, list[str]]) -> str:
        rng = self.rng
        base = first.name.strip()
        roll = rng.random()
        if roll < 0.12:
            return first.name  # verbatim, stray spaces included
        if roll < 0.45:
            joins = [join for join in _NAME_JOINS if join in base]
            join = joins[0] if joins else rng.choice(_NAME_JOINS[:2])
            head = base.partition(join)[0] if joins else base
            tails = agency_tails.get(join) if rng.random() < SAME_AGENCY_TEXT_RATE else None
            return f"{head}{join}{rng.choice(tails or self.sources.tails[join])}"
        return self._qualified(base, bureau)

    def _qualified(self, base: str, bureau: str) -> str:
        rng = self.rng
        roll = rng.random()
        if (
            roll < 0.3
            and 0 < len(bureau.strip()) <= 12
            and not base.endswith(f"({bureau.strip()})")
        ):
            return f"{base} ({bureau.strip()})"
        if roll < 0.65:
            return rng.choice(NAME_PREFIXES) + base
        return base + rng.choice(NAME_SUFFIXES)

    def _unique_in_unit(self, name: str, unit: tuple[int, int], bureau: str) -> str:
        """Exact duplicates inside a unit are planted on purpose only, not by chance."""
        for _ in range(4):
            if (unit, name) not in self.names_seen:
                break
            name = self._qualified(name.strip(), bureau)
        return name

    def _texts(self, first: Record, second: Record) -> tuple[list[str], str]:
        rng = self.rng
        sentences = list(first.sentences[: rng.randint(1, 4)])
        if second.sentences and rng.random() < 0.35:
            at = rng.randint(min(1, len(sentences)), len(sentences))
            sentences.insert(at, rng.choice(second.sentences))
        if rng.random() < 0.2:
            sentences.append(rng.choice(self.sources.all_sentences))
        outputs = first.outputs or second.outputs
        if not outputs and rng.random() < 0.5:
            outputs = rng.choice(self.outputs)
        return sentences, outputs

    def row(self) -> list[str]:
        rng = self.rng
        agency_index = self._pick(self.agency_cum)
        agency = self.agencies[agency_index]
        bureau_index = self._pick(agency.bureau_cum)
        bureau = agency.bureaus[bureau_index]
        unit = (agency_index, bureau_index)
        roll = rng.random()
        first: Record | None = None
        if roll < SAME_UNIT_DUPLICATE_RATE and unit in self.last_in_unit:
            name, sentences, outputs = self.last_in_unit[unit]
            if rng.random() < 0.5:  # same name, another project
                first = rng.choice(agency.records or self.sources.records)
                sentences, outputs = self._texts(first, rng.choice(self.sources.records))
        elif roll < SAME_UNIT_DUPLICATE_RATE + NEAR_DUPLICATE_RATE and self.recent:
            other_agency, name, sentences, outputs = rng.choice(self.recent)
            if other_agency == agency_index and len(self.agencies) > 1:
                agency_index = (agency_index + 1 + rng.randrange(len(self.agencies) - 1)) % len(
                    self.agencies
                )
                agency = self.agencies[agency_index]
                bureau_index = self._pick(agency.bureau_cum)
                bureau = agency.bureaus[bureau_index]
                unit = (agency_index, bureau_index)
            name, sentences, outputs = _near_duplicate(name, sentences, outputs, rng)
            name = self._unique_in_unit(name, unit, bureau)
        else:
            pool = (
                agency.records if agency.records and rng.random() < SAME_AGENCY_TEXT_RATE else None
            )
            first = rng.choice(pool or self.sources.records)
            second = rng.choice(self.sources.records)
            name = self._unique_in_unit(self._name(first, bureau, agency.tails), unit, bureau)
            sentences, outputs = self._texts(first, second)
        self.names_seen.add((unit, name))
        self.recent.append((agency_index, name, sentences, outputs))
        self.last_in_unit[unit] = (name, sentences, outputs)

        values: dict[str, str] = {}
        for block in self.blocks:
            template = rng.choice(agency.templates)
            for column in block:
                values[column] = template[column]
        if first is not None and first.topic is not None:
            values[TOPIC] = first.topic
        template_agency = rng.choice(agency.templates)[AGENCY] if agency.real else agency.name
        values[NAME] = name
        values[AGENCY] = template_agency
        values[ABR] = agency.code
        values[BUREAU] = bureau
        values[PURPOSE] = " ".join(sentences)
        values[OUTPUTS] = outputs
        return [values[column] for column in self.sources.header]


def generate(n_projects: int, seed: int, out_path: Path) -> Path:
    """Write a portfolio of `n_projects` rows in the omb-2024 format; returns the path."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    generator = Generator(n_projects, seed)
    partial = out_path.with_name(out_path.name + ".part")
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(generator.sources.header)
        for _ in range(n_projects):
            writer.writerow(generator.row())
    partial.replace(out_path)
    return out_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    path = generate(args.projects, args.seed, args.out)
    agencies, bureaus = unit_counts(args.projects)
    print(
        f"{path}: {args.projects} projects, ~{agencies} agencies, ~{bureaus} bureaus, "
        f"{path.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
