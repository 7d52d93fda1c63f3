"""Admin for every registry model. Writes go through the services, so they are audited too."""

from __future__ import annotations

from typing import Any, TypeVar

from django import forms
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.urls import URLPattern, path
from django.utils import timezone

from portfolio import audit, roles, selectors, services
from portfolio.models import (
    AuditEvent,
    BusinessUnit,
    Capability,
    GoalAlignment,
    ImportJob,
    Membership,
    OutboxMessage,
    Project,
    StrategicGoal,
    Tool,
    ToolAdoption,
)

_M = TypeVar("_M", bound=Model)


class ServiceAdmin(admin.ModelAdmin[_M]):
    """Saves through `create_service` / `update_service` (which also write the audit event)."""

    create_service: Any = None
    update_service: Any = None
    update_kwarg: str = ""

    def _data(self, form: forms.ModelForm[_M]) -> dict[str, Any]:
        return {
            name: form.cleaned_data[name] for name in form.changed_data if name in form.cleaned_data
        }

    def save_model(
        self, request: HttpRequest, obj: _M, form: forms.ModelForm[_M], change: bool
    ) -> None:
        if change:
            saved = type(self).update_service(
                actor=request.user, data=self._data(form), **{self.update_kwarg: obj}
            )
        else:
            data = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
            saved = type(self).create_service(actor=request.user, data=data)
        obj.pk = saved.pk

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm[_M], formsets: Any, change: bool
    ) -> None:
        # Many-to-many fields were saved by the service; only inline formsets remain.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


class MembershipInline(admin.TabularInline[Membership, BusinessUnit]):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(BusinessUnit)
class BusinessUnitAdmin(ServiceAdmin[BusinessUnit]):
    list_display = ["code", "name", "parent"]
    search_fields = ["code", "name"]
    list_select_related = ["parent"]
    autocomplete_fields = ["parent"]
    create_service = staticmethod(services.business_unit_create)
    update_service = staticmethod(services.business_unit_update)
    update_kwarg = "unit"


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    list_display = ["user", "business_unit", "role"]
    list_filter = ["role"]
    search_fields = ["user__username", "business_unit__code", "business_unit__name"]
    autocomplete_fields = ["user", "business_unit"]
    list_select_related = ["user", "business_unit"]

    def save_model(
        self, request: HttpRequest, obj: Membership, form: forms.ModelForm[Membership], change: bool
    ) -> None:
        saved = services.membership_set(
            actor=request.user, user=obj.user, business_unit=obj.business_unit, role=obj.role
        )
        obj.pk = saved.pk


@admin.register(StrategicGoal)
class StrategicGoalAdmin(ServiceAdmin[StrategicGoal]):
    list_display = ["title", "owner", "period_start", "period_end", "active"]
    list_filter = ["active"]
    search_fields = ["title", "description"]
    create_service = staticmethod(services.goal_create)
    update_service = staticmethod(services.goal_update)
    update_kwarg = "goal"


