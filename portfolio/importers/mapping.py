"""The vocabulary of the federal inventories mapped onto Maestro's choices (documented tables).

Every table here is quoted in docs/importing.md. The functions are pure: text in, value out, no
database. Matching is done on a *normalised key*: non-breaking spaces and runs of whitespace become
one space, dashes become "-", curly quotes straight ones, and the text is case-folded, so that the
noise of the real files (trailing newlines, leading spaces, "Safety-impacting" next to
"Safety-Impacting") never decides a mapping.
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable

from django.utils.text import slugify

from portfolio.models import Project

Stage = Project.Stage
Topic = Project.TopicArea
Technique = Project.Technique
Method = Project.DevelopmentMethod
Impact = Project.OmbImpact

_SPACES = re.compile(r"\s+")
_DASHES = str.maketrans(
    {"–": "-", "—": "-", "‐": "-", "‑": "-", "’": "'", "‘": "'", "“": '"', "”": '"'}
)
_CHOICE_PREFIX = re.compile(r"^[a-z]\)\s*")  # "a) Pre-deployment – …" in the 2025 dictionary


def clean(value: str | None) -> str:
    """Outer whitespace (including non-breaking spaces) removed; inner text untouched."""
    if not value:
        return ""
    return value.replace("\xa0", " ").strip()


# "Purpose: … Expected benefits: …": the 2024 edition's one text for the question "What is the
# intended purpose and expected benefits of the AI?", when the agency labelled both parts. The
# benefits label counts at the start of a line or after the end of a sentence ("… that benefits:
# x" is not a label); markdown emphasis around the labels is dropped.
_PURPOSE_LABEL = re.compile(r"^[\s*_]*(?:intended\s+)?purpose[\s*_]*:[\s*_]*", re.IGNORECASE)
_BENEFITS_LABEL = re.compile(
    r"(?:^|(?<=[.;!?)]))[\s*_]*(?:expected\s+)?benefits?[\s*_]*:[\s*_]*",
    re.IGNORECASE | re.MULTILINE,
)
_EMPHASIS = " \t\r\n*_"


def split_purpose_benefits(text: str) -> tuple[str, str]:
    """(purpose, benefits) of one text answering both, split only when the agency labelled both
    parts ("Purpose: …", then "Expected benefits: …"); else (text, "")."""
    label = _PURPOSE_LABEL.match(text)
    if label is None:
        return text, ""
    rest = text[label.end() :]
    second = _BENEFITS_LABEL.search(rest)
    if second is None:
        return text, ""
    purpose = rest[: second.start()].strip(_EMPHASIS).rstrip(";,").rstrip()
    benefits = rest[second.end() :].strip(_EMPHASIS)
    if not purpose or not benefits:
        return text, ""
    return purpose, benefits


def collapse(value: str | None) -> str:
    """Cleaned, with every run of whitespace (newlines included) turned into one space."""
    return _SPACES.sub(" ", clean(value))


def key(value: str | None) -> str:
    """The matching key of a categorical value: collapsed, dashes and quotes unified, casefolded."""
    return collapse(value).translate(_DASHES).casefold()


def choice_key(value: str | None) -> str:
    """`key` without a leading "a) " option letter (2025 multiple-choice texts)."""
    return _CHOICE_PREFIX.sub("", key(value))


def _table(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {key(text): str(target) for text, target in pairs}


# Values that say "nothing here" in every edition.
BLANK_KEYS = frozenset(
    {"", "n/a", "na", "n.a.", "none", "none.", "null", "-", "--", "not applicable", "nan"}
)


def is_blank(value: str | None) -> bool:
    return key(value) in BLANK_KEYS


# --- Agencies ------------------------------------------------------------------------------------

# Agency codes that changed between editions, mapped to the code Maestro keeps.
AGENCY_CODE_ALIASES: dict[str, str] = {
    "DOS": "STATE",  # Department of State: "DOS" in 2023, "STATE" from 2024 on
}


def agency_code(raw: str) -> str:
    """An agency abbreviation as a unit code: upper case, no spaces, aliases applied."""
    code = collapse(raw).upper().replace(" ", "")
    return AGENCY_CODE_ALIASES.get(code, code)


UNIT_CODE_MAX = 64
UNIT_NAME_MAX = 255


def bureau_code(agency: str, bureau: str) -> str:
    """Stable code of a bureau below an agency: `AGENCY:slug-of-the-bureau-name`.

    Case, spacing and punctuation variants of one bureau name give one code. Codes longer than the
    field allows keep a prefix and end with 8 hex digits of the name's SHA-1, so they stay unique.
    """
    slug = (
        slugify(collapse(bureau))
        or hashlib.sha1(key(bureau).encode(), usedforsecurity=False).hexdigest()[:8]
    )
    code = f"{agency}:{slug}"
    if len(code) > UNIT_CODE_MAX:
        digest = hashlib.sha1(key(bureau).encode(), usedforsecurity=False).hexdigest()[:8]
        code = f"{code[: UNIT_CODE_MAX - 9].rstrip('-')}-{digest}"
    return code


def bureau_is_agency(bureau: str, agency_name: str, agency: str) -> bool:
    """A blank or placeholder bureau, or one that repeats the agency, means the agency itself."""
    bureau_key = key(bureau)
    return bureau_key in BLANK_KEYS or bureau_key in {key(agency_name), key(agency)}


# --- Stage ---------------------------------------------------------------------------------------

# Every stage spelling of the 2023 (≈30 free-text values), 2024 and 2025 editions seen so far.
STAGE_TABLE: dict[str, str] = _table(
    [
        # 2024 vocabulary (SDLC) and its 2023 forerunners
        ("Initiated", Stage.IDEA),
        ("Initiation", Stage.IDEA),
        ("Ideation", Stage.IDEA),
        ("Planned", Stage.IDEA),
        ("Planned (not in production)", Stage.IDEA),
        ("Acquisition and/or Development", Stage.DEVELOPMENT),
        ("Development and Acquisition", Stage.DEVELOPMENT),
        ("Development (not in production)", Stage.DEVELOPMENT),
        ("Initial development", Stage.DEVELOPMENT),
        ("Currently under development", Stage.DEVELOPMENT),
        ("Refinments planned for future release", Stage.PRODUCTION),
        ("Implementation and Assessment", Stage.PILOT),
        ("Implementation", Stage.PILOT),
        ("Proof-of-concept completed", Stage.PILOT),
        ("Proof of Concept completed and published", Stage.PILOT),
        ("Investigating/Proof of concept", Stage.PILOT),
        ("This is a pilot initiative", Stage.PILOT),
        ("Successfully tested but not in production.", Stage.PILOT),
        ("User Acceptance Testing to begin early spring '22", Stage.PILOT),
        ("Technical transfer of capability to industry planned this summer.", Stage.PILOT),
        ("Operation and Maintenance", Stage.PRODUCTION),
        ("Operation and Management", Stage.PRODUCTION),
        ("In-use", Stage.PRODUCTION),
        ("In use", Stage.PRODUCTION),
        ("In production", Stage.PRODUCTION),
        ("In production: less than 6 months", Stage.PRODUCTION),
        ("In production: less than six months", Stage.PRODUCTION),
        ("In production: less than one year", Stage.PRODUCTION),
        ("In production: less than 1 year", Stage.PRODUCTION),
        ("In production: more than 1 year", Stage.PRODUCTION),
        ("In mission", Stage.PRODUCTION),
        ("Deployment", Stage.PRODUCTION),
        ("Retired", Stage.RETIRED),
        ("Completed", Stage.RETIRED),
        ("Research or Administrative Action Complete", Stage.RETIRED),
        # 2025 shorthand codes (the full selection texts are matched by their first words)
        ("Pre-deployment", Stage.DEVELOPMENT),
        ("Pilot", Stage.PILOT),
        ("Deployed", Stage.PRODUCTION),
        # Maestro's own codes and labels
        *((code, code) for code in Stage.values),
        *((label, code) for code, label in Stage.choices),
    ]
)

# Keyword fallback for spellings the table does not know, tried in this order.
STAGE_KEYWORDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), stage)
    for pattern, stage in (
        (r"\bpilot|proof[ -]of[ -]concept|\bpoc\b|prototyp|\btest", Stage.PILOT),
        (r"retire|decommission|discontinu|\bcomplete", Stage.RETIRED),
        (r"not in production|under development|\bdevelop|acquisition|\bbuild", Stage.DEVELOPMENT),
        (
            r"production|in[ -]use|operation|deploy|in mission|maintenance|\blive\b",
            Stage.PRODUCTION,
        ),
        (r"implement", Stage.PILOT),
        (r"initiat|plann|ideation|\bidea|concept|explor|research", Stage.IDEA),
    )
)


def map_stage(raw: str) -> tuple[str, bool]:
    """(stage, exact): table first, then keywords; blank or unmatched → idea.

    `exact` is False when the value was not blank and the table did not know it (callers keep the
    raw text in `extra` then).
    """
    value = choice_key(raw)
    if value in BLANK_KEYS:
        return str(Stage.IDEA), True
    if value in STAGE_TABLE:
        return STAGE_TABLE[value], True
    head = _head(value)
    if head in STAGE_TABLE:
        return STAGE_TABLE[head], True
    for pattern, stage in STAGE_KEYWORDS:
        if pattern.search(value):
            return str(stage), False
    return str(Stage.IDEA), False


def _head(value: str) -> str:
    """The short name before " - " or ": " in a long selection text ("pilot - the use case…")."""
    return re.split(r" - |: ", value, maxsplit=1)[0].strip()


# --- Topic area ----------------------------------------------------------------------------------

TOPIC_TABLE: dict[str, str] = _table(
    [
        # 2024 topic areas
        ("Mission-Enabling", Topic.ADMINISTRATIVE),
        ("Mission-Enabling (internal agency support)", Topic.ADMINISTRATIVE),
        ("Law & Justice", Topic.LAW_ENFORCEMENT),
        ("Health & Medical", Topic.HEALTH),
        ("Government Services (includes Benefits and Service Delivery)", Topic.SERVICE_DELIVERY),
        ("Diplomacy & Trade", Topic.INTERNATIONAL),
        ("Science & Space", Topic.SCIENCE),
        ("AI used in Transportation Operations", Topic.TRANSPORTATION),
        ("Education & Workforce", Topic.EDUCATION_WORKFORCE),
        ("Energy & the Environment", Topic.ENERGY_ENVIRONMENT),
        ("Emergency Management", Topic.EMERGENCY),
        ("Administration of AI Governance, Processes, and Procedures", Topic.ADMINISTRATIVE),
        ("Department-Level AI Capabilities and Capacity", Topic.ADMINISTRATIVE),
        ("AIML Platform/Environment", Topic.INFORMATION_TECHNOLOGY),
        ("Internal DOT Research Project", Topic.SCIENCE),
        ("DOT Sponsored External Research", Topic.SCIENCE),
        # 2025 topic areas and their shorthand codes
        ("Administrative Functions", Topic.ADMINISTRATIVE),
        ("Admin Functions", Topic.ADMINISTRATIVE),
        ("Cybersecurity", Topic.CYBERSECURITY),
        ("Emergency Mgmt", Topic.EMERGENCY),
        ("Energy and the Environment", Topic.ENERGY_ENVIRONMENT),
        ("Energy and Environment", Topic.ENERGY_ENVIRONMENT),
        ("Government Benefits Processing", Topic.BENEFITS),
        ("Benefits Processing", Topic.BENEFITS),
        ("Health and Medical", Topic.HEALTH),
        ("Human Resources", Topic.HUMAN_RESOURCES),
        ("HR", Topic.HUMAN_RESOURCES),
        ("Information Technology", Topic.INFORMATION_TECHNOLOGY),
        ("IT", Topic.INFORMATION_TECHNOLOGY),
        ("International Affairs", Topic.INTERNATIONAL),
        ("Law Enforcement", Topic.LAW_ENFORCEMENT),
        ("Procurement and Financial Management", Topic.PROCUREMENT_FINANCE),
        ("Procurement and Finance Mgmt", Topic.PROCUREMENT_FINANCE),
        ("Science", Topic.SCIENCE),
        ("Service Delivery", Topic.SERVICE_DELIVERY),
        ("Transportation", Topic.TRANSPORTATION),
        ("Other", Topic.OTHER),
        *((code, code) for code in Topic.values),
        *((label, code) for code, label in Topic.choices),
    ]
)


def map_topic(raw: str) -> tuple[str, bool]:
    """(topic, exact). Blank → "". "A; B" → the first part that is not "Other".
    Unknown text → "other" with exact False (callers keep the raw value)."""
    value = choice_key(raw)
    if value in BLANK_KEYS:
        return "", True
    if value in TOPIC_TABLE:
        return TOPIC_TABLE[value], True
    parts = [TOPIC_TABLE.get(part.strip()) for part in value.split(";")]
    found = [part for part in parts if part]
    if found:
        specific = [part for part in found if part != Topic.OTHER]
        return (specific or found)[0], len(found) == len(parts)
    return str(Topic.OTHER), False


# --- AI techniques -------------------------------------------------------------------------------

# Keyword table from free text to technique codes: regular expressions on the lower-cased text
# (word boundaries where a short word could be part of another). Used on the 2023 `Techniques`
# column and, where an edition has no such column, on the name, purpose and outputs.
TECHNIQUE_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        Technique.NLP,
        (
            r"natural[ -]lang\w* processing",
            r"\bnlp\b",
            r"text (analytics|mining|classification)",
            r"language model",
            r"\bllms?\b",
            r"chat ?bots?",
            r"virtual (agent|assistant)",
            r"speech[ -]to[ -]text",
            r"transcri(be|bing|ption)",
            r"translat(e|ion|ing)",
            r"named entity",
            r"sentiment",
            r"topic model",
            r"latent dirichlet",
            r"document understanding",
            r"summari[sz]",
        ),
    ),
    (
        Technique.COMPUTER_VISION,
        (
            r"computer vision",
            r"machine vision",
            r"image (recognition|classification|analysis|processing|segmentation)",
            r"imagery",
            r"object detection",
            r"facial",
            r"face (recognition|matching)",
            r"optical character",
            r"\bocr\b",
            r"video analytic",
            r"visual analysis",
            r"\bcnns?\b",
            r"convolutional",
            r"\byolo",
            r"resnet",
            r"satellite image",
        ),
    ),
    (
        Technique.GENERATIVE,
        (
            r"generative",
            r"\bgen ?ai\b",
            r"\bgpt",
            r"chatgpt",
            r"copilot",
            r"large language model",
            r"\bllms?\b",
            r"synthetic (image|data|text)",
            r"text generation",
            r"image generation",
            r"code generation",
            r"diffusion model",
        ),
    ),
    (
        Technique.AGENTIC,
        (r"agentic", r"\bai agents?\b", r"autonomous agents?", r"multi-agent"),
    ),
    (Technique.REINFORCEMENT_LEARNING, (r"reinforcement learning",)),
    (
        Technique.CLASSICAL_ML,
        (
            r"machine[ -]learning",
            r"\bml\b",
            r"neural net",
            r"deep learn",
            r"random forest",
            r"regression",
            r"classifi(er|cation)",
            r"cluster",
            r"xgboost",
            r"gradient[ -]boost",
            r"boosted",
            r"predictive model",
            r"\blstm",
            r"time series",
            r"forecast(ing)? model",
            r"bagged trees",
            r"ensemble learning",
            r"perceptron",
            r"active learning",
            r"transfer learning",
            r"supervised",
        ),
    ),
)


def _literal_prefix(pattern: str) -> str:
    """The plain text every match of a keyword pattern starts with (a cheap pre-check)."""
    match = re.match(r"(?:\\b)?([a-z0-9 /-]*[a-z0-9/-])", pattern)
    if not match:
        return ""
    prefix = match.group(1)
    if pattern[match.end(1) : match.end(1) + 1] in {"?", "*", "{"}:
        prefix = prefix[:-1].rstrip()
    return prefix


_TECHNIQUE_MATCHERS = tuple(
    (
        technique,
        tuple(dict.fromkeys(_literal_prefix(p) for p in patterns)),
        re.compile("|".join(f"(?:{p})" for p in patterns)),
    )
    for technique, patterns in TECHNIQUE_KEYWORDS
)
_TECHNIQUE_ORDER = {code: index for index, code in enumerate(Technique.values)}


def infer_techniques(*texts: str) -> list[str]:
    """Technique codes named by the texts, in Maestro's order; [] when none is named."""
    text = "\n".join(t for t in texts if t).lower()
    found = [
        str(technique)
        for technique, prefixes, pattern in _TECHNIQUE_MATCHERS
        if any(prefix in text for prefix in prefixes) and pattern.search(text)
    ]
    return sorted(found, key=_TECHNIQUE_ORDER.__getitem__)


