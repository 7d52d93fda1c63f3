"""REST API of governance (/api/v1/): thin viewsets over governance selectors and services."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar, cast

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from governance import risk, selectors, services
from governance.filters import (
    ComplianceForm,
    ControlFilterSet,
    ReviewFilterSet,
    ReviewQueueForm,
    RiskAssessmentFilterSet,
    unit_ids_with_descendants,
)
from governance.models import Control, Framework, Review, RiskAssessment
from governance.serializers import (
    CommentInputSerializer,
    ComplianceRowSerializer,
    ConditionMetSerializer,
    ControlSerializer,
    FrameworkSerializer,
    ProjectControlSerializer,
    QuestionSerializer,
    QueueEntrySerializer,
    ReviewAssignSerializer,
    ReviewCommentSerializer,
    ReviewDecideSerializer,
    ReviewOutputSerializer,
    ReviewSubmitSerializer,
    RiskAssessmentInputSerializer,
    RiskAssessmentOutputSerializer,
)
from portfolio import selectors as portfolio_selectors
from portfolio.api_errors import Conflict
from portfolio.api_pagination import BoundedPageNumberPagination, CappedCountPaginator

CONFLICT = OpenApiResponse(description="Illegal transition; `detail` says why.")
FORBIDDEN = OpenApiResponse(description="Your role may not do this.")

_M = TypeVar("_M", bound=Model)


class _GovernanceViewSet(viewsets.GenericViewSet[_M]):
    """Workflow errors (services.TransitionError) answer 409 with the reason."""

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, services.TransitionError):
            exc = Conflict(str(exc))
        return super().handle_exception(exc)

    def _page(self, items: Sequence[Any] | selectors.ReviewQueue) -> Iterable[Any]:
        """One page of a list computed in Python, or of the lazy review queue (the usual page
        and page_size parameters)."""
        # The paginator takes len() and a slice, which the queue has; DRF's stubs want a Sequence.
        page = self.paginate_queryset(cast("Sequence[Any]", items))
        return items if page is None else list(page)

    def _visible_projects(self, *, include_archived: bool = False) -> QuerySet[Any]:
        return portfolio_selectors.project_queryset(
            user=self.request.user, include_archived=include_archived
        )


def _form_or_400(form: forms.Form) -> dict[str, Any]:
    if not form.is_valid():
        raise ValidationError({field: list(errors) for field, errors in form.errors.items()})
    return form.cleaned_data


class RiskAssessmentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, _GovernanceViewSet[RiskAssessment]
):
    """Risk assessments of visible projects. Creating one records a new assessment; the newest
    assessment of a project sets its risk tier."""

    serializer_class = RiskAssessmentOutputSerializer
    filterset_class = RiskAssessmentFilterSet
    ordering_fields = ["created_at", "eu_tier"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> QuerySet[RiskAssessment]:
        return selectors.risk_assessment_list(user=self.request.user)

    @extend_schema(
        request=RiskAssessmentInputSerializer,
        responses={201: RiskAssessmentOutputSerializer, 403: FORBIDDEN},
    )
    def create(self, request: Request) -> Response:
        serializer = RiskAssessmentInputSerializer(data=request.data)
        project_field: Any = serializer.fields["project"]
        project_field.queryset = self._visible_projects()
        serializer.is_valid(raise_exception=True)
        assessment = services.risk_assessment_record(
            actor=request.user,
            project=serializer.validated_data["project"],
            answers=serializer.validated_data["answers"],
        )
        fresh = self.get_queryset().get(pk=assessment.pk)
        return Response(self.get_serializer(fresh).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: QuestionSerializer(many=True)})
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def questionnaire(self, request: Request) -> Response:
        """The questions, their legal reference and, for choices, the codes to send."""
        data = [
            {
                "key": q.key,
                "group": q.group,
                "reference": q.reference,
                "text": q.text,
                "choices": dict(q.choices) if q.choices is not None else None,
            }
            for q in risk.QUESTIONS
        ]
        return Response(QuestionSerializer(data, many=True).data)


class ReviewPagination(BoundedPageNumberPagination):
    """Review lists count up to the review queue's bound (1,000), not API_MAX_COUNT: counting
    tens of thousands of reviews joined to their projects would cost more than the page."""

    # A factory where DRF declares a class (called alike); BoundedPageNumberPagination does so too.
    def django_paginator_class(self, *args: Any, **kwargs: Any) -> CappedCountPaginator:  # type: ignore[override]
        paginator = CappedCountPaginator(*args, **kwargs)
        paginator.cap = selectors.queue_max_count()
        return paginator


class ReviewViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _GovernanceViewSet[Review]):
    """Review passes of visible projects, and the workflow steps on them. The list counts
    matching reviews up to 1,000 (`count_is_exact` is false beyond: narrow the filters)."""

    serializer_class = ReviewOutputSerializer
    pagination_class = ReviewPagination
    filterset_class = ReviewFilterSet
    ordering_fields = ["submitted_at", "due_date", "decided_at", "cycle"]
    ordering = ["-submitted_at", "-id"]

    def get_queryset(self) -> QuerySet[Review]:
        return selectors.review_list(user=self.request.user)

    def _review(self) -> Review:
        return selectors.review_get(user=self.request.user, pk=self.kwargs["pk"])

    def _respond(self, review: Review, code: int = status.HTTP_200_OK) -> Response:
        fresh = selectors.review_get(user=self.request.user, pk=review.pk)
        return Response(ReviewOutputSerializer(fresh).data, status=code)

    @extend_schema(
        request=ReviewSubmitSerializer,
        responses={201: ReviewOutputSerializer, 403: FORBIDDEN, 409: CONFLICT},
    )
    @action(detail=False, methods=["post"])
    def submit(self, request: Request) -> Response:
        """Submit a project for review (leads of its unit, or its owner). Opens a new pass."""
        serializer = ReviewSubmitSerializer(data=request.data)
        project_field: Any = serializer.fields["project"]
        project_field.queryset = self._visible_projects(include_archived=True)
        serializer.is_valid(raise_exception=True)
        review = services.review_submit(
            actor=request.user,
            project=serializer.validated_data["project"],
            note=serializer.validated_data["note"],
        )
        return self._respond(review, status.HTTP_201_CREATED)

    @extend_schema(
        request=None, responses={200: ReviewOutputSerializer, 403: FORBIDDEN, 409: CONFLICT}
    )
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: str | None = None) -> Response:
        """submitted → in_review (reviewers; an unassigned review goes to whoever starts it)."""
        review = services.review_start(actor=request.user, review=self._review())
        return self._respond(review)

    @extend_schema(
        request=ReviewAssignSerializer,
        responses={200: ReviewOutputSerializer, 403: FORBIDDEN, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str | None = None) -> Response:
        """Give an open review to a reviewer who neither owns nor sponsors the project."""
        review = self._review()
        serializer = ReviewAssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = services.review_assign(
            actor=request.user, review=review, reviewer=serializer.validated_data["reviewer"]
        )
        return self._respond(review)

    @extend_schema(
        request=ReviewDecideSerializer,
        responses={200: ReviewOutputSerializer, 403: FORBIDDEN, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def decide(self, request: Request, pk: str | None = None) -> Response:
        """in_review → approved | approved_with_conditions | changes_requested | rejected."""
        review = self._review()
        serializer = ReviewDecideSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        review = services.review_decide(
            actor=request.user,
            review=review,
            decision=data["decision"],
            note=data["note"],
            conditions=data["conditions"],
        )
        return self._respond(review)

    @extend_schema(
        methods=["GET"], request=None, responses={200: ReviewCommentSerializer(many=True)}
    )
    @extend_schema(
        methods=["POST"],
        request=CommentInputSerializer,
        responses={201: ReviewCommentSerializer, 403: FORBIDDEN},
    )
    @action(
        detail=True,
        methods=["get", "post"],
        filterset_class=None,
        pagination_class=None,
        ordering_fields=None,
    )
    def comments(self, request: Request, pk: str | None = None) -> Response:
        """The review's comments, oldest first; POST adds one."""
        review = self._review()
        if request.method == "GET":
            return Response(ReviewCommentSerializer(review.comments.all(), many=True).data)
        serializer = CommentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = services.review_comment_add(
            actor=request.user, review=review, text=serializer.validated_data["text"]
        )
        return Response(ReviewCommentSerializer(comment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ConditionMetSerializer,
        responses={200: ReviewOutputSerializer, 403: FORBIDDEN, 409: CONFLICT},
        parameters=[OpenApiParameter("condition_pk", OpenApiTypes.INT, OpenApiParameter.PATH)],
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"conditions/(?P<condition_pk>\d+)/met",
        url_name="condition-met",
    )
    def condition_met(
        self, request: Request, pk: str | None = None, condition_pk: str | None = None
    ) -> Response:
        """A reviewer confirms that a condition of the approval is met."""
        review = self._review()
        condition = selectors.condition_get(review=review, pk=condition_pk or "")
        serializer = ConditionMetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.condition_mark_met(
            actor=request.user, condition=condition, note=serializer.validated_data["note"]
        )
        return self._respond(review)


class FrameworkViewSet(viewsets.ReadOnlyModelViewSet[Framework]):
    """The control catalogues (EU AI Act, NIST AI RMF, ISO/IEC 42001 Annex A, OMB M-25-21)."""

    serializer_class = FrameworkSerializer
    ordering_fields = ["position", "name", "code"]
    ordering = ["position", "name"]

    def get_queryset(self) -> QuerySet[Framework]:
        return selectors.framework_list(user=self.request.user)


class ControlViewSet(viewsets.ReadOnlyModelViewSet[Control]):
    """Controls of every framework; filter by framework, tier or high-impact."""

    serializer_class = ControlSerializer
    filterset_class = ControlFilterSet
    ordering_fields = ["identifier", "position"]
    ordering = ["framework__position", "position", "id"]

    def get_queryset(self) -> QuerySet[Control]:
        return selectors.control_list(user=self.request.user)


PROJECT_PK = OpenApiParameter("project_pk", OpenApiTypes.INT, OpenApiParameter.PATH)
CONTROL_PK = OpenApiParameter(
    "id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Control id"
)


class ProjectControlViewSet(_GovernanceViewSet[Any]):
    """The controls that apply to one project (by its tier and high-impact flag) and its status
    on each. Writable by whoever may edit the project."""

    serializer_class = ProjectControlSerializer
    filter_backends: list[Any] = []
    lookup_value_regex = r"\d+"
    # Items are computed per project, not a queryset: no OPTIONS metadata (405).
    metadata_class = None

    def _project(self) -> Any:
        return portfolio_selectors.project_get(
            user=self.request.user, pk=self.kwargs["project_pk"], include_archived=True
        )

    def _item(self, project: Any, control_pk: str) -> selectors.ProjectControl:
        for item in selectors.project_controls(project=project):
            if str(item.control.pk) == control_pk:
                return item
        raise Http404("This control does not apply to the project.")

    @extend_schema(
        parameters=[
            PROJECT_PK,
            OpenApiParameter("framework", OpenApiTypes.STR, description="Framework code or id"),
        ],
        responses={200: ProjectControlSerializer(many=True)},
    )
    def list(self, request: Request, project_pk: str | None = None) -> Response:
        items = selectors.project_controls(
            project=self._project(), framework=request.query_params.get("framework") or None
        )
        rows = [ProjectControlSerializer.data_of(i) for i in self._page(items)]
        return self.get_paginated_response(ProjectControlSerializer(rows, many=True).data)

    @extend_schema(parameters=[PROJECT_PK, CONTROL_PK], responses={200: ProjectControlSerializer})
    def retrieve(
        self, request: Request, project_pk: str | None = None, pk: str | None = None
    ) -> Response:
        item = self._item(self._project(), pk or "")
        return Response(ProjectControlSerializer(ProjectControlSerializer.data_of(item)).data)

    @extend_schema(
        parameters=[PROJECT_PK, CONTROL_PK],
        request=ProjectControlSerializer,
        responses={200: ProjectControlSerializer, 403: FORBIDDEN},
    )
    def update(
        self, request: Request, project_pk: str | None = None, pk: str | None = None
    ) -> Response:
        """Set the project's status on the control (not_applicable needs a justification,
        met needs evidence: a link or a note)."""
        project = self._project()
        try:
            control = Control.objects.get(pk=pk or "")
        except (Control.DoesNotExist, ValueError) as exc:
            raise Http404("No such control.") from exc
        serializer = ProjectControlSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.control_status_set(
            actor=request.user, project=project, control=control, **serializer.validated_data
        )
        item = self._item(project, str(control.pk))
        return Response(ProjectControlSerializer(ProjectControlSerializer.data_of(item)).data)


class ComplianceViewSet(_GovernanceViewSet[Any]):
    """Share of applicable controls met or justified not applicable, for visible projects."""

    serializer_class = ComplianceRowSerializer
    filter_backends: list[Any] = []

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "by", OpenApiTypes.STR, enum=["unit", "framework", "project"], default="unit"
            ),
            OpenApiParameter("unit", OpenApiTypes.STR, description="Unit id or code (and below)"),
            OpenApiParameter("framework", OpenApiTypes.STR, description="Framework code or id"),
            OpenApiParameter("tier", OpenApiTypes.STR, many=True, description="Project tier"),
            OpenApiParameter("project", OpenApiTypes.INT),
            OpenApiParameter(
                "rollup",
                OpenApiTypes.BOOL,
                description="With by=unit: a unit's figures include every unit below it (an "
                "agency includes its bureaus); rows come in tree order with `parent` and `own`.",
            ),
        ],
        responses={200: ComplianceRowSerializer(many=True)},
    )
    def list(self, request: Request) -> Response:
        params = _form_or_400(ComplianceForm(request.query_params))
        projects = self._visible_projects()
        unit_ids = unit_ids_with_descendants(params["unit"]) if params["unit"] else None
        if unit_ids is not None:
            projects = projects.filter(business_unit_id__in=unit_ids)
        if params["tier"]:
            projects = projects.filter(risk_tier__in=params["tier"])
        if params["project"] is not None:
            projects = projects.filter(pk=params["project"])
        frameworks = {f.pk: f for f in Framework.objects.all()}
        framework_ids = None
        if params["framework"]:
            wanted = params["framework"]
            framework_ids = {pk for pk, f in frameworks.items() if wanted in (f.code, str(pk))}
        by = params["by"] or "unit"
        compute = {
            "unit": selectors.compliance_by_unit,
            "project": selectors.compliance_by_project,
            "framework": selectors.compliance_by_framework,
        }[by]
        if by == "unit":
            rows = selectors.compliance_by_unit(
                user=request.user,
                projects=projects,
                framework_ids=framework_ids,
                rollup=params["rollup"],
            )
            if unit_ids is not None:  # not the ancestors of the chosen units
                rows = [row for row in rows if row.key in unit_ids]
        else:
            rows = compute(user=request.user, projects=projects, framework_ids=framework_ids)
        data = [self._row(row, frameworks) for row in rows]
        page = self._page(data)
        return self.get_paginated_response(ComplianceRowSerializer(page, many=True).data)

    @staticmethod
    def _figure(figure: selectors.Compliance) -> dict[str, Any]:
        return {
            "applicable": figure.applicable,
            "met": figure.met,
            "not_applicable": figure.not_applicable,
            "satisfied": figure.satisfied,
            "share": figure.share,
        }

    def _row(
        self, row: selectors.ComplianceRow, frameworks: dict[int, Framework]
    ) -> dict[str, Any]:
        return {
            "id": row.key,
            "label": row.label,
            "parent": row.parent,
            "own": self._figure(row.own) if row.own is not None else None,
            **self._figure(row.total),
            "frameworks": [
                {"framework": frameworks[pk], **self._figure(figure)}
                for pk, figure in sorted(
                    row.frameworks.items(),
                    key=lambda item: (frameworks[item[0]].position, frameworks[item[0]].name),
                )
            ],
        }


