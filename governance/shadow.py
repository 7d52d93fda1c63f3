"""Shadow AI: which tools are used outside what the registry and the sanction list say.

Three flags, each a few queries, scoped to what the user may see:
- **risky tools**: current projects linked to a `prohibited` or `unreviewed` tool (one row per
  project and tool);
- **unregistered use**: a tool a unit has adopted (`ToolAdoption`, e.g. the OMB commercial-AI
  list) that no current project of that unit or of its sub-units uses;
- **no owner**: current projects without an owner.

Reviewers, executives and admins see everything; other users see the rows of their units (and
sub-units), and of those only the projects they may see.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from portfolio import roles
from portfolio.models import BusinessUnit, Project, Tool, ToolAdoption
from portfolio.selectors import project_queryset

User = AbstractBaseUser | AnonymousUser
T = TypeVar("T")

RISKY_STATUSES = (Tool.SanctionStatus.PROHIBITED, Tool.SanctionStatus.UNREVIEWED)
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def sees_all(user: User) -> bool:
    return bool(user.is_authenticated and (roles.sees_everything(user) or roles.is_admin(user)))


def _unit_scope(user: User) -> set[int] | None:
    """None for everything, else the ids of the user's units and their sub-units."""
    return None if sees_all(user) else roles.member_unit_ids(user)


def tool_adoption_list(*, user: User) -> QuerySet[ToolAdoption]:
    """Adoptions the user may see, with unit and tool."""
    queryset = ToolAdoption.objects.select_related("business_unit", "tool").order_by(
        "business_unit__name", "tool__name", "task", "id"
    )
    if not user.is_authenticated:
        return queryset.none()
    units = _unit_scope(user)
    return queryset if units is None else queryset.filter(business_unit_id__in=units)


def _projects(user: User) -> QuerySet[Project]:
    queryset = project_queryset(user=user)
    units = _unit_scope(user)
    return queryset if units is None else queryset.filter(business_unit_id__in=units)


@dataclass(frozen=True)
class RiskyToolUse:
    project_id: int
    project_name: str
    unit_code: str
    tool_id: int
    tool_name: str
    sanction_status: str


@dataclass(frozen=True)
class UnregisteredUse:
    unit_id: int
    unit_code: str
    unit_name: str
    tool_id: int
    tool_name: str
    sanction_status: str
    tasks: tuple[str, ...]


@dataclass(frozen=True)
class OwnerlessProject:
    project_id: int
    project_name: str
    unit_code: str


@dataclass(frozen=True)
class Flagged(Generic[T]):
    count: int
    items: list[T] = field(default_factory=list)


def risky_tool_uses(*, user: User, limit: int = DEFAULT_LIMIT) -> Flagged[RiskyToolUse]:
    """Projects using prohibited or unreviewed tools: one row per (project, tool); prohibited
    first. One count query and one list query."""
    links = Project.tools.through.objects.filter(
        project__in=_projects(user), tool__sanction_status__in=RISKY_STATUSES
    )
    count = links.count()
    # "prohibited" sorts before "unreviewed".
    rows = links.order_by("tool__sanction_status", "project__name", "tool__name").values_list(
        "project_id",
        "project__name",
        "project__business_unit__code",
        "tool_id",
        "tool__name",
        "tool__sanction_status",
    )[:limit]
    return Flagged(count=count, items=[RiskyToolUse(*row) for row in rows])


# The most worrying sanction first.
SEVERITY: dict[str, int] = {
    Tool.SanctionStatus.PROHIBITED.value: 0,
    Tool.SanctionStatus.RESTRICTED.value: 1,
    Tool.SanctionStatus.UNREVIEWED.value: 2,
    Tool.SanctionStatus.APPROVED.value: 3,
}


@dataclass(frozen=True)
class ToolWithoutProject:
    """A tool units have adopted without a registered project using it."""

    tool_id: int
    tool_name: str
    sanction_status: str
    units: tuple[str, ...]  # unit names, alphabetical
    tasks: tuple[str, ...]  # what it is used for, distinct, alphabetical


def unregistered_uses(*, user: User, limit: int = DEFAULT_LIMIT) -> Flagged[UnregisteredUse]:
    """Adopted tools no current project of the unit (or its sub-units) uses, prohibited first,
    then by unit and tool."""
    flagged = _unregistered(user)
    flagged.sort(key=lambda u: (u.sanction_status != "prohibited", u.unit_name, u.tool_name))
    return Flagged(count=len(flagged), items=flagged[:limit])


