"""Mixed load on gunicorn: 2 sync workers on loopback, 100,000 projects (10,000 with --quick),
metrics computed, a paced mix of reads, similar-project checks and writes.

Targets (issue "Reliability", point 7): ≥ 150 requests/s with p95 ≤ 200 ms and no error.

The server: `gunicorn -c config/gunicorn.conf.py` with 2 workers, `benchmarks.settings` (DEBUG
off), no Celery broker (the tasks the writes enqueue run in-process after commit, the embedded
mode; with `--broker redis://…` they are published to that Redis instead and nobody consumes them:
the queue is left for you to purge). The client: `loadclient.py` (open loop, 32 threads over
`http.client`, in this process), signed in through the API token endpoint (reviewer, member, lead)
and the login form (reviewer, executive). The mix and its pages: see loadclient.py.

Phases: a 12 s warm-up at 5 requests/s (each worker loads the similarity index, about 5 s, and
fills its caches); the service demand: 20 requests of each kind one at a time, with the CPU the
gunicorn workers and the database's PostgreSQL backends spent on each (from /proc: it does not
depend on the other load of a shared machine the way response times do), hence the cores the mix
needs at 150 requests/s; the measured run at `--rate` (150) for `--seconds` (60; 20 with
--quick); then a closed-loop phase of 30 s with 8 concurrent clients (`--capacity-seconds`, 0 to
skip) whose throughput is the capacity of the set-up as the machine is. Figures: achieved rate,
p50/p95/p99 per kind and overall, errors by status (requests still queued in the client 30 s
after the last was due are counted apart as unsent), worker RSS at start and end, CPU of the
client and of the workers, load average.

    .venv/bin/python benchmarks/run.py --only load
    MAESTRO_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/my_100k_copy \\
        .venv/bin/python benchmarks/bench_load.py      # reuses a prepared 100k database
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

import harness  # benchmarks/ is on sys.path: the scripts run as files
import loadclient

TARGET_RATE = 150.0
TARGET_P95_MS = 200.0


def closed_loop(
    server: loadclient.Server,
    world: loadclient.World,
    creds: loadclient.Credentials,
    *,
    clients: int,
    seconds: float,
) -> tuple[int, float, int]:
    """`clients` threads, each sending its next request as soon as the last one answered."""
    records: list[loadclient.Record] = []
    workers = [
        loadclient.Worker(i, clients, server.port, world, creds, seed=99) for i in range(clients)
    ]
    started = time.perf_counter()
    stop_at = started + seconds

    def loop(worker: loadclient.Worker) -> None:
        while time.perf_counter() < stop_at:
            due = time.perf_counter() - started
            records.extend(worker.run(worker.pick(), due, started))

    threads = [threading.Thread(target=loop, args=(w,), daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 70)
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.close()
    errors = sum(loadclient.errors_by_status(records).values())
    return len(records), elapsed, errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="requests per second")
    parser.add_argument("--seconds", type=float, default=None, help="measured run (60; 20 quick)")
    parser.add_argument("--threads", type=int, default=32, help="client threads (open loop)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--capacity-seconds", type=float, default=30.0)
    parser.add_argument("--broker", default="", help="a Redis URL (default: tasks in-process)")
    args = parser.parse_args()
    seconds = args.seconds or (20.0 if harness.quick() else 60.0)
    size = 10_000 if harness.quick() else 100_000

    vendor = harness.setup_django()
    if vendor != "postgresql":
        harness.skip("load_rate", "needs PostgreSQL (run through run.py, not --sqlite)")
        return 0
    harness.note(loadclient.prepare_portfolio(size))
    world = loadclient.prepare_world()
    harness.note(
        f"users load-reviewer, -executive, -member (unit {world.member_unit}, "
        f"{len(world.editable[world.member]):,} projects), -lead (unit {world.lead_unit}, "
        f"{len(world.editable[world.lead]):,} projects)"
    )
    from django.db import connection

    connection.close()
    database_url = os.environ["DATABASE_URL"]

    with loadclient.gunicorn(
        workers=args.workers, database_url=database_url, broker_url=args.broker
    ) as server:
        creds = loadclient.sign_in_all(server.port, world)
        harness.note(
            f"gunicorn {args.workers} sync workers on 127.0.0.1:{server.port}, "
            f"{'broker ' + args.broker if args.broker else 'tasks in-process (no broker)'}; "
            "signed in 3 token users and 2 session users"
        )
        warm = loadclient.run_paced(server, world, creds, rate=5, seconds=12, threads=8, seed=3)
        warm_errors = loadclient.errors_by_status(warm.records)
        harness.note(
            f"warm-up: {len(warm.records)} requests, errors {dict(warm_errors) or 0}, "
            f"p95 {loadclient.percentiles([r.ms for r in warm.records])[1]:.0f} ms"
        )
        if warm_errors:
            first = next(r for r in warm.records if r.error)
            harness.note(f"first warm-up error: {first.label} {first.status}: {first.error}")
        database = connection.settings_dict["NAME"]
        demands = loadclient.service_demand(server, world, creds, database)
        rss_start = server.worker_rss()
        harness.note(
            f"measured run: {args.rate:g} requests/s for {seconds:g} s, {args.threads} client "
            f"threads, load average {os.getloadavg()[0]:.2f}"
        )
        result = loadclient.run_paced(
            server, world, creds, rate=args.rate, seconds=seconds, threads=args.threads
        )
        rss_end = server.worker_rss()
        capacity = None
        if args.capacity_seconds > 0:
            capacity = closed_loop(server, world, creds, clients=8, seconds=args.capacity_seconds)
        log_tail = server.log_tail(5)

    records = result.records
    done = len(records)
    achieved = done / result.seconds if result.seconds else 0.0
    p50, p95, p99 = loadclient.percentiles([r.ms for r in records])
    errors = loadclient.errors_by_status(records)
    error_count = sum(errors.values())
    for line in loadclient.describe_kinds(records, result.seconds):
        harness.note(line)
    harness.note("where the response time goes (top labels):")
    for line in loadclient.heaviest_labels(records):
        harness.note("  " + line)
    if errors:
        harness.note(f"errors by status: {dict(errors)}")
        for record in [r for r in records if r.error][:3]:
            harness.note(f"  e.g. {record.kind} {record.label} {record.status}: {record.error}")
        if log_tail:
            harness.note(f"gunicorn log: {log_tail}")

    harness.figure("load_rate", round(achieved, 1), "req/s", target=TARGET_RATE, at_least=True)
    harness.figure("load_p95", round(p95, 1), "ms", target=TARGET_P95_MS)
    harness.figure("load_errors", error_count, "requests", target=0)
    harness.figure("load_p50", round(p50, 1), "ms")
    harness.figure("load_p99", round(p99, 1), "ms")
    for kind in loadclient.KINDS:
        times = [r.ms for r in records if r.kind == kind]
        if times:
            k50, k95, k99 = loadclient.percentiles(times)
            harness.figure(
                f"load_{kind}_p95",
                round(k95, 1),
                "ms",
                note=f"p50 {k50:.0f}, p99 {k99:.0f}, n={len(times)}",
            )
    if result.not_sent:
        harness.note(
            f"{result.not_sent} requests never sent: the server was still behind after 30 s"
        )
    for index, pid in enumerate(sorted(rss_start)):
        harness.figure(f"load_worker{index + 1}_rss_start", round(rss_start[pid], 1), "MB")
        if pid in rss_end:
            harness.figure(f"load_worker{index + 1}_rss_end", round(rss_end[pid], 1), "MB")
    cores = os.cpu_count() or 1
    harness.figure(
        "load_client_cpu",
        round(100 * result.client_cpu_s / result.seconds, 1),
        "%",
        note=f"of one core, the client's process; {cores} cores shared with server and PostgreSQL",
    )
    harness.figure(
        "load_workers_cpu",
        round(100 * result.server_cpu_s / result.seconds, 1),
        "%",
        note="both workers, of one core",
    )
    harness.figure(
        "load_average_during",
        round(result.load_after, 2),
        note=f"1 min; {result.load_before:.2f} before",
    )
    for demand in demands:
        harness.figure(
            f"load_{demand.kind}_cpu",
            round(demand.worker_cpu_ms + demand.postgres_cpu_ms, 1),
            "ms",
            note=f"per request, one at a time: workers {demand.worker_cpu_ms:.0f} + PostgreSQL "
            f"{demand.postgres_cpu_ms:.0f} ms CPU; median wall {demand.wall_ms:.0f} ms",
        )
    harness.figure(
        "load_cores_needed",
        round(loadclient.cores_needed(demands, TARGET_RATE), 2),
        "cores",
        target=float(os.cpu_count() or 1),
        note=f"server CPU the mix needs at {TARGET_RATE:g} req/s (workers + PostgreSQL)",
    )
    if capacity is not None:
        count, elapsed, capacity_errors = capacity
        harness.figure(
            "load_capacity",
            round(count / elapsed, 1),
            "req/s",
            note=f"closed loop, 8 clients, {elapsed:.0f} s, {capacity_errors} errors",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
