"""Every read of the registry. Visibility scoping happens here and only here."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F, FilteredRelation, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from portfolio import roles
from portfolio.models import (
    AuditEvent,
    BusinessUnit,
    Capability,
    GoalAlignment,
    Project,
    StrategicGoal,
    Tool,
)

User = AbstractBaseUser | AnonymousUser
T = TypeVar("T")


def project_visibility_q(user: User) -> Q:
    """The condition a project must meet for this user to see it at all."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    if roles.sees_everything(user):
        return Q()
    return Q(visibility=Project.Visibility.ORGANISATION) | Q(
        business_unit_id__in=roles.member_unit_ids(user)
    )


def project_queryset(*, user: User, include_archived: bool = False) -> QuerySet[Project]:
    """Visible projects, unfetched relations only (for counting and aggregating)."""
    queryset = Project.objects.filter(project_visibility_q(user))
    if not include_archived:
        queryset = queryset.filter(archived_at__isnull=True)
    return queryset


def project_list(
    *, user: User, include_archived: bool = False, relations_as_lists: bool = False
) -> QuerySet[Project]:
    """Visible projects with what lists and exports show, in a constant number of queries.

    With `relations_as_lists`, tools and capabilities come as plain lists in `listed_tools` and
    `listed_capabilities` (what the API's serializer reads) instead of behind `tools.all()`:
    Django builds one queryset per project and relation for the latter, a tenth of an API list
    page's time."""
    return (
        project_queryset(user=user, include_archived=include_archived)
        .select_related("business_unit", "business_unit__parent", "owner", "executive_sponsor")
        .prefetch_related(
            Prefetch(
                "tools",
                queryset=Tool.objects.only("id", "name", "vendor", "sanction_status"),
                to_attr="listed_tools" if relations_as_lists else None,
            ),
            Prefetch(
                "capabilities",
                queryset=Capability.objects.only("id", "name", "slug"),
                to_attr="listed_capabilities" if relations_as_lists else None,
            ),
        )
    )


