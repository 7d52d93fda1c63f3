from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from portfolio import backup


class Command(BaseCommand):
    help = "Write a backup of every table (gzip JSON) and its manifest of row counts and checksums."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--output", type=Path, help="default: var/backups/maestro-<time>.json.gz"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        path = options["output"] or Path("var") / "backups" / f"maestro-{stamp}.json.gz"
        started = time.perf_counter()
        manifest = backup.backup_write(path)
        self.stdout.write(f"backup: {path} ({path.stat().st_size:,} bytes)")
        self.stdout.write(f"manifest: {manifest}")
        self.stdout.write(f"took {time.perf_counter() - started:.1f} s")
