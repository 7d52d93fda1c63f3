"""REST API of the metrics engine (/api/v1/): runs, overlap pairs and clusters, snapshots, and
the similar-project check. Goal suggestions are alignments with status `suggested`
(`/api/v1/alignments/?status=suggested`), confirmed or rejected through that API."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance import metrics_selectors, metrics_services
from governance.metrics.similar import SimilarityIndex
from governance.models import (
    CLUSTER_ORDERING,
    MetricRun,
    MetricSnapshot,
    OverlapCluster,
    OverlapPair,
)
from portfolio.models import Tool
from portfolio.selectors import project_queryset

# --- Serializers ---------------------------------------------------------------------------------


class UnitBriefSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class ProjectBriefSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    business_unit = UnitBriefSerializer()
    stage = serializers.CharField()
    review_status = serializers.CharField()
    risk_tier = serializers.CharField()


class MetricRunSerializer(serializers.ModelSerializer[MetricRun]):
    kind = serializers.CharField(help_text="full, incremental or snapshot.")
    status = serializers.CharField(help_text="running, succeeded, failed or skipped.")

    class Meta:
        model = MetricRun
        fields = [
            "id",
            "kind",
            "status",
            "started_at",
            "finished_at",
            "heartbeat_at",
            "progress",
            "counts",
            "error",
            "scheduled_for",
        ]


class MetricRunQueuedSerializer(serializers.Serializer[Any]):
    outbox_id = serializers.IntegerField()
    status = serializers.CharField()


class OverlapPairSerializer(serializers.ModelSerializer[OverlapPair]):
    project_a = ProjectBriefSerializer()
    project_b = ProjectBriefSerializer()
    review_status = serializers.CharField(help_text="open, confirmed or dismissed.")

    class Meta:
        model = OverlapPair
        fields = [
            "id",
            "project_a",
            "project_b",
            "score",
            "grade",
            "cross_unit",
            "reasons",
            "review_status",
            "reviewed_by",
            "reviewed_at",
            "review_note",
            "current",
            "first_seen_at",
            "updated_at",
        ]


class OverlapReviewSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=list(metrics_services.REVIEWABLE))
    note = serializers.CharField(required=False, allow_blank=True, default="")


class OverlapClusterSerializer(serializers.ModelSerializer[OverlapCluster]):
    members = serializers.SerializerMethodField()
    business_units = UnitBriefSerializer(many=True)
    lead_project = serializers.SerializerMethodField()

    class Meta:
        model = OverlapCluster
        fields = [
            "id",
            "key",
            "label",
            "size",
            "unit_count",
            "combined_cost",
            "costs_known",
            "consolidation_estimate",
            "lead_project",
            "cross_unit",
            "hygiene",
            "reasons",
            "business_units",
            "members",
        ]

    @extend_schema_field(ProjectBriefSerializer(many=True))
    def get_members(self, obj: OverlapCluster) -> Any:
        return ProjectBriefSerializer(getattr(obj, "visible_members", []), many=True).data

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_lead_project(self, obj: OverlapCluster) -> int | None:
        """The lead's id when the reader may see it."""
        visible = {p.pk for p in getattr(obj, "visible_members", [])}
        return obj.lead_project_id if obj.lead_project_id in visible else None


class MetricSnapshotSerializer(serializers.ModelSerializer[MetricSnapshot]):
    class Meta:
        model = MetricSnapshot
        fields = ["id", "metric", "scope", "date", "value", "payload", "run"]


class SimilarInputSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    problem = serializers.CharField(required=False, allow_blank=True, default="")
    benefits = serializers.CharField(required=False, allow_blank=True, default="")
    outputs = serializers.CharField(required=False, allow_blank=True, default="")
    tools = serializers.ListField(
        child=serializers.CharField(max_length=255), required=False, default=list, max_length=50
    )
    business_unit = serializers.IntegerField(required=False, allow_null=True, default=None)
    exclude_project = serializers.IntegerField(required=False, allow_null=True, default=None)
    limit = serializers.IntegerField(required=False, default=10, min_value=1, max_value=50)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not any(
            str(attrs.get(f) or "").strip() for f in ("name", "problem", "benefits", "outputs")
        ):
            raise serializers.ValidationError(
                {"name": "Give at least one of name, problem, benefits or outputs."}
            )
        return attrs


class UnitInContextSerializer(UnitBriefSerializer):
    parent_name = serializers.CharField(
        source="parent.name",
        allow_null=True,
        help_text="The name of the unit it belongs to (an agency for a bureau), or null.",
    )


class SimilarProjectSerializer(ProjectBriefSerializer):
    business_unit = UnitInContextSerializer()


class SimilarResultSerializer(serializers.Serializer[Any]):
    project = SimilarProjectSerializer()
    score = serializers.FloatField()
    grade = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())


class SimilarOutputSerializer(serializers.Serializer[Any]):
    results = SimilarResultSerializer(many=True)


# --- Similar-project index -----------------------------------------------------------------------


# A write committed a little after the moment the index was last topped up can carry an
# `updated_at` from before it: changes are looked for this far back, and re-added only when
# their `updated_at` is not the one already added.
_TOP_UP_OVERLAP = dt.timedelta(seconds=60)


