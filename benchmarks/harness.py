"""What every benchmark script shares: its database, Django, child processes and figure lines.

A script calls `setup_django()` first: it points Django at the database that `run.py` created for
it (`MAESTRO_BENCH_DATABASE_URL`), or at a temporary SQLite file when the script runs on its own,
never at the developer's database, and migrates it. Figures are printed as plain lines,
`name: value unit (target ≤ x unit)`, and appended as JSON to the file named by
`MAESTRO_BENCH_FIGURES` when `run.py` collects them.
"""

from __future__ import annotations

import atexit
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "benchmarks"
OUT_DIR = BENCH_DIR / "out"
MANAGE = ROOT / "manage.py"
INVENTORY_2024 = ROOT / "portfolio" / "fixtures" / "inventories" / "federal-ai-inventory-2024.csv"

# config.settings with DEBUG off (benchmarks/settings.py); no broker: tasks run in-process, as
# in the embedded mode. Child processes (manage.py) inherit the same environment.
BENCH_ENVIRONMENT = {
    "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
    "MAESTRO_ENV": "development",
    "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
    "CELERY_BROKER_URL": "",
    "CELERY_RESULT_BACKEND": "",
    "LOG_LEVEL": "WARNING",
}

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def quick() -> bool:
    """Smaller sizes for a smoke run (`run.py --quick` or `bench_x.py --quick`)."""
    return os.environ.get("MAESTRO_BENCH_QUICK") == "1" or "--quick" in sys.argv[1:]


@dataclass
class Figure:
    script: str
    name: str
    value: float | int | str | None
    unit: str = ""
    target: float | None = None
    comparison: str = "≤"  # the value must be ≤ (or ≥) the target
    status: str = "info"  # info, ok, over, skipped, failed
    note: str = ""

    def line(self) -> str:
        if self.status in {"skipped", "failed"}:
            return f"{self.name}: {self.status}: {self.note}"
        value = _format_value(self.value)
        text = f"{self.name}: {value}{f' {self.unit}' if self.unit else ''}"
        if self.target is not None:
            verdict = "met" if self.status == "ok" else "MISSED"
            text += (
                f" (target {self.comparison} {_format_value(self.target)} {self.unit}, {verdict})"
            )
        if self.note:
            text += f"  [{self.note}]"
        return text


def _format_value(value: float | int | str | None) -> str:
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:.0f}"
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"
    return str(value)


def _script_name() -> str:
    return Path(sys.argv[0]).stem


def _record(figure: Figure) -> Figure:
    print(figure.line(), flush=True)
    target_file = os.environ.get("MAESTRO_BENCH_FIGURES")
    if target_file:
        with open(target_file, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(figure)) + "\n")
    return figure


def figure(
    name: str,
    value: float | int | str | None,
    unit: str = "",
    *,
    target: float | None = None,
    at_least: bool = False,
    note: str = "",
) -> Figure:
    """Print one figure line; with a target, say whether it was met."""
    status = "info"
    if target is not None and isinstance(value, int | float):
        met = value >= target if at_least else value <= target
        status = "ok" if met else "over"
    return _record(
        Figure(
            script=_script_name(),
            name=name,
            value=value,
            unit=unit,
            target=target,
            comparison="≥" if at_least else "≤",
            status=status,
            note=note,
        )
    )


def skip(name: str, reason: str) -> Figure:
    return _record(
        Figure(script=_script_name(), name=name, value=None, status="skipped", note=reason)
    )


def fail(name: str, reason: str) -> Figure:
    return _record(
        Figure(script=_script_name(), name=name, value=None, status="failed", note=reason)
    )


def note(text: str) -> None:
    """A progress line (not a figure)."""
    print(f"  · {text}", flush=True)


def _database_url() -> str:
    url = os.environ.get("MAESTRO_BENCH_DATABASE_URL", "").strip()
    if url:
        return url
    # Run on its own: a throw-away SQLite file, never the developer's database.
    directory = tempfile.mkdtemp(prefix="maestro-bench-")
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return f"sqlite:///{directory}/bench.sqlite3"


def setup_django(*, migrate: bool = True) -> str:
    """Point Django at the benchmark database, set it up and migrate; returns the vendor."""
    os.environ.update(BENCH_ENVIRONMENT)
    os.environ["DATABASE_URL"] = _database_url()
    # Static files are not collected for the benchmarks; WhiteNoise says so once, harmlessly.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if migrate:
        started = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        note(f"migrated the {connection.vendor} database in {time.perf_counter() - started:.1f} s")
    return connection.vendor


def command_available(name: str) -> bool:
    from django.core.management import get_commands

    return name in get_commands()


def flush_database() -> None:
    """Empty every table (the schema stays), e.g. between two measurements of one script."""
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)


def analyze_database() -> None:
    """Refresh the planner's statistics (VACUUM ANALYZE on PostgreSQL, ANALYZE on SQLite)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


@dataclass(frozen=True)
class ChildRun:
    exit_code: int
    seconds: float
    peak_rss_mb: float
    stdout: str
    stderr: str


def run_child(args: Sequence[str], *, timeout: float | None = None) -> ChildRun:
    """Run a command; its wall time and its own peak RSS (from wait4, like /usr/bin/time)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(list(args), stdout=out, stderr=err, cwd=ROOT, env=os.environ)
        deadline = None if timeout is None else started + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if deadline is not None and time.perf_counter() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return ChildRun(
            exit_code=process.returncode,
            seconds=seconds,
            peak_rss_mb=usage.ru_maxrss / 1024,  # kilobytes on Linux
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
        )


def manage(*args: str, timeout: float | None = None) -> ChildRun:
    """`python manage.py …` in a child process against the benchmark database."""
    return run_child([sys.executable, str(MANAGE), *args], timeout=timeout)


def peak_rss_mb() -> float:
    """Peak RSS of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """`with stopwatch() as elapsed: …` then `elapsed[0]` holds the seconds."""
    elapsed: list[float] = []
    started = time.perf_counter()
    try:
        yield elapsed
    finally:
        elapsed.append(time.perf_counter() - started)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (p95 of 200 samples is the 190th smallest)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def tail(text: str, lines: int = 8) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])
