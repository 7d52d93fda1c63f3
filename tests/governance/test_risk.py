"""The risk rules as a decision table (pure: no database)."""

from __future__ import annotations

from dataclasses import fields, replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from governance import risk
from governance.risk import RiskAnswers, Tier, assess

NONE = RiskAnswers()
EXEMPT = {"narrow_procedural_task": True}


def answers(**values: object) -> RiskAnswers:
    for key in ("annex_iii_areas", "omb_effect_areas"):
        if key in values:
            values[key] = frozenset(values[key])  # type: ignore[arg-type]
    return replace(NONE, **values)  # type: ignore[arg-type]


# --- The tier ----------------------------------------------------------------------------------


def test_nothing_ticked_is_minimal_and_not_high_impact():
    decision = assess(NONE)
    assert decision == risk.RiskDecision(Tier.MINIMAL, False, "minimal", decision.rationale)
    assert "Minimal risk" in decision.rationale


@pytest.mark.parametrize("practice", list(risk.PROHIBITED_PRACTICES))
def test_each_prohibited_practice_is_prohibited(practice):
    decision = assess(answers(**{practice: True}))
    assert decision.tier == Tier.PROHIBITED
    assert decision.rule == f"art5.{practice}"
    assert "Art. 5" in decision.rationale


@pytest.mark.parametrize("area", list(risk.ANNEX_III_AREAS))
def test_each_annex_iii_area_is_high(area):
    decision = assess(answers(annex_iii_areas={area}))
    assert decision.tier == Tier.HIGH
    assert decision.rule == f"annex_iii.{area}"
    assert "Annex III" in decision.rationale
    assert risk.ANNEX_III_AREAS[area].split(":")[0] in decision.rationale


def test_annex_i_safety_component_is_high():
    decision = assess(answers(annex_i_safety_component=True))
    assert (decision.tier, decision.rule) == (Tier.HIGH, "annex_i")


def test_annex_i_is_not_lowered_by_the_exemption():
    decision = assess(answers(annex_i_safety_component=True, **EXEMPT))
    assert (decision.tier, decision.rule) == (Tier.HIGH, "annex_i")


@pytest.mark.parametrize("condition", list(risk.EXEMPTION_CONDITIONS))
def test_exemption_lowers_an_annex_iii_system_to_minimal(condition):
    decision = assess(answers(annex_iii_areas={"employment"}, **{condition: True}))
    assert decision.tier == Tier.MINIMAL
    assert decision.rule == f"art6_3.{condition}"
    assert "Art. 6(3)" in decision.rationale


def test_exemption_with_a_transparency_duty_gives_limited():
    decision = assess(answers(annex_iii_areas={"education"}, interacts_with_people=True, **EXEMPT))
    assert decision.tier == Tier.LIMITED
    assert decision.rule == "art6_3.narrow_procedural_task"
    assert "Art. 50" in decision.rationale


@pytest.mark.parametrize("condition", list(risk.EXEMPTION_CONDITIONS))
@pytest.mark.parametrize("area", list(risk.ANNEX_III_AREAS))
def test_profiling_blocks_the_exemption(area, condition):
    decision = assess(
        answers(annex_iii_areas={area}, profiles_natural_persons=True, **{condition: True})
    )
    assert decision.tier == Tier.HIGH
    assert decision.rule == f"annex_iii.{area}.profiling"
    assert "profiles natural persons" in decision.rationale


def test_profiling_without_an_annex_iii_area_alone_is_minimal():
    assert assess(answers(profiles_natural_persons=True)).tier == Tier.MINIMAL


@pytest.mark.parametrize("duty", list(risk.TRANSPARENCY_DUTIES))
def test_each_transparency_duty_gives_limited(duty):
    decision = assess(answers(**{duty: True}))
    assert decision.tier == Tier.LIMITED
    assert decision.rule == f"art50.{duty}"
    assert "Art. 50" in decision.rationale


def test_high_beats_limited():
    decision = assess(answers(annex_iii_areas={"employment"}, interacts_with_people=True))
    assert decision.tier == Tier.HIGH


@pytest.mark.parametrize(
    "other",
    [
        {"annex_iii_areas": {"law_enforcement"}},
        {"annex_i_safety_component": True},
        {"annex_iii_areas": {"employment"}, **EXEMPT},
        {"deep_fake": True},
        {"principal_basis_for_decisions": True, "omb_effect_areas": {"health_safety"}},
    ],
)
def test_prohibited_beats_everything(other):
    decision = assess(answers(social_scoring=True, **other))
    assert decision.tier == Tier.PROHIBITED
    assert decision.rule == "art5.social_scoring"


