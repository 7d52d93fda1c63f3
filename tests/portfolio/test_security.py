"""Sign-in protection, throttling and anonymous access."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


def web_login(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def api_login(client: APIClient, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post(
        "/api/v1/auth/token/", {"username": username, "password": password}, REMOTE_ADDR=ip
    )


@pytest.mark.parametrize("login", [web_login, api_login])
def test_sixth_failure_within_window_blocks_even_the_right_password(login):
    UserFactory(username="alice", password=PASSWORD)
    client = Client() if login is web_login else APIClient()
    for attempt in range(4):
        response = login(client, "alice", "wrong-password", ip=f"10.0.1.{attempt}")
        assert response.status_code in (200, 400), response.status_code
    # The 5th failure locks the username (and already answers 429) ...
    assert login(client, "alice", "wrong-password", ip="10.0.1.9").status_code == 429
    # ... so the 6th attempt is refused even with the right password, from any address.
    blocked = login(client, "alice", PASSWORD, ip="10.0.2.1")
    assert blocked.status_code == 429
    # Another user from another address is not affected.
    UserFactory(username="bob", password=PASSWORD)
    ok = login(client, "bob", PASSWORD, ip="10.0.3.1")
    assert ok.status_code in (200, 302)


def test_failures_from_one_address_block_that_address():
    for name in ["u1", "u2", "u3", "u4", "u5", "u6"]:
        UserFactory(username=name, password=PASSWORD)
    client = Client()
    for name in ["u1", "u2", "u3", "u4", "u5"]:
        web_login(client, name, "nope", ip="192.0.2.9")
    assert web_login(client, "u6", PASSWORD, ip="192.0.2.9").status_code == 429
    assert web_login(client, "u6", PASSWORD, ip="192.0.2.10").status_code == 302


def test_four_failures_then_success_resets_the_count():
    UserFactory(username="carol", password=PASSWORD)
    client = Client()
    for _ in range(4):
        web_login(client, "carol", "wrong")
    assert web_login(client, "carol", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        web_login(client, "carol", "wrong")
    assert web_login(client, "carol", PASSWORD).status_code == 302


def test_token_authentication_works(api_client):
    UserFactory(username="dave", password=PASSWORD)
    token = api_login(api_client, "dave", PASSWORD).json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/v1/projects/").status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert api_client.get("/api/v1/projects/").status_code == 401


@override_settings(
    REST_FRAMEWORK={
        **__import__("django.conf").conf.settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "3/min", "user": "5/min"},
    }
)
def test_api_throttles_anonymous_and_signed_in_clients(api_client, member):
    from django.core.cache import cache
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    saved_rates = SimpleRateThrottle.THROTTLE_RATES
    cache.clear()
    api_settings.reload()
    SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    try:
        # Anonymous clients reach only the token sign-in; it is throttled per address.
        statuses = [api_login(api_client, "nobody", "x").status_code for _ in range(4)]
        assert statuses == [400, 400, 400, 429]
        api_client.force_authenticate(member)
        statuses = [api_client.get("/api/v1/projects/").status_code for _ in range(6)]
        assert statuses[:5] == [200] * 5
        assert statuses[5] == 429
    finally:
        cache.clear()
        SimpleRateThrottle.THROTTLE_RATES = saved_rates


# Sign-in pages (web and admin) and the health check; static files are served separately.
ALLOWED_ANONYMOUS = {"/accounts/login/", "/admin/login/", "/healthz"}


def test_no_anonymous_2xx_outside_the_allow_list(client: Client):
    from django.urls import get_resolver

    checked = 0
    for pattern in sorted(_concrete_paths(get_resolver())):
        response = client.get(pattern)
        if response.status_code < 300:
            assert pattern in ALLOWED_ANONYMOUS or pattern.startswith("/static/"), pattern
        checked += 1
    assert checked > 20


def _concrete_paths(resolver, prefix: str = "") -> set[str]:
    """Every URL pattern with its parameters filled with 1 (good enough to reach each view)."""
    import re

    from django.urls import URLPattern, URLResolver

    paths: set[str] = set()
    for entry in resolver.url_patterns:
        route = str(entry.pattern)
        route = route.lstrip("^").rstrip("$").replace("\\Z", "").replace("\\", "")
        route = re.sub(r"<[^>]+>", "1", route)
        route = re.sub(r"\(\?P<[^>]+>[^)]*\)", "1", route)
        route = re.sub(r"[\^$?*+()\[\]]", "", route)
        if isinstance(entry, URLResolver):
            paths |= _concrete_paths(entry, prefix + route)
        elif isinstance(entry, URLPattern):
            paths.add("/" + (prefix + route).lstrip("/"))
    return paths
