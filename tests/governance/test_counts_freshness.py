"""Bounded freshness of the dashboard counts (PORTFOLIO_COUNTS_MAX_AGE): under a stream of
writes the portfolio counts are not recounted on every request; counts taken less than the bound
ago are shown, dated "as of", and recounted once older. With the bound at 0 (the test settings)
every change is seen at once: tests/governance/test_views_dashboards.py."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from portfolio import selectors, services
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def bounded(settings, monkeypatch):
    """A 10-second bound and a clock the test moves."""
    settings.PORTFOLIO_COUNTS_MAX_AGE = 10
    cache.clear()
    now = [1_000_000.0]
    monkeypatch.setattr(selectors.time, "time", lambda: now[0])
    yield now
    cache.clear()


def test_counts_after_a_change_are_dated_until_the_bound_then_recounted(
    client: Client, reviewer, lead, unit, bounded
):
    ProjectFactory.create_batch(3, business_unit=unit, stage="idea")
    client.force_login(reviewer)
    home = client.get("/")
    assert home.context["total"] == 3
    assert home.context["counts_as_of"] is None
    assert "Counts as of" not in home.content.decode()

    services.project_register(actor=lead, data={"name": "Fresh", "business_unit": unit})
    bounded[0] += 4
    home = client.get("/")
    assert home.context["total"] == 3  # taken 4 s ago, before the registration
    assert home.context["counts_as_of"] is not None
    assert "Counts as of" in home.content.decode()
    overview = client.get("/governance/")
    assert overview.context["coverage"]["total"] == 3
    assert overview.context["coverage"]["as_of"] is not None

    bounded[0] += 7  # 11 s after the counts were taken: recounted
    home = client.get("/")
    assert home.context["total"] == 4
    assert home.context["counts_as_of"] is None
    assert client.get("/governance/").context["coverage"]["total"] == 4


def test_counts_without_a_change_stay_current_however_old(client: Client, reviewer, unit, bounded):
    ProjectFactory.create_batch(2, business_unit=unit)
    client.force_login(reviewer)
    assert client.get("/").context["total"] == 2
    bounded[0] += 3600
    home = client.get("/")
    assert home.context["total"] == 2 and home.context["counts_as_of"] is None


def test_a_bound_of_zero_recounts_after_every_change(
    client: Client, reviewer, lead, unit, bounded, settings
):
    settings.PORTFOLIO_COUNTS_MAX_AGE = 0
    ProjectFactory(business_unit=unit)
    client.force_login(reviewer)
    assert client.get("/").context["total"] == 1
    services.project_register(actor=lead, data={"name": "Next", "business_unit": unit})
    home = client.get("/")
    assert home.context["total"] == 2 and home.context["counts_as_of"] is None
