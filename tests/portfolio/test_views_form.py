"""Register and edit a project through the web form: sections, unit chooser, drafts, versions
(stale → 409 with the current values, missing → error), field errors, nothing written on error."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from portfolio import services
from portfolio.models import AuditEvent, Project
from tests.factories import CapabilityFactory, ProjectFactory, ToolFactory

pytestmark = pytest.mark.django_db


def form_data(unit, **overrides) -> dict:
    data = {
        "name": "Letter summariser",
        "external_ref": "",
        "business_unit": unit.pk,
        "problem": "Caseworkers spend hours reading scanned letters.",
        "benefits": "Faster answers.",
        "outputs": "A summary.",
        "owner": "",
        "executive_sponsor": "",
        "contact_email": "team@example.org",
        "involves_pii": "true",
        "data_description": "Incoming letters.",
        "demographic_features": "age, sex",
        "techniques": ["nlp", "generative"],
        "development_method": "vendor",
        "stage": "pilot",
        "topic_area": "service_delivery",
        "date_initiated": "2025-01-15",
        "date_implemented": "",
        "date_retired": "",
        "annual_cost": "12000.50",
        "expected_annual_benefit": "40000",
        "people_affected": "2500",
        "visibility": "organisation",
        "distinct_justification": "",
        "action": "register",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def edit_data(project: Project, **overrides) -> dict:
    return form_data(project.business_unit, version=project.version, **overrides)


# --- Access ---------------------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(client: Client, unit):
    project = ProjectFactory(business_unit=unit)
    for url in ["/projects/new/", f"/projects/{project.pk}/edit/"]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("role", ["executive"])
def test_executive_may_not_register_or_edit(client: Client, request, role, unit):
    project = ProjectFactory(business_unit=unit)
    client.force_login(request.getfixturevalue(role))
    assert client.get("/projects/new/").status_code == 403
    assert client.post("/projects/new/", form_data(unit)).status_code == 403
    assert client.get(f"/projects/{project.pk}/edit/").status_code == 403
    assert not Project.objects.exclude(pk=project.pk).exists()


def test_user_without_unit_may_not_register(client: Client, unit):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    assert client.get("/projects/new/").status_code == 403


def test_member_may_not_edit_another_units_project(client: Client, member, other_unit):
    shared = ProjectFactory(business_unit=other_unit)
    hidden = ProjectFactory(business_unit=other_unit, visibility=Project.Visibility.RESTRICTED)
    client.force_login(member)
    assert client.get(f"/projects/{shared.pk}/edit/").status_code == 403
    assert client.post(f"/projects/{shared.pk}/edit/", edit_data(shared)).status_code == 403
    assert client.get(f"/projects/{hidden.pk}/edit/").status_code == 404


# --- The form -------------------------------------------------------------------------------------


def test_form_has_sections_unit_chooser_and_similar_panel(client: Client, member, unit, other_unit):
    ToolFactory(name="Westlaw Edge")
    CapabilityFactory(name="Summarisation")
    client.force_login(member)

    response = client.get("/projects/new/")

    assert response.status_code == 200
    html = response.content.decode()
    for legend in [
        "Purpose",
        "Owners",
        "Data",
        "Tools and techniques",
        "Stage and dates",
        "Cost and value",
        "Visibility",
    ]:
        assert f"<legend>{legend}</legend>" in html, legend
    units = response.context["form"].fields["business_unit"].queryset
    assert list(units) == [unit]
    assert f'<option value="{other_unit.pk}"' not in html
    panel = re.search(r'<aside id="similar-panel"[^>]*>', html).group(0)
    assert 'data-endpoint="/api/v1/projects/similar/"' in panel
    assert 'name="distinct_justification"' in html
    assert 'src="/static/js/similar.js"' in html
    assert 'value="draft"' in html
    assert "Westlaw Edge" in html and "Summarisation" in html
    assert response.context["form"]["business_unit"].value() == unit.pk


def test_reviewer_may_choose_any_unit(client: Client, reviewer, unit, other_unit):
    client.force_login(reviewer)
    units = client.get("/projects/new/").context["form"].fields["business_unit"].queryset
    assert set(units) == {unit, other_unit}


# --- Register -------------------------------------------------------------------------------------


def test_register_saves_through_the_service(client: Client, member, unit):
    tool = ToolFactory()
    capability = CapabilityFactory()
    client.force_login(member)

    response = client.post(
        "/projects/new/",
        form_data(unit, tools=[tool.pk], capabilities=[capability.pk], owner=member.pk),
    )

    project = Project.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/projects/{project.pk}/"
    assert project.name == "Letter summariser"
    assert project.stage == Project.Stage.PILOT
    assert project.involves_pii is True
    assert project.techniques == ["nlp", "generative"]
    assert project.demographic_features == ["age", "sex"]
    assert str(project.annual_cost) == "12000.50"
    assert project.owner == member
    assert list(project.tools.all()) == [tool]
    assert list(project.capabilities.all()) == [capability]
    assert project.version == 1
    assert AuditEvent.objects.get().action == "project.registered"
    page = client.get(response["Location"]).content.decode()
    assert "Project registered." in page


def test_save_as_draft_registers_an_idea_not_submitted(client: Client, member, unit):
    client.force_login(member)

    response = client.post("/projects/new/", form_data(unit, stage="production", action="draft"))

    assert response.status_code == 302
    project = Project.objects.get()
    assert project.stage == Project.Stage.IDEA
    assert project.review_status == Project.ReviewStatus.NOT_SUBMITTED


def test_minimal_draft_needs_only_name_and_unit(client: Client, member, unit):
    client.force_login(member)
    response = client.post(
        "/projects/new/",
        {
            "name": "Just an idea",
            "business_unit": unit.pk,
            "stage": "idea",
            "visibility": "organisation",
            "action": "draft",
        },
    )
    assert response.status_code == 302
    assert Project.objects.get().name == "Just an idea"


def test_invalid_values_show_field_errors_and_write_nothing(client: Client, member, unit):
    client.force_login(member)

    response = client.post(
        "/projects/new/",
        form_data(
            unit,
            name="",
            contact_email="not-an-email",
            annual_cost="-5",
            date_initiated="2025-05-01",
            date_implemented="2025-01-01",
            techniques=["telepathy"],
        ),
    )

    assert response.status_code == 200
    assert not Project.objects.exists()
    assert not AuditEvent.objects.exists()
    form = response.context["form"]
    assert set(form.errors) >= {
        "name",
        "contact_email",
        "annual_cost",
        "date_implemented",
        "techniques",
    }
    html = response.content.decode()
    summary = re.search(r'<div class="error-summary".*?</div>', html, re.S).group(0)
    assert 'href="#id_name"' in summary
    assert 'href="#id_contact_email"' in summary
    assert 'href="#id_techniques_0"' in summary
    # The message sits next to its field, and the field points at it.
    assert 'id="id_name_error"' in html
    assert re.search(r'<input[^>]*name="name"[^>]*aria-invalid="true"', html)
    assert re.search(r'<input[^>]*aria-describedby="[^"]*id_contact_email_error', html)


def test_member_cannot_register_into_another_unit(client: Client, member, other_unit):
    client.force_login(member)
    response = client.post("/projects/new/", form_data(other_unit))
    assert response.status_code == 200
    assert "business_unit" in response.context["form"].errors
    assert not Project.objects.exists()


def test_service_validation_errors_land_on_the_form(client: Client, member, unit):
    ProjectFactory(business_unit=unit, external_ref="HOME-1")
    client.force_login(member)
    response = client.post("/projects/new/", form_data(unit, external_ref="HOME-1"))
    assert response.status_code == 200
    assert response.context["form"].errors
    assert Project.objects.count() == 1


# --- Edit -----------------------------------------------------------------------------------------


def test_edit_with_version_saves_and_bumps_the_version(client: Client, member, unit):
    project = services.project_register(
        actor=member, data={"name": "Before", "business_unit": unit}
    )
    client.force_login(member)

    page = client.get(f"/projects/{project.pk}/edit/")
    assert page.status_code == 200
    assert re.search(r'<input type="hidden" name="version" value="1"', page.content.decode())

    response = client.post(f"/projects/{project.pk}/edit/", edit_data(project, name="After"))

    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.name, project.version) == ("After", 2)
    assert AuditEvent.objects.filter(action="project.updated").count() == 1


def test_stale_version_shows_conflict_with_current_values_and_saves_nothing(
    client: Client, member, lead, unit
):
    project = services.project_register(
        actor=member, data={"name": "Original", "business_unit": unit}
    )
    opened = edit_data(project, name="Mine")  # the member opens the form at version 1
    services.project_update(
        actor=lead, project=project, expected_version=1, data={"name": "Theirs"}
    )
    client.force_login(member)

    response = client.post(f"/projects/{project.pk}/edit/", opened)

    assert response.status_code == 409
    html = response.content.decode()
    assert "Someone changed this project since you opened it" in html
    assert "Nothing was saved" in html
    assert re.search(r"<th scope=\"row\">Name</th><td>Mine</td><td>Theirs</td>", html)
    project.refresh_from_db()
    assert (project.name, project.version) == ("Theirs", 2)
    assert AuditEvent.objects.filter(action="project.updated").count() == 1
    # The form keeps the user's values and now carries the current version.
    assert response.context["form"]["name"].value() == "Mine"
    assert re.search(r'name="version" value="2"', html)


def test_missing_version_is_a_form_error(client: Client, member, unit):
    project = ProjectFactory(business_unit=unit, name="Unchanged")
    client.force_login(member)
    data = edit_data(project, name="Changed")
    del data["version"]

    response = client.post(f"/projects/{project.pk}/edit/", data)

    assert response.status_code == 200
    assert "did not say which version" in response.content.decode()
    project.refresh_from_db()
    assert (project.name, project.version) == ("Unchanged", 1)


def test_member_cannot_move_a_project_to_a_unit_they_cannot_edit(
    client: Client, member, unit, other_unit
):
    project = ProjectFactory(business_unit=unit)
    client.force_login(member)
    response = client.post(
        f"/projects/{project.pk}/edit/", edit_data(project, business_unit=other_unit.pk)
    )
    assert response.status_code == 200
    assert "business_unit" in response.context["form"].errors
    project.refresh_from_db()
    assert project.business_unit == unit and project.version == 1


def test_edit_form_keeps_existing_justification_visible(client: Client, member, unit):
    project = ProjectFactory(business_unit=unit, distinct_justification="Different users.")
    client.force_login(member)
    response = client.get(f"/projects/{project.pk}/edit/")
    html = response.content.decode()
    panel = re.search(r'<aside id="similar-panel"[^>]*>', html).group(0)
    assert "hidden" not in panel
    assert f'data-exclude-project="{project.pk}"' in panel
    assert "Different users." in html


def test_empty_catalogues_say_where_tools_and_capabilities_come_from(client: Client, member):
    client.force_login(member)
    page = client.get("/projects/new/").content.decode()
    assert "No tools in the catalogue yet" in page
    assert "No capabilities in the catalogue yet" in page

    ToolFactory()
    CapabilityFactory()
    page = client.get("/projects/new/").content.decode()
    assert "No tools in the catalogue yet" not in page
    assert "No capabilities in the catalogue yet" not in page