class ReviewQueueViewSet(_GovernanceViewSet[Any]):
    """Open reviews and yearly re-reviews due, of visible projects, soonest due first (on the
    same day: reviews in submission order, then re-reviews). Open reviews are counted up to
    1,000 (`count_is_exact` is false when the count stopped there; narrow the filters)."""

    serializer_class = QueueEntrySerializer
    filter_backends: list[Any] = []

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "status",
                OpenApiTypes.STR,
                many=True,
                enum=["submitted", "in_review", selectors.QUEUE_REREVIEW],
            ),
            OpenApiParameter(
                "tier", OpenApiTypes.STR, many=True, enum=list(risk.Tier), description="Tier"
            ),
            OpenApiParameter("unit", OpenApiTypes.STR, description="Unit id or code (and below)"),
            OpenApiParameter("overdue", OpenApiTypes.BOOL),
            OpenApiParameter("assigned", OpenApiTypes.STR, enum=["me"]),
        ],
        responses={200: QueueEntrySerializer(many=True)},
    )
    def list(self, request: Request) -> Response:
        params = _form_or_400(ReviewQueueForm(request.query_params))
        entries = selectors.review_queue(
            user=request.user,
            statuses=params["status"],
            tiers=params["tier"],
            unit_ids=unit_ids_with_descendants(params["unit"]) if params["unit"] else None,
            overdue=params["overdue"],
            assigned_to=request.user if params["assigned"] == "me" else None,
        )
        page = self._page(entries)
        response = self.get_paginated_response(QueueEntrySerializer(page, many=True).data)
        # The queue counts open reviews up to a bound (selectors.QUEUE_MAX_COUNT), as the
        # paginator does for lists.
        response.data["count_is_exact"] = entries.count_is_exact
        return response
