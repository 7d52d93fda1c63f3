"""The audit trail exported as CSV by admins from the admin's audit list (point 8)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from portfolio import audit, roles, services
from portfolio.models import AuditEvent, Project
from tests.factories import BusinessUnitFactory, ProjectFactory, member_of, user_with_role

pytestmark = pytest.mark.django_db
LIST = "/admin/portfolio/auditevent/"
EXPORT = "/admin/portfolio/auditevent/export/"


@pytest.fixture
def trail(unit, other_unit, reviewer):
    """Events of an open project of `unit`, of a restricted project of `other_unit`, and of a
    project whose name a spreadsheet would run as a formula."""
    open_project = services.project_register(
        actor=reviewer, data={"name": "Open chatbot", "business_unit": unit}
    )
    restricted = services.project_register(
        actor=reviewer,
        data={
            "name": "Secret triage",
            "business_unit": other_unit,
            "visibility": Project.Visibility.RESTRICTED,
        },
    )
    hostile = services.project_register(
        actor=reviewer, data={"name": '=HYPERLINK("http://x.invalid","go")', "business_unit": unit}
    )
    services.project_update(
        actor=reviewer, project=open_project, expected_version=1, data={"name": "Open assistant"}
    )
    return {"open": open_project, "restricted": restricted, "hostile": hostile}


def staff(user, *, superuser: bool = False):
    user.is_staff = True
    user.is_superuser = superuser
    user.save()
    return user


@pytest.fixture
def admin_client(client, db):
    client.force_login(staff(user_with_role(roles.ADMIN, username="auditor")))
    return client


def rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.content[:500]
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="maestro-audit-')
    text = b"".join(response.streaming_content).decode()
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames) == audit.EXPORT_COLUMNS
    return list(reader)


def test_admin_exports_the_whole_trail_newest_first(admin_client, trail):
    exported = rows(admin_client.get(EXPORT))

    events = AuditEvent.objects.exclude(action=audit.EXPORTED_ACTION).order_by("-created_at", "-id")
    assert [r["target_id"] for r in exported] == [e.target_id for e in events]
    # restricted projects included: admins see everything
    assert any(r["target"] == "Secret triage" for r in exported)
    update = next(r for r in exported if r["action"] == "project.updated")
    assert update["actor"] == "reviewer" and update["business_unit"] == "HOME"
    assert json.loads(update["changes"])["name"] == {
        "before": "Open chatbot",
        "after": "Open assistant",
    }
    # and the export itself is on the record
    record = AuditEvent.objects.get(action=audit.EXPORTED_ACTION)
    assert record.actor_label == "auditor" and record.changes == {"filters": {}}


def test_export_honours_the_list_filters_search_and_dates(admin_client, trail):
    updated = rows(admin_client.get(EXPORT, {"action": "project.updated"}))
    assert [(r["action"], r["target"]) for r in updated] == [("project.updated", "Open assistant")]

    searched = rows(admin_client.get(EXPORT, {"q": "Secret"}))
    assert {r["target"] for r in searched} == {"Secret triage"}

    today = timezone.localdate()
    this_day = {"created_at__year": today.year, "created_at__month": today.month}
    todays = rows(admin_client.get(EXPORT, {**this_day, "created_at__day": today.day}))
    # the four changes, and the two earlier exports
    assert [r["action"] for r in todays].count(audit.EXPORTED_ACTION) == 2
    assert len(todays) == 6
    assert rows(admin_client.get(EXPORT, {"created_at__year": today.year - 1})) == []

    last = AuditEvent.objects.filter(action=audit.EXPORTED_ACTION).order_by("-id").first()
    assert last.changes == {"filters": {"created_at__year": [str(today.year - 1)]}}


def test_unknown_filter_is_a_clear_400(admin_client, trail):
    response = admin_client.get(EXPORT, {"no_such_field": "1"})
    assert response.status_code == 400
    assert b"Unknown audit filter" in response.content


def test_the_list_offers_the_export_link_with_its_filters_to_admins(admin_client, trail):
    page = admin_client.get(LIST, {"action": "project.updated"}).content.decode()
    assert f'href="{EXPORT}?action=project.updated"' in page


def test_formula_cells_are_neutralised(admin_client, trail):
    exported = rows(admin_client.get(EXPORT, {"q": "HYPERLINK"}))
    assert {r["target"] for r in exported} == {'\'=HYPERLINK("http://x.invalid","go")'}


def test_admin_action_exports_only_the_selected_events(admin_client, trail):
    chosen = AuditEvent.objects.filter(project=trail["restricted"]).values_list("pk", flat=True)
    response = admin_client.post(
        LIST, {"action": "export_selected", "_selected_action": [str(pk) for pk in chosen]}
    )
    assert [r["target"] for r in rows(response)] == ["Secret triage"]
    assert AuditEvent.objects.get(action=audit.EXPORTED_ACTION).changes == {
        "filters": {"selected": 1}
    }


def test_superuser_counts_as_admin(client, trail):
    client.force_login(staff(user_with_role(roles.REVIEWER, username="root"), superuser=True))
    assert len(rows(client.get(EXPORT))) == 4


def test_staff_without_the_admin_role_cannot_export_and_sees_only_their_units(client, trail, unit):
    # given a staff member of HOME allowed to view the audit list, but not an admin
    clerk = staff(member_of(unit, username="clerk"))
    clerk.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    client.force_login(clerk)

    assert client.get(EXPORT).status_code == 403
    assert "Export CSV" not in client.get(LIST).content.decode()
    response = client.post(
        LIST,
        {
            "action": "export_selected",
            "_selected_action": [str(pk) for pk in AuditEvent.objects.values_list("pk", flat=True)],
        },
    )
    assert response.status_code == 200 and "Content-Disposition" not in response  # the list again
    assert "Select audit event to view" in response.content.decode()
    # the list shows their unit's events, not the restricted project of another unit
    page = client.get(LIST).content.decode()
    assert "Open assistant" in page and "Secret triage" not in page
    assert not AuditEvent.objects.filter(action=audit.EXPORTED_ACTION).exists()


@pytest.mark.parametrize("who", ["anonymous", "admin role without staff access", "reviewer"])
def test_others_are_sent_to_the_admin_sign_in(client, trail, who):
    if who != "anonymous":
        role = roles.ADMIN if who.startswith("admin") else roles.REVIEWER
        client.force_login(user_with_role(role, username="someone"))
    response = client.get(EXPORT)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not AuditEvent.objects.filter(action=audit.EXPORTED_ACTION).exists()


def test_events_of_units_created_later_are_exported_too(admin_client, trail):
    later = BusinessUnitFactory(code="LATER", name="Later unit")
    ProjectFactory(business_unit=later)  # a factory write: no audit event
    services.project_update(
        actor=user_with_role(roles.REVIEWER, username="rev2"),
        project=trail["hostile"],
        expected_version=trail["hostile"].version,
        data={"business_unit": later},
    )
    exported = rows(admin_client.get(EXPORT, {"action": "project.updated"}))
    assert {r["business_unit"] for r in exported} == {"HOME", "LATER"}
