"""The demo portfolio: the 2024 federal inventory, example goals and one user per role."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from portfolio import roles
from portfolio.models import BusinessUnit, Membership, Project, StrategicGoal, ToolAdoption

DEMO_INVENTORY = (
    Path(__file__).resolve().parent / "fixtures" / "inventories" / ("federal-ai-inventory-2024.csv")
)
# The 2025 federal list of commercial AI use: tool adoptions by agency (the tools page, shadow AI).
DEMO_TOOL_LIST = DEMO_INVENTORY.with_name("federal-ai-inventory-2025-cots.csv")
# Printed on purpose by `make run`: demo accounts only, never created by migrations.
DEMO_PASSWORD = "maestro-demo-2026"  # noqa: S105  # nosec B105

EXAMPLE_GOALS: tuple[tuple[str, str], ...] = (
    (
        "Example goal: faster, simpler public services",
        "Cut waiting times and paperwork for citizens and businesses: chatbots and virtual "
        "agents answering questions, automated intake, claims and benefits processing, "
        "translation and plain-language letters.",
    ),
    (
        "Example goal: digitise and understand documents",
        "Turn scanned paper, forms and records into searchable data: OCR, document "
        "classification, extraction, summarisation and records management.",
    ),
    (
        "Example goal: protect systems and detect fraud",
        "Find cyber threats, network anomalies, fraud, waste and abuse early: anomaly "
        "detection, risk scoring, investigations and payment integrity.",
    ),
    (
        "Example goal: productive, well-equipped workforce",
        "Give staff safe generative AI assistants for writing, coding, meeting transcription, "
        "search and knowledge management; training and adoption of approved tools.",
    ),
    (
        "Example goal: science, health and environment insight",
        "Use models on scientific, medical, weather, climate, energy and environmental data "
        "to predict, monitor and inform research and public health decisions.",
    ),
)


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    unit_code: str = ""


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", roles.ADMIN),
    DemoUser("reviewer", roles.REVIEWER),
    DemoUser("executive", roles.EXECUTIVE),
    DemoUser("lead", Membership.Role.LEAD, "DOJ"),
    DemoUser("member", Membership.Role.MEMBER, "VA"),
)


@transaction.atomic
def demo_users_ensure() -> list[tuple[DemoUser, str]]:
    """Create (or reset the password of) one user per role; returns (user, where) pairs."""
    user_model = get_user_model()
    made: list[tuple[DemoUser, str]] = []
    for demo in DEMO_USERS:
        user, _ = user_model.objects.get_or_create(
            username=demo.username, defaults={"email": f"{demo.username}@demo.invalid"}
        )
        user.set_password(DEMO_PASSWORD)
        user.is_staff = demo.role == roles.ADMIN
        user.is_superuser = demo.role == roles.ADMIN
        user.save()
        where = "whole organisation"
        if demo.role in roles.ORGANISATION_ROLES:
            user.groups.add(Group.objects.get_or_create(name=demo.role)[0])
        else:
            unit = BusinessUnit.objects.filter(code=demo.unit_code).first() or (
                BusinessUnit.objects.filter(parent__isnull=True).order_by("code").first()
            )
            if unit is not None:
                Membership.objects.update_or_create(
                    user=user, business_unit=unit, defaults={"role": demo.role}
                )
                where = f"{unit.name} ({unit.code})"
        made.append((demo, where))
    return made


@transaction.atomic
def example_goals_ensure() -> int:
    created = 0
    for title, description in EXAMPLE_GOALS:
        _, was_created = StrategicGoal.objects.get_or_create(
            title=title, defaults={"description": description}
        )
        created += was_created
    return created


def demo_portfolio_loaded() -> bool:
    return Project.objects.filter(source=Project.Source.IMPORTED).exists()


def demo_adoptions_loaded() -> bool:
    return ToolAdoption.objects.exists()


@dataclass(frozen=True)
class DemoSource:
    """A public file the demo imports once (again with `load_demo --force-import`)."""

    title: str
    path: Path
    fmt: str
    rows: str  # what its rows become, in the report line
    loaded: Callable[[], bool]


DEMO_SOURCES: tuple[DemoSource, ...] = (
    DemoSource(
        "the 2024 federal AI use case inventory",
        DEMO_INVENTORY,
        "omb-2024",
        "projects",
        demo_portfolio_loaded,
    ),
    DemoSource(
        "the 2025 federal list of commercial AI use",
        DEMO_TOOL_LIST,
        "omb-2025-cots",
        "tool adoptions",
        demo_adoptions_loaded,
    ),
)


# Steps other apps add to the demo (governance records example assessments and reviews): each
# runs after the portfolio and the demo users exist and returns a line to print, or None.
DEMO_STEPS: list[Callable[[], str | None]] = []


def register_demo_step(step: Callable[[], str | None]) -> None:
    if step not in DEMO_STEPS:
        DEMO_STEPS.append(step)
