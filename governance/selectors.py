"""Every governance read. Visibility goes through `portfolio.selectors.project_queryset`: a
project the user may not see does not exist here either (404), nor do its assessments, reviews
or control statuses.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Never, TypedDict, overload

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate
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
from portfolio import roles
from portfolio.models import BusinessUnit, Project
from portfolio.selectors import project_queryset, project_visibility_q

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


def high_impact_project_ids() -> QuerySet[RiskAssessment, int]:
    """Ids of the projects whose newest assessment is high-impact, as one uncorrelated subquery.

    `When(pk__in=high_impact_project_ids(), then=True)` is computed once per query (PostgreSQL
    hashes it), where `high_impact_expression` looks up every project's newest assessment.
    """
    newer = RiskAssessment.objects.filter(project_id=OuterRef("project_id")).filter(
        Q(created_at__gt=OuterRef("created_at"))
        | Q(created_at=OuterRef("created_at"), id__gt=OuterRef("id"))
    )
    return (
        RiskAssessment.objects.filter(high_impact=True)
        .filter(~Exists(newer))
        .values_list("project_id", flat=True)
    )


def _high_impact_case(field: str) -> Case:
    return Case(
        When(**{f"{field}__in": high_impact_project_ids()}, then=Value(True)),
        default=Value(False),
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
    reviews = Review.objects.all()
    if not roles.sees_everything(user):  # those who see everything need no project subquery
        visible = project_queryset(user=user, include_archived=True).values("pk")
        reviews = reviews.filter(project_id__in=visible)
    return reviews.select_related(
        "project",
        "project__business_unit",
        "submitted_by",
        "reviewer",
        "decided_by",
    ).prefetch_related(
        Prefetch("comments", queryset=ReviewComment.objects.select_related("author")),
        Prefetch("conditions", queryset=ReviewCondition.objects.select_related("met_by")),
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


class _Decided(TypedDict):
    last_decided_at: dt.datetime | None


class _LastDecision(TypedDict):
    last_decided_at: dt.datetime
    last_decided_day: dt.date


if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    # A project with the time of its last review decision (`_with_last_decision`).
    DecidedProject = WithAnnotations[Project, _Decided]
    # A project due for re-review, with its last decision (annotated by `review_queue`).
    RereviewProject = WithAnnotations[Project, _LastDecision]


def _with_last_decision(queryset: QuerySet[Project]) -> QuerySet[DecidedProject]:
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
        .filter(last_decided_at__lt=cutoff)
        .select_related("business_unit")
    )


def rereview_is_due(*, project: Project, now: dt.datetime | None = None) -> bool:
    if project.risk_tier not in REREVIEW_TIERS or project.review_status not in APPROVED_STATUSES:
        return False
    last = Review.objects.filter(project=project).aggregate(last=Max("decided_at"))["last"]
    cutoff = (now or timezone.now()) - dt.timedelta(days=REREVIEW_AFTER_DAYS)
    return last is not None and last < cutoff


SUBMITTABLE_STATUSES = (
    Project.ReviewStatus.NOT_SUBMITTED,
    Project.ReviewStatus.CHANGES_REQUESTED,
    Project.ReviewStatus.CHANGES_SINCE_APPROVAL,
)


def submission_blocker(*, project: Project) -> str | None:
    """Why the project cannot be submitted for review now, or None when it can (whoever asks:
    who may submit is `permissions.can_submit`)."""
    status = project.review_status
    label = str(Project.ReviewStatus(status).label).lower() if status else status
    if project.archived_at is not None:
        return "An archived project cannot be submitted for review."
    if status in APPROVED_STATUSES:
        if not rereview_is_due(project=project):
            return (
                f"The project is {label}. It comes back to review when its purpose, "
                "data, tools or tier change, or when its yearly re-review is due."
            )
    elif status not in SUBMITTABLE_STATUSES:
        return (
            f"The project is {label}; only a project that was never submitted, that "
            "has changes requested or that changed since approval can be submitted."
        )
    if not project.risk_tier:
        return "Record a risk assessment before submitting the project for review."
    return None


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


# Open reviews are counted up to this many (the MAESTRO_QUEUE_MAX_COUNT setting overrides it):
# enough for any page a person works through, and counting stays cheap at any size.
QUEUE_MAX_COUNT = 1_000


def queue_max_count() -> int:
    return int(getattr(settings, "MAESTRO_QUEUE_MAX_COUNT", QUEUE_MAX_COUNT))


class ReviewQueue:
    """The review queue, evaluated lazily and a page at a time.

    Open reviews are counted and sliced in SQL, soonest due first and, on the same day, in the
    order they were submitted (review id), which the partial index `review_open_due_idx` serves
    without sorting; projects due for their yearly re-review (approved high-tier projects
    decided over a year ago: ids and dates only) are listed by one query and merged in by due
    date (after the reviews of the same day, then by project id). `len()`, `overdue_count()`
    and a slice cost a constant number of queries whatever the size of the queue, so Django's
    Paginator and DRF's pagination page it without loading it; iterating loads every entry
    (up to the bound).
    Open reviews are counted up to QUEUE_MAX_COUNT (1,000): beyond that `count_is_exact` is
    False and the pages end there (narrow the filters to reach the rest).
    """

    def __init__(
        self,
        *,
        reviews: QuerySet[Review] | None,
        rereviews: QuerySet[RereviewProject] | None,
        overdue: bool | None,
        today: dt.date,
    ) -> None:
        self._reviews = reviews
        self._rereview_projects = rereviews
        self._overdue = overdue
        self._today = today
        self.count_cap = queue_max_count()

    @cached_property
    def _review_counts(self) -> dict[str, int]:
        """Open reviews, and how many are overdue, counted over the first `count_cap` + 1 in
        due-date order (one index-ordered scan): overdue reviews come first, so both figures
        are exact up to the cap."""
        if self._reviews is None:
            return {"total": 0, "overdue": 0}
        first = self._reviews.order_by("due_date", "id")[: self.count_cap + 1]
        return first.aggregate(
            total=Count("pk"), overdue=Count("pk", filter=Q(due_date__lt=self._today))
        )

    @property
    def count_is_exact(self) -> bool:
        """False when more open reviews match than `count_cap` (counting stops there)."""
        return self._review_counts["total"] <= self.count_cap

    @property
    def overdue_is_exact(self) -> bool:
        return self._review_counts["overdue"] <= self.count_cap

    @cached_property
    def _rereviews(self) -> list[tuple[dt.date, int]]:
        """(due date, project id) of every re-review due, soonest first (dates from SQL)."""
        if self._rereview_projects is None:
            return []
        after = dt.timedelta(days=REREVIEW_AFTER_DAYS)
        keys = [
            (day + after, pk)
            for pk, day in self._rereview_projects.values_list("pk", "last_decided_day")
        ]
        if self._overdue is not None:
            keys = [k for k in keys if (k[0] < self._today) == self._overdue]
        return sorted(keys)

    def count(self) -> int:
        return min(self._review_counts["total"], self.count_cap) + len(self._rereviews)

    def __len__(self) -> int:
        return self.count()

    def overdue_count(self) -> int:
        return min(self._review_counts["overdue"], self.count_cap) + sum(
            1 for due, _ in self._rereviews if due < self._today
        )

    def __iter__(self) -> Iterator[QueueEntry]:
        return iter(self[0 : self.count()])

    @overload
    def __getitem__(self, index: int) -> Never: ...  # raises TypeError: a page at a time

    @overload
    def __getitem__(self, index: slice) -> list[QueueEntry]: ...

    def __getitem__(self, index: int | slice) -> list[QueueEntry]:
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise TypeError("The review queue is sliced a page at a time: queue[start:stop].")
        start = max(index.start or 0, 0)
        stop = self.count() if index.stop is None else max(index.stop, start)
        if stop <= start:
            return []
        review_keys: list[tuple[dt.date, int, int]] = []
        if self._reviews is not None:
            review_keys = [
                (due, 0, pk)
                for pk, due in self._reviews.order_by("due_date", "id").values_list(
                    "pk", "due_date"
                )[:stop]
            ]
        rereview_keys = [(due, 1, pk) for due, pk in self._rereviews[:stop]]
        chosen = list(heapq.merge(review_keys, rereview_keys))[start:stop]
        review_ids = [key for _, kind, key in chosen if kind == 0]
        reviews = (
            Review.objects.select_related("project", "project__business_unit", "reviewer").in_bulk(
                review_ids
            )
            if review_ids
            else {}
        )
        rereview_ids = [key for _, kind, key in chosen if kind == 1]
        last = (
            Review.objects.filter(project_id=OuterRef("pk"), decided_at__isnull=False)
            .order_by("-decided_at")
            .values("decided_at")[:1]
        )
        projects = (
            Project.objects.select_related("business_unit")
            .annotate(last_decided_at=Subquery(last))
            .in_bulk(rereview_ids)
            if rereview_ids
            else {}
        )
        entries = []
        for due, kind, key in chosen:
            if kind == 0:
                r = reviews[key]
                entries.append(
                    QueueEntry(
                        kind="review",
                        status=r.status,
                        project=r.project,
                        review=r,
                        reviewer=r.reviewer,
                        due_date=r.due_date,
                        overdue=r.due_date < self._today,
                    )
                )
            else:
                project = projects[key]
                entries.append(
                    QueueEntry(
                        kind="rereview",
                        status=QUEUE_REREVIEW,
                        project=project,
                        review=None,
                        reviewer=None,
                        due_date=due,
                        overdue=due < self._today,
                        last_decided_at=project.last_decided_at,
                    )
                )
        return entries


def review_queue(
    *,
    user: User,
    statuses: Iterable[str] = (),
    tiers: Iterable[str] = (),
    unit_ids: Iterable[int] | None = None,
    overdue: bool | None = None,
    assigned_to: Any = None,
    today: dt.date | None = None,
) -> ReviewQueue:
    """Open reviews and due re-reviews of visible projects, soonest due first.

    Lazy (see `ReviewQueue`): a page costs four to six queries whatever the size of the queue.
    """
    today = today or timezone.localdate()
    wanted = set(statuses)
    tier_set = set(tiers)
    visible = project_visibility_q(user) & Q(archived_at__isnull=True)
    if tier_set:
        visible &= Q(risk_tier__in=sorted(tier_set))
    if unit_ids is not None:
        visible &= Q(business_unit_id__in=sorted(unit_ids))
    projects = Project.objects.filter(visible)

    reviews = None
    review_statuses = [s for s in Review.OPEN if not wanted or s in wanted]
    if review_statuses:
        # Status and visibility in one join (not `project_id IN (…)`), so that PostgreSQL walks
        # the open reviews in due-date order and stops at the end of the page.
        reviews = Review.objects.filter(_on_project(visible), status__in=review_statuses).order_by()
        if assigned_to is not None:
            reviews = reviews.filter(reviewer=assigned_to)
        if overdue is True:
            reviews = reviews.filter(due_date__lt=today)
        elif overdue is False:
            reviews = reviews.filter(due_date__gte=today)
    rereviews = None
    if (not wanted or QUEUE_REREVIEW in wanted) and assigned_to is None:
        cutoff = timezone.now() - dt.timedelta(days=REREVIEW_AFTER_DAYS)
        # The last decision per project (and its local day, in SQL) by an index lookup each
        # (review_project_decided_idx).
        last = Review.objects.filter(project_id=OuterRef("pk"), decided_at__isnull=False).order_by(
            "-decided_at"
        )
        day = last.annotate(day=TruncDate("decided_at")).values("day")[:1]
        rereviews = (
            projects.filter(risk_tier__in=REREVIEW_TIERS, review_status__in=APPROVED_STATUSES)
            .annotate(last_decided_at=Subquery(last.values("decided_at")[:1]))
            .filter(last_decided_at__lt=cutoff)
            .annotate(last_decided_day=Subquery(day))
            .order_by()
        )
    return ReviewQueue(reviews=reviews, rereviews=rereviews, overdue=overdue, today=today)


def _on_project(condition: Q) -> Q:
    """A condition on Project fields, as a condition on a model's `project` relation."""
    clone = Q()
    clone.connector, clone.negated = condition.connector, condition.negated
    for child in condition.children:
        if isinstance(child, Q):
            clone.children.append(_on_project(child))
        elif isinstance(child, tuple):
            lookup, value = child
            clone.children.append((f"project__{lookup}", value))
        else:
            raise TypeError(f"Not a lookup on Project fields: {child!r}")
    return clone


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
    # Rolled-up unit rows only: the unit's own projects, its place in the tree, its parent
    own: Compliance | None = None
    depth: int = 0
    parent: Any = None
    has_sub_units: bool = False


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
        .annotate(hi=_high_impact_case("pk"))
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
        .annotate(hi=_high_impact_case("project_id"))
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
        _add(total, figure)
    return total


