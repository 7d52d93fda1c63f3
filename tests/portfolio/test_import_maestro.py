"""Maestro's own template (maestro-csv, CSV and XLSX): validation, all-or-nothing, identities."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from portfolio.importers import run_import
from portfolio.importers.maestro_csv import COLUMNS
from portfolio.models import AuditEvent, BusinessUnit, Capability, Project, Tool
from tests.factories import BusinessUnitFactory, ProjectFactory, ToolFactory, UserFactory

TEMPLATE = (
    Path(__file__).resolve().parents[2]
    / "portfolio"
    / "fixtures"
    / "inventories"
    / "maestro-template.csv"
)

pytestmark = pytest.mark.django_db


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(column, "") for column in header])
    return path


def run_command(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_inventory", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


HEADER = [
    "name",
    "business_unit_code",
    "business_unit_name",
    "stage",
    "annual_cost",
    "date_initiated",
]


@pytest.fixture
def mixed_file(tmp_path, unit):
    """Two valid rows and one row per kind of mistake."""
    return write_csv(
        tmp_path / "mixed.csv",
        HEADER,
        [
            {"name": "Valid one", "business_unit_code": "HOME", "annual_cost": "1200.5"},  # 2
            {"name": "", "business_unit_code": "HOME"},  # 3
            {"name": "Unknown unit", "business_unit_code": "NOPE"},  # 4
            {"name": "Bad number", "business_unit_code": "HOME", "annual_cost": "abc"},  # 5
            {"name": "Negative", "business_unit_code": "HOME", "annual_cost": "-5"},  # 6
            {"name": "Bad date", "business_unit_code": "HOME", "date_initiated": "2024-02-30"},  # 7
            {"name": "Odd stage", "business_unit_code": "HOME", "stage": "sleeping"},  # 8
            {
                "name": "Valid two",
                "business_unit_code": "NEW",
                "business_unit_name": "New unit",
            },  # 9
        ],
    )


EXPECTED_ERRORS = [
    "row 3: name is missing",
    "row 4: unknown business unit code 'NOPE'",
    "row 5: annual_cost: 'abc' is not a number",
    "row 6: annual_cost: '-5' must not be negative",
    "row 7: date_initiated: '2024-02-30' is not a valid date (YYYY-MM-DD)",
    "row 8: stage: 'sleeping' is not a known stage",
]


def test_invalid_rows_by_default_write_nothing_and_fail(mixed_file):
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError) as raised:
        call_command(
            "import_inventory", "--format", "maestro-csv", str(mixed_file), stdout=out, stderr=err
        )

    lines = out.getvalue().splitlines()
    assert lines[: len(EXPECTED_ERRORS)] == EXPECTED_ERRORS
    assert lines[-1] == "created: 0, updated: 0, unchanged: 0, rejected: 6"
    assert str(raised.value) == (
        "nothing written: 6 invalid rows (use --skip-invalid to import the valid rows)"
    )
    assert raised.value.returncode == 1
    assert Project.objects.count() == 0
    assert not BusinessUnit.objects.filter(code="NEW").exists()
    assert AuditEvent.objects.count() == 0


def test_skip_invalid_writes_the_valid_rows(mixed_file):
    out, _ = run_command("--format", "maestro-csv", "--skip-invalid", str(mixed_file))

    assert out.splitlines()[: len(EXPECTED_ERRORS)] == EXPECTED_ERRORS
    assert out.splitlines()[-1] == "created: 2, updated: 0, unchanged: 0, rejected: 6"
    assert sorted(Project.objects.values_list("name", flat=True)) == ["Valid one", "Valid two"]
    assert Project.objects.get(name="Valid one").annual_cost == Decimal("1200.50")
    assert BusinessUnit.objects.get(code="NEW").name == "New unit"
    assert AuditEvent.objects.count() == 2


def test_dry_run_writes_nothing_and_says_what_would_happen(tmp_path, unit):
    path = write_csv(
        tmp_path / "ok.csv",
        HEADER,
        [
            {"name": "First", "business_unit_code": "HOME"},
            {"name": "Second", "business_unit_code": "FRESH", "business_unit_name": "Fresh unit"},
        ],
    )

    out, _ = run_command("--format", "maestro-csv", "--dry-run", str(path))

    assert "created: 2, updated: 0, unchanged: 0, rejected: 0" in out.splitlines()
    assert out.splitlines()[-1] == "dry run: nothing written"
    assert Project.objects.count() == 0
    assert not BusinessUnit.objects.filter(code="FRESH").exists()
    assert AuditEvent.objects.count() == 0


def test_dry_run_with_invalid_rows_reports_them_and_fails(mixed_file):
    out = io.StringIO()
    with pytest.raises(CommandError, match="nothing written: 6 invalid rows"):
        call_command(
            "import_inventory", "--format", "maestro-csv", "--dry-run", str(mixed_file), stdout=out
        )
    assert "dry run: nothing written" in out.getvalue()
    assert "created: 2, updated: 0, unchanged: 0, rejected: 6" in out.getvalue()
    assert Project.objects.count() == 0


def test_row_numbers_count_records_not_lines(tmp_path, unit):
    path = write_csv(
        tmp_path / "multiline.csv",
        ["name", "business_unit_code", "problem"],
        [
            {"name": "Spans lines", "business_unit_code": "HOME", "problem": "one\ntwo\nthree"},
            {"name": "", "business_unit_code": "HOME"},
        ],
    )
    report = run_import(path=path, fmt="maestro-csv", skip_invalid=True)

    assert [str(e) for e in report.errors] == ["row 3: name is missing"]
    assert Project.objects.get().problem == "one\ntwo\nthree"


def test_the_shipped_template_imports_and_reimports_unchanged():
    report = run_import(path=TEMPLATE, fmt="maestro-csv")

    assert (report.created, report.rejected) == (4, 0)
    legal = Project.objects.get(external_ref="LEGAL-001")
    assert legal.business_unit.code == "LEGAL"
    assert legal.stage == "production"
    assert legal.techniques == ["generative", "nlp"]
    assert sorted(t.name for t in legal.tools.all()) == ["Lexis+ AI", "Westlaw Edge"]
    assert sorted(c.name for c in legal.capabilities.all()) == [
        "Document summarisation",
        "Legal research",
    ]
    assert legal.owner.email == "jane.doe@example.org"
    assert not legal.owner.is_active and not legal.owner.has_usable_password()
    assert legal.executive_sponsor.username == "general.counsel"
    assert legal.review_status == "approved" and legal.risk_tier == "limited"
    assert legal.annual_cost == Decimal("48000.00") and legal.people_affected == 85
    screening = Project.objects.get(external_ref="HR-014")
    assert screening.stage == "pilot"  # the label "Pilot"
    assert screening.topic_area == "human_resources"  # the label "Human resources"
    assert screening.techniques == ["classical_ml"]
    assert screening.business_unit.parent.code == "HR"
    assert screening.visibility == "restricted"
    assert screening.extra == {"ticket": "HR-REQ-881"}
    assert screening.demographic_features == ["Age", "Sex"]
    minutes = Project.objects.get(name="Meeting minutes with Copilot")
    assert [t.name for t in minutes.tools.all()] == ["Microsoft 365 Copilot"]
    assert minutes.source == "imported"
    retired = Project.objects.get(name__startswith="Invoice field extraction")
    assert retired.archived_at is not None and retired.date_retired == dt.date(2024, 6, 30)

    again = run_import(path=TEMPLATE, fmt="maestro-csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert AuditEvent.objects.count() == 4


def test_rows_without_reference_keep_their_identity_by_unit_name_and_order(tmp_path, unit):
    rows = [
        {"name": "Chatbot", "business_unit_code": "HOME", "problem": "first"},
        {"name": "Chatbot", "business_unit_code": "HOME", "problem": "second"},
    ]
    path = write_csv(tmp_path / "twins.csv", ["name", "business_unit_code", "problem"], rows)
    run_import(path=path, fmt="maestro-csv")
    assert Project.objects.filter(name="Chatbot").count() == 2

    rows[1]["problem"] = "second, rewritten"
    report = run_import(
        path=write_csv(tmp_path / "twins2.csv", ["name", "business_unit_code", "problem"], rows),
        fmt="maestro-csv",
    )

    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    assert sorted(Project.objects.values_list("problem", flat=True)) == [
        "first",
        "second, rewritten",
    ]
    event = AuditEvent.objects.get(action="project.updated")
    assert event.changes == {"problem": {"before": "second", "after": "second, rewritten"}}


def test_matching_by_external_ref_updates_and_bumps_the_version(tmp_path, unit):
    project = ProjectFactory(business_unit=unit, external_ref="HOME-1", name="Old name")
    path = write_csv(
        tmp_path / "rename.csv",
        ["external_ref", "name", "business_unit_code"],
        [{"external_ref": "HOME-1", "name": "New name", "business_unit_code": "HOME"}],
    )

    report = run_import(path=path, fmt="maestro-csv")

    project.refresh_from_db()
    assert (report.created, report.updated) == (0, 1)
    assert project.name == "New name" and project.version == 2
    assert project.problem == "Caseworkers spend hours reading scanned letters."  # untouched
    assert AuditEvent.objects.get().changes["name"] == {"before": "Old name", "after": "New name"}


def test_the_same_reference_twice_in_one_file_is_rejected(tmp_path, unit):
    path = write_csv(
        tmp_path / "dup.csv",
        ["external_ref", "name", "business_unit_code"],
        [
            {"external_ref": "X-1", "name": "A", "business_unit_code": "HOME"},
            {"external_ref": "X-1", "name": "B", "business_unit_code": "HOME"},
        ],
    )

    report = run_import(path=path, fmt="maestro-csv")

    assert not report.written
    assert [str(e) for e in report.errors] == [
        "row 3: external_ref 'X-1' appears twice for unit HOME (first on row 2)"
    ]


def test_units_with_parents_are_created_and_unknown_parents_rejected(tmp_path):
    BusinessUnitFactory(code="ROOT", name="Root")
    path = write_csv(
        tmp_path / "units.csv",
        ["name", "business_unit_code", "business_unit_name", "parent_unit_code"],
        [
            {
                "name": "a",
                "business_unit_code": "TEAM",
                "business_unit_name": "Team",
                "parent_unit_code": "ROOT",
            },
            {
                "name": "b",
                "business_unit_code": "SUB",
                "business_unit_name": "Sub",
                "parent_unit_code": "TEAM",
            },
            {
                "name": "c",
                "business_unit_code": "LOST",
                "business_unit_name": "Lost",
                "parent_unit_code": "GHOST",
            },
            {"name": "d", "business_unit_code": "SUB"},
        ],
    )

    report = run_import(path=path, fmt="maestro-csv", skip_invalid=True)

    assert [str(e) for e in report.errors] == ["row 4: unknown parent unit code 'GHOST'"]
    assert BusinessUnit.objects.get(code="SUB").parent.code == "TEAM"
    assert BusinessUnit.objects.get(code="TEAM").parent.code == "ROOT"
    assert Project.objects.filter(business_unit__code="SUB").count() == 2
    assert report.units_created == 2


def test_owners_are_found_by_username_or_email_and_unknown_ones_created_inactive(tmp_path, unit):
    UserFactory(username="alice", email="Alice@Example.org")
    path = write_csv(
        tmp_path / "owners.csv",
        ["name", "business_unit_code", "owner", "executive_sponsor"],
        [
            {
                "name": "a",
                "business_unit_code": "HOME",
                "owner": "alice@example.org",
                "executive_sponsor": "ALICE",
            },
            {"name": "b", "business_unit_code": "HOME", "owner": "bob@example.org"},
            {"name": "c", "business_unit_code": "HOME", "owner": "Not A Username"},
        ],
    )

    report = run_import(path=path, fmt="maestro-csv", skip_invalid=True)

    assert [str(e) for e in report.errors] == [
        "row 4: owner: 'Not A Username' is neither a known username nor an e-mail address"
    ]
    a = Project.objects.get(name="a")
    assert a.owner.username == "alice" and a.executive_sponsor.username == "alice"
    bob = get_user_model().objects.get(username="bob@example.org")
    assert bob.email == "bob@example.org" and not bob.is_active
    assert not bob.has_usable_password()
    assert report.users_created == 1


def test_labels_lists_yes_no_and_money_noise_are_accepted(tmp_path, unit):
    path = write_csv(
        tmp_path / "labels.csv",
        list(COLUMNS),
        [
            {
                "name": "Labels",
                "business_unit_code": "HOME",
                "stage": "  PRODUCTION ",
                "topic_area": "Law enforcement and justice",
                "techniques": "Computer vision, nlp",
                "development_method": "In-house and vendor",
                "involves_pii": "Yes",
                "omb_impact": "Rights-impacting",
                "annual_cost": "$1,234.567",
                "people_affected": "1,000",
                "visibility": "Own unit, reviewers and executives",
                "review_status": "",
                "archived": "2024-03-01T10:00:00+01:00",
                "extra": '{"a": [1, 2], "b": {"c": null}}',
            }
        ],
    )

    run_import(path=path, fmt="maestro-csv")

    project = Project.objects.get()
    assert project.stage == "production"
    assert project.topic_area == "law_enforcement"
    assert project.techniques == ["computer_vision", "nlp"]
    assert project.development_method == "both"
    assert project.involves_pii is True
    assert project.omb_impact == "rights"
    assert project.annual_cost == Decimal("1234.57")
    assert project.people_affected == 1000
    assert project.visibility == "restricted"
    assert project.review_status == "not_submitted"
    assert project.archived_at == dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.UTC)
    assert project.extra == {"a": [1, 2], "b": {"c": None}}


def test_columns_left_out_are_left_alone(tmp_path, unit):
    tool = ToolFactory(name="Kept tool")
    project = ProjectFactory(business_unit=unit, external_ref="K-1", annual_cost=Decimal("10"))
    project.tools.add(tool)
    path = write_csv(
        tmp_path / "partial.csv",
        ["external_ref", "name", "business_unit_code"],
        [{"external_ref": "K-1", "name": project.name, "business_unit_code": "HOME"}],
    )

    report = run_import(path=path, fmt="maestro-csv")

    project.refresh_from_db()
    assert report.unchanged == 1
    assert project.annual_cost == Decimal("10.00")
    assert [t.name for t in project.tools.all()] == ["Kept tool"]


def test_tools_column_sets_the_tools_through_aliases(tmp_path, unit):
    existing = ToolFactory(name="Copilot (agency licence)", aliases=["M365 Copilot"])
    project = ProjectFactory(business_unit=unit, external_ref="T-1")
    project.tools.add(ToolFactory(name="Old tool"))
    path = write_csv(
        tmp_path / "tools.csv",
        ["external_ref", "name", "business_unit_code", "tools"],
        [
            {
                "external_ref": "T-1",
                "name": project.name,
                "business_unit_code": "HOME",
                "tools": "m365 copilot; Copilot for MS 365;Grammarly",
            },
        ],
    )

    report = run_import(path=path, fmt="maestro-csv")

    project.refresh_from_db()
    assert report.updated == 1
    assert sorted(t.name for t in project.tools.all()) == ["Copilot (agency licence)", "Grammarly"]
    existing.refresh_from_db()
    assert "Copilot for MS 365" in existing.aliases
    assert Tool.objects.get(name="Grammarly").sanction_status == "unreviewed"
    assert AuditEvent.objects.get().changes["tools"] == {
        "before": ["Old tool"],
        "after": ["Copilot (agency licence)", "Grammarly"],
    }


def test_xlsx_template_is_read_from_the_first_sheet(tmp_path, unit):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(
        [
            "name",
            "business_unit_code",
            "annual_cost",
            "date_initiated",
            "involves_pii",
            "capabilities",
        ]
    )
    sheet.append(["From Excel", "HOME", 2500.75, dt.datetime(2024, 4, 2), True, "OCR; Search"])
    sheet.append(["Second", "HOME", 3, "2024-05-06", "no", None])
    workbook.create_sheet("ignored").append(["name"])
    path = tmp_path / "template.xlsx"
    workbook.save(path)

    report = run_import(path=path, fmt="maestro-csv")

    assert (report.created, report.rejected) == (2, 0)
    first = Project.objects.get(name="From Excel")
    assert first.annual_cost == Decimal("2500.75")
    assert first.date_initiated == dt.date(2024, 4, 2)
    assert first.involves_pii is True
    assert sorted(c.name for c in first.capabilities.all()) == ["OCR", "Search"]
    assert Capability.objects.count() == 2
    assert Project.objects.get(name="Second").annual_cost == Decimal("3.00")


def test_audit_events_name_the_actor_and_the_run(tmp_path, unit, reviewer):
    path = write_csv(
        tmp_path / "one.csv",
        ["name", "business_unit_code"],
        [{"name": "x", "business_unit_code": "HOME"}],
    )

    report = run_import(path=path, fmt="maestro-csv", actor=reviewer)

    event = AuditEvent.objects.get()
    assert event.actor == reviewer and event.actor_label == "reviewer"
    assert event.action == "project.imported"
    assert event.request_id == report.run_id
    assert event.changes["name"] == {"before": None, "after": "x"}
