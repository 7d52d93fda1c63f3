"""The stored metrics pipeline end to end: `manage.py compute_metrics` against a real database.

`bench_metrics.py` times the pure computation on portfolios built in memory; this script times
what the nightly run and the Celery tasks really do: read the facts from the database, compute,
and store pairs, clusters, snapshots, suggestions and the similarity index in one transaction.
Per size (10k and 100k projects; 2k and 10k with --quick) a generated portfolio is imported
into an empty registry, then `compute_metrics` runs three times in a child process (its wall
time and peak RSS are the command's own):

1. first run: every pair and cluster is new;
2. recompute with nothing changed (the nightly case: no pair is written);
3. rewrite: every stored pair's score is first changed in place, so the run rewrites all of
   them (the first nightly run after a scoring change).

Each run's stage times (facts, compute, store_pairs, …) come from the run's own record
(`MetricRun.counts["stage_seconds"]`). Also the cost of the change-triggered check when nothing
changed (what `governance.compute_metrics_if_changed` does every minute).

Targets (issue "metrics engine"): a full run at 100k ≤ 60 s with peak memory ≤ 2 GB, and
time(100k) / time(10k) ≤ 15.

    .venv/bin/python benchmarks/bench_pipeline.py [--quick]
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import harness  # benchmarks/ is on sys.path: the scripts run as files
from generate import generate

TIME_LIMIT_S = 60.0
MEMORY_LIMIT_MB = 2048.0
RATIO_LIMIT = 15.0


def _label(size: int) -> str:
    return f"{size // 1000}k"


def _load(size: int) -> bool:
    harness.flush_database()
    with tempfile.TemporaryDirectory(prefix="maestro-pipeline-") as folder:
        source = generate(size, 1, Path(folder) / "portfolio.csv")
        run = harness.manage(
            "import_inventory", "--format", "omb-2024", "--skip-invalid", str(source), timeout=3600
        )
    if run.exit_code != 0:
        harness.fail(f"pipeline_{_label(size)}", f"import failed: {harness.tail(run.stderr)}")
        return False
    harness.note(f"imported {size} projects in {run.seconds:.0f} s")
    harness.analyze_database()
    return True


def _compute(size: int, case: str, *, target: bool) -> float | None:
    """One `compute_metrics` in a child process; figures for its time, memory and stages."""
    from governance.models import MetricRun

    name = f"pipeline_{_label(size)}_{case}"
    child = harness.manage("compute_metrics", timeout=3600)
    if child.exit_code != 0:
        harness.fail(name, f"compute_metrics failed: {harness.tail(child.stderr)}")
        return None
    run = MetricRun.objects.order_by("-id").first()
    counts: dict[str, Any] = run.counts if run is not None else {}
    limit = TIME_LIMIT_S if target else None
    harness.figure(f"{name}_time", round(child.seconds, 1), "s", target=limit)
    harness.figure(
        f"{name}_peak_rss",
        round(child.peak_rss_mb),
        "MB",
        target=MEMORY_LIMIT_MB if target else None,
    )
    from governance.metrics_services import ordered_stages

    for stage, seconds in ordered_stages(counts.get("stage_seconds")):
        harness.figure(f"{name}_stage_{stage}", seconds, "s")
    harness.note(
        f"{case}: {counts.get('pairs')} pairs ({counts.get('pairs_created')} created, "
        f"{counts.get('pairs_updated')} updated, {counts.get('pairs_dropped')} dropped), "
        f"{counts.get('clusters')} clusters"
    )
    return child.seconds


def _rescore_stored_pairs() -> int:
    """Change every stored pair's score a little, as a new scoring would."""
    from django.db.models import F

    from governance.models import OverlapPair

    return OverlapPair.objects.update(score=F("score") * 0.999)


def _if_changed_check_ms() -> float:
    """The per-minute check when nothing changed (no run): median of 20, in ms."""
    from governance import metrics_services

    times = []
    for _ in range(20):
        started = time.perf_counter()
        if metrics_services.metrics_compute_if_changed(task_id="bench") is not None:
            raise RuntimeError("the change-triggered check ran although nothing changed")
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)[len(times) // 2]


def main() -> int:
    vendor = harness.setup_django()
    if vendor != "postgresql":
        harness.note("not PostgreSQL: the figures are not the production ones (run via run.py)")
    small, large = (2_000, 10_000) if harness.quick() else (10_000, 100_000)
    first: dict[int, float] = {}
    for size in (small, large):
        if not _load(size):
            return 1
        is_target = size == large
        seconds = _compute(size, "first_run", target=is_target)
        if seconds is None:
            return 1
        first[size] = seconds
        if _compute(size, "recompute", target=is_target) is None:
            return 1
        harness.figure(
            f"pipeline_{_label(size)}_if_changed_check", round(_if_changed_check_ms(), 1), "ms"
        )
        harness.note(f"rescored {_rescore_stored_pairs()} stored pairs")
        if _compute(size, "rewrite", target=is_target) is None:
            return 1
    harness.figure(
        f"pipeline_time_ratio_{_label(large)}_{_label(small)}",
        round(first[large] / first[small], 1),
        target=RATIO_LIMIT,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
