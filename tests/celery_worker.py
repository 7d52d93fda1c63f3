"""A real Celery worker process on Redis, sharing the test database (integration tests)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import pytest
from celery import current_app
from django.db import connection
from django.test import override_settings
from kombu import pools

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BROKER = "redis://127.0.0.1:6379/15"
# A queue of this test run's own, so that parallel runs on one Redis never take each other's jobs.
QUEUE = f"maestro-test-{os.getpid()}"


def broker_url() -> str:
    return os.environ.get("MAESTRO_TEST_BROKER_URL") or DEFAULT_BROKER


def broker_reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def require_broker() -> str:
    url = broker_url()
    if not broker_reachable(url):
        message = f"Redis not reachable at {url} (set MAESTRO_TEST_BROKER_URL)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return url


def test_database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = settings.get("USER") or "postgres"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or "127.0.0.1"
    if host.startswith("/"):  # a Unix socket directory
        from urllib.parse import quote

        host = quote(host, safe="")
    port = settings.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


def flush_broker(url: str) -> None:
    """Drop what earlier runs of this process may have left in its queue."""
    import redis

    redis.Redis.from_url(url).delete(QUEUE)


def _reset_connections() -> None:
    if current_app._pool is not None:
        current_app._pool.force_close_all()
        current_app._pool = None
    current_app.amqp._producer_pool = None
    pools.reset()


@contextmanager
def use_broker(url: str) -> Iterator[None]:
    """Make this test process publish to `url` instead of running tasks eagerly."""
    conf = current_app.conf
    keys = ("broker_url", "task_always_eager", "result_backend", "task_default_queue")
    saved = {k: conf.get(k) for k in keys}
    conf.update(
        broker_url=url, task_always_eager=False, result_backend=None, task_default_queue=QUEUE
    )
    _reset_connections()
    try:
        with override_settings(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL=url):
            yield
    finally:
        conf.update(saved)
        _reset_connections()


class WorkerProcess:
    def __init__(self, url: str) -> None:
        self.url = url
        self.process: subprocess.Popen[bytes] | None = None
        self.log = ROOT / "var" / f"test-celery-worker-{os.getpid()}.log"

    def start(self) -> None:
        self.log.parent.mkdir(exist_ok=True)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": test_database_url(),
            "CELERY_BROKER_URL": self.url,
            "CELERY_RESULT_BACKEND": "",
            "MAESTRO_ENV": "development",
            "LOG_LEVEL": "WARNING",
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-P",
                "solo",
                "-c",
                "1",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"test-{os.getpid()}@%h",
                "-Q",
                QUEUE,
                "--loglevel=INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if "ready." in self.log.read_text(errors="replace"):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError("Celery worker did not start:\n" + self.log.read_text()[-3000:])

    def kill(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def wait_for(predicate, *, timeout: float = 60.0, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
