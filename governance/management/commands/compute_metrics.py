"""Run the metrics pipeline synchronously (what the Celery tasks run) and print a summary."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from governance import metrics_services
from governance.models import MetricRun


class Command(BaseCommand):
    help = "Compute overlap, clusters, fragmentation, alignment, coverage and the similarity index."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--kind",
            choices=[MetricRun.Kind.FULL, MetricRun.Kind.INCREMENTAL],
            default=MetricRun.Kind.FULL,
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            run = metrics_services.metrics_compute(kind=options["kind"], task_id="command")
        except Exception as exc:  # the run is recorded as failed; say why and exit non-zero
            raise CommandError(f"metrics run failed: {type(exc).__name__}: {exc}") from exc
        if run.status == MetricRun.Status.SKIPPED:
            self.stdout.write(self.style.WARNING("Another metrics run is in progress: skipped."))
            return
        self.stdout.write(self.style.SUCCESS(metrics_services.run_summary(run)))
