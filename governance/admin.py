"""Admin for every governance model.

Catalogues and control statuses are saved through the services (so they are audited); the
records of the workflow (assessments, reviews, comments, conditions) are read-only here: they
change only through the workflow steps, which check roles and states.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from governance import services
from governance.models import (
    Control,
    ControlStatus,
    DailyJobRun,
    Framework,
    MetricLock,
    MetricRun,
    MetricSnapshot,
    OverlapCluster,
    OverlapPair,
    Review,
    ReviewComment,
    ReviewCondition,
    RiskAssessment,
    SimilarityIndexBlob,
    WebhookDelivery,
    WebhookEndpoint,
)
from portfolio.admin import RecordAdmin

_M = TypeVar("_M", bound=models.Model)


# Records the system keeps: read in the admin, never edited by hand (the registry's own base).
ReadOnlyAdmin = RecordAdmin


class ReadOnlyInline(admin.TabularInline[_M, Review]):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RiskAssessment)
class RiskAssessmentAdmin(ReadOnlyAdmin[RiskAssessment]):
    list_display = ["project", "eu_tier", "high_impact", "rule", "assessor", "created_at"]
    list_filter = ["eu_tier", "high_impact"]
    search_fields = ["project__name", "rule", "rationale"]
    list_select_related = ["project", "assessor"]
    date_hierarchy = "created_at"


class ReviewCommentInline(ReadOnlyInline[ReviewComment]):
    model = ReviewComment
    fields = readonly_fields = ("author", "text", "created_at")


class ReviewConditionInline(ReadOnlyInline[ReviewCondition]):
    model = ReviewCondition
    fields = readonly_fields = ("text", "due_date", "met", "met_by", "met_at", "met_note")


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin[Review]):
    list_display = [
        "project",
        "cycle",
        "status",
        "tier",
        "reviewer",
        "submitted_at",
        "due_date",
        "decided_at",
    ]
    list_filter = ["status", "tier"]
    search_fields = ["project__name", "decision_note", "submission_note"]
    list_select_related = ["project", "reviewer"]
    date_hierarchy = "submitted_at"
    inlines = [ReviewConditionInline, ReviewCommentInline]


@admin.register(ReviewComment)
class ReviewCommentAdmin(ReadOnlyAdmin[ReviewComment]):
    list_display = ["review", "author", "created_at"]
    search_fields = ["text", "review__project__name"]
    list_select_related = ["review__project", "author"]


@admin.register(ReviewCondition)
class ReviewConditionAdmin(ReadOnlyAdmin[ReviewCondition]):
    list_display = ["__str__", "review", "due_date", "met", "met_by", "met_at"]
    list_filter = ["met"]
    search_fields = ["text", "review__project__name"]
    list_select_related = ["review__project", "met_by"]


class _CatalogueAdmin(admin.ModelAdmin[_M]):
    save_service: Any = None
    fields_saved: tuple[str, ...] = ()
    kwarg = ""

    def save_model(
        self, request: HttpRequest, obj: _M, form: forms.ModelForm[_M], change: bool
    ) -> None:
        names = form.changed_data if change else list(form.cleaned_data)
        data = {n: form.cleaned_data[n] for n in names if n in self.fields_saved}
        # The form has already copied its values onto `obj`; the service diffs a fresh copy.
        instance = type(obj)._default_manager.get(pk=obj.pk) if change else type(obj)()
        saved = type(self).save_service(actor=request.user, data=data, **{self.kwarg: instance})
        obj.pk = saved.pk

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Framework)
class FrameworkAdmin(_CatalogueAdmin[Framework]):
    list_display = ["name", "code", "version", "position"]
    search_fields = ["name", "code"]
    save_service = staticmethod(services.framework_save)
    fields_saved = services.FRAMEWORK_FIELDS
    kwarg = "framework"


@admin.register(Control)
class ControlAdmin(_CatalogueAdmin[Control]):
    list_display = ["identifier", "title", "framework", "applies_to_tiers", "high_impact_only"]
    list_filter = ["framework", "high_impact_only"]
    search_fields = ["identifier", "title", "description"]
    list_select_related = ["framework"]
    save_service = staticmethod(services.control_save)
    fields_saved = services.CONTROL_FIELDS
    kwarg = "control"


@admin.register(ControlStatus)
class ControlStatusAdmin(admin.ModelAdmin[ControlStatus]):
    list_display = ["project", "control", "status", "set_by", "set_at"]
    list_filter = ["status", "control__framework"]
    search_fields = ["project__name", "control__identifier", "note", "justification"]
    list_select_related = ["project", "control", "set_by"]
    autocomplete_fields = ["project"]
    fields = ["project", "control", "status", "evidence_url", "note", "justification"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["project", "control"] if obj else []

    def save_model(
        self,
        request: HttpRequest,
        obj: ControlStatus,
        form: forms.ModelForm[ControlStatus],
        change: bool,
    ) -> None:
        saved = services.control_status_set(
            actor=request.user,
            project=obj.project,
            control=obj.control,
            status=form.cleaned_data["status"],
            evidence_url=form.cleaned_data.get("evidence_url") or "",
            note=form.cleaned_data.get("note") or "",
            justification=form.cleaned_data.get("justification") or "",
        )
        obj.pk = saved.pk

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class WebhookEndpointForm(forms.ModelForm[WebhookEndpoint]):
    """The secret is write-only: never shown, kept when left blank on change."""

    url = forms.URLField(max_length=1000, assume_scheme="https")
    secret = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        min_length=16,
        help_text="Key of the X-Maestro-Signature HMAC. Leave blank to keep the current one.",
    )
    events = forms.MultipleChoiceField(
        choices=WebhookEndpoint.Event.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "secret", "events", "active"]

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        if not url.lower().startswith(("http://", "https://")):
            raise forms.ValidationError("Only http and https URLs are delivered.")
        return url

    def clean_secret(self) -> str:
        secret: str = self.cleaned_data.get("secret") or ""
        if not secret and self.instance.pk:
            return self.instance.secret
        if not secret:
            raise forms.ValidationError("Set a secret (16 characters or more).")
        return secret


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin[WebhookEndpoint]):
    form = WebhookEndpointForm
    list_display = ["name", "url", "events", "active", "updated_at"]
    list_filter = ["active"]
    search_fields = ["name", "url"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def save_model(
        self,
        request: HttpRequest,
        obj: WebhookEndpoint,
        form: forms.ModelForm[WebhookEndpoint],
        change: bool,
    ) -> None:
        """Through the audited service: the form has filled `obj`; the service compares it with
        the stored endpoint and records what changed (never the secret itself)."""
        stored = WebhookEndpoint.objects.get(pk=obj.pk) if change else None
        data = {name: getattr(obj, name) for name in services.WEBHOOK_EDITABLE}
        saved = services.webhook_endpoint_save(actor=request.user, endpoint=stored, data=data)
        obj.pk = saved.pk
        obj.created_by_id = saved.created_by_id

    def delete_model(self, request: HttpRequest, obj: WebhookEndpoint) -> None:
        services.webhook_endpoint_delete(actor=request.user, endpoint=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            services.webhook_endpoint_delete(actor=request.user, endpoint=endpoint)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin[WebhookDelivery]):
    """The delivery log: every event sent to every endpoint, with its last attempt."""

    list_display = [
        "created_at",
        "event",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "delivered_at",
    ]
    list_filter = ["status", "event", "endpoint"]
    search_fields = ["event_id", "last_error"]
    list_select_related = ["endpoint"]
    date_hierarchy = "created_at"


# --- Metrics and background runs: results of the engine, read-only ------------------------------
# Pairs are confirmed or dismissed on the overlap explorer or through the API (audited there).


@admin.register(MetricRun)
class MetricRunAdmin(ReadOnlyAdmin[MetricRun]):
    list_display = [
        "started_at",
        "kind",
        "status",
        "progress",
        "finished_at",
        "scheduled_for",
        "task_id",
    ]
    list_filter = ["kind", "status"]
    search_fields = ["task_id", "error"]
    date_hierarchy = "started_at"


@admin.register(MetricLock)
class MetricLockAdmin(ReadOnlyAdmin[MetricLock]):
    list_display = ["name", "holder", "acquired_at"]


@admin.register(OverlapPair)
class OverlapPairAdmin(ReadOnlyAdmin[OverlapPair]):
    list_display = ["project_a", "project_b", "score", "grade", "cross_unit", "review_status"]
    list_filter = ["grade", "cross_unit", "review_status", "current"]
    search_fields = ["project_a__name", "project_b__name"]
    list_select_related = ["project_a", "project_b"]
    show_full_result_count = False  # hundreds of thousands of pairs at 100k projects


@admin.register(OverlapCluster)
class OverlapClusterAdmin(ReadOnlyAdmin[OverlapCluster]):
    list_display = [
        "label",
        "size",
        "unit_count",
        "combined_cost",
        "consolidation_estimate",
        "cross_unit",
        "hygiene",
        "run",
    ]
    list_filter = ["cross_unit", "hygiene"]
    search_fields = ["label"]
    exclude = ["members"]  # the explorer lists them; a cluster may hold hundreds
    show_full_result_count = False


@admin.register(MetricSnapshot)
class MetricSnapshotAdmin(ReadOnlyAdmin[MetricSnapshot]):
    list_display = ["date", "metric", "scope", "value", "run"]
    list_filter = ["metric"]
    search_fields = ["metric", "scope"]
    date_hierarchy = "date"
    show_full_result_count = False


@admin.register(SimilarityIndexBlob)
class SimilarityIndexBlobAdmin(ReadOnlyAdmin[SimilarityIndexBlob]):
    list_display = ["run", "project_count", "built_through", "created_at"]
    exclude = ["data"]  # the serialised index: megabytes of bytes


@admin.register(DailyJobRun)
class DailyJobRunAdmin(ReadOnlyAdmin[DailyJobRun]):
    """Daily beat jobs, one row per job and day: whether a day was done, caught up or retried."""

    list_display = ["day", "job", "started_at", "finished_at", "attempts", "task_id"]
    list_filter = ["job"]
    date_hierarchy = "day"
