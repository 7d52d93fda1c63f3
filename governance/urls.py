"""Governance pages (review desk, overlaps, dashboards)."""

from django.urls import path

from governance import views

app_name = "governance"

urlpatterns = [
    path("governance/", views.dashboard, name="dashboard"),
    path("governance/reviews/", views.review_list, name="review-list"),
    path("governance/reviews/<int:pk>/", views.review_detail, name="review-detail"),
    path("governance/projects/<int:pk>/", views.project_governance, name="project"),
    path(
        "governance/projects/<int:pk>/controls/<int:control_pk>/",
        views.control_status_edit,
        name="control-status",
    ),
    path("governance/compliance/", views.compliance, name="compliance"),
    path("governance/executive/", views.executive, name="executive"),
    path("governance/overlaps/", views.overlap_list, name="overlap-list"),
    path(
        "governance/overlaps/pairs/<int:pk>/review/",
        views.overlap_pair_review,
        name="overlap-pair-review",
    ),
    path(
        "governance/overlaps/compare/<int:a>/<int:b>/",
        views.overlap_compare,
        name="overlap-compare",
    ),
    path("governance/tools/", views.tools, name="tools"),
]
