"""One FilterSet per model, shared by the HTML list and the API."""

from __future__ import annotations

from typing import Any

import django_filters
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connections
from django.db.models import Q, QuerySet
from rest_framework.filters import OrderingFilter

from portfolio import roles
from portfolio.models import AuditEvent, BusinessUnit, GoalAlignment, Project, Tool

MAX_SEARCH_WORDS = 10
MAX_SEARCH_WORD_LENGTH = 100
# Quotes, brackets and sentence punctuation around a word are not part of it.
_WORD_EDGES = "\"'“”‘’«»()[]{}<>,;:!?"


def search_words(text: str) -> list[str]:
    """The words of a search: case-folded, split on spaces, without quotes, brackets or sentence
    punctuation around them, and only those with a letter or digit. At most MAX_SEARCH_WORDS
    words of at most MAX_SEARCH_WORD_LENGTH characters each (a longer word is cut: its beginning
    still narrows the search).
    """
    words = (word.strip(_WORD_EDGES)[:MAX_SEARCH_WORD_LENGTH] for word in text.casefold().split())
    return [word for word in words if any(c.isalnum() for c in word)][:MAX_SEARCH_WORDS]


def _tsquery_term(word: str) -> str:
    """One word as a quoted prefix term of `to_tsquery` (quotes and backslashes escaped)."""
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "':*"


def search_projects(queryset: QuerySet[Project], text: str) -> QuerySet[Project]:
    """Projects whose name, reference or texts contain a word starting with each searched word.

    On PostgreSQL this is full-text search with the 'simple' configuration (no stemming, no stop
    words) on `to_tsvector('simple', search_text)`, GIN-indexed (migration 0010): every word of
    the search is a prefix, so "document" finds "documents" and "documentation", and a partly
    typed last word already matches. A word with punctuation inside ("covid-19", "ai/ml") is
    parsed as PostgreSQL parses the texts, its parts as a phrase. On SQLite (the embedded mode)
    each word must appear anywhere in `search_text` (a substring, so it finds a little more).
    A search without any letter or digit matches nothing.
    """
    words = search_words(text)
    if not words:
        return queryset.none()
    if connections[queryset.db].vendor != "postgresql":
        condition = Q()
        for word in words:
            condition &= Q(search_text__contains=word)
        return queryset.filter(condition)
    query = SearchQuery(
        " & ".join(_tsquery_term(word) for word in words), search_type="raw", config="simple"
    )
    # alias(), not annotate(): the vector is only compared, never selected.
    return queryset.alias(search_vector=SearchVector("search_text", config="simple")).filter(
        search_vector=query
    )


def _ids_or_keys(value: str) -> tuple[list[int], list[str]]:
    ids, keys = [], []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        if part.isdigit():
            ids.append(int(part))
        else:
            keys.append(part)
    return ids, keys


ALIGNMENT_CHOICES = (
    ("confirmed", "Serves a confirmed goal"),
    ("suggested", "Has a suggested goal to confirm"),
    ("none", "No confirmed goal"),
)


