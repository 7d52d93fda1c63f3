import importlib
import importlib.util

from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance"

    def ready(self) -> None:
        # Register the tasks in every process (web included): the outbox looks tasks up by name
        # and, in embedded mode, runs them in the web process.
        for module in ("governance.tasks", "governance.notification_tasks"):
            if importlib.util.find_spec(module) is not None:
                importlib.import_module(module)
        # The omb-2025 export takes the minimum-practice columns from control statuses.
        from governance.omb_export import minimum_practice_columns
        from portfolio.exporters import register_column_source

        register_column_source("omb-2025", minimum_practice_columns)
        # The risk questionnaire is a section of the registration form.
        from governance.intake import register as register_intake_section

        register_intake_section()
        # Example assessments and reviews for the demo (`load_demo`).
        from governance.demo import register as register_demo_step

        register_demo_step()
