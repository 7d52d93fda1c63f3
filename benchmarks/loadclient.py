"""What the load run (`bench_load.py`) and the soak (`soak.py`) share: the portfolio, the users,
a gunicorn server on loopback, the request mix, a paced (open-loop) HTTP client and the figures.

The client runs in the benchmark's own process, separate from gunicorn: threads over the standard
library's `http.client` (no third-party client; about a third of a millisecond of client CPU per
request). On a 2-core machine the client, gunicorn's workers and PostgreSQL share the same two
cores, so the client's CPU share is measured and printed with the figures.

Open loop: request *i* is due at `start + i / rate` whatever happened before, and its latency is
counted from that due time, so a server that falls behind shows queueing in the percentiles
instead of silently slowing the client down (no coordinated omission).

The mix (weights out of 100, chosen per request by a seeded random generator):

| kind | weight | what |
|---|---|---|
| `list` | 28 | `GET /api/v1/projects/` with one of several filters (token, reviewer or member) |
| `detail` | 20 | `GET /api/v1/projects/{id}/` (token, reviewer or member) |
| `page` | 22 | a page as a signed-in session user (reviewer or executive; `PAGES_REVIEWER`) |
| `similar` | 20 | `POST /api/v1/projects/similar/` with a draft's words (token, member) |
| `patch` | 7 | `PATCH /api/v1/projects/{id}/` with `If-Match` (member or lead, own unit) |
| `create` | 3 | `POST /api/v1/projects/` (member or lead, own unit) |

A writer reads a project's ETag once (`GET`, counted as `patch_read`) and then sends the ETag each
PATCH returns; every client thread edits its own slice of projects, so a 412 is a real error.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import random
import resource
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import harness

ROOT = harness.ROOT
GUNICORN_CONF = ROOT / "config" / "gunicorn.conf.py"

# Dashboard pages in the mix: every page a reviewer or an executive reads routinely. The overlap
# explorer (`/governance/overlaps/`) reads one page of clusters at a time (~50 ms of server CPU
# at 100k projects, about twice an average page), so it is in.
PAGES_REVIEWER = [
    "/",
    "/projects/",
    "/governance/",
    "/governance/reviews/",
    "/governance/compliance/",
    "/governance/executive/",
    "/governance/tools/",
    "/governance/overlaps/",
]
PAGES_EXECUTIVE = ["/", "/governance/", "/governance/executive/", "/governance/compliance/"]
SEARCH_WORDS = ["document", "chatbot", "translation", "fraud", "imagery", "claims", "forecast"]
MIX: list[tuple[str, int]] = [
    ("list", 28),
    ("detail", 20),
    ("page", 22),
    ("similar", 20),
    ("patch", 7),
    ("create", 3),
]
KINDS = [kind for kind, _ in MIX] + ["patch_read"]
EXPECTED_STATUS = {"create": 201}


# --- The portfolio and the users -----------------------------------------------------------


def prepare_portfolio(size: int) -> str:
    """Make sure the database holds `size` projects with metrics computed; say what was done.

    A database that already holds them (e.g. a copy of a prepared 100k database passed with
    `MAESTRO_BENCH_DATABASE_URL`) is used as it is; an empty one is filled as bench_pages.py
    does: generated portfolio, import, `compute_metrics`, `ANALYZE`.
    """
    import tempfile

    from generate import generate

    from governance.models import MetricRun
    from portfolio.models import Project

    present = Project.objects.count()
    computed = MetricRun.objects.filter(
        kind=MetricRun.Kind.FULL, status=MetricRun.Status.SUCCEEDED
    ).exists()
    if present >= size and computed:
        return f"reused the database: {present:,} projects, metrics computed"
    if present:
        raise SystemExit(
            f"the database holds {present:,} projects (want {size:,} with metrics computed): "
            "give an empty database or one prepared for this size"
        )
    with tempfile.TemporaryDirectory(prefix="maestro-load-") as folder:
        source = generate(size, 1, Path(folder) / "portfolio.csv")
        run = harness.manage(
            "import_inventory", "--format", "omb-2024", "--skip-invalid", str(source), timeout=1800
        )
        if run.exit_code != 0:
            raise SystemExit(f"import failed: {harness.tail(run.stderr)}")
    metrics = harness.manage("compute_metrics", timeout=1800)
    if metrics.exit_code != 0:
        raise SystemExit(f"compute_metrics failed: {harness.tail(metrics.stderr)}")
    harness.analyze_database()
    return (
        f"imported {Project.objects.count():,} projects ({run.seconds:.0f} s), "
        f"metrics computed ({metrics.seconds:.0f} s)"
    )


@dataclass
class World:
    """Who signs in and what they touch, read from the database before the load starts."""

    password: str
    reviewer: str
    executive: str
    member: str
    lead: str
    member_unit: int
    lead_unit: int
    project_ids: list[int]
    editable: dict[str, list[int]]  # writer username -> project ids of their unit
    vocabulary: list[str]


def prepare_world(seed: int = 7) -> World:
    """Create (or reset) the load users: a reviewer, an executive, a member and a lead."""
    from django.contrib.auth.models import Group, User
    from django.db.models import Count

    from portfolio.models import BusinessUnit, Membership, Project

    rng = random.Random(seed)
    password = secrets.token_urlsafe(18)
    # Two bureaus of some size: the member's and the lead's.
    bureaus = list(
        BusinessUnit.objects.filter(parent__isnull=False)
        .annotate(n=Count("projects"))
        .filter(n__gte=50)
        .order_by("-n", "id")
        .values_list("id", flat=True)[:12]
    )
    if len(bureaus) < 2:
        bureaus = list(
            BusinessUnit.objects.annotate(n=Count("projects"))
            .order_by("-n", "id")
            .values_list("id", flat=True)[:2]
        )
    member_unit, lead_unit = bureaus[len(bureaus) // 2], bureaus[-1]
    names = {}
    for role in ("reviewer", "executive", "member", "lead"):
        user, _ = User.objects.get_or_create(username=f"load-{role}")
        user.set_password(password)
        user.is_active = True
        user.save()
        names[role] = user.username
        if role in ("reviewer", "executive"):
            user.groups.add(Group.objects.get(name=role))
        else:
            Membership.objects.update_or_create(
                user=user,
                business_unit_id=member_unit if role == "member" else lead_unit,
                defaults={"role": role},
            )
    current = Project.objects.filter(archived_at__isnull=True)
    ids = list(current.values_list("id", flat=True))
    editable = {
        names["member"]: list(
            current.filter(business_unit_id=member_unit).values_list("id", flat=True)
        ),
        names["lead"]: list(
            current.filter(business_unit_id=lead_unit).values_list("id", flat=True)
        ),
    }
    words: set[str] = set()
    for name in current.order_by("?").values_list("name", flat=True)[:400]:
        words.update(w.strip(".,;:()").lower() for w in name.split() if len(w) > 4)
    vocabulary = sorted(w for w in words if w.isalpha())
    rng.shuffle(vocabulary)
    return World(
        password=password,
        reviewer=names["reviewer"],
        executive=names["executive"],
        member=names["member"],
        lead=names["lead"],
        member_unit=member_unit,
        lead_unit=lead_unit,
        project_ids=ids,
        editable=editable,
        vocabulary=vocabulary or ["document", "claims", "translation"],
    )


# --- The server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_backends(database: str) -> list[int]:
    """Server processes of PostgreSQL connected to `database` (same machine, readable /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        parts = command.split()
        if command.startswith("postgres: ") and len(parts) > 3 and database in parts[2:5]:
            found.append(int(entry.name))
    return found


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def workers(self) -> list[int]:
        return _children(self.process.pid)

    def worker_rss(self) -> dict[int, float]:
        return {pid: mb for pid in self.workers if (mb := rss_mb(pid)) is not None}

    def worker_cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.workers)

    def log_tail(self, lines: int = 15) -> str:
        try:
            return harness.tail(self.log.read_text(errors="replace"), lines)
        except OSError:
            return ""


