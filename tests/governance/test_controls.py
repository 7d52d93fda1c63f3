"""Frameworks and controls: the catalogue, which controls apply, statuses, compliance shares."""

from __future__ import annotations

import re

import pytest

from governance import selectors
from governance.models import Control, ControlStatus, Framework
from portfolio.models import AuditEvent
from tests.factories import BusinessUnitFactory, ProjectFactory, member_of
from tests.governance.factories import (
    ControlFactory,
    ControlStatusFactory,
    FrameworkFactory,
    RiskAssessmentFactory,
)

pytestmark = pytest.mark.django_db


def url(project, control=None):
    base = f"/api/v1/projects/{project.pk}/controls/"
    return f"{base}{control.pk}/" if control else base


# --- The catalogue (loaded by a data migration) --------------------------------------------------


def identifiers(code):
    return list(
        Control.objects.filter(framework__code=code)
        .order_by("position")
        .values_list("identifier", flat=True)
    )


def test_catalogue_has_the_four_frameworks():
    assert list(Framework.objects.values_list("code", flat=True)) == [
        "eu-ai-act",
        "nist-ai-rmf",
        "iso-42001",
        "omb-m-25-21",
    ]


def test_nist_ai_rmf_has_all_72_subcategories():
    found = identifiers("nist-ai-rmf")
    per_category = {
        "GOVERN": [7, 3, 2, 3, 2, 2],
        "MAP": [6, 3, 5, 2, 2],
        "MEASURE": [3, 13, 3, 3],
        "MANAGE": [4, 4, 2, 3],
    }
    expected = [
        f"{function} {category}.{sub}"
        for function, counts in per_category.items()
        for category, count in enumerate(counts, start=1)
        for sub in range(1, count + 1)
    ]
    assert found == expected
    assert len(found) == 72
    assert (found[0], found[-1]) == ("GOVERN 1.1", "MANAGE 4.3")


def test_iso_42001_annex_a_has_38_controls_from_a2_to_a10():
    found = identifiers("iso-42001")
    assert len(found) == 38 == len(set(found))
    assert (found[0], found[-1]) == ("A.2.2", "A.10.4")
    assert {re.match(r"A\.(\d+)", i).group(1) for i in found} == {str(n) for n in range(2, 11)}


def test_eu_ai_act_obligations_and_omb_practices():
    eu = {c.identifier: c for c in Control.objects.filter(framework__code="eu-ai-act")}
    for article in ["9", "10", "11", "12", "13", "14", "15", "17", "27", "43", "49", "72", "73"]:
        assert eu[f"Art. {article}"].applies_to_tiers == ["high"]
    for paragraph in range(1, 5):
        assert "limited" in eu[f"Art. 50({paragraph})"].applies_to_tiers
    assert eu["Art. 5"].applies_to_tiers == ["prohibited"]
    omb = Control.objects.filter(framework__code="omb-m-25-21")
    assert omb.count() == 8
    assert all(c.high_impact_only for c in omb)
    assert all(c.title and len(c.title) < 120 for c in Control.objects.all())


# --- Which controls apply -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tier", "high_impact", "frameworks"),
    [
        ("high", False, {"eu-ai-act", "nist-ai-rmf", "iso-42001"}),
        ("high", True, {"eu-ai-act", "nist-ai-rmf", "iso-42001", "omb-m-25-21"}),
        ("limited", False, {"eu-ai-act", "nist-ai-rmf", "iso-42001"}),
        ("minimal", False, {"eu-ai-act"}),
        ("minimal", True, {"eu-ai-act", "omb-m-25-21"}),
        ("prohibited", False, {"eu-ai-act"}),
        ("", True, set()),
    ],
)
def test_applicable_controls_follow_tier_and_high_impact(tier, high_impact, frameworks):
    project = ProjectFactory(risk_tier=tier)
    RiskAssessmentFactory(project=project, eu_tier=tier or "minimal", high_impact=high_impact)
    controls = selectors.applicable_controls(project=project)
    assert {c.framework.code for c in controls} == frameworks
    if tier == "minimal":
        eu = [c.identifier for c in controls if c.framework.code == "eu-ai-act"]
        assert eu == ["Art. 4"]


def test_newest_assessment_decides_high_impact():
    project = ProjectFactory(risk_tier="high")
    RiskAssessmentFactory(project=project, eu_tier="high", high_impact=True)
    assert selectors.project_high_impact(project=project)
    RiskAssessmentFactory(project=project, eu_tier="high", high_impact=False)
    assert not selectors.project_high_impact(project=project)


