"""Governance endpoints under /api/v1/ (registered on their own router)."""

from rest_framework.routers import DefaultRouter

from governance import api

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

urlpatterns = router.urls
