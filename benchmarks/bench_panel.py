"""The similar-projects panel of the registration form in a real browser: time from the last
keystroke to the panel showing the answer for the final text, at 100,000 projects (10,000 with
--quick), metrics computed.

Target (issue 5, its benchmark point: "With 100k projects and metrics computed: … the
similar-projects panel updates within 300 ms of the last keystroke on this machine"). What the
figure includes: the panel's pause after the last key (its debounce,
static/js/similar.js), the fetch over loopback, the similar-project check on gunicorn, parsing the
JSON and rebuilding the panel's list, i.e. everything from the final `keydown` until the panel's
DOM holds the answer for the final text (`panel_update_*`), and until the next animation frame
after that (`panel_frame_*`, when the browser starts painting it). Not included: a network
between browser and server (both on this machine, loopback) and the paint itself.

The set-up: the portfolio as in bench_load.py (a database that already holds the projects with
metrics computed, e.g. a copy of a prepared 100k database given in `MAESTRO_BENCH_DATABASE_URL`,
is used as it is; an empty one is filled: generated, imported, `compute_metrics`); gunicorn with 2
sync workers (config/gunicorn.conf.py, benchmarks.settings, loopback, an access log with each
request's time in the worker); a member of a large bureau signed in through the login form by
Playwright driving Debian's Chromium (headless, as tests/e2e/conftest.py launches it). Both
workers load the similarity index before measuring (a few direct checks and two unmeasured
drafts).

Each draft (40; 10 with --quick) takes words from an existing project picked at random (seeded):
up to 6 words of its name typed into the name field, a pause of 0.4-0.8 s (moving to the next
field), then 6-10 words of its problem (or other text) typed into the problem field, key by key
with 60-120 ms between keys (`--min-delay`, `--max-delay`). A hook in the page records the time of
every `keydown` and every `similar:rendered` event the panel dispatches after rendering an answer
(its detail names the draft answered); the draft's figure is the time from the final keydown to
the render whose draft is the final text. Also printed: similar requests sent per draft (and how
many were aborted), the browser's fetch time and the server-side time of the similar requests
(gunicorn's `%(D)s`), the load average.

    .venv/bin/python benchmarks/run.py --only panel --database-name me_bench
    createdb -h 127.0.0.1 -U postgres -T maestro_tpl_100k my_100k
    MAESTRO_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/my_100k \\
        .venv/bin/python benchmarks/bench_panel.py      # reuses a prepared 100k database
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import random
import secrets
import shutil
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from statistics import mean, median
from typing import Any

import harness  # benchmarks/ is on sys.path: the scripts run as files
import loadclient

TARGET_MS = 300.0
SIMILAR_PATH = "/api/v1/projects/similar/"
CHROMIUM = os.environ.get("MAESTRO_CHROMIUM", "/usr/bin/chromium")
# As tests/e2e/conftest.py launches it.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
USERNAME = "panel-member"

# Installed in the page before its own scripts: the time of every keydown and of every answer the
# panel renders (the `similar:rendered` event of static/js/similar.js), plus the next frame.
PAGE_HOOK = """
(() => {
  const state = { lastKeydown: 0, renders: [] };
  window.__panelBench = state;
  document.addEventListener("keydown", () => { state.lastKeydown = performance.now(); }, true);
  document.addEventListener("similar:rendered", (event) => {
    const detail = event.detail || {};
    const draft = detail.draft || {};
    const record = {
      at: performance.now(),
      keydown: state.lastKeydown,
      sequence: detail.sequence,
      count: detail.count,
      name: draft.name,
      problem: draft.problem,
      frame: null,
    };
    state.renders.push(record);
    requestAnimationFrame(() => { record.frame = performance.now(); });
  });
})();
"""

# Resolves with the render of the final text once its next frame has come.
WAIT_FOR_FINAL = """
([name, problem]) => {
  const renders = window.__panelBench.renders;
  for (let i = renders.length - 1; i >= 0; i--) {
    const r = renders[i];
    if (r.name === name && r.problem === problem && r.frame !== null) {
      return r;
    }
  }
  return false;
}
"""


@dataclass
class Draft:
    name: str
    problem: str

    @property
    def keys(self) -> int:
        return len(self.name) + len(self.problem)


@dataclass
class Sample:
    update_ms: float
    frame_ms: float
    requests: int
    aborted: int
    keys: int
    results: int


def _words(text: str) -> list[str]:
    """Words a user could type key by key: plain ASCII letters (no punctuation or accents)."""
    found = []
    for raw in text.split():
        word = raw.strip(".,;:()[]'\"!?")
        if word.isascii() and word.isalpha():
            found.append(word)
    return found


def make_drafts(count: int, rng: random.Random) -> list[Draft]:
    """`count` drafts from the words of existing projects picked at random."""
    from portfolio.models import Project

    current = Project.objects.filter(archived_at__isnull=True)
    total = current.count()
    drafts: list[Draft] = []
    tries = 0
    while len(drafts) < count and tries < count * 20:
        tries += 1
        offset = rng.randrange(total)
        row = (
            current.order_by("pk")
            .values("name", "problem", "benefits", "outputs", "data_description")[
                offset : offset + 1
            ]
            .first()
        )
        if row is None:
            continue
        name = _words(row["name"])[:6]
        body: list[str] = []
        for key in ("problem", "benefits", "outputs", "data_description"):
            body = _words(row[key] or "")
            if len(body) >= 6:
                break
        if len(name) < 2 or len(body) < 6:
            continue
        start = rng.randrange(0, max(1, min(len(body) - 6, 10)))
        problem = body[start : start + rng.randint(6, 10)]
        drafts.append(Draft(name=" ".join(name), problem=" ".join(problem)))
    if len(drafts) < count:
        raise SystemExit(f"found words for only {len(drafts)} drafts in the portfolio")
    return drafts


def prepare_member() -> tuple[str, int]:
    """A member of the bureau with the most projects; returns (password, unit id)."""
    from django.contrib.auth.models import User
    from django.db.models import Count

    from portfolio.models import BusinessUnit, Membership

    unit = (
        BusinessUnit.objects.annotate(n=Count("projects"))
        .order_by("-n", "id")
        .values_list("id", flat=True)
        .first()
    )
    if unit is None:
        raise SystemExit("no business unit in the database")
    password = secrets.token_urlsafe(18)
    user, _ = User.objects.get_or_create(username=USERNAME)
    user.set_password(password)
    user.is_active = True
    user.save()
    Membership.objects.update_or_create(
        user=user, business_unit_id=unit, defaults={"role": Membership.Role.MEMBER}
    )
    return password, unit


def warm_workers(port: int, password: str) -> float:
    """A few checks from parallel connections, so that each gunicorn worker loads its copy of the
    similarity index before the measurement; returns the seconds it took."""
    cookie = loadclient.session_sign_in(port, USERNAME, password)
    csrf = cookie.split("csrftoken=", 1)[1].split(";", 1)[0]
    body = json.dumps({"name": "document classification", "problem": "scanned forms"}).encode()
    headers = {
        "Content-Type": "application/json",
        "Cookie": cookie,
        "X-CSRFToken": csrf,
        "Referer": f"http://127.0.0.1:{port}/projects/new/",
    }
    statuses: list[int] = []

    def hit() -> None:
        for _ in range(2):
            status, _, _ = loadclient.request(
                port, "POST", SIMILAR_PATH, body=body, headers=headers
            )
            statuses.append(status)

    started = time.perf_counter()
    threads = [threading.Thread(target=hit, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    bad = [status for status in statuses if status != 200]
    if bad:
        raise SystemExit(f"the similar check answered {bad[:3]} while warming up")
    return time.perf_counter() - started


def type_keys(page: Any, text: str, rng: random.Random, low_ms: int, high_ms: int) -> None:
    """Type `text` key by key, the next key due `low_ms`-`high_ms` after the previous one."""
    due = time.perf_counter()
    for char in text:
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        page.keyboard.type(char)
        due += rng.uniform(low_ms, high_ms) / 1000


def run_draft(
    page: Any, draft: Draft, rng: random.Random, args: argparse.Namespace, counts: Counter[str]
) -> Sample:
    page.fill("#id_name", "")
    page.fill("#id_problem", "")
    time.sleep(0.4)  # the clearing's own pause passes (too little text: nothing is sent)
    counts.clear()
    page.click("#id_name")
    type_keys(page, draft.name, rng, args.min_delay, args.max_delay)
    time.sleep(rng.uniform(0.4, 0.8))  # moving to the next field
    page.click("#id_problem")
    type_keys(page, draft.problem, rng, args.min_delay, args.max_delay)
    handle = page.wait_for_function(
        WAIT_FOR_FINAL, arg=[draft.name, draft.problem], timeout=30_000, polling=50
    )
    record = handle.json_value()
    return Sample(
        update_ms=record["at"] - record["keydown"],
        frame_ms=record["frame"] - record["keydown"],
        requests=counts["sent"],
        aborted=counts["failed"],
        keys=draft.keys,
        results=int(record["count"] or 0),
    )


def server_times(log: Path, skip_lines: int) -> list[float]:
    """Milliseconds in the worker of the similar checks logged after the first `skip_lines`."""
    times = []
    try:
        lines = log.read_text(errors="replace").splitlines()[skip_lines:]
    except OSError:
        return []
    for line in lines:
        parts = line.split()
        if len(parts) == 4 and parts[0] == "POST" and parts[1] == SIMILAR_PATH:
            times.append(int(parts[3]) / 1000)
    return times


def log_lines(log: Path) -> int:
    try:
        return len(log.read_text(errors="replace").splitlines())
    except OSError:
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--drafts", type=int, default=None, help="measured drafts (40; 10 quick)")
    parser.add_argument("--min-delay", type=int, default=60, help="ms between keys, at least")
    parser.add_argument("--max-delay", type=int, default=120, help="ms between keys, at most")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    drafts_wanted = args.drafts or (10 if harness.quick() else 40)
    size = 10_000 if harness.quick() else 100_000

    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        harness.skip("panel_update_p95", f"Chromium not found at {CHROMIUM} (apt-get install)")
        return 0
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        harness.skip("panel_update_p95", "Playwright is not installed (requirements-dev)")
        return 0

    harness.setup_django()
    harness.note(loadclient.prepare_portfolio(size))
    password, unit = prepare_member()
    rng = random.Random(args.seed)
    drafts = make_drafts(drafts_wanted + 2, rng)  # two unmeasured warm-up drafts first
    keys = [draft.keys for draft in drafts[2:]]
    harness.note(
        f"{USERNAME} in unit {unit}; {drafts_wanted} drafts, {min(keys)}-{max(keys)} keys each "
        f"(median {median(keys):.0f}), {args.min_delay}-{args.max_delay} ms between keys"
    )
    from django.db import connection

    connection.close()
    database_url = os.environ["DATABASE_URL"]

    access_log = harness.OUT_DIR / f"panel-access-{os.getpid()}.log"
    access_log.unlink(missing_ok=True)
    atexit.register(access_log.unlink, missing_ok=True)  # also when the script fails
    # The settings file's access log, with the request's time in the worker (microseconds).
    os.environ["GUNICORN_ACCESS_LOG"] = str(access_log)
    os.environ["GUNICORN_CMD_ARGS"] = "--access-logformat '%(m)s %(U)s %(s)s %(D)s'"

    samples: list[Sample] = []
    console_errors: list[str] = []
    fetch_ms: list[float] = []
    load_before = os.getloadavg()[0]
    with loadclient.gunicorn(workers=args.workers, database_url=database_url) as server:
        warm_seconds = warm_workers(server.port, password)
        harness.note(
            f"gunicorn {args.workers} sync workers on 127.0.0.1:{server.port}; both loaded the "
            f"similarity index ({warm_seconds:.1f} s)"
        )
        base_url = f"http://127.0.0.1:{server.port}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(
                viewport={"width": 1366, "height": 900}, base_url=base_url
            )
            context.add_init_script(PAGE_HOOK)
            page = context.new_page()
            page.on(
                "console",
                lambda message: (
                    console_errors.append(message.text) if message.type == "error" else None
                ),
            )
            page.on("pageerror", lambda error: console_errors.append(str(error)))
            counts: Counter[str] = Counter()

            def is_similar(request: Any) -> bool:
                return request.method == "POST" and request.url.endswith(SIMILAR_PATH)

            page.on("request", lambda r: counts.update(["sent"]) if is_similar(r) else None)
            page.on("requestfailed", lambda r: counts.update(["failed"]) if is_similar(r) else None)

            page.goto("/accounts/login/")
            page.fill("#id_username", USERNAME)
            page.fill("#id_password", password)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            if "/accounts/login/" in page.url:
                raise SystemExit("signing in through the login form failed")
            page.goto("/projects/new/")
            page.wait_for_selector("#similar-panel", state="visible", timeout=10_000)

            for draft in drafts[:2]:
                run_draft(page, draft, rng, args, counts)
            page.evaluate("performance.clearResourceTimings()")
            skip = log_lines(access_log)
            harness.note(f"measuring, load average {os.getloadavg()[0]:.2f}")
            for draft in drafts[2:]:
                samples.append(run_draft(page, draft, rng, args, counts))
            fetch_ms = page.evaluate(
                """(path) => performance.getEntriesByType("resource")
                    .filter((e) => e.name.endsWith(path) && e.responseEnd > 0)
                    .map((e) => e.responseEnd - e.startTime)""",
                SIMILAR_PATH,
            )
            load_after = os.getloadavg()[0]
            context.close()
            browser.close()
        time.sleep(0.5)  # the last access-log lines
        server_ms = server_times(access_log, skip)

    updates = [sample.update_ms for sample in samples]
    frames = [sample.frame_ms for sample in samples]
    requests = [sample.requests for sample in samples]
    p95 = harness.percentile(updates, 0.95)
    harness.figure("panel_update_p50", round(median(updates), 1), "ms")
    harness.figure(
        "panel_update_p95",
        round(p95, 1),
        "ms",
        target=TARGET_MS,
        note=f"n={len(updates)} drafts, last keydown to the final text's answer in the DOM",
    )
    harness.figure("panel_update_max", round(max(updates), 1), "ms")
    harness.figure("panel_frame_p50", round(median(frames), 1), "ms")
    harness.figure(
        "panel_frame_p95", round(harness.percentile(frames, 0.95), 1), "ms", target=TARGET_MS
    )
    harness.figure(
        "panel_requests_per_draft",
        round(mean(requests), 2),
        "requests",
        note=f"min {min(requests)}, max {max(requests)}; keys per draft median "
        f"{median(sample.keys for sample in samples):.0f}",
    )
    harness.figure(
        "panel_requests_aborted",
        sum(sample.aborted for sample in samples),
        "requests",
        note=f"of {sum(requests)} sent",
    )
    harness.figure(
        "panel_drafts_with_results",
        sum(1 for sample in samples if sample.results),
        "drafts",
        note=f"of {len(samples)}: the final answer listed at least one similar project",
    )
    if fetch_ms:
        harness.figure(
            "panel_fetch_p95",
            round(harness.percentile(fetch_ms, 0.95), 1),
            "ms",
            note=f"browser's fetch, p50 {median(fetch_ms):.1f}, n={len(fetch_ms)}",
        )
    if server_ms:
        harness.figure("panel_similar_server_p50", round(median(server_ms), 1), "ms")
        harness.figure(
            "panel_similar_server_p95",
            round(harness.percentile(server_ms, 0.95), 1),
            "ms",
            note=f"time in the gunicorn worker, max {max(server_ms):.1f}, n={len(server_ms)}",
        )
    harness.figure("panel_console_errors", len(console_errors), "errors", target=0)
    for message in console_errors[:3]:
        harness.note(f"console: {message[:200]}")
    harness.figure(
        "panel_load_average", round(load_after, 2), note=f"1 min; {load_before:.2f} before"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
