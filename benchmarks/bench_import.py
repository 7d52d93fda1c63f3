"""Import speed and memory: `manage.py import_inventory --format omb-2024` in a child process.

(a) the real 2024 federal inventory (2,133 use cases): target ≤ 10 s;
(b) a generated portfolio of 100,000 projects (10,000 with --quick): target ≤ 120 s and a peak
    memory of the import process ≤ 1 GB (its own maximum RSS, read with wait4).
Both imports start from an empty registry. Times are wall clock around the command, Django
start-up included.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import harness  # benchmarks/ is on sys.path: the scripts run as files
from generate import generate

SEED = 1
TARGET_2024_S = 10
TARGET_LARGE_S = 120
TARGET_LARGE_MB = 1024


def _project_count() -> int:
    from portfolio.models import Project

    return Project.objects.count()


def _unit_count() -> int:
    from portfolio.models import BusinessUnit

    return BusinessUnit.objects.count()


def _import(path: Path, label: str) -> harness.ChildRun | None:
    run = harness.manage(
        "import_inventory", "--format", "omb-2024", "--skip-invalid", str(path), timeout=1200
    )
    if run.exit_code != 0:
        harness.fail(label, f"import_inventory exited {run.exit_code}: {harness.tail(run.stderr)}")
        return None
    last = run.stdout.strip().splitlines()[-1:] or [""]
    harness.note(f"import_inventory said: {last[0][:160]}")
    return run


def main() -> int:
    harness.setup_django()
    if not harness.command_available("import_inventory"):
        harness.skip("import", "import_inventory not available yet")
        return 0
    size = 10_000 if harness.quick() else 100_000
    label = f"{size // 1000}k"

    # (a) The real 2024 inventory.
    run = _import(harness.INVENTORY_2024, "import_2024")
    if run is None:
        return 1
    harness.figure("import_2024_time", run.seconds, "s", target=TARGET_2024_S)
    harness.figure("import_2024_peak_rss", run.peak_rss_mb, "MB")
    harness.figure("import_2024_projects", _project_count(), "projects")
    harness.figure("import_2024_units", _unit_count(), "units")

    # (b) A generated portfolio, into an empty registry again.
    harness.flush_database()
    with tempfile.TemporaryDirectory(prefix="maestro-bench-") as directory:
        path = Path(directory) / f"portfolio-{size}.csv"
        with harness.stopwatch() as elapsed:
            generate(size, SEED, path)
        harness.figure(f"generate_{label}_time", elapsed[0], "s", target=60)
        harness.note(f"{path.name}: {path.stat().st_size / 1e6:.0f} MB")
        run = _import(path, f"import_{label}")
    if run is None:
        return 1
    projects = _project_count()
    harness.figure(f"import_{label}_time", run.seconds, "s", target=TARGET_LARGE_S)
    harness.figure(f"import_{label}_peak_rss", run.peak_rss_mb, "MB", target=TARGET_LARGE_MB)
    harness.figure(f"import_{label}_rate", projects / run.seconds, "projects/s")
    harness.figure(f"import_{label}_projects", projects, "projects")
    harness.figure(f"import_{label}_units", _unit_count(), "units")
    return 0


if __name__ == "__main__":
    sys.exit(main())
