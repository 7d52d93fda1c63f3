"""Filters of the governance lists (API and pages alike)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import django_filters
from django import forms
from django.db.models import F, Q, QuerySet

from governance.models import Control, Review, RiskAssessment
from governance.selectors import QUEUE_REREVIEW
from portfolio.models import BusinessUnit, Project


def unit_ids_with_descendants(value: str) -> set[int]:
    """Unit ids or codes, comma-separated, and every unit below them (one query over the unit
    tree, which resolves the codes too)."""
    wanted = {p.strip() for p in value.split(",")} - {""}
    if not wanted:
        return set()
    children: dict[int | None, list[int]] = defaultdict(list)
    found: set[int] = set()
    for pk, parent_id, code in BusinessUnit.objects.values_list("id", "parent_id", "code"):
        children[parent_id].append(pk)
        if code in wanted or str(pk) in wanted:
            found.add(pk)
    stack = list(found)
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


class _UnitFilterMixin:
    def filter_unit(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return queryset.filter(project__business_unit_id__in=unit_ids_with_descendants(value))


class RiskAssessmentFilterSet(_UnitFilterMixin, django_filters.FilterSet):
    project = django_filters.NumberFilter(field_name="project_id")
    unit = django_filters.CharFilter(method="filter_unit", label="Business unit (id or code)")
    tier = django_filters.MultipleChoiceFilter(
        distinct=False, field_name="eu_tier", choices=Project.RiskTier.choices
    )
    high_impact = django_filters.BooleanFilter()
    current = django_filters.BooleanFilter(
        method="filter_current", label="Only the newest assessment of each project"
    )

    class Meta:
        model = RiskAssessment
        fields: list[str] = []

    def filter_current(
        self, queryset: QuerySet[RiskAssessment], name: str, value: bool | None
    ) -> QuerySet[RiskAssessment]:
        if value is None:
            return queryset
        return queryset.filter(pk=F("latest_id")) if value else queryset.exclude(pk=F("latest_id"))


class ReviewFilterSet(_UnitFilterMixin, django_filters.FilterSet):
    project = django_filters.NumberFilter(field_name="project_id")
    unit = django_filters.CharFilter(method="filter_unit", label="Business unit (id or code)")
    status = django_filters.MultipleChoiceFilter(distinct=False, choices=Review.Status.choices)
    tier = django_filters.MultipleChoiceFilter(
        distinct=False, field_name="project__risk_tier", choices=Project.RiskTier.choices
    )
    reviewer = django_filters.NumberFilter(field_name="reviewer_id")

    class Meta:
        model = Review
        fields: list[str] = []


class ControlFilterSet(django_filters.FilterSet):
    framework = django_filters.CharFilter(method="filter_framework", label="Framework (id or code)")
    tier = django_filters.ChoiceFilter(
        choices=Project.RiskTier.choices, method="filter_tier", label="Applies to this tier"
    )
    high_impact_only = django_filters.BooleanFilter()
    q = django_filters.CharFilter(method="filter_q")

    class Meta:
        model = Control
        fields: list[str] = []

    def filter_framework(
        self, queryset: QuerySet[Control], name: str, value: str
    ) -> QuerySet[Control]:
        condition = Q(framework__code=value)
        if value.isdigit():
            condition |= Q(framework_id=int(value))
        return queryset.filter(condition)

    def filter_tier(self, queryset: QuerySet[Control], name: str, value: str) -> QuerySet[Control]:
        # Tiers are a JSON list; the quoted code cannot match a longer one (works on every DB).
        return queryset.filter(applies_to_tiers__icontains=f'"{value}"') if value else queryset

    def filter_q(self, queryset: QuerySet[Control], name: str, value: str) -> QuerySet[Control]:
        return queryset.filter(
            Q(identifier__icontains=value)
            | Q(title__icontains=value)
            | Q(description__icontains=value)
        )


class ReviewQueueForm(forms.Form):
    """The review queue's query parameters (validated; bad values are 400 with the field)."""

    status = forms.MultipleChoiceField(
        required=False,
        choices=[*[(s, s) for s in Review.OPEN], (QUEUE_REREVIEW, "Yearly re-review due")],
    )
    tier = forms.MultipleChoiceField(required=False, choices=Project.RiskTier.choices)
    unit = forms.CharField(required=False)
    overdue = forms.NullBooleanField(required=False)
    assigned = forms.ChoiceField(required=False, choices=[("", "anyone"), ("me", "me")])


class ComplianceForm(forms.Form):
    by = forms.ChoiceField(
        required=False,
        choices=[("unit", "unit"), ("framework", "framework"), ("project", "project")],
    )
    unit = forms.CharField(required=False)
    framework = forms.CharField(required=False)
    tier = forms.MultipleChoiceField(required=False, choices=Project.RiskTier.choices)
    project = forms.IntegerField(required=False)
    rollup = forms.BooleanField(required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("rollup") and (data.get("by") or "unit") != "unit":
            self.add_error("rollup", "Sub-units roll up only in the per-unit view (by=unit).")
        return data