@contextmanager
def gunicorn(*, workers: int = 2, database_url: str, broker_url: str = "") -> Iterator[Server]:
    """gunicorn with `workers` sync workers on a free loopback port, benchmark settings (DEBUG
    off), the given database; with no broker URL Celery tasks run in-process (eager)."""
    port = free_port()
    log = harness.OUT_DIR / f"gunicorn-{port}.log"
    harness.OUT_DIR.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        **harness.BENCH_ENVIRONMENT,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_RESULT_BACKEND": "",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_MAX_REQUESTS": "0",
        "GUNICORN_LOG_LEVEL": "warning",
        # Generous: the client signs in as 4 users, well under any throttle.
        "API_THROTTLE_USER": "100000/min",
        "PYTHONUNBUFFERED": "1",
    }
    with open(log, "wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF)],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process=process, port=port, log=log)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"gunicorn exited at start: {server.log_tail()}")
            try:
                status, _, _ = request(port, "GET", "/healthz")
                if status == 200 and len(server.workers) >= workers:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not answer within 60 s: {server.log_tail()}")
            time.sleep(0.3)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=35)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --- HTTP --------------------------------------------------------------------------------------


def request(
    port: int,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    connection: http.client.HTTPConnection | None = None,
) -> tuple[int, dict[str, str], bytes]:
    own = connection is None
    conn = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        merged: dict[str, str] = {}
        for key, value in response.getheaders():
            key = key.lower()
            merged[key] = f"{merged[key]}\n{value}" if key in merged else value
        return response.status, merged, data
    finally:
        if own:
            conn.close()


