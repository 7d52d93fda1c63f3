"""Schemathesis over the whole committed OpenAPI schema: no server error, no schema violation.

Runs with `make fuzz` (at least 50 generated requests per operation, signed in as a reviewer so
that writes go through); `make test` runs the same with fewer examples as a smoke test.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)

from config.wsgi import application

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("MAESTRO_FUZZ_EXAMPLES", "3"))

schema = schemathesis.openapi.from_path(ROOT / "docs" / "openapi.yaml")
schema.app = application


@pytest.fixture
def token(reviewer, unit, other_unit):
    from rest_framework.authtoken.models import Token

    from tests.factories import ProjectFactory, StrategicGoalFactory, ToolFactory

    ProjectFactory(business_unit=unit)
    ProjectFactory(business_unit=other_unit, visibility="restricted")
    StrategicGoalFactory()
    ToolFactory()
    return Token.objects.create(user=reviewer).key


@pytest.mark.fuzz
@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_within_its_schema(case, token):
    response = case.call(headers={"Authorization": f"Token {token}"})
    case.validate_response(
        response,
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )
