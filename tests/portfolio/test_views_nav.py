"""Navigation by role and the home page: each user sees what they may do and nothing more, every
menu link works for them, and the overview counts come from aggregate queries."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from portfolio.models import Project
from tests.factories import BusinessUnitFactory, ProjectFactory, UserFactory, user_with_role

pytestmark = pytest.mark.django_db


def menu(client: Client, url: str = "/") -> dict[str, str]:
    html = client.get(url).content.decode()
    nav = re.search(r'<nav class="main-nav".*?</nav>', html, re.S)
    if nav is None:
        return {}
    return {
        label: href for href, label in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', nav[0])
    }


@pytest.fixture
def staff_admin(db):
    return user_with_role("admin", username="staff-admin", is_staff=True)


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("member", ["Overview", "Register a project", "Our projects", "Registry"]),
        ("lead", ["Overview", "Register a project", "Our projects", "Registry"]),
        (
            "reviewer",
            [
                "Overview",
                "Register a project",
                "Registry",
                "Review desk",
                "IT overview",
                "Overlaps",
                "Compliance",
                "Tools",
                "Import",
            ],
        ),
        ("executive", ["Overview", "Registry", "IT overview", "Executive"]),
        (
            "staff_admin",
            [
                "Overview",
                "Register a project",
                "Registry",
                "Review desk",
                "IT overview",
                "Overlaps",
                "Compliance",
                "Tools",
                "Import",
                "Admin",
            ],
        ),
    ],
)
def test_menu_shows_what_the_role_may_do(client: Client, request, role, expected):
    client.force_login(request.getfixturevalue(role))
    assert list(menu(client)) == expected


def test_user_without_unit_or_role_only_reads(client: Client):
    client.force_login(UserFactory())
    assert list(menu(client)) == ["Overview", "Registry"]


def test_executive_who_is_also_a_unit_member_still_registers_nothing(client: Client, unit):
    from tests.factories import MembershipFactory

    executive = user_with_role("executive", username="exec-member")
    MembershipFactory(user=executive, business_unit=unit)
    client.force_login(executive)
    assert list(menu(client)) == [
        "Overview",
        "Our projects",
        "Registry",
        "IT overview",
        "Executive",
    ]
    assert client.get("/projects/new/").status_code == 403


@pytest.mark.parametrize(
    "role", ["member", "lead", "reviewer", "executive", "staff_admin", "admin_user"]
)
def test_every_menu_link_opens_for_that_user(client: Client, request, role):
    client.force_login(request.getfixturevalue(role))
    for label, href in menu(client).items():
        assert client.get(href).status_code == 200, (label, href)


def test_current_page_is_marked(client: Client, member):
    client.force_login(member)
    html = client.get("/projects/ours/").content.decode()
    assert '<a href="/projects/ours/" aria-current="page">Our projects</a>' in html
    assert '<a href="/projects/" aria-current="page">' not in html
    html = client.get("/projects/new/").content.decode()
    assert '<a href="/projects/new/" aria-current="page">Register a project</a>' in html


def test_anonymous_home_and_login_page(client: Client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"
    login = client.get("/accounts/login/")
    assert login.status_code == 200
    html = login.content.decode()
    assert 'class="main-nav"' not in html
    assert '<label for="id_username">' in html and '<label for="id_password">' in html


# --- Home -----------------------------------------------------------------------------------------


def by_value(rows: list[dict]) -> dict[str, int]:
    return {row["value"]: row["n"] for row in rows}


def test_member_home_shows_their_units_by_stage_and_review_status(
    client: Client, member, unit, other_unit
):
    ProjectFactory.create_batch(2, business_unit=unit, stage="pilot")
    ProjectFactory(business_unit=unit, stage="idea", review_status="submitted")
    ProjectFactory.create_batch(3, business_unit=other_unit, stage="production")
    client.force_login(member)

    response = client.get("/")

    ours = response.context["ours"]
    assert ours["total"] == 3
    assert by_value(ours["by_stage"]) == {
        "idea": 1,
        "development": 0,
        "pilot": 2,
        "production": 0,
        "retired": 0,
    }
    assert by_value(ours["by_review"])["submitted"] == 1
    assert "portfolio" not in response.context
    html = response.content.decode()
    assert 'href="/projects/new/"' in html
    assert "Your units' projects" in html


def test_reviewer_home_shows_portfolio_counts_by_stage_tier_and_unit(
    client: Client, reviewer, unit, other_unit
):
    third = BusinessUnitFactory(name="Third")
    ProjectFactory.create_batch(3, business_unit=unit, stage="pilot", risk_tier="high")
    ProjectFactory.create_batch(2, business_unit=other_unit, stage="production")
    ProjectFactory(business_unit=third, stage="idea", visibility=Project.Visibility.RESTRICTED)
    client.force_login(reviewer)

    response = client.get("/")

    portfolio = response.context["portfolio"]
    assert by_value(portfolio["by_stage"])["pilot"] == 3
    assert by_value(portfolio["by_tier"]) == {
        "prohibited": 0,
        "high": 3,
        "limited": 0,
        "minimal": 0,
        "": 3,
    }
    assert [(u.name, u.n) for u in portfolio["top_units"]] == [
        ("Home unit", 3),
        ("Other unit", 2),
        ("Third", 1),
    ]
    html = response.content.decode()
    assert f'href="/projects/?unit={unit.pk}"' in html
    assert 'href="/projects/?tier=none"' in html


def test_executive_home_is_read_only(client: Client, executive, unit):
    ProjectFactory(business_unit=unit)
    client.force_login(executive)
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "portfolio" in response.context
    assert "/projects/new/" not in html
    assert "/import/" not in html
    assert "read-only" in html


def test_home_query_count_does_not_grow_with_the_portfolio(
    client: Client, member, unit, django_assert_max_num_queries
):
    ProjectFactory.create_batch(5, business_unit=unit)
    client.force_login(member)
    with django_assert_max_num_queries(16) as five:
        client.get("/")
    ProjectFactory.create_batch(45, business_unit=unit)
    with django_assert_max_num_queries(16) as fifty:
        client.get("/")
    assert len(fifty.captured_queries) == len(five.captured_queries)
