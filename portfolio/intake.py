"""Sections that other apps add to the registration form ("Register an AI project").

The registry does not know governance (dependencies point one way): governance registers its
risk questionnaire here when it starts (`GovernanceConfig.ready`). The registration view shows
every registered section after the registry's own, validates it with the form, and calls its
`save` in the transaction that registers the project, so that a section that refuses its answers
leaves neither the project nor any audit event behind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import HttpRequest

from portfolio.models import Project


@dataclass(frozen=True)
class IntakeSection:
    """One extra section of the registration form.

    `form_class` is built with the POST data (or none) and the section's `key` as prefix;
    `save(request, project, form, draft)` runs after the project is registered, in the same
    transaction, and may raise `ValidationError` (shown on the form, nothing kept) or
    `PermissionDenied`. It returns the messages to show after a successful registration.
    """

    key: str
    title: str
    template: str
    form_class: type[forms.Form]
    save: Callable[[HttpRequest, Project, Any, bool], list[str]]


SECTIONS: dict[str, IntakeSection] = {}


def register_section(section: IntakeSection) -> None:
    SECTIONS[section.key] = section


@dataclass
class BoundSection:
    section: IntakeSection
    form: forms.Form

    @property
    def template(self) -> str:
        return self.section.template


def bind_sections(data: Mapping[str, Any] | None) -> list[BoundSection]:
    """Every registered section with its form, bound to `data` when given."""
    return [
        BoundSection(section, section.form_class(data, prefix=section.key))
        for section in SECTIONS.values()
    ]
