"""Governance pages: review desk, project governance, dashboards, overlaps, tools.

Thin views: parse input, call one selector or service, render. Services decide who may do what;
a refused or illegal step becomes a message on the page, never a 500. Dashboards read stored
metric results or aggregate in SQL (GROUP BY), so they cost the same with 20 or 100,000 projects.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from governance import (
    charts,
    dashboard_selectors,
    permissions,
    selectors,
    services,
    shadow,
)
from governance.forms import (
    AssignForm,
    CommentForm,
    ConditionMetForm,
    ControlStatusForm,
    DecideForm,
    ReviewQueueFilterForm,
    RiskAssessmentForm,
    SubmitForm,
)
from governance.models import (
    CLUSTER_ORDERING,
    Control,
    ControlStatus,
    Framework,
    MetricRun,
    MetricSnapshot,
    OverlapCluster,
    OverlapPair,
    Review,
    RiskAssessment,
)
from portfolio import roles
from portfolio.models import (
    BusinessUnit,
    GoalAlignment,
    Project,
    StrategicGoal,
    Tool,
    ToolAdoption,
)
from portfolio.selectors import PortfolioCounts, portfolio_counts, project_get, project_queryset

TIER_CHOICES: tuple[tuple[str, str], ...] = (*Project.RiskTier.choices, ("", "Not assessed"))
TOP_CLUSTERS = 10
RISK_ROWS_WITHOUT_MONEY = 15
CLUSTER_FIELDS = (
    "label",
    "size",
    "unit_count",
    "combined_cost",
    "costs_known",
    "consolidation_estimate",
)
SUNBURST_PROJECTS = 150
QUEUE_PAGE_SIZE = 50


# --- Access --------------------------------------------------------------------------------------


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def _require_reviewer(request: HttpRequest) -> None:
    _require(roles.is_reviewer(request.user), "Only reviewers and admins use the review desk.")


def _require_sees_everything(request: HttpRequest) -> None:
    _require(
        roles.sees_everything(request.user),
        "Only reviewers, executives and admins see the portfolio dashboards.",
    )


def _run_service(request: HttpRequest, call: Callable[[], Any], success: str) -> bool:
    """Call a service; refusals and illegal transitions become error messages."""
    try:
        call()
    except services.TransitionError as exc:
        messages.error(request, str(exc))
    except PermissionDenied as exc:
        messages.error(request, str(exc) or "You may not do that.")
    except ValidationError as exc:
        texts = (
            [f"{m}" for msgs in exc.message_dict.values() for m in msgs]
            if hasattr(exc, "error_dict")
            else exc.messages
        )
        messages.error(request, " ".join(texts))
    else:
        messages.success(request, success)
        return True
    return False


def _form_errors(request: HttpRequest, form: Any) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else str(error))


# --- Review desk ---------------------------------------------------------------------------------


@login_required
@require_GET
def review_list(request: HttpRequest) -> HttpResponse:
    """The review queue: open reviews and due re-reviews, soonest due first."""
    _require_reviewer(request)
    form = ReviewQueueFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {
            "statuses": data["status"],
            "tiers": data["tier"],
            # a unit and the units below it, as the API's `unit` filter does
            "unit_ids": roles.descendant_ids([data["unit"].pk]) if data["unit"] else None,
            "assigned_to": request.user if data["mine"] else None,
            "overdue": True if data["overdue"] else None,
        }
    queue = selectors.review_queue(user=request.user, **filters)
    # The queue is lazy: the paginator counts it and loads one page (see ReviewQueue).
    page = Paginator(queue, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "entries": page.object_list,
        "page": page,
        "total": page.paginator.count,
        "overdue_count": queue.overdue_count(),
        "count_is_exact": queue.count_is_exact,
        "overdue_is_exact": queue.overdue_is_exact,
        "count_cap": queue.count_cap,
        "filtered": bool(set(request.GET) - {"page"}),
    }
    return render(request, "governance/review_list.html", context)


REVIEW_ACTIONS = {"start", "assign", "comment", "decide", "condition_met"}


def _review_post(request: HttpRequest, review: Review) -> None:
    action = request.POST.get("action", "")
    user = request.user
    if action == "start":
        _run_service(
            request,
            lambda: services.review_start(actor=user, review=review),
            "Review started; it is assigned to you.",
        )
    elif action == "assign":
        form = AssignForm(request.POST)
        if form.is_valid():
            reviewer = form.cleaned_data["reviewer"]
            _run_service(
                request,
                lambda: services.review_assign(actor=user, review=review, reviewer=reviewer),
                f"Review assigned to {reviewer.get_username()}.",
            )
        else:
            _form_errors(request, form)
    elif action == "comment":
        comment_form = CommentForm(request.POST)
        if comment_form.is_valid():
            _run_service(
                request,
                lambda: services.review_comment_add(
                    actor=user, review=review, text=comment_form.cleaned_data["text"]
                ),
                "Comment added.",
            )
        else:
            _form_errors(request, comment_form)
    elif action == "decide":
        decide = DecideForm(request.POST)
        if decide.is_valid():
            decision = decide.cleaned_data["decision"]
            _run_service(
                request,
                lambda: services.review_decide(
                    actor=user,
                    review=review,
                    decision=decision,
                    note=decide.cleaned_data["note"],
                    conditions=decide.conditions(),
                ),
                f"Decision recorded: {Review.Status(decision).label}.",
            )
        else:
            _form_errors(request, decide)
    elif action == "condition_met":
        condition = selectors.condition_get(review=review, pk=request.POST.get("condition", ""))
        met = ConditionMetForm(request.POST)
        note = met.cleaned_data["note"] if met.is_valid() else ""
        _run_service(
            request,
            lambda: services.condition_mark_met(actor=user, condition=condition, note=note),
            "Condition marked met.",
        )
    else:
        messages.error(request, "Unknown action.")


@login_required
@require_http_methods(["GET", "POST"])
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_reviewer(request)
    review = selectors.review_get(user=request.user, pk=pk)
    if request.method == "POST":
        _review_post(request, review)
        return redirect("governance:review-detail", pk=review.pk)
    project = review.project
    user = request.user
    may_act = permissions.can_review(user, project) and permissions.is_assigned_or_admin(
        user, review
    )
    latest = RiskAssessment.objects.filter(project=project).order_by("-created_at", "-id").first()
    context = {
        "review": review,
        "project": project,
        "assessment": latest,
        "conflict": permissions.has_conflict(user, project),
        "can_start": may_act and review.status == Review.Status.SUBMITTED,
        "can_assign": permissions.can_review(user, project) and review.is_open,
        "can_decide": may_act and review.status == Review.Status.IN_REVIEW,
        "can_verify": permissions.can_review(user, project),
        "assign_form": AssignForm(initial={"reviewer": review.reviewer_id}),
        "decide_form": DecideForm(),
        "comment_form": CommentForm(),
        "overdue": review.is_open and review.due_date < timezone.localdate(),
        "earlier": Review.objects.filter(project=project)
        .exclude(pk=review.pk)
        .select_related("decided_by")
        .order_by("-cycle"),
    }
    return render(request, "governance/review_detail.html", context)


# --- Project governance --------------------------------------------------------------------------


def _project_post(request: HttpRequest, project: Project) -> None:
    action = request.POST.get("action", "")
    user = request.user
    if action == "assess":
        form = RiskAssessmentForm(request.POST)
        if form.is_valid():
            _run_service(
                request,
                lambda: services.risk_assessment_record(
                    actor=user, project=project, answers=form.answers()
                ),
                "Risk assessment recorded; the project's tier is updated.",
            )
        else:
            _form_errors(request, form)
    elif action == "submit":
        submit_form = SubmitForm(request.POST)
        note = submit_form.cleaned_data["note"] if submit_form.is_valid() else ""
        _run_service(
            request,
            lambda: services.review_submit(actor=user, project=project, note=note),
            "Submitted for review.",
        )
    elif action == "comment":
        review = selectors.review_get(user=user, pk=request.POST.get("review", ""))
        if review.project_id != project.pk:
            raise Http404("No such review.")
        comment = CommentForm(request.POST)
        if comment.is_valid():
            _run_service(
                request,
                lambda: services.review_comment_add(
                    actor=user, review=review, text=comment.cleaned_data["text"]
                ),
                "Comment added.",
            )
        else:
            _form_errors(request, comment)
    else:
        messages.error(request, "Unknown action.")


def _project_overlaps(project: Project) -> list[dict[str, Any]]:
    pairs = (
        OverlapPair.objects.filter(Q(project_a=project) | Q(project_b=project), current=True)
        .exclude(review_status=OverlapPair.ReviewStatus.DISMISSED)
        .select_related("project_a__business_unit", "project_b__business_unit")
        .order_by("-score")[:20]
    )
    return [
        {"pair": p, "other": p.project_b if p.project_a_id == project.pk else p.project_a}
        for p in pairs
    ]


@login_required
@require_http_methods(["GET", "POST"])
def project_governance(request: HttpRequest, pk: int) -> HttpResponse:
    """Risk tier and rationale, questionnaire, reviews, conditions, controls, overlaps."""
    project = project_get(user=request.user, pk=pk)
    if request.method == "POST":
        _project_post(request, project)
        return redirect("governance:project", pk=project.pk)
    user = request.user
    latest = (
        RiskAssessment.objects.filter(project=project)
        .select_related("assessor")
        .order_by("-created_at", "-id")
        .first()
    )
    reviews = list(selectors.review_list(user=user).filter(project=project).order_by("-cycle"))
    controls = selectors.project_controls(project=project)
    can_edit = permissions.can_set_control_status(user, project)
    initial = {}
    if latest:
        initial = dict(latest.answers)
    satisfied = (ControlStatus.Status.MET, ControlStatus.Status.NOT_APPLICABLE)
    groups: dict[int, dict[str, Any]] = {}
    for pc in controls:
        group = groups.setdefault(
            pc.control.framework_id,
            {"framework": pc.control.framework, "controls": [], "met": 0},
        )
        group["controls"].append(pc)
        group["met"] += pc.status in satisfied
    context = {
        "project": project,
        "assessment": latest,
        "reviews": reviews,
        "control_groups": list(groups.values()),
        "open_review": next((r for r in reviews if r.is_open), None),
        "controls": controls,
        "controls_met": sum(
            1 for c in controls if c.status in (ControlStatus.Status.MET, "not_applicable")
        ),
        "overlaps": _project_overlaps(project),
        "can_assess": permissions.can_record_assessment(user, project),
        "can_submit": permissions.can_submit(user, project) and not project.archived_at,
        "submission_blocker": selectors.submission_blocker(project=project),
        "can_comment": permissions.can_comment(user, project),
        "can_set_controls": can_edit,
        "is_reviewer": roles.is_reviewer(user),
        "risk_form": RiskAssessmentForm(initial=initial),
        "submit_form": SubmitForm(),
        "comment_form": CommentForm(),
    }
    return render(request, "governance/project_governance.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def control_status_edit(request: HttpRequest, pk: int, control_pk: int) -> HttpResponse:
    project = project_get(user=request.user, pk=pk)
    _require(
        permissions.can_set_control_status(request.user, project),
        "You may set control statuses only of projects you can edit.",
    )
    control = get_object_or_404(Control.objects.select_related("framework"), pk=control_pk)
    entry = ControlStatus.objects.filter(project=project, control=control).first()
    if request.method == "POST":
        form = ControlStatusForm(request.POST)
        if form.is_valid():
            ok = _run_service(
                request,
                lambda: services.control_status_set(
                    actor=request.user, project=project, control=control, **form.cleaned_data
                ),
                f"Status of {control.identifier} saved.",
            )
            if ok:
                return redirect(reverse("governance:project", args=[project.pk]) + "#controls")
    else:
        initial = (
            {
                "status": entry.status,
                "evidence_url": entry.evidence_url,
                "note": entry.note,
                "justification": entry.justification,
            }
            if entry
            else {}
        )
        form = ControlStatusForm(initial=initial)
    context = {"project": project, "control": control, "entry": entry, "form": form}
    return render(request, "governance/control_status_form.html", context)


# --- Portfolio overview --------------------------------------------------------------------------


def _last_runs() -> dict[str, Any]:
    runs = list(MetricRun.objects.order_by("-started_at", "-id")[:5])
    succeeded = next((r for r in runs if r.status == MetricRun.Status.SUCCEEDED), None)
    return {"runs": runs, "last": runs[0] if runs else None, "last_ok": succeeded}


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """Portfolio overview for IT: counts, governance coverage, the last metrics run."""
    _require_sees_everything(request)
    overview = dashboard_selectors.it_overview(user=request.user, today=timezone.localdate())
    counts = overview.counts
    # Per top-level unit: hundreds of bureaus would leave most projects in one "Other" bar.
    unit_items = dashboard_selectors.projects_per_top_unit(counts=counts)
    context = {
        "coverage": overview.coverage,
        "by_stage": counts.choices("by_stage", Project.Stage.choices),
        "by_tier": counts.choices("by_tier", TIER_CHOICES),
        "units": charts.cap_items(unit_items, 25),
        "unit_count": len(counts.units),
        "unit_chart": charts.bar(
            unit_items,
            title="Projects by top-level business unit",
            x_title="Projects",
            y_title="Business unit",
            hover="%{y}: %{x} projects<extra></extra>",
        ),
        "median_days": MetricSnapshot.objects.filter(
            scope=TREND_SCOPE, metric="coverage.median_days_to_decision"
        )
        .order_by("-date")
        .first(),
        "is_reviewer": roles.is_reviewer(request.user),
        "metrics_api": "/api/v1/metric-runs/",
        "load_plotly": True,
        **_last_runs(),
    }
    return render(request, "governance/dashboard.html", context)


# --- Compliance ----------------------------------------------------------------------------------


@login_required
@require_GET
def compliance(request: HttpRequest) -> HttpResponse:
    """Compliance per unit and framework: each unit's own projects (default), or with its
    sub-units (`?units=with_sub_units`: an agency row includes its bureaus, in tree order)."""
    _require_sees_everything(request)
    rollup = request.GET.get("units") == "with_sub_units"
    rows = dashboard_selectors.cached_for_everyone(
        f"compliance-by-unit-{rollup}",
        request.user,
        lambda: selectors.compliance_by_unit(user=request.user, rollup=rollup),
    )
    frameworks = list(Framework.objects.order_by("position", "name").values_list("pk", "name"))
    table: list[dict[str, Any]] = [
        {
            "label": r.label,
            "depth": range(r.depth),
            "total": r.total,
            "own": r.own if r.has_sub_units else None,
            "cells": [r.frameworks.get(pk) for pk, _ in frameworks],
        }
        for r in rows
    ]
    ranked = sorted(table, key=lambda r: -(r["total"].applicable))[: charts.MAX_HEATMAP]
    figure = charts.compliance_heatmap(
        [r["label"] for r in ranked],
        [name for _, name in frameworks],
        [[c.share if c else None for c in r["cells"]] for r in ranked],
    )
    context = {
        "frameworks": frameworks,
        "rows": table,
        "figure": figure,
        "shown_in_chart": len(ranked),
        "load_plotly": True,
        "rollup": rollup,
    }
    return render(request, "governance/compliance.html", context)


# --- Executive -----------------------------------------------------------------------------------


def _alignment(projects: Any) -> dict[str, Any]:
    confirmed = GoalAlignment.objects.filter(
        status=GoalAlignment.Status.CONFIRMED, project_id__in=projects.values("pk")
    )
    # Spend and projects per goal, unit and stage in one GROUP BY: the sunburst sums the stages,
    # the stage chart the units.
    rows = (
        confirmed.order_by()
        .values_list("goal__title", "project__business_unit__name", "project__stage")
        .annotate(spend=Sum("project__annual_cost"), n=Count("project_id"))
    )
    unit_spend: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    per_goal: dict[str, dict[str, Any]] = defaultdict(lambda: {"spend": Decimal(0), "n": 0})
    per_stage: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for title, unit_name, stage, spend, n in rows:
        unit_spend[(title, unit_name)] += spend or 0
        per_goal[title]["spend"] += spend or 0
        per_goal[title]["n"] += n
        per_stage[title][stage] += n
    has_spend = any(v["spend"] for v in per_goal.values())
    top = (
        list(
            confirmed.filter(project__annual_cost__gt=0)
            .order_by("-project__annual_cost")
            .values_list(
                "goal__title",
                "project__business_unit__name",
                "project__name",
                "project__annual_cost",
            )[:SUNBURST_PROJECTS]
        )
        if has_spend
        else []
    )
    stages = [s for s, _ in Project.Stage.choices]
    goals = sorted(
        ({"title": g, **v} for g, v in per_goal.items()),
        key=lambda g: (-g["spend"], -g["n"], g["title"]),
    )
    titles = [g["title"] for g in goals][: charts.MAX_BARS]
    goals_without = list(
        StrategicGoal.objects.filter(active=True)
        .exclude(alignments__in=confirmed)
        .order_by("title")
        .values_list("title", flat=True)[:50]
    )

    # Projects with no confirmed goal, and those with a suggestion of the metrics run that no
    # lead has confirmed or rejected yet, counted in one query.
    def alignment_exists(status: str) -> Exists:
        return Exists(GoalAlignment.objects.filter(project=OuterRef("pk"), status=status))

    counts = projects.aggregate(
        total=Count("pk"),
        unaligned=Count("pk", filter=~Q(alignment_exists(GoalAlignment.Status.CONFIRMED))),
        awaiting=Count("pk", filter=Q(alignment_exists(GoalAlignment.Status.SUGGESTED))),
    )
    total, unaligned, awaiting = counts["total"], counts["unaligned"], counts["awaiting"]
    return {
        "sunburst": charts.alignment_sunburst(
            [(goal, unit, spend) for (goal, unit), spend in unit_spend.items()], top
        ),
        "goal_bar": charts.bar(
            [(g, v["spend"]) for g, v in per_goal.items()],
            title="Annual spend per strategic goal",
            x_title="Annual spend",
            y_title="Strategic goal",
        ),
        "stage_bar": charts.stacked_bar(
            titles,
            {s: [per_stage[t].get(s, 0) for t in titles] for s in stages},
            title="Projects per strategic goal, by stage",
            x_title="Projects confirmed as serving the goal",
            y_title="Strategic goal",
            colours=charts.STAGE_COLOURS,
            horizontal=True,
        )
        if titles
        else None,
        "goals": [
            {**g, "stages": [per_stage[g["title"]].get(s, 0) for s in stages]} for g in goals
        ],
        "stages": Project.Stage.choices,
        "goals_without": goals_without,
        # Share of the projects (those the user sees) serving at least one confirmed goal.
        "share_aligned": round(100 * (total - unaligned) / total, 1) if total else None,
        "unaligned": unaligned,
        "awaiting": awaiting,
        "has_spend": has_spend,
    }


def _risk_value(counts: PortfolioCounts) -> dict[str, Any]:
    """Cost, benefit and high-risk projects per unit, from the cached portfolio counts."""
    rows: list[dict[str, Any]] = [
        {"unit": u.name, "cost": u.cost, "benefit": u.benefit, "projects": u.n, "high": u.high}
        for u in counts.units
    ]
    # Without any cost or benefit every bubble sits at (0, 0): a short table says more, the
    # units with the most high-risk projects first.
    has_money = any(r["cost"] or r["benefit"] for r in rows)
    if has_money:
        rows.sort(key=lambda r: (-float(r["cost"]), -r["projects"]))
    else:
        rows.sort(key=lambda r: (-r["high"], -r["projects"], r["unit"]))
    return {
        "bubble": charts.risk_value_bubbles(rows) if has_money else None,
        "rows": rows[: 60 if has_money else RISK_ROWS_WITHOUT_MONEY],
        "unit_total": len(rows),
        "has_money": has_money,
    }


TREND_SCOPE = "portfolio"
TREND_DAYS = 365
# Stored portfolio metrics drawn as trends: (metric, label). Shares in [0, 1], then counts.
TREND_SHARES = (
    ("coverage.share_with_current_assessment", "Projects with a current risk assessment"),
    ("coverage.share_high_tier_controls_met", "High-tier projects with all controls met"),
    ("alignment.share_projects_aligned", "Projects aligned to a goal"),
    ("alignment.share_spend_aligned", "Spend aligned to a goal"),
    ("fragmentation.share_in_multi_unit_clusters", "Projects in multi-unit clusters"),
)
TREND_COUNTS = (
    ("projects", "Projects"),
    ("coverage.overdue_reviews", "Overdue reviews"),
    ("overlap.cross_unit_pairs", "Overlapping pairs across units"),
    ("clusters.count", "Overlap clusters"),
    ("coverage.unsanctioned_tool_projects", "Projects using unsanctioned tools"),
    ("coverage.projects_without_owner", "Projects without an owner"),
)


def _trends() -> dict[str, Any]:
    """Stored daily snapshots of the portfolio (one query, at most a year per metric)."""
    labels = dict(TREND_SHARES + TREND_COUNTS)
    since = timezone.localdate() - dt.timedelta(days=TREND_DAYS)
    snapshots = (
        MetricSnapshot.objects.filter(scope=TREND_SCOPE, metric__in=labels, date__gte=since)
        .order_by("date")
        .values_list("metric", "date", "value")
    )
    found: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for metric, date, value in snapshots:
        found[metric].append((date.isoformat(), value))
    shares = {labels[m]: found[m] for m, _ in TREND_SHARES if found.get(m)}
    counts = {labels[m]: found[m] for m, _ in TREND_COUNTS if found.get(m)}
    return {
        "shares": shares,
        "counts": counts,
        "shares_chart": charts.trend_lines(
            shares, title="Governance shares over time", y_title="Share (%)", percent=True
        )
        if shares
        else None,
        "counts_chart": charts.trend_lines(
            counts, title="Portfolio counts over time", y_title="Count"
        )
        if counts
        else None,
    }


def _latest_run() -> MetricRun | None:
    return dashboard_selectors.latest_cluster_run()


@login_required
@require_GET
def executive(request: HttpRequest) -> HttpResponse:
    _require_sees_everything(request)
    projects = project_queryset(user=request.user)
    run = _latest_run()
    clusters = (
        list(
            OverlapCluster.objects.filter(run=run)
            .select_related("lead_project")
            .only(*CLUSTER_FIELDS, "lead_project__id", "lead_project__name")
            .order_by(*CLUSTER_ORDERING)[:TOP_CLUSTERS]
        )
        if run
        else []
    )
    context = {
        "alignment": dashboard_selectors.cached_for_everyone(
            "executive-alignment", request.user, lambda: _alignment(projects)
        ),
        "risk_value": _risk_value(portfolio_counts(user=request.user)),
        "trends": _trends(),
        "run": run,
        "clusters": clusters,
        "consolidation_chart": charts.bar(
            [(c.label, c.consolidation_estimate) for c in clusters],
            title="Top consolidation opportunities",
            x_title="Estimated annual saving",
            y_title="Cluster",
            colour=charts.OKABE_ITO["green"],
        )
        if any(c.consolidation_estimate for c in clusters)
        else None,
        "load_plotly": True,
    }
    return render(request, "governance/executive.html", context)


# --- Overlaps ------------------------------------------------------------------------------------


def _overlap_review_service() -> Callable[..., Any] | None:
    try:
        from governance import metrics_services
    except ImportError:
        return None
    return getattr(metrics_services, "overlap_pair_review", None)


def _overlap_filters(request: HttpRequest) -> tuple[str, BusinessUnit | None, list[str]]:
    """The explorer's filters: `kind` (cross_unit, hygiene) and `unit` (a unit's code)."""
    errors = []
    kind = request.GET.get("kind", "")
    if kind not in dict(dashboard_selectors.ClusterKind.CHOICES):
        errors.append(f"Unknown kind of cluster “{kind}”; all clusters are shown.")
        kind = ""
    code = request.GET.get("unit", "").strip()
    unit = BusinessUnit.objects.filter(code__iexact=code).first() if code else None
    if code and unit is None:
        errors.append(f"No business unit has the code “{code}”; every unit is shown.")
    return kind, unit, errors


@login_required
@require_GET
def overlap_list(request: HttpRequest) -> HttpResponse:
    """The latest run's clusters, one page at a time, each with its members and strongest pairs."""
    _require_sees_everything(request)
    kind, unit, filter_errors = _overlap_filters(request)
    explorer = dashboard_selectors.overlap_explorer(
        user=request.user, page_number=request.GET.get("page"), kind=kind, unit=unit
    )
    counts = explorer.fragmentation
    rows = sorted({r for r, _ in counts})
    cols = [e.cluster.label for e in explorer.clusters]
    cols = list(dict.fromkeys(cols))
    context = {
        "run": explorer.run,
        "entries": explorer.clusters,
        "page": explorer.page,
        "total_clusters": explorer.total_clusters,
        "kind": kind,
        "kinds": dashboard_selectors.ClusterKind.CHOICES,
        "unit_code": unit.code if unit else request.GET.get("unit", "").strip(),
        "filter_errors": filter_errors,
        "filtered": bool(kind or unit),
        "query": _overlap_query(request.GET),
        # A project's page is `<registry>/<pk>/`; one reverse instead of one per link.
        "projects_url": reverse("portfolio:project-list"),
        "can_review_pairs": roles.is_reviewer(request.user)
        and _overlap_review_service() is not None,
        "fragmentation": charts.count_heatmap(
            rows,
            cols,
            {k: float(v) for k, v in counts.items()},
            title="Fragmentation: projects per business unit in each cluster of this page",
            x_title="Cluster (capability)",
            y_title="Business unit",
        )
        if counts
        else None,
        "fragmentation_rows": [
            {"unit": r, "cells": [counts.get((r, c), 0) for c in cols]} for r in rows[:30]
        ],
        "fragmentation_cols": cols[:30],
        "load_plotly": bool(counts),
    }
    return render(request, "governance/overlap_list.html", context)


