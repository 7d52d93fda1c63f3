"""Backups that restore on any supported database, with a manifest of row counts and checksums.

A backup is one gzip file of JSON lines (a header per table, then its rows with exact values:
full-precision times, decimals as text, binary as base64), streamed both ways, plus a manifest
`<file>.manifest.json` listing, for every table, its row count and an order-independent checksum
of its rows. Restoring loads the file into an empty, migrated database and compares the restored
tables with the manifest.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.apps import apps
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models.sql import InsertQuery

# Rebuilt by migrations or transient: not part of a backup.
EXCLUDED = {
    "contenttypes.contenttype",
    "auth.permission",
    "sessions.session",
    "admin.logentry",
    "axes.accessattempt",
    "axes.accesslog",
    "axes.accessfailurelog",
}


def backed_up_models() -> list[Any]:
    return [
        model
        for model in apps.get_models(include_auto_created=False)
        if model._meta.label_lower not in EXCLUDED and model._meta.managed
    ]


def _tables() -> list[str]:
    tables: list[str] = []
    for model in backed_up_models():
        tables.append(model._meta.db_table)
        for field in model._meta.local_many_to_many:
            through = field.remote_field.through
            if through._meta.auto_created:
                tables.append(through._meta.db_table)
    return sorted(set(tables))


def _normalise(value: Any) -> Any:
    if isinstance(value, memoryview | bytes):
        return hashlib.sha256(bytes(value)).hexdigest()
    if isinstance(value, str) and value[:1] in "[{":
        try:  # JSON columns come back as text on SQLite and parsed on PostgreSQL
            return json.dumps(json.loads(value), sort_keys=True)
        except ValueError:
            return value
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, float):
        return repr(round(value, 9))
    if hasattr(value, "isoformat"):
        text = value.isoformat()
        return text.replace("+00:00", "")
    return str(value) if value is not None else None


def table_checksums() -> dict[str, dict[str, Any]]:
    """{table: {"rows": n, "checksum": hex}} for every backed-up table (order-independent)."""
    result: dict[str, dict[str, Any]] = {}
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in _tables():
            # Table names come from the models, never from input.
            cursor.execute(f"SELECT * FROM {quote(table)}")  # noqa: S608  # nosec B608
            columns = [c[0] for c in cursor.description]
            total = 0
            rows = 0
            while batch := cursor.fetchmany(5000):
                for row in batch:
                    data = {col: _normalise(val) for col, val in zip(columns, row, strict=True)}
                    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).digest()
                    total = (total + int.from_bytes(digest[:16], "big")) % (1 << 128)
                    rows += 1
            result[table] = {"rows": rows, "checksum": f"{total:032x}"}
    return result


@dataclass(frozen=True)
class RestoreCheck:
    table: str
    expected_rows: int
    actual_rows: int
    checksum_matches: bool

    @property
    def ok(self) -> bool:
        return self.expected_rows == self.actual_rows and self.checksum_matches


def _encode(value: Any) -> Any:
    if isinstance(value, memoryview | bytes):
        return {"$b64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return value


def _decode(field: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, dict) and set(value) == {"$b64"}:
        return base64.b64decode(value["$b64"])
    if isinstance(field, models.JSONField):
        return value
    if isinstance(field, models.DurationField):
        return dt.timedelta(seconds=value)
    return field.to_python(value)


def _backup_models() -> list[Any]:
    """Every backed-up model, auto-created many-to-many tables included, parents first."""
    chosen = backed_up_models()
    through = [
        field.remote_field.through
        for model in chosen
        for field in model._meta.local_many_to_many
        if field.remote_field.through._meta.auto_created
    ]
    return [*chosen, *through]


def backup_write(path: Path) -> Path:
    """Write the backup (JSON lines, exact values) and its manifest; returns the manifest path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with transaction.atomic(), gzip.open(path, "wt", encoding="utf-8") as stream:
        for model in _backup_models():
            fields = [f.attname for f in model._meta.concrete_fields]
            stream.write(json.dumps({"model": model._meta.label_lower, "fields": fields}) + "\n")
            rows = model._base_manager.order_by("pk").values_list(*fields)
            for row in rows.iterator(chunk_size=2000):
                stream.write(json.dumps([_encode(v) for v in row]) + "\n")
        manifest = {"tables": table_checksums(), "vendor": connection.vendor}
    manifest_path = path.with_name(path.name + ".manifest.json")
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    return manifest_path


def _insert_raw(model: Any, fields: list[Any], rows: list[list[Any]]) -> None:
    """Insert rows exactly as given (no auto_now, no defaults), as a raw model save does."""
    if not rows:
        return
    objs = []
    for row in rows:
        obj = model()
        for field, value in zip(fields, row, strict=True):
            setattr(obj, field.attname, _decode(field, value))
        objs.append(obj)
    query = InsertQuery(model)
    query.insert_values(fields, objs, raw=True)
    query.get_compiler(using=connection.alias).execute_sql(returning_fields=None)


def database_is_empty() -> bool:
    from portfolio.models import AuditEvent, BusinessUnit, Project

    return not (
        Project.objects.exists() or BusinessUnit.objects.exists() or AuditEvent.objects.exists()
    )


def backup_restore(path: Path) -> list[RestoreCheck]:
    """Load a backup into this (empty, migrated) database and compare it with its manifest."""
    manifest_path = path.with_name(path.name + ".manifest.json")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    with transaction.atomic(), gzip.open(path, "rt", encoding="utf-8") as stream:
        # Migrations seed some tables (default groups, control catalogues); the backup carries
        # those rows with their ids, so every backed-up table is emptied first.
        _empty_tables()
        model: Any = None
        fields: list[Any] = []
        batch: list[list[Any]] = []
        for line in stream:
            item = json.loads(line)
            if isinstance(item, dict):
                _insert_raw(model, fields, batch)
                batch = []
                model = apps.get_model(item["model"])
                by_attname = {f.attname: f for f in model._meta.concrete_fields}
                fields = [by_attname[name] for name in item["fields"]]
                continue
            batch.append(item)
            if len(batch) >= 1000:
                _insert_raw(model, fields, batch)
                batch = []
        _insert_raw(model, fields, batch)
    _reset_sequences()
    actual = table_checksums()
    return [
        RestoreCheck(
            table=table,
            expected_rows=expected["rows"],
            actual_rows=actual.get(table, {}).get("rows", 0),
            checksum_matches=actual.get(table, {}).get("checksum") == expected["checksum"],
        )
        for table, expected in sorted(manifest["tables"].items())
    ]


def _empty_tables() -> None:
    quote = connection.ops.quote_name
    with connection.constraint_checks_disabled(), connection.cursor() as cursor:
        for model in reversed(_backup_models()):
            cursor.execute(f"DELETE FROM {quote(model._meta.db_table)}")  # noqa: S608  # nosec B608


def _reset_sequences() -> None:
    statements = connection.ops.sequence_reset_sql(no_style(), _backup_models())
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
