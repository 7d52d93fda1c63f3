"""Server-rendered pages of the registry (thin: parse, call one selector or service, render)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.apps import apps
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connection, models, transaction
from django.db.models import Count, Q, QuerySet
from django.forms.utils import flatatt
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portfolio import intake, roles, selectors, services
from portfolio.api import ProjectViewSet
from portfolio.filters import ProjectFilterSet
from portfolio.forms import ImportForm, ProjectForm, can_register, editable_units
from portfolio.models import (
    AuditEvent,
    BusinessUnit,
    Capability,
    GoalAlignment,
    ImportJob,
    Membership,
    Project,
    StrategicGoal,
    Tool,
)

PAGE_SIZE = 50
HISTORY_PAGE_SIZE = 20
TIMELINE_LENGTH = 12
RECENT_IMPORTS = 20
# The same ordering fields as the API (`?ordering=-updated_at`).
ORDERING_FIELDS: tuple[str, ...] = tuple(ProjectViewSet.ordering_fields)
DEFAULT_ORDERING = "name"
# Registry columns: (heading, ordering field or None when the column is not sortable).
LIST_COLUMNS: tuple[tuple[str, str | None], ...] = (
    ("Project", "name"),
    ("Business unit", "business_unit__name"),
    ("Stage", "stage"),
    ("Risk tier", "risk_tier"),
    ("Review status", "review_status"),
    ("Annual cost", "annual_cost"),
    ("Updated", "updated_at"),
)


# --- Home ----------------------------------------------------------------------------------------


def _counts(
    queryset: QuerySet[Project], field: str, choices: Iterable[tuple[str, str]]
) -> list[dict[str, Any]]:
    """One GROUP BY query; every choice listed, zero when absent."""
    found = dict(queryset.order_by().values_list(field).annotate(n=Count("id")))
    return [{"value": value, "label": label, "n": found.get(value, 0)} for value, label in choices]


TIER_CHOICES: tuple[tuple[str, str], ...] = (*Project.RiskTier.choices, ("", "Not assessed"))


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    unit_ids = roles.member_unit_ids(user)
    sees_everything = roles.sees_everything(user)
    context: dict[str, Any] = {
        "can_register": can_register(user),
        "sees_everything": sees_everything,
        "is_reviewer": roles.is_reviewer(user),
        "is_executive": roles.is_executive(user),
        "memberships": list(
            Membership.objects.filter(user_id=user.pk or 0).select_related("business_unit")
        ),
    }
    if sees_everything:
        counts = selectors.portfolio_counts(user=user)
        context["total"] = counts.total
        context["counts_as_of"] = counts.as_of
        context["portfolio"] = {
            "by_stage": counts.choices("by_stage", Project.Stage.choices),
            "by_tier": counts.choices("by_tier", TIER_CHOICES),
            "by_review": counts.choices("by_review", Project.ReviewStatus.choices),
            "top_units": counts.units[:10],
        }
    else:
        context["total"] = selectors.project_queryset(user=user).count()
    if unit_ids:
        ours = selectors.project_queryset(user=user).filter(business_unit_id__in=unit_ids)
        context["ours"] = {
            "total": ours.count(),
            "by_stage": _counts(ours, "stage", Project.Stage.choices),
            "by_review": _counts(ours, "review_status", Project.ReviewStatus.choices),
            "recent": selectors.project_list(user=user)
            .filter(business_unit_id__in=unit_ids)
            .order_by("-updated_at", "-id")[:5],
            "awaiting_goals": selectors.goal_suggestions_awaiting(user=user, unit_ids=unit_ids),
        }
    return render(request, "portfolio/home.html", context)


# --- Registry list and "Our projects" ------------------------------------------------------------


class _OptionsSelect(forms.Select):
    """A select rendered in one pass (every value escaped), not through a template per option:
    the unit filter lists a few hundred units."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        chosen = set(self.format_value(value))
        options = "".join(
            f'<option value="{escape(text)}"{" selected" if text in chosen else ""}>'
            f"{escape(str(label))}</option>"
            for text, label in (("" if v is None else str(v), label) for v, label in self.choices)
        )
        attributes = flatatt(self.build_attrs(self.attrs, attrs))
        return mark_safe(  # noqa: S308 # nosec B308 B703 # every value above is escaped
            f'<select name="{escape(name)}"{attributes}>{options}</select>'
        )