def project_get(
    *, user: User, pk: int | str, include_archived: bool = True, relations_as_lists: bool = False
) -> Project:
    """One visible project, or Http404 whether it is missing or hidden."""
    try:
        return project_list(
            user=user, include_archived=include_archived, relations_as_lists=relations_as_lists
        ).get(pk=pk)
    except (Project.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such project.") from exc


def project_history(*, user: User, project: Project) -> QuerySet[AuditEvent]:
    """Audit events of a project the user can see (callers get the project via project_get)."""
    if not roles.can_view_project(user, project):
        raise Http404("No such project.")
    return AuditEvent.objects.filter(project_id=project.pk).select_related("actor")


def audit_event_list(*, user: User) -> QuerySet[AuditEvent]:
    """Reviewers, executives and admins read the whole trail; others the events of their units
    and of the shared catalogue (units, goals, tools, capabilities)."""
    queryset = AuditEvent.objects.select_related("actor", "business_unit")
    if not user.is_authenticated:
        return queryset.none()
    if roles.sees_everything(user):
        return queryset
    return queryset.filter(
        Q(business_unit_id__in=roles.member_unit_ids(user))
        | (Q(business_unit__isnull=True) & ~Q(target_type=Project._meta.label_lower))
    )


def business_unit_list(*, user: User) -> QuerySet[BusinessUnit]:
    if not user.is_authenticated:
        return BusinessUnit.objects.none()
    return BusinessUnit.objects.select_related("parent")


def goal_list(*, user: User) -> QuerySet[StrategicGoal]:
    if not user.is_authenticated:
        return StrategicGoal.objects.none()
    return StrategicGoal.objects.select_related("parent", "owner")


@dataclass(frozen=True)
class ProjectGoal:
    """A strategic goal as the project's page shows it: aligned (with the alignment's id,
    status and rationale) or only offered to an editor."""

    goal_id: int
    title: str
    alignment_id: int | None = None
    status: str = ""
    rationale: str = ""

    @property
    def status_label(self) -> str:
        return str(GoalAlignment.Status(self.status).label) if self.status else ""


def project_goals(*, project: Project) -> tuple[list[ProjectGoal], list[ProjectGoal]]:
    """(the project's confirmed then suggested goals, the active goals it is not aligned to or
    was suggested and rejected), in one query: the goals joined to this project's alignment."""
    rows = (
        StrategicGoal.objects.annotate(
            mine=FilteredRelation("alignments", condition=Q(alignments__project=project))
        )
        .filter(Q(active=True) | Q(mine__isnull=False))
        .order_by("title", "pk")
        .values_list("pk", "title", "active", "mine__pk", "mine__status", "mine__rationale")
    )
    aligned, others = [], []
    for goal_id, title, active, alignment_id, status, rationale in rows:
        if alignment_id is None or status == GoalAlignment.Status.REJECTED:
            if active:
                others.append(ProjectGoal(goal_id, title))
        else:
            aligned.append(ProjectGoal(goal_id, title, alignment_id, status, rationale))
    # confirmed before suggested, each by title
    aligned.sort(key=lambda g: g.status != GoalAlignment.Status.CONFIRMED)
    return aligned, others


def goal_suggestions_awaiting(*, user: User, unit_ids: Iterable[int]) -> int:
    """Current projects of these units (that the user sees) with a goal suggestion no one has
    confirmed or rejected yet."""
    suggested = GoalAlignment.objects.filter(status=GoalAlignment.Status.SUGGESTED)
    return (
        project_queryset(user=user)
        .filter(business_unit_id__in=list(unit_ids), pk__in=suggested.values("project_id"))
        .count()
    )


def alignment_list(*, user: User) -> QuerySet[GoalAlignment]:
    visible_projects = project_queryset(user=user).values("pk")
    return GoalAlignment.objects.filter(project_id__in=visible_projects).select_related(
        "project", "goal"
    )


def tool_list(*, user: User) -> QuerySet[Tool]:
    if not user.is_authenticated:
        return Tool.objects.none()
    return Tool.objects.prefetch_related("capabilities")


def capability_list(*, user: User) -> QuerySet[Capability]:
    if not user.is_authenticated:
        return Capability.objects.none()
    return Capability.objects.select_related("parent")


# --- Portfolio counts (home page and IT overview) -------------------------------------------------

PORTFOLIO_COUNTS_TTL = 60  # seconds; a backstop only: the key changes with every write


@dataclass(frozen=True)
class UnitCount:
    pk: int
    name: str
    code: str
    n: int
    cost: Decimal = Decimal(0)  # annual cost, unknown costs counted as zero
    benefit: Decimal = Decimal(0)  # expected annual benefit, likewise
    high: int = 0  # projects in the high or prohibited risk tier


@dataclass(frozen=True)
class PortfolioCounts:
    """Counts of the non-archived projects, from one GROUP BY over the project table."""

    total: int
    assessed: int
    no_owner: int
    by_stage: dict[str, int]
    by_tier: dict[str, int]
    by_review: dict[str, int]
    units: tuple[UnitCount, ...]  # most projects first, then by name
    # When the counts were taken, if they predate the registry's latest change (None: current).
    as_of: dt.datetime | None = None

    def choices(self, field: str, choices: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
        """Every choice listed (zero when absent) with its count and share of the total."""
        found: dict[str, int] = getattr(self, field)
        total = self.total or 1
        return [
            {"value": v, "label": label, "n": found.get(v, 0), "share": found.get(v, 0) / total}
            for v, label in choices
        ]


def portfolio_stamp() -> tuple[Any, ...]:
    """A cheap fingerprint of the registry's state, in one query of index look-ups: the latest
    audit event (every service write records one, in its own transaction), the latest project
    change and insert, the latest tool link. Counts keyed by it are recomputed after any write."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT MAX(id) FROM portfolio_auditevent),"
            " (SELECT MAX(updated_at) FROM portfolio_project),"
            " (SELECT MAX(id) FROM portfolio_project),"
            " (SELECT MAX(id) FROM portfolio_project_tools)"
        )
        row = cursor.fetchone()
    return (*(str(v) for v in row), timezone.localdate().isoformat())


def portfolio_cache_key(name: str) -> str:
    """A cache key for `name` at the registry's current stamp (hashed: safe for any backend)."""
    digest = hashlib.sha256("|".join(portfolio_stamp()).encode()).hexdigest()[:32]
    return f"{name}:{digest}"


def cached_under_stamp(name: str, compute: Callable[[], T]) -> tuple[T, dt.datetime | None]:
    """`compute()`'s result for the registry's current state, and when it was computed if it is
    older than the latest change (None when current).

    Keyed by the registry's stamp, so a change is seen by the next request. Under a steady stream
    of writes that would recompute on nearly every request, so the freshness is bounded instead of
    exact: a result computed less than `PORTFOLIO_COUNTS_MAX_AGE` seconds ago (10 by default) is
    served after a change, dated, and recomputed once it is older (0: recompute after every change).
    """
    key = portfolio_cache_key(name)
    found: tuple[T, float] | None = cache.get(key)
    if found is not None:
        return found[0], None
    max_age = settings.PORTFOLIO_COUNTS_MAX_AGE
    latest_key = f"{name}:latest"
    if max_age > 0:
        latest: tuple[T, float] | None = cache.get(latest_key)
        if latest is not None and 0 <= time.time() - latest[1] < max_age:
            return latest[0], dt.datetime.fromtimestamp(latest[1], tz=dt.UTC)
    value = compute()
    entry = (value, time.time())
    cache.set(key, entry, PORTFOLIO_COUNTS_TTL)
    if max_age > 0:
        cache.set(latest_key, entry, max_age)
    return value, None


def _compute_portfolio_counts(queryset: QuerySet[Project]) -> PortfolioCounts:
    # Grouped by unit id only: joining the unit table before grouping makes PostgreSQL sort
    # 100,000 wide rows (~4x slower); the few hundred names are read afterwards.
    rows = (
        queryset.order_by()
        .values_list("stage", "risk_tier", "review_status", "business_unit_id")
        .annotate(
            n=Count("id"),
            no_owner=Count("id", filter=Q(owner__isnull=True)),
            cost=Sum("annual_cost"),
            benefit=Sum("expected_annual_benefit"),
        )
    )
    by_stage: dict[str, int] = defaultdict(int)
    by_tier: dict[str, int] = defaultdict(int)
    by_review: dict[str, int] = defaultdict(int)
    units: dict[int, list[Any]] = {}
    total = no_owner = 0
    high_tiers = {Project.RiskTier.HIGH, Project.RiskTier.PROHIBITED}
    for stage, tier, review, unit_pk, n, unowned, cost, benefit in rows:
        total += n
        no_owner += unowned
        by_stage[stage] += n
        by_tier[tier] += n
        by_review[review] += n
        unit = units.setdefault(unit_pk, [0, Decimal(0), Decimal(0), 0])
        unit[0] += n
        unit[1] += cost or 0
        unit[2] += benefit or 0
        unit[3] += n if tier in high_tiers else 0
    names = {
        pk: (name, code)
        for pk, name, code in BusinessUnit.objects.filter(pk__in=units).values_list(
            "pk", "name", "code"
        )
    }
    ranked = sorted(
        (UnitCount(pk, *names[pk], *values) for pk, values in units.items()),
        key=lambda u: (-u.n, u.name),
    )
    return PortfolioCounts(
        total=total,
        assessed=total - by_tier.get("", 0),
        no_owner=no_owner,
        by_stage=dict(by_stage),
        by_tier=dict(by_tier),
        by_review=dict(by_review),
        units=tuple(ranked),
    )


def portfolio_counts(*, user: User) -> PortfolioCounts:
    """Counts of the projects the user sees. For those who see everything the counts are the same
    for all of them, so they are cached under the registry's stamp (one cheap query per request,
    the GROUP BY only after a change, at most once per `PORTFOLIO_COUNTS_MAX_AGE` seconds: see
    `cached_under_stamp`; `as_of` then says when they were taken); for others they are computed
    over their visible projects."""
    queryset = project_queryset(user=user)
    if not roles.sees_everything(user):
        return _compute_portfolio_counts(queryset)
    counts, as_of = cached_under_stamp(
        "portfolio-counts", lambda: _compute_portfolio_counts(queryset)
    )
    return counts if as_of is None else replace(counts, as_of=as_of)


# A full-text search matching at most this many projects is sorted after the match.
SEARCH_SORT_AFTER_MATCH = 5_000


def sorted_after_match(queryset: QuerySet[Project]) -> QuerySet[Project]:
    """The same order, in terms no index provides, so that PostgreSQL finds the matches first
    (GIN index) and sorts them, instead of walking the name index and parsing every project's
    text on the way until a page of matches is found (~0.3 s for a word in 1 % of 100,000
    projects, ~6 ms this way). `COALESCE(x, x)` is `x`, NULL included."""
    terms = []
    for term in queryset.query.order_by:
        if not isinstance(term, str):
            return queryset
        field = term.lstrip("-")
        expression = Coalesce(F(field), F(field))
        terms.append(expression.desc() if term.startswith("-") else expression.asc())
    return queryset.order_by(*terms)
