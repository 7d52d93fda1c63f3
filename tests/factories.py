"""factory_boy factories for every model the tests build."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from portfolio import roles
from portfolio.models import (
    BusinessUnit,
    Capability,
    GoalAlignment,
    Membership,
    Project,
    StrategicGoal,
    Tool,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct-horse-battery")


def user_with_role(role: str, **kwargs: object) -> object:
    """A user in one of the organisation-wide groups: reviewer, executive or admin."""
    user = UserFactory(**kwargs)
    group, _ = Group.objects.get_or_create(name=role)
    user.groups.add(group)
    return user


class BusinessUnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BusinessUnit

    name = factory.Sequence(lambda n: f"Unit {n}")
    code = factory.Sequence(lambda n: f"U{n}")
    parent = None


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    business_unit = factory.SubFactory(BusinessUnitFactory)
    role = Membership.Role.MEMBER


def member_of(unit: BusinessUnit, role: str = Membership.Role.MEMBER, **kwargs: object) -> object:
    user = UserFactory(**kwargs)
    MembershipFactory(user=user, business_unit=unit, role=role)
    return user


class CapabilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Capability

    name = factory.Sequence(lambda n: f"Capability {n}")
    slug = factory.Sequence(lambda n: f"capability-{n}")


class ToolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tool

    name = factory.Sequence(lambda n: f"Tool {n}")
    vendor = "Acme"
    sanction_status = Tool.SanctionStatus.APPROVED


class StrategicGoalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StrategicGoal

    title = factory.Sequence(lambda n: f"Goal {n}")
    description = "Serve citizens faster with automation of document processing."


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"Project {n}")
    business_unit = factory.SubFactory(BusinessUnitFactory)
    problem = "Caseworkers spend hours reading scanned letters."
    benefits = "Faster answers to citizens."
    outputs = "A summary and a routing suggestion."
    stage = Project.Stage.PILOT
    topic_area = Project.TopicArea.SERVICE_DELIVERY
    techniques = factory.LazyFunction(lambda: [Project.Technique.NLP])

    @classmethod
    def _create(cls, model_class, *args, **kwargs):  # type: ignore[no-untyped-def]
        # The services keep search_text current; factories write directly, so do it here.
        project = model_class(*args, **kwargs)
        project.refresh_search_text()
        project.save()
        return project


class GoalAlignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GoalAlignment

    project = factory.SubFactory(ProjectFactory)
    goal = factory.SubFactory(StrategicGoalFactory)
    status = GoalAlignment.Status.CONFIRMED


__all__ = [
    "BusinessUnitFactory",
    "CapabilityFactory",
    "GoalAlignmentFactory",
    "MembershipFactory",
    "ProjectFactory",
    "StrategicGoalFactory",
    "ToolFactory",
    "UserFactory",
    "member_of",
    "roles",
    "user_with_role",
]
