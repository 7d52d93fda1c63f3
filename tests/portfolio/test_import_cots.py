"""The 2025 commercial-AI list (omb-2025-cots) becomes tool adoptions per business unit."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from portfolio.importers import ImportFormatError, run_import
from portfolio.models import AuditEvent, BusinessUnit, Tool, ToolAdoption
from tests.factories import BusinessUnitFactory, ToolFactory

COTS = Path("portfolio/fixtures/inventories/federal-ai-inventory-2025-cots.csv")
HEADER = (
    "Agency,AI Use Case,Agency Use (Y/N)?,Name of Commercial Product or Service Used,"
    "Estimated # of Licenses/Users\n"
)

# Counted independently of the importer (a plain csv script, see the commit message): 900 rows,
# 468 with use = Y, 48 of them naming no product ("N/A", "Various", blank); the 420 others name
# products of 42 agencies, 261 distinct tools after normalisation, 816 distinct
# (agency, tool, task) triples.
EXPECTED_ADOPTIONS = 816
EXPECTED_UNITS = 42
EXPECTED_TOOLS = 261


def write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "cots.csv"
    path.write_text("\ufeff" + header + body, encoding="utf-8")
    return path


@pytest.mark.django_db
def test_real_file_counts_and_idempotence():
    # when
    report = run_import(path=COTS, fmt="omb-2025-cots")
    # then
    assert (report.created, report.updated, report.unchanged, report.rejected) == (
        EXPECTED_ADOPTIONS,
        0,
        0,
        0,
    )
    assert ToolAdoption.objects.count() == EXPECTED_ADOPTIONS
    assert BusinessUnit.objects.count() == EXPECTED_UNITS
    assert Tool.objects.count() == EXPECTED_TOOLS
    assert not Tool.objects.exclude(sanction_status=Tool.SanctionStatus.UNREVIEWED).exists()
    copilot = Tool.objects.get(name="Microsoft 365 Copilot")
    assert copilot.adoptions.values("business_unit").distinct().count() >= 20
    assert AuditEvent.objects.filter(action="tool_adoption.imported").count() == 1

    # when imported again
    again = run_import(path=COTS, fmt="omb-2025-cots")
    # then nothing is created
    assert (again.created, again.updated, again.unchanged) == (0, 0, EXPECTED_ADOPTIONS)
    assert again.units_created == again.tools_created == 0
    assert ToolAdoption.objects.count() == EXPECTED_ADOPTIONS
    assert AuditEvent.objects.filter(action="tool_adoption.imported").count() == 1


@pytest.mark.django_db
def test_product_spellings_land_on_one_tool(tmp_path):
    # given
    path = write(
        tmp_path,
        "Department of Justice,Drafting documents,Y,M365 Copilot,1-100\n"
        "Department of Justice,Summarising,Y,Copilot for MS 365,1-100\n"
        "Department of Justice,Meetings,Y,Microsoft CoPilot,\n"
        'Department of Justice,Email,Y,"Microsoft 365 Copilot GCC, Grammarly",101-1000\n'
        "Department of Justice,Coding,N,GitHub Copilot,\n"
        "Department of Justice,Maps,Y,Various,\n",
    )
    # when
    report = run_import(path=path, fmt="omb-2025-cots")
    # then
    assert report.created == 5
    adoptions = ToolAdoption.objects.select_related("tool", "business_unit")
    assert {a.tool.name for a in adoptions} == {"Microsoft 365 Copilot", "Grammarly"}
    assert adoptions.filter(tool__name="Microsoft 365 Copilot").count() == 4
    assert {a.business_unit.code for a in adoptions} == {"DOJ"}
    assert Tool.objects.get(name="Grammarly").sanction_status == "unreviewed"


@pytest.mark.django_db
def test_agency_matches_existing_unit_by_name_then_code(tmp_path):
    # given
    by_name = BusinessUnitFactory(code="X1", name="  department OF  labor ")
    by_code = BusinessUnitFactory(code="STATE", name="State")
    path = write(
        tmp_path,
        "Department of Labor,Drafting,Y,ChatGPT,\n"
        "Department of State,Drafting,Y,ChatGPT,\n"
        "Office of Made-Up Things,Drafting,Y,ChatGPT,\n",
    )
    # when
    report = run_import(path=path, fmt="omb-2025-cots")
    # then
    assert report.units_created == 1
    units = set(ToolAdoption.objects.values_list("business_unit__code", flat=True))
    assert units == {by_name.code, by_code.code, "COTS-OFFICE-OF-MADE-UP-THINGS"}


@pytest.mark.django_db
def test_licence_band_change_is_an_update(tmp_path):
    # given
    ToolFactory(name="ChatGPT", sanction_status="approved")
    run_import(
        path=write(tmp_path, "Department of Labor,Drafting,Y,ChatGPT,1-100\n"), fmt="omb-2025-cots"
    )
    # when
    report = run_import(
        path=write(tmp_path, "Department of Labor,Drafting,Y,ChatGPT,101-1000\n"),
        fmt="omb-2025-cots",
    )
    # then
    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    assert ToolAdoption.objects.get().estimated_users == "101-1000"
    assert Tool.objects.get(name="ChatGPT").sanction_status == "approved"


@pytest.mark.django_db
def test_missing_column_is_one_line_error(tmp_path):
    # given: no product column
    path = write(
        tmp_path,
        "Department of Labor,Drafting,Y,1-100\n",
        header="Agency,AI Use Case,Agency Use (Y/N)?,Estimated # of Licenses/Users\n",
    )
    # when / then
    with pytest.raises(ImportFormatError) as error:
        run_import(path=path, fmt="omb-2025-cots")
    message = str(error.value)
    assert "\n" not in message
    assert "Name of Commercial Product or Service Used" in message
    with pytest.raises(CommandError, match="missing required column"):
        call_command("import_inventory", str(path), "--format", "omb-2025-cots")
    assert not ToolAdoption.objects.exists()


@pytest.mark.django_db
def test_command_prints_summary_and_rejects_bad_use_value(tmp_path):
    # given
    path = write(
        tmp_path,
        "Department of Labor,Drafting,Y,ChatGPT,\nDepartment of Labor,Coding,Maybe,Codex,\n",
    )
    out = StringIO()
    # when: the bad row blocks the import unless --skip-invalid
    with pytest.raises(CommandError, match="nothing written"):
        call_command("import_inventory", str(path), "--format", "omb-2025-cots", stdout=out)
    assert not ToolAdoption.objects.exists()
    call_command(
        "import_inventory", str(path), "--format", "omb-2025-cots", "--skip-invalid", stdout=out
    )
    # then
    text = out.getvalue()
    assert "row 3: Agency Use (Y/N)? must be Y or N" in text
    assert "created: 1, updated: 0, unchanged: 0, rejected: 1" in text
