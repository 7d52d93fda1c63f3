"""Pages outside the API: sign-in, home, admin, API docs, schema, health check, headers."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from portfolio.models import AuditEvent, Project
from tests.factories import ProjectFactory, user_with_role

pytestmark = pytest.mark.django_db


def test_anonymous_is_sent_to_sign_in(client: Client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert client.get("/accounts/login/").status_code == 200


def test_health_check_is_open_and_reports_database(client: Client):
    response = client.get("/healthz")
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["metrics"] == "never computed"


def test_every_response_has_security_headers(client: Client, member):
    client.force_login(member)
    for url in ["/", "/accounts/login/", "/api/v1/projects/", "/healthz"]:
        response = client.get(url)
        csp = response["Content-Security-Policy"]
        script_src = re.search(r"script-src ([^;]+)", csp).group(1)
        assert "unsafe-inline" not in script_src
        assert "frame-ancestors 'none'" in csp
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Request-ID"]


def test_request_id_is_echoed_and_recorded_on_audit_event(client: Client, member, unit):
    client.force_login(member)
    response = client.post(
        "/api/v1/projects/",
        {"name": "Traced", "business_unit": unit.pk},
        content_type="application/json",
        HTTP_X_REQUEST_ID="trace-123",
    )
    assert response.status_code == 201
    assert response["X-Request-ID"] == "trace-123"
    assert AuditEvent.objects.get().request_id == "trace-123"


def test_api_docs_and_schema_served_without_cdn(client: Client, member):
    client.force_login(member)
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "cdn" not in html.lower()
    external = re.findall(r'(?:src|href)="(https?://[^"]+)"', html)
    assert external == []
    assert client.get("/api/docs/?script").status_code == 200
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/projects/" in schema.content


def test_project_page_404_for_hidden_project(client: Client, member, other_unit):
    hidden = ProjectFactory(business_unit=other_unit, visibility=Project.Visibility.RESTRICTED)
    client.force_login(member)
    assert client.get(f"/projects/{hidden.pk}/").status_code == 404
    visible = ProjectFactory(business_unit=other_unit)
    assert client.get(f"/projects/{visible.pk}/").status_code == 200


ADMIN_MODELS = [
    "businessunit",
    "membership",
    "strategicgoal",
    "capability",
    "tool",
    "project",
    "goalalignment",
    "auditevent",
]


@pytest.mark.parametrize("model", ADMIN_MODELS)
def test_admin_lists_every_model(client: Client, model):
    admin = user_with_role("admin", username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    ProjectFactory()
    assert client.get(f"/admin/portfolio/{model}/").status_code == 200
    assert client.get(f"/admin/portfolio/{model}/add/").status_code == (
        403 if model == "auditevent" else 200
    )


def test_admin_project_change_goes_through_service_and_checks_version(client: Client):
    admin = user_with_role("admin", username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    project = ProjectFactory(name="Old name")
    url = f"/admin/portfolio/project/{project.pk}/change/"
    page = client.get(url)
    form = page.context["adminform"].form
    data = {
        k: v
        for k, v in form.initial.items()
        if v is not None
        and k not in {"tools", "capabilities", "techniques", "demographic_features", "extra"}
    }
    data.update(
        name="New name",
        business_unit=project.business_unit_id,
        techniques='["nlp"]',
        demographic_features="[]",
        extra="{}",
        expected_version=1,
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    project.refresh_from_db()
    assert (project.name, project.version) == ("New name", 2)
    assert AuditEvent.objects.get().action == "project.updated"

    data["name"] = "Stale write"
    stale = client.post(url, data)  # still carries expected_version=1
    assert stale.status_code == 200
    assert "Someone changed this project" in stale.content.decode()
    project.refresh_from_db()
    assert project.name == "New name"