def _decorate_filter_form(
    form: forms.Form, *, units: Iterable[tuple[int, str, str]], with_catalogue: bool = True
) -> None:
    """Friendlier widgets for the FilterSet's form: selects and checkboxes instead of ids."""
    fields: dict[str, Any] = form.fields
    fields["unit"].label = "Business unit"
    fields["unit"].widget = _OptionsSelect(
        choices=[("", "All units"), *((str(pk), f"{name} ({code})") for pk, name, code in units)]
    )
    for name in ("stage", "tier", "review_status", "topic"):
        fields[name].widget = forms.CheckboxSelectMultiple(choices=fields[name].choices)
    fields["technique"].widget = _OptionsSelect(
        choices=[("", "Any technique"), *Project.Technique.choices]
    )
    fields["q"].label = "Search"
    fields["q"].widget = forms.TextInput(
        attrs={"type": "search", "placeholder": "Words in name, problem, benefits…"}
    )
    if with_catalogue:
        fields["tool"].label = "Tool"
        fields["tool"].widget = forms.TextInput(
            attrs={"list": "tool-names", "placeholder": "Tool name", "autocomplete": "off"}
        )
        fields["capability"].label = "Capability"
        fields["capability"].widget = _OptionsSelect(
            choices=[
                ("", "Any capability"),
                *Capability.objects.values_list("slug", "name"),
            ]
        )
        fields["goal"].label = "Strategic goal"
        fields["goal"].widget = _OptionsSelect(
            choices=[
                ("", "Any goal"),
                *StrategicGoal.objects.values_list("pk", "title"),
            ]
        )


def _ordering(request: HttpRequest) -> str:
    requested = request.GET.get("ordering", "").strip()
    return requested if requested.lstrip("-") in ORDERING_FIELDS else DEFAULT_ORDERING


def _columns(current: str) -> list[dict[str, Any]]:
    columns = []
    for label, field in LIST_COLUMNS:
        sort = None
        if field not in ORDERING_FIELDS:
            field = None
        if field and current.lstrip("-") == field:
            sort = "descending" if current.startswith("-") else "ascending"
        columns.append(
            {
                "label": label,
                "field": field,
                "sort": sort,
                "next": f"-{field}" if sort == "ascending" else field,
            }
        )
    return columns


def _export_url(request: HttpRequest) -> str:
    try:
        base = reverse("project-export")
    except NoReverseMatch:
        base = "/api/v1/projects/export/"
    params = request.GET.copy()
    params.pop("page", None)
    params["format"] = "csv"
    return f"{base}?{params.urlencode()}"


