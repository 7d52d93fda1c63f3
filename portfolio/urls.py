from django.urls import path

from portfolio import views

app_name = "portfolio"

urlpatterns = [
    path("", views.home, name="home"),
    path("projects/", views.project_list, name="project-list"),
    path("projects/ours/", views.project_ours, name="project-ours"),
    path("projects/new/", views.project_create, name="project-create"),
    path("projects/<int:pk>/", views.project_detail, name="project-detail"),
    path("projects/<int:pk>/edit/", views.project_edit, name="project-edit"),
    path("projects/<int:pk>/archive/", views.project_archive, name="project-archive"),
    path("projects/<int:pk>/restore/", views.project_restore, name="project-restore"),
    path("projects/<int:pk>/goals/", views.project_goal_add, name="project-goal-add"),
    path(
        "projects/<int:pk>/goals/<int:alignment_pk>/",
        views.project_goal_decide,
        name="project-goal-decide",
    ),
    path("import/", views.import_upload, name="import-upload"),
    path("import/<int:pk>/", views.import_detail, name="import-detail"),
    path("import/<int:pk>/status.json", views.import_status, name="import-status"),
]
