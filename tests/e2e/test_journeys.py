"""The three users' main journeys in a real browser, with a screenshot of every page visited.

1. A unit lead registers a project, sees a similar existing project appear while typing,
   assesses its risk and submits it for review.
2. A reviewer approves it with a condition.
3. An executive opens the executive page: every chart renders an SVG, no console errors.
"""

from __future__ import annotations

import datetime as dt

import pytest

from governance.models import Review
from portfolio.models import Project
from tests.e2e.conftest import ocr_portfolio, screenshot, sign_in
from tests.factories import (
    GoalAlignmentFactory,
    ProjectFactory,
    member_of,
    user_with_role,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def portfolio_with_ocr_project():
    home, elsewhere, existing = ocr_portfolio(annual_cost=120000)
    for i in range(6):
        ProjectFactory(
            business_unit=elsewhere if i % 2 else home,
            name=f"Chatbot for citizen questions {i}",
            stage="pilot",
            annual_cost=10000 * (i + 1),
        )
    GoalAlignmentFactory(project=existing)
    return home, existing


def test_lead_registers_sees_similar_project_and_submits(page, portfolio_with_ocr_project):
    home, existing = portfolio_with_ocr_project
    member_of(home, role="lead", username="lena")
    sign_in(page, "lena")
    screenshot(page, "01-overview-lead")

    page.goto("/projects/new/")
    page.select_option("#id_business_unit", str(home.pk))
    page.fill("#id_name", "OCR for scanned tax forms")
    page.fill(
        "#id_problem",
        "Paper tax forms are scanned and typed in by hand; optical character recognition "
        "should read the scanned forms and extract the amounts.",
    )
    panel = page.locator("#similar-panel")
    panel.get_by_text(existing.name).wait_for(timeout=15000)
    screenshot(page, "02-register-similar-panel")

    page.click("button[value=register]")
    page.wait_for_load_state("networkidle")
    project = Project.objects.get(name="OCR for scanned tax forms")
    assert page.url.endswith(f"/projects/{project.pk}/")
    screenshot(page, "03-project-page")

    page.goto(f"/governance/projects/{project.pk}/")
    page.click("form:has(input[value=assess]) button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.click("form:has(input[value=submit]) button[type=submit]")
    page.wait_for_load_state("networkidle")
    screenshot(page, "04-project-governance-submitted")
    project.refresh_from_db()
    assert project.review_status == "submitted"
    assert page.console_errors == []


def test_member_registers_assesses_and_submits_in_one_step(page, portfolio_with_ocr_project):
    # the registration form's risk questionnaire: the owner (the member, by default) answers it
    # and submits with the registration
    home, _ = portfolio_with_ocr_project
    member_of(home, username="maya")
    sign_in(page, "maya")

    page.goto("/projects/new/")
    page.fill("#id_name", "Benefits chatbot")
    page.fill("#id_problem", "Citizens wait on the phone to ask simple questions about benefits.")
    page.get_by_text("Answer the risk questionnaire now (optional)").click()
    page.check("#id_risk-interacts_with_people")
    page.check("#id_risk-submit")
    page.click("button[value=register]")
    page.wait_for_load_state("networkidle")

    project = Project.objects.get(name="Benefits chatbot")
    assert page.url.endswith(f"/projects/{project.pk}/")
    assert "Risk assessment recorded: Limited tier. Submitted for review." in page.content()
    assert project.risk_tier == "limited"
    assert project.review_status == "submitted"
    assert Review.objects.get(project=project).submitted_by.username == "maya"
    assert page.console_errors == []


def test_reviewer_approves_with_a_condition(page, portfolio_with_ocr_project):
    from governance import services

    home, _ = portfolio_with_ocr_project
    lead = member_of(home, role="lead", username="leo")
    project = ProjectFactory(business_unit=home, name="Letter triage assistant", owner=lead)
    services.risk_assessment_record(actor=lead, project=project, answers={})
    review = services.review_submit(actor=lead, project=project)
    user_with_role("reviewer", username="rita")

    sign_in(page, "rita")
    page.goto("/governance/reviews/")
    screenshot(page, "05-review-desk")
    page.get_by_role("link", name="Letter triage assistant").first.click()
    page.wait_for_load_state("networkidle")
    page.click("form:has(input[value=start]) button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.check("input[name=decision][value=approved_with_conditions]")
    page.fill("#id_condition_1", "Publish a plain-language notice before go-live")
    page.fill("#id_condition_1_due", (dt.date.today() + dt.timedelta(days=30)).isoformat())
    page.click("form.decide-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    screenshot(page, "06-review-decided")

    review.refresh_from_db()
    assert review.status == Review.Status.APPROVED_WITH_CONDITIONS
    assert page.get_by_text("Publish a plain-language notice before go-live").first.is_visible()
    assert page.console_errors == []


def test_executive_sees_every_chart_render(page, portfolio_with_ocr_project):
    user_with_role("executive", username="eva")
    sign_in(page, "eva")
    page.goto("/governance/executive/")
    page.wait_for_load_state("networkidle")
    containers = page.locator("[data-chart]")
    assert containers.count() >= 2
    for i in range(containers.count()):
        containers.nth(i).locator("svg").first.wait_for(timeout=15000)
    screenshot(page, "07-executive")
    page.goto("/governance/")
    page.wait_for_load_state("networkidle")
    screenshot(page, "08-it-overview")
    assert page.console_errors == []
