"""`manage.py export_inventory --format maestro-csv|omb-2025 [--output PATH]`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portfolio.exporters import EXPORT_FORMATS, stream_csv
from portfolio.models import Project


class Command(BaseCommand):
    help = (
        "Export the registry's projects as CSV: maestro-csv (every field, importable again) or "
        "omb-2025 (the federal inventory schema). Archived projects only with "
        "--include-archived. Writes to standard output unless --output is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", dest="fmt", help=f"One of: {', '.join(EXPORT_FORMATS)}.")
        parser.add_argument("--output", "-o", help="Write to this file instead of stdout.")
        parser.add_argument(
            "--include-archived", action="store_true", help="Export archived projects too."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        fmt = options["fmt"]
        if fmt not in EXPORT_FORMATS:
            given = f"unknown format '{fmt}'" if fmt else "--format is required"
            raise CommandError(f"{given}; choose one of {', '.join(EXPORT_FORMATS)}")
        # The whole registry, as the system sees it (no user: no visibility scoping applies).
        projects = (
            Project.objects.select_related("business_unit", "owner", "executive_sponsor")
            .prefetch_related("tools", "capabilities")
            .order_by("business_unit__code", "name", "id")
        )
        if not options["include_archived"]:
            projects = projects.filter(archived_at__isnull=True)
        output = options["output"]
        if not output:
            try:
                for chunk in stream_csv(projects, fmt):
                    self.stdout.write(chunk, ending="")
                self.stdout.flush()
            except BrokenPipeError:
                # The reader went away (`| head`): stop quietly, as Unix tools do.
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            return
        path = Path(output)
        try:
            with path.open("w", encoding="utf-8", newline="") as handle:
                for chunk in stream_csv(projects, fmt):
                    handle.write(chunk)
        except OSError as exc:
            raise CommandError(f"{path}: cannot be written ({exc.strerror or exc})") from None
        count = projects.count()
        self.stdout.write(f"exported {count} projects to {path} ({fmt})")