# --- Statuses through the API ---------------------------------------------------------------------


@pytest.fixture
def high_project(unit):
    project = ProjectFactory(business_unit=unit, risk_tier="high")
    RiskAssessmentFactory(project=project, eu_tier="high")
    return project


def art(number):
    return Control.objects.get(framework__code="eu-ai-act", identifier=f"Art. {number}")


def test_project_controls_list_applicable_controls_with_status(api_client, member, high_project):
    api_client.force_authenticate(member)
    page = api_client.get(url(high_project), {"page_size": 500}).json()
    expected = len(selectors.applicable_controls(project=high_project))
    assert page["count"] == expected
    assert {row["status"] for row in page["results"]} == {"not_started"}
    only_eu = api_client.get(url(high_project), {"framework": "eu-ai-act"}).json()
    assert {r["control"]["framework"]["code"] for r in only_eu["results"]} == {"eu-ai-act"}


def test_set_status_with_evidence_and_justification(api_client, member, high_project):
    api_client.force_authenticate(member)
    no_evidence = api_client.put(url(high_project, art(9)), {"status": "met"})
    assert no_evidence.status_code == 400
    assert "evidence_url" in no_evidence.json()
    no_reason = api_client.put(url(high_project, art(27)), {"status": "not_applicable"})
    assert no_reason.status_code == 400
    assert "justification" in no_reason.json()
    bad_link = api_client.put(url(high_project, art(9)), {"status": "met", "evidence_url": "x"})
    assert "evidence_url" in bad_link.json()
    assert not AuditEvent.objects.exists()

    met = api_client.put(
        url(high_project, art(9)),
        {"status": "met", "evidence_url": "https://wiki.example.org/risk-plan"},
    )
    assert met.status_code == 200, met.content
    assert met.json()["status"] == "met"
    assert met.json()["set_by"]["username"] == "member"
    na = api_client.put(
        url(high_project, art(27)),
        {"status": "not_applicable", "justification": "We are not a public body."},
    )
    assert na.json()["justification"] == "We are not a public body."
    changed = api_client.put(url(high_project, art(9)), {"status": "in_progress"})
    assert changed.json()["evidence_url"] == ""

    events = AuditEvent.objects.filter(action="control_status.set").order_by("id")
    assert events.count() == 3
    assert events.last().changes["status"] == {"before": "met", "after": "in_progress"}
    assert ControlStatus.objects.filter(project=high_project).count() == 2
    detail = api_client.get(url(high_project, art(9))).json()
    assert detail["status"] == "in_progress"


def test_control_that_does_not_apply_is_refused(api_client, member, unit):
    minimal = ProjectFactory(business_unit=unit, risk_tier="minimal")
    api_client.force_authenticate(member)
    response = api_client.put(url(minimal, art(9)), {"status": "in_progress"})
    assert response.status_code == 400
    assert "control" in response.json()
    assert api_client.get(url(minimal, art(9))).status_code == 404
    assert api_client.put(f"{url(minimal)}999999/", {"status": "met"}).status_code == 404


@pytest.mark.parametrize(("role", "code"), [("executive", 403), ("reviewer", 200)])
def test_status_rights(request, api_client, high_project, role, code):
    api_client.force_authenticate(request.getfixturevalue(role))
    response = api_client.put(url(high_project, art(9)), {"status": "in_progress"})
    assert response.status_code == code


def test_hidden_project_controls_are_404(api_client, other_unit, member):
    hidden = ProjectFactory(business_unit=other_unit, risk_tier="high", visibility="restricted")
    api_client.force_authenticate(member)
    assert api_client.get(url(hidden)).status_code == 404
    assert api_client.put(url(hidden, art(9)), {"status": "in_progress"}).status_code == 404


def test_frameworks_and_controls_endpoints(api_client, member):
    api_client.force_authenticate(member)
    frameworks = api_client.get("/api/v1/frameworks/").json()["results"]
    counts = {f["code"]: f["control_count"] for f in frameworks}
    assert counts["nist-ai-rmf"] == 72 and counts["iso-42001"] == 38
    nist = api_client.get("/api/v1/controls/", {"framework": "nist-ai-rmf", "page_size": 100})
    assert nist.json()["count"] == 72
    limited = api_client.get("/api/v1/controls/", {"tier": "limited", "framework": "eu-ai-act"})
    assert {c["identifier"] for c in limited.json()["results"]} == {
        "Art. 4",
        "Art. 50(1)",
        "Art. 50(2)",
        "Art. 50(3)",
        "Art. 50(4)",
    }
    hi = api_client.get("/api/v1/controls/", {"high_impact_only": "true"}).json()
    assert hi["count"] == 8


