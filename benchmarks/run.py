"""Run every benchmark script, each in its own process against a fresh database; print a summary.

    python benchmarks/run.py                  # all scripts, full sizes, PostgreSQL
    python benchmarks/run.py --quick          # smaller sizes (smoke run, a few minutes)
    python benchmarks/run.py --only import    # bench_import.py only (repeatable)
    python benchmarks/run.py --sqlite         # a temporary SQLite file instead of PostgreSQL

The PostgreSQL database (`maestro_bench` on 127.0.0.1:5432, user postgres, by default) is dropped
and created again before each script and dropped at the end. Figures are printed as they come,
summarised in a table, and written to benchmarks/out/results.json. Timings never fail the run;
the exit status is non-zero only when a script exited non-zero (a crash, by the convention of the
harness; see docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
OUT_DIR = BENCH_DIR / "out"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_DATABASE = "maestro_bench"


@dataclass
class ScriptResult:
    script: str
    exit_code: int
    seconds: float
    peak_rss_mb: float
    figures: list[dict[str, Any]] = field(default_factory=list)
    output_tail: list[str] = field(default_factory=list)


class Postgres:
    """Creates a fresh database per script through the maintenance database."""

    def __init__(self, admin_url: str, name: str) -> None:
        import psycopg

        self.psycopg = psycopg
        self.admin_url = admin_url
        self.name = name
        try:
            with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as connection:
                self.version = str(connection.execute("SHOW server_version").fetchone()[0])
        except psycopg.OperationalError as exc:
            raise SystemExit(
                f"PostgreSQL is not reachable at {admin_url} ({exc}).\n"
                "Start it, pass --postgres URL, or run with --sqlite."
            ) from exc

    def _execute(self, sql: str) -> None:
        from psycopg import sql as psql

        with self.psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(psql.SQL(sql).format(psql.Identifier(self.name)))

    def fresh(self) -> str:
        self.drop()
        self._execute("CREATE DATABASE {}")
        base = self.admin_url.rsplit("/", 1)[0]
        return f"{base}/{self.name}"

    def drop(self) -> None:
        self._execute("DROP DATABASE IF EXISTS {} WITH (FORCE)")

    def describe(self) -> dict[str, str]:
        return {"vendor": "postgresql", "version": self.version, "name": self.name}


class Sqlite:
    def __init__(self) -> None:
        import sqlite3

        self.version = sqlite3.sqlite_version
        self.directory: Path | None = None

    def fresh(self) -> str:
        self.drop()
        self.directory = Path(tempfile.mkdtemp(prefix="maestro-bench-"))
        return f"sqlite:///{self.directory / 'bench.sqlite3'}"

    def drop(self) -> None:
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def describe(self) -> dict[str, str]:
        return {"vendor": "sqlite", "version": self.version, "name": "temporary file"}


def discover(only: list[str]) -> list[Path]:
    scripts = sorted(BENCH_DIR.glob("bench_*.py"))
    if not only:
        return scripts
    wanted = {name.removeprefix("bench_").removesuffix(".py") for name in only}
    chosen = [path for path in scripts if path.stem.removeprefix("bench_") in wanted]
    unknown = wanted - {path.stem.removeprefix("bench_") for path in chosen}
    if unknown:
        names = ", ".join(path.stem.removeprefix("bench_") for path in scripts)
        raise SystemExit(f"no benchmark named {', '.join(sorted(unknown))} (have: {names})")
    return chosen


# A figure line printed by a script that does not use the harness:
# "name: value unit (target ≤ 10 s…)" or "name: skipped: reason".
_FIGURE_LINE = re.compile(
    r"^(?P<name>[A-Za-z][\w.\-]*): (?:(?P<skipped>skipped): (?P<reason>.*)|"
    r"(?P<value>-?\d+(?:\.\d+)?|yes|no)(?: (?P<unit>[^\s(\[]+))?"
    r"(?:\s*\(target (?P<cmp>≤|<=|≥|>=) (?P<target>-?\d+(?:\.\d+)?)[^)]*\))?)"
)


def parse_figure_lines(script: str, lines: list[str]) -> list[dict[str, Any]]:
    figures = []
    for line in lines:
        match = _FIGURE_LINE.match(line.rstrip())
        if match is None:
            continue
        if match["skipped"]:
            figures.append(
                {
                    "script": script,
                    "name": match["name"],
                    "value": None,
                    "unit": "",
                    "target": None,
                    "comparison": "≤",
                    "status": "skipped",
                    "note": match["reason"],
                }
            )
            continue
        raw = match["value"]
        value: float | str = raw if raw in {"yes", "no"} else float(raw)
        target = float(match["target"]) if match["target"] else None
        at_least = match["cmp"] in {"≥", ">="}
        status = "info"
        if target is not None and isinstance(value, float):
            status = "ok" if (value >= target if at_least else value <= target) else "over"
        figures.append(
            {
                "script": script,
                "name": match["name"],
                "value": value,
                "unit": match["unit"] or "",
                "target": target,
                "comparison": "≥" if at_least else "≤",
                "status": status,
                "note": "",
            }
        )
    return figures


def _echo(stream: IO[str], lines: list[str]) -> None:
    for line in stream:
        print(line, end="", flush=True)
        lines.append(line)


def run_script(script: Path, *, database_url: str, quick: bool, timeout: float) -> ScriptResult:
    with tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False) as handle:
        figures_path = Path(handle.name)
    env = {
        **os.environ,
        "MAESTRO_BENCH_DATABASE_URL": database_url,
        "MAESTRO_BENCH_FIGURES": str(figures_path),
        "MAESTRO_BENCH_QUICK": "1" if quick else "0",
        "PYTHONUNBUFFERED": "1",
    }
    args = [sys.executable, str(script), *(["--quick"] if quick else [])]
    started = time.perf_counter()
    process = subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    output: list[str] = []
    echo = threading.Thread(target=_echo, args=(process.stdout, output), daemon=True)
    echo.start()
    deadline = started + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            print(f"!! {script.stem}: no result after {timeout:.0f} s, stopping it", flush=True)
            process.kill()
            pid, status, usage = os.wait4(process.pid, 0)
            break
        time.sleep(0.1)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    echo.join(timeout=5)
    figures = [
        json.loads(line)
        for line in figures_path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    figures_path.unlink(missing_ok=True)
    if not figures:  # a script without the harness: read its figure lines
        figures = parse_figure_lines(script.stem, output)
    return ScriptResult(
        script=script.stem,
        exit_code=process.returncode,
        seconds=seconds,
        peak_rss_mb=usage.ru_maxrss / 1024,
        figures=figures,
        output_tail=[line.rstrip("\n") for line in output[-60:]],
    )


def _value(figure: dict[str, Any]) -> str:
    value = figure["value"]
    if figure["status"] in {"skipped", "failed"}:
        return figure["status"]
    if isinstance(value, float):
        value = f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{value} {figure['unit']}".strip()


def _target(figure: dict[str, Any]) -> str:
    if figure["target"] is None:
        return ""
    return f"{figure['comparison']} {figure['target']:g} {figure['unit']}".strip()


def _verdict(figure: dict[str, Any]) -> str:
    return {"ok": "met", "over": "MISSED", "skipped": "skipped", "failed": "FAILED"}.get(
        figure["status"], ""
    )


def summary(results: list[ScriptResult]) -> str:
    rows = [("script", "figure", "value", "target", "", "note")]
    for result in results:
        for figure in result.figures:
            note = figure["note"] if figure["status"] in {"skipped", "failed"} else ""
            rows.append(
                (
                    result.script,
                    figure["name"],
                    _value(figure),
                    _target(figure),
                    _verdict(figure),
                    note[:70],
                )
            )
        state = "ok" if result.exit_code == 0 else f"exit {result.exit_code}"
        if not result.figures:
            state += ", no figure lines (see its output)"
        rows.append(
            (
                result.script,
                "(script)",
                f"{result.seconds:.0f} s",
                "",
                state,
                f"peak RSS {result.peak_rss_mb:.0f} MB incl. children",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", default=[], metavar="NAME")
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite database")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("MAESTRO_BENCH_POSTGRES", DEFAULT_POSTGRES),
        help=f"maintenance database URL (default {DEFAULT_POSTGRES})",
    )
    parser.add_argument("--database-name", default=DEFAULT_DATABASE)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per script")
    args = parser.parse_args(argv)

    scripts = discover(args.only)
    database: Postgres | Sqlite = (
        Sqlite() if args.sqlite else Postgres(args.postgres, args.database_name)
    )
    started_at = datetime.now(UTC)
    mode = "quick" if args.quick else "full"
    load_before = os.getloadavg()
    print(
        f"Maestro benchmarks ({mode}) on {database.describe()['vendor']} "
        f"{database.version}, {os.cpu_count()} CPUs, load average {load_before[0]:.2f}: "
        f"{', '.join(s.stem for s in scripts)}",
        flush=True,
    )
    results: list[ScriptResult] = []
    try:
        for script in scripts:
            print(f"\n== {script.stem}", flush=True)
            url = database.fresh()
            results.append(
                run_script(script, database_url=url, quick=args.quick, timeout=args.timeout)
            )
    finally:
        database.drop()

    print("\n== summary\n" + summary(results), flush=True)
    print(f"load average (1 min): {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after")
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    report = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": mode,
        "database": database.describe(),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            # Other work on the machine skews the timings: 1-minute load before and after.
            "load_average_before": round(load_before[0], 2),
            "load_average_after": round(os.getloadavg()[0], 2),
        },
        "scripts": [result.__dict__ for result in results],
    }
    out = OUT_DIR / "results.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwritten: {out.relative_to(ROOT)}")
    return 0 if all(result.exit_code == 0 for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
