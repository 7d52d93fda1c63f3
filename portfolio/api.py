"""REST API of the registry (/api/v1/): thin viewsets over selectors and services."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model, QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, renderers, status, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.throttling import AnonRateThrottle

from portfolio import selectors, services
from portfolio.api_errors import PreconditionFailed
from portfolio.api_pagination import BoundedPageNumberPagination
from portfolio.filters import (
    AuditEventFilterSet,
    BusinessUnitFilterSet,
    GoalAlignmentFilterSet,
    ProjectFilterSet,
    ToolFilterSet,
)
from portfolio.models import (
    AuditEvent,
    BusinessUnit,
    Capability,
    GoalAlignment,
    Project,
    StrategicGoal,
    Tool,
)
from portfolio.serializers import (
    AuditEventSerializer,
    BusinessUnitSerializer,
    CapabilitySerializer,
    GoalAlignmentSerializer,
    ProjectInputSerializer,
    ProjectOutputSerializer,
    StrategicGoalSerializer,
    ToolSerializer,
)

_M = TypeVar("_M", bound=Model)

_ETAG_VERSION = re.compile(r'^(?:W/)?"?(\d{1,9})"?$')

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description='The ETag you read (e.g. "3"). Missing: 428. Stale: 412.',
)


def expected_version(request: Request) -> int | None:
    """The version the client read, from If-Match; None when absent (the service answers 428)."""
    header = request.headers.get("If-Match", "").strip()
    if not header:
        return None
    match = _ETAG_VERSION.match(header.split(",")[0].strip())
    if match is None:
        raise PreconditionFailed('If-Match must carry the project\'s ETag, e.g. "3".')
    return int(match.group(1))


def etag(project: Project) -> str:
    return f'"{project.version}"'


class CSVRenderer(renderers.BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        return b"" if data is None else str(data).encode("utf-8")


class ProjectViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[Project],
):
    """AI projects. Reads honour visibility; writes carry the version read (If-Match)."""

    serializer_class = ProjectOutputSerializer
    filterset_class = ProjectFilterSet
    ordering_fields = [
        "name",
        "created_at",
        "updated_at",
        "stage",
        "risk_tier",
        "review_status",
        "annual_cost",
        "expected_annual_benefit",
        "business_unit__name",
    ]
    ordering = ["name", "id"]

    def get_queryset(self) -> QuerySet[Project]:
        include_archived = self.action not in {"list", "export"} or (
            self.request.query_params.get("archived") == "true"
        )
        queryset = selectors.project_list(
            user=self.request.user,
            include_archived=include_archived,
            # Read by the serializer only: the export and the writes keep the related managers.
            relations_as_lists=self.action in {"list", "retrieve"},
        )
        if (
            self.action in {"list", "export"}
            and self.request.query_params.get("archived") == "true"
        ):
            queryset = queryset.filter(archived_at__isnull=False)
        return queryset

    def paginate_queryset(self, queryset: Any) -> Any:
        # A search that matches few projects reads its page sorted after the match; one that
        # matches many keeps the plan along the sort order's index, which finds a page sooner.
        searching = self.action == "list" and bool(self.request.query_params.get("q", "").strip())
        paginator = self.paginator
        if (
            searching
            and isinstance(paginator, BoundedPageNumberPagination)  # the default: settings.py
            and connection.vendor == "postgresql"
        ):
            paginator.few_rows = selectors.SEARCH_SORT_AFTER_MATCH
            paginator.few_rows_ordering = selectors.sorted_after_match
        return super().paginate_queryset(queryset)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        project = self.get_object()
        response = Response(self.get_serializer(project).data)
        response["ETag"] = etag(project)
        return response

    def _respond(self, project: Project, code: int = status.HTTP_200_OK) -> Response:
        fresh = selectors.project_get(
            user=self.request.user, pk=project.pk, relations_as_lists=True
        )
        response = Response(ProjectOutputSerializer(fresh).data, status=code)
        response["ETag"] = etag(fresh)
        return response

    @extend_schema(request=ProjectInputSerializer, responses={201: ProjectOutputSerializer})
    def create(self, request: Request) -> Response:
        serializer = ProjectInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = services.project_register(actor=request.user, data=serializer.validated_data)
        return self._respond(project, status.HTTP_201_CREATED)

    def _update(self, request: Request, *, partial: bool) -> Response:
        project = self.get_object()
        version = expected_version(request)
        serializer = ProjectInputSerializer(project, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        project = services.project_update(
            actor=request.user,
            project=project,
            expected_version=version,
            data=serializer.validated_data,
        )
        return self._respond(project)

    @extend_schema(
        request=ProjectInputSerializer,
        responses={
            200: ProjectOutputSerializer,
            412: OpenApiResponse(description="Stale version"),
            428: OpenApiResponse(description="If-Match missing"),
        },
        parameters=[IF_MATCH],
    )
    def update(self, request: Request, pk: str | None = None) -> Response:
        return self._update(request, partial=False)

    @extend_schema(
        request=ProjectInputSerializer,
        responses={200: ProjectOutputSerializer},
        parameters=[IF_MATCH],
    )
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        return self._update(request, partial=True)

    @extend_schema(responses={204: None}, parameters=[IF_MATCH])
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        """Archive the project (soft delete; restore with POST .../restore/)."""
        project = self.get_object()
        services.project_archive(
            actor=request.user, project=project, expected_version=expected_version(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: ProjectOutputSerializer}, parameters=[IF_MATCH])
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: str | None = None) -> Response:
        project = self.get_object()
        project = services.project_restore(
            actor=request.user, project=project, expected_version=expected_version(request)
        )
        return self._respond(project)

    @extend_schema(responses={200: AuditEventSerializer(many=True)})
    @action(detail=True, methods=["get"], filterset_class=None, ordering_fields=None)
    def history(self, request: Request, pk: str | None = None) -> Response:
        """Every recorded change of the project, newest first."""
        project = self.get_object()
        events = selectors.project_history(user=request.user, project=project)
        page = self.paginate_queryset(events)
        return self.get_paginated_response(AuditEventSerializer(page, many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("format", OpenApiTypes.STR, enum=["csv"], description="csv")],
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    @action(detail=False, methods=["get"], renderer_classes=[CSVRenderer])
    def export(self, request: Request) -> StreamingHttpResponse:
        """The filtered, visible projects as a maestro-csv file (importable as is)."""
        from portfolio import exporters

        queryset = self.filter_queryset(self.get_queryset())
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response = StreamingHttpResponse(
            exporters.stream_csv(queryset, "maestro-csv"), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="maestro-projects-{stamp}.csv"'
        return response


class _CatalogueViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[_M],
):
    """Shared shape of the catalogue endpoints: writes go through the named services."""

    selector: Callable[..., QuerySet[_M]]
    create_service: Callable[..., _M]
    update_service: Callable[..., _M]
    update_kwarg: str

    def get_queryset(self) -> QuerySet[_M]:
        return type(self).selector(user=self.request.user)

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = type(self).create_service(
            actor=self.request.user, data=serializer.validated_data
        )

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = type(self).update_service(
            actor=self.request.user,
            data=serializer.validated_data,
            **{self.update_kwarg: serializer.instance},
        )


class BusinessUnitViewSet(_CatalogueViewSet[BusinessUnit]):
    """Business units (a tree). Reviewers and admins create and change them."""

    serializer_class = BusinessUnitSerializer
    filterset_class = BusinessUnitFilterSet
    ordering_fields = ["name", "code"]
    ordering = ["name"]
    selector = staticmethod(selectors.business_unit_list)
    create_service = staticmethod(services.business_unit_create)
    update_service = staticmethod(services.business_unit_update)
    update_kwarg = "unit"


class StrategicGoalViewSet(_CatalogueViewSet[StrategicGoal]):
    serializer_class = StrategicGoalSerializer
    ordering_fields = ["title", "period_start", "period_end"]
    ordering = ["title"]
    selector = staticmethod(selectors.goal_list)
    create_service = staticmethod(services.goal_create)
    update_service = staticmethod(services.goal_update)
    update_kwarg = "goal"


class ToolViewSet(_CatalogueViewSet[Tool]):
    serializer_class = ToolSerializer
    filterset_class = ToolFilterSet
    ordering_fields = ["name", "vendor", "sanction_status"]
    ordering = ["name"]
    selector = staticmethod(selectors.tool_list)
    create_service = staticmethod(services.tool_create)
    update_service = staticmethod(services.tool_update)
    update_kwarg = "tool"


class CapabilityViewSet(_CatalogueViewSet[Capability]):
    serializer_class = CapabilitySerializer
    ordering_fields = ["name"]
    ordering = ["name"]
    selector = staticmethod(selectors.capability_list)
    create_service = staticmethod(services.capability_create)
    update_service = staticmethod(services.capability_update)
    update_kwarg = "capability"


class GoalAlignmentViewSet(_CatalogueViewSet[GoalAlignment], mixins.DestroyModelMixin):
    """Links between projects and goals; editable by whoever may edit the project."""

    serializer_class = GoalAlignmentSerializer
    filterset_class = GoalAlignmentFilterSet
    ordering_fields = ["created_at", "strength"]
    ordering = ["-created_at"]
    selector = staticmethod(selectors.alignment_list)
    create_service = staticmethod(services.alignment_create)
    update_service = staticmethod(services.alignment_update)
    update_kwarg = "alignment"

    def get_serializer(self, *args: Any, **kwargs: Any) -> BaseSerializer[GoalAlignment]:
        serializer = super().get_serializer(*args, **kwargs)
        if hasattr(serializer, "fields") and "project" in serializer.fields:
            # Only projects the user can see can be named (others answer "does not exist").
            serializer.fields["project"].queryset = selectors.project_queryset(
                user=self.request.user
            )
        return serializer

    def perform_destroy(self, instance: Any) -> None:
        services.alignment_delete(actor=self.request.user, alignment=instance)


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet[AuditEvent]):
    """The audit trail (read-only)."""

    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilterSet
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return selectors.audit_event_list(user=self.request.user)


class TokenSignInView(ObtainAuthToken):
    """`POST username, password` → `{"token": …}`. Shares the web sign-in's brute-force lockout."""

    throttle_classes = [AnonRateThrottle]

    def get_serializer_context(self) -> dict[str, Any]:
        # django-axes marks the Django request it is given; hand it the real one so that its
        # middleware answers 429 for a locked-out username or address.
        return {**super().get_serializer_context(), "request": self.request._request}