def test_several_prohibited_practices_are_all_named():
    decision = assess(answers(social_scoring=True, untargeted_face_scraping=True))
    assert decision.rule == "art5.social_scoring"
    assert "scraping" in decision.rationale and "social behaviour" in decision.rationale


def test_several_annex_iii_areas_name_the_first_and_list_all():
    decision = assess(answers(annex_iii_areas={"migration_border", "biometrics"}))
    assert decision.rule == "annex_iii.biometrics"
    assert "Biometrics" in decision.rationale and "Migration" in decision.rationale


# --- High-impact (OMB M-25-21) -------------------------------------------------------------------


@pytest.mark.parametrize("area", list(risk.OMB_EFFECT_AREAS))
def test_principal_basis_with_an_effect_area_is_high_impact(area):
    decision = assess(answers(principal_basis_for_decisions=True, omb_effect_areas={area}))
    assert decision.high_impact is True
    assert decision.tier == Tier.MINIMAL  # the EU tier is independent of the OMB flag
    assert "High-impact under OMB M-25-21" in decision.rationale


@pytest.mark.parametrize(
    ("values", "phrase"),
    [
        ({"omb_effect_areas": {"health_safety"}}, "not a principal basis"),
        ({"principal_basis_for_decisions": True}, "none with a significant effect"),
    ],
)
def test_high_impact_needs_both_principal_basis_and_an_area(values, phrase):
    decision = assess(answers(**values))
    assert decision.high_impact is False
    assert phrase in decision.rationale


def test_high_impact_without_human_review_gets_an_oversight_note():
    decision = assess(
        answers(
            principal_basis_for_decisions=True,
            omb_effect_areas={"critical_services"},
            acts_without_human_review=True,
        )
    )
    assert decision.high_impact
    assert "fail-safe" in decision.rationale


# --- Answers documents ---------------------------------------------------------------------------


def test_answers_round_trip_through_the_stored_document():
    original = answers(
        social_scoring=True, annex_iii_areas={"education", "employment"}, deep_fake=True
    )
    document = risk.answers_to_mapping(original)
    assert document["annex_iii_areas"] == ["education", "employment"]
    assert set(document) == {f.name for f in fields(RiskAnswers)}
    assert risk.answers_from_mapping(document) == original


@pytest.mark.parametrize(
    ("document", "bad_key"),
    [
        ({"social_scoring": "yes"}, "social_scoring"),
        ({"annex_iii_areas": ["astrology"]}, "annex_iii_areas"),
        ({"annex_iii_areas": "education"}, "annex_iii_areas"),
        ({"telepathy": True}, "telepathy"),
    ],
)
def test_invalid_answers_name_the_question(document, bad_key):
    with pytest.raises(risk.InvalidAnswers) as caught:
        risk.answers_from_mapping(document)
    assert bad_key in caught.value.errors


def test_every_answer_field_has_a_question():
    assert {q.key for q in risk.QUESTIONS} == set(risk.ANSWER_KEYS)


BOOLEAN_KEYS = [k for k in risk.ANSWER_KEYS if k not in risk.CHOICE_FIELDS]


@given(
    flags=st.dictionaries(st.sampled_from(BOOLEAN_KEYS), st.booleans()),
    areas=st.frozensets(st.sampled_from(list(risk.ANNEX_III_AREAS))),
    effects=st.frozensets(st.sampled_from(list(risk.OMB_EFFECT_AREAS))),
)
def test_invariants(flags, areas, effects):
    a = replace(NONE, **flags, annex_iii_areas=areas, omb_effect_areas=effects)
    decision = assess(a)
    assert decision.rationale and decision.rule
    any_prohibited = any(getattr(a, k) for k in risk.PROHIBITED_PRACTICES)
    assert (decision.tier == Tier.PROHIBITED) == any_prohibited
    if not any_prohibited and (
        a.annex_i_safety_component or (areas and a.profiles_natural_persons)
    ):
        assert decision.tier == Tier.HIGH
    assert decision.high_impact == (a.principal_basis_for_decisions and bool(effects))
    assert assess(a) == decision  # deterministic


# --- Emotion recognition (mapped, not left to three separate ticks) -----------------------------

EMOTION = {"emotion_recognition": True}


def emotion(**values: object) -> RiskAnswers:
    if "emotion_recognition_settings" in values:
        values["emotion_recognition_settings"] = frozenset(values["emotion_recognition_settings"])  # type: ignore[arg-type]
    return answers(**EMOTION, **values)