@admin.register(Capability)
class CapabilityAdmin(ServiceAdmin[Capability]):
    list_display = ["name", "slug", "parent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    create_service = staticmethod(services.capability_create)
    update_service = staticmethod(services.capability_update)
    update_kwarg = "capability"


@admin.register(Tool)
class ToolAdmin(ServiceAdmin[Tool]):
    list_display = ["name", "vendor", "sanction_status"]
    list_filter = ["sanction_status"]
    search_fields = ["name", "vendor"]
    filter_horizontal = ["capabilities"]
    create_service = staticmethod(services.tool_create)
    update_service = staticmethod(services.tool_update)
    update_kwarg = "tool"


class ProjectAdminForm(forms.ModelForm[Project]):
    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Project
        fields = [*services.PROJECT_FIELDS, *services.PROJECT_M2M_FIELDS]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["expected_version"].initial = self.instance.version

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.instance.pk:
            current = (
                Project.objects.filter(pk=self.instance.pk)
                .values_list("version", flat=True)
                .first()
            )
            if cleaned.get("expected_version") != current:
                raise forms.ValidationError(
                    "Someone changed this project since you opened it. "
                    "Reload the page and redo your change."
                )
        return cleaned


@admin.register(Project)
class ProjectAdmin(ServiceAdmin[Project]):
    form = ProjectAdminForm
    list_display = [
        "name",
        "business_unit",
        "stage",
        "risk_tier",
        "review_status",
        "source",
        "updated_at",
    ]
    list_filter = ["stage", "risk_tier", "review_status", "source", "visibility", "topic_area"]
    search_fields = ["name", "external_ref", "problem"]
    list_select_related = ["business_unit"]
    autocomplete_fields = ["business_unit", "owner", "executive_sponsor"]
    filter_horizontal = ["tools", "capabilities"]
    readonly_fields = [
        "source",
        "risk_tier",
        "review_status",
        "version",
        "archived_at",
        "created_at",
        "updated_at",
    ]
    show_full_result_count = False

    def save_model(
        self, request: HttpRequest, obj: Project, form: forms.ModelForm[Project], change: bool
    ) -> None:
        if change:
            data = {n: form.cleaned_data[n] for n in form.changed_data if n != "expected_version"}
            services.project_update(
                actor=request.user,
                project=obj,
                expected_version=form.cleaned_data.get("expected_version"),
                data=data,
            )
        else:
            data = {k: v for k, v in form.cleaned_data.items() if k != "expected_version"}
            obj.pk = services.project_register(actor=request.user, data=data).pk


@admin.register(GoalAlignment)
class GoalAlignmentAdmin(admin.ModelAdmin[GoalAlignment]):
    list_display = ["project", "goal", "status", "strength"]
    list_filter = ["status"]
    autocomplete_fields = ["project", "goal"]
    list_select_related = ["project", "goal"]

    def save_model(
        self,
        request: HttpRequest,
        obj: GoalAlignment,
        form: forms.ModelForm[GoalAlignment],
        change: bool,
    ) -> None:
        if change:
            services.alignment_update(
                actor=request.user,
                alignment=obj,
                data={n: form.cleaned_data[n] for n in form.changed_data},
            )
        else:
            obj.pk = services.alignment_create(actor=request.user, data=form.cleaned_data).pk

    def delete_model(self, request: HttpRequest, obj: GoalAlignment) -> None:
        services.alignment_delete(actor=request.user, alignment=obj)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    """The audit trail, read-only. Admins (the admin role or superusers) may export what the
    list shows, its filters, search and date drill-down applied, or the selected events, as CSV.
    Others with access see only the events of their units (`selectors.audit_event_list`)."""

    list_display = [
        "created_at",
        "actor_label",
        "action",
        "target_type",
        "target_repr",
        "request_id",
    ]
    list_filter = ["action", "target_type"]
    search_fields = ["target_repr", "actor_label", "request_id", "target_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["export_selected"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        return selectors.audit_event_list(user=request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) or roles.is_admin(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) or roles.is_admin(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_export_permission(self, request: HttpRequest) -> bool:
        return roles.is_admin(request.user)

    def get_urls(self) -> list[URLPattern]:
        export = path(
            "export/",
            self.admin_site.admin_view(self.export_view),
            name="portfolio_auditevent_export",
        )
        return [export, *super().get_urls()]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {**(extra_context or {}), "can_export": self.has_export_permission(request)}
        return super().changelist_view(request, extra_context=context)

    def _csv_response(
        self, request: HttpRequest, events: QuerySet[AuditEvent], filters: Any
    ) -> StreamingHttpResponse:
        # Recorded first (the rows are read while streaming); the file leaves its own record out.
        record = audit.record_export(actor=request.user, filters=filters)
        response = StreamingHttpResponse(
            audit.stream_csv(events.exclude(pk=record.pk)), content_type="text/csv; charset=utf-8"
        )
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="maestro-audit-{stamp}.csv"'
        return response

    def export_view(self, request: HttpRequest) -> HttpResponseBase:
        """`GET …/auditevent/export/?<the list's query string>`: every event the list shows."""
        if not self.has_export_permission(request):
            raise PermissionDenied("Only admins may export the audit trail.")
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters as exc:
            return HttpResponseBadRequest(f"Unknown audit filter: {exc}")
        filters = {key: request.GET.getlist(key) for key in sorted(request.GET)}
        return self._csv_response(request, changelist.get_queryset(request), filters)

    @admin.action(description="Export selected audit events as CSV", permissions=["export"])
    def export_selected(
        self, request: HttpRequest, queryset: QuerySet[AuditEvent]
    ) -> StreamingHttpResponse:
        filters = {"selected": queryset.count()}
        return self._csv_response(request, queryset.order_by("-created_at", "-id"), filters)


@admin.register(ToolAdoption)
class ToolAdoptionAdmin(admin.ModelAdmin[ToolAdoption]):
    """Which unit uses which tool for what (loaded by imports such as omb-2025-cots)."""

    list_display = ["business_unit", "tool", "task", "estimated_users", "source", "updated_at"]
    list_filter = ["source", "tool__sanction_status"]
    search_fields = ["business_unit__name", "business_unit__code", "tool__name", "task", "raw_name"]
    list_select_related = ["business_unit", "tool"]
    autocomplete_fields = ["business_unit", "tool"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RecordAdmin(admin.ModelAdmin[_M]):
    """Records the system keeps (import jobs, the outbox): read here, never edited by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ImportJob)
class ImportJobAdmin(RecordAdmin[ImportJob]):
    """Uploads from the import page: who, which file and format, progress and the row report."""

    list_display = [
        "created_at",
        "original_name",
        "format",
        "created_by",
        "status",
        "processed_rows",
        "total_rows",
        "finished_at",
    ]
    list_filter = ["status", "format", "dry_run", "skip_invalid"]
    search_fields = ["original_name", "error"]
    list_select_related = ["created_by"]
    date_hierarchy = "created_at"
    exclude = ["content"]  # the uploaded file itself: megabytes of bytes, not for a page


@admin.register(OutboxMessage)
class OutboxMessageAdmin(RecordAdmin[OutboxMessage]):
    """Background jobs recorded with the writes that asked for them; pending ones (not yet
    dispatched, e.g. while the broker was down) are sent by `flush_outbox`."""

    list_display = [
        "created_at",
        "task_name",
        "dispatched_at",
        "attempts",
        "claimed_at",
        "short_error",
    ]
    list_filter = [("dispatched_at", admin.EmptyFieldListFilter), "task_name"]
    search_fields = ["task_name", "last_error"]
    date_hierarchy = "created_at"

    @admin.display(description="last error")
    def short_error(self, obj: OutboxMessage) -> str:
        return obj.last_error[:120]