# --- Compliance ----------------------------------------------------------------------------------


@pytest.fixture
def own_catalogue(db):
    """Two small frameworks instead of the real catalogue, so that the figures are readable."""
    Framework.objects.all().delete()
    a = FrameworkFactory(code="a", name="A", position=1)
    b = FrameworkFactory(code="b", name="B", position=2)
    return {
        "a1": ControlFactory(framework=a, applies_to_tiers=["high", "limited"]),
        "a2": ControlFactory(framework=a, applies_to_tiers=["high"]),
        "b1": ControlFactory(framework=b, applies_to_tiers=["high"], high_impact_only=True),
    }


def test_compliance_shares_per_project_unit_and_framework(own_catalogue, reviewer, unit):
    c = own_catalogue
    other = BusinessUnitFactory(code="OTHER2")
    high = ProjectFactory(business_unit=unit, risk_tier="high")
    RiskAssessmentFactory(project=high, eu_tier="high", high_impact=True)  # a1, a2, b1
    limited = ProjectFactory(business_unit=unit, risk_tier="limited")  # a1
    elsewhere = ProjectFactory(business_unit=other, risk_tier="high")  # a1, a2
    ProjectFactory(business_unit=other)  # not assessed: nothing applies
    ControlStatusFactory(project=high, control=c["a1"], status="met")
    ControlStatusFactory(
        project=high, control=c["b1"], status="not_applicable", justification="Not ours."
    )
    ControlStatusFactory(project=high, control=c["a2"], status="in_progress")
    ControlStatusFactory(project=limited, control=c["a1"], status="met")
    ControlStatusFactory(project=limited, control=c["a2"], status="met")  # does not apply
    ControlStatusFactory(project=elsewhere, control=c["b1"], status="met")  # not high-impact

    by_project = {r.key: r for r in selectors.compliance_by_project(user=reviewer)}
    assert (by_project[high.pk].total.applicable, by_project[high.pk].total.satisfied) == (3, 2)
    assert by_project[limited.pk].total.share == 1.0
    assert by_project[elsewhere.pk].total.share == 0.0
    assert set(by_project) == {high.pk, limited.pk, elsewhere.pk}

    by_unit = {r.key: r for r in selectors.compliance_by_unit(user=reviewer)}
    home = by_unit[unit.pk]
    assert (home.total.applicable, home.total.met, home.total.not_applicable) == (4, 2, 1)
    assert home.total.share == 0.75
    a_id, b_id = c["a1"].framework_id, c["b1"].framework_id
    assert (home.frameworks[a_id].applicable, home.frameworks[a_id].satisfied) == (3, 2)
    assert (home.frameworks[b_id].applicable, home.frameworks[b_id].satisfied) == (1, 1)
    assert (by_unit[other.pk].total.applicable, by_unit[other.pk].total.satisfied) == (2, 0)

    by_framework = selectors.compliance_by_framework(user=reviewer)
    assert [(r.label, r.total.applicable, r.total.satisfied) for r in by_framework] == [
        ("A", 5, 2),
        ("B", 1, 1),
    ]


def test_compliance_is_scoped_to_visible_projects(own_catalogue, unit, other_unit):
    ProjectFactory(business_unit=other_unit, risk_tier="high", visibility="restricted")
    ProjectFactory(business_unit=unit, risk_tier="high")
    member = member_of(unit)
    rows = selectors.compliance_by_unit(user=member)
    assert [r.key for r in rows] == [unit.pk]


def test_compliance_api(api_client, own_catalogue, reviewer, unit):
    project = ProjectFactory(business_unit=unit, risk_tier="high")
    ControlStatusFactory(project=project, control=own_catalogue["a1"], status="met")
    api_client.force_authenticate(reviewer)
    by_unit = api_client.get("/api/v1/compliance/").json()["results"]
    assert by_unit == [
        {
            "id": unit.pk,
            "label": "Home unit (HOME)",
            "parent": None,
            "own": None,
            "applicable": 2,
            "met": 1,
            "not_applicable": 0,
            "satisfied": 1,
            "share": 0.5,
            "frameworks": [
                {
                    "framework": {"id": own_catalogue["a1"].framework_id, "code": "a", "name": "A"},
                    "applicable": 2,
                    "met": 1,
                    "not_applicable": 0,
                    "satisfied": 1,
                    "share": 0.5,
                }
            ],
        }
    ]
    by_framework = api_client.get("/api/v1/compliance/", {"by": "framework"}).json()
    assert [r["label"] for r in by_framework["results"]] == ["A"]
    by_project = api_client.get("/api/v1/compliance/", {"by": "project", "framework": "a"})
    assert by_project.json()["results"][0]["id"] == project.pk
    assert api_client.get("/api/v1/compliance/", {"framework": "b"}).json()["count"] == 0
    assert api_client.get("/api/v1/compliance/", {"unit": "NOPE"}).json()["count"] == 0
    assert api_client.get("/api/v1/compliance/", {"by": "goal"}).status_code == 400