def _project_list_page(
    request: HttpRequest,
    *,
    template: str,
    units: Iterable[tuple[int, str, str]],
    scope_unit_ids: set[int] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> HttpResponse:
    archived = request.GET.get("archived") == "true"
    queryset = selectors.project_list(user=request.user, include_archived=archived)
    if archived:
        queryset = queryset.filter(archived_at__isnull=False)
    if scope_unit_ids is not None:
        queryset = queryset.filter(business_unit_id__in=scope_unit_ids)
    filterset = ProjectFilterSet(request.GET or None, queryset=queryset, request=request)
    _decorate_filter_form(filterset.form, units=units)
    ordering = _ordering(request)
    results = filterset.qs.order_by(ordering, "id")
    active_filters = [
        key
        for key, values in request.GET.lists()
        if key not in {"page", "ordering"} and any(v.strip() for v in values)
    ]
    # Those who see everything share the portfolio's cached count of current projects: the
    # unfiltered registry's size, and the "of N" of a filtered one, without counting 100,000 rows.
    known_total = (
        selectors.portfolio_counts(user=request.user).total
        if not archived and scope_unit_ids is None and roles.sees_everything(request.user)
        else None
    )
    paginator = Paginator(results, PAGE_SIZE)
    if known_total is not None and not active_filters:
        paginator.count = known_total
    elif (
        request.GET.get("q", "").strip()
        and connection.vendor == "postgresql"
        and paginator.count <= selectors.SEARCH_SORT_AFTER_MATCH
    ):
        # A search matching few projects: the page is read in the same order, planned from the
        # full-text match (see selectors.sorted_after_match); the count is already known.
        paginator.object_list = selectors.sorted_after_match(results)
    page = paginator.get_page(request.GET.get("page"))
    context = {
        "filterset": filterset,
        "form": filterset.form,
        "page": page,
        "projects": page.object_list,
        "matched": page.paginator.count,
        "total": known_total
        if known_total is not None
        else (queryset.count() if active_filters else page.paginator.count),
        "filtered": bool(active_filters),
        "archived": archived,
        "columns": _columns(ordering),
        "ordering": ordering,
        "export_url": _export_url(request),
        "tool_names": Tool.objects.values_list("name", flat=True).order_by("name"),
        "can_register": can_register(request.user),
        **(extra or {}),
    }
    return render(request, template, context)


@login_required
@require_GET
def project_list(request: HttpRequest) -> HttpResponse:
    """The registry: every project the user may see, filtered like the API."""
    return _project_list_page(
        request,
        template="portfolio/project_list.html",
        units=BusinessUnit.objects.order_by("name").values_list("pk", "name", "code"),
    )


@login_required
@require_GET
def project_ours(request: HttpRequest) -> HttpResponse:
    """The projects of the user's own units (and their sub-units)."""
    unit_ids = roles.member_unit_ids(request.user)
    return _project_list_page(
        request,
        template="portfolio/project_ours.html",
        units=BusinessUnit.objects.filter(pk__in=unit_ids)
        .order_by("name")
        .values_list("pk", "name", "code"),
        scope_unit_ids=unit_ids,
        extra={
            "has_units": bool(unit_ids),
            "awaiting_goals": selectors.goal_suggestions_awaiting(
                user=request.user, unit_ids=unit_ids
            )
            if unit_ids
            else 0,
        },
    )


# --- Project page --------------------------------------------------------------------------------

FK_FIELDS = {
    "business_unit": "unit",
    "owner": "user",
    "executive_sponsor": "user",
    "reviewer": "user",
    "decided_by": "user",
    "goal": "goal",
}
# Changes other records make to their project ("project_review_status" on a review).
PROJECT_FIELD_PREFIX = "project_"
MILESTONE_FIELDS = ("stage", "review_status", "risk_tier", "visibility", "business_unit")
ACTION_LABELS = {
    "project.registered": "Registered",
    "project.updated": "Updated",
    "project.archived": "Archived",
    "project.restored": "Restored",
    "project.imported": "Imported",
}


def _action_label(action: str) -> str:
    if action in ACTION_LABELS:
        return ACTION_LABELS[action]
    return action.replace("project.", "").replace(".", " ").replace("_", " ").capitalize()


def _target_model(target_type: str) -> type[models.Model]:
    """The model an audit event's target is ("governance.review"), the project otherwise."""
    try:
        return apps.get_model(target_type) if "." in target_type else Project
    except (LookupError, ValueError):
        return Project


def _model_field(model: type[models.Model], name: str) -> Any:
    """The field `name` of the event's model, else of the project (a review's
    "project_review_status" is the project's review status), else None."""
    for owner, field_name in (
        (model, name),
        (Project, name.removeprefix(PROJECT_FIELD_PREFIX)),
        (Project, name),
    ):
        try:
            return owner._meta.get_field(field_name)
        except FieldDoesNotExist:
            continue
    return None


def _field_label(name: str, model: type[models.Model] = Project) -> str:
    """A field's verbose name; "Project …" for what another record changed on its project."""
    field = _model_field(model, name)
    verbose = str(getattr(field, "verbose_name", "") or name.replace("_", " "))
    if model is not Project and name.startswith(PROJECT_FIELD_PREFIX):
        verbose = f"project {verbose}"
    return verbose[:1].upper() + verbose[1:]


def _lookups(events: Iterable[AuditEvent]) -> dict[str, dict[Any, str]]:
    """Names for the unit, user and goal ids mentioned in these events (a query per kind)."""
    wanted: dict[str, set[Any]] = {"unit": set(), "user": set(), "goal": set()}
    for event in events:
        for name, kind in FK_FIELDS.items():
            change = (event.changes or {}).get(name)
            if isinstance(change, dict):
                wanted[kind].update(v for v in change.values() if isinstance(v, int))
    found: dict[str, dict[Any, str]] = {"unit": {}, "user": {}, "goal": {}}
    if wanted["goal"]:
        found["goal"] = dict(
            StrategicGoal.objects.filter(pk__in=wanted["goal"]).values_list("pk", "title")
        )
    if wanted["unit"]:
        found["unit"] = {
            u.pk: u.name for u in BusinessUnit.objects.filter(pk__in=wanted["unit"]).only("name")
        }
    if wanted["user"]:
        user_model = get_user_model()
        found["user"] = {
            u.pk: u.get_username() for u in user_model.objects.filter(pk__in=wanted["user"])
        }
    return found


def _format_value(
    name: str,
    value: Any,
    lookups: Mapping[str, Mapping[Any, str]],
    model: type[models.Model] = Project,
) -> str:
    """A stored (audit or snapshot) value of a field of `model` as a person reads it."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if name in FK_FIELDS:
        return lookups.get(FK_FIELDS[name], {}).get(value, f"#{value}")
    if isinstance(value, bool):
        return "Yes" if value else "No"
    field = _model_field(model, name)
    if name == "techniques" and isinstance(value, list):
        labels = dict(Project.Technique.choices)
        return ", ".join(str(labels.get(v, v)) for v in value)
    if field is not None and getattr(field, "choices", None):
        return str(dict(getattr(field, "flatchoices", ())).get(value, value))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(field, models.DateTimeField) and isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return value
    if isinstance(field, models.DecimalField):
        try:
            return f"{Decimal(str(value)):,.2f}"
        except InvalidOperation:
            return str(value)
    return str(value)


def _change_rows(
    event: AuditEvent, lookups: Mapping[str, Mapping[Any, str]]
) -> list[dict[str, str]]:
    rows = []
    model = _target_model(event.target_type)
    for name, change in (event.changes or {}).items():
        if isinstance(change, dict) and {"before", "after"} <= change.keys():
            before, after = change["before"], change["after"]
        else:
            before, after = None, change
        shown_before = _format_value(name, before, lookups, model)
        shown_after = _format_value(name, after, lookups, model)
        if shown_before != shown_after:  # e.g. None → "" on registration: nothing to read
            rows.append(
                {"field": _field_label(name, model), "before": shown_before, "after": shown_after}
            )
    return rows


def _milestone(event: AuditEvent, lookups: Mapping[str, Mapping[Any, str]]) -> dict[str, Any]:
    """A timeline entry: the action and, for changes (not creations), what moved where."""
    changes = {k: v for k, v in (event.changes or {}).items() if isinstance(v, dict)}
    created = bool(changes) and all(c.get("before") is None for c in changes.values())
    details = []
    for name in MILESTONE_FIELDS if not created else ():
        if name in changes:
            before = _format_value(name, changes[name].get("before"), lookups)
            after = _format_value(name, changes[name].get("after"), lookups)
            if before != after:
                details.append(f"{_field_label(name)}: {before} → {after}")
    return {"event": event, "label": _action_label(event.action), "details": details}


def _milestone_q() -> Q:
    condition = ~Q(action="project.updated")
    for name in MILESTONE_FIELDS:
        condition |= Q(changes__has_key=name)
    return condition


@login_required
@require_GET
def project_detail(request: HttpRequest, pk: int) -> HttpResponse:
    project = selectors.project_get(user=request.user, pk=pk)
    events = selectors.project_history(user=request.user, project=project)
    history = Paginator(events, HISTORY_PAGE_SIZE).get_page(request.GET.get("history_page"))
    milestones = list(events.filter(_milestone_q())[:TIMELINE_LENGTH])[::-1]
    page_events = list(history.object_list)
    lookups = _lookups([*page_events, *milestones])
    # Display-only attributes the history template reads (not fields of AuditEvent).
    for event in page_events:
        event.rows = _change_rows(event, lookups)  # type: ignore[attr-defined]
        event.label = _action_label(event.action)  # type: ignore[attr-defined]
    can_edit = roles.can_edit_project(request.user, project)
    alignments, other_goals = selectors.project_goals(project=project)
    context = {
        "project": project,
        "history": history,
        "history_events": page_events,
        "timeline": [_milestone(e, lookups) for e in milestones],
        "alignments": alignments,
        "other_goals": other_goals,
        "can_edit": can_edit,
        "tools": list(project.tools.all()),
        "capabilities": list(project.capabilities.all()),
        "techniques": _format_value("techniques", project.techniques, {}),
    }
    return render(request, "portfolio/project_detail.html", context)


def _int_param(value: str | None) -> int | None:
    """A posted integer (a version, an id), None when missing or not a number."""
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _set_archived(request: HttpRequest, pk: int, *, archived: bool) -> HttpResponse:
    project = selectors.project_get(user=request.user, pk=pk)
    if not roles.can_edit_project(request.user, project):
        raise PermissionDenied("You may not change this project.")
    service = services.project_archive if archived else services.project_restore
    verb = "archived" if archived else "restored"
    try:
        service(
            actor=request.user,
            project=project,
            expected_version=_int_param(request.POST.get("version")),
        )
    except services.StaleVersion:
        messages.error(
            request,
            f"Someone changed this project since you opened it, so it was not {verb}. "
            "The page now shows the current version; check it and try again.",
        )
    except services.VersionRequired:
        messages.error(request, f"The request did not say which version you read; not {verb}.")
    else:
        messages.success(request, f"The project was {verb}.")
    return redirect("portfolio:project-detail", pk=project.pk)


@login_required
@require_POST
def project_archive(request: HttpRequest, pk: int) -> HttpResponse:
    return _set_archived(request, pk, archived=True)


@login_required
@require_POST
def project_restore(request: HttpRequest, pk: int) -> HttpResponse:
    return _set_archived(request, pk, archived=False)


# --- Strategic goals of a project -----------------------------------------------------------------

GOAL_DECIDED = {
    GoalAlignment.Status.CONFIRMED: "Confirmed: the project serves “{goal}”.",
    GoalAlignment.Status.REJECTED: "Rejected: “{goal}” will not be suggested again.",
    "removed": "“{goal}” was removed from the project's goals.",
}


def _goals_anchor(project: Project) -> HttpResponse:
    return redirect(reverse("portfolio:project-detail", kwargs={"pk": project.pk}) + "#goals")


@login_required
@require_POST
def project_goal_decide(request: HttpRequest, pk: int, alignment_pk: int) -> HttpResponse:
    """Confirm or reject a suggested goal, or remove a goal, from the project's page."""
    project = selectors.project_get(user=request.user, pk=pk)
    alignment = get_object_or_404(
        GoalAlignment.objects.select_related("goal", "project"), pk=alignment_pk, project=project
    )
    decision = request.POST.get("decision", "")
    try:
        services.alignment_decide(actor=request.user, alignment=alignment, decision=decision)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, GOAL_DECIDED[decision].format(goal=alignment.goal.title))
    return _goals_anchor(project)


