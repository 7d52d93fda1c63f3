"""The risk questionnaire and its rules: answers in, an EU AI Act tier and the OMB flag out.

Pure Python (no Django import), deterministic and table-tested. The questions are worded in our
own words after the EU AI Act (Regulation (EU) 2024/1689: Art. 5, Art. 6 with Annexes I and III,
Art. 50) and OMB memorandum M-25-21 (high-impact AI). The order of the rules:

0. emotion recognition is mapped, not left to the assessor to tick three boxes: in workplaces or
   education institutions (other than for medical or safety reasons) it is the Art. 5(1)(f)
   prohibited practice; otherwise it is an Annex III point 1(c) biometrics use; either way the
   Art. 50(3) duty to inform the people exposed applies
1. any prohibited practice (Art. 5)                               → ``prohibited``
2. a product or safety component under Annex I legislation        → ``high``
3. an Annex III area, unless the Art. 6(3) exemption applies       → ``high``
   (the exemption is never available when the system profiles people)
4. an Art. 50 transparency duty                                    → ``limited``
5. otherwise                                                       → ``minimal``

Independently of the tier, the system is *high-impact* (M-25-21) when its output is a principal
basis for decisions with a significant effect in at least one of the listed areas.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any


class Tier(StrEnum):
    PROHIBITED = "prohibited"
    HIGH = "high"
    LIMITED = "limited"
    MINIMAL = "minimal"


# --- The questions -------------------------------------------------------------------------------

PROHIBITED_PRACTICES: Mapping[str, str] = {
    "manipulative_techniques": (
        "Uses subliminal, purposefully manipulative or deceptive techniques that materially "
        "distort people's behaviour in a way that is likely to cause them significant harm"
    ),
    "exploits_vulnerabilities": (
        "Exploits the vulnerabilities of people due to their age, a disability or their social or "
        "economic situation to distort their behaviour in a harmful way"
    ),
    "social_scoring": (
        "Rates or classifies people over time by their social behaviour or personal "
        "characteristics, leading to unjustified or disproportionate detrimental treatment"
    ),
    "predictive_policing_profiling": (
        "Predicts the risk that a person will commit a criminal offence based solely on profiling "
        "or on their personality traits"
    ),
    "untargeted_face_scraping": (
        "Creates or expands facial recognition databases by scraping facial images from the "
        "internet or CCTV footage without a target"
    ),
    "emotion_recognition_work_education": (
        "Infers the emotions of people at the workplace or in education institutions (other than "
        "for medical or safety reasons)"
    ),
    "biometric_categorisation_sensitive": (
        "Sorts people by their biometric data to deduce their race, political opinions, trade "
        "union membership, religious or philosophical beliefs, sex life or sexual orientation"
    ),
    "realtime_remote_biometric_id_law_enforcement": (
        "Identifies people remotely and in real time from biometric data in publicly accessible "
        "spaces for law enforcement (outside the narrow cases the law authorises)"
    ),
}

ANNEX_III_AREAS: Mapping[str, str] = {
    "biometrics": (
        "Biometrics: remote identification of people, categorisation by sensitive or protected "
        "traits, emotion recognition"
    ),
    "critical_infrastructure": (
        "Critical infrastructure: a safety component in running digital infrastructure, road "
        "traffic or the supply of water, gas, heating or electricity"
    ),
    "education": (
        "Education and vocational training: admission or assignment, grading learning outcomes, "
        "deciding the level of education someone can access, watching for cheating in tests"
    ),
    "employment": (
        "Employment and workers management: recruitment and selection, decisions on terms of work, "
        "promotion or termination, allocating tasks, monitoring or evaluating workers"
    ),
    "essential_services": (
        "Access to essential private and public services and benefits: eligibility for public "
        "assistance, creditworthiness, pricing of life and health insurance, triage of emergency "
        "calls"
    ),
    "law_enforcement": (
        "Law enforcement: risk of becoming a victim, polygraph-like tools, reliability of "
        "evidence, risk of (re-)offending, profiling in investigations"
    ),
    "migration_border": (
        "Migration, asylum and border control: risk assessment of travellers, examining "
        "applications for asylum, visas or residence, detecting or identifying people"
    ),
    "justice_democracy": (
        "Administration of justice and democratic processes: helping courts research and apply "
        "the law, influencing the outcome of elections or how people vote"
    ),
}

EXEMPTION_CONDITIONS: Mapping[str, str] = {
    "narrow_procedural_task": "Performs only a narrow procedural task",
    "improves_completed_human_activity": (
        "Only improves the result of an activity a person has already completed"
    ),
    "detects_patterns_without_replacing_assessment": (
        "Detects decision-making patterns or deviations from them, without replacing or "
        "influencing the human assessment made before, absent proper human review"
    ),
    "preparatory_task": "Only prepares an assessment that is relevant to an Annex III use",
}

TRANSPARENCY_DUTIES: Mapping[str, str] = {
    "interacts_with_people": (
        "Interacts directly with people (a chatbot or assistant): they must be told they are "
        "dealing with an AI system"
    ),
    "generates_synthetic_content": (
        "Generates synthetic audio, images, video or text: the output must be marked as "
        "artificially generated in a machine-readable way"
    ),
    "emotion_or_biometric_categorisation": (
        "Recognises emotions or categorises people from biometric data: the people exposed must "
        "be informed"
    ),
    "deep_fake": (
        "Produces deep fakes, or text published to inform the public on matters of public "
        "interest: the content must be disclosed as AI-generated or manipulated"
    ),
}

EMOTION_RECOGNITION_QUESTION = (
    "Identifies or infers the emotions or intentions of people (anger, stress, attention, "
    "happiness, …) from their biometric data: face, voice, body language, keystrokes or "
    "physiological signals"
)
EMOTION_SETTINGS: Mapping[str, str] = {
    "workplace": "At the workplace: on employees, applicants or contractors",
    "education": "In education institutions: on pupils, students or candidates in tests",
}
EMOTION_MEDICAL_SAFETY_QUESTION = (
    "Is used only for medical or safety reasons (e.g. a therapeutic device, detecting a driver's "
    "or pilot's fatigue)"
)

OMB_EFFECT_AREAS: Mapping[str, str] = {
    "civil_rights_privacy": "Civil rights, civil liberties or privacy of a person or entity",
    "access_to_opportunities": (
        "Access to education, housing, insurance, credit, employment and other programmes"
    ),
    "critical_services": "Access to critical government resources or services",
    "health_safety": "Human health and safety",
    "critical_infrastructure_public_safety": "Critical infrastructure or public safety",
    "strategic_assets": (
        "Strategic assets or resources, including high-value property and sensitive or "
        "classified information"
    ),
}

CONTEXT_QUESTIONS: Mapping[str, str] = {
    "processes_personal_data": "Processes personal data",
    "acts_without_human_review": "Acts on its outputs without a person reviewing them first",
    "human_can_override": "A person can override the output or switch the system off",
}

ANNEX_I_QUESTION = (
    "Is a product, or a safety component of a product, covered by the EU product safety "
    "legislation listed in Annex I (machinery, toys, lifts, medical devices, radio equipment, "
    "vehicles, …) that must pass a third-party conformity assessment"
)
PROFILING_QUESTION = (
    "Profiles natural persons: evaluates personal aspects such as work performance, economic "
    "situation, health, preferences, interests, reliability, behaviour, location or movements"
)
PRINCIPAL_BASIS_QUESTION = (
    "Its output is a principal basis for decisions or actions with a legal, material, binding or "
    "similarly significant effect"
)


@dataclass(frozen=True)
class Question:
    """One question, for forms and the API: a yes/no question, or a choice of several codes."""

    key: str
    group: str
    reference: str
    text: str
    choices: Mapping[str, str] | None = None


def _yes_no(group: str, reference: str, texts: Mapping[str, str]) -> list[Question]:
    return [Question(key, group, reference, text) for key, text in texts.items()]


QUESTIONS: tuple[Question, ...] = (
    *_yes_no("prohibited", "EU AI Act Art. 5", PROHIBITED_PRACTICES),
    Question(
        "emotion_recognition",
        "emotion",
        "EU AI Act Art. 3(39), Annex III point 1(c), Art. 50(3)",
        EMOTION_RECOGNITION_QUESTION,
    ),
    Question(
        "emotion_recognition_settings",
        "emotion",
        "EU AI Act Art. 5(1)(f)",
        "If so, it is used on people (choose every one that applies)",
        EMOTION_SETTINGS,
    ),
    Question(
        "emotion_recognition_medical_or_safety",
        "emotion",
        "EU AI Act Art. 5(1)(f)",
        EMOTION_MEDICAL_SAFETY_QUESTION,
    ),
    Question(
        "annex_iii_areas",
        "high_risk",
        "EU AI Act Art. 6(2), Annex III",
        "Intended for use in one of these areas (choose every one that applies)",
        ANNEX_III_AREAS,
    ),
    Question(
        "annex_i_safety_component", "high_risk", "EU AI Act Art. 6(1), Annex I", ANNEX_I_QUESTION
    ),
    *_yes_no("exemption", "EU AI Act Art. 6(3)", EXEMPTION_CONDITIONS),
    Question("profiles_natural_persons", "exemption", "EU AI Act Art. 6(3)", PROFILING_QUESTION),
    *_yes_no("transparency", "EU AI Act Art. 50", TRANSPARENCY_DUTIES),
    Question(
        "principal_basis_for_decisions", "high_impact", "OMB M-25-21", PRINCIPAL_BASIS_QUESTION
    ),
    Question(
        "omb_effect_areas",
        "high_impact",
        "OMB M-25-21",
        "The decisions or actions affect (choose every one that applies)",
        OMB_EFFECT_AREAS,
    ),
    *_yes_no("context", "", CONTEXT_QUESTIONS),
)


# --- Answers and decision ------------------------------------------------------------------------


@dataclass(frozen=True)
class RiskAnswers:
    """The answers of one assessment. Every question defaults to "no" / nothing chosen."""

    # EU AI Act Art. 5: prohibited practices
    manipulative_techniques: bool = False
    exploits_vulnerabilities: bool = False
    social_scoring: bool = False
    predictive_policing_profiling: bool = False
    untargeted_face_scraping: bool = False
    emotion_recognition_work_education: bool = False
    biometric_categorisation_sensitive: bool = False
    realtime_remote_biometric_id_law_enforcement: bool = False
    # Emotion recognition (Art. 3(39)): mapped to Art. 5(1)(f), Annex III 1(c) and Art. 50(3)
    emotion_recognition: bool = False
    emotion_recognition_settings: frozenset[str] = field(default_factory=frozenset)
    emotion_recognition_medical_or_safety: bool = False
    # Art. 6: high-risk
    annex_iii_areas: frozenset[str] = field(default_factory=frozenset)
    annex_i_safety_component: bool = False
    # Art. 6(3): the narrow-task exemption, and profiling, which rules it out
    narrow_procedural_task: bool = False
    improves_completed_human_activity: bool = False
    detects_patterns_without_replacing_assessment: bool = False
    preparatory_task: bool = False
    profiles_natural_persons: bool = False
    # Art. 50: transparency duties
    interacts_with_people: bool = False
    generates_synthetic_content: bool = False
    emotion_or_biometric_categorisation: bool = False
    deep_fake: bool = False
    # OMB M-25-21: high-impact
    principal_basis_for_decisions: bool = False
    omb_effect_areas: frozenset[str] = field(default_factory=frozenset)
    # Context, recorded for reviewers
    processes_personal_data: bool = False
    acts_without_human_review: bool = False
    human_can_override: bool = False


@dataclass(frozen=True)
class RiskDecision:
    tier: Tier
    high_impact: bool
    rule: str
    rationale: str


class InvalidAnswers(ValueError):
    """Answers that do not fit the questionnaire; `errors` maps each bad key to a message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


