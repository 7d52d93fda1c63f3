"""Units, goals, tools, capabilities, alignments and the audit trail over the API."""

from __future__ import annotations

import pytest

from portfolio.models import AuditEvent, BusinessUnit, GoalAlignment, Tool
from tests.factories import (
    BusinessUnitFactory,
    CapabilityFactory,
    ProjectFactory,
    StrategicGoalFactory,
    ToolFactory,
)

pytestmark = pytest.mark.django_db

CATALOGUE = [
    ("/api/v1/units/", {"code": "NEW", "name": "New unit"}, {"name": "Renamed unit"}),
    ("/api/v1/goals/", {"title": "Faster services", "description": "d"}, {"title": "Renamed"}),
    ("/api/v1/tools/", {"name": "Grammarly", "aliases": ["Grammarly Business"]}, {"vendor": "G"}),
    ("/api/v1/capabilities/", {"name": "Transcription"}, {"description": "A/V to text"}),
]
ROLES = ["member", "lead", "executive", "reviewer", "admin_user"]
MANAGERS = {"reviewer", "admin_user"}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("url", "create", "change"), CATALOGUE)
def test_catalogue_rights(request, api_client, role, url, create, change):
    user = request.getfixturevalue(role)
    api_client.force_authenticate(user)
    assert api_client.get(url).status_code == 200

    created = api_client.post(url, create, format="json")

    if role not in MANAGERS:
        assert created.status_code == 403
        assert not AuditEvent.objects.exists()
        return
    assert created.status_code == 201, created.content
    item = created.json()["id"]
    changed = api_client.patch(f"{url}{item}/", change, format="json")
    assert changed.status_code == 200, changed.content
    assert AuditEvent.objects.filter(target_id=str(item)).count() == 2


def test_catalogue_field_errors(api_client, reviewer):
    BusinessUnitFactory(code="DUP")
    api_client.force_authenticate(reviewer)
    response = api_client.post("/api/v1/units/", {"code": "NEW", "name": ""}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()
    response = api_client.post("/api/v1/units/", {"code": "DUP", "name": "Dup"}, format="json")
    assert response.status_code == 400
    assert "code" in response.json()
    response = api_client.post("/api/v1/tools/", {"name": "x", "aliases": "nope"}, format="json")
    assert response.status_code == 400
    assert "aliases" in response.json()


def test_unit_cannot_become_its_own_descendant(api_client, reviewer):
    parent = BusinessUnitFactory(code="P")
    child = BusinessUnitFactory(code="C", parent=parent)
    api_client.force_authenticate(reviewer)
    response = api_client.patch(f"/api/v1/units/{parent.pk}/", {"parent": child.pk}, format="json")
    assert response.status_code == 400
    assert "parent" in response.json()
    parent.refresh_from_db()
    assert parent.parent_id is None


def test_tool_aliases_are_cleaned(api_client, reviewer):
    api_client.force_authenticate(reviewer)
    response = api_client.post(
        "/api/v1/tools/",
        {"name": "Microsoft 365 Copilot", "aliases": [" M365 Copilot ", "M365 Copilot", ""]},
        format="json",
    )
    assert response.status_code == 201
    assert Tool.objects.get().aliases == ["M365 Copilot"]


@pytest.mark.parametrize(
    ("role", "own", "other"),
    [("member", 201, 403), ("lead", 201, 403), ("executive", 403, 403), ("reviewer", 201, 201)],
)
def test_alignment_rights(request, api_client, unit, other_unit, role, own, other):
    goal = StrategicGoalFactory()
    own_project = ProjectFactory(business_unit=unit)
    other_project = ProjectFactory(business_unit=other_unit)
    api_client.force_authenticate(request.getfixturevalue(role))
    for project, status in ((own_project, own), (other_project, other)):
        response = api_client.post(
            "/api/v1/alignments/",
            {"project": project.pk, "goal": goal.pk, "status": "confirmed", "strength": "0.8"},
            format="json",
        )
        assert response.status_code == status, response.content


def test_alignment_to_hidden_project_is_unknown(api_client, member, other_unit):
    hidden = ProjectFactory(business_unit=other_unit, visibility="restricted")
    goal = StrategicGoalFactory()
    api_client.force_authenticate(member)
    response = api_client.post(
        "/api/v1/alignments/", {"project": hidden.pk, "goal": goal.pk}, format="json"
    )
    assert response.status_code == 400
    assert "project" in response.json()
    assert not GoalAlignment.objects.exists()


def test_alignment_lifecycle_is_audited(api_client, member, unit):
    project = ProjectFactory(business_unit=unit)
    goal = StrategicGoalFactory()
    api_client.force_authenticate(member)
    created = api_client.post(
        "/api/v1/alignments/", {"project": project.pk, "goal": goal.pk}, format="json"
    ).json()
    assert created["status"] == "suggested"
    url = f"/api/v1/alignments/{created['id']}/"
    assert api_client.patch(url, {"status": "confirmed"}, format="json").status_code == 200
    duplicate = api_client.post(
        "/api/v1/alignments/", {"project": project.pk, "goal": goal.pk}, format="json"
    )
    assert duplicate.status_code == 400
    assert api_client.delete(url).status_code == 204
    actions = sorted(AuditEvent.objects.values_list("action", flat=True))
    assert actions == ["alignment.created", "alignment.deleted", "alignment.updated"]


def test_audit_events_are_read_only_and_scoped(
    api_client, member, reviewer, executive, unit, other_unit
):
    api_client.force_authenticate(reviewer)
    for target in (unit, other_unit):
        api_client.post(
            "/api/v1/projects/",
            {"name": f"p-{target.code}", "business_unit": target.pk},
            format="json",
        )
    assert api_client.get("/api/v1/audit-events/").json()["count"] == 2

    api_client.force_authenticate(member)
    events = api_client.get("/api/v1/audit-events/").json()["results"]
    assert [e["target_repr"] for e in events] == ["p-HOME"]
    assert api_client.post("/api/v1/audit-events/", {}, format="json").status_code == 405
    event_id = events[0]["id"]
    assert api_client.delete(f"/api/v1/audit-events/{event_id}/").status_code == 405

    api_client.force_authenticate(executive)
    assert api_client.get("/api/v1/audit-events/").json()["count"] == 2


def test_units_filter_by_parent_and_search(api_client, member):
    top = BusinessUnitFactory(code="AG", name="Agency")
    BusinessUnitFactory(code="AG-B", name="Bureau of things", parent=top)
    api_client.force_authenticate(member)
    body = api_client.get("/api/v1/units/", {"parent": top.pk}).json()
    assert [u["code"] for u in body["results"]] == ["AG-B"]
    body = api_client.get("/api/v1/units/", {"q": "things"}).json()
    assert [u["code"] for u in body["results"]] == ["AG-B"]
    assert BusinessUnit.objects.count() >= 2


def test_tools_filter_by_sanction_status(api_client, member):
    ToolFactory(name="Approved one", sanction_status="approved")
    ToolFactory(name="Banned one", sanction_status="prohibited")
    api_client.force_authenticate(member)
    body = api_client.get("/api/v1/tools/", {"sanction_status": "prohibited"}).json()
    assert [t["name"] for t in body["results"]] == ["Banned one"]


def test_capability_slug_is_derived(api_client, reviewer):
    CapabilityFactory(name="Existing")
    api_client.force_authenticate(reviewer)
    body = api_client.post(
        "/api/v1/capabilities/", {"name": "Document summarisation"}, format="json"
    ).json()
    assert body["slug"] == "document-summarisation"