class _IndexCache:
    """The newest stored index, loaded once per process (keyed by blob id) and kept current by
    adding the projects changed since it was built (or last topped up).

    Adding to a 100,000-project index costs ~0.1 s whatever the number of projects added (the
    matrices are rebuilt in one pass), so under a stream of writes the index is not topped up on
    every query: it is looked at again at most every `SIMILAR_INDEX_MAX_AGE` seconds (10 by
    default; 0: before every query), and what changed meanwhile is added in one go. Between two
    looks the unit scopes are reused as well."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.blob_id: tuple[int, Any] | None = None
        self.index: SimilarityIndex | None = None
        self.through: Any = None
        self.scope: dict[int, int] = {}
        self.applied: dict[int, Any] = {}  # id -> updated_at added, within the overlap
        self.built_through: Any = None  # what the stored index itself holds
        self.checked_at = float("-inf")  # time.monotonic() of the last look

    def get(self) -> tuple[SimilarityIndex | None, dict[int, int]]:
        max_age = settings.SIMILAR_INDEX_MAX_AGE
        with self.lock:
            if (
                self.index is not None
                and max_age > 0
                and 0 <= time.monotonic() - self.checked_at < max_age
            ):
                return self.index, self.scope
            return self._refresh()

    def _refresh(self) -> tuple[SimilarityIndex | None, dict[int, int]]:
        from governance.models import SimilarityIndexBlob

        _units, scope = metrics_selectors.unit_facts()
        blob = metrics_selectors.newest_index_blob()
        if blob is None:
            self.index = None
            facts = metrics_selectors.portfolio_facts()
            if not facts.projects:
                return None, scope
            return SimilarityIndex.build(facts.projects, tools=facts.tools), scope
        key = (blob.pk, blob.built_through)
        if key != self.blob_id or self.index is None:
            data = SimilarityIndexBlob.objects.values_list("data", flat=True).get(pk=blob.pk)
            self.index = SimilarityIndex.from_bytes(bytes(data))
            self.blob_id = key
            self.through = self.built_through = blob.built_through
            self.applied = {}
        now = timezone.now()
        active = metrics_selectors.active_projects()
        changed = dict(
            active.filter(updated_at__gt=self.through - _TOP_UP_OVERLAP).values_list(
                "pk", "updated_at"
            )
        )
        # Also what changed a little before the build: a write that committed after the run
        # read the projects carries an `updated_at` from before `built_through` and is not in the
        # stored index (re-adding a project the index holds replaces it: harmless).
        fresh = [
            pk
            for pk, at in changed.items()
            if at > self.built_through - _TOP_UP_OVERLAP and self.applied.get(pk) != at
        ]
        if fresh:
            added, _ = metrics_selectors.project_facts(active.filter(pk__in=fresh), scope)
            self.index.add(added)
        self.applied = changed
        self.through = now
        self.scope = scope
        self.checked_at = time.monotonic()
        return self.index, scope


INDEX_CACHE = _IndexCache()
# What a result shows (ProjectBriefSerializer): not the projects' long texts.
SIMILAR_PROJECT_FIELDS = (
    "id",
    "name",
    "stage",
    "review_status",
    "risk_tier",
    "business_unit__id",
    "business_unit__code",
    "business_unit__name",
    "business_unit__parent__name",
)


def similar_projects(*, user: Any, data: dict[str, Any]) -> list[dict[str, Any]]:
    """The visible projects most similar to a draft, best first (over-fetch, then filter)."""
    index, scope = INDEX_CACHE.get()
    if index is None:
        return []
    limit = data["limit"]
    tools = [str(t) for t in data["tools"]]
    by_id = [int(t) for t in tools if t.isdigit()]
    if by_id:
        names = dict(Tool.objects.filter(pk__in=by_id).values_list("pk", "name"))
        tools = [names.get(int(t), t) if t.isdigit() else t for t in tools]
    unit = data.get("business_unit")
    found = index.query(
        name=data["name"],
        problem=data["problem"],
        benefits=data["benefits"],
        outputs=data["outputs"],
        tools=tools,
        scope_unit_id=scope.get(unit) if unit is not None else None,
        exclude_id=data.get("exclude_project"),
        limit=limit * 3 + 20,
    )
    excluded = data.get("exclude_project")
    ids = [r.project_id for r in found if r.project_id != excluded]
    visible = {
        p.pk: p
        for p in project_queryset(user=user)
        .filter(pk__in=ids)
        .select_related("business_unit__parent")
        .only(*SIMILAR_PROJECT_FIELDS)
    }
    results = []
    for r in found:
        project = visible.get(r.project_id)
        if project is None or r.project_id == excluded:
            continue
        results.append(
            {"project": project, "score": r.score, "grade": r.grade, "reasons": list(r.reasons)}
        )
        if len(results) >= limit:
            break
    return results


# --- Views ---------------------------------------------------------------------------------------


class ProjectSimilarView(APIView):
    """Is this draft an existing project? Scores it against the prebuilt similarity index."""

    @extend_schema(
        request=SimilarInputSerializer,
        responses={200: SimilarOutputSerializer},
        operation_id="projects_similar",
    )
    def post(self, request: Request) -> Response:
        serializer = SimilarInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        results = similar_projects(user=request.user, data=serializer.validated_data)
        return Response(SimilarOutputSerializer({"results": results}).data)


class MetricRunViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[MetricRun]
):
    """Metrics runs, newest first; reviewers and admins start a full run (queued)."""

    serializer_class = MetricRunSerializer
    ordering = ["-started_at", "-id"]
    ordering_fields = ["started_at"]

    def get_queryset(self) -> QuerySet[MetricRun]:
        return metrics_selectors.metric_run_list(user=self.request.user)

    @extend_schema(request=None, responses={202: MetricRunQueuedSerializer, 403: OpenApiResponse()})
    def create(self, request: Request) -> Response:
        message = metrics_services.metrics_run_request(actor=request.user)
        return Response(
            {"outbox_id": message.pk, "status": "queued"}, status=status.HTTP_202_ACCEPTED
        )


def _flag(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    return value.lower() in ("1", "true", "yes")


def _int(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise serializers.ValidationError({"detail": f"Not a number: {value}"}) from exc


BOOL = bool
PAIR_PARAMETERS = [
    OpenApiParameter("grade", str, enum=OverlapPair.Grade.values),
    OpenApiParameter("cross_unit", BOOL),
    OpenApiParameter("review_status", str, enum=OverlapPair.ReviewStatus.values),
    OpenApiParameter("unit", int, description="A business unit (with its sub-units)."),
    OpenApiParameter("project", int),
    OpenApiParameter("include_stale", BOOL, description="Also reviewed pairs not found again."),
]


@extend_schema(parameters=PAIR_PARAMETERS)
class OverlapPairViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[OverlapPair]
):
    """Overlapping project pairs of the latest runs (both projects visible to you)."""

    serializer_class = OverlapPairSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[OverlapPair]:
        p = self.request.query_params
        return metrics_selectors.overlap_pair_list(
            user=self.request.user,
            grade=p.get("grade") or None,
            cross_unit=_flag(p.get("cross_unit")),
            review_status=p.get("review_status") or None,
            unit_id=_int(p.get("unit")),
            project_id=_int(p.get("project")),
            include_stale=bool(_flag(p.get("include_stale"))) or self.action != "list",
        ).order_by("-score", "id")

    @extend_schema(
        parameters=[], request=OverlapReviewSerializer, responses={200: OverlapPairSerializer}
    )
    @action(detail=True, methods=["post"])
    def review(self, request: Request, pk: str | None = None) -> Response:
        """Confirm the overlap or dismiss it (reviewers)."""
        pair = metrics_selectors.overlap_pair_get(user=request.user, pk=pk or "")
        serializer = OverlapReviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        metrics_services.overlap_pair_review(
            actor=request.user,
            pair=pair,
            status=serializer.validated_data["status"],
            note=serializer.validated_data["note"],
        )
        fresh = metrics_selectors.overlap_pair_get(user=request.user, pk=pair.pk)
        return Response(OverlapPairSerializer(fresh).data)


@extend_schema(
    parameters=[
        OpenApiParameter("cross_unit", BOOL),
        OpenApiParameter("hygiene", BOOL),
        OpenApiParameter("unit", int, description="A business unit (with its sub-units)."),
    ]
)
class OverlapClusterViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[OverlapCluster]
):
    """Clusters of overlapping projects of the latest successful run (visible members only)."""

    serializer_class = OverlapClusterSerializer
    filter_backends: list[Any] = []
    # For the schema only (the id's type); requests use get_queryset.
    queryset = OverlapCluster.objects.none()

    def get_queryset(self) -> QuerySet[OverlapCluster]:
        p = self.request.query_params
        return metrics_selectors.overlap_cluster_list(
            user=self.request.user,
            cross_unit=_flag(p.get("cross_unit")),
            hygiene=_flag(p.get("hygiene")),
            unit_id=_int(p.get("unit")),
        ).order_by(*CLUSTER_ORDERING)


@extend_schema(
    parameters=[
        OpenApiParameter("metric", str),
        OpenApiParameter("scope", str, description='"portfolio", "unit:<id>", "goal:<id>".'),
        OpenApiParameter("date_from", str),
        OpenApiParameter("date_to", str),
    ]
)
class MetricSnapshotViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[MetricSnapshot]):
    """Daily metric values for trends."""

    serializer_class = MetricSnapshotSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[MetricSnapshot]:
        import datetime as dt

        p = self.request.query_params

        def day(name: str) -> dt.date | None:
            value = p.get(name)
            if not value:
                return None
            try:
                return dt.date.fromisoformat(value)
            except ValueError as exc:
                raise serializers.ValidationError({name: "Use YYYY-MM-DD."}) from exc

        return metrics_selectors.metric_snapshot_list(
            user=self.request.user,
            metric=p.get("metric") or None,
            scope=p.get("scope") or None,
            date_from=day("date_from"),
            date_to=day("date_to"),
        )
