"""Export: maestro-csv round trip, formula neutralisation, the omb-2025 schema, streaming."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from portfolio import selectors
from portfolio.exporters import EXPORT_FORMATS, export_rows, neutralise, stream_csv
from portfolio.importers import run_import
from portfolio.importers.maestro_csv import COLUMNS as MAESTRO_COLUMNS
from portfolio.importers.omb2025 import COLUMNS as OMB_2025_COLUMNS
from portfolio.models import AuditEvent, BusinessUnit, Capability, Project, Tool
from tests.factories import (
    BusinessUnitFactory,
    CapabilityFactory,
    ProjectFactory,
    ToolFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

# Every stored field of a project (relations are compared below), so that a field added to the
# model is covered by the round trip without touching this test. Ids, versions and timestamps
# belong to the database, and search_text is derived from the compared fields.
NOT_COMPARED = {"id", "version", "created_at", "updated_at", "search_text"}
COMPARED = tuple(
    field.name
    for field in Project._meta.concrete_fields
    if not field.is_relation and field.name not in NOT_COMPARED
)


def fingerprint(project: Project) -> tuple:
    unit = project.business_unit
    return (
        *(repr(getattr(project, name)) for name in COMPARED),
        unit.code,
        unit.name,
        unit.parent.code if unit.parent else None,
        unit.parent.name if unit.parent else None,
        unit.parent.parent.code if unit.parent and unit.parent.parent else None,
        project.owner.username if project.owner else None,
        project.executive_sponsor.username if project.executive_sponsor else None,
        tuple(sorted(t.name for t in project.tools.all())),
        tuple(sorted(c.name for c in project.capabilities.all())),
    )


@pytest.fixture
def portfolio():
    """Projects that use every field, every kind of value and the awkward cases."""
    agency = BusinessUnitFactory(code="AG", name="Agency")
    bureau = BusinessUnitFactory(code="AG:bureau", name="Bureau", parent=agency)
    team = BusinessUnitFactory(code="AG:bureau:team", name="Team", parent=bureau)
    other = BusinessUnitFactory(code="OTHER", name="Other unit")
    owner = UserFactory(username="owner", email="owner@example.org")
    sponsor = UserFactory(username="sponsor.person", email="sponsor@example.org")
    westlaw = ToolFactory(name="Westlaw Edge", vendor="Thomson Reuters", aliases=["Westlaw"])
    house = ToolFactory(name="In-house summariser", vendor="")
    research = CapabilityFactory(name="Legal research")
    summaries = CapabilityFactory(name="Document summarisation, long documents")
    full = ProjectFactory(
        name="Case law assistant",
        external_ref="AG-0001",
        business_unit=team,
        owner=owner,
        executive_sponsor=sponsor,
        contact_email="team@example.org",
        problem='Line one\nline two, with a comma and "quotes"  \n',
        benefits="  leading and trailing spaces  ",
        outputs="Ünïcödé — “typographic” ✓",
        stage=Project.Stage.PRODUCTION,
        topic_area=Project.TopicArea.LAW_ENFORCEMENT,
        techniques=["nlp", "generative"],
        development_method=Project.DevelopmentMethod.BOTH,
        involves_pii=True,
        data_description="Case law.",
        demographic_features=["Age", "Sex/Gender"],
        omb_impact=Project.OmbImpact.RIGHTS,
        annual_cost=Decimal("1234.50"),
        expected_annual_benefit=Decimal("0.00"),
        people_affected=0,
        date_initiated=dt.date(2023, 1, 31),
        date_implemented=dt.date(2024, 2, 29),
        date_retired=None,
        source=Project.Source.REGISTERED,
        extra={"nested": {"list": [1, 2.5, None, True]}, "text": "=not a formula"},
        distinct_justification="Different court system.",
        risk_tier=Project.RiskTier.HIGH,
        review_status=Project.ReviewStatus.APPROVED_WITH_CONDITIONS,
        visibility=Project.Visibility.RESTRICTED,
    )
    full.tools.set([westlaw, house])
    full.capabilities.set([research, summaries])
    ProjectFactory(
        name='=HYPERLINK("http://evil.example","click")',
        business_unit=agency,
        problem="+1",
        benefits="-1",
        outputs="@SUM(A1:A2)",
        data_description="\tindented",
        distinct_justification="'=already quoted",
        techniques=[],
        topic_area="",
        import_key="c0ffee" * 6,
        source=Project.Source.IMPORTED,
    )
    for problem in ("first twin", "second twin"):
        ProjectFactory(name="Chatbot", business_unit=bureau, problem=problem)
    ProjectFactory(
        name="Retired and archived",
        business_unit=other,
        stage=Project.Stage.RETIRED,
        archived_at=dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC),
        involves_pii=False,
        source=Project.Source.DISCOVERED,
        review_status=Project.ReviewStatus.REJECTED,
        risk_tier=Project.RiskTier.PROHIBITED,
    )
    return Project.objects.all()


def export_to(path: Path, *options: str) -> Path:
    call_command(
        "export_inventory",
        "--format",
        "maestro-csv",
        "--output",
        str(path),
        *options,
        stdout=io.StringIO(),
    )
    return path


def flush_registry() -> None:
    """Projects, units, tools and capabilities go; users stay (they are not the registry's)."""
    Project.objects.all().delete()
    Tool.objects.all().delete()
    Capability.objects.all().delete()
    while BusinessUnit.objects.exists():
        BusinessUnit.objects.filter(children__isnull=True).delete()


def test_export_then_import_into_an_empty_registry_reproduces_every_field(portfolio, tmp_path):
    before = sorted(fingerprint(p) for p in Project.objects.all())
    path = export_to(tmp_path / "export.csv", "--include-archived")
    flush_registry()
    AuditEvent.objects.all().delete()

    report = run_import(path=path, fmt="maestro-csv")

    assert (report.created, report.rejected) == (len(before), 0)
    after = sorted(fingerprint(p) for p in Project.objects.all())
    assert after == before
    assert AuditEvent.objects.count() == report.created + report.updated

    again = run_import(path=path, fmt="maestro-csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, len(before))


def test_export_reimported_into_the_same_registry_changes_nothing(portfolio, tmp_path):
    path = export_to(tmp_path / "export.csv", "--include-archived")

    report = run_import(path=path, fmt="maestro-csv")

    assert (report.created, report.updated, report.unchanged) == (0, 0, portfolio.count())
    assert AuditEvent.objects.count() == 0


def test_archived_projects_are_left_out_unless_asked(portfolio, tmp_path):
    rows = list(csv.reader(export_to(tmp_path / "e.csv").open(encoding="utf-8")))
    assert len(rows) == 1 + portfolio.count() - 1
    assert "Retired and archived" not in {row[2] for row in rows}


def test_formula_cells_are_neutralised(portfolio):
    rows = list(export_rows(Project.objects.filter(business_unit__code="AG"), "maestro-csv"))
    row = dict(zip(rows[0], rows[1], strict=True))

    assert row["name"] == '\'=HYPERLINK("http://evil.example","click")'
    assert row["problem"] == "'+1"
    assert row["benefits"] == "'-1"
    assert row["outputs"] == "'@SUM(A1:A2)"
    assert row["data_description"] == "'\tindented"
    assert row["distinct_justification"] == "''=already quoted"
    for cells in rows:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=1+2", "'=1+2"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        ("", ""),
        ("a=b", "a=b"),
    ],
)
def test_neutralise(cell, safe):
    assert neutralise(cell) == safe


