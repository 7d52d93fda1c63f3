"""Project writes validate with `services._clean_project`: the errors of `full_clean()` (unique
constraints included) without a query per check constraint (each restates a field rule)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.test.utils import CaptureQueriesContext

from portfolio import services
from portfolio.models import Project
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def _errors(call) -> dict | None:
    try:
        call()
    except ValidationError as exc:
        return {k: sorted(str(m) for m in v) for k, v in exc.message_dict.items()}
    return None


CASES = {
    "valid": {},
    "negative cost": {"annual_cost": Decimal("-1")},
    "negative benefit": {"expected_annual_benefit": Decimal("-0.01")},
    "no name": {"name": ""},
    "unknown stage": {"stage": "someday"},
    "duplicate reference": {"external_ref": "REF-1"},
    "duplicate import key": {"import_key": "key-1"},
    "several at once": {"external_ref": "REF-1", "annual_cost": Decimal("-5"), "name": ""},
}


@pytest.mark.parametrize("case", list(CASES))
def test_same_errors_as_full_clean(unit, case):
    ProjectFactory(business_unit=unit, external_ref="REF-1", import_key="key-1")
    project = ProjectFactory.build(business_unit=unit, **CASES[case])
    expected = _errors(project.full_clean)
    assert _errors(lambda: services._clean_project(project)) == expected
    assert (expected is None) == (case == "valid")


def test_check_constraints_cost_no_query(unit):
    project = ProjectFactory.build(business_unit=unit, annual_cost=Decimal(10))
    with CaptureQueriesContext(connection) as full:
        project.full_clean()
    with CaptureQueriesContext(connection) as lean:
        services._clean_project(project)
    checks = [c for c in Project._meta.constraints if isinstance(c, models.CheckConstraint)]
    # Three statements (savepoint, query, release) per check constraint are saved.
    assert len(full.captured_queries) - len(lean.captured_queries) == 3 * len(checks) > 0
