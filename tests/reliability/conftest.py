"""Real Celery workers on Redis that a test may start, kill (SIGKILL) and start again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.celery_worker import (
    QUEUE,
    ROOT,
    flush_broker,
    require_broker,
    test_database_url,
    use_broker,
)

# Short enough that a test sees a lost message delivered again within seconds.
VISIBILITY_TIMEOUT = 3


class Worker:
    """One `celery worker` process (prefork pool by default, as `make worker` runs it)."""

    def __init__(
        self, url: str, log: Path, *, pool: str, concurrency: int, env: dict[str, str], hold: bool
    ) -> None:
        self.url = url
        self.log = log
        self._ready_before = log.read_text(errors="replace").count("ready.")
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-P",
            pool,
            "-c",
            str(concurrency),
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"reliability-{os.getpid()}-{time.monotonic_ns()}@%h",
            "-Q",
            QUEUE,
            "--loglevel=INFO",
        ]
        if hold:
            command += ["-I", "tests.reliability.worker_hold"]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "DATABASE_URL": test_database_url(),
                "CELERY_BROKER_URL": url,
                "CELERY_RESULT_BACKEND": "",
                # What the worker's own tasks queue (the outbox) goes to the queue it reads.
                "CELERY_TASK_DEFAULT_QUEUE": QUEUE,
                "MAESTRO_ENV": "development",
                "LOG_LEVEL": "WARNING",
                **env,
            },
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.log.read_text(errors="replace").count("ready.") > self._ready_before:
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError("Celery worker did not start:\n" + self.log.read_text()[-3000:])

    def pool_children(self) -> list[int]:
        """The pool's child processes (prefork)."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def kill(self) -> None:
        """SIGKILL the worker and its pool, as a crashed machine or the OOM killer would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def hold_file(tmp_path: Path) -> Path:
    """While this file exists, metrics runs on a worker started with `hold=True` wait."""
    path = tmp_path / "hold"
    path.touch()
    return path


@pytest.fixture
def start_worker(transactional_db, hold_file: Path) -> Iterator[object]:
    """`start_worker(pool="prefork", concurrency=1, hold=False, visibility_timeout=3)` starts a
    worker; all are stopped at the end. The test process publishes to the same Redis queue
    meanwhile. A task running longer than the visibility timeout is delivered again (to another
    pool process, with concurrency > 1): give tests that do not kill workers a long one."""
    url = require_broker()
    flush_broker(url)
    import redis

    # Messages an earlier (killed) test left unacknowledged must not be delivered to this one.
    redis.Redis.from_url(url).delete("unacked", "unacked_index")
    log = ROOT / "var" / f"test-reliability-worker-{os.getpid()}.log"
    log.parent.mkdir(exist_ok=True)
    log.write_bytes(b"")
    workers: list[Worker] = []

    def start(
        *,
        pool: str = "prefork",
        concurrency: int = 1,
        hold: bool = False,
        visibility_timeout: int = VISIBILITY_TIMEOUT,
    ) -> Worker:
        env = {
            "MAESTRO_TEST_HOLD_FILE": str(hold_file),
            "CELERY_BROKER_VISIBILITY_TIMEOUT": str(visibility_timeout),
        }
        worker = Worker(url, log, pool=pool, concurrency=concurrency, env=env, hold=hold)
        workers.append(worker)
        return worker

    try:
        with use_broker(url):
            yield start
    finally:
        for worker in workers:
            worker.stop()
        redis.Redis.from_url(url).delete(QUEUE, "unacked", "unacked_index")
