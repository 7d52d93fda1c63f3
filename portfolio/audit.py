"""The audit trail: the request or task id in effect, snapshots of objects and their diffs, and
the CSV export of events (streamed, formula cells neutralised)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models
from django.db.models import QuerySet

from portfolio import roles
from portfolio.models import AuditEvent, BusinessUnit
from portfolio.observability import current_request_id


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    return value


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """A JSON-ready dict of the named fields; many-to-many fields become sorted name lists."""
    data: dict[str, Any] = {}
    for name in fields:
        field = instance._meta.get_field(name)
        if field.many_to_many:
            data[name] = (
                sorted(str(obj) for obj in getattr(instance, name).all()) if instance.pk else []
            )
        elif isinstance(field, models.ForeignObjectRel):
            raise ValueError(f"{name!r} is a reverse relation: snapshot the other model's field")
        elif field.is_relation:
            data[name] = getattr(instance, field.attname)
        else:
            data[name] = _json_value(getattr(instance, name))
    return data


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Fields whose value changed, as {field: {"before": old, "after": new}}."""
    keys = list(dict.fromkeys([*before.keys(), *after.keys()]))
    return {
        key: {"before": before.get(key), "after": after.get(key)}
        for key in keys
        if before.get(key) != after.get(key)
    }


def actor_label(actor: AbstractBaseUser | AnonymousUser | None) -> str:
    if actor is None or not actor.is_authenticated:
        return "system"
    return actor.get_username()


def concerned_project_id(target: models.Model) -> int | None:
    """The project an audited object belongs to: itself, its `project`, or its review's."""
    if target._meta.label_lower == "portfolio.project":
        return int(target.pk)
    project_id = getattr(target, "project_id", None)
    if project_id is None and getattr(target, "review_id", None) is not None:
        project_id = getattr(getattr(target, "review", None), "project_id", None)
    return int(project_id) if project_id is not None else None


def build_event(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    target: models.Model,
    changes: Mapping[str, Any],
    business_unit: BusinessUnit | int | None = None,
    request_id: str | None = None,
) -> AuditEvent:
    """An unsaved AuditEvent (for bulk writers); `record` saves one."""
    unit_id = business_unit.pk if isinstance(business_unit, BusinessUnit) else business_unit
    return AuditEvent(
        actor=roles.signed_in_user(actor),
        actor_label=actor_label(actor),
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        target_repr=str(target)[:500],
        business_unit_id=unit_id,
        project_id=concerned_project_id(target),
        changes=dict(changes),
        request_id=request_id if request_id is not None else current_request_id(),
    )


def record(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    target: models.Model,
    changes: Mapping[str, Any],
    business_unit: BusinessUnit | int | None = None,
) -> AuditEvent:
    """Write one audit event; call it inside the service's transaction."""
    event = build_event(
        actor=actor, action=action, target=target, changes=changes, business_unit=business_unit
    )
    event.save()
    return event


def record_deletion(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    target: models.Model,
    fields: Iterable[str],
    business_unit: BusinessUnit | int | None = None,
) -> AuditEvent:
    """Delete `target`, keeping what it was (its `fields`, before → nothing) in one event."""
    event = record(
        actor=actor,
        action=action,
        target=target,
        changes=diff(snapshot(target, fields), {}),
        business_unit=business_unit,
    )
    target.delete()
    return event


# --- Export --------------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    "time",
    "actor",
    "actor_id",
    "action",
    "target_type",
    "target_id",
    "target",
    "business_unit",
    "project_id",
    "request_id",
    "changes",
)
EXPORT_CHUNK = 2000  # rows read per query
EXPORT_STREAM_ROWS = 200  # rows per text chunk handed to the HTTP response
EXPORTED_ACTION = "audit.exported"


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def export_rows(events: QuerySet[AuditEvent]) -> Iterator[list[str]]:
    """The header, then one row per event in the queryset's order; every cell neutralised
    against spreadsheet formulas (`exporters.neutralise`), `changes` as compact JSON."""
    from portfolio.exporters import neutralise

    yield list(EXPORT_COLUMNS)
    rows = events.select_related("business_unit").iterator(chunk_size=EXPORT_CHUNK)
    for event in rows:
        unit = event.business_unit
        cells = [
            event.created_at.isoformat(),
            event.actor_label,
            _cell(event.actor_id),
            event.action,
            event.target_type,
            event.target_id,
            event.target_repr,
            unit.code if unit is not None else "",
            _cell(event.project_id),
            event.request_id,
            json.dumps(event.changes, sort_keys=True, ensure_ascii=False, default=str),
        ]
        yield [neutralise(cell) for cell in cells]


class _Echo:
    """A file-like object whose write returns what it was given (csv.writer into a generator)."""

    def write(self, value: str) -> str:
        return value


def stream_csv(events: QuerySet[AuditEvent]) -> Iterator[str]:
    """CSV text in chunks of rows, for a StreamingHttpResponse."""
    writer = csv.writer(_Echo())
    buffer: list[str] = []
    for row in export_rows(events):
        buffer.append(writer.writerow(row))
        if len(buffer) >= EXPORT_STREAM_ROWS:
            yield "".join(buffer)
            buffer = []
    if buffer:
        yield "".join(buffer)


def record_export(
    *, actor: AbstractBaseUser | AnonymousUser | None, filters: Mapping[str, Any]
) -> AuditEvent:
    """Exporting the trail is itself audited: who, when, with which filters."""
    return AuditEvent.objects.create(
        actor=roles.signed_in_user(actor),
        actor_label=actor_label(actor),
        action=EXPORTED_ACTION,
        target_type=AuditEvent._meta.label_lower,
        target_id="export",
        target_repr="Audit trail export",
        changes={"filters": dict(filters)},
        request_id=current_request_id(),
    )
