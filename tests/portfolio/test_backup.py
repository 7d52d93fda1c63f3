"""Backup and restore drill: every table comes back with equal row counts and checksums."""

from __future__ import annotations

import gzip
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from portfolio import backup, services
from portfolio.models import AuditEvent, GoalAlignment, Project
from tests.factories import (
    BusinessUnitFactory,
    CapabilityFactory,
    GoalAlignmentFactory,
    ProjectFactory,
    ToolFactory,
    member_of,
)

pytestmark = pytest.mark.django_db(transaction=True)


def make_portfolio() -> None:
    parent = BusinessUnitFactory(code="AG")
    child = BusinessUnitFactory(code="AG-B", parent=parent)
    lead = member_of(child, role="lead")
    tool = ToolFactory(name="Grammarly", aliases=["Grammarly Business"])
    capability = CapabilityFactory(name="Writing assistance")
    for i in range(5):
        project = ProjectFactory(
            business_unit=child if i % 2 else parent,
            annual_cost=1000 + i,
            extra={"row": i, "note": "ü"},
            techniques=["nlp"],
        )
        project.tools.add(tool)
        project.capabilities.add(capability)
    GoalAlignmentFactory(project=Project.objects.first())
    services.project_update(
        actor=lead,
        project=Project.objects.filter(business_unit=child).first(),
        expected_version=1,
        data={"name": "Changed"},
    )


def take_backup(tmp_path):
    path = tmp_path / "b.json.gz"
    call_command("backup", "--output", str(path), stdout=StringIO())
    return path


def test_backup_then_restore_into_an_empty_database_reproduces_every_table(tmp_path):
    make_portfolio()
    before = backup.table_checksums()
    path = take_backup(tmp_path)

    # A freshly migrated database: empty of projects, seeded by migrations (groups, catalogues).
    call_command("flush", "--noinput", verbosity=0)
    call_command("migrate", "portfolio", "0001", verbosity=0)
    call_command("migrate", verbosity=0)
    assert not Project.objects.exists()
    out = StringIO()
    call_command("restore", str(path), stdout=out)

    assert "restored and verified" in out.getvalue()
    assert backup.table_checksums() == before
    assert Project.objects.count() == 5
    assert GoalAlignment.objects.count() == 1
    assert AuditEvent.objects.count() == 1
    # Sequences continue after the restored ids.
    new = ProjectFactory()
    assert new.pk > max(Project.objects.exclude(pk=new.pk).values_list("pk", flat=True))


def test_restore_refuses_a_database_that_is_not_empty(tmp_path):
    make_portfolio()
    path = take_backup(tmp_path)
    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", str(path), stdout=StringIO())


def test_restore_reports_a_tampered_backup(tmp_path):
    make_portfolio()
    path = take_backup(tmp_path)
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        text = stream.read().replace("Changed", "Tampered")
    with gzip.open(path, "wt", encoding="utf-8") as stream:
        stream.write(text)
    call_command("flush", "--noinput", verbosity=0)
    with pytest.raises(CommandError, match="differ"):
        call_command("restore", str(path), stdout=StringIO())
