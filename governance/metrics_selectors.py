"""Reads for the metrics engine: the pure facts of the whole portfolio, and the stored results.

`portfolio_facts()` builds every input of `governance.metrics` in a constant number of queries
(values lists and through-table queries, never one query per project). Archived projects are
left out. The stored results (runs, pairs, clusters, snapshots) are read with the user's
visibility: a pair is listed only when both its projects are visible, a cluster only shows
its visible members.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Max, Prefetch, Q, QuerySet
from django.utils import timezone

from governance.metrics.facts import (
    GoalFacts,
    GovernanceFacts,
    ProjectFacts,
    ReviewFacts,
    ToolFacts,
    UnitFacts,
    scope_units,
)
from governance.models import (
    Control,
    ControlStatus,
    MetricRun,
    MetricSnapshot,
    OverlapCluster,
    OverlapPair,
    Review,
    RiskAssessment,
    SimilarityIndexBlob,
)
from governance.selectors import SATISFIED_Q, high_impact_expression
from portfolio import roles
from portfolio.models import BusinessUnit, GoalAlignment, Project, StrategicGoal, Tool
from portfolio.selectors import project_queryset

User = AbstractBaseUser | AnonymousUser

# A risk assessment counts as current for this many days (setting MAESTRO_ASSESSMENT_VALID_DAYS),
# and not at all once the project changed since its approval.
DEFAULT_ASSESSMENT_VALID_DAYS = 365
# Runs of these kinds compute (and store) the whole result set.
RESULT_KINDS = (MetricRun.Kind.FULL, MetricRun.Kind.INCREMENTAL, MetricRun.Kind.SNAPSHOT)

TOPIC_LABELS = dict(Project.TopicArea.choices)
PROJECT_VALUES = (
    "id",
    "name",
    "business_unit_id",
    "problem",
    "benefits",
    "outputs",
    "techniques",
    "topic_area",
    "stage",
    "annual_cost",
    "involves_pii",
    "data_description",
    "owner_id",
    "risk_tier",
    "review_status",
)


@dataclass(frozen=True)
class PortfolioFacts:
    """Every input of a metrics run, read at `read_at`."""

    read_at: dt.datetime
    projects: tuple[ProjectFacts, ...]
    units: tuple[UnitFacts, ...]
    scope: dict[int, int]
    goals: tuple[GoalFacts, ...]
    tools: tuple[ToolFacts, ...]
    governance: tuple[GovernanceFacts, ...] = ()
    reviews: tuple[ReviewFacts, ...] = ()
    project_units: dict[int, int] = field(default_factory=dict)


def unit_facts() -> tuple[tuple[UnitFacts, ...], dict[int, int]]:
    """The unit tree and each unit's scope unit (one query)."""
    units = tuple(
        UnitFacts(pk, code, name, parent_id)
        for pk, code, name, parent_id in BusinessUnit.objects.order_by("id").values_list(
            "id", "code", "name", "parent_id"
        )
    )
    return units, scope_units(units)


def tool_facts() -> tuple[ToolFacts, ...]:
    return tuple(
        ToolFacts(name, vendor or "", tuple(str(a) for a in (aliases or ())), status)
        for name, vendor, aliases, status in Tool.objects.order_by("name").values_list(
            "name", "vendor", "aliases", "sanction_status"
        )
    )


def goal_facts() -> tuple[GoalFacts, ...]:
    return tuple(
        GoalFacts(pk, title, description or "", active)
        for pk, title, description, active in StrategicGoal.objects.order_by("id").values_list(
            "id", "title", "description", "active"
        )
    )


def project_facts(
    projects: QuerySet[Project], scope: dict[int, int]
) -> tuple[tuple[ProjectFacts, ...], list[dict[str, object]]]:
    """Facts of the given (unarchived) projects in four queries: rows, capabilities, tools,
    confirmed goals. Also returns the raw rows (tier, review status) for governance facts."""
    ids = projects.values("pk")
    rows = list(projects.order_by("id").values(*PROJECT_VALUES))
    capabilities: dict[int, list[str]] = defaultdict(list)
    for project_id, name in (
        Project.capabilities.through.objects.filter(project_id__in=ids)
        .order_by("project_id", "capability__name")
        .values_list("project_id", "capability__name")
    ):
        capabilities[project_id].append(name)
    tools: dict[int, list[str]] = defaultdict(list)
    vendors: dict[int, list[str]] = defaultdict(list)
    for project_id, name, vendor in (
        Project.tools.through.objects.filter(project_id__in=ids)
        .order_by("project_id", "tool__name")
        .values_list("project_id", "tool__name", "tool__vendor")
    ):
        tools[project_id].append(name)
        if vendor and vendor not in vendors[project_id]:
            vendors[project_id].append(vendor)
    goals: dict[int, list[int]] = defaultdict(list)
    for project_id, goal_id in (
        GoalAlignment.objects.filter(project_id__in=ids, status=GoalAlignment.Status.CONFIRMED)
        .order_by("project_id", "goal_id")
        .values_list("project_id", "goal_id")
    ):
        goals[project_id].append(goal_id)
    facts = tuple(
        ProjectFacts(
            id=row["id"],
            name=row["name"],
            unit_id=row["business_unit_id"],
            scope_unit_id=scope.get(row["business_unit_id"], row["business_unit_id"]),
            problem=row["problem"] or "",
            benefits=row["benefits"] or "",
            outputs=row["outputs"] or "",
            capabilities=tuple(capabilities.get(row["id"], ())),
            tools=tuple(tools.get(row["id"], ())),
            vendors=tuple(vendors.get(row["id"], ())),
            techniques=tuple(str(t) for t in (row["techniques"] or ())),
            topic=str(TOPIC_LABELS.get(row["topic_area"], row["topic_area"] or "")),
            stage=row["stage"] or "",
            annual_cost=float(row["annual_cost"]) if row["annual_cost"] is not None else None,
            involves_pii=row["involves_pii"],
            data_description=row["data_description"] or "",
            goal_ids=tuple(goals.get(row["id"], ())),
            owner_id=row["owner_id"],
        )
        for row in rows
    )
    return facts, rows