def _overlap_query(params: QueryDict) -> str:
    """The explorer's filters and page as a query string, to come back to after a review."""
    kept = {k: params.getlist(k) for k in ("kind", "unit", "page") if params.get(k)}
    query = QueryDict(mutable=True)
    for key, values in kept.items():
        query.setlist(key, values)
    return query.urlencode()


def _pair_review_kwargs(
    service: Callable[..., Any], request: HttpRequest, pair: OverlapPair, decision: str
) -> dict[str, Any]:
    """Keyword arguments for the metrics engineer's service, whatever it names them."""
    import inspect

    accepted = set(inspect.signature(service).parameters)
    offered = {
        "actor": request.user,
        "pair": pair,
        "status": decision,
        "review_status": decision,
        "decision": decision,
        "note": request.POST.get("note", ""),
    }
    return {k: v for k, v in offered.items() if k in accepted}


@login_required
@require_POST
def overlap_pair_review(request: HttpRequest, pk: int) -> HttpResponse:
    _require_reviewer(request)
    service = _overlap_review_service()
    if service is None:
        raise Http404("Reviewing overlaps is not available yet.")
    pair = get_object_or_404(OverlapPair, pk=pk)
    project_get(user=request.user, pk=pair.project_a_id)
    project_get(user=request.user, pk=pair.project_b_id)
    decision = request.POST.get("decision", "")
    if decision not in (OverlapPair.ReviewStatus.CONFIRMED, OverlapPair.ReviewStatus.DISMISSED):
        messages.error(request, "Choose confirm or dismiss.")
    else:
        _run_service(
            request,
            lambda: service(**_pair_review_kwargs(service, request, pair, decision)),
            f"Overlap {OverlapPair.ReviewStatus(decision).label.lower()}.",
        )
    back = _overlap_query(QueryDict(request.POST.get("back", "")))
    return redirect(reverse("governance:overlap-list") + (f"?{back}" if back else ""))


