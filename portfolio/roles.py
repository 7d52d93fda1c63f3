"""Who may do what: organisation-wide roles (Django groups) and unit memberships.

- Every signed-in user reads every project of `organisation` visibility.
- `restricted` projects: members of the project's unit (or of an ancestor unit), reviewers,
  executives and admins.
- Members and leads create and edit projects of their units and sub-units; reviewers and
  admins edit any project; executives change nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.auth.models import User as AuthUser

from portfolio.models import BusinessUnit, Membership, Project

REVIEWER = "reviewer"
EXECUTIVE = "executive"
ADMIN = "admin"
ORGANISATION_ROLES = (REVIEWER, EXECUTIVE, ADMIN)

User = AbstractBaseUser | AnonymousUser
# The user's group names, cached on the user object for the request.
_GROUPS_CACHE = "_maestro_groups"


def signed_in_user(user: User | None) -> AuthUser | None:
    """The signed-in account behind `user` (Django's `User`, the AUTH_USER_MODEL), with its
    groups and flags; None for an anonymous visitor or no user."""
    return user if isinstance(user, AuthUser) and user.is_authenticated else None


def _group_names(user: User) -> frozenset[str]:
    account = signed_in_user(user)
    if account is None:
        return frozenset()
    cached: frozenset[str] | None = getattr(account, _GROUPS_CACHE, None)
    if cached is None:
        cached = frozenset(account.groups.values_list("name", flat=True))
        setattr(account, _GROUPS_CACHE, cached)
    return cached


def is_admin(user: User) -> bool:
    account = signed_in_user(user)
    return account is not None and (account.is_superuser or ADMIN in _group_names(account))


def is_reviewer(user: User) -> bool:
    return REVIEWER in _group_names(user) or is_admin(user)


def is_executive(user: User) -> bool:
    return EXECUTIVE in _group_names(user)


def sees_everything(user: User) -> bool:
    """Reviewers, executives and admins see restricted projects of every unit."""
    return is_reviewer(user) or is_executive(user)


def edits_everything(user: User) -> bool:
    return is_reviewer(user)


def descendant_ids(unit_ids: Iterable[int]) -> set[int]:
    """The given units and every unit below them (one query over the unit tree)."""
    roots = set(unit_ids)
    if not roots:
        return set()
    children: dict[int | None, list[int]] = defaultdict(list)
    for pk, parent_id in BusinessUnit.objects.values_list("id", "parent_id"):
        children[parent_id].append(pk)
    found = set(roots)
    stack = list(roots)
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def member_unit_ids(user: User, *, roles: Iterable[str] | None = None) -> set[int]:
    """Units the user belongs to, and their sub-units (cached on the user object)."""
    account = signed_in_user(user)
    if account is None:
        return set()
    wanted = frozenset(roles) if roles is not None else frozenset(Membership.Role.values)
    cache: dict[frozenset[str], set[int]] = account.__dict__.setdefault("_maestro_units", {})
    if wanted not in cache:
        direct = Membership.objects.filter(user=account, role__in=wanted).values_list(
            "business_unit_id", flat=True
        )
        cache[wanted] = descendant_ids(direct)
    return cache[wanted]


def can_view_project(user: User, project: Project) -> bool:
    if not user.is_authenticated:
        return False
    if project.visibility == Project.Visibility.ORGANISATION or sees_everything(user):
        return True
    return project.business_unit_id in member_unit_ids(user)


def can_edit_in_unit(user: User, unit_id: int) -> bool:
    """May the user create or edit projects that belong to this unit?"""
    if not user.is_authenticated or (is_executive(user) and not edits_everything(user)):
        return False
    return edits_everything(user) or unit_id in member_unit_ids(user)


def can_edit_project(user: User, project: Project) -> bool:
    return can_view_project(user, project) and can_edit_in_unit(user, project.business_unit_id)


def can_manage_catalogue(user: User) -> bool:
    """Units, goals, tools and capabilities are kept by reviewers and admins."""
    return is_reviewer(user)