@pytest.mark.parametrize(
    ("settings", "where"),
    [
        ({"workplace"}, "at the workplace"),
        ({"education"}, "in education institutions"),
        ({"workplace", "education"}, "at the workplace and in education institutions"),
    ],
)
def test_emotion_recognition_at_work_or_in_education_is_prohibited(settings, where):
    decision = assess(emotion(emotion_recognition_settings=settings))
    assert decision.tier == Tier.PROHIBITED
    assert decision.rule == "art5.emotion_recognition_work_education"
    assert "Art. 5(1)(f)" in decision.rationale
    assert f"Emotion recognition used {where}" in decision.rationale


def test_emotion_recognition_at_work_for_safety_is_high_not_prohibited():
    decision = assess(
        emotion(
            emotion_recognition_settings={"workplace"}, emotion_recognition_medical_or_safety=True
        )
    )
    assert decision.tier == Tier.HIGH
    assert decision.rule == "annex_iii.biometrics"
    assert "Annex III point 1(c)" in decision.rationale
    assert "Art. 50(3)" in decision.rationale


@pytest.mark.parametrize("settings", [set(), {"workplace"}, {"education"}])
def test_the_medical_or_safety_reason_alone_does_not_make_anything_prohibited(settings):
    decision = assess(
        emotion(emotion_recognition_settings=settings, emotion_recognition_medical_or_safety=True)
    )
    assert decision.tier == Tier.HIGH


def test_emotion_recognition_elsewhere_is_annex_iii_biometrics_with_the_art50_duty():
    decision = assess(emotion())
    assert (decision.tier, decision.rule) == (Tier.HIGH, "annex_iii.biometrics")
    assert "Biometrics" in decision.rationale
    assert "Annex III point 1(c)" in decision.rationale
    assert "people exposed must be informed" in decision.rationale  # the Art. 50 duty, in words


def test_workplace_without_emotion_recognition_changes_nothing():
    decision = assess(answers(emotion_recognition_settings=frozenset({"workplace"})))
    assert decision.tier == Tier.MINIMAL


def test_emotion_recognition_under_the_exemption_keeps_the_art50_duty():
    decision = assess(emotion(**EXEMPT))
    assert decision.tier == Tier.LIMITED
    assert decision.rule == "art6_3.narrow_procedural_task"
    assert "Art. 50" in decision.rationale and "Annex III point 1(c)" in decision.rationale


def test_emotion_recognition_names_biometrics_among_other_areas():
    decision = assess(emotion(annex_iii_areas={"employment"}))
    assert decision.rule == "annex_iii.biometrics"
    assert "Biometrics" in decision.rationale and "Employment" in decision.rationale


def test_emotion_recognition_with_another_prohibited_practice_names_both():
    decision = assess(emotion(emotion_recognition_settings={"education"}, social_scoring=True))
    assert decision.rule == "art5.social_scoring"
    assert "social behaviour" in decision.rationale and "Art. 5(1)(f)" in decision.rationale


def test_high_tier_rationale_names_its_transparency_duties():
    decision = assess(answers(annex_iii_areas={"employment"}, interacts_with_people=True))
    assert decision.tier == Tier.HIGH
    assert "Transparency duties under Art. 50 also apply" in decision.rationale


def test_emotion_settings_are_validated():
    with pytest.raises(risk.InvalidAnswers) as caught:
        risk.answers_from_mapping({"emotion_recognition_settings": ["prison"]})
    assert "emotion_recognition_settings" in caught.value.errors


@given(
    flags=st.dictionaries(st.sampled_from(BOOLEAN_KEYS), st.booleans()),
    settings=st.frozensets(st.sampled_from(list(risk.EMOTION_SETTINGS))),
    areas=st.frozensets(st.sampled_from(list(risk.ANNEX_III_AREAS))),
)
def test_emotion_invariants(flags, settings, areas):
    a = replace(NONE, **flags, emotion_recognition_settings=settings, annex_iii_areas=areas)
    decision = assess(a)
    ticked = any(getattr(a, k) for k in risk.PROHIBITED_PRACTICES)
    derived = (
        a.emotion_recognition and bool(settings) and not a.emotion_recognition_medical_or_safety
    )
    assert (decision.tier == Tier.PROHIBITED) == (ticked or derived)
    claimed = any(getattr(a, k) for k in risk.EXEMPTION_CONDITIONS)
    if a.emotion_recognition and decision.tier != Tier.PROHIBITED:
        # an emotion recognition system is high-risk unless the Art. 6(3) exemption applies,
        # and then still limited (its Art. 50(3) duty), never minimal
        if not claimed or a.profiles_natural_persons or a.annex_i_safety_component:
            assert decision.tier == Tier.HIGH
        else:
            assert decision.tier == Tier.LIMITED
