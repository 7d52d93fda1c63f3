"""The documented vocabulary tables and tool-name normalisation (pure functions, no database)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portfolio.importers import mapping
from portfolio.importers.tool_names import (
    SEED_TOOLS,
    mentioned_tools,
    normalise_tool_name,
    seed_for,
    split_tool_names,
)

# Every Development_Stage spelling of the 2023 inventory, and the 2024 and 2025 vocabularies.
STAGES = {
    "": "idea",
    "Operation and Maintenance": "production",
    "Development and Acquisition": "development",
    "Initiation": "idea",
    "Implementation": "pilot",
    "In-use": "production",
    "Operation and Management": "production",
    "Planned (not in production)": "idea",
    "Development (not in production)": "development",
    "In mission": "production",
    "In production: more than 1 year": "production",
    "Proof-of-concept completed": "pilot",
    "In production: less than six months": "production",
    "Deployment": "production",
    "Completed": "retired",
    "Investigating/Proof of concept": "pilot",
    "In production: less than 6 months": "production",
    "Technical transfer of capability to industry planned this summer.": "pilot",
    "Successfully tested but not in production.": "pilot",
    "Refinments planned for future release": "production",
    "Initial development": "development",
    "User Acceptance Testing to begin early spring '22": "pilot",
    "Proof of Concept completed and published": "pilot",
    "Currently under development": "development",
    "This is a pilot initiative": "pilot",
    "In production: less than one year": "production",
    # 2024
    "Initiated": "idea",
    "Acquisition and/or Development": "development",
    "Implementation and Assessment": "pilot",
    "Retired": "retired",
    "Planned": "idea",
    "In production": "production",
    "Ideation": "idea",
    "Research or  Administrative Action Complete": "retired",
    # 2025, full texts and shorthand codes
    "a) Pre-deployment – The use case is in a development or acquisition status.": "development",
    "Pre-deployment": "development",
    "b) Pilot – The use case has been deployed in a limited test or pilot capacity.": "pilot",
    "deployed": "production",
    "d) Retired – The use case was reported in the agency’s prior year’s inventory, but its "
    "development and/or use has since been discontinued.": "retired",
}


@pytest.mark.parametrize(("raw", "stage"), STAGES.items())
def test_stage_table(raw, stage):
    assert mapping.map_stage(raw) == (stage, True)


@pytest.mark.parametrize(
    ("raw", "stage"),
    [
        ("OPC runs in a pseudo-operational capacity … in a test and evaluation mode.", "pilot"),
        ("Being decommissioned next year", "retired"),
        ("Live in three regions", "production"),
        ("Something else entirely", "idea"),
    ],
)
def test_stage_keyword_fallback_is_not_exact(raw, stage):
    assert mapping.map_stage(raw) == (stage, False)


def test_noise_never_decides_a_mapping():
    assert mapping.map_stage(" Operation\xa0and maintenance\n") == ("production", True)
    assert mapping.map_impact("Safety-impacting") == mapping.map_impact(" Safety-Impacting ")
    assert mapping.map_impact("Rights-Impacting\n") == ("rights", True)
    assert mapping.map_topic(" Mission-Enabling (internal agency support) ") == (
        "administrative",
        True,
    )


@pytest.mark.parametrize(
    ("raw", "topic"),
    [
        ("Mission-Enabling (internal agency support)", "administrative"),
        ("Law & Justice", "law_enforcement"),
        ("Government Services (includes Benefits and Service Delivery)", "service_delivery"),
        ("Diplomacy & Trade", "international"),
        ("Science & Space", "science"),
        ("Health & Medical", "health"),
        ("Energy & the Environment", "energy_environment"),
        ("Education & Workforce", "education_workforce"),
        ("AI used in Transportation Operations", "transportation"),
        ("Emergency Management", "emergency"),
        ("Other", "other"),
        ("", ""),
        ("Other; Mission-Enabling (internal agency support)", "administrative"),
        ("Procurement and Finance Mgmt", "procurement_finance"),
        ("HR", "human_resources"),
    ],
)
def test_topic_table(raw, topic):
    assert mapping.map_topic(raw)[0] == topic


def test_unknown_topic_is_other_and_not_exact():
    assert mapping.map_topic("Deep Learning") == ("other", False)


@pytest.mark.parametrize(
    ("raw", "impact", "exact"),
    [
        ("Neither", "neither", True),
        ("Both", "rights_and_safety", True),
        ("No, use case is too new to fully assess impacts; will be reassessed.", "", False),
        ("Case-by-case assessment", "", False),
        ("a) High-impact", "high_impact", True),
        ("b) Presumed high-impact, but determined not high impact", "presumed_not_high", True),
        ("Not High-impact", "not_high", True),
        ("", "", True),
    ],
)
def test_impact_table(raw, impact, exact):
    assert mapping.map_impact(raw) == (impact, exact)


@pytest.mark.parametrize(
    ("raw", "method"),
    [
        ("Developed with contracting resources.", "vendor"),
        ("Developed in-house.", "in_house"),
        ("Developed with both contracting and in-house resources.", "both"),
        ("Developed with a combination of in-house and contract/external resources.", "both"),
        ("No contract/external resources used in development.", "in_house"),
        ("Exclusively developed with contract/external resources.", "vendor"),
        ("N/A", ""),
        (" ", ""),
        ("Data not reported by submitter and will be updated once additional information", ""),
        ("a) Purchased from a vendor", "vendor"),
        ("Contracting and In House", "both"),
    ],
)
def test_development_method_table(raw, method):
    assert mapping.map_method(raw)[0] == method


@pytest.mark.parametrize(
    ("raw", "features"),
    [
        ('["Race/Ethnicity","Sex/Gender","Age"]', ["Race/Ethnicity", "Sex/Gender", "Age"]),
        ("['Age', 'Sex']", ["Age", "Sex"]),
        ("age, gender", ["Age", "Gender"]),
        ("Age\nSex/Gender", ["Age", "Sex/Gender"]),
        ("Age and Sex/Gender", ["Age", "Sex/Gender"]),
        ("None", []),
        ("N/A", []),
        ("['None of the above']", []),
        ("Sex, gender, & age", ["Sex", "Gender", "Age"]),
    ],
)
def test_demographic_features(raw, features):
    assert mapping.map_demographic_features(raw) == (features, True)


def test_prose_in_a_feature_cell_is_kept_raw():
    features, exact = mapping.map_demographic_features(
        "Disclosing this information may impede the agency's ability to effectively combat fraud."
    )
    assert (features, exact) == ([], False)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("10/1/2023", (dt.date(2023, 10, 1), True)),
        ("2022-11-16", (dt.date(2022, 11, 16), True)),
        ("10/2023", (dt.date(2023, 10, 1), True)),
        ("7/15/1905", (None, False)),
        ("Q4FY25", (None, False)),
        ("2/30/2024", (None, False)),
        ("", (None, True)),
    ],
)
def test_inventory_dates(raw, expected):
    assert mapping.parse_inventory_date(raw, today=dt.date(2025, 1, 1)) == expected


@pytest.mark.parametrize(
    ("text", "techniques"),
    [
        ("Natural Language Processing (NLP), Machine Learning", ["classical_ml", "nlp"]),
        ("Convolutional Neural Networks", ["classical_ml", "computer_vision"]),
        ("Machine Vision", ["computer_vision"]),
        ("A chatbot built on a large language model", ["generative", "nlp"]),
        ("Reinforcement learning for scheduling", ["reinforcement_learning"]),
        ("An agentic workflow of AI agents", ["agentic"]),
        ("Random Forest Regression, XGBoost", ["classical_ml"]),
    ],
)
def test_technique_keywords(text, techniques):
    assert mapping.infer_techniques(text) == techniques


def test_a_techniques_column_that_names_nothing_known_is_other():
    assert mapping.map_techniques_column("Big Data, Other") == ["other"]
    assert mapping.map_techniques_column("") == []


def test_bureau_codes_are_stable_unique_and_short():
    assert mapping.bureau_code("DHS", "Customs and Border Protection") == (
        "DHS:customs-and-border-protection"
    )
    assert mapping.bureau_code("DHS", " customs  and border protection ") == (
        "DHS:customs-and-border-protection"
    )
    long_a = mapping.bureau_code("DHS", "HQ, " + "Immigration and Customs Enforcement, " * 3)
    long_b = mapping.bureau_code("DHS", "HQ, " + "Immigration and Customs Enforcement; " * 4)
    assert len(long_a) <= 64 and len(long_b) <= 64 and long_a != long_b
    assert mapping.agency_code(" dos ") == "STATE"


# --- Tool names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Microsoft CoPilot™", "microsoft copilot"),
        ("  The Grammarly, Inc. ", "grammarly"),
        ("Lexis+ AI®", "lexis+ ai"),
        ("Otter.ai", "otter ai"),
        ("ACME Corp.", "acme"),
        ("", ""),
        ("Inc.", ""),
    ],
)
def test_normalise_tool_name(raw, key):
    assert normalise_tool_name(raw) == key


@given(st.text(max_size=60))
def test_normalise_tool_name_is_idempotent(raw):
    key = normalise_tool_name(raw)
    assert normalise_tool_name(key) == key


def test_three_copilot_spellings_are_one_product():
    spellings = [
        "M365 Copilot",
        "Copilot for MS 365",
        "Microsoft CoPilot",
        "Microsoft 365 Copilot GCC",
    ]
    assert {seed_for(s).name for s in spellings} == {"Microsoft 365 Copilot"}
    assert seed_for("ChatGPT Enterprise").name == seed_for("OpenAI ChatGPT").name == "ChatGPT"
    assert seed_for("GitHub Copilot").name == "GitHub Copilot"
    assert seed_for("Unheard-of Tool") is None


def test_seed_spellings_do_not_collide():
    owners: dict[str, str] = {}
    for seed in SEED_TOOLS:
        for spelling in (seed.name, *seed.aliases, *seed.quiet_aliases):
            key = normalise_tool_name(spelling)
            assert owners.setdefault(key, seed.name) == seed.name, spelling


@pytest.mark.parametrize(
    ("cell", "names"),
    [
        ("ChatGPT, Claude, Copilot, Perplexity", ["ChatGPT", "Claude", "Copilot", "Perplexity"]),
        ("Microsoft Copilot, \nAWS Q Developer", ["Microsoft Copilot", "AWS Q Developer"]),
        ("['Grammarly', 'ServiceNow']", ["Grammarly", "ServiceNow"]),
        ("Grammarly and ServiceNow", ["Grammarly", "ServiceNow"]),
        ("Credal + Claude and GPT API", ["Credal + Claude and GPT API"]),
        ("Johnson and Johnson", ["Johnson and Johnson"]),
        ("Booz Allen Hamilton, Inc.", ["Booz Allen Hamilton"]),
        ("N/A", []),
        ("Various", []),
    ],
)
def test_split_tool_names(cell, names):
    assert list(split_tool_names(cell)) == names


def test_products_mentioned_in_text():
    text = (
        "Staff draft letters with Microsoft Copilot; lawyers use Westlaw. The GitHub-Copilot pilot "
        "and grammarly. The Gemini mission and copilot pilots are not products."
    )
    assert [seed.name for seed in mentioned_tools(text)] == [
        "Microsoft 365 Copilot",
        "Westlaw Edge",
        "GitHub Copilot",
        "Grammarly",
    ]
    assert mentioned_tools("No product named here.") == []
