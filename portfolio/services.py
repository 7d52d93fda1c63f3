"""Every write to the registry. Each service runs in one transaction and writes one AuditEvent."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import models, router, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from portfolio import audit, roles, task_queue
from portfolio.models import (
    BusinessUnit,
    Capability,
    GoalAlignment,
    ImportJob,
    Membership,
    Project,
    StrategicGoal,
    Tool,
)

Actor = AbstractBaseUser | AnonymousUser | None


class VersionRequired(Exception):
    """A project write did not say which version it read (HTTP 428)."""


class StaleVersion(Exception):
    """A project write was based on a version that is no longer current (HTTP 412)."""

    def __init__(self, current: int) -> None:
        super().__init__(f"The project was changed by someone else (now version {current}).")
        self.current = current


# Fields a person may set on a project. Tier and review status belong to governance services.
PROJECT_FIELDS: tuple[str, ...] = (
    "name",
    "external_ref",
    "business_unit",
    "owner",
    "executive_sponsor",
    "contact_email",
    "problem",
    "benefits",
    "outputs",
    "stage",
    "topic_area",
    "techniques",
    "development_method",
    "involves_pii",
    "data_description",
    "demographic_features",
    "omb_impact",
    "annual_cost",
    "expected_annual_benefit",
    "people_affected",
    "date_initiated",
    "date_implemented",
    "date_retired",
    "distinct_justification",
    "visibility",
    "extra",
)
PROJECT_M2M_FIELDS: tuple[str, ...] = ("tools", "capabilities")
# A change to one of these (purpose, data, tools) sends an approved project back to review.
MATERIAL_FIELDS = frozenset(
    {
        "name",
        "problem",
        "benefits",
        "outputs",
        "involves_pii",
        "data_description",
        "demographic_features",
        "tools",
    }
)
PROJECT_AUDITED_FIELDS: tuple[str, ...] = (
    *PROJECT_FIELDS,
    *PROJECT_M2M_FIELDS,
    "source",
    "risk_tier",
    "review_status",
    "archived_at",
)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise PermissionDenied(message)


def _clean_list(value: Iterable[str], choices: Iterable[str], field: str) -> list[str]:
    allowed = set(choices)
    items = list(dict.fromkeys(str(v) for v in value))
    unknown = [v for v in items if v not in allowed]
    if unknown:
        raise ValidationError({field: f"Unknown value(s): {', '.join(unknown)}."})
    return items


def _apply_project_data(project: Project, data: Mapping[str, Any]) -> None:
    unknown = set(data) - set(PROJECT_FIELDS) - set(PROJECT_M2M_FIELDS)
    if unknown:
        raise ValidationError({name: "This field cannot be set here." for name in sorted(unknown)})
    for name in PROJECT_FIELDS:
        if name in data:
            setattr(project, name, data[name])
    if "techniques" in data:
        project.techniques = _clean_list(
            data["techniques"] or [], Project.Technique.values, "techniques"
        )
    if isinstance(project.contact_email, str):
        project.contact_email = project.contact_email.strip()
    project.refresh_search_text()


def _clean_project(project: Project) -> None:
    """`full_clean()` with the same errors, minus the round trips of the check constraints.

    Django validates every model constraint with its own query in its own savepoint (three
    statements each). Each of the project's check constraints restates a field rule that
    `clean_fields` already applies in Python (non-negative amounts, a name, a known stage) or
    a value only the services set (the version), and a field that fails its rule is left out of
    the constraint checks anyway; so only the unique constraints, which need the table, are
    validated here. The database still enforces every constraint.
    """
    errors: dict[str, Any] = {}
    try:
        project.full_clean(validate_constraints=False)
    except ValidationError as exc:
        errors = exc.update_error_dict(errors)
    exclude = {name for name in errors if name != NON_FIELD_ERRORS}
    using = router.db_for_write(Project, instance=project)
    for constraint in Project._meta.constraints:
        if not isinstance(constraint, models.UniqueConstraint):
            continue
        try:
            constraint.validate(Project, project, exclude=exclude, using=using)
        except ValidationError as exc:  # as Model.validate_constraints files them
            if getattr(exc, "code", None) == "unique" and len(constraint.fields) == 1:
                errors.setdefault(constraint.fields[0], []).append(exc)
            else:
                errors = exc.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)


def _set_m2m(project: Project, data: Mapping[str, Any]) -> None:
    for name in PROJECT_M2M_FIELDS:
        if name in data:
            getattr(project, name).set(list(data[name] or []))


@transaction.atomic
def project_register(
    *, actor: Actor, data: Mapping[str, Any], source: str = Project.Source.REGISTERED
) -> Project:
    """Create a project in a unit the actor may edit."""
    project = Project(source=source)
    _apply_project_data(project, data)
    if project.business_unit_id is None:
        raise ValidationError({"business_unit": "This field is required."})
    _require(
        roles.can_edit_in_unit(actor, project.business_unit_id),  # type: ignore[arg-type]
        "You may register projects only for your own business units.",
    )
    _clean_project(project)
    project.save()
    _set_m2m(project, data)
    audit.record(
        actor=actor,
        action="project.registered",
        target=project,
        changes=audit.diff({}, audit.snapshot(project, PROJECT_AUDITED_FIELDS)),
        business_unit=project.business_unit_id,
    )
    # Webhooks (governance.notifications) by task name: portfolio never imports governance.
    task_queue.enqueue("governance.dispatch_event", "project.registered", project.pk)
    return project


def _lock_for_write(*, project_id: int, expected_version: int | None) -> Project:
    """Claim the version the caller read; raises if missing or stale. Atomic on every database."""
    if expected_version is None:
        raise VersionRequired(
            "Send the version you read: the project's ETag in an If-Match header (API), or the "
            "form's version field."
        )
    claimed = Project.objects.filter(pk=project_id, version=expected_version).update(
        version=F("version") + 1, updated_at=timezone.now()
    )
    project = Project.objects.select_for_update().get(pk=project_id)
    if not claimed:
        raise StaleVersion(project.version)
    return project


@transaction.atomic
def project_update(
    *, actor: Actor, project: Project, expected_version: int | None, data: Mapping[str, Any]
) -> Project:
    """Change a project the actor may edit, provided nobody changed it since they read it."""
    _require(
        roles.can_edit_project(actor, project),  # type: ignore[arg-type]
        "You may edit projects only of your own business units.",
    )
    if "business_unit" in data and data["business_unit"] is not None:
        target = data["business_unit"]
        target_id = target.pk if isinstance(target, BusinessUnit) else target
        _require(
            roles.can_edit_in_unit(actor, target_id),  # type: ignore[arg-type]
            "You may move projects only into business units you can edit.",
        )
    locked = _lock_for_write(project_id=project.pk, expected_version=expected_version)
    before = audit.snapshot(locked, PROJECT_AUDITED_FIELDS)
    _apply_project_data(locked, data)
    _clean_project(locked)
    locked.save()
    _set_m2m(locked, data)
    changes = audit.diff(before, audit.snapshot(locked, PROJECT_AUDITED_FIELDS))
    if MATERIAL_FIELDS & changes.keys() and locked.review_status in (
        Project.ReviewStatus.APPROVED,
        Project.ReviewStatus.APPROVED_WITH_CONDITIONS,
    ):
        changed = Project.ReviewStatus.CHANGES_SINCE_APPROVAL
        changes["review_status"] = {"before": locked.review_status, "after": changed.value}
        locked.review_status = changed
        locked.save(update_fields=["review_status"])
    audit.record(
        actor=actor,
        action="project.updated",
        target=locked,
        changes=changes,
        business_unit=locked.business_unit_id,
    )
    task_queue.enqueue("governance.dispatch_event", "project.updated", locked.pk, locked.version)
    return locked


def _set_archived(
    *, actor: Actor, project: Project, expected_version: int | None, archived: bool
) -> Project:
    _require(
        roles.can_edit_project(actor, project),  # type: ignore[arg-type]
        "You may archive projects only of your own business units.",
    )
    locked = _lock_for_write(project_id=project.pk, expected_version=expected_version)
    before = audit.snapshot(locked, ("archived_at",))
    locked.archived_at = timezone.now() if archived else None
    locked.save(update_fields=["archived_at", "updated_at"])
    audit.record(
        actor=actor,
        action="project.archived" if archived else "project.restored",
        target=locked,
        changes=audit.diff(before, audit.snapshot(locked, ("archived_at",))),
        business_unit=locked.business_unit_id,
    )
    return locked


@transaction.atomic
def project_archive(*, actor: Actor, project: Project, expected_version: int | None) -> Project:
    """Soft-delete: the project leaves lists and metrics but stays restorable and audited."""
    return _set_archived(
        actor=actor, project=project, expected_version=expected_version, archived=True
    )


@transaction.atomic
def project_restore(*, actor: Actor, project: Project, expected_version: int | None) -> Project:
    return _set_archived(
        actor=actor, project=project, expected_version=expected_version, archived=False
    )


# --- Catalogue: units, goals, tools, capabilities, alignments ------------------------------------


def _create_audited(
    *, actor: Actor, instance: models.Model, fields: Iterable[str], action: str
) -> models.Model:
    instance.full_clean()
    instance.save()
    audit.record(
        actor=actor,
        action=action,
        target=instance,
        changes=audit.diff({}, audit.snapshot(instance, fields)),
    )
    return instance


def _update_audited(
    *,
    actor: Actor,
    instance: models.Model,
    data: Mapping[str, Any],
    fields: tuple[str, ...],
    action: str,
) -> models.Model:
    unknown = set(data) - set(fields)
    if unknown:
        raise ValidationError({name: "This field cannot be set here." for name in sorted(unknown)})
    before = audit.snapshot(instance, fields)
    m2m = {}
    for name, value in data.items():
        if instance._meta.get_field(name).many_to_many:
            m2m[name] = value
        else:
            setattr(instance, name, value)
    instance.full_clean()
    instance.save()
    for name, value in m2m.items():
        getattr(instance, name).set(list(value or []))
    audit.record(
        actor=actor,
        action=action,
        target=instance,
        changes=audit.diff(before, audit.snapshot(instance, fields)),
    )
    return instance


UNIT_FIELDS = ("name", "code", "parent")


def _check_unit_parent(unit: BusinessUnit) -> None:
    if unit.pk is None or unit.parent_id is None:
        return
    if unit.parent_id in roles.descendant_ids([unit.pk]):
        raise ValidationError({"parent": "A unit cannot sit below itself or its own sub-unit."})


@transaction.atomic
def business_unit_create(*, actor: Actor, data: Mapping[str, Any]) -> BusinessUnit:
    _require(roles.can_manage_catalogue(actor), "Only reviewers and admins manage units.")  # type: ignore[arg-type]
    unit = BusinessUnit(**{k: v for k, v in data.items() if k in UNIT_FIELDS})
    _create_audited(actor=actor, instance=unit, fields=UNIT_FIELDS, action="unit.created")
    return unit


@transaction.atomic
def business_unit_update(
    *, actor: Actor, unit: BusinessUnit, data: Mapping[str, Any]
) -> BusinessUnit:
    _require(roles.can_manage_catalogue(actor), "Only reviewers and admins manage units.")  # type: ignore[arg-type]
    for name in ("parent",):
        if name in data:
            unit.parent = data[name]
    _check_unit_parent(unit)
    _update_audited(
        actor=actor, instance=unit, data=data, fields=UNIT_FIELDS, action="unit.updated"
    )
    return unit


@transaction.atomic
def membership_set(
    *, actor: Actor, user: User, business_unit: BusinessUnit, role: str
) -> Membership:
    _require(roles.is_admin(actor), "Only admins manage memberships.")  # type: ignore[arg-type]
    membership, created = Membership.objects.get_or_create(
        user=user, business_unit=business_unit, defaults={"role": role}
    )
    before = {} if created else {"role": membership.role}
    membership.role = role
    membership.full_clean()
    membership.save()
    audit.record(
        actor=actor,
        action="membership.set",
        target=membership,
        changes=audit.diff(before, {"role": role, "user": user.pk}),
        business_unit=business_unit,
    )
    return membership


GOAL_FIELDS = ("title", "description", "parent", "owner", "period_start", "period_end", "active")


@transaction.atomic
def goal_create(*, actor: Actor, data: Mapping[str, Any]) -> StrategicGoal:
    _require(roles.can_manage_catalogue(actor), "Only reviewers and admins manage goals.")  # type: ignore[arg-type]
    goal = StrategicGoal(**{k: v for k, v in data.items() if k in GOAL_FIELDS})
    _create_audited(actor=actor, instance=goal, fields=GOAL_FIELDS, action="goal.created")
    return goal


@transaction.atomic
def goal_update(*, actor: Actor, goal: StrategicGoal, data: Mapping[str, Any]) -> StrategicGoal:
    _require(roles.can_manage_catalogue(actor), "Only reviewers and admins manage goals.")  # type: ignore[arg-type]
    _update_audited(
        actor=actor, instance=goal, data=data, fields=GOAL_FIELDS, action="goal.updated"
    )
    return goal


TOOL_FIELDS = ("name", "vendor", "aliases", "sanction_status", "description", "capabilities")


def _clean_aliases(data: Mapping[str, Any]) -> dict[str, Any]:
    cleaned = dict(data)
    if "aliases" in cleaned:
        aliases = cleaned["aliases"] or []
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise ValidationError({"aliases": "A list of names is expected."})
        cleaned["aliases"] = sorted({a.strip() for a in aliases if a.strip()}, key=str.lower)
    return cleaned


@transaction.atomic
def tool_create(*, actor: Actor, data: Mapping[str, Any]) -> Tool:
    _require(roles.can_manage_catalogue(actor), "Only reviewers and admins manage tools.")  # type: ignore[arg-type]
    cleaned = _clean_aliases(data)
    capabilities = cleaned.pop("capabilities", None)
    tool = Tool(**{k: v for k, v in cleaned.items() if k in TOOL_FIELDS})
    tool.full_clean()
    tool.save()
    if capabilities:
        tool.capabilities.set(capabilities)
    audit.record(
        actor=actor,
        action="tool.created",
        target=tool,
        changes=audit.diff({}, audit.snapshot(tool, TOOL_FIELDS)),
    )
    return tool


@transaction.atomic
def tool_update(*, actor: Actor, tool: Tool, data: Mapping[str, Any]) -> Tool:
    _require(roles.can_manage_catalogue(actor), "Only reviewers and admins manage tools.")  # type: ignore[arg-type]
    _update_audited(
        actor=actor,
        instance=tool,
        data=_clean_aliases(data),
        fields=TOOL_FIELDS,
        action="tool.updated",
    )
    return tool


CAPABILITY_FIELDS = ("name", "slug", "description", "parent")


@transaction.atomic
def capability_create(*, actor: Actor, data: Mapping[str, Any]) -> Capability:
    _require(roles.can_manage_catalogue(actor), "Only reviewers and admins manage capabilities.")  # type: ignore[arg-type]
    fields = {k: v for k, v in data.items() if k in CAPABILITY_FIELDS}
    fields.setdefault("slug", slugify(str(fields.get("name", "")))[:255])
    capability = Capability(**fields)
    _create_audited(
        actor=actor, instance=capability, fields=CAPABILITY_FIELDS, action="capability.created"
    )
    return capability


@transaction.atomic
def capability_update(
    *, actor: Actor, capability: Capability, data: Mapping[str, Any]
) -> Capability:
    _require(roles.can_manage_catalogue(actor), "Only reviewers and admins manage capabilities.")  # type: ignore[arg-type]
    _update_audited(
        actor=actor,
        instance=capability,
        data=data,
        fields=CAPABILITY_FIELDS,
        action="capability.updated",
    )
    return capability


ALIGNMENT_FIELDS = ("project", "goal", "strength", "status", "rationale")


def _check_alignment_rights(actor: Actor, project: Project) -> None:
    _require(
        roles.can_edit_project(actor, project),  # type: ignore[arg-type]
        "You may align only projects you can edit.",
    )


@transaction.atomic
def alignment_create(*, actor: Actor, data: Mapping[str, Any]) -> GoalAlignment:
    project = data.get("project")
    if not isinstance(project, Project):
        raise ValidationError({"project": "This field is required."})
    _check_alignment_rights(actor, project)
    alignment = GoalAlignment(**{k: v for k, v in data.items() if k in ALIGNMENT_FIELDS})
    if GoalAlignment.objects.filter(project=project, goal=alignment.goal_id).exists():
        raise ValidationError({"goal": "This project is already aligned to this goal."})
    alignment.full_clean()
    alignment.save()
    audit.record(
        actor=actor,
        action="alignment.created",
        target=alignment,
        changes=audit.diff({}, audit.snapshot(alignment, ALIGNMENT_FIELDS)),
        business_unit=project.business_unit_id,
    )
    return alignment


@transaction.atomic
def alignment_update(
    *, actor: Actor, alignment: GoalAlignment, data: Mapping[str, Any]
) -> GoalAlignment:
    _check_alignment_rights(actor, alignment.project)
    if "project" in data and data["project"] != alignment.project:
        raise ValidationError({"project": "An alignment cannot move to another project."})
    data = {k: v for k, v in data.items() if k != "project"}
    before = audit.snapshot(alignment, ALIGNMENT_FIELDS)
    for name, value in data.items():
        if name not in ALIGNMENT_FIELDS:
            raise ValidationError({name: "This field cannot be set here."})
        setattr(alignment, name, value)
    alignment.full_clean()
    alignment.save()
    audit.record(
        actor=actor,
        action="alignment.updated",
        target=alignment,
        changes=audit.diff(before, audit.snapshot(alignment, ALIGNMENT_FIELDS)),
        business_unit=alignment.project.business_unit_id,
    )
    return alignment


@transaction.atomic
def alignment_delete(*, actor: Actor, alignment: GoalAlignment) -> None:
    _check_alignment_rights(actor, alignment.project)
    audit.record_deletion(
        actor=actor,
        action="alignment.deleted",
        target=alignment,
        fields=ALIGNMENT_FIELDS,
        business_unit=alignment.project.business_unit_id,
    )


def alignment_decide(*, actor: Actor, alignment: GoalAlignment, decision: str) -> None:
    """A lead's decision on an alignment from the project's page: `confirmed` or `rejected`
    (a suggestion), `removed` (deletes it). A rejected suggestion stays rejected: the metrics
    never suggest it again."""
    _check_alignment_rights(actor, alignment.project)
    if decision == "removed":
        alignment_delete(actor=actor, alignment=alignment)
        return
    if decision not in (GoalAlignment.Status.CONFIRMED, GoalAlignment.Status.REJECTED):
        raise ValidationError({"decision": "Choose confirm, reject or remove."})
    alignment_update(actor=actor, alignment=alignment, data={"status": decision})


@transaction.atomic
def alignment_confirm_goal(*, actor: Actor, project: Project, goal: StrategicGoal) -> GoalAlignment:
    """Confirm that the project serves `goal`: a new confirmed alignment, or the existing one
    (suggested or rejected before) confirmed."""
    _check_alignment_rights(actor, project)
    if not goal.active:
        raise ValidationError({"goal": "This goal is no longer active."})
    existing = GoalAlignment.objects.filter(project=project, goal=goal).first()
    if existing is not None:
        return alignment_update(
            actor=actor, alignment=existing, data={"status": GoalAlignment.Status.CONFIRMED}
        )
    return alignment_create(
        actor=actor,
        data={
            "project": project,
            "goal": goal,
            "status": GoalAlignment.Status.CONFIRMED,
            "rationale": "Confirmed on the project's page.",
        },
    )


# --- Background imports --------------------------------------------------------------------------

IMPORT_SUFFIXES = {".csv", ".xlsx"}
XLSX_MAGIC = b"PK\x03\x04"


def _check_upload(*, name: str, content: bytes, max_bytes: int) -> None:
    suffix = Path(name).suffix.lower()
    if suffix not in IMPORT_SUFFIXES:
        raise ValidationError({"file": "Upload a .csv or .xlsx file."})
    if not content:
        raise ValidationError({"file": "The file is empty."})
    if len(content) > max_bytes:
        raise ValidationError({"file": f"The file is larger than {max_bytes // (1024 * 1024)} MB."})
    if suffix == ".xlsx" and not content.startswith(XLSX_MAGIC):
        raise ValidationError({"file": "This is not an Excel (.xlsx) workbook."})
    if (
        suffix == ".csv"
        and b"\x00" in content[:4096]
        and not content.startswith((b"\xff\xfe", b"\xfe\xff"))
    ):
        raise ValidationError({"file": "This is not a text (CSV) file."})


@transaction.atomic
def import_job_create(
    *,
    actor: Actor,
    name: str,
    content: bytes,
    fmt: str,
    skip_invalid: bool = False,
    dry_run: bool = False,
) -> ImportJob:
    """Accept an uploaded inventory and queue its import; reviewers and admins only."""
    from portfolio.importers import FORMATS

    _require(roles.can_manage_catalogue(actor), "Only reviewers and admins import inventories.")  # type: ignore[arg-type]
    if fmt not in FORMATS:
        raise ValidationError({"format": f"Unknown format; choose one of {', '.join(FORMATS)}."})
    max_bytes = settings.MAESTRO_MAX_UPLOAD_MB * 1024 * 1024
    _check_upload(name=name, content=content, max_bytes=max_bytes)
    job = ImportJob.objects.create(
        created_by=roles.signed_in_user(actor),
        format=fmt,
        original_name=Path(name).name[:255],
        content=content,
        skip_invalid=skip_invalid,
        dry_run=dry_run,
    )
    audit.record(
        actor=actor,
        action="import.queued",
        target=job,
        changes={"format": fmt, "file": job.original_name, "bytes": len(content)},
    )
    task_queue.enqueue("portfolio.run_import_job", job.pk)
    return job


def import_job_run(*, job_id: int) -> str:
    """Run a queued import (idempotent: a finished job is not run again)."""
    from portfolio.importers import ImportFormatError, run_import

    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.status in {ImportJob.Status.SUCCEEDED, ImportJob.Status.REJECTED}:
            return job.status
        job.status = ImportJob.Status.RUNNING
        job.started_at = timezone.now()
        job.processed_rows = 0
        job.save(update_fields=["status", "started_at", "processed_rows"])
        content = bytes(job.content)

    def progress(done: int, total: int) -> None:
        ImportJob.objects.filter(pk=job_id).update(processed_rows=done, total_rows=total)

    suffix = Path(job.original_name).suffix.lower() or ".csv"
    with tempfile.TemporaryDirectory(prefix="maestro-import-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(content)
        try:
            report = run_import(
                path=path,
                fmt=job.format,
                actor=job.created_by,
                dry_run=job.dry_run,
                skip_invalid=job.skip_invalid,
                progress=progress,
            )
        except ImportFormatError as exc:
            ImportJob.objects.filter(pk=job_id).update(
                status=ImportJob.Status.FAILED, error=str(exc), finished_at=timezone.now()
            )
            return ImportJob.Status.FAILED
    status = (
        ImportJob.Status.SUCCEEDED
        if report.written or report.dry_run
        else (ImportJob.Status.REJECTED)
    )
    ImportJob.objects.filter(pk=job_id).update(
        status=status,
        finished_at=timezone.now(),
        report={
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "rejected": report.rejected,
            "dry_run": report.dry_run,
            "written": report.written,
            "errors": [{"row": e.row, "reason": e.reason} for e in report.errors[:1000]],
        },
    )
    return status
