"""Load the demo portfolio (once) and print the demo sign-ins."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from portfolio import demo


class Command(BaseCommand):
    help = (
        "Load the 2024 federal AI inventory, the 2025 commercial AI use list, example goals "
        "and one demo user per role."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--url",
            default="http://127.0.0.1:8000",
            help="The address printed for the demo (make run passes its HOST and PORT).",
        )
        parser.add_argument(
            "--force-import",
            action="store_true",
            help="Import the inventory and the commercial AI list again even if already imported.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from portfolio.importers import run_import

        for source in demo.DEMO_SOURCES:
            if options["force_import"] or not source.loaded():
                self.stdout.write(f"Importing {source.title}…")
                report = run_import(path=source.path, fmt=source.fmt, skip_invalid=True)
                self.stdout.write(
                    f"{source.rows} created: {report.created}, updated: {report.updated}, "
                    f"unchanged: {report.unchanged}, rejected: {report.rejected}"
                )
            else:
                self.stdout.write(f"{source.title[0].upper()}{source.title[1:]}: already loaded.")
        demo.example_goals_ensure()
        users = demo.demo_users_ensure()
        for step in demo.DEMO_STEPS:
            line = step()
            if line:
                self.stdout.write(line)
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Maestro demo: {options['url']}"))
        self.stdout.write(f"Sign in with any of these (password: {demo.DEMO_PASSWORD}):")
        for user, where in users:
            self.stdout.write(f"  {user.username:<10} {user.role:<10} {where}")
        self.stdout.write("")
