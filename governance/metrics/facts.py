"""The plain facts the metrics are computed from (built by `governance.selectors`).

Every input is a frozen dataclass with plain Python values: no model instance, no queryset, so
that the metrics run the same in a Celery worker, a test or a benchmark.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

# Stages from least to most advanced; `retired` ranks below `production` for the lead project.
STAGE_ORDER: Mapping[str, int] = {
    "": 0,
    "idea": 1,
    "retired": 2,
    "development": 3,
    "pilot": 4,
    "production": 5,
}


@dataclass(frozen=True)
class UnitFacts:
    """A business unit: the tree is given by `parent_id` (None for a root)."""

    id: int
    code: str
    name: str
    parent_id: int | None = None


@dataclass(frozen=True)
class ProjectFacts:
    """One AI project as the metrics see it.

    `scope_unit_id` is the unit at which overlap "across business units" is counted (see
    `scope_units`); `unit_id` is the project's own unit. Text fields may be empty. `tools` are
    canonical tool names (the catalogue's `Tool.name`); `goal_ids` are the goals the project is
    aligned to with a *confirmed* alignment. `annual_cost` is None when unknown (not zero).
    """

    id: int
    name: str
    unit_id: int
    scope_unit_id: int
    problem: str = ""
    benefits: str = ""
    outputs: str = ""
    capabilities: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    vendors: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()
    topic: str = ""
    stage: str = ""
    annual_cost: float | None = None
    involves_pii: bool | None = None
    data_description: str = ""
    goal_ids: tuple[int, ...] = ()
    owner_id: int | None = None


@dataclass(frozen=True)
class GoalFacts:
    """A strategic goal; inactive goals are reported but receive no suggestions."""

    id: int
    title: str
    description: str = ""
    active: bool = True


@dataclass(frozen=True)
class ToolFacts:
    """A catalogue tool: its canonical name, vendor, the other names it goes by and its sanction.

    `sanction_status` is one of `approved`, `restricted`, `prohibited`, `unreviewed`.
    """

    name: str
    vendor: str = ""
    aliases: tuple[str, ...] = ()
    sanction_status: str = "unreviewed"


@dataclass(frozen=True)
class GovernanceFacts:
    """What governance knows about one project (all optional: the app may not exist yet).

    `assessment_current` says the newest risk assessment is still valid (the selector decides,
    e.g. newer than the project's last material change). `required_controls` and `met_controls`
    count the controls that apply to the project's tier and those with status met.
    """

    project_id: int
    risk_tier: str = ""
    assessment_current: bool = False
    required_controls: int = 0
    met_controls: int = 0


@dataclass(frozen=True)
class ReviewFacts:
    """One pass of a project through the review workflow."""

    project_id: int
    submitted_at: datetime
    due_on: date | None = None
    decided_at: datetime | None = None


def scope_units(units: Iterable[UnitFacts]) -> dict[int, int]:
    """Map every unit id to the id of the unit at which fragmentation is counted.

    With several roots (e.g. federal agencies, each a root) the scope unit is the unit's root.
    With a single organisation root it is the root's child on the unit's path (a division), and
    the root maps to itself. A parent id that is not among the units counts as no parent; a cycle
    is broken at the unit where it is detected.
    """
    by_id = {unit.id: unit for unit in units}

    def path_to_root(unit_id: int) -> list[int]:
        path = [unit_id]
        seen = {unit_id}
        parent = by_id[unit_id].parent_id
        while parent is not None and parent in by_id and parent not in seen:
            path.append(parent)
            seen.add(parent)
            parent = by_id[parent].parent_id
        return path

    paths = {unit_id: path_to_root(unit_id) for unit_id in by_id}
    roots = {path[-1] for path in paths.values()}
    single_root = len(roots) == 1
    scope: dict[int, int] = {}
    for unit_id, path in paths.items():
        if single_root and len(path) >= 2:
            scope[unit_id] = path[-2]
        else:
            scope[unit_id] = path[-1]
    return scope
