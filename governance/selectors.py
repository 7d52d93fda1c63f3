"""Every governance read. Visibility goes through `portfolio.selectors.project_queryset`: a
project the user may not see does not exist here either (404), nor do its assessments, reviews
or control statuses.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import (
    BooleanField,
    Count,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from governance.models import (
    Control,
    ControlStatus,
    Framework,
    Review,
    ReviewComment,
    ReviewCondition,
    RiskAssessment,
)
from portfolio.models import BusinessUnit, Project
from portfolio.selectors import project_queryset

User = AbstractBaseUser | AnonymousUser

# Days from submission to the due date of a review, by tier. Override some or all of them with
# the Django setting MAESTRO_REVIEW_DUE_DAYS, e.g. {"high": 15}.
DEFAULT_REVIEW_DUE_DAYS: dict[str, int] = {
    Project.RiskTier.PROHIBITED: 10,
    Project.RiskTier.HIGH: 10,
    Project.RiskTier.LIMITED: 20,
    Project.RiskTier.MINIMAL: 30,
}
# Approved high-tier projects are due for re-review this many days after their last decision.
REREVIEW_AFTER_DAYS = 365
REREVIEW_TIERS = (Project.RiskTier.HIGH,)
APPROVED_STATUSES = (
    Project.ReviewStatus.APPROVED,
    Project.ReviewStatus.APPROVED_WITH_CONDITIONS,
)


def review_due_days(tier: str) -> int:
    days = {**DEFAULT_REVIEW_DUE_DAYS, **getattr(settings, "MAESTRO_REVIEW_DUE_DAYS", {})}
    return int(days.get(tier, days[Project.RiskTier.MINIMAL]))


# --- Risk assessments ----------------------------------------------------------------------------


def _latest_assessment(outer: str = "pk") -> QuerySet[RiskAssessment]:
    return RiskAssessment.objects.filter(project_id=OuterRef(outer)).order_by("-created_at", "-id")


def high_impact_expression(outer: str = "pk") -> Coalesce:
    """The newest assessment's high-impact flag of the project `outer` points at (False if none)."""
    return Coalesce(
        Subquery(_latest_assessment(outer).values("high_impact")[:1]),
        Value(False),
        output_field=BooleanField(),
    )


def project_high_impact(*, project: Project) -> bool:
    latest = (
        RiskAssessment.objects.filter(project=project)
        .order_by("-created_at", "-id")
        .values_list("high_impact", flat=True)
        .first()
    )
    return bool(latest)


def risk_assessment_list(*, user: User) -> QuerySet[RiskAssessment]:
    visible = project_queryset(user=user, include_archived=True).values("pk")
    newest = _latest_assessment("project_id").values("pk")[:1]
    return (
        RiskAssessment.objects.filter(project_id__in=visible)
        .select_related("project", "project__business_unit", "assessor")
        .annotate(latest_id=Subquery(newest))
    )


# --- Reviews -------------------------------------------------------------------------------------


def review_list(*, user: User) -> QuerySet[Review]:
    visible = project_queryset(user=user, include_archived=True).values("pk")
    return (
        Review.objects.filter(project_id__in=visible)
        .select_related(
            "project",
            "project__business_unit",
            "submitted_by",
            "reviewer",
            "decided_by",
        )
        .prefetch_related(
            Prefetch("comments", queryset=ReviewComment.objects.select_related("author")),
            Prefetch("conditions", queryset=ReviewCondition.objects.select_related("met_by")),
        )
    )