def _cookies(headers: dict[str, str]) -> dict[str, str]:
    jar = {}
    for line in headers.get("set-cookie", "").split("\n"):
        if "=" in line:
            name, _, rest = line.partition("=")
            jar[name.strip()] = rest.split(";", 1)[0]
    return jar


def token_sign_in(port: int, username: str, password: str) -> str:
    """`POST /api/v1/auth/token/` (docs/api.md) → the Authorization header value."""
    body = json.dumps({"username": username, "password": password}).encode()
    status, _, data = request(
        port,
        "POST",
        "/api/v1/auth/token/",
        body=body,
        headers={"Content-Type": "application/json"},
    )
    if status != 200:
        raise SystemExit(f"token sign-in of {username} answered {status}: {data[:200]!r}")
    return f"Token {json.loads(data)['token']}"


def session_sign_in(port: int, username: str, password: str) -> str:
    """Sign in on the login form like a browser → the Cookie header value."""
    status, headers, _ = request(port, "GET", "/accounts/login/")
    csrf = _cookies(headers).get("csrftoken", "")
    if status != 200 or not csrf:
        raise SystemExit(f"login page answered {status} without a CSRF cookie")
    form = urllib.parse.urlencode(
        {"username": username, "password": password, "csrfmiddlewaretoken": csrf}
    ).encode()
    status, headers, _ = request(
        port,
        "POST",
        "/accounts/login/",
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf}",
            "Referer": f"http://127.0.0.1:{port}/accounts/login/",
        },
    )
    session = _cookies(headers).get("sessionid")
    if status != 302 or not session:
        raise SystemExit(f"session sign-in of {username} answered {status}")
    return f"csrftoken={csrf}; sessionid={session}"


# --- The mix -----------------------------------------------------------------------------------


@dataclass
class Record:
    due: float  # seconds after the run started when the request was due
    kind: str
    label: str
    status: int  # 0 when the request failed without an HTTP answer
    ms: float
    error: str = ""


@dataclass
class Credentials:
    tokens: dict[str, str]  # username -> Authorization header
    sessions: dict[str, str]  # username -> Cookie header


def sign_in_all(port: int, world: World) -> Credentials:
    return Credentials(
        tokens={
            name: token_sign_in(port, name, world.password)
            for name in (world.reviewer, world.member, world.lead)
        },
        sessions={
            name: session_sign_in(port, name, world.password)
            for name in (world.reviewer, world.executive)
        },
    )