@login_required
@require_POST
def project_goal_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm that the project serves a goal the lead picks from the active goals."""
    project = selectors.project_get(user=request.user, pk=pk)
    if not roles.can_edit_project(request.user, project):
        raise PermissionDenied("You may align only projects you can edit.")
    goal_id = _int_param(request.POST.get("goal"))
    goal = StrategicGoal.objects.filter(pk=goal_id).first() if goal_id is not None else None
    if goal is None:
        messages.error(request, "Choose one of the strategic goals.")
        return _goals_anchor(project)
    try:
        services.alignment_confirm_goal(actor=request.user, project=project, goal=goal)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, GOAL_DECIDED[GoalAlignment.Status.CONFIRMED].format(goal=goal.title)
        )
    return _goals_anchor(project)


# --- Register and edit ---------------------------------------------------------------------------


def _add_service_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Attach a service's ValidationError to the form's fields (or the form, when unknown)."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            target = name if name in form.fields else None
            for error in errors:
                form.add_error(target, error)
    else:
        form.add_error(None, exc)


def _add_section_errors(form: forms.BaseForm, bound: intake.BoundSection) -> None:
    """A section's invalid answers, listed in the form's error summary under its title."""
    for name, errors in bound.form.errors.items():
        label = bound.form.fields[name].label if name in bound.form.fields else None
        for error in errors:
            prefix = f"{bound.section.title}: {label}: " if label else f"{bound.section.title}: "
            form.add_error(None, f"{prefix}{error}")


def _save_section(
    request: HttpRequest, project: Project, bound: intake.BoundSection, draft: bool
) -> list[str]:
    """Run a section's save; what it refuses becomes a form error under the section's title."""
    title = bound.section.title
    try:
        return bound.section.save(request, project, bound.form, draft)
    except ValidationError as exc:
        raise ValidationError([f"{title}: {message}" for message in exc.messages]) from exc
    except PermissionDenied as exc:
        raise ValidationError(f"{title}: {exc}") from exc


def _comparable(name: str, value: Any) -> Any:
    """Values of the form and of the stored project in one shape, for the conflict table."""
    if isinstance(value, models.Model):
        return value.pk
    if name in ("tools", "capabilities"):
        return sorted(str(item) for item in value or [])
    if isinstance(value, list):
        return sorted(str(item) for item in value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return value.normalize()
    if value in ("", None):
        return None
    return value


def _conflicts(form: ProjectForm, current: Project) -> list[dict[str, str]]:
    """Fields where the stored project now differs from what the user submitted."""
    rows = []
    mine = form.service_data()
    wanted_units = {current.business_unit_id}
    wanted_users = {current.owner_id, current.executive_sponsor_id}
    for name in ("business_unit", "owner", "executive_sponsor"):
        value = mine.get(name)
        if isinstance(value, BusinessUnit):
            wanted_units.add(value.pk)
        elif value is not None:
            wanted_users.add(value.pk)
    lookups = {
        "unit": {u.pk: u.name for u in BusinessUnit.objects.filter(pk__in=wanted_units)},
        "user": {
            u.pk: u.get_username()
            for u in get_user_model().objects.filter(pk__in=[i for i in wanted_users if i])
        },
    }
    for name, value in mine.items():
        if name in ("tools", "capabilities"):
            theirs = list(getattr(current, name).all())
        else:
            theirs = getattr(current, name if name not in FK_FIELDS else f"{name}_id")
        a, b = _comparable(name, value), _comparable(name, theirs)
        if a != b:
            rows.append(
                {
                    "field": _field_label(name),
                    "mine": _format_value(name, a, lookups),
                    "current": _format_value(name, b, lookups),
                }
            )
    return rows


def _form_context(form: ProjectForm, project: Project | None, **extra: Any) -> dict[str, Any]:
    return {
        "form": form,
        "project": project,
        "similar_endpoint": "/api/v1/projects/similar/",
        "show_justification": bool(
            form["distinct_justification"].value() or form["distinct_justification"].errors
        ),
        **extra,
    }


@login_required
@require_http_methods(["GET", "POST"])
def project_create(request: HttpRequest) -> HttpResponse:
    """Register an AI project ("Save as draft" keeps it at the idea stage, not submitted)."""
    if not can_register(request.user):
        raise PermissionDenied("You may register projects only for your own business units.")
    if request.method == "POST":
        form = ProjectForm(request.POST, user=request.user)
        sections = intake.bind_sections(request.POST)
        valid = form.is_valid()
        for bound in sections:
            if not bound.form.is_valid():
                valid = False
                _add_section_errors(form, bound)
        if valid:
            data = form.service_data()
            draft = request.POST.get("action") == "draft"
            if draft:
                data["stage"] = Project.Stage.IDEA
            notes: list[str] = []
            try:
                # The project and what the sections record with it (a risk assessment, a
                # submission) are kept together or not at all.
                with transaction.atomic():
                    project = services.project_register(actor=request.user, data=data)
                    for bound in sections:
                        notes += _save_section(request, project, bound, draft)
            except ValidationError as exc:
                _add_service_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error("business_unit", str(exc))
            else:
                messages.success(
                    request,
                    " ".join(
                        [
                            "Draft saved. It stays at the idea stage until you change it."
                            if draft
                            else "Project registered.",
                            *notes,
                        ]
                    ),
                )
                return redirect(project)
    else:
        sections = intake.bind_sections(None)
        units = list(editable_units(request.user)[:2])
        initial: dict[str, Any] = {
            "contact_email": getattr(request.user, "email", ""),
            "owner": request.user.pk,
        }
        if len(units) == 1:
            initial["business_unit"] = units[0].pk
        form = ProjectForm(user=request.user, initial=initial)
    context = _form_context(form, None, intake_sections=sections)
    return render(request, "portfolio/project_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def project_edit(request: HttpRequest, pk: int) -> HttpResponse:
    project = selectors.project_get(user=request.user, pk=pk)
    if not roles.can_edit_project(request.user, project):
        raise PermissionDenied("You may edit projects only of your own business units.")
    status = 200
    conflict: list[dict[str, str]] | None = None
    current = project
    if request.method == "POST":
        # The form works on a copy: the service must see the project as it is stored.
        form = ProjectForm(request.POST, instance=copy.copy(project), user=request.user)
        if form.is_valid():
            try:
                updated = services.project_update(
                    actor=request.user,
                    project=project,
                    expected_version=form.cleaned_data.get("version"),
                    data=form.service_data(),
                )
            except services.StaleVersion:
                current = selectors.project_get(user=request.user, pk=pk)
                conflict = _conflicts(form, current)
                data = request.POST.copy()
                data["version"] = str(current.version)
                form = ProjectForm(data, instance=copy.copy(current), user=request.user)
                form.is_valid()
                status = 409
            except services.VersionRequired:
                form.add_error(
                    None,
                    "The form did not say which version of the project you edited. "
                    "Open the project again and redo your changes.",
                )
            except ValidationError as exc:
                _add_service_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error("business_unit", str(exc))
            else:
                messages.success(request, "Your changes were saved.")
                return redirect(updated)
    else:
        form = ProjectForm(instance=copy.copy(project), user=request.user)
    context = _form_context(form, current, conflict=conflict)
    return render(request, "portfolio/project_form.html", context, status=status)


# --- Import --------------------------------------------------------------------------------------


# How the upload page names the importer's formats (unknown codes are shown as they are).
FORMAT_LABELS = {
    "omb-2023": "US federal AI use case inventory, 2023 (OMB)",
    "omb-2024": "US federal AI use case inventory, 2024 (OMB)",
    "omb-2025": "US federal AI use case inventory, 2025 (OMB)",
    "omb-2025-cots": "US federal commercial AI products in use, 2025 (OMB): tool adoptions",
    "maestro-csv": "Maestro CSV (an export of this registry)",
}


def _import_formats() -> list[tuple[str, str]] | None:
    """The importer's formats as (code, label), or None while the importer is not installed."""
    try:
        from portfolio.importers import FORMATS
    except ImportError:
        return None
    return [(str(code), FORMAT_LABELS.get(str(code), str(code))) for code in FORMATS]


