"""Structured logs carry the request id of the request that logged them."""

from __future__ import annotations

import json
import logging

import pytest

from portfolio.observability import (
    JsonLogFormatter,
    RequestIdLogFilter,
    bind_request_id,
    reset_request_id,
)


def test_json_log_line_has_level_message_and_request_id():
    record = logging.LogRecord(
        "maestro", logging.WARNING, __file__, 1, "broker %s", ("down",), None
    )
    token = bind_request_id("req-42")
    try:
        RequestIdLogFilter().filter(record)
        line = json.loads(JsonLogFormatter().format(record))
    finally:
        reset_request_id(token)
    assert line["level"] == "WARNING"
    assert line["message"] == "broker down"
    assert line["request_id"] == "req-42"


@pytest.mark.django_db
def test_request_id_is_bound_while_the_request_runs(client, member, caplog):
    client.force_login(member)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/api/v1/projects/999999/", HTTP_X_REQUEST_ID="abc-1")
    assert response.status_code == 404
    assert response["X-Request-ID"] == "abc-1"
    # A malformed incoming id is replaced by a generated one.
    response = client.get("/healthz", HTTP_X_REQUEST_ID="bad id with spaces")
    assert response["X-Request-ID"] != "bad id with spaces"
    assert len(response["X-Request-ID"]) == 32
