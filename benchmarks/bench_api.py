"""Project list API at scale: `GET /api/v1/projects/` with filters, in-process.

A generated portfolio of 100,000 projects (10,000 with --quick) is loaded through the importer,
exactly as a user would load it. Then, signed in as a reviewer (sees everything) and as a plain
member of the largest agency, each filter mix is requested N times (200; 50 with --quick, fewer
if a mix exhausts its time budget) with Django's test Client: the time around `client.get` is
the server-side time (URL routing, middleware, authentication, filtering, pagination,
serialisation, JSON rendering). Reported: p50 and p95 (target p95 ≤ 80 ms) and the SQL queries
of one request (CaptureQueriesContext), page 1 against page 50 to show the count is constant.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import harness  # benchmarks/ is on sys.path: the scripts run as files
from generate import generate

SEED = 1
TARGET_P95_MS = 80
URL = "/api/v1/projects/"
MIXES: tuple[tuple[str, str], ...] = (
    ("default", ""),
    ("stage", "stage=production"),
    ("unit", "unit={unit}"),
    ("q", "q=document"),
    ("q_two_words", "q=data+document"),
    ("tier", "tier=high"),
    ("ordering", "ordering=-updated_at"),
    ("page50", "page=50"),
    ("combined", "stage=production&unit={unit}&ordering=-updated_at&page=2"),
)


def _users(unit_id: int):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from portfolio import roles
    from portfolio.models import Membership

    user_model = get_user_model()
    reviewer = user_model.objects.create_user("bench-reviewer", "reviewer@bench.invalid")
    reviewer.groups.add(Group.objects.get_or_create(name=roles.REVIEWER)[0])
    member = user_model.objects.create_user("bench-member", "member@bench.invalid")
    Membership.objects.create(user=member, business_unit_id=unit_id, role=Membership.Role.MEMBER)
    return {"reviewer": reviewer, "member": member}


def _largest_agency() -> tuple[int, str, int]:
    """The top-level unit with the most projects under it: (id, code, projects)."""
    from django.db.models import Count

    from portfolio.models import BusinessUnit, Project

    units = {
        pk: (parent, code)
        for pk, parent, code in BusinessUnit.objects.values_list("id", "parent_id", "code")
    }

    def root(pk: int) -> int:
        seen = set()
        while units[pk][0] is not None and pk not in seen:
            seen.add(pk)
            pk = units[pk][0]
        return pk

    totals: dict[int, int] = defaultdict(int)
    for row in Project.objects.values("business_unit_id").annotate(n=Count("id")):
        totals[root(row["business_unit_id"])] += row["n"]
    pk = max(totals, key=lambda key: (totals[key], -key))
    return pk, units[pk][1], totals[pk]


def _load(size: int) -> bool:
    with tempfile.TemporaryDirectory(prefix="maestro-bench-") as directory:
        path = Path(directory) / f"portfolio-{size}.csv"
        generate(size, SEED, path)
        run = harness.manage(
            "import_inventory", "--format", "omb-2024", "--skip-invalid", str(path), timeout=1200
        )
    if run.exit_code != 0:
        harness.fail(
            "api_setup", f"import_inventory exited {run.exit_code}: {harness.tail(run.stderr)}"
        )
        return False
    harness.note(
        f"loaded {size} generated projects through import_inventory in {run.seconds:.0f} s"
    )
    return True


def _measure(client, url: str, *, samples: int, budget_s: float) -> tuple[list[float], int, dict]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):  # warm-up: caches, connection, first-use imports
        response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}: {response.content[:200]!r}")
    body = response.json()
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    # Read now: the next request's request_started signal empties the query log.
    query_count = len(queries.captured_queries)
    times: list[float] = []
    min_samples = min(samples, 20)
    deadline = time.perf_counter() + budget_s
    while len(times) < samples and (len(times) < min_samples or time.perf_counter() < deadline):
        started = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    return times, query_count, body


def main() -> int:
    harness.setup_django()
    from django.test import Client

    from portfolio.models import Project

    size = 10_000 if harness.quick() else 100_000
    samples = 50 if harness.quick() else 200
    budget_s = 10 if harness.quick() else 20

    probe = Client()
    probe.force_login(_users_probe())
    if probe.get(URL).status_code == 404:
        harness.skip("api", f"{URL} does not answer yet")
        return 0
    if not harness.command_available("import_inventory"):
        harness.skip("api", "import_inventory not available yet (the data is loaded through it)")
        return 0
    if not _load(size):
        return 1

    unit_id, unit_code, unit_projects = _largest_agency()
    users = _users(unit_id)
    harness.note(
        f"{Project.objects.count()} projects; member of {unit_code} ({unit_projects} projects "
        f"in the agency and its bureaus); {samples} requests per mix, {budget_s} s budget"
    )
    # Right after a bulk import the planner's statistics are stale until autovacuum analyzes the
    # tables (up to a minute or more): measure that window briefly, then analyze, as pgbench does.
    client = Client()
    client.force_login(users["member"])
    times = []
    for _ in range(3):
        started = time.perf_counter()
        client.get(URL)
        times.append((time.perf_counter() - started) * 1000)
    harness.figure(
        "api_member_default_before_analyze",
        harness.percentile(times, 0.5),
        "ms",
        note="median of 3, right after the import, before ANALYZE",
    )
    with harness.stopwatch() as elapsed:
        harness.analyze_database()
    harness.note(f"analyzed the database in {elapsed[0]:.1f} s")
    worst = 0.0
    for label, user in users.items():
        client = Client()
        client.force_login(user)
        query_counts: dict[str, int] = {}
        for mix, query in MIXES:
            url = f"{URL}?{query.format(unit=unit_code)}" if query else URL
            times, query_count, body = _measure(client, url, samples=samples, budget_s=budget_s)
            query_counts[mix] = query_count
            p95 = harness.percentile(times, 0.95)
            worst = max(worst, p95)
            detail = f"n={len(times)}, {body.get('count', '?')} matching"
            harness.figure(f"api_{label}_{mix}_p50", harness.percentile(times, 0.5), "ms")
            harness.figure(f"api_{label}_{mix}_p95", p95, "ms", target=TARGET_P95_MS, note=detail)
            harness.figure(f"api_{label}_{mix}_queries", query_count, "queries")
        constant = query_counts["default"] == query_counts["page50"]
        harness.figure(
            f"api_{label}_queries_constant",
            "yes" if constant else "no",
            note=f"page 1: {query_counts['default']}, page 50: {query_counts['page50']} queries",
        )
    harness.figure("api_worst_p95", worst, "ms", target=TARGET_P95_MS)
    return 0


def _users_probe():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user("bench-probe", "probe@bench.invalid")


if __name__ == "__main__":
    sys.exit(main())
