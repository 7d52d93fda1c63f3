"""`manage.py import_inventory --format FORMAT PATH [--dry-run] [--skip-invalid]`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portfolio.importers import FORMATS, ImportFormatError, run_import


class Command(BaseCommand):
    help = (
        "Import an AI use case inventory: the federal OMB inventories (omb-2023, omb-2024, "
        "omb-2025) or Maestro's template (maestro-csv, .csv or .xlsx). Nothing is written when "
        "a row is invalid, unless --skip-invalid. See docs/importing.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The file to import (.csv, or .xlsx for maestro-csv).")
        parser.add_argument("--format", dest="fmt", help=f"One of: {', '.join(FORMATS)}.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Validate and report what would happen; write nothing.",
        )
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="Import the valid rows even when some rows are invalid.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        fmt = options["fmt"]
        if fmt not in FORMATS:
            given = f"unknown format '{fmt}'" if fmt else "--format is required"
            raise CommandError(f"{given}; choose one of {', '.join(FORMATS)}")
        try:
            report = run_import(
                path=Path(options["path"]),
                fmt=fmt,
                dry_run=options["dry_run"],
                skip_invalid=options["skip_invalid"],
            )
        except ImportFormatError as exc:
            raise CommandError(str(exc)) from None
        for error in report.errors:
            self.stdout.write(str(error))
        new = [
            f"{count} {noun}"
            for count, noun in (
                (report.units_created, "business units"),
                (report.tools_created, "tools"),
                (report.users_created, "users (inactive)"),
                (report.capabilities_created, "capabilities"),
            )
            if count
        ]
        if new and (report.written or report.dry_run):
            verb = "would create" if report.dry_run else "created"
            self.stdout.write(f"also {verb}: {', '.join(new)}")
        self.stdout.write(report.summary())
        if report.dry_run:
            self.stdout.write("dry run: nothing written")
        if report.errors and not options["skip_invalid"]:
            raise CommandError(
                f"nothing written: {report.rejected} invalid rows "
                "(use --skip-invalid to import the valid rows)"
            )