COMPARED_FIELDS = (
    ("Business unit", "business_unit"),
    ("Stage", "get_stage_display"),
    ("Risk tier", "get_risk_tier_display"),
    ("Review status", "get_review_status_display"),
    ("Problem", "problem"),
    ("Benefits", "benefits"),
    ("Outputs", "outputs"),
    ("Annual cost", "annual_cost"),
    ("Owner", "owner"),
)


@login_required
@require_GET
def overlap_compare(request: HttpRequest, a: int, b: int) -> HttpResponse:
    _require_sees_everything(request)
    first = project_get(user=request.user, pk=a)
    second = project_get(user=request.user, pk=b)

    def value(project: Project, attr: str) -> Any:
        v = getattr(project, attr)
        return v() if callable(v) else v

    rows = [
        {"label": label, "a": value(first, attr), "b": value(second, attr)}
        for label, attr in COMPARED_FIELDS
    ]
    tools_a = {t.name for t in first.tools.all()}
    tools_b = {t.name for t in second.tools.all()}
    caps_a = {c.name for c in first.capabilities.all()}
    caps_b = {c.name for c in second.capabilities.all()}
    low, high = sorted((first.pk, second.pk))
    pair = OverlapPair.objects.filter(project_a_id=low, project_b_id=high).first()
    context = {
        "a": first,
        "b": second,
        "rows": rows,
        "tools": {
            "shared": sorted(tools_a & tools_b),
            "a": sorted(tools_a - tools_b),
            "b": sorted(tools_b - tools_a),
        },
        "capabilities": {
            "shared": sorted(caps_a & caps_b),
            "a": sorted(caps_a - caps_b),
            "b": sorted(caps_b - caps_a),
        },
        "pair": pair,
    }
    return render(request, "governance/overlap_compare.html", context)