def _require_importer(request: HttpRequest) -> None:
    if not roles.can_manage_catalogue(request.user):
        raise PermissionDenied("Only reviewers and admins import inventories.")


def _import_jobs() -> QuerySet[ImportJob]:
    """Import jobs without their file (selector candidate: `import_job_list`)."""
    return ImportJob.objects.defer("content").select_related("created_by")


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    _require_importer(request)
    # Registers `portfolio.run_import_job` with Celery in this web process: with no broker the
    # job runs here after commit, and Celery's autodiscovery only runs in workers. (Workaround:
    # belongs in the app config or config/celery.py.)
    import portfolio.tasks  # noqa: F401

    formats = _import_formats()
    form = None
    if formats is not None:
        if request.method == "POST":
            form = ImportForm(request.POST, request.FILES, formats=formats)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                try:
                    job = services.import_job_create(
                        actor=request.user,
                        name=upload.name,
                        content=upload.read(),
                        fmt=form.cleaned_data["format"],
                        skip_invalid=form.cleaned_data["skip_invalid"],
                        dry_run=form.cleaned_data["dry_run"],
                    )
                except ValidationError as exc:
                    _add_service_errors(form, exc)
                else:
                    return redirect("portfolio:import-detail", pk=job.pk)
        else:
            form = ImportForm(formats=formats)
    context = {
        "form": form,
        "jobs": _import_jobs()[:RECENT_IMPORTS],
        "max_mb": settings.MAESTRO_MAX_UPLOAD_MB,
    }
    return render(request, "portfolio/import_upload.html", context)


FINISHED = {ImportJob.Status.SUCCEEDED, ImportJob.Status.REJECTED, ImportJob.Status.FAILED}


@login_required
@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_importer(request)
    job = get_object_or_404(_import_jobs(), pk=pk)
    report = job.report or {}
    context = {
        "job": job,
        "finished": job.status in FINISHED,
        "report": report,
        "errors": report.get("errors", []),
    }
    return render(request, "portfolio/import_detail.html", context)


@never_cache
@login_required
@require_GET
def import_status(request: HttpRequest, pk: int) -> JsonResponse:
    _require_importer(request)
    job = get_object_or_404(_import_jobs(), pk=pk)
    return JsonResponse(
        {
            "id": job.pk,
            "status": job.status,
            "status_label": job.get_status_display(),
            "progress_percent": job.progress_percent,
            "processed_rows": job.processed_rows,
            "total_rows": job.total_rows,
            "finished": job.status in FINISHED,
        }
    )


# --- Health --------------------------------------------------------------------------------------


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico; point them at the static icon (resolved per request)."""
    from django.shortcuts import redirect
    from django.templatetags.static import static

    return redirect(static("favicon.svg"), permanent=True)