class Worker:
    """One client thread's state: its connection, its random stream, its writable projects."""

    def __init__(
        self, index: int, threads: int, port: int, world: World, creds: Credentials, seed: int
    ) -> None:
        self.index = index
        self.port = port
        self.world = world
        self.creds = creds
        self.rng = random.Random(seed * 1000 + index)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.editable = {
            user: ids[index::threads] or ids[:1] for user, ids in world.editable.items()
        }
        self.versions: dict[int, int] = {}
        self.created = 0
        self.kinds = [kind for kind, _ in MIX]
        self.weights = [weight for _, weight in MIX]

    def close(self) -> None:
        self.conn.close()

    def _call(
        self, method: str, path: str, auth: dict[str, str], body: Any = None
    ) -> tuple[int, dict[str, str], bytes]:
        headers = {"Accept": "application/json" if path.startswith("/api/") else "text/html"}
        headers.update(auth)
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            return request(
                self.port, method, path, body=payload, headers=headers, connection=self.conn
            )
        except (OSError, http.client.HTTPException):
            self.conn.close()  # a fresh connection for the next request
            raise

    def _token(self, user: str) -> dict[str, str]:
        return {"Authorization": self.creds.tokens[user]}

    def pick(self) -> str:
        return self.rng.choices(self.kinds, self.weights)[0]

    def run(self, kind: str, due: float, started_at: float) -> list[Record]:
        """Perform one request of `kind` (two for a first PATCH: the ETag read, then the write)."""
        records: list[Record] = []
        try:
            getattr(self, f"_{kind}")(due, started_at, records)
        except (OSError, http.client.HTTPException) as exc:
            records.append(
                Record(
                    due,
                    kind,
                    kind,
                    0,
                    (time.perf_counter() - started_at - due) * 1000,
                    type(exc).__name__,
                )
            )
        return records

    def _timed(
        self,
        records: list[Record],
        due: float,
        started_at: float,
        kind: str,
        label: str,
        method: str,
        path: str,
        auth: dict[str, str],
        body: Any = None,
    ) -> tuple[int, dict[str, str], bytes]:
        status, headers, data = self._call(method, path, auth, body)
        ms = (time.perf_counter() - started_at - due) * 1000
        expected = EXPECTED_STATUS.get(kind, 200)
        error = "" if status == expected else data[:160].decode("utf-8", "replace")
        records.append(Record(due, kind, label, status, ms, error))
        return status, headers, data

    def _list(self, due: float, t0: float, out: list[Record]) -> None:
        rng, world = self.rng, self.world
        user = rng.choice([world.reviewer, world.member])
        choices = {
            "default": {},
            "stage": {"stage": "production"},
            "unit": {"unit": str(world.member_unit)},
            "recent": {"ordering": "-updated_at"},
            "search": {"q": rng.choice(SEARCH_WORDS)},
            "page": {"page": str(rng.randint(2, 40))},
            "combined": {"stage": "production", "unit": str(world.lead_unit), "ordering": "name"},
        }
        label = rng.choice(list(choices))
        query = urllib.parse.urlencode(choices[label])
        path = "/api/v1/projects/" + (f"?{query}" if query else "")
        self._timed(out, due, t0, "list", f"list:{label}", "GET", path, self._token(user))

    def _detail(self, due: float, t0: float, out: list[Record]) -> None:
        user = self.rng.choice([self.world.reviewer, self.world.member])
        pk = self.rng.choice(self.world.project_ids)
        path = f"/api/v1/projects/{pk}/"
        self._timed(out, due, t0, "detail", "detail", "GET", path, self._token(user))

    def _page(self, due: float, t0: float, out: list[Record]) -> None:
        world, rng = self.world, self.rng
        if rng.random() < 0.7:
            user, path = world.reviewer, rng.choice([*PAGES_REVIEWER, "/projects/{id}/"])
        else:
            user, path = world.executive, rng.choice(PAGES_EXECUTIVE)
        label = f"page:{path}"
        path = path.replace("{id}", str(rng.choice(world.project_ids)))
        self._timed(out, due, t0, "page", label, "GET", path, {"Cookie": self.creds.sessions[user]})

    def _similar(self, due: float, t0: float, out: list[Record]) -> None:
        words = self.rng.sample(self.world.vocabulary, min(8, len(self.world.vocabulary)))
        cut = self.rng.randint(1, 3)
        body = {"name": " ".join(words[:cut]), "problem": " ".join(words[cut:])}
        self._timed(
            out,
            due,
            t0,
            "similar",
            "similar",
            "POST",
            "/api/v1/projects/similar/",
            self._token(self.world.member),
            body,
        )

    def _writer(self) -> str:
        return self.rng.choice(sorted(self.editable))

    def _patch(self, due: float, t0: float, out: list[Record]) -> None:
        user = self._writer()
        pk = self.rng.choice(self.editable[user])
        path = f"/api/v1/projects/{pk}/"
        auth = self._token(user)
        if pk not in self.versions:
            status, headers, _ = self._timed(
                out, due, t0, "patch_read", "patch_read", "GET", path, auth
            )
            if status != 200:
                return
            self.versions[pk] = int(headers["etag"].strip('"'))
        body = {
            "annual_cost": self.rng.randint(1_000, 900_000),
            "outputs": f"Weekly summary for the load run ({self.rng.randint(1, 10_000)}).",
        }
        headers_in = {**auth, "If-Match": f'"{self.versions[pk]}"'}
        status, headers, _ = self._timed(
            out, due, t0, "patch", "patch", "PATCH", path, headers_in, body
        )
        if status == 200:
            self.versions[pk] = int(headers["etag"].strip('"'))
        else:
            self.versions.pop(pk, None)  # read it again next time

    def _create(self, due: float, t0: float, out: list[Record]) -> None:
        user = self._writer()
        unit = self.world.member_unit if user == self.world.member else self.world.lead_unit
        self.created += 1
        words = self.rng.sample(self.world.vocabulary, min(6, len(self.world.vocabulary)))
        body = {
            "name": f"Load {self.index}-{self.created}-{secrets.token_hex(3)} {words[0]}",
            "business_unit": unit,
            "problem": " ".join(words),
            "stage": "idea",
            "techniques": ["nlp"],
        }
        self._timed(
            out, due, t0, "create", "create", "POST", "/api/v1/projects/", self._token(user), body
        )