def review_get(*, user: User, pk: int | str) -> Review:
    try:
        return review_list(user=user).get(pk=pk)
    except (Review.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such review.") from exc


def condition_get(*, review: Review, pk: int | str) -> ReviewCondition:
    try:
        return ReviewCondition.objects.select_related("review__project").get(pk=pk, review=review)
    except (ReviewCondition.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such condition.") from exc


def _with_last_decision(queryset: QuerySet[Project]) -> QuerySet[Project]:
    return queryset.annotate(last_decided_at=Max("reviews__decided_at"))


def rereview_due_list(*, user: User, now: dt.datetime | None = None) -> QuerySet[Project]:
    """Approved high-tier projects whose last decision is more than a year old."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=REREVIEW_AFTER_DAYS)
    return (
        _with_last_decision(
            project_queryset(user=user).filter(
                risk_tier__in=REREVIEW_TIERS, review_status__in=APPROVED_STATUSES
            )
        )
        .filter(last_decided_at__lt=cutoff)  # type: ignore[misc]
        .select_related("business_unit")
    )


def rereview_is_due(*, project: Project, now: dt.datetime | None = None) -> bool:
    if project.risk_tier not in REREVIEW_TIERS or project.review_status not in APPROVED_STATUSES:
        return False
    last = Review.objects.filter(project=project).aggregate(last=Max("decided_at"))["last"]
    cutoff = (now or timezone.now()) - dt.timedelta(days=REREVIEW_AFTER_DAYS)
    return last is not None and last < cutoff


QUEUE_REREVIEW = "rereview_due"


@dataclass(frozen=True)
class QueueEntry:
    """One line of the review queue: an open review, or a project due for its yearly re-review."""

    kind: str  # "review" or "rereview"
    status: str  # submitted, in_review or rereview_due
    project: Project
    review: Review | None
    reviewer: Any
    due_date: dt.date
    overdue: bool
    last_decided_at: dt.datetime | None = None


def review_queue(
    *,
    user: User,
    statuses: Iterable[str] = (),
    tiers: Iterable[str] = (),
    unit_ids: Iterable[int] | None = None,
    overdue: bool | None = None,
    assigned_to: Any = None,
    today: dt.date | None = None,
) -> list[QueueEntry]:
    """Open reviews and due re-reviews of visible projects, soonest due first (two queries)."""
    today = today or timezone.localdate()
    wanted = set(statuses)
    tier_set = set(tiers)
    projects = project_queryset(user=user)
    if tier_set:
        projects = projects.filter(risk_tier__in=tier_set)
    if unit_ids is not None:
        projects = projects.filter(business_unit_id__in=list(unit_ids))

    entries: list[QueueEntry] = []
    review_statuses = [s for s in Review.OPEN if not wanted or s in wanted]
    if review_statuses:
        reviews = Review.objects.filter(
            status__in=review_statuses, project_id__in=projects.values("pk")
        ).select_related("project", "project__business_unit", "reviewer")
        if assigned_to is not None:
            reviews = reviews.filter(reviewer=assigned_to)
        if overdue is True:
            reviews = reviews.filter(due_date__lt=today)
        elif overdue is False:
            reviews = reviews.filter(due_date__gte=today)
        entries += [
            QueueEntry(
                kind="review",
                status=r.status,
                project=r.project,
                review=r,
                reviewer=r.reviewer,
                due_date=r.due_date,
                overdue=r.due_date < today,
            )
            for r in reviews
        ]
    if (not wanted or QUEUE_REREVIEW in wanted) and assigned_to is None:
        due = _with_last_decision(
            projects.filter(risk_tier__in=REREVIEW_TIERS, review_status__in=APPROVED_STATUSES)
        ).select_related("business_unit")
        now = timezone.now()
        cutoff = now - dt.timedelta(days=REREVIEW_AFTER_DAYS)
        for project in due.filter(last_decided_at__lt=cutoff):  # type: ignore[misc]
            last_decided_at: dt.datetime = project.last_decided_at  # type: ignore[attr-defined]
            due_date = timezone.localdate(last_decided_at) + dt.timedelta(days=REREVIEW_AFTER_DAYS)
            late = due_date < today
            if overdue is not None and late != overdue:
                continue
            entries.append(
                QueueEntry(
                    kind="rereview",
                    status=QUEUE_REREVIEW,
                    project=project,
                    review=None,
                    reviewer=None,
                    due_date=due_date,
                    overdue=late,
                    last_decided_at=last_decided_at,
                )
            )
    entries.sort(key=lambda e: (e.due_date, e.project.name.lower(), e.project.pk))
    return entries


# --- Frameworks, controls, statuses --------------------------------------------------------------


def framework_list(*, user: User) -> QuerySet[Framework]:
    if not user.is_authenticated:
        return Framework.objects.none()
    return Framework.objects.annotate(control_count=Count("controls"))


def control_list(*, user: User) -> QuerySet[Control]:
    if not user.is_authenticated:
        return Control.objects.none()
    return Control.objects.select_related("framework")


@dataclass(frozen=True)
class ProjectControl:
    """A control that applies to a project, with the project's status on it (None: not set)."""

    control: Control
    entry: ControlStatus | None

    @property
    def status(self) -> str:
        return self.entry.status if self.entry else ControlStatus.Status.NOT_STARTED


def applicable_controls(*, project: Project, high_impact: bool | None = None) -> list[Control]:
    if not project.risk_tier:
        return []
    if high_impact is None:
        high_impact = project_high_impact(project=project)
    return [
        c
        for c in Control.objects.select_related("framework")
        if c.applies_to(tier=project.risk_tier, high_impact=high_impact)
    ]


def project_controls(*, project: Project, framework: str | None = None) -> list[ProjectControl]:
    """The controls that apply to the project (by tier and high-impact flag) and their status.

    Callers get the project through `portfolio.selectors.project_get`, which checks visibility.
    """
    controls = applicable_controls(project=project)
    if framework:
        controls = [c for c in controls if framework in (c.framework.code, str(c.framework_id))]
    entries = {
        e.control_id: e
        for e in ControlStatus.objects.filter(project=project).select_related("set_by")
    }
    return [ProjectControl(control=c, entry=entries.get(c.pk)) for c in controls]


# --- Compliance ----------------------------------------------------------------------------------

SATISFIED_Q = Q(status=ControlStatus.Status.MET) | (
    Q(status=ControlStatus.Status.NOT_APPLICABLE) & ~Q(justification="")
)


@dataclass
class Compliance:
    """Applicable (project, control) pairs and how many of them are met or justified N/A."""

    applicable: int = 0
    met: int = 0
    not_applicable: int = 0

    @property
    def satisfied(self) -> int:
        return self.met + self.not_applicable

    @property
    def share(self) -> float | None:
        return round(self.satisfied / self.applicable, 4) if self.applicable else None


@dataclass(frozen=True)
class ComplianceRow:
    key: Any
    label: str
    total: Compliance
    frameworks: dict[int, Compliance]


@dataclass(frozen=True)
class _Rule:
    framework_id: int
    tiers: frozenset[str]
    high_impact_only: bool

    def applies(self, tier: str, high_impact: bool) -> bool:
        return tier in self.tiers and (high_impact or not self.high_impact_only)


def _compliance(
    projects: QuerySet[Project], key: str | None, framework_ids: set[int] | None
) -> dict[Any, dict[int, Compliance]]:
    """Compliance per `key` (a Project field, or None for one total) and framework, in three
    queries:

    1. the control catalogue (applicability is a JSON list, so it is matched in Python),
    2. the projects counted per (key, tier, high-impact),
    3. the met and justified-N/A statuses counted per (key, tier, high-impact, control, status).
    """
    rules = {
        pk: _Rule(fw, frozenset(tiers or ()), hi_only)
        for pk, fw, tiers, hi_only in Control.objects.values_list(
            "pk", "framework_id", "applies_to_tiers", "high_impact_only"
        )
        if framework_ids is None or fw in framework_ids
    }
    per_framework: dict[tuple[str, bool], dict[int, int]] = {}

    def controls_for(tier: str, high_impact: bool) -> dict[int, int]:
        if (tier, high_impact) not in per_framework:
            counts: dict[int, int] = defaultdict(int)
            for rule in rules.values():
                if rule.applies(tier, high_impact):
                    counts[rule.framework_id] += 1
            per_framework[(tier, high_impact)] = counts
        return per_framework[(tier, high_impact)]

    result: dict[Any, dict[int, Compliance]] = defaultdict(lambda: defaultdict(Compliance))
    project_keys = [key] if key else []
    groups = (
        projects.exclude(risk_tier="")
        .annotate(hi=high_impact_expression())
        .values(*project_keys, "risk_tier", "hi")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in groups:
        for framework_id, count in controls_for(row["risk_tier"], bool(row["hi"])).items():
            result[row[key] if key else None][framework_id].applicable += row["n"] * count

    status_keys = [f"project__{key}"] if key else []
    statuses = (
        ControlStatus.objects.filter(SATISFIED_Q, project_id__in=projects.values("pk"))
        .exclude(project__risk_tier="")
        .annotate(hi=high_impact_expression("project_id"))
        .values(*status_keys, "project__risk_tier", "hi", "control_id", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in statuses:
        rule = rules.get(row["control_id"])
        if rule is None or not rule.applies(row["project__risk_tier"], bool(row["hi"])):
            continue
        figure = result[row[status_keys[0]] if key else None][rule.framework_id]
        if row["status"] == ControlStatus.Status.MET:
            figure.met += row["n"]
        else:
            figure.not_applicable += row["n"]
    return result


def _total(frameworks: dict[int, Compliance]) -> Compliance:
    total = Compliance()
    for figure in frameworks.values():
        total.applicable += figure.applicable
        total.met += figure.met
        total.not_applicable += figure.not_applicable
    return total


def _rows(data: dict[Any, dict[int, Compliance]], labels: dict[Any, str]) -> list[ComplianceRow]:
    rows = [
        ComplianceRow(key=k, label=labels.get(k, str(k)), total=_total(v), frameworks=dict(v))
        for k, v in data.items()
    ]
    return sorted(rows, key=lambda r: (r.label.lower(), str(r.key)))


def compliance_by_unit(
    *, user: User, projects: QuerySet[Project] | None = None, framework_ids: set[int] | None = None
) -> list[ComplianceRow]:
    """Per business unit (its own projects), overall and per framework: four queries."""
    projects = project_queryset(user=user) if projects is None else projects
    data = _compliance(projects, "business_unit_id", framework_ids)
    labels = {
        pk: f"{name} ({code})"
        for pk, name, code in BusinessUnit.objects.filter(pk__in=list(data)).values_list(
            "pk", "name", "code"
        )
    }
    return _rows(data, labels)


def compliance_by_project(
    *, user: User, projects: QuerySet[Project] | None = None, framework_ids: set[int] | None = None
) -> list[ComplianceRow]:
    projects = project_queryset(user=user) if projects is None else projects
    data = _compliance(projects, "id", framework_ids)
    labels = dict(Project.objects.filter(pk__in=list(data)).values_list("pk", "name"))
    return _rows(data, labels)


def compliance_by_framework(
    *, user: User, projects: QuerySet[Project] | None = None, framework_ids: set[int] | None = None
) -> list[ComplianceRow]:
    """Per framework over all visible projects: the framework is the row."""
    projects = project_queryset(user=user) if projects is None else projects
    data = _compliance(projects, None, framework_ids).get(None, {})
    frameworks = Framework.objects.filter(pk__in=list(data)).values_list("pk", "name", "position")
    return [
        ComplianceRow(key=pk, label=name, total=data[pk], frameworks={})
        for pk, name, _ in sorted(frameworks, key=lambda f: (f[2], f[1]))
    ]
