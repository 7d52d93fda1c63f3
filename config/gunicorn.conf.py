"""gunicorn settings for Maestro: `gunicorn -c config/gunicorn.conf.py` (or `make serve-prod`).

Every value can be overridden from the environment, so one file serves a laptop, a container and
the load benchmark (`benchmarks/bench_load.py`):

- `GUNICORN_BIND` (default `127.0.0.1:8000`; `0.0.0.0:8000` behind a reverse proxy in a container)
- `WEB_CONCURRENCY`: sync worker processes (default 2 × CPUs + 1). Each worker serves one request
  at a time and holds its own database connection (`DATABASE_CONN_MAX_AGE`) and its own copy of
  the similarity index once loaded; plan memory per worker (see docs/reliability.md).
- `GUNICORN_TIMEOUT`: seconds before a stuck worker is killed and replaced (default 60).
- `GUNICORN_MAX_REQUESTS`: recycle a worker after this many requests (default 0: never). Left off
  so that a memory leak shows in the soak (`make chaos`) instead of being hidden by recycling.
- `GUNICORN_ACCESS_LOG`: a path or `-` (stdout) for the access log (default: none; the
  application's own logs carry the request id).
- `FORWARDED_ALLOW_IPS`: the proxies trusted for `X-Forwarded-Proto` (default `127.0.0.1`).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path

# gunicorn loads this file by path: make `config` importable, then read `.env` as Django does.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from config.dotenv import load_dotenv

load_dotenv()


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise SystemExit(f"{name} must be an integer, got {value!r}") from exc


wsgi_app = "config.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "").strip() or "127.0.0.1:8000"
workers = _int("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1)
worker_class = "sync"
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = 30
max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = max_requests // 10
# The heartbeat file of each worker in memory, not on a possibly slow disk.
_SHM = "/dev/shm"  # noqa: S108 # nosec B108 # gunicorn's own heartbeat files, not data
worker_tmp_dir = _SHM if os.path.isdir(_SHM) else None
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "").strip() or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "").strip() or "info"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "").strip() or "127.0.0.1"
proc_name = "maestro-web"


def post_worker_init(worker: object) -> None:
    """What a worker loaded at start (Django, settings, middleware) lives as long as the worker:
    move it out of the cyclic garbage collector's sight, so that collections during requests
    only walk what the requests made (`gc.freeze`, as the Python docs suggest for forked
    servers)."""
    import gc

    gc.freeze()