def test_compliance_per_unit_and_framework_in_at_most_five_queries(
    django_assert_max_num_queries, reviewer
):
    # Given a portfolio of 12 units with 5 assessed projects each and statuses on the catalogue
    controls = list(Control.objects.all()[:40])
    for u in range(12):
        unit = BusinessUnitFactory()
        for p in range(5):
            project = ProjectFactory(business_unit=unit, risk_tier=["high", "limited"][p % 2])
            RiskAssessmentFactory(project=project, eu_tier=project.risk_tier, high_impact=p == 0)
            for control in controls[u : u + 6]:
                ControlStatusFactory(project=project, control=control)

    # When compliance per unit × framework is computed for the whole portfolio
    with django_assert_max_num_queries(5):
        rows = selectors.compliance_by_unit(user=reviewer)

    # Then every unit has its figures per framework
    assert len(rows) == 12
    assert all(row.total.applicable > 0 for row in rows)
    assert all(len(row.frameworks) >= 3 for row in rows)


# --- Roll-up of sub-units ------------------------------------------------------------------------


@pytest.fixture
def agency_tree(own_catalogue, unit):
    """HOME (agency) > BUREAU > OFFICE, and a sibling agency; a1 and a2 apply to high."""
    c = own_catalogue
    bureau = BusinessUnitFactory(code="BUREAU", name="Bureau", parent=unit)
    office = BusinessUnitFactory(code="OFFICE", name="Office", parent=bureau)
    quiet = BusinessUnitFactory(code="QUIET", name="Quiet bureau", parent=unit)  # no projects
    sibling = BusinessUnitFactory(code="SIB", name="Sibling agency")
    own = ProjectFactory(business_unit=unit, risk_tier="high")  # 2 applicable, 1 met
    ControlStatusFactory(project=own, control=c["a1"], status="met")
    in_bureau = ProjectFactory(business_unit=bureau, risk_tier="high")  # 2 applicable, 2 met
    ControlStatusFactory(project=in_bureau, control=c["a1"], status="met")
    ControlStatusFactory(project=in_bureau, control=c["a2"], status="met")
    ProjectFactory(business_unit=office, risk_tier="limited")  # a1 applies, not met
    ProjectFactory(business_unit=sibling, risk_tier="high")  # 2 applicable, none met
    return {"agency": unit, "bureau": bureau, "office": office, "quiet": quiet, "sib": sibling}


def test_rollup_adds_every_unit_below_to_its_ancestors(agency_tree, reviewer):
    t = agency_tree
    # When compliance per unit is computed with the roll-up
    rows = selectors.compliance_by_unit(user=reviewer, rollup=True)

    # Then rows come in tree order: each unit followed by its sub-units, then the next agency
    assert [(r.key, r.depth, r.parent) for r in rows] == [
        (t["agency"].pk, 0, None),
        (t["bureau"].pk, 1, t["agency"].pk),
        (t["office"].pk, 2, t["bureau"].pk),
        (t["sib"].pk, 0, None),
    ]  # a unit with no assessed project below it has no row
    by_key = {r.key: r for r in rows}
    agency = by_key[t["agency"].pk]
    # the agency includes its bureau and the bureau's office: 2 + 2 + 1 applicable, 1 + 2 met
    assert (agency.total.applicable, agency.total.satisfied) == (5, 3)
    assert agency.total.share == 0.6
    # and keeps its own figures apart
    assert (agency.own.applicable, agency.own.satisfied) == (2, 1)
    assert agency.has_sub_units
    bureau = by_key[t["bureau"].pk]
    assert (bureau.total.applicable, bureau.total.satisfied) == (3, 2)
    assert (bureau.own.applicable, bureau.own.satisfied) == (2, 2)
    office = by_key[t["office"].pk]
    assert (office.total.applicable, office.total.satisfied) == (1, 0)
    assert not office.has_sub_units
    # per framework too: everything here is framework A
    a_id = next(iter(agency.frameworks))
    assert (agency.frameworks[a_id].applicable, agency.frameworks[a_id].satisfied) == (5, 3)