CHOICE_FIELDS: Mapping[str, Mapping[str, str]] = {
    "annex_iii_areas": ANNEX_III_AREAS,
    "emotion_recognition_settings": EMOTION_SETTINGS,
    "omb_effect_areas": OMB_EFFECT_AREAS,
}
ANSWER_KEYS: tuple[str, ...] = tuple(f.name for f in fields(RiskAnswers))


def answers_from_mapping(data: Mapping[str, Any]) -> RiskAnswers:
    """Validate a JSON-like answers document; unknown keys and wrong types are errors."""
    if not isinstance(data, Mapping):
        raise InvalidAnswers({"answers": "An object of answers is expected."})
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for key in data:
        if key not in ANSWER_KEYS:
            errors[str(key)] = "Unknown question."
    for key in ANSWER_KEYS:
        if key not in data:
            continue
        value = data[key]
        if key in CHOICE_FIELDS:
            if value is None:
                value = []
            if isinstance(value, str) or not isinstance(value, Iterable):
                errors[key] = "A list of codes is expected."
                continue
            items = [str(v) for v in value]
            unknown = sorted(set(items) - set(CHOICE_FIELDS[key]))
            if unknown:
                errors[key] = f"Unknown code(s): {', '.join(unknown)}."
                continue
            values[key] = frozenset(items)
        else:
            if not isinstance(value, bool):
                errors[key] = "true or false is expected."
                continue
            values[key] = value
    if errors:
        raise InvalidAnswers(errors)
    return RiskAnswers(**values)


