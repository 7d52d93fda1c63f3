"""Shadow AI: the three flags, scoping, and the /shadow-ai/, /tool-adoptions/, /webhooks/ APIs."""

from __future__ import annotations

import pytest

from governance import shadow
from governance.models import WebhookEndpoint
from portfolio.models import Project, ToolAdoption
from tests.factories import BusinessUnitFactory, ProjectFactory, ToolFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(unit, other_unit, member):
    """HOME (with a sub-unit) and OTHER; tools of every sanction status; adoptions."""
    sub = BusinessUnitFactory(code="HOME-SUB", name="Home sub-unit", parent=unit)
    approved = ToolFactory(name="Approved AI", sanction_status="approved")
    banned = ToolFactory(name="Banned AI", sanction_status="prohibited")
    fresh = ToolFactory(name="Fresh AI", sanction_status="unreviewed")
    owner = member
    used_below = ProjectFactory(name="Sub project", business_unit=sub, owner=owner)
    used_below.tools.add(approved)
    risky = ProjectFactory(name="Risky", business_unit=unit, owner=owner)
    risky.tools.add(banned, fresh, approved)
    ownerless = ProjectFactory(name="Nobody's", business_unit=unit)
    elsewhere = ProjectFactory(name="Elsewhere", business_unit=other_unit)
    elsewhere.tools.add(banned)
    archived = ProjectFactory(name="Old", business_unit=other_unit, owner=owner)
    archived.tools.add(fresh)
    Project.objects.filter(pk=archived.pk).update(archived_at="2025-01-01T00:00Z")
    for unit_, tool, task in (
        (unit, approved, "Drafting"),  # covered by the sub-unit's project
        (unit, fresh, "Drafting"),  # covered by "Risky"
        (unit, banned, "Coding"),  # covered by "Risky"
        (other_unit, fresh, "Drafting"),  # only an archived project uses it: unregistered
        (other_unit, fresh, "Email"),
        (other_unit, approved, "Maps"),  # unregistered
        (sub, banned, "Coding"),  # the parent's project does not cover a sub-unit
    ):
        ToolAdoption.objects.create(business_unit=unit_, tool=tool, task=task)
    return {"sub": sub, "risky": risky, "ownerless": ownerless, "elsewhere": elsewhere}


def test_flags_for_a_reviewer(world, reviewer, django_assert_max_num_queries):
    # when
    with django_assert_max_num_queries(12):
        report = shadow.shadow_report(user=reviewer)
    # then
    risky = {(r.project_name, r.tool_name, r.sanction_status) for r in report.risky_tool_uses.items}
    assert risky == {
        ("Risky", "Banned AI", "prohibited"),
        ("Risky", "Fresh AI", "unreviewed"),
        ("Elsewhere", "Banned AI", "prohibited"),
    }
    assert report.risky_tool_uses.items[0].sanction_status == "prohibited"
    unregistered = {(u.unit_code, u.tool_name, u.tasks) for u in report.unregistered_uses.items}
    assert unregistered == {
        ("OTHER", "Fresh AI", ("Drafting", "Email")),
        ("OTHER", "Approved AI", ("Maps",)),
        ("HOME-SUB", "Banned AI", ("Coding",)),
    }
    assert [p.project_name for p in report.ownerless_projects.items] == ["Elsewhere", "Nobody's"]
    assert report.adoptions == 7
    assert report.adopted_tools_unreviewed == 2


def test_member_sees_their_units_rows_only(world, member):
    report = shadow.shadow_report(user=member)
    assert {r.project_name for r in report.risky_tool_uses.items} == {"Risky"}
    assert {u.unit_code for u in report.unregistered_uses.items} == {"HOME-SUB"}
    assert [p.project_name for p in report.ownerless_projects.items] == ["Nobody's"]
    assert report.adoptions == 4


def test_lists_are_capped_with_full_counts(world, executive):
    report = shadow.shadow_report(user=executive, limit=1)
    assert (report.risky_tool_uses.count, len(report.risky_tool_uses.items)) == (3, 1)
    assert (report.unregistered_uses.count, len(report.unregistered_uses.items)) == (3, 1)