def test_without_rollup_each_unit_counts_only_its_own_projects(agency_tree, reviewer):
    rows = {r.key: r for r in selectors.compliance_by_unit(user=reviewer)}
    agency = rows[agency_tree["agency"].pk]
    assert (agency.total.applicable, agency.total.satisfied) == (2, 1)
    assert agency.own is None and agency.depth == 0


def test_rollup_counts_only_visible_projects(agency_tree, unit):
    hidden = ProjectFactory(
        business_unit=agency_tree["sib"], risk_tier="high", visibility="restricted"
    )
    member = member_of(unit)
    rows = selectors.compliance_by_unit(user=member, rollup=True)
    keys = [r.key for r in rows]
    assert hidden.business_unit_id == agency_tree["sib"].pk
    sib = next(r for r in rows if r.key == agency_tree["sib"].pk)
    assert sib.total.applicable == 2  # the organisation-visible project only
    assert keys[0] == unit.pk


def test_rollup_in_at_most_five_queries(agency_tree, reviewer, django_assert_max_num_queries):
    selectors.compliance_by_unit(user=reviewer)  # reads the user's roles once
    with django_assert_max_num_queries(4):
        rows = selectors.compliance_by_unit(user=reviewer, rollup=True)
    assert len(rows) == 4


def test_compliance_api_rollup(api_client, agency_tree, reviewer):
    api_client.force_authenticate(reviewer)
    rows = api_client.get("/api/v1/compliance/", {"rollup": "true"}).json()["results"]
    agency = rows[0]
    assert (agency["id"], agency["parent"], agency["applicable"], agency["satisfied"]) == (
        agency_tree["agency"].pk,
        None,
        5,
        3,
    )
    assert agency["own"]["applicable"] == 2 and agency["own"]["satisfied"] == 1
    assert rows[1]["parent"] == agency_tree["agency"].pk
    # a unit filter keeps that subtree's rows (not its ancestors, which would count it alone)
    subtree = api_client.get("/api/v1/compliance/", {"rollup": "true", "unit": "BUREAU"}).json()
    assert [(r["id"], r["applicable"]) for r in subtree["results"]] == [
        (agency_tree["bureau"].pk, 3),
        (agency_tree["office"].pk, 1),
    ]
    refused = api_client.get("/api/v1/compliance/", {"rollup": "true", "by": "framework"})
    assert refused.status_code == 400 and "rollup" in refused.json()


def test_compliance_page_toggles_the_rollup(client, agency_tree, reviewer):
    client.force_login(reviewer)
    own = client.get("/governance/compliance/").content.decode()
    assert "Own projects only" not in own
    assert 'href="?units=own" aria-current="page"' in own
    rolled = client.get("/governance/compliance/", {"units": "with_sub_units"})
    html = rolled.content.decode()
    assert 'href="?units=with_sub_units" aria-current="page"' in html
    assert "Own projects only" in html
    # the agency row: 60 % (3/5) with sub-units, 50 % (1/2) own
    assert '60% <span class="muted small">(3/5)</span>' in html
    assert '50% <span class="muted small">(1/2)</span>' in html
    assert html.index("Home unit (HOME)") < html.index("Bureau (BUREAU)") < html.index("Office")


def test_compliance_follows_the_newest_assessments_high_impact_flag(own_catalogue, reviewer, unit):
    # Given two high projects: one was high-impact but no longer is, the other became so
    b1 = own_catalogue["b1"]  # high-impact only
    was = ProjectFactory(business_unit=unit, risk_tier="high")
    RiskAssessmentFactory(project=was, eu_tier="high", high_impact=True)
    RiskAssessmentFactory(project=was, eu_tier="high", high_impact=False)
    became = ProjectFactory(business_unit=unit, risk_tier="high")
    RiskAssessmentFactory(project=became, eu_tier="high", high_impact=False)
    RiskAssessmentFactory(project=became, eu_tier="high", high_impact=True)
    ControlStatusFactory(project=was, control=b1, status="met")
    ControlStatusFactory(project=became, control=b1, status="met")

    # When compliance is computed per project
    rows = {r.key: r for r in selectors.compliance_by_project(user=reviewer)}

    # Then the high-impact-only control applies to the second project only
    b_id = b1.framework_id
    assert b_id not in rows[was.pk].frameworks
    assert (rows[became.pk].frameworks[b_id].applicable, rows[became.pk].frameworks[b_id].met) == (
        1,
        1,
    )
    assert rows[was.pk].total.applicable == 2 and rows[became.pk].total.applicable == 3