def map_techniques_column(raw: str) -> list[str]:
    """A techniques column (free text): keywords, or ["other"] when text names none we know."""
    if is_blank(raw):
        return []
    return infer_techniques(raw) or [str(Technique.OTHER)]


# 2025 `classification` (one choice, full text or shorthand code) → technique.
CLASSIFICATION_TABLE: dict[str, str] = _table(
    [
        ("Agentic AI", Technique.AGENTIC),
        ("Classical/Predictive Machine Learning", Technique.CLASSICAL_ML),
        ("Classical ML", Technique.CLASSICAL_ML),
        ("Computer Vision", Technique.COMPUTER_VISION),
        ("Generative AI", Technique.GENERATIVE),
        ("Natural Language Processing", Technique.NLP),
        ("NLP", Technique.NLP),
        ("Reinforcement Learning", Technique.REINFORCEMENT_LEARNING),
        ("Other", Technique.OTHER),
        *((code, code) for code in Technique.values),
        *((label, code) for code, label in Technique.choices),
    ]
)


def map_classification(raw: str) -> tuple[list[str], bool]:
    """(techniques, exact) from a 2025 `classification` cell (one value or a list of values)."""
    found: list[str] = []
    exact = True
    for item in split_list(raw):
        value = choice_key(item)
        technique = CLASSIFICATION_TABLE.get(value) or CLASSIFICATION_TABLE.get(_head(value))
        if technique is None:
            exact = False
            technique_list = map_techniques_column(item)
        else:
            technique_list = [technique]
        for technique_code in technique_list:
            if technique_code not in found:
                found.append(technique_code)
    return sorted(found, key=_TECHNIQUE_ORDER.__getitem__), exact