def _rows(data: dict[Any, dict[int, Compliance]], labels: dict[Any, str]) -> list[ComplianceRow]:
    rows = [
        ComplianceRow(key=k, label=labels.get(k, str(k)), total=_total(v), frameworks=dict(v))
        for k, v in data.items()
    ]
    return sorted(rows, key=lambda r: (r.label.lower(), str(r.key)))


def _add(into: Compliance, figure: Compliance) -> None:
    into.applicable += figure.applicable
    into.met += figure.met
    into.not_applicable += figure.not_applicable


def compliance_by_unit(
    *,
    user: User,
    projects: QuerySet[Project] | None = None,
    framework_ids: set[int] | None = None,
    rollup: bool = False,
) -> list[ComplianceRow]:
    """Per business unit, overall and per framework, in four queries.

    By default a unit's row counts its own projects, sorted by name. With `rollup`, a unit's
    row also counts the projects of every unit below it (an agency includes its bureaus), `own`
    keeps its own figures, and the rows come in tree order (each unit followed by its sub-units,
    by name, with `depth` and `parent`); a unit appears when it or a unit below it has assessed
    projects among `projects`. The roll-up is added up in Python from the per-unit figures.
    """
    projects = project_queryset(user=user) if projects is None else projects
    data = _compliance(projects, "business_unit_id", framework_ids)
    if not rollup:
        labels = {
            pk: f"{name} ({code})"
            for pk, name, code in BusinessUnit.objects.filter(pk__in=list(data)).values_list(
                "pk", "name", "code"
            )
        }
        return _rows(data, labels)

    units = {
        pk: (parent, f"{name} ({code})")
        for pk, parent, name, code in BusinessUnit.objects.values_list(
            "pk", "parent_id", "name", "code"
        )
    }
    rolled: dict[int, dict[int, Compliance]] = defaultdict(lambda: defaultdict(Compliance))
    for unit_id, frameworks in data.items():
        seen: set[int] = set()
        current: int | None = unit_id
        while current is not None and current in units and current not in seen:
            seen.add(current)  # a cycle in bad data must not loop forever
            for framework_id, figure in frameworks.items():
                _add(rolled[current][framework_id], figure)
            current = units[current][0]
    children: dict[int | None, list[int]] = defaultdict(list)
    for pk in rolled:
        parent = units[pk][0]
        children[parent if parent in rolled else None].append(pk)
    for kids in children.values():
        kids.sort(key=lambda pk: (units[pk][1].lower(), pk))

    rows: list[ComplianceRow] = []

    def visit(pk: int, depth: int) -> None:
        rows.append(
            ComplianceRow(
                key=pk,
                label=units[pk][1],
                total=_total(rolled[pk]),
                frameworks=dict(rolled[pk]),
                own=_total(data.get(pk, {})),
                depth=depth,
                parent=units[pk][0],
                has_sub_units=bool(children.get(pk)),
            )
        )
        for child in children.get(pk, []):
            visit(child, depth + 1)

    for root in children[None]:
        visit(root, 0)
    return rows


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
