"""Imported by a test worker (`celery worker -I tests.reliability.worker_hold`): metrics runs
wait in the middle (lock taken, run recorded as running, nothing stored yet) while the file
named by MAESTRO_TEST_HOLD_FILE exists, so that a test can kill the worker mid-task.

Only the timing changes: the product task and service run unchanged around the wait.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from governance import metrics_services

_compute = metrics_services.compute
HOLD_AT_MOST = 60.0


def held_compute(facts: Any, run: Any = None) -> Any:
    hold = Path(os.environ.get("MAESTRO_TEST_HOLD_FILE", ""))
    deadline = time.monotonic() + HOLD_AT_MOST
    while hold.name and hold.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return _compute(facts, run)


metrics_services.compute = held_compute