# --- OMB impact ----------------------------------------------------------------------------------

IMPACT_TABLE: dict[str, str] = _table(
    [
        # 2024 (M-24-10)
        ("Neither", Impact.NEITHER),
        ("Rights-Impacting", Impact.RIGHTS),
        ("Safety-Impacting", Impact.SAFETY),
        ("Both", Impact.RIGHTS_AND_SAFETY),
        # 2025 (M-25-21), full texts and shorthand codes
        ("High-impact", Impact.HIGH_IMPACT),
        ("Presumed high-impact, but determined not high impact", Impact.PRESUMED_NOT_HIGH),
        ("Presumed High-Impact, but Not High-impact", Impact.PRESUMED_NOT_HIGH),
        ("Not high-impact", Impact.NOT_HIGH),
        *((code, code) for code in Impact.values),
        *((label, code) for code, label in Impact.choices),
    ]
)


def map_impact(raw: str) -> tuple[str, bool]:
    """(impact, exact); anything else ("too new to assess", "Case-by-case") → "" (not exact)."""
    value = choice_key(raw)
    if value in BLANK_KEYS:
        return "", True
    if value in IMPACT_TABLE:
        return IMPACT_TABLE[value], True
    return "", False


# --- Development method --------------------------------------------------------------------------

METHOD_TABLE: dict[str, str] = _table(
    [
        ("Developed with contracting resources.", Method.VENDOR),
        ("Exclusively developed with contract/external resources.", Method.VENDOR),
        ("Developed in-house.", Method.IN_HOUSE),
        ("No contract/external resources used in development.", Method.IN_HOUSE),
        ("Developed with both contracting and in-house resources.", Method.BOTH),
        ("Developed with a combination of in-house and contract/external resources.", Method.BOTH),
        # 2025
        ("Purchased from a vendor", Method.VENDOR),
        ("Vendor Purchased", Method.VENDOR),
        ("Developed in-house", Method.IN_HOUSE),
        ("In-house Development", Method.IN_HOUSE),
        ("Developed with both contracting and in-house resources", Method.BOTH),
        ("Contracting and In House", Method.BOTH),
        *((code, code) for code in Method.values),
        *((label, code) for code, label in Method.choices),
    ]
)


