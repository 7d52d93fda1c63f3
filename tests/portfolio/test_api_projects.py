"""The projects API: visibility, edit rights per role and unit, versions, filters, errors."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portfolio.models import AuditEvent, Project
from tests.factories import (
    BusinessUnitFactory,
    CapabilityFactory,
    GoalAlignmentFactory,
    ProjectFactory,
    ToolFactory,
    member_of,
)

pytestmark = pytest.mark.django_db

LIST = "/api/v1/projects/"


def detail(project: Project) -> str:
    return f"/api/v1/projects/{project.pk}/"


def ids(response) -> set[int]:
    return {row["id"] for row in response.json()["results"]}


@pytest.fixture
def projects(unit, other_unit):
    """One open and one restricted project in each unit."""
    return {
        "own_open": ProjectFactory(business_unit=unit, name="Own open"),
        "own_restricted": ProjectFactory(
            business_unit=unit, name="Own restricted", visibility="restricted"
        ),
        "other_open": ProjectFactory(business_unit=other_unit, name="Other open"),
        "other_restricted": ProjectFactory(
            business_unit=other_unit, name="Other restricted secret", visibility="restricted"
        ),
    }


# --- Reading ---------------------------------------------------------------------------------


def test_anonymous_reads_nothing(api_client, projects):
    assert api_client.get(LIST).status_code in (401, 403)
    assert api_client.get(detail(projects["own_open"])).status_code in (401, 403)
    assert api_client.get("/api/v1/units/").status_code in (401, 403)
    assert api_client.get("/api/schema/").status_code in (401, 403)


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("member", {"own_open", "own_restricted", "other_open"}),
        ("lead", {"own_open", "own_restricted", "other_open"}),
        ("reviewer", {"own_open", "own_restricted", "other_open", "other_restricted"}),
        ("executive", {"own_open", "own_restricted", "other_open", "other_restricted"}),
        ("admin_user", {"own_open", "own_restricted", "other_open", "other_restricted"}),
    ],
)
def test_visibility_in_list_detail_search_export_and_history(
    request, api_client, projects, role, visible
):
    user = request.getfixturevalue(role)
    api_client.force_authenticate(user)
    expected = {projects[name].pk for name in visible}

    assert ids(api_client.get(LIST)) == expected
    for name, project in projects.items():
        want = 200 if name in visible else 404
        assert api_client.get(detail(project)).status_code == want
        assert api_client.get(detail(project) + "history/").status_code == want
    assert ids(api_client.get(LIST, {"q": "secret"})) == (
        {projects["other_restricted"].pk} if "other_restricted" in visible else set()
    )


def test_member_of_parent_unit_sees_restricted_projects_of_sub_units(api_client, unit):
    child = BusinessUnitFactory(parent=unit)
    hidden = ProjectFactory(business_unit=child, visibility="restricted")
    parent_member = member_of(unit)
    child_member = member_of(child)
    api_client.force_authenticate(parent_member)
    assert api_client.get(detail(hidden)).status_code == 200
    outsider = member_of(BusinessUnitFactory())
    api_client.force_authenticate(outsider)
    assert api_client.get(detail(hidden)).status_code == 404
    api_client.force_authenticate(child_member)
    assert api_client.get(detail(hidden)).status_code == 200


def test_detail_carries_etag_with_version(api_client, member, projects):
    api_client.force_authenticate(member)
    response = api_client.get(detail(projects["own_open"]))
    assert response["ETag"] == '"1"'
    assert response.json()["version"] == 1
    assert response.json()["business_unit"]["code"] == "HOME"


# --- Creating ----------------------------------------------------------------------------------


def payload(unit, **extra):
    return {
        "name": "Letter triage",
        "business_unit": unit.pk,
        "problem": "Too many letters.",
        "stage": "idea",
        "techniques": ["nlp", "generative"],
        **extra,
    }


@pytest.mark.parametrize(
    ("role", "own_status", "other_status"),
    [
        ("member", 201, 403),
        ("lead", 201, 403),
        ("reviewer", 201, 201),
        ("admin_user", 201, 201),
        ("executive", 403, 403),
    ],
)
def test_create_rights_by_role_and_unit(
    request, api_client, unit, other_unit, role, own_status, other_status
):
    user = request.getfixturevalue(role)
    api_client.force_authenticate(user)
    before = AuditEvent.objects.count()

    own = api_client.post(LIST, payload(unit), format="json")
    other = api_client.post(LIST, payload(other_unit), format="json")

    assert own.status_code == own_status
    assert other.status_code == other_status
    created = [r for r in (own, other) if r.status_code == 201]
    assert AuditEvent.objects.count() == before + len(created)
    for response in created:
        assert response["ETag"] == '"1"'
        event = AuditEvent.objects.get(target_id=str(response.json()["id"]))
        assert event.action == "project.registered"
        assert event.actor == user
        assert event.changes["name"] == {"before": None, "after": "Letter triage"}
        assert event.request_id


def test_member_of_parent_unit_creates_in_sub_unit(api_client, unit, member):
    child = BusinessUnitFactory(parent=unit)
    api_client.force_authenticate(member)
    assert api_client.post(LIST, payload(child), format="json").status_code == 201


def test_create_reports_field_errors_and_writes_nothing(api_client, member, unit):
    api_client.force_authenticate(member)
    response = api_client.post(
        LIST,
        payload(unit, name="", stage="someday", annual_cost="-5", techniques=["telepathy"]),
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()
    assert {"name", "stage", "annual_cost", "techniques"} <= set(errors)
    assert Project.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_duplicate_external_reference_in_one_unit_is_a_field_error(api_client, member, unit):
    ProjectFactory(business_unit=unit, external_ref="HOME-1")
    api_client.force_authenticate(member)
    response = api_client.post(LIST, payload(unit, external_ref="HOME-1"), format="json")
    assert response.status_code == 400
    errors = response.json()
    assert "external_ref" in errors or "non_field_errors" in errors, errors
    assert AuditEvent.objects.count() == 0


def test_unknown_business_unit_is_a_field_error(api_client, reviewer):
    api_client.force_authenticate(reviewer)
    response = api_client.post(LIST, {"name": "x", "business_unit": 999999}, format="json")
    assert response.status_code == 400
    assert "business_unit" in response.json()


# --- Updating: rights, versions ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (
            "member",
            {"own_open": 200, "own_restricted": 200, "other_open": 403, "other_restricted": 404},
        ),
        (
            "lead",
            {"own_open": 200, "own_restricted": 200, "other_open": 403, "other_restricted": 404},
        ),
        (
            "reviewer",
            {"own_open": 200, "own_restricted": 200, "other_open": 200, "other_restricted": 200},
        ),
        (
            "admin_user",
            {"own_open": 200, "own_restricted": 200, "other_open": 200, "other_restricted": 200},
        ),
        (
            "executive",
            {"own_open": 403, "own_restricted": 403, "other_open": 403, "other_restricted": 403},
        ),
    ],
)
def test_update_and_archive_rights_matrix(request, api_client, projects, role, expected):
    user = request.getfixturevalue(role)
    api_client.force_authenticate(user)
    for name, status in expected.items():
        project = projects[name]
        patched = api_client.patch(
            detail(project), {"stage": "production"}, format="json", HTTP_IF_MATCH='"1"'
        )
        assert patched.status_code == status, (name, patched.content)
        project.refresh_from_db()
        assert (project.stage == "production") == (status == 200)
        version = f'"{project.version}"'
        archived = api_client.delete(detail(project), HTTP_IF_MATCH=version)
        assert archived.status_code == (204 if status == 200 else status)


def test_write_without_version_is_428_and_changes_nothing(api_client, member, projects):
    api_client.force_authenticate(member)
    project = projects["own_open"]
    response = api_client.patch(detail(project), {"name": "Renamed"}, format="json")
    assert response.status_code == 428
    project.refresh_from_db()
    assert project.name == "Own open"
    assert project.version == 1
    assert not AuditEvent.objects.filter(target_id=str(project.pk)).exists()


def test_stale_write_is_412_and_changes_nothing(api_client, member, projects):
    api_client.force_authenticate(member)
    project = projects["own_open"]
    first = api_client.patch(detail(project), {"name": "First"}, format="json", HTTP_IF_MATCH='"1"')
    assert first.status_code == 200
    assert first["ETag"] == '"2"'

    stale = api_client.patch(
        detail(project), {"name": "Second"}, format="json", HTTP_IF_MATCH='"1"'
    )

    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    project.refresh_from_db()
    assert project.name == "First"
    assert project.version == 2
    assert AuditEvent.objects.filter(target_id=str(project.pk)).count() == 1


def test_update_records_diff_and_bumps_version(api_client, member, projects):
    api_client.force_authenticate(member)
    project = projects["own_open"]
    tool = ToolFactory(name="Westlaw Edge")
    response = api_client.patch(
        detail(project),
        {"problem": "New problem", "tools": [tool.pk]},
        format="json",
        HTTP_IF_MATCH='W/"1"',
    )
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == 2
    assert [t["name"] for t in body["tools"]] == ["Westlaw Edge"]
    event = AuditEvent.objects.get(target_id=str(project.pk))
    assert event.action == "project.updated"
    assert set(event.changes) == {"problem", "tools"}
    assert event.changes["tools"] == {"before": [], "after": ["Westlaw Edge"]}


def test_invalid_update_leaves_no_event_and_keeps_version(api_client, member, projects):
    api_client.force_authenticate(member)
    project = projects["own_open"]
    response = api_client.patch(
        detail(project), {"annual_cost": "-1"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 400
    project.refresh_from_db()
    assert project.version == 1
    assert not AuditEvent.objects.exists()


def test_member_cannot_move_project_to_a_unit_they_cannot_edit(
    api_client, member, projects, other_unit
):
    api_client.force_authenticate(member)
    project = projects["own_open"]
    response = api_client.patch(
        detail(project), {"business_unit": other_unit.pk}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 403
    project.refresh_from_db()
    assert project.business_unit_id != other_unit.pk


def test_archive_hides_and_restore_brings_back(api_client, member, projects):
    api_client.force_authenticate(member)
    project = projects["own_open"]
    assert api_client.delete(detail(project), HTTP_IF_MATCH='"1"').status_code == 204
    assert project.pk not in ids(api_client.get(LIST))
    assert project.pk in ids(api_client.get(LIST, {"archived": "true"}))
    restored = api_client.post(detail(project) + "restore/", HTTP_IF_MATCH='"2"')
    assert restored.status_code == 200
    assert project.pk in ids(api_client.get(LIST))
    actions = list(
        AuditEvent.objects.filter(target_id=str(project.pk)).values_list("action", flat=True)
    )
    assert sorted(actions) == ["project.archived", "project.restored"]


# --- Filters, ordering, pagination, query counts --------------------------------------------


def test_filters(api_client, reviewer, unit):
    child = BusinessUnitFactory(parent=unit, code="CHILD")
    elsewhere = BusinessUnitFactory(code="ELSE")
    tool = ToolFactory(name="Grammarly")
    capability = CapabilityFactory(slug="ocr")
    in_child = ProjectFactory(
        business_unit=child,
        stage="production",
        risk_tier="high",
        topic_area="health",
        techniques=["computer_vision"],
        name="Scan digitiser",
    )
    in_child.tools.add(tool)
    in_child.capabilities.add(capability)
    in_unit = ProjectFactory(business_unit=unit, stage="idea", techniques=["nlp"])
    other = ProjectFactory(business_unit=elsewhere, stage="production")
    aligned = GoalAlignmentFactory(project=other)
    api_client.force_authenticate(reviewer)

    assert ids(api_client.get(LIST, {"unit": unit.pk})) == {in_child.pk, in_unit.pk}
    assert ids(api_client.get(LIST, {"unit": "HOME"})) == {in_child.pk, in_unit.pk}
    assert ids(api_client.get(LIST, {"unit": "CHILD"})) == {in_child.pk}
    assert ids(api_client.get(LIST, {"stage": "production"})) == {in_child.pk, other.pk}
    assert ids(api_client.get(LIST, {"stage": ["production", "idea"]})) == {
        in_child.pk,
        in_unit.pk,
        other.pk,
    }
    assert ids(api_client.get(LIST, {"tier": "high"})) == {in_child.pk}
    assert ids(api_client.get(LIST, {"tier": "none"})) == {in_unit.pk, other.pk}
    assert ids(api_client.get(LIST, {"topic": "health"})) == {in_child.pk}
    assert ids(api_client.get(LIST, {"technique": "computer_vision"})) == {in_child.pk}
    assert ids(api_client.get(LIST, {"tool": "grammarly"})) == {in_child.pk}
    assert ids(api_client.get(LIST, {"tool": str(tool.pk)})) == {in_child.pk}
    assert ids(api_client.get(LIST, {"capability": "ocr"})) == {in_child.pk}
    assert ids(api_client.get(LIST, {"goal": aligned.goal_id})) == {other.pk}
    assert ids(api_client.get(LIST, {"q": "scan DIGITISER"})) == {in_child.pk}
    assert ids(api_client.get(LIST, {"q": "scan nothing-like-this"})) == set()


def test_invalid_filter_value_is_a_400_with_field_error(api_client, reviewer):
    api_client.force_authenticate(reviewer)
    response = api_client.get(LIST, {"stage": "someday"})
    assert response.status_code == 400
    assert "stage" in response.json()


def test_ordering_and_bounded_pagination(api_client, reviewer, unit):
    for name in ["b", "c", "a"]:
        ProjectFactory(business_unit=unit, name=name)
    api_client.force_authenticate(reviewer)
    names = [r["name"] for r in api_client.get(LIST, {"ordering": "-name"}).json()["results"]]
    assert names == ["c", "b", "a"]
    page = api_client.get(LIST, {"page_size": 100000}).json()
    assert page["count"] == 3
    assert api_client.get(LIST, {"page": 99}).status_code == 404


@pytest.mark.parametrize("ordering", ["business_unit__name", "-annual_cost", "stage"])
def test_paging_through_equal_values_shows_every_project_once(api_client, reviewer, unit, ordering):
    made = {
        ProjectFactory(business_unit=unit, annual_cost=1000, stage="pilot").pk for _ in range(9)
    }
    api_client.force_authenticate(reviewer)
    seen: list[int] = []
    for page in range(1, 6):
        response = api_client.get(LIST, {"ordering": ordering, "page_size": 2, "page": page})
        assert response.status_code == 200
        seen += [row["id"] for row in response.json()["results"]]
    assert sorted(seen) == sorted(made)  # none twice, none skipped
    ties = seen if not ordering.startswith("-") else seen[::-1]
    assert ties == sorted(seen)  # equal values: ordered by id, in the ordering's direction


def test_list_query_count_does_not_grow_with_page_size(api_client, member, unit):
    tools = [ToolFactory() for _ in range(3)]
    for i in range(30):
        project = ProjectFactory(business_unit=unit, owner=member if i % 2 else None)
        project.tools.set(tools[: i % 4])
    api_client.force_login(member)

    def queries(size: int) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api_client.get(LIST, {"page_size": size}).status_code == 200
        return len(ctx.captured_queries)

    assert queries(2) == queries(30)
    assert queries(30) <= 9


def test_search_follows_edits_and_imports(api_client, member, unit, tmp_path):
    api_client.force_authenticate(member)
    created = api_client.post(LIST, payload(unit, problem="Sorting Zebra crossings"), format="json")
    project_id = created.json()["id"]
    assert ids(api_client.get(LIST, {"q": "zebra"})) == {project_id}
    api_client.patch(
        f"{LIST}{project_id}/", {"problem": "Counting Okapis"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert ids(api_client.get(LIST, {"q": "zebra"})) == set()
    assert ids(api_client.get(LIST, {"q": "OKAPI"})) == {project_id}


def test_count_is_exact_up_to_the_cap_then_says_so(api_client, reviewer, unit, settings):
    for _ in range(4):
        ProjectFactory(business_unit=unit)
    api_client.force_authenticate(reviewer)
    body = api_client.get(LIST, {"page_size": 2}).json()
    assert (body["count"], body["count_is_exact"]) == (4, True)

    settings.API_MAX_COUNT = 3
    body = api_client.get(LIST, {"page_size": 2}).json()
    assert (body["count"], body["count_is_exact"]) == (3, False)
    assert len(body["results"]) == 2
