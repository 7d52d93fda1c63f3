"""The browser can sign in and reach the overview with no console errors."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import sign_in
from tests.factories import member_of

pytestmark = pytest.mark.django_db(transaction=True)


def test_sign_in_and_overview(page, unit):
    member_of(unit, username="erin")
    sign_in(page, "erin")
    assert page.url.endswith("/")
    assert page.locator("h1").first.is_visible()
    assert page.console_errors == []