def map_method(raw: str) -> tuple[str, bool]:
    """(method, exact): table, then keywords (both/combination, contract/vendor, in-house)."""
    value = choice_key(raw)
    if value in BLANK_KEYS:
        return "", True
    if value in METHOD_TABLE:
        return METHOD_TABLE[value], True
    if "not reported" in value or "unknown" in value:
        return "", False
    if "both" in value or "combination" in value:
        return str(Method.BOTH), False
    if "contract" in value or "vendor" in value or "purchase" in value:
        return str(Method.VENDOR), False
    if "in-house" in value or "in house" in value:
        return str(Method.IN_HOUSE), False
    return "", False


# --- Yes / no ------------------------------------------------------------------------------------

YES = frozenset({"yes", "y", "true", "1", "t"})
NO = frozenset({"no", "n", "false", "0", "f"})


def map_yes_no(raw: str) -> tuple[bool | None, bool]:
    """(True/False/None, exact)."""
    value = choice_key(raw)
    if value in YES:
        return True, True
    if value in NO:
        return False, True
    return None, value in BLANK_KEYS


# --- Lists and demographic features --------------------------------------------------------------

_LIST_SPLIT = re.compile(r"\s*(?:\n|;|,)\s*")


def split_list(raw: str) -> list[str]:
    """A multi-select cell as a list: JSON or stringified Python list (`['Age', 'Sex']`), else
    split on newlines, semicolons and commas. Empty items are dropped."""
    text = clean(raw)
    if not text:
        return []
    if text.startswith("[") and text.endswith("]"):
        for loader in (json.loads, ast.literal_eval):
            try:
                value = loader(text)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                continue
            if isinstance(value, list | tuple):
                return [collapse(str(item)) for item in value if collapse(str(item))]
        text = text[1:-1]
    return [collapse(part) for part in _LIST_SPLIT.split(text) if collapse(part)]