def answers_to_mapping(answers: RiskAnswers) -> dict[str, Any]:
    """The JSON document stored with an assessment (lists sorted, every key present)."""
    out: dict[str, Any] = {}
    for key in ANSWER_KEYS:
        value = getattr(answers, key)
        out[key] = sorted(value) if isinstance(value, frozenset) else value
    return out


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _chosen(answers: RiskAnswers, texts: Mapping[str, str]) -> list[str]:
    return [key for key in texts if getattr(answers, key)]


def _emotion_prohibited(a: RiskAnswers) -> list[str]:
    """The settings that make this emotion recognition the Art. 5(1)(f) practice (or none)."""
    if not a.emotion_recognition or a.emotion_recognition_medical_or_safety:
        return []
    return [k for k in EMOTION_SETTINGS if k in a.emotion_recognition_settings]


def _tier_decision(a: RiskAnswers) -> tuple[Tier, str, str]:
    prohibited = _chosen(a, PROHIBITED_PRACTICES)
    emotion_settings = _emotion_prohibited(a)
    if emotion_settings and "emotion_recognition_work_education" not in prohibited:
        prohibited.append("emotion_recognition_work_education")
        prohibited.sort(key=list(PROHIBITED_PRACTICES).index)
    if prohibited:
        listed = "; ".join(_lower_first(PROHIBITED_PRACTICES[k]) for k in prohibited)
        derived = ""
        if emotion_settings:
            where = " and ".join(
                {"workplace": "at the workplace", "education": "in education institutions"}[k]
                for k in emotion_settings
            )
            derived = (
                f" Emotion recognition used {where}, not for medical or safety reasons, is the "
                "practice prohibited by Art. 5(1)(f)."
            )
        return (
            Tier.PROHIBITED,
            f"art5.{prohibited[0]}",
            f"Prohibited practice under EU AI Act Art. 5: the system {listed}.{derived} It must "
            "not be placed on the market, put into service or used; nothing else can lower this "
            "tier.",
        )
    duties = _chosen(a, TRANSPARENCY_DUTIES)
    emotion_note = ""
    if a.emotion_recognition:
        if "emotion_or_biometric_categorisation" not in duties:
            duties.append("emotion_or_biometric_categorisation")
            duties.sort(key=list(TRANSPARENCY_DUTIES).index)
        emotion_note = (
            " Emotion recognition is a biometrics use under Annex III point 1(c), and Art. 50(3) "
            "requires informing the people exposed to it."
        )
    duty_words = "; ".join(_lower_first(TRANSPARENCY_DUTIES[k]) for k in duties)
    duty_note = f" Transparency duties under Art. 50 also apply: it {duty_words}." if duties else ""
    if a.annex_i_safety_component:
        return (
            Tier.HIGH,
            "annex_i",
            "High-risk under EU AI Act Art. 6(1): the system is a product, or a safety component "
            "of a product, covered by Annex I legislation and needing a third-party conformity "
            f"assessment. The Art. 6(3) exemption does not apply to Annex I systems.{duty_note}"
            f"{emotion_note}",
        )
    chosen_areas = set(a.annex_iii_areas) | ({"biometrics"} if a.emotion_recognition else set())
    areas = [k for k in ANNEX_III_AREAS if k in chosen_areas]
    if areas:
        area_words = "; ".join(ANNEX_III_AREAS[k].split(":")[0] for k in areas)
        claimed = _chosen(a, EXEMPTION_CONDITIONS)
        if a.profiles_natural_persons:
            suffix = ".profiling" if claimed else ""
            blocked = (
                " The Art. 6(3) exemption was claimed but is not available, because the system "
                "profiles natural persons."
                if claimed
                else " It profiles natural persons, so the Art. 6(3) exemption is not available."
            )
            return (
                Tier.HIGH,
                f"annex_iii.{areas[0]}{suffix}",
                f"High-risk under EU AI Act Art. 6(2), Annex III ({area_words}).{blocked}"
                f"{duty_note}{emotion_note}",
            )
        if claimed:
            reason = _lower_first(EXEMPTION_CONDITIONS[claimed[0]])
            base = (
                f"Used in an Annex III area ({area_words}), but not high-risk under the Art. 6(3) "
                f"exemption: the system {reason} and does not profile people. Record this "
                "assessment before the system is put into service."
            )
            if duties:
                return (
                    Tier.LIMITED,
                    f"art6_3.{claimed[0]}",
                    f"{base} Transparency duties under Art. 50 remain: it {duty_words}."
                    f"{emotion_note}",
                )
            return Tier.MINIMAL, f"art6_3.{claimed[0]}", f"{base} No Art. 50 duty applies."
        return (
            Tier.HIGH,
            f"annex_iii.{areas[0]}",
            f"High-risk under EU AI Act Art. 6(2), Annex III ({area_words}). No Art. 6(3) "
            f"exemption condition was claimed.{duty_note}{emotion_note}",
        )
    if duties:
        return (
            Tier.LIMITED,
            f"art50.{duties[0]}",
            f"Limited risk: transparency duties under EU AI Act Art. 50 apply. The system "
            f"{duty_words}.",
        )
    return (
        Tier.MINIMAL,
        "minimal",
        "Minimal risk: no prohibited practice, no Annex I or Annex III use and no Art. 50 "
        "transparency duty. Voluntary codes of conduct and AI literacy still apply.",
    )