def test_maestro_csv_header_is_the_template():
    rows = list(export_rows([], "maestro-csv"))
    assert rows == [list(MAESTRO_COLUMNS)]
    assert EXPORT_FORMATS == ("maestro-csv", "omb-2025")


def test_omb_2025_export_has_the_2025_columns_and_fills_what_it_can(portfolio):
    out = io.StringIO()
    call_command("export_inventory", "--format", "omb-2025", stdout=out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))

    assert rows[0] == list(OMB_2025_COLUMNS)
    assert len(OMB_2025_COLUMNS) == 36
    exported = {row[3]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    case_law = exported["Case law assistant"]
    assert case_law["agency"] == "AG" and case_law["agency_name"] == "Agency"
    assert case_law["agency_bureau"] == "Team"
    assert case_law["id"] == "AG-0001"
    assert case_law["development_stage"] == "Deployed"
    assert case_law["is_high_impact"] == "High-impact"
    assert case_law["topic_area"] == "Law Enforcement"
    assert case_law["classification"] == "Generative AI"
    assert case_law["contracting_usage"] == "Contracting and In House"
    assert case_law["vendor_name"] == "In-house summariser; Thomson Reuters"
    assert case_law["has_pii"] == "Yes"
    assert case_law["operational_date"] == "2024-02-29"
    assert case_law["demographic_features"] == "['Age', 'Sex/Gender']"
    assert case_law["problem_solved"].startswith("Line one\nline two")
    assert exported['\'=HYPERLINK("http://evil.example","click")']["agency_bureau"] == ""


def test_stream_csv_takes_the_selector_queryset_in_few_queries(
    portfolio, reviewer, django_assert_max_num_queries
):
    for index in range(30):
        ProjectFactory(name=f"Extra {index}", business_unit=BusinessUnit.objects.get(code="OTHER"))
    queryset = selectors.project_list(user=reviewer).order_by("name", "id")

    with django_assert_max_num_queries(8):
        text = "".join(stream_csv(queryset, "maestro-csv"))

    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 1 + queryset.count()
    assert rows[0] == list(MAESTRO_COLUMNS)


def test_export_command_errors_are_one_line():
    with pytest.raises(CommandError, match="unknown format 'xml'"):
        call_command("export_inventory", "--format", "xml", stdout=io.StringIO())
