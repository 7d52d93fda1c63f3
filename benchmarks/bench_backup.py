"""Backup and restore drill at scale: `manage.py backup`, then `restore` into the emptied
database, which verifies every table's row count and checksum against the backup's manifest.

100,000 generated projects (10,000 with --quick), imported first. Figures: backup time and size,
restore-and-verify time, tables verified. No target is set by the issue: the figures are reported.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import harness  # benchmarks/ is on sys.path: the scripts run as files
from generate import generate


def main() -> int:
    harness.setup_django()
    size = 10_000 if harness.quick() else 100_000
    with tempfile.TemporaryDirectory(prefix="maestro-backup-") as folder:
        source = generate(size, 1, Path(folder) / "portfolio.csv")
        run = harness.manage(
            "import_inventory", "--format", "omb-2024", "--skip-invalid", str(source), timeout=1800
        )
        if run.exit_code != 0:
            harness.fail("backup_drill", f"import failed: {harness.tail(run.stderr)}")
            return 1
        harness.note(f"imported {size:,} projects in {run.seconds:.1f} s")
        archive = Path(folder) / "maestro.json.gz"
        backup = harness.manage("backup", "--output", str(archive), timeout=1800)
        if backup.exit_code != 0:
            harness.fail("backup_drill", f"backup failed: {harness.tail(backup.stderr)}")
            return 1
        harness.figure(f"backup_{size // 1000}k_s", round(backup.seconds, 1), "s")
        harness.figure(f"backup_{size // 1000}k_size", round(archive.stat().st_size / 1e6, 1), "MB")
        harness.figure(f"backup_{size // 1000}k_peak", round(backup.peak_rss_mb), "MB")
        harness.flush_database()
        restore = harness.manage("restore", str(archive), timeout=1800)
        if restore.exit_code != 0:
            harness.fail("restore_verified", f"restore failed: {harness.tail(restore.stderr)}")
            return 1
        verified = sum(1 for line in restore.stdout.splitlines() if line.endswith(", ok"))
        harness.figure(f"restore_{size // 1000}k_s", round(restore.seconds, 1), "s")
        harness.figure(f"restore_{size // 1000}k_peak", round(restore.peak_rss_mb), "MB")
        harness.figure("restore_tables_verified", verified, "tables")
    return 0


if __name__ == "__main__":
    sys.exit(main())