def unregistered_by_tool(*, user: User, limit: int = DEFAULT_LIMIT) -> Flagged[ToolWithoutProject]:
    """The same uses grouped by tool: the most worrying sanction first, then the tools adopted
    without a project by the most units."""
    units: dict[int, set[str]] = defaultdict(set)
    tasks: dict[int, set[str]] = defaultdict(set)
    tools: dict[int, tuple[str, str]] = {}
    for use in _unregistered(user):
        units[use.tool_id].add(use.unit_name)
        tasks[use.tool_id].update(t for t in use.tasks if t)
        tools[use.tool_id] = (use.tool_name, use.sanction_status)
    grouped = [
        ToolWithoutProject(
            tool_id, name, status, tuple(sorted(units[tool_id])), tuple(sorted(tasks[tool_id]))
        )
        for tool_id, (name, status) in tools.items()
    ]
    grouped.sort(key=lambda t: (SEVERITY.get(t.sanction_status, 9), -len(t.units), t.tool_name))
    return Flagged(count=len(grouped), items=grouped[:limit])


def _unregistered(user: User) -> list[UnregisteredUse]:
    """Every (unit, tool) adoption no current project of the unit (or its sub-units) uses. Three
    queries: the unit tree, the adoptions, the (unit, tool) pairs of current projects."""
    parents = dict(BusinessUnit.objects.values_list("id", "parent_id"))
    adoptions = tool_adoption_list(user=user).values_list(
        "business_unit_id",
        "business_unit__code",
        "business_unit__name",
        "tool_id",
        "tool__name",
        "tool__sanction_status",
        "task",
    )
    grouped: dict[tuple[int, int], list[Any]] = {}
    for unit_id, code, name, tool_id, tool_name, status, task in adoptions:
        entry = grouped.setdefault((unit_id, tool_id), [code, name, tool_name, status, []])
        entry[4].append(task)
    if not grouped:
        return []
    # Every (unit, tool) covered by a current project of that unit or a unit below it. Archived
    # projects do not count; projects the user may not see do (the use is registered).
    covered: set[tuple[int, int]] = set()
    ancestors: dict[int, list[int]] = defaultdict(list)
    tool_ids = {tool_id for _, tool_id in grouped}
    pairs = (
        Project.tools.through.objects.filter(
            tool_id__in=tool_ids, project__archived_at__isnull=True
        )
        .values_list("project__business_unit_id", "tool_id")
        .distinct()
    )
    for unit_id, tool_id in pairs:
        if unit_id not in ancestors:
            chain: list[int] = []
            seen: set[int] = set()
            current: int | None = unit_id
            while current is not None and current not in seen:
                seen.add(current)
                chain.append(current)
                current = parents.get(current)
            ancestors[unit_id] = chain
        covered.update((ancestor, tool_id) for ancestor in ancestors[unit_id])
    return [
        UnregisteredUse(
            unit_id=unit_id,
            unit_code=code,
            unit_name=name,
            tool_id=tool_id,
            tool_name=tool_name,
            sanction_status=status,
            tasks=tuple(sorted(set(tasks))),
        )
        for (unit_id, tool_id), (code, name, tool_name, status, tasks) in grouped.items()
        if (unit_id, tool_id) not in covered
    ]


def ownerless_projects(*, user: User, limit: int = DEFAULT_LIMIT) -> Flagged[OwnerlessProject]:
    projects = _projects(user).filter(owner__isnull=True)
    rows = projects.order_by("name", "id").values_list("id", "name", "business_unit__code")
    return Flagged(count=projects.count(), items=[OwnerlessProject(*row) for row in rows[:limit]])


@dataclass(frozen=True)
class ShadowReport:
    risky_tool_uses: Flagged[RiskyToolUse]
    unregistered_uses: Flagged[UnregisteredUse]
    ownerless_projects: Flagged[OwnerlessProject]
    adoptions: int
    adopted_tools_unreviewed: int


def shadow_report(*, user: User, limit: int = DEFAULT_LIMIT) -> ShadowReport:
    """The three flags and summary counts, each list capped at `limit` rows."""
    limit = max(0, min(limit, MAX_LIMIT))
    adoptions = tool_adoption_list(user=user)
    return ShadowReport(
        risky_tool_uses=risky_tool_uses(user=user, limit=limit),
        unregistered_uses=unregistered_uses(user=user, limit=limit),
        ownerless_projects=ownerless_projects(user=user, limit=limit),
        adoptions=adoptions.count(),
        adopted_tools_unreviewed=adoptions.filter(tool__sanction_status__in=RISKY_STATUSES)
        .values("tool_id")
        .distinct()
        .count(),
    )