# --- The paced run -----------------------------------------------------------------------------


@dataclass
class RunResult:
    records: list[Record]
    offered_rate: float
    seconds: float  # from the start to the last answer
    not_sent: int  # requests still queued when the drain time ran out
    client_cpu_s: float
    server_cpu_s: float
    load_before: float
    load_after: float
    samples: list[tuple[float, dict[int, float]]] = field(default_factory=list)  # (t, pid->MB)


def run_paced(
    server: Server,
    world: World,
    creds: Credentials,
    *,
    rate: float,
    seconds: float,
    threads: int = 32,
    seed: int = 1,
    drain_s: float = 30.0,
    sample_every_s: float = 0.0,
    on_sample: Callable[[float, dict[int, float]], None] | None = None,
) -> RunResult:
    """Send `rate × seconds` requests of the mix, each due at its own time (open loop)."""
    total = int(rate * seconds)
    due_queue: queue.Queue[float | None] = queue.Queue()
    records: list[Record] = []
    stop = threading.Event()
    workers = [Worker(i, threads, server.port, world, creds, seed) for i in range(threads)]
    started_at = time.perf_counter()

    def work(worker: Worker) -> None:
        while True:
            due = due_queue.get()
            if due is None or stop.is_set():
                return
            records.extend(worker.run(worker.pick(), due, started_at))

    samples: list[tuple[float, dict[int, float]]] = []

    def sample() -> None:
        while not stop.wait(sample_every_s):
            point = (time.perf_counter() - started_at, server.worker_rss())
            samples.append(point)
            if on_sample is not None:
                on_sample(*point)

    load_before = os.getloadavg()[0]
    usage_before = resource.getrusage(resource.RUSAGE_SELF)
    server_cpu_before = server.worker_cpu()
    pool = [threading.Thread(target=work, args=(w,), daemon=True) for w in workers]
    for thread in pool:
        thread.start()
    sampler = None
    if sample_every_s > 0:
        samples.append((0.0, server.worker_rss()))
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
    for i in range(total):
        due = i / rate
        delay = started_at + due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        due_queue.put(due)
    for _ in pool:
        due_queue.put(None)
    deadline = time.perf_counter() + drain_s
    for thread in pool:
        thread.join(timeout=max(0.0, deadline - time.perf_counter()))
    stop.set()
    not_sent = 0
    while True:
        try:
            if due_queue.get_nowait() is not None:
                not_sent += 1
        except queue.Empty:
            break
    final = time.perf_counter() + 65  # a request in flight finishes or times out
    for thread in pool:
        thread.join(timeout=max(0.0, final - time.perf_counter()))
    elapsed = time.perf_counter() - started_at
    if sampler is not None:
        sampler.join(timeout=5)
        samples.append((elapsed, server.worker_rss()))
    usage_after = resource.getrusage(resource.RUSAGE_SELF)
    for worker in workers:
        worker.close()
    return RunResult(
        records=list(records),
        offered_rate=rate,
        seconds=elapsed,
        not_sent=not_sent,
        client_cpu_s=(usage_after.ru_utime + usage_after.ru_stime)
        - (usage_before.ru_utime + usage_before.ru_stime),
        server_cpu_s=server.worker_cpu() - server_cpu_before,
        load_before=load_before,
        load_after=os.getloadavg()[0],
        samples=samples,
    )


