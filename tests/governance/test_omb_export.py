"""export_inventory --format omb-2025 fills the minimum-practice columns from control statuses."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from governance.models import Control, ControlStatus
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def export() -> list[dict[str, str]]:
    out = io.StringIO()
    call_command("export_inventory", "--format", "omb-2025", stdout=out)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def set_status(project, identifier: str, status: str, **extra) -> None:
    control = Control.objects.get(framework__code="omb-m-25-21", identifier=identifier)
    ControlStatus.objects.create(
        project=project, control=control, status=status, set_at=timezone.now(), **extra
    )


def test_hi_columns_come_from_control_statuses():
    assessed = ProjectFactory(name="Benefits eligibility scoring", omb_impact="high_impact")
    untouched = ProjectFactory(
        name="Imported with practices", extra={"hi_testing_conducted": "CAIO Waived"}
    )
    set_status(assessed, "OMB-1", "met", note="test report")
    set_status(assessed, "OMB-4", "in_progress")
    set_status(assessed, "OMB-7", "not_applicable", justification="No individual decisions")

    rows = {row["use_case_name"]: row for row in export()}

    row = rows["Benefits eligibility scoring"]
    assert row["hi_testing_conducted"] == "Yes"
    assert row["hi_ongoing_monitoring"] == "In-progress"
    assert row["hi_appeal_process"] == "Not Applicable"
    assert row["hi_training_established"] == ""
    # With no recorded status, the value an import brought is kept.
    assert rows[untouched.name]["hi_testing_conducted"] == "CAIO Waived"
