"""Governance endpoints under /api/v1/ (registered on their own router)."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from governance import api, metrics_api, notifications_api, shadow_api

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("risk-assessments", api.RiskAssessmentViewSet, basename="risk-assessment")
router.register("reviews", api.ReviewViewSet, basename="review")
router.register("review-queue", api.ReviewQueueViewSet, basename="review-queue")
router.register("frameworks", api.FrameworkViewSet, basename="framework")
router.register("controls", api.ControlViewSet, basename="control")
router.register(
    r"projects/(?P<project_pk>\d+)/controls",
    api.ProjectControlViewSet,
    basename="project-control",
)
router.register("compliance", api.ComplianceViewSet, basename="compliance")
router.register("metric-runs", metrics_api.MetricRunViewSet, basename="metric-run")
router.register("overlap-pairs", metrics_api.OverlapPairViewSet, basename="overlap-pair")
router.register("overlap-clusters", metrics_api.OverlapClusterViewSet, basename="overlap-cluster")
router.register("metric-snapshots", metrics_api.MetricSnapshotViewSet, basename="metric-snapshot")
router.register("shadow-ai", shadow_api.ShadowAIViewSet, basename="shadow-ai")
router.register("tool-adoptions", shadow_api.ToolAdoptionViewSet, basename="tool-adoption")
router.register("webhooks", notifications_api.WebhookEndpointViewSet, basename="webhook")

# Before the router (and config/urls.py includes governance before portfolio), so that the
# project detail route `projects/{pk}/` does not swallow it.
urlpatterns = [
    path("projects/similar/", metrics_api.ProjectSimilarView.as_view(), name="project-similar"),
    *router.urls,
]
