"""Every read of the registry. Visibility scoping happens here and only here."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from portfolio import roles
from portfolio.models import (
    AuditEvent,
    BusinessUnit,
    Capability,
    GoalAlignment,
    Project,
    StrategicGoal,
    Tool,
)

User = AbstractBaseUser | AnonymousUser


def project_visibility_q(user: User) -> Q:
    """The condition a project must meet for this user to see it at all."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    if roles.sees_everything(user):
        return Q()
    return Q(visibility=Project.Visibility.ORGANISATION) | Q(
        business_unit_id__in=roles.member_unit_ids(user)
    )


def project_queryset(*, user: User, include_archived: bool = False) -> QuerySet[Project]:
    """Visible projects, unfetched relations only (for counting and aggregating)."""
    queryset = Project.objects.filter(project_visibility_q(user))
    if not include_archived:
        queryset = queryset.filter(archived_at__isnull=True)
    return queryset


def project_list(*, user: User, include_archived: bool = False) -> QuerySet[Project]:
    """Visible projects with what lists and exports show, in a constant number of queries."""
    return (
        project_queryset(user=user, include_archived=include_archived)
        .select_related("business_unit", "business_unit__parent", "owner", "executive_sponsor")
        .prefetch_related(
            Prefetch(
                "tools", queryset=Tool.objects.only("id", "name", "vendor", "sanction_status")
            ),
            Prefetch("capabilities", queryset=Capability.objects.only("id", "name", "slug")),
        )
    )


def project_get(*, user: User, pk: int | str, include_archived: bool = True) -> Project:
    """One visible project, or Http404 whether it is missing or hidden."""
    try:
        return project_list(user=user, include_archived=include_archived).get(pk=pk)
    except (Project.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such project.") from exc


def project_history(*, user: User, project: Project) -> QuerySet[AuditEvent]:
    """Audit events of a project the user can see (callers get the project via project_get)."""
    if not roles.can_view_project(user, project):
        raise Http404("No such project.")
    return AuditEvent.objects.filter(project_id=project.pk).select_related("actor")


def audit_event_list(*, user: User) -> QuerySet[AuditEvent]:
    """Reviewers, executives and admins read the whole trail; others the events of their units
    and of the shared catalogue (units, goals, tools, capabilities)."""
    queryset = AuditEvent.objects.select_related("actor", "business_unit")
    if not user.is_authenticated:
        return queryset.none()
    if roles.sees_everything(user):
        return queryset
    return queryset.filter(
        Q(business_unit_id__in=roles.member_unit_ids(user))
        | (Q(business_unit__isnull=True) & ~Q(target_type=Project._meta.label_lower))
    )


def business_unit_list(*, user: User) -> QuerySet[BusinessUnit]:
    if not user.is_authenticated:
        return BusinessUnit.objects.none()
    return BusinessUnit.objects.select_related("parent")


def goal_list(*, user: User) -> QuerySet[StrategicGoal]:
    if not user.is_authenticated:
        return StrategicGoal.objects.none()
    return StrategicGoal.objects.select_related("parent", "owner")


def alignment_list(*, user: User) -> QuerySet[GoalAlignment]:
    visible_projects = project_queryset(user=user).values("pk")
    return GoalAlignment.objects.filter(project_id__in=visible_projects).select_related(
        "project", "goal"
    )


def tool_list(*, user: User) -> QuerySet[Tool]:
    if not user.is_authenticated:
        return Tool.objects.none()
    return Tool.objects.prefetch_related("capabilities")


def capability_list(*, user: User) -> QuerySet[Capability]:
    if not user.is_authenticated:
        return Capability.objects.none()
    return Capability.objects.select_related("parent")