# Every filter here tests the project's own columns or uses `pk__in` subqueries, so none can
# duplicate rows: multiple-choice filters are declared with distinct=False (django-filter's
# default DISTINCT would sort every matching row on each request).
class ProjectFilterSet(django_filters.FilterSet):
    unit = django_filters.CharFilter(
        method="filter_unit",
        label="Business unit (id or code; includes its sub-units; comma-separated for several)",
    )
    stage = django_filters.MultipleChoiceFilter(distinct=False, choices=Project.Stage.choices)
    tier = django_filters.MultipleChoiceFilter(
        distinct=False,
        field_name="risk_tier",
        choices=[("none", "Not assessed"), *Project.RiskTier.choices],
        method="filter_tier",
        label="Risk tier",
    )
    topic = django_filters.MultipleChoiceFilter(
        distinct=False,
        field_name="topic_area",
        choices=Project.TopicArea.choices,
        label="Topic area",
    )
    technique = django_filters.ChoiceFilter(
        choices=Project.Technique.choices, method="filter_technique"
    )
    tool = django_filters.CharFilter(method="filter_tool", label="Tool (id or name)")
    capability = django_filters.CharFilter(
        method="filter_capability", label="Capability (id or slug)"
    )
    goal = django_filters.NumberFilter(
        method="filter_goal", label="Strategic goal id (confirmed or suggested alignment)"
    )
    alignment = django_filters.ChoiceFilter(
        choices=ALIGNMENT_CHOICES,
        method="filter_alignment",
        label="Goal alignment",
        empty_label="Any",
    )
    review_status = django_filters.MultipleChoiceFilter(
        distinct=False, choices=Project.ReviewStatus.choices
    )
    visibility = django_filters.ChoiceFilter(choices=Project.Visibility.choices)
    source = django_filters.ChoiceFilter(choices=Project.Source.choices)
    development_method = django_filters.ChoiceFilter(choices=Project.DevelopmentMethod.choices)
    involves_pii = django_filters.BooleanFilter()
    owner = django_filters.NumberFilter(field_name="owner_id")
    q = django_filters.CharFilter(method="filter_q", label="Full-text search")

    class Meta:
        model = Project
        fields: list[str] = []

    def filter_unit(self, queryset: QuerySet[Project], name: str, value: str) -> QuerySet[Project]:
        ids, codes = _ids_or_keys(value)
        roots = set(ids)
        if codes:
            roots |= set(BusinessUnit.objects.filter(code__in=codes).values_list("id", flat=True))
        return queryset.filter(business_unit_id__in=roles.descendant_ids(roots))

    def filter_tier(
        self, queryset: QuerySet[Project], name: str, value: list[str]
    ) -> QuerySet[Project]:
        if not value:
            return queryset
        condition = Q(risk_tier__in=[v for v in value if v != "none"])
        if "none" in value:
            condition |= Q(risk_tier="")
        return queryset.filter(condition)

    def filter_technique(
        self, queryset: QuerySet[Project], name: str, value: str
    ) -> QuerySet[Project]:
        # Techniques are stored as a JSON list; the quoted code cannot match a longer one.
        return queryset.filter(techniques__icontains=f'"{value}"')

    def filter_tool(self, queryset: QuerySet[Project], name: str, value: str) -> QuerySet[Project]:
        ids, names = _ids_or_keys(value)
        condition = Q(id__in=ids)
        for tool_name in names:
            condition |= Q(name__iexact=tool_name)
        tools = Tool.objects.filter(condition).values("pk")
        return queryset.filter(
            pk__in=Project.tools.through.objects.filter(tool_id__in=tools).values("project_id")
        )

    def filter_capability(
        self, queryset: QuerySet[Project], name: str, value: str
    ) -> QuerySet[Project]:
        ids, slugs = _ids_or_keys(value)
        through = Project.capabilities.through.objects.filter(
            Q(capability_id__in=ids) | Q(capability__slug__in=slugs)
        )
        return queryset.filter(pk__in=through.values("project_id"))

    def filter_goal(self, queryset: QuerySet[Project], name: str, value: Any) -> QuerySet[Project]:
        alignments = GoalAlignment.objects.filter(goal_id=value).exclude(
            status=GoalAlignment.Status.REJECTED
        )
        return queryset.filter(pk__in=alignments.values("project_id"))

    def filter_alignment(
        self, queryset: QuerySet[Project], name: str, value: str
    ) -> QuerySet[Project]:
        confirmed = GoalAlignment.objects.filter(status=GoalAlignment.Status.CONFIRMED)
        if value == "confirmed":
            return queryset.filter(pk__in=confirmed.values("project_id"))
        if value == "none":
            return queryset.exclude(pk__in=confirmed.values("project_id"))
        suggested = GoalAlignment.objects.filter(status=GoalAlignment.Status.SUGGESTED)
        return queryset.filter(pk__in=suggested.values("project_id"))

    def filter_q(self, queryset: QuerySet[Project], name: str, value: str) -> QuerySet[Project]:
        return search_projects(queryset, value) if value.strip() else queryset


class AuditEventFilterSet(django_filters.FilterSet):
    action = django_filters.CharFilter()
    target_type = django_filters.CharFilter()
    target_id = django_filters.CharFilter()
    actor = django_filters.NumberFilter(field_name="actor_id")
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields: list[str] = []


class BusinessUnitFilterSet(django_filters.FilterSet):
    parent = django_filters.NumberFilter(field_name="parent_id")
    top_level = django_filters.BooleanFilter(field_name="parent", lookup_expr="isnull")
    q = django_filters.CharFilter(method="filter_q")

    class Meta:
        model = BusinessUnit
        fields: list[str] = []

    def filter_q(
        self, queryset: QuerySet[BusinessUnit], name: str, value: str
    ) -> QuerySet[BusinessUnit]:
        return queryset.filter(Q(name__icontains=value) | Q(code__icontains=value))


class ToolFilterSet(django_filters.FilterSet):
    sanction_status = django_filters.MultipleChoiceFilter(
        distinct=False, choices=Tool.SanctionStatus.choices
    )
    q = django_filters.CharFilter(method="filter_q")

    class Meta:
        model = Tool
        fields: list[str] = []

    def filter_q(self, queryset: QuerySet[Tool], name: str, value: str) -> QuerySet[Tool]:
        return queryset.filter(Q(name__icontains=value) | Q(vendor__icontains=value))


class GoalAlignmentFilterSet(django_filters.FilterSet):
    project = django_filters.NumberFilter(field_name="project_id")
    goal = django_filters.NumberFilter(field_name="goal_id")
    status = django_filters.MultipleChoiceFilter(
        distinct=False, choices=GoalAlignment.Status.choices
    )

    class Meta:
        model = GoalAlignment
        fields: list[str] = []


class StableOrderingFilter(OrderingFilter):
    """DRF's ordering, always ended by the primary key: rows with equal values (two projects of
    one unit ordered by `business_unit__name`, equal costs) keep one order, so that paging
    through them never shows a row twice or skips one."""

    def get_ordering(self, request: Any, queryset: QuerySet[Any], view: Any) -> list[str] | None:
        ordering = super().get_ordering(request, queryset, view)
        if not ordering:
            return None
        terms = [str(term).lstrip("-") for term in ordering]
        if "id" in terms or "pk" in terms:
            return list(ordering)
        return [*ordering, "-id" if str(ordering[-1]).startswith("-") else "id"]