FEATURE_LABELS: dict[str, str] = {
    key(label): label
    for label in (
        "Race/Ethnicity",
        "Sex/Gender",
        "Sex",
        "Gender",
        "Age",
        "Religious Affiliation",
        "Socioeconomic Status",
        "Ability Status",
        "Residency Status",
        "Marital Status",
        "Income",
        "Employment Status",
        "Other",
    )
}
FEATURE_LABELS.update({"gender/sex": "Sex/Gender", "race": "Race/Ethnicity"})
_NO_FEATURES = BLANK_KEYS | {"none of the above", "no", "not applicable"}
_FEATURE_MAX = 80


def map_demographic_features(raw: str) -> tuple[list[str], bool]:
    """(features, exact). "None"/"N/A"/"None of the above" → []; prose (an item longer than 80
    characters, or a lone yes) → [] with exact False so that the raw text is kept."""
    items: list[str] = []
    for item in split_list(raw):
        for part in re.split(r"\s+and\s+|\s*&\s*", item):
            part = part.strip(" .")
            if part:
                items.append(part)
    if not items or all(choice_key(item) in _NO_FEATURES for item in items):
        return [], True
    if any(len(item) > _FEATURE_MAX for item in items) or [key(i) for i in items] == ["yes"]:
        return [], False
    features: list[str] = []
    seen: set[str] = set()
    for item in items:
        item_key = choice_key(item)
        if item_key in _NO_FEATURES or item_key in seen:
            continue
        seen.add(item_key)
        features.append(FEATURE_LABELS.get(item_key, item))
    return features, True


