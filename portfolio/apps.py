from django.apps import AppConfig


class PortfolioConfig(AppConfig):
    name = "portfolio"
    verbose_name = "Portfolio registry"

    def ready(self) -> None:
        # Register the tasks in every process (web included), not only in workers: the outbox
        # looks tasks up by name, and in embedded mode runs them in the web process.
        from portfolio import tasks  # noqa: F401
