"""Importing the real 2024 federal AI use case inventory (imported once for the module)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.management import call_command

from portfolio.importers import ImportReport, run_import
from portfolio.importers.omb2024 import LONG_HEADERS
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


def wipe_registry() -> None:
    AuditEvent.objects.all().delete()
    Project.objects.all().delete()
    Tool.objects.all().delete()
    while BusinessUnit.objects.exists():
        BusinessUnit.objects.filter(children__isnull=True).delete()


@pytest.fixture(scope="module")
def imported_2024(django_db_setup, django_db_blocker):
    """The 2024 inventory imported once for the tests of this module that only read it (or
    re-import it unchanged); each test still runs in its own rolled-back transaction."""
    progress: list[tuple[int, int]] = []
    with django_db_blocker.unblock():
        wipe_registry()
        report = import_file(
            INVENTORY_2024, "omb-2024", progress=lambda d, t: progress.append((d, t))
        )
    yield report, progress
    with django_db_blocker.unblock():
        wipe_registry()


def test_2024_inventory_gives_2133_projects_under_41_agencies(imported_2024):
    report, progress = imported_2024

    assert (report.created, report.updated, report.unchanged, report.rejected) == (2133, 0, 0, 0)
    assert Project.objects.count() == 2133
    agencies = BusinessUnit.objects.filter(parent=None)
    assert agencies.count() == 41
    assert set(agencies.values_list("code", flat=True)) >= {"HHS", "DOJ", "VA", "STATE", "PRC"}
    # Bureaus are children of their agency; "Department of Veterans Affairs " (trailing space)
    # is the same agency as "Department of Veterans Affairs".
    assert BusinessUnit.objects.get(code="VA").name == "Department of Veterans Affairs"
    assert BusinessUnit.objects.filter(parent__code="DOJ", code="DOJ:fbi").exists()
    assert not BusinessUnit.objects.filter(parent__isnull=False, children__isnull=False).exists()
    assert AuditEvent.objects.count() == report.created + report.updated
    assert progress[-1] == (2133, 2133)
    assert len(progress) >= 2133 // 500


def test_2024_mapping_spot_checks(imported_2024):

    rows = read_rows(INVENTORY_2024)
    header = rows[0]
    first = dict(zip(header, rows[1], strict=True))
    project = Project.objects.get(
        name=first["2_use_case_name"], business_unit__code__startswith=first["3_abr"]
    )
    assert project.problem == first["11_purpose_benefits"].strip()
    assert project.benefits == ""
    assert project.outputs == first["12_outputs"].strip()
    assert project.import_key and len(project.import_key) == 40
    # Every non-empty unmapped column is kept under its short name.
    for column, value in first.items():
        if value.strip() and column in {"23_contract_piids", "41_system_name", "54_key_risks"}:
            assert project.extra[column] == value.strip()

    topics = set(Project.objects.values_list("topic_area", flat=True))
    assert {"law_enforcement", "health", "administrative", "service_delivery", ""} <= topics
    assert Project.objects.filter(omb_impact="rights_and_safety").count() == 195
    assert Project.objects.filter(omb_impact="rights").count() == 131  # "Rights-Impacting\n"
    assert Project.objects.filter(omb_impact="safety").count() == 25  # both spellings
    too_new = Project.objects.filter(extra__has_key="17_impact_type")
    assert too_new.count() == 21 and not too_new.exclude(omb_impact="").exists()
    assert Project.objects.filter(development_method="vendor").count() == 485
    assert Project.objects.filter(development_method="in_house").count() == 454
    assert Project.objects.filter(development_method="both").count() == 208
    assert Project.objects.filter(involves_pii=True).count() == 175
    assert Project.objects.filter(involves_pii=False).count() == 874
    assert Project.objects.filter(stage="retired").count() == 147
    # Implausible dates (7/15/1905) are dropped into extra, the row is kept.
    old = Project.objects.filter(extra__21_date_retired="7/15/1905")
    assert old.count() == 8 and not old.exclude(date_retired=None).exists()
    # Demographic features from JSON lists and comma lists.
    featured = Project.objects.exclude(demographic_features=[])
    assert featured.exists()
    assert all(isinstance(f, list) for f in featured.values_list("demographic_features", flat=True))
    assert any("Age" in f for f in featured.values_list("demographic_features", flat=True))
    # Techniques inferred from the texts; well-known products linked as tools.
    techniques = Project.objects.values_list("techniques", flat=True)
    assert sum("generative" in t for t in techniques) > 100
    copilot = Tool.objects.get(name="Microsoft 365 Copilot")
    assert copilot.sanction_status == Tool.SanctionStatus.UNREVIEWED
    assert copilot.projects.values("business_unit__parent").distinct().count() >= 5


def test_2024_labelled_purpose_and_benefits_go_to_their_fields(imported_2024):
    # rows answering "purpose and expected benefits" as "Purpose: … Expected benefits: …"
    split = Project.objects.exclude(benefits="")
    assert split.count() == 246
    example = split.get(name="Adobe Suite Applications", business_unit__code__endswith="atf")
    assert example.problem.startswith("Adobe Suite products support the Bureau")
    assert not example.problem.startswith("Purpose")
    assert example.benefits.startswith("The expected benefits of utilizing the AI features")
    assert "Expected benefits:" not in example.problem


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (
            "Purpose: Route calls.\n\nExpected benefits: Less waiting.",
            ("Route calls.", "Less waiting."),
        ),
        (
            "**Purpose:** Route calls. **Expected Benefits:** Less waiting.",
            ("Route calls.", "Less waiting."),
        ),
        ("Intended purpose: Route calls; benefits: less waiting", ("Route calls", "less waiting")),
        # not labels: a benefit inside a sentence, no purpose label, an empty part
        ("Purpose: a tool that benefits: staff", None),
        ("Improve benefits: processing of claims", None),
        ("Purpose: Route calls.\nBenefits:", None),
    ],
)
def test_split_purpose_benefits(text, parts):
    from portfolio.importers.mapping import split_purpose_benefits

    assert split_purpose_benefits(text) == (parts or (text, ""))


def test_2024_identical_names_stay_distinct_projects(imported_2024):

    same = Project.objects.filter(name="Generative AI Usage", business_unit__code__startswith="ED")
    assert same.count() == 51
    assert len(set(same.values_list("import_key", flat=True))) == 51


def test_2024_reimport_is_idempotent(imported_2024):

    out = io.StringIO()
    call_command("import_inventory", "--format", "omb-2024", str(INVENTORY_2024), stdout=out)

    assert out.getvalue().strip().splitlines()[-1] == (
        "created: 0, updated: 0, unchanged: 2133, rejected: 0"
    )
    assert AuditEvent.objects.count() == 2133
    assert Project.objects.count() == 2133


def official_2024_file(path: Path) -> Path:
    """The 2024 inventory as OMB publishes it: long question headers, repeated "If Other,
    please explain." headers, Windows-1252."""
    rows = read_rows(INVENTORY_2024)
    long = dict(LONG_HEADERS)
    rows[0] = [long[column] for column in rows[0]]
    assert rows[0].count("If Other, please explain.") == 9
    return write_rows(path, rows, encoding="cp1252")


def test_2024_official_headers_and_windows_1252_import_the_same(imported_2024, tmp_path):
    official = official_2024_file(tmp_path / "official.csv")
    with pytest.raises(UnicodeDecodeError):
        official.read_bytes().decode("utf-8")

    report = import_file(official, "omb-2024")

    assert (report.created, report.updated, report.unchanged) == (0, 0, 2133)


def test_2023_and_2024_share_agencies(imported_2024):
    report = import_file(INVENTORY_2023, "omb-2023")

    assert report.created == 710
    assert Project.objects.count() == 2133 + 710
    assert BusinessUnit.objects.filter(parent=None).count() == 41
    state = BusinessUnit.objects.get(code="STATE")
    assert state.projects.count() + Project.objects.filter(business_unit__parent=state).count() == (
        31 + 51
    )
