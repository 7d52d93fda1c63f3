"""Template tags of the web app: role-aware navigation, status badges, accessible fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import template
from django.core.paginator import Page
from django.forms import BoundField
from django.http import QueryDict
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from portfolio import roles
from portfolio.forms import ProjectForm, can_register

register = template.Library()


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    current: bool = False


def _url(name: str) -> str | None:
    """The URL of a named page, or None while that page does not exist (yet)."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


# Pages of other apps shown once they exist: (label, URL name, who sees it).
# Audiences: "reviewer" (reviewers and admins), "sees_everything" (also executives), "executive"
# (executives only: reviewers reach the same page from the overview).
OPTIONAL_PAGES: tuple[tuple[str, str, str], ...] = (
    ("Review desk", "governance:review-list", "reviewer"),
    ("IT overview", "governance:dashboard", "sees_everything"),
    ("Executive", "governance:executive", "executive"),
    ("Overlaps", "governance:overlap-list", "reviewer"),
    ("Compliance", "governance:compliance", "reviewer"),
    ("Tools", "governance:tools", "reviewer"),
)


def _in_audience(user: Any, audience: str) -> bool:
    if audience == "reviewer":
        return roles.is_reviewer(user)
    if audience == "executive":
        return roles.is_executive(user)
    return roles.sees_everything(user)


def nav_for(user: Any, path: str = "/") -> list[NavItem]:
    """The pages the user may use, in menu order; nothing the user may not do."""
    if user is None or not user.is_authenticated:
        return []
    entries: list[tuple[str, str]] = [("Overview", reverse("portfolio:home"))]
    if can_register(user):
        entries.append(("Register a project", reverse("portfolio:project-create")))
    if roles.member_unit_ids(user):
        entries.append(("Our projects", reverse("portfolio:project-ours")))
    entries.append(("Registry", reverse("portfolio:project-list")))
    for label, name, audience in OPTIONAL_PAGES:
        url = _url(name) if _in_audience(user, audience) else None
        if url:
            entries.append((label, url))
    if roles.can_manage_catalogue(user):
        entries.append(("Import", reverse("portfolio:import-upload")))
    if roles.is_admin(user) and user.is_staff:
        entries.append(("Admin", reverse("admin:index")))
    # The current item is the longest URL that prefixes the path ("/" only matches itself).
    matches = [url for _, url in entries if path == url or (url != "/" and path.startswith(url))]
    current = max(matches, key=len) if matches else None
    return [NavItem(label, url, url == current) for label, url in entries]


@register.simple_tag(takes_context=True)
def nav_items(context: template.Context) -> list[NavItem]:
    """`{% nav_items as items %}`: the main navigation for the signed-in user."""
    request = context.get("request")
    user = context.get("user") or getattr(request, "user", None)
    return nav_for(user, getattr(request, "path", "/"))


# Badge colours are named after the Okabe–Ito palette (colour-blind safe); every badge also
# carries its text, so colour is never the only signal.
BADGE_TONES: dict[str, dict[str, str]] = {
    "stage": {
        "idea": "grey",
        "development": "sky",
        "pilot": "orange",
        "production": "green",
        "retired": "neutral",
    },
    "tier": {
        "prohibited": "vermillion",
        "high": "orange",
        "limited": "yellow",
        "minimal": "green",
        "": "neutral",
    },
    "review": {
        "not_submitted": "neutral",
        "submitted": "sky",
        "in_review": "blue",
        "approved": "green",
        "approved_with_conditions": "yellow",
        "changes_requested": "orange",
        "rejected": "vermillion",
        "changes_since_approval": "purple",
    },
    "sanction": {
        "approved": "green",
        "restricted": "orange",
        "prohibited": "vermillion",
        "unreviewed": "neutral",
    },
    "import": {
        "queued": "neutral",
        "running": "blue",
        "succeeded": "green",
        "rejected": "vermillion",
        "failed": "vermillion",
    },
    "grade": {"duplicate": "vermillion", "overlapping": "orange", "complementary": "sky"},
}


@register.simple_tag
def badge(kind: str, value: str | None, label: str | None = None, prefix: str = "") -> SafeString:
    """`{% badge "stage" project.stage project.get_stage_display %}`; `prefix="Risk: "` names
    the status where no column heading does."""
    value = value or ""
    tone = BADGE_TONES.get(kind, {}).get(value, "neutral")
    text = label or (value.replace("_", " ").capitalize() if value else "Not assessed")
    return format_html(
        '<span class="badge badge-{}" data-kind="{}" data-value="{}">{}{}</span>',
        tone,
        kind,
        value or "none",
        prefix,
        text,
    )


@register.simple_tag
def field_widget(field: BoundField, **extra: Any) -> SafeString:
    """The widget with aria-describedby (hint, error) and aria-invalid wired up."""
    attrs: dict[str, Any] = dict(extra)
    described = []
    if field.help_text:
        described.append(f"{field.auto_id}_hint")
    if field.errors:
        described.append(f"{field.auto_id}_error")
        attrs["aria-invalid"] = "true"
    if described and not getattr(field, "use_fieldset", False):
        # Groups of radios or checkboxes are described on their fieldset instead.
        attrs["aria-describedby"] = " ".join(described)
    return field.as_widget(attrs=attrs)


@register.filter
def first_input_id(field: BoundField) -> str:
    """The id an error summary links to: the first box of a group, or the field itself."""
    if getattr(field, "use_fieldset", False) and field.subwidgets:
        return str(field.subwidgets[0].id_for_label or field.auto_id)
    return str(field.id_for_label or field.auto_id)


SCROLLING_GROUPS = {"tools", "capabilities", "topic"}
STACKED_GROUPS = {"visibility"}


@register.filter
def choices_layout(field: BoundField) -> str:
    """Long catalogue lists scroll in a box; long labels stack; short groups flow in columns."""
    if field.name in getattr(field.form, "empty_catalogues", ()):
        return "stacked"  # nothing to scroll through (the hint says why)
    if field.name in SCROLLING_GROUPS:
        return "scroll"
    if field.name in STACKED_GROUPS or not isinstance(field.form, ProjectForm):
        return "stacked"
    return "inline"


@register.simple_tag(takes_context=True)
def page_url(context: template.Context, number: int, param: str = "page") -> str:
    """The current URL's query string with one page parameter changed (filters are kept)."""
    request = context.get("request")
    params = request.GET.copy() if request is not None else QueryDict(mutable=True)
    params[param] = str(number)
    return f"?{params.urlencode()}"


@register.simple_tag
def page_range(page: Page) -> list[int | str]:  # type: ignore[type-arg]
    """Page numbers around the current one, with "…" for the gaps."""
    return list(page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1))