def assessment_valid_days() -> int:
    return int(getattr(settings, "MAESTRO_ASSESSMENT_VALID_DAYS", DEFAULT_ASSESSMENT_VALID_DAYS))


def governance_facts(
    projects: QuerySet[Project], rows: Iterable[dict[str, object]], *, now: dt.datetime
) -> tuple[tuple[GovernanceFacts, ...], tuple[ReviewFacts, ...]]:
    """Assessment currency, required/met controls and review passes (four queries).

    An assessment is current when the newest one is less than `assessment_valid_days()` old and
    the project has not changed since its approval. Required controls are those that apply to
    the project's tier and high-impact flag; met ones are met or justified not applicable.
    """
    ids = projects.values("pk")
    latest = dict(
        RiskAssessment.objects.filter(project_id__in=ids)
        .values("project_id")
        .annotate(latest=Max("created_at"))
        .order_by()
        .values_list("project_id", "latest")
    )
    high_impact = dict(
        projects.exclude(risk_tier="")
        .annotate(hi=high_impact_expression())
        .order_by()
        .values_list("pk", "hi")
    )
    controls = list(
        Control.objects.values_list("pk", "applies_to_tiers", "high_impact_only").order_by("pk")
    )
    satisfied: dict[int, set[int]] = defaultdict(set)
    for project_id, control_id in (
        ControlStatus.objects.filter(SATISFIED_Q, project_id__in=ids)
        .order_by()
        .values_list("project_id", "control_id")
    ):
        satisfied[project_id].add(control_id)
    cutoff = now - dt.timedelta(days=assessment_valid_days())
    facts = []
    for row in rows:
        pk = int(row["id"])  # type: ignore[call-overload]
        tier = str(row["risk_tier"] or "")
        hi = bool(high_impact.get(pk))
        required = (
            {c for c, tiers, hi_only in controls if tier in (tiers or ()) and (hi or not hi_only)}
            if tier
            else set()
        )
        assessed = latest.get(pk)
        facts.append(
            GovernanceFacts(
                project_id=pk,
                risk_tier=tier,
                assessment_current=bool(
                    assessed is not None
                    and assessed >= cutoff
                    and row["review_status"] != Project.ReviewStatus.CHANGES_SINCE_APPROVAL
                ),
                required_controls=len(required),
                met_controls=len(required & satisfied.get(pk, set())),
            )
        )
    reviews = tuple(
        ReviewFacts(project_id, submitted_at, due_date, decided_at)
        for project_id, submitted_at, due_date, decided_at in Review.objects.filter(
            project_id__in=ids
        )
        .order_by("project_id", "cycle")
        .values_list("project_id", "submitted_at", "due_date", "decided_at")
    )
    return tuple(facts), reviews


def active_projects() -> QuerySet[Project]:
    return Project.objects.filter(archived_at__isnull=True)


def portfolio_facts(*, now: dt.datetime | None = None) -> PortfolioFacts:
    """Every fact of the unarchived portfolio, in twelve queries whatever its size."""
    read_at = now or timezone.now()
    units, scope = unit_facts()
    projects = active_projects()
    facts, rows = project_facts(projects, scope)
    governance, reviews = governance_facts(projects, rows, now=read_at)
    return PortfolioFacts(
        read_at=read_at,
        projects=facts,
        units=units,
        scope=scope,
        goals=goal_facts(),
        tools=tool_facts(),
        governance=governance,
        reviews=reviews,
        project_units={p.id: p.unit_id for p in facts},
    )


# --- Stored results ------------------------------------------------------------------------------


def last_successful_run(*, kinds: Iterable[str] = RESULT_KINDS) -> MetricRun | None:
    return (
        MetricRun.objects.filter(kind__in=list(kinds), status=MetricRun.Status.SUCCEEDED)
        .order_by("-started_at", "-id")
        .first()
    )