def _high_impact(a: RiskAnswers) -> tuple[bool, str]:
    areas = [k for k in OMB_EFFECT_AREAS if k in a.omb_effect_areas]
    area_words = "; ".join(_lower_first(OMB_EFFECT_AREAS[k]) for k in areas)
    if a.principal_basis_for_decisions and areas:
        note = ""
        if a.acts_without_human_review:
            note = " It acts without human review: plan human oversight and a fail-safe."
        return True, (
            "High-impact under OMB M-25-21: its output is a principal basis for decisions with a "
            f"significant effect on {area_words}; the minimum practices for high-impact AI "
            f"apply.{note}"
        )
    if areas:
        return False, (
            f"Not high-impact under OMB M-25-21: the decisions touch {area_words}, but the "
            "output is not a principal basis for them."
        )
    if a.principal_basis_for_decisions:
        return False, (
            "Not high-impact under OMB M-25-21: the output is a principal basis for decisions, "
            "but none with a significant effect in the listed areas."
        )
    return False, "Not high-impact under OMB M-25-21."


def assess(answers: RiskAnswers) -> RiskDecision:
    """The tier, the high-impact flag, the rule that decided the tier and why, in words."""
    tier, rule, tier_words = _tier_decision(answers)
    high_impact, impact_words = _high_impact(answers)
    return RiskDecision(
        tier=tier, high_impact=high_impact, rule=rule, rationale=f"{tier_words} {impact_words}"
    )
