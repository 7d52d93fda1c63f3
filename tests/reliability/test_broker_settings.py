"""The worker-fault settings: acknowledgement after the task, and the Redis visibility timeout
read from the environment and sized to the longest task by default."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.celery_worker import ROOT


def celery_settings(**env: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import django, json, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings';"
        "django.setup(); from config.celery import app; c = app.conf;"
        "print(json.dumps([c.task_acks_late, c.task_reject_on_worker_lost,"
        " c.worker_prefetch_multiplier, c.task_time_limit, c.broker_transport_options,"
        " c.task_default_queue]))"
    )
    names = ("CELERY_TASK_TIME_LIMIT", "CELERY_BROKER_VISIBILITY_TIMEOUT", "MAESTRO_ENV")
    clean = {k: v for k, v in os.environ.items() if k not in names}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "CELERY_TASK_DEFAULT_QUEUE": "", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def loaded(**env: str) -> list[object]:
    result = celery_settings(**env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_defaults_ack_late_and_hand_lost_messages_over_after_the_longest_task():
    acks_late, reject_lost, prefetch, limit, transport, queue = loaded()
    assert (acks_late, reject_lost, prefetch, limit, queue) == (True, True, 1, 1800, "celery")
    assert transport["visibility_timeout"] == 1800 + 600
    assert transport["unacked_restore_interval"] == 60
    assert transport["unacked_restore_throttle"] == 1


def test_visibility_timeout_follows_the_time_limit_or_its_own_variable():
    assert loaded(CELERY_TASK_TIME_LIMIT="600")[4]["visibility_timeout"] == 1200
    transport = loaded(CELERY_BROKER_VISIBILITY_TIMEOUT="3")[4]
    assert (transport["visibility_timeout"], transport["unacked_restore_interval"]) == (3, 1)
    assert loaded(CELERY_TASK_DEFAULT_QUEUE="maestro-eu")[5] == "maestro-eu"


def test_a_visibility_timeout_that_is_not_a_positive_number_is_refused():
    for value, message in (("0", "must be a positive number"), ("soon", "must be an integer")):
        result = celery_settings(CELERY_BROKER_VISIBILITY_TIMEOUT=value)
        assert result.returncode != 0
        assert f"CELERY_BROKER_VISIBILITY_TIMEOUT {message}" in result.stderr