def last_run_age_seconds(*, now: dt.datetime | None = None) -> float | None:
    """Seconds since the newest successful metrics run finished (None: never ran). For /healthz."""
    finished = (
        MetricRun.objects.filter(kind__in=list(RESULT_KINDS), status=MetricRun.Status.SUCCEEDED)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    if finished is None:
        return None
    return max(0.0, ((now or timezone.now()) - finished).total_seconds())


def changed_since(moment: dt.datetime) -> bool:
    """Did anything the metrics read change after `moment`? (a handful of EXISTS queries)

    Suggested alignments are left out: the runs write them themselves.
    """
    checks: list[QuerySet[Any]] = [
        Project.objects.filter(updated_at__gt=moment),
        GoalAlignment.objects.filter(updated_at__gt=moment).exclude(
            status=GoalAlignment.Status.SUGGESTED
        ),
        StrategicGoal.objects.filter(updated_at__gt=moment),
        Tool.objects.filter(updated_at__gt=moment),
        BusinessUnit.objects.filter(updated_at__gt=moment),
        RiskAssessment.objects.filter(created_at__gt=moment),
        Review.objects.filter(updated_at__gt=moment),
        ControlStatus.objects.filter(set_at__gt=moment),
    ]
    return any(queryset.exists() for queryset in checks)


def metric_run_list(*, user: User) -> QuerySet[MetricRun]:
    if not user.is_authenticated:
        return MetricRun.objects.none()
    return MetricRun.objects.all()


def newest_index_blob() -> SimilarityIndexBlob | None:
    """The newest stored similarity index (without its bytes)."""
    return (
        SimilarityIndexBlob.objects.filter(run__status=MetricRun.Status.SUCCEEDED)
        .defer("data")
        .order_by("-built_through", "-id")
        .first()
    )


def _unit_filter(unit_id: int | None, *fields: str) -> Q:
    if unit_id is None:
        return Q()
    units = roles.descendant_ids([unit_id])
    condition = Q(pk__in=[])
    for name in fields:
        condition |= Q(**{f"{name}__in": units})
    return condition


def overlap_pair_list(
    *,
    user: User,
    grade: str | None = None,
    cross_unit: bool | None = None,
    review_status: str | None = None,
    unit_id: int | None = None,
    project_id: int | None = None,
    include_stale: bool = False,
) -> QuerySet[OverlapPair]:
    """Pairs whose two projects are both visible to the user."""
    visible = project_queryset(user=user).values("pk")
    queryset = OverlapPair.objects.filter(project_a_id__in=visible, project_b_id__in=visible)
    if not include_stale:
        queryset = queryset.filter(current=True)
    if grade:
        queryset = queryset.filter(grade=grade)
    if cross_unit is not None:
        queryset = queryset.filter(cross_unit=cross_unit)
    if review_status:
        queryset = queryset.filter(review_status=review_status)
    if unit_id is not None:
        queryset = queryset.filter(
            _unit_filter(unit_id, "project_a__business_unit_id", "project_b__business_unit_id")
        )
    if project_id is not None:
        queryset = queryset.filter(Q(project_a_id=project_id) | Q(project_b_id=project_id))
    return queryset.select_related(
        "project_a", "project_a__business_unit", "project_b", "project_b__business_unit"
    )


def overlap_pair_get(*, user: User, pk: int | str) -> OverlapPair:
    from django.http import Http404

    try:
        return overlap_pair_list(user=user, include_stale=True).get(pk=pk)
    except (OverlapPair.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such overlap pair.") from exc


def overlap_cluster_list(
    *,
    user: User,
    cross_unit: bool | None = None,
    hygiene: bool | None = None,
    unit_id: int | None = None,
) -> QuerySet[OverlapCluster]:
    """Clusters of the latest successful run with at least one visible member; only visible
    members are prefetched."""
    run = last_successful_run()
    if run is None or not user.is_authenticated:
        return OverlapCluster.objects.none()
    visible = project_queryset(user=user)
    queryset = OverlapCluster.objects.filter(
        run=run,
        pk__in=OverlapCluster.members.through.objects.filter(
            project_id__in=visible.values("pk")
        ).values("overlapcluster_id"),
    )
    if cross_unit is not None:
        queryset = queryset.filter(cross_unit=cross_unit)
    if hygiene is not None:
        queryset = queryset.filter(hygiene=hygiene)
    if unit_id is not None:
        queryset = queryset.filter(
            pk__in=OverlapCluster.business_units.through.objects.filter(
                businessunit_id__in=roles.descendant_ids([unit_id])
            ).values("overlapcluster_id")
        )
    return queryset.select_related("lead_project").prefetch_related(
        Prefetch(
            "members",
            queryset=visible.select_related("business_unit").order_by("id"),
            to_attr="visible_members",
        ),
        "business_units",
    )


def metric_snapshot_list(
    *,
    user: User,
    metric: str | None = None,
    scope: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[MetricSnapshot]:
    if not user.is_authenticated:
        return MetricSnapshot.objects.none()
    queryset = MetricSnapshot.objects.all()
    if metric:
        queryset = queryset.filter(metric=metric)
    if scope:
        queryset = queryset.filter(scope=scope)
    if date_from:
        queryset = queryset.filter(date__gte=date_from)
    if date_to:
        queryset = queryset.filter(date__lte=date_to)
    return queryset.order_by("metric", "scope", "date")
