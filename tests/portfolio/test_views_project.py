"""The project page (/projects/<id>/): visibility, buttons by role, sections, tools with their
sanction status, status timeline, change history, archive/restore, and a constant query count."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from portfolio import services
from portfolio.models import AuditEvent, GoalAlignment, Project, StrategicGoal, Tool
from tests.factories import (
    GoalAlignmentFactory,
    ProjectFactory,
    StrategicGoalFactory,
    ToolFactory,
)

pytestmark = pytest.mark.django_db


def edit_link(project: Project) -> str:
    return f'href="/projects/{project.pk}/edit/"'


def archive_action(project: Project) -> str:
    return f'action="/projects/{project.pk}/archive/"'


def test_anonymous_is_sent_to_sign_in(client: Client, unit):
    project = ProjectFactory(business_unit=unit)
    response = client.get(f"/projects/{project.pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_member_edits_only_own_unit_projects(client: Client, member, unit, other_unit):
    ours = ProjectFactory(business_unit=unit)
    theirs = ProjectFactory(business_unit=other_unit)
    client.force_login(member)

    own_page = client.get(f"/projects/{ours.pk}/").content.decode()
    other_page = client.get(f"/projects/{theirs.pk}/")

    assert edit_link(ours) in own_page
    assert archive_action(ours) in own_page
    assert other_page.status_code == 200
    assert edit_link(theirs) not in other_page.content.decode()
    assert archive_action(theirs) not in other_page.content.decode()


def test_restricted_project_of_another_unit_is_404(client: Client, member, other_unit):
    hidden = ProjectFactory(business_unit=other_unit, visibility=Project.Visibility.RESTRICTED)
    client.force_login(member)
    for url in [
        f"/projects/{hidden.pk}/",
        f"/projects/{hidden.pk}/edit/",
    ]:
        assert client.get(url).status_code == 404
    assert client.post(f"/projects/{hidden.pk}/archive/", {"version": 1}).status_code == 404
    assert client.get("/projects/999999/").status_code == 404


def test_executive_reads_everything_and_changes_nothing(client: Client, executive, other_unit):
    hidden = ProjectFactory(business_unit=other_unit, visibility=Project.Visibility.RESTRICTED)
    client.force_login(executive)

    response = client.get(f"/projects/{hidden.pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert edit_link(hidden) not in html
    assert archive_action(hidden) not in html
    assert "/projects/new/" not in html
    assert client.post(f"/projects/{hidden.pk}/archive/", {"version": 1}).status_code == 403


@pytest.mark.parametrize("role", ["reviewer", "admin_user"])
def test_reviewers_and_admins_may_edit_any_project(client: Client, request, role, other_unit):
    project = ProjectFactory(business_unit=other_unit, visibility=Project.Visibility.RESTRICTED)
    client.force_login(request.getfixturevalue(role))
    assert edit_link(project) in client.get(f"/projects/{project.pk}/").content.decode()


def test_page_shows_fields_in_sections_and_tools_with_sanction_status(client: Client, member, unit):
    project = ProjectFactory(
        business_unit=unit,
        name="Claims letter summariser",
        problem="Caseworkers read long letters.",
        contact_email="team@example.org",
        involves_pii=True,
        demographic_features=["age", "sex"],
        annual_cost="125000.00",
        external_ref="HOME-0001",
    )
    project.tools.add(
        ToolFactory(name="Westlaw Edge", sanction_status=Tool.SanctionStatus.PROHIBITED),
        ToolFactory(name="Copilot", sanction_status=Tool.SanctionStatus.APPROVED),
    )
    GoalAlignmentFactory(project=project)
    client.force_login(member)

    html = client.get(f"/projects/{project.pk}/").content.decode()

    for heading in ["Purpose", "Owners", "Data", "Tools and techniques", "Stage and dates"]:
        assert f">{heading}</h2>" in html, heading
    assert "Caseworkers read long letters." in html
    assert "team@example.org" in html
    assert "age, sex" in html
    assert "125,000.00" in html
    assert "HOME-0001" in html
    assert re.search(r'Westlaw Edge.*?data-kind="sanction" data-value="prohibited"', html, re.S)
    assert re.search(r'Copilot.*?data-kind="sanction" data-value="approved"', html, re.S)
    assert "Goal " in html


def test_history_shows_before_and_after_newest_first(client: Client, member, unit):
    project = services.project_register(
        actor=member, data={"name": "Old name", "business_unit": unit}
    )
    services.project_update(
        actor=member,
        project=project,
        expected_version=1,
        data={"name": "New name", "stage": Project.Stage.PILOT},
    )
    client.force_login(member)

    response = client.get(f"/projects/{project.pk}/")

    events = response.context["history_events"]
    assert [e.action for e in events] == ["project.updated", "project.registered"]
    html = response.content.decode()
    history = html[html.index('id="history"') :]
    assert re.search(r"<th scope=\"row\">Name</th><td>Old name</td><td>New name</td>", history)
    assert re.search(r"<th scope=\"row\">Stage</th><td>Idea</td><td>Pilot</td>", history)
    assert f'<th scope="row">Business unit</th><td>—</td><td>{unit.name}</td>' in history


def test_timeline_lists_milestones_in_order(client: Client, member, unit):
    project = services.project_register(actor=member, data={"name": "P", "business_unit": unit})
    project = services.project_update(
        actor=member, project=project, expected_version=1, data={"problem": "text only"}
    )
    project = services.project_update(
        actor=member, project=project, expected_version=2, data={"stage": Project.Stage.PILOT}
    )
    services.project_archive(actor=member, project=project, expected_version=3)
    client.force_login(member)

    timeline = client.get(f"/projects/{project.pk}/").context["timeline"]

    assert [m["label"] for m in timeline] == ["Registered", "Updated", "Archived"]
    assert timeline[1]["details"] == ["Stage: Idea → Pilot"]


def test_history_is_paginated(client: Client, member, unit):
    project = services.project_register(actor=member, data={"name": "P0", "business_unit": unit})
    for version in range(1, 25):
        project = services.project_update(
            actor=member, project=project, expected_version=version, data={"name": f"P{version}"}
        )
    client.force_login(member)

    first = client.get(f"/projects/{project.pk}/")
    second = client.get(f"/projects/{project.pk}/", {"history_page": 2})

    assert len(first.context["history_events"]) == 20
    assert "history_page=2" in first.content.decode()
    assert len(second.context["history_events"]) == 5
    assert second.context["history_events"][-1].action == "project.registered"


def test_archive_and_restore_with_version(client: Client, member, unit):
    project = ProjectFactory(business_unit=unit)
    client.force_login(member)

    response = client.post(f"/projects/{project.pk}/archive/", {"version": 1})

    assert response.status_code == 302
    project.refresh_from_db()
    assert project.archived_at is not None and project.version == 2
    page = client.get(f"/projects/{project.pk}/").content.decode()
    assert "This project was archived" in page
    assert f'action="/projects/{project.pk}/restore/"' in page
    client.post(f"/projects/{project.pk}/restore/", {"version": 2})
    project.refresh_from_db()
    assert project.archived_at is None and project.version == 3
    assert [e.action for e in AuditEvent.objects.order_by("id")] == [
        "project.archived",
        "project.restored",
    ]


def test_archive_with_stale_or_missing_version_changes_nothing(client: Client, member, unit):
    project = ProjectFactory(business_unit=unit, version=4)
    client.force_login(member)

    stale = client.post(f"/projects/{project.pk}/archive/", {"version": 3}, follow=True)
    missing = client.post(f"/projects/{project.pk}/archive/", {}, follow=True)

    assert "Someone changed this project since you opened it" in stale.content.decode()
    assert "did not say which version" in missing.content.decode()
    project.refresh_from_db()
    assert project.archived_at is None and project.version == 4
    assert not AuditEvent.objects.exists()


def test_archive_needs_post(client: Client, member, unit):
    project = ProjectFactory(business_unit=unit)
    client.force_login(member)
    assert client.get(f"/projects/{project.pk}/archive/").status_code == 405


def _project_with_history(unit, actor, *, tools: int, updates: int) -> Project:
    project = services.project_register(actor=actor, data={"name": "P", "business_unit": unit})
    project.tools.set(ToolFactory.create_batch(tools))
    for version in range(1, updates + 1):
        project = services.project_update(
            actor=actor,
            project=project,
            expected_version=version,
            data={"name": f"P{version}", "owner": actor, "stage": ["idea", "pilot"][version % 2]},
        )
    return project


def test_project_page_query_count_does_not_grow_with_the_portfolio(
    client: Client, member, unit, django_assert_max_num_queries
):
    project = _project_with_history(unit, member, tools=3, updates=3)
    ProjectFactory.create_batch(4, business_unit=unit)
    client.force_login(member)
    with django_assert_max_num_queries(16) as five:
        client.get(f"/projects/{project.pk}/")

    for other in ProjectFactory.create_batch(45, business_unit=unit):
        other.tools.set(ToolFactory.create_batch(2))
    with django_assert_max_num_queries(16) as fifty:
        client.get(f"/projects/{project.pk}/")

    assert len(fifty.captured_queries) == len(five.captured_queries)


def test_project_page_query_count_is_bounded_for_many_tools_and_changes(
    client: Client, member, unit, django_assert_max_num_queries
):
    small = _project_with_history(unit, member, tools=1, updates=1)
    large = _project_with_history(unit, member, tools=12, updates=40)
    client.force_login(member)

    with django_assert_max_num_queries(16):
        client.get(f"/projects/{small.pk}/")
    with django_assert_max_num_queries(16):
        client.get(f"/projects/{large.pk}/", {"history_page": 3})


# --- Strategic goals: a lead confirms, rejects, removes or adds them on the page -------------


def _goals_section(html: str) -> str:
    return html[html.index('id="goals"') : html.index("</section>", html.index('id="goals"'))]


def test_a_lead_confirms_and_rejects_suggested_goals_on_the_page(client: Client, lead, unit):
    project = ProjectFactory(business_unit=unit)
    documents = GoalAlignmentFactory(
        project=project,
        goal=StrategicGoalFactory(title="Digitise documents"),
        status="suggested",
        rationale="Suggested by the metrics run (0.31): shared terms: OCR, scanned",
    )
    fraud = GoalAlignmentFactory(
        project=project, goal=StrategicGoalFactory(title="Detect fraud"), status="suggested"
    )
    client.force_login(lead)
    page = _goals_section(client.get(f"/projects/{project.pk}/").content.decode())
    assert "shared terms: OCR, scanned" in page and page.count('value="confirmed"') == 2

    url = f"/projects/{project.pk}/goals/"
    response = client.post(f"{url}{documents.pk}/", {"decision": "confirmed"}, follow=True)
    assert response.redirect_chain[-1][0] == f"/projects/{project.pk}/#goals"
    assert "Confirmed: the project serves “Digitise documents”." in response.content.decode()
    client.post(f"{url}{fraud.pk}/", {"decision": "rejected"})

    documents.refresh_from_db()
    fraud.refresh_from_db()
    assert (documents.status, fraud.status) == ("confirmed", "rejected")
    page = _goals_section(client.get(f"/projects/{project.pk}/").content.decode())
    assert "Digitise documents" in page and "Detect fraud" in page  # rejected: can be added back
    assert 'value="removed"' in page and 'value="confirmed"' not in page
    actions = AuditEvent.objects.filter(action="alignment.updated", actor=lead)
    assert actions.count() == 2
    # a decision the page does not offer changes nothing
    response = client.post(f"{url}{documents.pk}/", {"decision": "maybe"}, follow=True)
    assert "Choose confirm, reject or remove." in response.content.decode()
    documents.refresh_from_db()
    assert documents.status == "confirmed"


def test_a_lead_adds_and_removes_a_goal(client: Client, lead, unit):
    project = ProjectFactory(business_unit=unit)
    goal = StrategicGoalFactory(title="Faster public services")
    rejected = GoalAlignmentFactory(
        project=project, goal=StrategicGoalFactory(title="Old idea"), status="rejected"
    )
    StrategicGoalFactory(title="Retired goal", active=False)
    client.force_login(lead)
    page = _goals_section(client.get(f"/projects/{project.pk}/").content.decode())
    assert "Faster public services" in page and "Old idea" in page
    assert "Retired goal" not in page

    client.post(f"/projects/{project.pk}/goals/", {"goal": goal.pk})
    client.post(f"/projects/{project.pk}/goals/", {"goal": rejected.goal_id})
    confirmed = GoalAlignment.objects.filter(project=project, status="confirmed")
    assert {a.goal.title for a in confirmed} == {"Faster public services", "Old idea"}

    added = confirmed.get(goal=goal)
    client.post(f"/projects/{project.pk}/goals/{added.pk}/", {"decision": "removed"})
    assert not GoalAlignment.objects.filter(pk=added.pk).exists()
    assert AuditEvent.objects.filter(action="alignment.deleted", actor=lead).exists()
    # a goal that is not active, or no goal at all, is refused with a message
    inactive = StrategicGoal.objects.get(title="Retired goal")
    response = client.post(f"/projects/{project.pk}/goals/", {"goal": inactive.pk}, follow=True)
    assert "This goal is no longer active." in response.content.decode()
    response = client.post(f"/projects/{project.pk}/goals/", {"goal": "x"}, follow=True)
    assert "Choose one of the strategic goals." in response.content.decode()


def test_goals_of_another_units_project_cannot_be_decided(
    client: Client, member, executive, unit, other_unit
):
    theirs = ProjectFactory(business_unit=other_unit)
    suggestion = GoalAlignmentFactory(project=theirs, status="suggested")
    for user in (member, executive):
        client.force_login(user)
        page = client.get(f"/projects/{theirs.pk}/").content.decode()
        assert 'value="confirmed"' not in page and 'id="goal-add"' not in page
        decided = client.post(
            f"/projects/{theirs.pk}/goals/{suggestion.pk}/", {"decision": "confirmed"}
        )
        added = client.post(f"/projects/{theirs.pk}/goals/", {"goal": suggestion.goal_id})
        assert (decided.status_code, added.status_code) == (403, 403)
    suggestion.refresh_from_db()
    assert suggestion.status == "suggested"
    # an alignment of another project is not found through this one
    ours = ProjectFactory(business_unit=unit)
    client.force_login(member)
    response = client.post(f"/projects/{ours.pk}/goals/{suggestion.pk}/", {"decision": "rejected"})
    assert response.status_code == 404


def test_history_names_goals_and_labels_the_values_of_other_records(client: Client, lead, unit):
    project = ProjectFactory(business_unit=unit)
    suggestion = GoalAlignmentFactory(
        project=project, goal=StrategicGoalFactory(title="Digitise documents"), status="suggested"
    )
    client.force_login(lead)
    client.post(f"/projects/{project.pk}/goals/{suggestion.pk}/", {"decision": "confirmed"})
    client.post(
        f"/projects/{project.pk}/goals/",
        {"goal": StrategicGoalFactory(title="Detect fraud").pk},
    )
    html = client.get(f"/projects/{project.pk}/").content.decode()
    history = html[html.index("Change history") :]
    # the goal by its title (not its id) and the status by its label (not its code)
    assert "<td>Detect fraud</td>" in history and "<td>Confirmed</td>" in history
    assert "<td>Suggested</td>" in history
    assert "<td>confirmed</td>" not in history


def test_someone_who_may_not_edit_gets_403_whatever_they_post(client: Client, member, other_unit):
    theirs = ProjectFactory(business_unit=other_unit)
    suggestion = GoalAlignmentFactory(project=theirs, status="suggested")
    inactive = StrategicGoalFactory(active=False)
    client.force_login(member)
    url = f"/projects/{theirs.pk}/goals/"
    assert client.post(f"{url}{suggestion.pk}/", {"decision": "maybe"}).status_code == 403
    assert client.post(url, {"goal": inactive.pk}).status_code == 403
    assert client.post(url, {"goal": "nonsense"}).status_code == 403
