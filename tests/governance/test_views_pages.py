"""Governance pages: who may open them, what they show, query counts, and the HTML audit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from governance.models import (
    MetricRun,
    MetricSnapshot,
    OverlapCluster,
    OverlapPair,
    Review,
)
from portfolio.models import Project
from tests.factories import (
    BusinessUnitFactory,
    GoalAlignmentFactory,
    ProjectFactory,
    StrategicGoalFactory,
    ToolFactory,
)
from tests.governance.factories import (
    ControlFactory,
    ControlStatusFactory,
    FrameworkFactory,
    RiskAssessmentFactory,
    project_in_state,
)
from tests.portfolio.test_views_html import audit

pytestmark = pytest.mark.django_db

ROLES = ["member", "lead", "executive", "reviewer", "admin_user"]
DASHBOARDS = ["/governance/", "/governance/compliance/", "/governance/executive/"]
REVIEWER_PAGES = ["/governance/reviews/", "/governance/overlaps/", "/governance/tools/"]
ACCESS = {
    # page: roles allowed
    "/governance/reviews/": {"reviewer", "admin_user"},
    "/governance/": {"executive", "reviewer", "admin_user"},
    "/governance/compliance/": {"executive", "reviewer", "admin_user"},
    "/governance/executive/": {"executive", "reviewer", "admin_user"},
    "/governance/overlaps/": {"executive", "reviewer", "admin_user"},
    "/governance/tools/": {"executive", "reviewer", "admin_user"},
}


def _portfolio(unit, other_unit, n: int = 5) -> dict:
    """Projects in every state, with assessments, controls, metric results and goals."""
    framework = FrameworkFactory(name="EU AI Act")
    control = ControlFactory(framework=framework, applies_to_tiers=["high"])
    projects = []
    for i in range(n):
        project = ProjectFactory(
            business_unit=unit if i % 2 else other_unit,
            risk_tier=["high", "minimal", "limited", ""][i % 4],
            annual_cost=Decimal(1000 * (i + 1)),
            expected_annual_benefit=Decimal(1500 * (i + 1)),
        )
        projects.append(project)
        if project.risk_tier:
            RiskAssessmentFactory(project=project, eu_tier=project.risk_tier)
        if project.risk_tier == "high":
            ControlStatusFactory(project=project, control=control)
        GoalAlignmentFactory(project=project, goal=StrategicGoalFactory())
    submitted, review = project_in_state("submitted", business_unit=unit)
    run = MetricRun.objects.create(
        kind="full", status="succeeded", started_at=timezone.now(), finished_at=timezone.now()
    )
    a, b = sorted(projects[:2], key=lambda p: p.pk)
    pair = OverlapPair.objects.create(
        project_a=a, project_b=b, score=0.8, grade="overlapping", reasons=["both summarise"]
    )
    cluster = OverlapCluster.objects.create(
        run=run,
        key="k1",
        label="Summarisation",
        size=2,
        unit_count=2,
        combined_cost=Decimal(3000),
        consolidation_estimate=Decimal(1000),
        lead_project=a,
    )
    cluster.members.set([a, b])
    cluster.business_units.set([unit, other_unit])
    MetricSnapshot.objects.update_or_create(
        metric="coverage.share_with_current_assessment",
        scope="portfolio",
        date=timezone.localdate(),
        defaults={"value": 0.5},
    )
    tool = ToolFactory(sanction_status="prohibited")
    projects[0].tools.add(tool)
    from portfolio.models import ToolAdoption

    ToolAdoption.objects.create(business_unit=unit, tool=tool, task="Legal research")
    return {
        "projects": projects,
        "review": review,
        "submitted": submitted,
        "pair": pair,
        "control": control,
    }


@pytest.fixture
def data(unit, other_unit):
    return _portfolio(unit, other_unit)


@pytest.mark.parametrize("role", ROLES)
def test_access_by_role(client: Client, request, role, data):
    client.force_login(request.getfixturevalue(role))
    for url, allowed in ACCESS.items():
        response = client.get(url)
        assert response.status_code == (200 if role in allowed else 403), (url, role)


def test_anonymous_is_sent_to_sign_in(client: Client, data):
    for url in [*ACCESS, f"/governance/reviews/{data['review'].pk}/"]:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


def _urls(data) -> dict[str, list[str]]:
    p = data["projects"][0]
    project_pages = [
        f"/governance/projects/{p.pk}/",
        f"/governance/projects/{data['submitted'].pk}/",
    ]
    everyone_sees = [
        *DASHBOARDS,
        "/governance/overlaps/",
        "/governance/tools/",
        f"/governance/overlaps/compare/{data['pair'].project_a_id}/{data['pair'].project_b_id}/",
    ]
    return {
        "member": [f"/governance/projects/{data['submitted'].pk}/"],
        "lead": [f"/governance/projects/{data['submitted'].pk}/"],
        "executive": [*everyone_sees, *project_pages],
        "reviewer": [
            *everyone_sees,
            *project_pages,
            "/governance/reviews/",
            "/governance/reviews/?status=submitted&tier=high&mine=on",
            f"/governance/reviews/{data['review'].pk}/",
            f"/governance/projects/{p.pk}/controls/{data['control'].pk}/",
        ],
        "admin_user": [*everyone_sees, "/governance/reviews/"],
    }


@pytest.mark.parametrize("role", ROLES)
def test_every_governance_page_is_csp_clean_and_accessible(client: Client, request, role, data):
    client.force_login(request.getfixturevalue(role))
    for url in _urls(data)[role]:
        response = client.get(url)
        assert response.status_code == 200, url
        page = audit(response.content.decode())
        assert page.audit() == [], url


def test_chart_pages_load_plotly_and_embed_json(client: Client, reviewer, data):
    client.force_login(reviewer)
    html = client.get("/governance/executive/").content.decode()
    assert "/static/vendor/plotly/plotly.min.js" in html
    assert '<script id="chart-sunburst" type="application/json">' in html
    assert 'data-chart="chart-risk-value"' in html
    assert "<details>" in html
    assert 'data-chart="chart-trend-shares"' in html and "50%" in html
    html = client.get("/governance/reviews/").content.decode()
    assert "plotly" not in html


def test_executive_without_history_says_so(client: Client, executive, unit):
    ProjectFactory(business_unit=unit)
    client.force_login(executive)
    html = client.get("/governance/executive/").content.decode()
    assert "No history yet" in html
    assert "No overlap clusters yet" in html


def test_executive_without_costs_shows_tables_instead_of_empty_charts(
    client: Client, executive, unit, other_unit
):
    # an imported inventory records no costs: every bubble and bar would sit at zero
    a, b = ProjectFactory(business_unit=unit), ProjectFactory(business_unit=other_unit)
    goal = StrategicGoalFactory(title="Faster public services")
    GoalAlignmentFactory(project=a, goal=goal)
    GoalAlignmentFactory(project=b, goal=StrategicGoalFactory(), status="suggested")
    run = MetricRun.objects.create(
        kind="full", status="succeeded", started_at=timezone.now(), finished_at=timezone.now()
    )
    for key, units in (("small", 1), ("wide", 2)):
        OverlapCluster.objects.create(
            run=run, key=key, label=f"cluster {key}", size=2, unit_count=units, lead_project=a
        )
    client.force_login(executive)

    html = client.get("/governance/executive/").content.decode()

    assert "No project has an annual cost or an expected benefit recorded yet" in html
    assert 'data-chart="chart-risk-value"' not in html
    assert "No project confirmed as serving a goal has an annual cost recorded" in html
    assert 'data-chart="chart-sunburst"' not in html
    assert "Faster public services" in html
    # the projects per goal are drawn by stage, and the share aligned is a headline
    assert 'data-chart="chart-goal-stages"' in html
    share = '<span class="num">50%</span><span class="label">of projects serve a confirmed goal'
    assert share in html
    # the unit table has no columns of zeros
    assert '<th scope="col" class="num">Annual cost</th>' not in html
    assert "None of these clusters' projects has an annual cost recorded" in html
    assert 'data-chart="chart-consolidation"' not in html
    # the clusters spanning more units come first when no saving can be estimated
    assert html.index("cluster wide") < html.index("cluster small")
    # the suggestion waiting for its lead is counted
    assert "projects with a suggested goal</a> for their lead to confirm" in html
    assert 'href="/projects/?alignment=suggested"' in html


def test_executive_counts_suggested_goals_awaiting_confirmation(client: Client, executive, unit):
    for _ in range(3):
        GoalAlignmentFactory(project=ProjectFactory(business_unit=unit), status="suggested")
    client.force_login(executive)

    html = client.get("/governance/executive/").content.decode()

    assert "The metrics suggest goals for 3 projects" in html
    tile = '<span class="num">3</span><span class="label"><a href="/projects/?alignment=suggested">'
    assert tile in html


@pytest.mark.parametrize("url", [*ACCESS])
def test_query_counts_do_not_grow(
    client: Client, reviewer, unit, other_unit, url, django_assert_max_num_queries
):
    _portfolio(unit, other_unit, n=5)
    client.force_login(reviewer)
    with django_assert_max_num_queries(15) as five:
        assert client.get(url).status_code == 200
    _portfolio(BusinessUnitFactory(), BusinessUnitFactory(), n=50)
    with django_assert_max_num_queries(15) as fifty:
        assert client.get(url).status_code == 200
    assert len(fifty.captured_queries) <= len(five.captured_queries) + 1, url


def test_project_governance_page_query_count(
    client: Client, reviewer, unit, other_unit, django_assert_max_num_queries
):
    data = _portfolio(unit, other_unit, n=5)
    client.force_login(reviewer)
    url = f"/governance/projects/{data['projects'][0].pk}/"
    with django_assert_max_num_queries(15):
        assert client.get(url).status_code == 200


def test_review_queue_shows_overdue_first_and_filters(client: Client, reviewer, unit):
    _late, late_review = project_in_state("submitted", business_unit=unit, name="Late one")
    Review.objects.filter(pk=late_review.pk).update(
        due_date=timezone.localdate() - dt.timedelta(days=3)
    )
    project_in_state("in_review", business_unit=unit, name="Mine", reviewer=reviewer)
    project_in_state("submitted", business_unit=unit, name="Minimal", tier="minimal")
    client.force_login(reviewer)
    html = client.get("/governance/reviews/").content.decode()
    assert html.index("Late one") < html.index("Mine")
    assert 'class="overdue"' in html and "1 overdue" in html
    mine = client.get("/governance/reviews/?mine=on").content.decode()
    assert "Mine" in mine and "Late one" not in mine
    high = client.get("/governance/reviews/?tier=minimal").content.decode()
    assert "Minimal" in high and "Late one" not in high


def test_rereview_due_is_listed(client: Client, reviewer, unit):
    project_in_state("approved", business_unit=unit, name="Old approval", decided_days_ago=400)
    client.force_login(reviewer)
    html = client.get("/governance/reviews/").content.decode()
    assert "Old approval" in html and "Re-review due" in html


def test_nav_shows_governance_pages_by_role(client: Client, reviewer, executive, member):
    client.force_login(reviewer)
    html = client.get("/").content.decode()
    for label in ("Review desk", "IT overview", "Overlaps", "Compliance", "Tools"):
        assert f">{label}</a>" in html, label
    client.force_login(executive)
    html = client.get("/").content.decode()
    assert ">Executive</a>" in html and ">IT overview</a>" in html
    assert ">Review desk</a>" not in html
    client.force_login(member)
    html = client.get("/").content.decode()
    assert "/governance/" not in html


def test_recompute_button_only_for_reviewers(client: Client, reviewer, executive, data):
    client.force_login(reviewer)
    assert "data-recompute" in client.get("/governance/").content.decode()
    client.force_login(executive)
    assert "data-recompute hidden" not in client.get("/governance/").content.decode()


def test_compliance_table_lists_the_numbers(client: Client, reviewer, data):
    client.force_login(reviewer)
    html = client.get("/governance/compliance/").content.decode()
    assert "EU AI Act" in html and "100%" in html


def test_compare_hidden_project_is_404(client: Client, member, unit, other_unit, data):
    hidden = ProjectFactory(business_unit=other_unit, visibility=Project.Visibility.RESTRICTED)
    ProjectFactory(business_unit=unit)
    client.force_login(member)
    assert client.get(f"/governance/projects/{hidden.pk}/").status_code == 404


def test_compare_checks_visibility(client: Client, reviewer, executive, unit, other_unit):
    a = ProjectFactory(business_unit=unit)
    client.force_login(executive)
    assert client.get(f"/governance/overlaps/compare/{a.pk}/999999/").status_code == 404
    b = ProjectFactory(business_unit=other_unit)
    assert client.get(f"/governance/overlaps/compare/{a.pk}/{b.pk}/").status_code == 200


def test_compare_lists_shared_tools_first_without_stray_commas(
    client: Client, reviewer, unit, other_unit
):
    westlaw, lexis, whisper = (ToolFactory(name=n) for n in ("Westlaw", "Lexis", "Whisper"))
    a = ProjectFactory(business_unit=unit)
    a.tools.add(westlaw, lexis)
    b = ProjectFactory(business_unit=other_unit)
    b.tools.add(westlaw)
    client.force_login(reviewer)
    html = client.get(f"/governance/overlaps/compare/{a.pk}/{b.pk}/").content.decode()
    tools_row = html[html.index('<th scope="row">Tools</th>') :].split("</tr>")[0]
    assert "<td><strong>Westlaw</strong>, Lexis</td>" in tools_row
    assert "<td><strong>Westlaw</strong></td>" in tools_row  # no trailing comma
    capabilities_row = html[html.index('<th scope="row">Capabilities</th>') :].split("</tr>")[0]
    assert capabilities_row.count("<td>—</td>") == 2
    assert whisper.name not in html


def test_pair_buttons_hidden_without_the_metrics_service(client: Client, reviewer, data):
    from governance import views

    client.force_login(reviewer)
    html = client.get("/governance/overlaps/").content.decode()
    shown = views._overlap_review_service() is not None
    assert ('value="confirmed"' in html) == shown
    assert "Summarisation" in html and "both summarise" in html


def test_reviewer_confirms_a_pair(client: Client, reviewer, executive, data):
    from governance import views

    if views._overlap_review_service() is None:
        pytest.skip("the metrics service is not installed")
    pair = data["pair"]
    client.force_login(executive)
    url = f"/governance/overlaps/pairs/{pair.pk}/review/"
    assert client.post(url, {"decision": "confirmed"}).status_code == 403
    client.force_login(reviewer)
    response = client.post(url, {"decision": "confirmed"}, follow=True)
    assert response.status_code == 200
    pair.refresh_from_db()
    assert pair.review_status == "confirmed"
    bad = client.post(url, {"decision": "nonsense"}, follow=True)
    assert bad.status_code == 200


def test_overview_counts_coverage(client: Client, executive, data):
    client.force_login(executive)
    response = client.get("/governance/")
    coverage = response.context["coverage"]
    assert coverage["total"] == 6  # five projects and the submitted one
    assert coverage["shadow"] == 1
    # Two high-tier projects meet the test control, but not the loaded catalogues' controls.
    assert coverage["high_total"] == 3 and coverage["high_met"] == 0
    html = response.content.decode()
    assert "using a prohibited or unreviewed tool" in html
    assert "data-recompute" not in html


def test_tools_page_counts_and_unregistered_use(client: Client, reviewer, unit, other_unit):
    tool = ToolFactory(name="Copilot X", sanction_status="unreviewed")
    ProjectFactory(business_unit=unit).tools.add(tool)
    ProjectFactory(business_unit=unit).tools.add(tool)
    from portfolio.models import ToolAdoption

    ToolAdoption.objects.create(business_unit=unit, tool=tool, task="Drafting")
    ToolAdoption.objects.create(business_unit=other_unit, tool=tool, task="Shadow drafting")
    client.force_login(reviewer)
    response = client.get("/governance/tools/")
    row = next(t for t in response.context["tools"] if t["name"] == "Copilot X")
    assert row["project_count"] == 2 and row["unit_count"] == 2
    unregistered = response.context["unregistered"]
    assert [(t.tool_name, t.units, t.tasks) for t in unregistered] == [
        ("Copilot X", ("Other unit",), ("Shadow drafting",))
    ]


def test_tools_page_groups_unregistered_use_by_tool_most_worrying_first(
    client: Client, reviewer, unit, other_unit
):
    from portfolio.models import ToolAdoption

    approved = ToolFactory(name="Spellcheck", sanction_status="approved")
    banned = ToolFactory(name="Face finder", sanction_status="prohibited")
    third = BusinessUnitFactory(code="THIRD", name="Third unit")
    for u in (unit, other_unit, third):
        ToolAdoption.objects.create(business_unit=u, tool=approved, task="Spelling")
    ToolAdoption.objects.create(business_unit=other_unit, tool=banned, task="Search photos")
    # a sub-unit's project registers the use for its parent unit
    child = BusinessUnitFactory(code="HOME-SUB", name="Home sub-unit", parent=unit)
    ProjectFactory(business_unit=child).tools.add(approved)
    client.force_login(reviewer)

    response = client.get("/governance/tools/")

    rows = [(t.tool_name, t.units) for t in response.context["unregistered"]]
    assert rows == [("Face finder", ("Other unit",)), ("Spellcheck", ("Other unit", "Third unit"))]
    html = response.content.decode()
    assert "2 tools, prohibited and restricted first" in html


def test_pages_with_form_errors_are_clean(client: Client, member, reviewer, unit, data):
    project = ProjectFactory(business_unit=unit, risk_tier="high")
    RiskAssessmentFactory(project=project, eu_tier="high")
    client.force_login(member)
    response = client.post(
        f"/governance/projects/{project.pk}/controls/{data['control'].pk}/",
        {"status": "met", "evidence_url": "not a url"},
    )
    assert response.status_code == 200
    assert audit(response.content.decode()).audit() == []
    client.force_login(reviewer)
    response = client.post(
        f"/governance/reviews/{data['review'].pk}/",
        {"action": "decide", "decision": "approved"},
        follow=True,
    )
    assert response.status_code == 200
    assert audit(response.content.decode()).audit() == []


def test_it_overview_counts_projects_per_top_level_unit(client: Client, reviewer):
    # given two agencies, one with bureaus
    justice = BusinessUnitFactory(code="DOJ", name="Department of Justice")
    for code in ("FBI", "ATF"):
        bureau = BusinessUnitFactory(code=code, name=code, parent=justice)
        for _ in range(2):
            ProjectFactory(business_unit=bureau)
    ProjectFactory(business_unit=justice)
    ProjectFactory(business_unit=BusinessUnitFactory(code="VA", name="Veterans Affairs"))
    client.force_login(reviewer)

    response = client.get("/governance/")

    # then the chart and its table count each agency with its bureaus
    assert response.context["units"][:2] == [("Department of Justice", 5), ("Veterans Affairs", 1)]
    assert "6 active projects in 4 business units" in response.content.decode()
