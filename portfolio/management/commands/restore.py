from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from portfolio import backup


class Command(BaseCommand):
    help = "Restore a backup into an empty, migrated database and verify every table against it."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"no backup at {path}")
        if not path.with_name(path.name + ".manifest.json").is_file():
            raise CommandError(f"the manifest {path.name}.manifest.json is missing")
        if not backup.database_is_empty():
            raise CommandError(
                "the database is not empty: restore into a freshly migrated database"
            )
        started = time.perf_counter()
        checks = backup.backup_restore(path)
        failed = [c for c in checks if not c.ok]
        for check in checks:
            state = "ok" if check.ok else "MISMATCH"
            self.stdout.write(
                f"{check.table}: {check.actual_rows}/{check.expected_rows} rows, {state}"
            )
        self.stdout.write(f"took {time.perf_counter() - started:.1f} s")
        if failed:
            raise CommandError(f"{len(failed)} table(s) differ from the backup manifest")
        self.stdout.write(self.style.SUCCESS(f"restored and verified {len(checks)} tables"))
