"""Soak: the load mix of bench_load.py at a moderate fixed rate for 10 minutes on gunicorn
(2 sync workers, loopback), watching each worker's memory. Run by `make chaos`; not part of
`make bench` (its name does not start with bench_).

    .venv/bin/python benchmarks/soak.py                        # 10 min, 25 req/s, 100k projects
    .venv/bin/python benchmarks/soak.py --minutes 2 --size 10000
    .venv/bin/python benchmarks/soak.py --database-url postgres://postgres@127.0.0.1:5432/copy

Without `--database-url` it creates the PostgreSQL database `maestro_soak` (on the server of
`MAESTRO_BENCH_POSTGRES`, default 127.0.0.1:5432 user postgres), fills it as bench_load.py does
(generated portfolio, import, compute_metrics: about 4 minutes at 100k) and drops it at the end.
With `--database-url` it uses that database as it is if it already holds the portfolio (the run
adds projects and edits some: use a copy).

The default rate, 25 requests/s, is about half of what 2 cores shared with other work served of
this mix (bench_load.py's `load_capacity`: 46–76 requests/s at 100k; the server spends ~17 ms of
CPU per request plus periodic recounts, docs/reliability.md "Load and soak"); on a busier
machine choose a rate the set-up sustains, or the run measures a growing queue instead of the
server.

Every 10 s it samples the RSS of each gunicorn worker. Memory is **flat** when, after the warm-up
(the first 2 minutes, or the first fifth of a shorter run: each worker loads the similarity index
and fills its caches then), the total RSS of the workers at the end is less than 5 % above its
value at the end of the warm-up. It also prints the least-squares slope of that total after the
warm-up (MB per minute), errors by status and p95 per minute. Exit status 0 even when a target
is missed (figures, not a test); non-zero only when the run could not be made.
"""

from __future__ import annotations

import argparse
import os
import sys

import harness  # benchmarks/ is on sys.path: the scripts run as files
import loadclient

FLAT_GROWTH_PERCENT = 5.0


def _database(args: argparse.Namespace) -> tuple[str, object | None]:
    if args.database_url:
        return args.database_url, None
    from run import DEFAULT_POSTGRES, Postgres

    postgres = Postgres(os.environ.get("MAESTRO_BENCH_POSTGRES", DEFAULT_POSTGRES), "maestro_soak")
    return postgres.fresh(), postgres


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=25.0, help="requests per second")
    parser.add_argument("--size", type=int, default=100_000, help="projects when filling")
    parser.add_argument("--database-url", default="", help="an existing database to use")
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--broker", default="", help="a Redis URL (default: tasks in-process)")
    args = parser.parse_args()
    if args.minutes <= 0 or args.rate <= 0:
        parser.error("--minutes and --rate must be positive")

    url, postgres = _database(args)
    os.environ["MAESTRO_BENCH_DATABASE_URL"] = url
    try:
        return _soak(args)
    finally:
        if postgres is not None:
            postgres.drop()  # type: ignore[attr-defined]


def _soak(args: argparse.Namespace) -> int:
    vendor = harness.setup_django()
    if vendor != "postgresql":
        raise SystemExit("the soak needs PostgreSQL")
    harness.note(loadclient.prepare_portfolio(args.size))
    world = loadclient.prepare_world(seed=11)
    from django.db import connection

    connection.close()
    seconds = args.minutes * 60
    warm_up = min(120.0, seconds / 5)

    def show(t: float, rss: dict[int, float]) -> None:
        per_worker = ", ".join(f"{mb:.0f}" for _, mb in sorted(rss.items()))
        harness.note(f"t={t:5.0f} s  worker RSS {per_worker} MB  load {os.getloadavg()[0]:.2f}")

    with loadclient.gunicorn(database_url=os.environ["DATABASE_URL"], broker_url=args.broker) as s:
        creds = loadclient.sign_in_all(s.port, world)
        harness.note(
            f"soak: {args.rate:g} requests/s for {args.minutes:g} min on gunicorn 2 workers "
            f"(127.0.0.1:{s.port}), {'broker ' + args.broker if args.broker else 'no broker'}, "
            f"warm-up {warm_up:.0f} s, load average {os.getloadavg()[0]:.2f}"
        )
        workers_at_start = set(s.workers)
        result = loadclient.run_paced(
            s,
            world,
            creds,
            rate=args.rate,
            seconds=seconds,
            threads=args.threads,
            seed=21,
            sample_every_s=10.0,
            on_sample=show,
        )
        restarted = workers_at_start != set(s.workers)

    records = result.records
    errors = loadclient.errors_by_status(records)
    for line in loadclient.describe_kinds(records, result.seconds):
        harness.note(line)
    for minute in range(int(result.seconds // 60) + 1):
        times = [r.ms for r in records if minute * 60 <= r.due < (minute + 1) * 60]
        if times:
            failed = sum(
                loadclient.errors_by_status(
                    [r for r in records if minute * 60 <= r.due < (minute + 1) * 60]
                ).values()
            )
            harness.figure(
                f"soak_minute{minute + 1}_p95",
                round(harness.percentile(times, 0.95), 1),
                "ms",
                note=f"{len(times)} requests, {failed} errors",
            )

    totals = [(t, sum(rss.values())) for t, rss in result.samples if rss]
    settled = [(t, mb) for t, mb in totals if t >= warm_up]
    if len(settled) < 2:
        harness.skip("soak_memory_growth", "too short: no samples after the warm-up")
        flat = False
    else:
        base, end = settled[0][1], settled[-1][1]
        growth = 100 * (end - base) / base
        flat = growth < FLAT_GROWTH_PERCENT
        harness.figure(
            "soak_memory_growth",
            round(growth, 2),
            "%",
            target=FLAT_GROWTH_PERCENT,
            note=f"total worker RSS {base:.0f} → {end:.0f} MB after the warm-up",
        )
        harness.figure(
            "soak_memory_slope", round(loadclient.slope_mb_per_minute(settled), 2), "MB/min"
        )
        for pid in sorted(result.samples[-1][1]):
            series = [(t, rss[pid]) for t, rss in result.samples if pid in rss and t >= warm_up]
            if len(series) >= 2:
                harness.figure(
                    f"soak_worker_{pid}_rss",
                    round(series[-1][1], 1),
                    "MB",
                    note=f"{series[0][1]:.0f} MB after warm-up, slope "
                    f"{loadclient.slope_mb_per_minute(series):.2f} MB/min",
                )
    harness.figure("soak_memory_flat", "yes" if flat else "no")
    harness.figure("soak_requests", len(records), note=f"offered {int(args.rate * seconds)}")
    harness.figure(
        "soak_rate",
        round(len(records) / result.seconds, 1),
        "req/s",
        target=args.rate * 0.95,
        at_least=True,
    )
    harness.figure("soak_errors", sum(errors.values()), "requests", target=0)
    harness.figure("soak_unsent", result.not_sent, "requests")
    if errors:
        harness.note(f"errors by status: {dict(errors)}")
    p50, p95, p99 = loadclient.percentiles([r.ms for r in records])
    harness.figure("soak_p95", round(p95, 1), "ms", note=f"p50 {p50:.0f}, p99 {p99:.0f}")
    harness.figure("soak_workers_restarted", "yes" if restarted else "no")
    harness.figure(
        "soak_load_average",
        round(result.load_after, 2),
        note=f"1 min at the end; {result.load_before:.2f} at the start",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