# --- Tools ---------------------------------------------------------------------------------------


@login_required
@require_GET
def tools(request: HttpRequest) -> HttpResponse:
    """Sanction status, adoption by unit, use without a registered project (aggregate queries)."""
    _require_sees_everything(request)
    tool_rows = dashboard_selectors.tool_catalogue(user=request.user)
    by_status = dict(Tool.objects.order_by().values_list("sanction_status").annotate(n=Count("id")))
    adoption = list(
        ToolAdoption.objects.order_by()
        .values("business_unit__name", "tool__sanction_status")
        .annotate(n=Count("id"))
    )
    per_unit: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in adoption:
        per_unit[row["business_unit__name"]][row["tool__sanction_status"]] += row["n"]
    units = sorted(per_unit, key=lambda u: -sum(per_unit[u].values()))[: charts.MAX_BARS]
    statuses = [s for s, _ in Tool.SanctionStatus.choices]
    # Tools units adopted with no current project of the unit (or below) using them: the shadow
    # AI selector's definition, grouped by tool.
    unregistered = dashboard_selectors.cached_for_everyone(
        "tools-unregistered", request.user, lambda: shadow.unregistered_by_tool(user=request.user)
    )
    context = {
        "tools": tool_rows,
        "by_status": [
            {"value": v, "label": label, "n": by_status.get(v, 0)}
            for v, label in Tool.SanctionStatus.choices
        ],
        "adoption_units": [
            {"unit": u, "cells": [per_unit[u].get(s, 0) for s in statuses]} for u in units
        ],
        "statuses": Tool.SanctionStatus.choices,
        "adoption_chart": charts.stacked_bar(
            units,
            {s: [per_unit[u].get(s, 0) for u in units] for s in statuses},
            title="Tool adoptions by business unit and sanction status",
            x_title="Adoptions",
            y_title="Business unit",
            colours=charts.SANCTION_COLOURS,
            horizontal=True,
        )
        if units
        else None,
        "unregistered": unregistered.items,
        "unregistered_count": unregistered.count,
        "load_plotly": bool(units),
    }
    return render(request, "governance/tools.html", context)