# --- Service demand -------------------------------------------------------------------------


@dataclass
class Demand:
    kind: str
    requests: int
    wall_ms: float  # median
    worker_cpu_ms: float  # mean CPU of the gunicorn workers per request
    postgres_cpu_ms: float  # mean CPU of the database's PostgreSQL backends per request


def service_demand(
    server: Server, world: World, creds: Credentials, database: str, *, per_kind: int = 20
) -> list[Demand]:
    """One request at a time per kind: the CPU the server side spends on each (workers and
    PostgreSQL backends, from /proc), which does not depend on what else runs on the machine
    the way response times do. Sum over the mix × the rate = the cores a rate needs."""
    worker = Worker(0, 1, server.port, world, creds, seed=5)
    out = []
    try:
        for kind, _ in MIX:
            walls, worker_cpu, pg_cpu, count = [], 0.0, 0.0, 0
            for _ in range(per_kind):
                backends = postgres_backends(database)
                w0 = server.worker_cpu()
                p0 = sum(cpu_seconds(pid) for pid in backends)
                started = time.perf_counter()
                records = worker.run(kind, 0.0, started)
                walls.append((time.perf_counter() - started) * 1000)
                worker_cpu += server.worker_cpu() - w0
                after = set(postgres_backends(database)) | set(backends)
                pg_cpu += sum(cpu_seconds(pid) for pid in after) - p0
                count += len(records)
            out.append(
                Demand(
                    kind=kind,
                    requests=count,
                    wall_ms=harness.percentile(walls, 0.5),
                    worker_cpu_ms=1000 * worker_cpu / per_kind,
                    postgres_cpu_ms=1000 * pg_cpu / per_kind,
                )
            )
    finally:
        worker.close()
    return out


def cores_needed(demands: Sequence[Demand], rate: float) -> float:
    """CPU cores (workers + PostgreSQL) that `rate` requests/s of the mix keep busy."""
    weights = dict(MIX)
    total = sum(weights.values())
    per_request_ms = sum(
        weights[d.kind] / total * (d.worker_cpu_ms + d.postgres_cpu_ms) for d in demands
    )
    return per_request_ms * rate / 1000


# --- Figures -----------------------------------------------------------------------------------


def errors_by_status(records: Sequence[Record]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for record in records:
        if record.status != EXPECTED_STATUS.get(record.kind, 200):
            counts[str(record.status) if record.status else record.error or "no answer"] += 1
    return counts


def percentiles(values: Sequence[float]) -> tuple[float, float, float]:
    if not values:
        return (0.0, 0.0, 0.0)
    return (
        harness.percentile(values, 0.50),
        harness.percentile(values, 0.95),
        harness.percentile(values, 0.99),
    )


def describe_kinds(records: Sequence[Record], seconds: float) -> list[str]:
    """One line per kind: count, rate, p50/p95/p99, errors."""
    lines = []
    by_kind: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        by_kind[record.kind].append(record)
    for kind in KINDS:
        rows = by_kind.get(kind, [])
        if not rows:
            continue
        p50, p95, p99 = percentiles([r.ms for r in rows])
        errors = errors_by_status(rows)
        lines.append(
            f"{kind:<10} {len(rows):>6} req  {len(rows) / seconds:6.1f}/s  p50 {p50:7.1f}  "
            f"p95 {p95:7.1f}  p99 {p99:7.1f} ms  errors {sum(errors.values())}"
            + (f" {dict(errors)}" if errors else "")
        )
    return lines


def heaviest_labels(records: Sequence[Record], top: int = 8) -> list[str]:
    """Where the time goes: request labels by their share of all response time."""
    total = sum(r.ms for r in records) or 1.0
    by_label: dict[str, list[float]] = defaultdict(list)
    for record in records:
        by_label[record.label].append(record.ms)
    ranked = sorted(by_label.items(), key=lambda item: -sum(item[1]))[:top]
    return [
        f"{label:<32} {len(times):>5} req  {100 * sum(times) / total:5.1f} % of time  "
        f"p50 {harness.percentile(times, 0.5):7.1f}  p95 {harness.percentile(times, 0.95):7.1f} ms"
        for label, times in ranked
    ]


def slope_mb_per_minute(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) points, in MB per minute."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_m = sum(m for _, m in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return 0.0
    cov = sum((t - mean_t) * (m - mean_m) for t, m in points)
    return cov / var * 60
