"""Who may do what in governance. Services enforce these; views only translate the outcome.

- Submit for review: leads of the project's unit (or of a unit above it) and the project's owner.
- Start, assign, decide, verify conditions: reviewers (and admins, who are reviewers too), never
  on a project they own or sponsor (separation of duties). Once a review has a reviewer, only
  that reviewer or an admin starts or decides it.
- Record a risk assessment, set a control status: whoever may edit the project.
- Comment on a review: whoever may edit the project, its owner and sponsor, and reviewers.
- Executives read everything and change nothing.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from governance.models import Review
from portfolio import roles
from portfolio.models import Membership, Project

User = AbstractBaseUser | AnonymousUser


def has_conflict(user: User, project: Project) -> bool:
    """The user owns or sponsors the project, so may not judge it."""
    return bool(user.is_authenticated) and user.pk in {
        project.owner_id,
        project.executive_sponsor_id,
    }


def is_unit_lead(user: User, project: Project) -> bool:
    return project.business_unit_id in roles.member_unit_ids(user, roles=[Membership.Role.LEAD])


def can_submit(user: User, project: Project) -> bool:
    if not user.is_authenticated:
        return False
    return project.owner_id == user.pk or is_unit_lead(user, project)


def can_review(user: User, project: Project) -> bool:
    """A reviewer without a conflict of interest on this project."""
    return roles.is_reviewer(user) and not has_conflict(user, project)


def is_assigned_or_admin(user: User, review: Review) -> bool:
    return review.reviewer_id in (None, user.pk) or roles.is_admin(user)


def can_comment(user: User, project: Project) -> bool:
    if not user.is_authenticated:
        return False
    return (
        roles.is_reviewer(user)
        or roles.can_edit_project(user, project)
        or user.pk in {project.owner_id, project.executive_sponsor_id}
    )


def can_record_assessment(user: User, project: Project) -> bool:
    return roles.can_edit_project(user, project)


def can_set_control_status(user: User, project: Project) -> bool:
    return roles.can_edit_project(user, project)


def can_manage_catalogue(user: User) -> bool:
    """Frameworks and controls are kept by admins."""
    return roles.is_admin(user)
