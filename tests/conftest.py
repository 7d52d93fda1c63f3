from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from portfolio import roles
from tests.factories import BusinessUnitFactory, member_of, user_with_role


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def unit(db):
    return BusinessUnitFactory(code="HOME", name="Home unit")


@pytest.fixture
def other_unit(db):
    return BusinessUnitFactory(code="OTHER", name="Other unit")


@pytest.fixture
def member(unit):
    return member_of(unit, username="member")


@pytest.fixture
def lead(unit):
    return member_of(unit, role="lead", username="lead")


@pytest.fixture
def reviewer(db):
    return user_with_role(roles.REVIEWER, username="reviewer")


@pytest.fixture
def executive(db):
    return user_with_role(roles.EXECUTIVE, username="executive")


@pytest.fixture
def admin_user(db):
    return user_with_role(roles.ADMIN, username="admin")


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker process consuming from Redis, sharing the test database."""
    from tests.celery_worker import WorkerProcess, flush_broker, require_broker, use_broker

    url = require_broker()
    flush_broker(url)
    worker = WorkerProcess(url)
    worker.start()
    try:
        with use_broker(url):
            yield worker
    finally:
        worker.kill()
