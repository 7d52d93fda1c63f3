"""Hand-made facts for the metric tests (plain dataclasses, no database)."""

from __future__ import annotations

from typing import Any

from governance.metrics import ProjectFacts


def project(
    pid: int, name: str, problem: str = "", *, unit: int = 1, **fields: Any
) -> ProjectFacts:
    """A project in `unit`, which is also its scope unit unless `scope_unit_id` is given."""
    fields.setdefault("scope_unit_id", unit)
    return ProjectFacts(id=pid, name=name, unit_id=unit, problem=problem, **fields)


LEGAL_A = project(
    1,
    "Westlaw legal research",
    "Attorneys search case law, statutes and legal precedents with Westlaw Edge to speed up "
    "legal research and drafting of briefs.",
    unit=1,
)
LEGAL_B = project(
    2,
    "AI assisted legal research",
    "Lawyers find relevant case law and court decisions faster; legal research with Westlaw "
    "and summaries of precedents.",
    unit=2,
)
TRANSCRIPTION = project(
    3,
    "Meeting transcription",
    "Transcribe recorded hearings and meetings from audio to text for the records.",
    unit=3,
)
WEATHER = project(
    4,
    "Crop yield forecasting",
    "Satellite imagery and weather data predict crop yields for farmers each season.",
    unit=1,
)
