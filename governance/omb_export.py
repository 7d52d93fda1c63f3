"""The OMB 2025 inventory's minimum-practice columns (`hi_*`), filled from control statuses.

Registered with `portfolio.exporters` at start-up, so `export_inventory --format omb-2025` writes
what the governance records say about each of the eight M-25-21 practices; a practice with no
recorded status keeps the value an earlier import brought, if any. Values are the 2025 data
dictionary's shorthand codes.
"""

from __future__ import annotations

from governance.models import ControlStatus

OMB_FRAMEWORK = "omb-m-25-21"
Met, InProgress, NotApplicable = "met", "in_progress", "not_applicable"

# control identifier → (column, {status: value})
PRACTICE_COLUMNS: dict[str, tuple[str, dict[str, str]]] = {
    "OMB-1": ("hi_testing_conducted", {Met: "Yes", InProgress: "In-progress"}),
    "OMB-2": ("hi_assessment_completed", {Met: "Yes", InProgress: "In-progress"}),
    "OMB-3": (
        "hi_independent_review",
        {Met: "Internal Independent Review", InProgress: "In-progress"},
    ),
    "OMB-4": (
        "hi_ongoing_monitoring",
        {Met: "Yes - Monitoring Established", InProgress: "In-progress"},
    ),
    "OMB-5": (
        "hi_training_established",
        {Met: "Training Established", InProgress: "Training In-progress"},
    ),
    "OMB-6": (
        "hi_failsafe_presence",
        {Met: "Yes", InProgress: "In-progress", NotApplicable: "Not Applicable"},
    ),
    "OMB-7": (
        "hi_appeal_process",
        {
            Met: "Appeal Process Established",
            InProgress: "Appeal Process In-progress",
            NotApplicable: "Not Applicable",
        },
    ),
    "OMB-8": ("hi_public_consultation", {Met: "['Other']", InProgress: "['In-progress']"}),
}


def minimum_practice_columns(project_ids: list[int]) -> dict[int, dict[str, str]]:
    """{project id: {hi_* column: value}} for the given projects, in one query."""
    result: dict[int, dict[str, str]] = {}
    rows = ControlStatus.objects.filter(
        project_id__in=project_ids,
        control__framework__code=OMB_FRAMEWORK,
        control__identifier__in=list(PRACTICE_COLUMNS),
    ).values_list("project_id", "control__identifier", "status")
    for project_id, identifier, status in rows:
        column, values = PRACTICE_COLUMNS[identifier]
        if status in values:
            result.setdefault(project_id, {})[column] = values[status]
    return result
