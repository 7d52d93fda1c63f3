"""Hypothesis strategies: small random portfolios built from a few capability vocabularies."""

from __future__ import annotations

from hypothesis import strategies as st

from governance.metrics import ProjectFacts

_TEXTS = (
    "legal research case law statutes precedents attorneys briefs court",
    "transcription audio speech recordings hearings captions meetings text",
    "invoices scanned documents extraction forms digitisation paper records",
    "network anomaly intrusion traffic threat malware security alerts",
    "crop yield weather satellite imagery drought forecast soil",
)
VOCABULARIES = tuple(tuple(text.split()) for text in _TEXTS)
TOOLS = ("Westlaw", "Grammarly", "ServiceNow", "UiPath", "Custom model")
CAPABILITIES = ("OCR", "Transcription", "Legal research", "Forecasting")


@st.composite
def projects(draw: st.DrawFn, max_size: int = 14) -> list[ProjectFacts]:
    size = draw(st.integers(min_value=2, max_value=max_size))
    out = []
    for pid in range(1, size + 1):
        vocabulary = draw(st.sampled_from(VOCABULARIES))
        words = draw(st.lists(st.sampled_from(vocabulary), min_size=1, max_size=8))
        unit = draw(st.integers(min_value=1, max_value=4))
        out.append(
            ProjectFacts(
                id=pid * 7,
                name=" ".join(words[:3]),
                unit_id=unit,
                scope_unit_id=unit,
                problem=" ".join(words),
                tools=tuple(draw(st.lists(st.sampled_from(TOOLS), max_size=2, unique=True))),
                capabilities=tuple(
                    draw(st.lists(st.sampled_from(CAPABILITIES), max_size=1, unique=True))
                ),
                topic=draw(st.sampled_from(("", "Legal", "Health"))),
                involves_pii=draw(st.sampled_from((None, True, False))),
                annual_cost=draw(st.one_of(st.none(), st.floats(min_value=0, max_value=1e6))),
                stage=draw(st.sampled_from(("idea", "pilot", "production", "retired", ""))),
            )
        )
    return out
