"""Tool and vendor names: one matching key per spelling, and a seed table of well-known products.

`normalise_tool_name` is the key every importer (and the overlap metrics) compare names with:
"Microsoft CoPilot™", "microsoft copilot" and "Microsoft Copilot, Inc." all give
"microsoft copilot". `SEED_TOOLS` lists well-known products with the spellings agencies use for
them (taken from the 2023–2025 federal inventories), so that "M365 Copilot", "Copilot for MS 365"
and "Microsoft 365 Copilot GCC" land on one Tool, "Microsoft 365 Copilot". The table is quoted in
docs/importing.md; add a row when a new spelling shows up.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

# Words that never tell two products apart.
FILLER_WORDS = frozenset(
    {"the", "inc", "llc", "corp", "corporation", "co", "ltd", "limited", "incorporated", "plc"}
)
_MARKS = str.maketrans({"®": " ", "™": " ", "©": " ", "℠": " ", "&": " and "})
_PUNCTUATION = re.compile(r"[^\w+#]+")


def normalise_tool_name(raw: str) -> str:
    """The matching key of a tool or vendor name: case-folded, without ®/™, punctuation and
    filler words ("the", "inc", "llc", "corp", …), single spaces. "" when nothing is left."""
    text = unicodedata.normalize("NFKC", (raw or "").translate(_MARKS)).casefold()
    words = _PUNCTUATION.sub(" ", text).replace("_", " ").split()
    return " ".join(word for word in words if word not in FILLER_WORDS)


@dataclass(frozen=True)
class SeedTool:
    """A well-known product: its canonical name, vendor and other spellings.

    `aliases` are also looked for in free text (name, purpose, outputs of a use case) to link the
    tool; `quiet_aliases` only match a whole tool cell, because as words in prose they mean other
    things ("Copilot", "Gemini", "Relativity", "Concur").
    """

    name: str
    vendor: str
    aliases: tuple[str, ...] = ()
    quiet_aliases: tuple[str, ...] = ()  # a quiet spelling equal to the name keeps it quiet too


SEED_TOOLS: tuple[SeedTool, ...] = (
    SeedTool(
        "Microsoft 365 Copilot",
        "Microsoft",
        (
            "M365 Copilot",
            "M365 Copilot GCC",
            "Copilot for MS 365",
            "Copilot for Microsoft 365",
            "Copilot for M365",
            "Microsoft CoPilot",
            "Microsoft Copilot",
            "Microsoft 365 Copilot GCC",
            "Microsoft M365 Copilot",
            "Microsoft M365 Copilot AI",
            "Microsoft365 Copilot",
            "Microsoft Copilot 365",
            "MS 365 Copilot",
            "MS Copilot",
            "Office 365 Copilot",
        ),
        ("Copilot",),
    ),
    SeedTool(
        "Microsoft 365 Copilot Chat",
        "Microsoft",
        ("Microsoft Copilot Chat", "M365 Copilot Chat", "Bing Chat Enterprise"),
        ("Copilot Chat",),
    ),
    SeedTool(
        "GitHub Copilot", "GitHub", ("Copilot for GitHub", "GitHub Copilot for Visual Studio")
    ),
    SeedTool(
        "Microsoft Security Copilot",
        "Microsoft",
        ("Security Copilot", "Microsoft Copilot for Security", "Copilot for Security"),
    ),
    SeedTool("Microsoft Copilot Studio", "Microsoft", ("Copilot Studio",)),
    SeedTool(
        "ChatGPT",
        "OpenAI",
        ("ChatGPT Enterprise", "OpenAI ChatGPT", "Chat GPT", "ChatGPT Edu", "ChatGPT Gov"),
    ),
    SeedTool(
        "Azure OpenAI",
        "Microsoft",
        (
            "Azure OpenAI Service",
            "Azure Open AI",
            "Microsoft Azure OpenAI",
            "Microsoft Azure Open AI",
        ),
    ),
    SeedTool("Claude", "Anthropic", ("Anthropic Claude", "Claude AI"), ("Claude",)),
    SeedTool("Gemini", "Google", ("Google Gemini", "Gemini for Google Workspace"), ("Gemini",)),
    SeedTool("NotebookLM", "Google", ("Notebook LM", "Google NotebookLM")),
    SeedTool("Perplexity", "Perplexity AI", ("Perplexity AI",), ("Perplexity",)),
    SeedTool("Grok", "xAI", ("xAI Grok",), ("Grok",)),
    SeedTool(
        "Westlaw Edge",
        "Thomson Reuters",
        ("Westlaw", "Westlaw Precision", "Thomson Reuters Westlaw", "Westlaw Edge AI"),
    ),
    SeedTool("CoCounsel", "Thomson Reuters", ("Casetext CoCounsel", "CoCounsel Core")),
    SeedTool("Lexis+ AI", "LexisNexis", ("Lexis+", "Lexis Plus AI", "LexisNexis Lexis+ AI")),
    SeedTool("Grammarly", "Grammarly", ("Grammarly Business", "Grammarly Premium")),
    SeedTool(
        "ServiceNow",
        "ServiceNow",
        (
            "ServiceNow Virtual Agent",
            "ServiceNow Now Assist",
            "ServiceNow Now Platform",
            "Now Assist",
        ),
    ),
    SeedTool("Amazon Textract", "Amazon Web Services", ("AWS Textract", "Textract")),
    SeedTool("Amazon Comprehend", "Amazon Web Services", ("AWS Comprehend", "Comprehend Medical")),
    SeedTool("Amazon Transcribe", "Amazon Web Services", ("AWS Transcribe",)),
    SeedTool("Amazon Rekognition", "Amazon Web Services", ("AWS Rekognition", "Rekognition")),
    SeedTool("Amazon Lex", "Amazon Web Services", ("AWS Lex",)),
    SeedTool("Amazon Connect", "Amazon Web Services", ("AWS Connect",)),
    SeedTool("Amazon Bedrock", "Amazon Web Services", ("AWS Bedrock",), ("Bedrock",)),
    SeedTool(
        "Amazon Q Developer",
        "Amazon Web Services",
        ("AWS Q Developer", "Amazon Q"),
        ("AWS Q",),
    ),
    SeedTool("Amazon SageMaker", "Amazon Web Services", ("AWS SageMaker", "SageMaker")),
    SeedTool("Azure AI Foundry", "Microsoft", ("Azure AI Studio",), ("AI Foundry",)),
    SeedTool("Azure Machine Learning", "Microsoft", ("Azure ML",)),
    SeedTool(
        "Azure AI Document Intelligence",
        "Microsoft",
        ("Azure Form Recognizer", "Form Recognizer", "Azure Document Intelligence"),
    ),
    SeedTool(
        "Azure AI Services",
        "Microsoft",
        ("Azure Cognitive Services", "Microsoft Cognitive Services"),
    ),
    SeedTool(
        "Power Automate AI Builder",
        "Microsoft",
        ("AI Builder", "Microsoft AI Builder", "Powerautomate AI Builder"),
    ),
    SeedTool("Microsoft Power BI", "Microsoft", ("Power BI", "PowerBI", "MS Power BI")),
    SeedTool("Microsoft Defender", "Microsoft", ("MS Defender", "Microsoft Defender XDR")),
    SeedTool("Google Vertex AI", "Google", ("Vertex AI", "GCP Vertex AI")),
    SeedTool("Google Document AI", "Google", ("Google Cloud Document AI",), ("Document AI",)),
    SeedTool("Google Translate", "Google", ("Google Cloud Translation",)),
    SeedTool("Salesforce Einstein", "Salesforce", ("Einstein GPT",), ("Einstein",)),
    SeedTool("Salesforce Agentforce", "Salesforce", ("Agentforce",)),
    SeedTool("Tableau", "Salesforce", ("Tableau AI",), ("Tableau",)),
    SeedTool("UiPath", "UiPath", ("UI Path",)),
    SeedTool("Splunk", "Splunk", ("Splunk Enterprise", "Splunk Cloud", "SplunkCloud")),
    SeedTool("CrowdStrike Falcon", "CrowdStrike", ("Crowdstrike", "Falcon EDR")),
    SeedTool("Palantir Foundry", "Palantir", ("Palantir",), ("Foundry",)),
    SeedTool("Databricks", "Databricks", ("Azure Databricks", "Databricks Genie")),
    SeedTool(
        "RelativityOne",
        "Relativity",
        ("Relativity One", "Relativity Server"),
        ("Relativity",),
    ),
    SeedTool("Veritone", "Veritone", ()),
    SeedTool("Axon Evidence.com", "Axon", ("Evidence.com", "Evidence.com - Axon")),
    SeedTool("Clearview AI", "Clearview AI", ()),
    SeedTool("DataRobot", "DataRobot", ()),
    SeedTool("Dataiku", "Dataiku", ()),
    SeedTool("Alteryx", "Alteryx", ()),
    SeedTool("Dragon Professional", "Nuance", ("Nuance Dragon", "Dragon Medical One"), ("Dragon",)),
    SeedTool("Otter.ai", "Otter.ai", ("Otter AI",), ("Otter",)),
    SeedTool("Adobe Firefly", "Adobe", (), ("Firefly",)),
    SeedTool("SAP Concur", "SAP", (), ("Concur",)),
    SeedTool("Sprout Social", "Sprout Social", (), ("Sprout",)),
    SeedTool("Meltwater", "Meltwater", ()),
    SeedTool("Medallia", "Medallia", ()),
    SeedTool("Genesys Cloud CX", "Genesys", (), ("Genesys",)),
    SeedTool("Zendesk", "Zendesk", ()),
    SeedTool("Synthesia", "Synthesia", ()),
    SeedTool("IBM watsonx", "IBM", ("IBM Watson", "watsonx"), ("Watson",)),
    SeedTool("Ask Sage", "Ask Sage", ("AskSage",)),
)

SEED_BY_KEY: dict[str, SeedTool] = {}
for _seed in SEED_TOOLS:
    for _spelling in (_seed.name, *_seed.aliases, *_seed.quiet_aliases):
        SEED_BY_KEY.setdefault(normalise_tool_name(_spelling), _seed)


def seed_for(raw: str) -> SeedTool | None:
    """The well-known product a spelling stands for, if the seed table knows it."""
    return SEED_BY_KEY.get(normalise_tool_name(raw))


def seed_keys(seed: SeedTool) -> list[str]:
    """Every matching key of a seed product, canonical name first."""
    spellings = (seed.name, *seed.aliases, *seed.quiet_aliases)
    return list(dict.fromkeys(normalise_tool_name(s) for s in spellings))


_WORDS = re.compile(r"[a-z0-9]+")


def _mention_index() -> tuple[dict[str, frozenset[str]], dict[str, list[str]]]:
    """Spellings looked for in text, each with its words, indexed by its longest word."""
    spellings = {
        spelling.lower()
        for seed in SEED_TOOLS
        for spelling in (seed.name, *seed.aliases)
        if normalise_tool_name(spelling) not in {normalise_tool_name(q) for q in seed.quiet_aliases}
    }
    words = {spelling: frozenset(_WORDS.findall(spelling)) for spelling in spellings}
    by_word: dict[str, list[str]] = {}
    for spelling, spelling_words in words.items():
        by_word.setdefault(max(sorted(spelling_words), key=len), []).append(spelling)
    return words, by_word


_MENTION_WORDS, _MENTION_BY_WORD = _mention_index()


@functools.lru_cache(maxsize=1024)
def _mention_pattern(spellings: tuple[str, ...]) -> re.Pattern[str]:
    parts = [re.escape(s).replace(r"\ ", r"[\s\-]+") for s in spellings]
    return re.compile(r"(?<![\w+])(?:" + "|".join(parts) + r")(?![\w+])")


def mentioned_tools(*texts: str) -> list[SeedTool]:
    """Seed products named in free text (word-boundary match on the canonical name and the
    non-quiet aliases, any case), in order of first mention."""
    text = "\n".join(t for t in texts if t).lower()
    words = set(_WORDS.findall(text))
    candidates = [
        spelling
        for word in words.intersection(_MENTION_BY_WORD)
        for spelling in _MENTION_BY_WORD[word]
        if _MENTION_WORDS[spelling] <= words
    ]
    if not candidates:
        return []
    pattern = _mention_pattern(tuple(sorted(candidates, key=lambda s: (-len(s), s))))
    found: dict[str, SeedTool] = {}
    for match in pattern.finditer(text):
        seed = SEED_BY_KEY.get(normalise_tool_name(match.group(0)))
        if seed is not None:
            found.setdefault(seed.name, seed)
    return list(found.values())


# Cell values that name no tool.
NO_TOOL_KEYS = frozenset(
    {"", "n a", "na", "none", "none of the above", "various", "unknown", "tbd", "not applicable"}
)
_CELL_SPLIT = re.compile(r"\s*(?:\n|;|,)\s*")
_JOINERS = re.compile(r"\s+(?:and|&|\+)\s+", re.IGNORECASE)


def split_tool_names(cell: str, *, known: Callable[[str], bool] | None = None) -> Iterator[str]:
    """The tool or vendor names of one cell.

    Split on newlines, semicolons and commas (a stringified list is read as a list). A part is
    split again on " and " / " & " / " + " only when every piece is a known name (seed table or
    `known(key)`), so "Claude and GPT API" or "Johnson and Johnson" stay whole while
    "Grammarly and ServiceNow" becomes two tools. Parts that name nothing ("N/A", "Various",
    "Inc.") are dropped.
    """
    from portfolio.importers.mapping import split_list

    def is_known(name: str) -> bool:
        name_key = normalise_tool_name(name)
        return name_key in SEED_BY_KEY or bool(known and known(name_key))

    for part in split_list(cell):
        part = part.strip(" .:-")
        if normalise_tool_name(part) in NO_TOOL_KEYS:
            continue
        pieces = [p.strip(" .") for p in _JOINERS.split(part)]
        if len(pieces) > 1 and not is_known(part) and all(is_known(p) for p in pieces):
            yield from pieces
        else:
            yield part