# --- Dates ---------------------------------------------------------------------------------------

_DATE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"),
        "ymd",
    ),
    (re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$"), "mdy"),
    (re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2})$"), "mdy2"),
    (re.compile(r"^(\d{1,2})/(\d{4})$"), "my"),
    (re.compile(r"^(\d{4})-(\d{1,2})$"), "ym"),
)
EARLIEST_YEAR = 1950
FUTURE_YEARS = 10


def parse_inventory_date(raw: str, *, today: dt.date | None = None) -> tuple[dt.date | None, bool]:
    """(date, exact) from an inventory date cell: M/D/YYYY, M/D/YY, YYYY-MM-DD, MM/YYYY or YYYY-MM
    (the first of the month). Text, placeholders and implausible years (before 1950 or more than
    ten years ahead, e.g. 7/15/1905) give None with exact False: callers keep the raw text."""
    value = collapse(raw)
    if not value:
        return None, True
    today = today or dt.date.today()
    for pattern, kind in _DATE_PATTERNS:
        match = pattern.match(value)
        if not match:
            continue
        numbers = [int(n) for n in match.groups()]
        if kind == "ymd":
            year, month, day = numbers
        elif kind == "mdy":
            month, day, year = numbers
        elif kind == "mdy2":
            month, day, year = numbers[0], numbers[1], 2000 + numbers[2]
        elif kind == "my":
            month, year, day = numbers[0], numbers[1], 1
        else:
            year, month, day = numbers[0], numbers[1], 1
        if not EARLIEST_YEAR <= year <= today.year + FUTURE_YEARS:
            return None, False
        try:
            return dt.date(year, month, day), True
        except ValueError:
            return None, False
    return None, False
