from rest_framework.routers import DefaultRouter

from portfolio import api

router = DefaultRouter()
router.register("units", api.BusinessUnitViewSet, basename="unit")
router.register("projects", api.ProjectViewSet, basename="project")
router.register("goals", api.StrategicGoalViewSet, basename="goal")
router.register("alignments", api.GoalAlignmentViewSet, basename="alignment")
router.register("tools", api.ToolViewSet, basename="tool")
router.register("capabilities", api.CapabilityViewSet, basename="capability")
router.register("audit-events", api.AuditEventViewSet, basename="audit-event")

urlpatterns = router.urls
