"""Services: one audit event per write, none when the write fails; database constraints."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from portfolio import audit, services
from portfolio.models import AuditEvent, BusinessUnit, Project
from tests.factories import BusinessUnitFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def test_register_writes_project_and_one_event(member, unit):
    project = services.project_register(actor=member, data={"name": "A", "business_unit": unit})
    assert Project.objects.get().pk == project.pk
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.business_unit) == ("project.registered", member, unit)


def test_failure_after_save_rolls_back_change_and_event(member, unit, monkeypatch):
    project = ProjectFactory(business_unit=unit, name="Before")

    def explode(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "record", explode)
    with pytest.raises(RuntimeError):
        services.project_update(
            actor=member, project=project, expected_version=1, data={"name": "After"}
        )
    project.refresh_from_db()
    assert (project.name, project.version) == ("Before", 1)
    assert not AuditEvent.objects.exists()

    with pytest.raises(RuntimeError):
        services.project_register(actor=member, data={"name": "New", "business_unit": unit})
    assert not Project.objects.filter(name="New").exists()


def test_stale_and_missing_versions(member, unit):
    project = ProjectFactory(business_unit=unit)
    with pytest.raises(services.VersionRequired):
        services.project_update(
            actor=member, project=project, expected_version=None, data={"name": "x"}
        )
    with pytest.raises(services.StaleVersion) as stale:
        services.project_update(
            actor=member, project=project, expected_version=7, data={"name": "x"}
        )
    assert stale.value.current == 1
    project.refresh_from_db()
    assert project.version == 1
    assert not AuditEvent.objects.exists()


def test_governance_fields_cannot_be_set_by_project_services(reviewer, unit):
    with pytest.raises(ValidationError) as error:
        services.project_register(
            actor=reviewer, data={"name": "x", "business_unit": unit, "risk_tier": "minimal"}
        )
    assert "risk_tier" in error.value.message_dict


def test_executive_changes_nothing(executive, unit):
    project = ProjectFactory(business_unit=unit)
    with pytest.raises(PermissionDenied):
        services.project_register(actor=executive, data={"name": "x", "business_unit": unit})
    with pytest.raises(PermissionDenied):
        services.project_update(
            actor=executive, project=project, expected_version=1, data={"name": "y"}
        )
    with pytest.raises(PermissionDenied):
        services.business_unit_create(actor=executive, data={"code": "X", "name": "X"})


@pytest.mark.parametrize(
    "fields",
    [{"annual_cost": -1}, {"expected_annual_benefit": -5}, {"name": ""}, {"stage": "someday"}],
)
def test_database_refuses_invalid_rows_even_without_validation(unit, fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        Project.objects.create(**{"name": "ok", "business_unit": unit, **fields})


def test_database_refuses_duplicate_unit_code_and_external_ref(unit):
    with pytest.raises(IntegrityError), transaction.atomic():
        BusinessUnit.objects.create(code=unit.code, name="again")
    Project.objects.create(name="a", business_unit=unit, external_ref="R-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Project.objects.create(name="b", business_unit=unit, external_ref="R-1")
    # The same reference in another unit, and blank references, are fine.
    Project.objects.create(name="c", business_unit=BusinessUnitFactory(), external_ref="R-1")
    Project.objects.create(name="d", business_unit=unit)
    Project.objects.create(name="e", business_unit=unit)