def test_shadow_api_shape_and_scoping(world, api_client, member, admin_user):
    # given an admin (sees everything)
    api_client.force_authenticate(admin_user)
    # when
    response = api_client.get("/api/v1/shadow-ai/", {"limit": 2})
    # then
    assert response.status_code == 200
    data = response.json()
    assert data["summary"] == {
        "adoptions": 7,
        "adopted_tools_unreviewed": 2,
        "risky_tool_uses": 3,
        "unregistered_uses": 3,
        "ownerless_projects": 2,
    }
    assert data["limit"] == 2
    assert len(data["risky_tool_uses"]["items"]) == 2
    assert set(data["unregistered_uses"]["items"][0]) >= {"unit_code", "tool_name", "tasks"}
    # and a member sees their units only
    api_client.force_authenticate(member)
    assert api_client.get("/api/v1/shadow-ai/").json()["summary"]["adoptions"] == 4
    assert api_client.get("/api/v1/shadow-ai/", {"limit": "x"}).status_code == 400
    api_client.force_authenticate(None)
    assert api_client.get("/api/v1/shadow-ai/").status_code == 401


def test_tool_adoption_api_filters(world, api_client, reviewer, member, other_unit):
    api_client.force_authenticate(reviewer)
    everything = api_client.get("/api/v1/tool-adoptions/").json()
    assert everything["count"] == 7
    item = everything["results"][0]
    assert set(item) >= {"business_unit", "tool", "task", "estimated_users", "source"}
    assert item["tool"]["sanction_status"] in {"approved", "prohibited", "unreviewed"}
    home = api_client.get("/api/v1/tool-adoptions/", {"unit": "HOME"}).json()
    assert home["count"] == 4  # HOME and its sub-unit
    banned = api_client.get("/api/v1/tool-adoptions/", {"sanction_status": "prohibited"}).json()
    assert banned["count"] == 2
    by_tool = api_client.get(
        "/api/v1/tool-adoptions/", {"tool": world["risky"].tools.get(name="Fresh AI").pk}
    ).json()
    assert by_tool["count"] == 3
    # a member sees their units' rows; another unit's row is 404
    api_client.force_authenticate(member)
    assert api_client.get("/api/v1/tool-adoptions/").json()["count"] == 4
    foreign = ToolAdoption.objects.filter(business_unit=other_unit).first()
    assert api_client.get(f"/api/v1/tool-adoptions/{foreign.pk}/").status_code == 404


def test_webhooks_api_is_for_admins_and_hides_the_secret(api_client, admin_user, reviewer):
    # given
    body = {
        "name": "Teams",
        "url": "https://hooks.example.org/maestro",
        "secret": "a-long-enough-secret",
        "events": ["review.decided", "project.registered"],
    }
    # when a reviewer tries
    api_client.force_authenticate(reviewer)
    assert api_client.post("/api/v1/webhooks/", body, format="json").status_code == 403
    # when an admin creates one
    api_client.force_authenticate(admin_user)
    response = api_client.post("/api/v1/webhooks/", body, format="json")
    # then
    assert response.status_code == 201
    assert "secret" not in response.json()
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.secret, endpoint.created_by) == ("a-long-enough-secret", admin_user)
    assert "secret" not in api_client.get(f"/api/v1/webhooks/{endpoint.pk}/").json()
    listing = api_client.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/")
    assert (listing.status_code, listing.json()["count"]) == (200, 0)
    # and only http(s) URLs and known events are accepted
    bad = api_client.post(
        "/api/v1/webhooks/",
        {**body, "url": "ftp://example.org/x", "events": ["project.deleted"]},
        format="json",
    )
    assert bad.status_code == 400
    assert "url" in str(bad.json()) and "events" in str(bad.json())


def test_admin_pages_for_adoptions_and_webhooks(client, world):
    # given
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root", "root@example.org", "x" * 12)
    client.force_login(root)
    endpoint = WebhookEndpoint.objects.create(
        name="Hook", url="https://example.org/h", secret="a-long-enough-secret", events=[]
    )
    # then
    for url in (
        "/admin/portfolio/tooladoption/",
        "/admin/governance/webhookendpoint/",
        "/admin/governance/webhookdelivery/",
        f"/admin/governance/webhookendpoint/{endpoint.pk}/change/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"a-long-enough-secret" not in response.content
    # when the secret is left blank on change, it is kept
    response = client.post(
        f"/admin/governance/webhookendpoint/{endpoint.pk}/change/",
        {
            "name": "Hook 2",
            "url": "https://example.org/h",
            "secret": "",
            "events": ["review.decided"],
            "active": "on",
        },
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.name, endpoint.secret, endpoint.events) == (
        "Hook 2",
        "a-long-enough-secret",
        ["review.decided"],
    )
