"""Importing the real 2023 federal AI use case inventory and a synthetic 2025 file (the 2024
inventory has its own module: it is imported once for all its tests)."""

from __future__ import annotations

import codecs
import csv
from pathlib import Path

import pytest

from portfolio.exporters import export_rows
from portfolio.importers import ImportReport, run_import
from portfolio.models import AuditEvent, BusinessUnit, Project, Tool

INVENTORIES = Path(__file__).resolve().parents[2] / "portfolio" / "fixtures" / "inventories"
INVENTORY_2023 = INVENTORIES / "federal-ai-inventory-2023.csv"
INVENTORY_2024 = INVENTORIES / "federal-ai-inventory-2024.csv"

pytestmark = pytest.mark.django_db


def import_file(path: Path, fmt: str, **options: object) -> ImportReport:
    return run_import(path=path, fmt=fmt, **options)  # type: ignore[arg-type]


def read_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def write_rows(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


# --- 2023 ----------------------------------------------------------------------------------------


def test_2023_inventory_gives_710_projects_under_21_agencies():
    report = import_file(INVENTORY_2023, "omb-2023")

    assert (report.created, report.updated, report.unchanged, report.rejected) == (710, 0, 0, 0)
    assert report.written and not report.errors
    assert Project.objects.count() == 710
    assert BusinessUnit.objects.filter(parent=None).count() == 21
    assert AuditEvent.objects.count() == report.created + report.updated
    assert set(AuditEvent.objects.values_list("action", flat=True)) == {"project.imported"}
    assert len(set(AuditEvent.objects.values_list("request_id", flat=True))) == 1


def test_2023_mapping_spot_checks():
    import_file(INVENTORY_2023, "omb-2023")

    project = Project.objects.get(external_ref="DHS-0000-2023")
    assert project.name == "AI Curated Synthetic Data"
    assert project.business_unit.code == "DHS:customs-and-border-protection"
    assert project.business_unit.name == "Customs and Border Protection"
    assert project.business_unit.parent.code == "DHS"
    assert project.business_unit.parent.name == "Department of Homeland Security"
    assert project.stage == Project.Stage.IDEA  # "Initiation"
    assert project.techniques == ["generative"]  # "Synthetic Image Generation"
    assert project.extra["Development_Stage"] == "Initiation"
    assert project.extra["Techniques"] == "Synthetic Image Generation"
    assert project.source == Project.Source.IMPORTED
    assert project.import_key == ""
    # "Operation and Maintenance" → production; Source_Code kept in extra.
    with_code = Project.objects.get(extra__Source_Code="https://github.com/usbr/PyForecast")
    assert with_code.business_unit.parent.code == "DOI"
    # The 2023 code DOS becomes STATE, the code of later editions.
    assert not BusinessUnit.objects.filter(code="DOS").exists()
    assert Project.objects.filter(external_ref__startswith="DOS-").count() == 31
    assert all(
        p.business_unit.code == "STATE" or p.business_unit.parent.code == "STATE"
        for p in Project.objects.filter(external_ref__startswith="DOS-")
    )


def test_2023_rows_without_bureau_sit_on_the_agency():
    import_file(INVENTORY_2023, "omb-2023")

    rows = read_rows(INVENTORY_2023)
    header = rows[0]
    blank_bureau = [r for r in rows[1:] if not r[header.index("Agency")].strip()]
    assert blank_bureau
    ref = blank_bureau[0][header.index("Use_Case_ID")]
    project = Project.objects.get(external_ref=ref)
    assert project.business_unit.parent is None
    assert project.business_unit.code == blank_bureau[0][header.index("Department_Code")].replace(
        "DOS", "STATE"
    )


def test_2023_reimport_changes_nothing():
    import_file(INVENTORY_2023, "omb-2023")
    events = AuditEvent.objects.count()

    again = import_file(INVENTORY_2023, "omb-2023")

    assert (again.created, again.updated, again.unchanged) == (0, 0, 710)
    assert AuditEvent.objects.count() == events
    assert Project.objects.filter(version=1).count() == 710


def test_one_changed_row_is_exactly_one_update_with_its_diff(tmp_path):
    import_file(INVENTORY_2023, "omb-2023")
    rows = read_rows(INVENTORY_2023)
    summary = rows[0].index("Summary")
    ref = rows[5][0]
    rows[5][summary] = "A rewritten description of this use case."
    changed = write_rows(tmp_path / "changed.csv", rows)
    before = AuditEvent.objects.count()

    report = import_file(changed, "omb-2023")

    assert (report.created, report.updated, report.unchanged) == (0, 1, 709)
    project = Project.objects.get(external_ref=ref)
    assert project.problem == "A rewritten description of this use case."
    assert project.version == 2
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.get(action="project.updated")
    assert event.target_id == str(project.pk)
    assert event.business_unit_id == project.business_unit_id
    assert set(event.changes) == {"problem"}
    assert event.changes["problem"]["after"] == "A rewritten description of this use case."
    assert event.request_id == report.run_id


# --- 2025 (synthetic, from the data dictionary) -------------------------------------------------

HEADER_2025 = [
    "agency",
    "agency_name",
    "id",
    "use_case_name",
    "agency_bureau",
    "contact_email",
    "is_withheld",
    "development_stage",
    "is_high_impact",
    "HI_justification",
    "topic_area",
    "classification",
    "problem_solved",
    "benefits",
    "system_outputs",
    "operational_date",
    "contracting_usage",
    "vendor_name",
    "have_ato",
    "system_name_ato",
    "data_description",
    "link_to_data",
    "has_pii",
    "pia_url",
    "demographic_features",
    "has_custom_code",
    "code_url",
    "hi_testing_conducted",
    "hi_assessment_completed",
    "hi_potential_impacts",
    "hi_independent_review",
    "hi_ongoing_monitoring",
    "hi_training_established",
    "hi_failsafe_presence",
    "hi_appeal_process",
    "hi_public_consultation",
]


def row_2025(**values: str) -> list[str]:
    return [values.get(column, "") for column in HEADER_2025]


def synthetic_2025(path: Path) -> Path:
    rows = [
        HEADER_2025,
        row_2025(
            agency="USDA",
            agency_name="Department of Agriculture",
            id="USDA-0001",
            use_case_name="Benefit eligibility triage",
            agency_bureau="Food and Nutrition Service",
            contact_email="ai@usda.example.gov",
            is_withheld="a) No",
            development_stage="c) Deployed – The use case is being actively authorized or "
            "utilized to support the functions or mission of an agency.",
            is_high_impact="a) High-impact",
            topic_area="Government Benefits Processing",
            classification="Classical/Predictive Machine Learning: Models trained on data to make "
            "predictions or classifications based on identified patterns or relationships.",
            problem_solved="Caseworkers triage\napplications by hand.\nIt takes weeks.",
            benefits="Faster decisions.",
            system_outputs="A priority score.",
            operational_date="2024-05-01",
            contracting_usage="a) Purchased from a vendor",
            vendor_name="M365 Copilot; Copilot for MS 365, Microsoft CoPilot",
            have_ato="Yes",
            data_description="Past applications.",
            has_pii="Yes",
            demographic_features="['Age', 'Sex', 'Income']",
            hi_testing_conducted="a) Yes",
            hi_potential_impacts="Wrong priority for an applicant.",
            hi_public_consultation="['Direct usability testing', 'Other']",
        ),
        row_2025(
            agency="DOS",
            agency_name="Department of State",
            use_case_name="Cable summarisation",
            development_stage="Pre-deployment",
            is_high_impact="Presumed High-Impact, but Not High-impact",
            HI_justification="Summaries are reviewed by officers.",
            topic_area="international affairs",
            classification="GENERATIVE AI",
            contracting_usage="Contracting and In House",
            vendor_name="Acme Analytics, Inc.",
            has_pii="No",
            demographic_features="['None of the above']",
        ),
        row_2025(
            agency="DOS",
            agency_name="Department of State",
            use_case_name="Cable summarisation",
            development_stage="b) Pilot – The use case has been deployed in a limited test or "
            "pilot capacity.",
            is_high_impact="Not High-impact",
            topic_area="Emergency Mgmt",
            classification="NLP",
            contact_email="not an address",
            operational_date="sometime in 2025",
        ),
    ]
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_2025_synthetic_file_with_bom_lists_and_multiline_cells(tmp_path):
    path = synthetic_2025(tmp_path / "inventory-2025.csv")
    assert path.read_bytes().startswith(codecs.BOM_UTF8)

    report = import_file(path, "omb-2025")

    assert (report.created, report.rejected) == (3, 0)
    triage = Project.objects.get(external_ref="USDA-0001")
    assert triage.business_unit.code == "USDA:food-and-nutrition-service"
    assert triage.business_unit.parent.name == "Department of Agriculture"
    assert triage.stage == "production"
    assert triage.omb_impact == "high_impact"
    assert triage.topic_area == "benefits"
    assert triage.techniques == ["classical_ml"]
    assert triage.problem == "Caseworkers triage\napplications by hand.\nIt takes weeks."
    assert triage.date_implemented.isoformat() == "2024-05-01"
    assert triage.development_method == "vendor"
    assert triage.involves_pii is True
    assert triage.demographic_features == ["Age", "Sex", "Income"]
    assert triage.contact_email == "ai@usda.example.gov"
    assert triage.extra["hi_testing_conducted"] == "a) Yes"
    assert triage.extra["hi_public_consultation"] == "['Direct usability testing', 'Other']"
    assert triage.extra["have_ato"] == "Yes"
    # Three spellings of one product: one Tool.
    assert [t.name for t in triage.tools.all()] == ["Microsoft 365 Copilot"]
    copilot = Tool.objects.get(name="Microsoft 365 Copilot")
    assert {"M365 Copilot", "Copilot for MS 365"} <= set(copilot.aliases)

    first, second = Project.objects.filter(name="Cable summarisation").order_by("id")
    assert first.business_unit.code == second.business_unit.code == "STATE"
    assert first.import_key != second.import_key
    assert first.stage == "development" and second.stage == "pilot"
    assert first.omb_impact == "presumed_not_high" and second.omb_impact == "not_high"
    assert first.extra["HI_justification"] == "Summaries are reviewed by officers."
    assert first.topic_area == "international" and second.topic_area == "emergency"
    assert first.techniques == ["generative"] and second.techniques == ["nlp"]
    assert first.development_method == "both"
    assert first.demographic_features == []
    assert [t.name for t in first.tools.all()] == ["Acme Analytics"]  # ", Inc." names nothing
    assert second.contact_email == "" and second.extra["contact_email"] == "not an address"
    assert second.date_implemented is None
    assert second.extra["operational_date"] == "sometime in 2025"

    again = import_file(path, "omb-2025")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


def test_2025_hi_columns_survive_into_the_omb_2025_export(tmp_path):
    import_file(synthetic_2025(tmp_path / "inventory-2025.csv"), "omb-2025")

    rows = list(export_rows(Project.objects.order_by("id"), "omb-2025"))

    assert rows[0] == HEADER_2025
    exported = dict(zip(rows[0], rows[1], strict=True))
    assert exported["id"] == "USDA-0001"
    assert exported["agency"] == "USDA"
    assert exported["agency_bureau"] == "Food and Nutrition Service"
    assert exported["development_stage"] == "Deployed"
    assert exported["is_high_impact"] == "High-impact"
    assert exported["hi_testing_conducted"] == "a) Yes"
    assert exported["hi_potential_impacts"] == "Wrong priority for an applicant."
    assert exported["hi_public_consultation"] == "['Direct usability testing', 'Other']"
    assert exported["demographic_features"] == "['Age', 'Sex', 'Income']"
    assert exported["has_pii"] == "Yes"
    second = dict(zip(rows[0], rows[2], strict=True))
    assert second["HI_justification"] == "Summaries are reviewed by officers."
    assert second["agency"] == "STATE" and second["agency_bureau"] == ""
