"""Maestro's own template (`maestro-csv`, also as .xlsx): one column per Project field.

The template is what `export_inventory --format maestro-csv` writes, so an export imports back
field for field. Rules (docs/importing.md has the full table):

- Only the columns present in the header are touched; a present but blank cell clears the field
  (text, dates, numbers, lists), except stage, source, visibility and review status, where blank
  means "the default" for a new project and "unchanged" for an existing one.
- Choice columns take the code (`production`) or the label (`Production`), in any case.
- Lists are `;`-separated (techniques also take `,`).
- Free-text cells are taken as written (no trimming), so that a round trip is exact.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from portfolio.importers import mapping
from portfolio.importers.omb2025 import valid_email
from portfolio.importers.rows import (
    ARCHIVE_KEEP,
    ARCHIVE_UNSET,
    EXTERNAL_REF_MAX,
    NAME_MAX,
    InventoryFormat,
    ParsedRow,
    RowInvalid,
    UnitSpec,
)
from portfolio.models import Project

COLUMNS: tuple[str, ...] = (
    "external_ref",
    "import_key",
    "name",
    "business_unit_code",
    "business_unit_name",
    "parent_unit_code",
    "parent_unit_name",
    "owner",
    "executive_sponsor",
    "contact_email",
    "problem",
    "benefits",
    "outputs",
    "stage",
    "topic_area",
    "techniques",
    "capabilities",
    "tools",
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
    "source",
    "visibility",
    "risk_tier",
    "review_status",
    "distinct_justification",
    "archived",
    "extra",
)
TEXT_COLUMNS = ("problem", "benefits", "outputs", "data_description", "distinct_justification")
# Choice columns: (choices, blank means "default for new projects, unchanged otherwise").
CHOICE_COLUMNS: dict[str, tuple[type[models.TextChoices], str | None]] = {
    "stage": (Project.Stage, Project.Stage.IDEA),
    "topic_area": (Project.TopicArea, None),
    "development_method": (Project.DevelopmentMethod, None),
    "omb_impact": (Project.OmbImpact, None),
    "source": (Project.Source, Project.Source.IMPORTED),
    "visibility": (Project.Visibility, Project.Visibility.ORGANISATION),
    "risk_tier": (Project.RiskTier, None),
    "review_status": (Project.ReviewStatus, Project.ReviewStatus.NOT_SUBMITTED),
}
MONEY_COLUMNS = ("annual_cost", "expected_annual_benefit")
DATE_COLUMNS = ("date_initiated", "date_implemented", "date_retired")
IMPORT_KEY_MAX = 64
MONEY_LIMIT = Decimal("1e12")  # DecimalField(max_digits=14, decimal_places=2)
PEOPLE_LIMIT = 2_147_483_647
_CENT = Decimal("0.01")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONEY_NOISE = re.compile(r"[\s,$€£]")
_TRUE = frozenset({"yes", "y", "true", "1"})
_FALSE = frozenset({"no", "n", "false", "0"})


def _choice_lookup(choices: type[models.TextChoices]) -> dict[str, str]:
    table = {mapping.key(label): code for code, label in choices.choices}
    table.update({mapping.key(code): code for code in choices.values})
    return table


_CHOICES = {column: _choice_lookup(choices) for column, (choices, _) in CHOICE_COLUMNS.items()}
_TECHNIQUES = _choice_lookup(Project.Technique)


def split_semicolons(value: str) -> list[str]:
    """`a; b;c` → ["a", "b", "c"] (newlines separate too); blanks and repeats dropped."""
    items = [mapping.collapse(part) for part in re.split(r"[;\n]", value)]
    return list(dict.fromkeys(item for item in items if item))


def parse_money(column: str, raw: str) -> Decimal | None:
    text = _MONEY_NOISE.sub("", raw)
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise RowInvalid(f"{column}: '{raw.strip()}' is not a number") from None
    if not value.is_finite():
        raise RowInvalid(f"{column}: '{raw.strip()}' is not a number")
    if value < 0:
        raise RowInvalid(f"{column}: '{raw.strip()}' must not be negative")
    value = value.quantize(_CENT, rounding=ROUND_HALF_UP)
    if value >= MONEY_LIMIT:
        raise RowInvalid(f"{column}: '{raw.strip()}' is too large")
    return value


def parse_people(raw: str) -> int | None:
    text = raw.strip().replace(",", "").replace(" ", "")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise RowInvalid(f"people_affected: '{raw.strip()}' is not a whole number") from None
    if not value.is_finite() or value != value.to_integral_value():
        raise RowInvalid(f"people_affected: '{raw.strip()}' is not a whole number")
    if value < 0:
        raise RowInvalid(f"people_affected: '{raw.strip()}' must not be negative")
    if value > PEOPLE_LIMIT:
        raise RowInvalid(f"people_affected: '{raw.strip()}' is too large")
    return int(value)


def parse_iso_date(column: str, raw: str) -> dt.date | None:
    text = raw.strip()
    if not text:
        return None
    if _ISO_DATE.match(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    raise RowInvalid(f"{column}: '{text}' is not a valid date (YYYY-MM-DD)")


def parse_archived(raw: str) -> str | dt.datetime | None:
    text = raw.strip()
    if not text or text.casefold() in _FALSE:
        return None
    if text.casefold() in _TRUE:
        return ARCHIVE_KEEP
    moment: dt.datetime | None = None
    try:
        moment = parse_datetime(text)
    except ValueError:
        moment = None
    if moment is None and _ISO_DATE.match(text):
        try:
            moment = dt.datetime.combine(dt.date.fromisoformat(text), dt.time(0))
        except ValueError:
            moment = None
    if moment is None:
        raise RowInvalid(f"archived: '{text}' is neither yes/no nor a date and time (ISO 8601)")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, dt.UTC)
    return moment.astimezone(dt.UTC)


def parse_extra(raw: str) -> dict[str, Any]:
    text = raw.strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        raise RowInvalid("extra: is not valid JSON") from None
    if not isinstance(value, dict):
        raise RowInvalid("extra: must be a JSON object ({...})")
    return value


class MaestroCsvFormat(InventoryFormat):
    name = "maestro-csv"
    family = "maestro"
    columns = COLUMNS
    required = ("name", "business_unit_code")
    exported_by_maestro = True

    def parse(self, cells: dict[str, str], row: int) -> ParsedRow:
        problems: list[str] = []

        def attempt(function: Any, *args: Any) -> Any:
            try:
                return function(*args)
            except RowInvalid as exc:
                problems.append(str(exc))
                return None

        name = cells.get("name", "")
        if not name.strip():
            problems.append("name is missing")
        elif len(name) > NAME_MAX:
            problems.append(f"name: longer than {NAME_MAX} characters")
        unit = attempt(self._unit, cells)
        fields: dict[str, Any] = {"name": name}
        create_only: dict[str, Any] = {}
        external_ref = import_key = None
        if "external_ref" in cells:
            external_ref = cells["external_ref"].strip()
            if len(external_ref) > EXTERNAL_REF_MAX:
                problems.append(f"external_ref: longer than {EXTERNAL_REF_MAX} characters")
        if "import_key" in cells:
            import_key = cells["import_key"].strip()
            if len(import_key) > IMPORT_KEY_MAX:
                problems.append(f"import_key: longer than {IMPORT_KEY_MAX} characters")
        for column in TEXT_COLUMNS:
            if column in cells:
                fields[column] = cells[column]
        if "contact_email" in cells:
            email = cells["contact_email"].strip()
            if email and not valid_email(email):
                problems.append(f"contact_email: '{email}' is not a valid e-mail address")
            fields["contact_email"] = email
        for column, (_, default) in CHOICE_COLUMNS.items():
            if column not in cells:
                continue
            raw = cells[column]
            if not raw.strip():
                if default is None:
                    fields[column] = ""
                else:
                    create_only[column] = default
                continue
            code = _CHOICES[column].get(mapping.key(raw))
            if code is None:
                noun = "stage" if column == "stage" else "value"
                problems.append(f"{column}: '{raw.strip()}' is not a known {noun}")
            else:
                fields[column] = code
        if "techniques" in cells:
            techniques: list[str] = []
            for item in re.split(r"[;,\n]", cells["techniques"]):
                if not item.strip():
                    continue
                code = _TECHNIQUES.get(mapping.key(item))
                if code is None:
                    problems.append(f"techniques: '{item.strip()}' is not a known technique")
                elif code not in techniques:
                    techniques.append(code)
            fields["techniques"] = techniques
        if "demographic_features" in cells:
            fields["demographic_features"] = split_semicolons(cells["demographic_features"])
        if "involves_pii" in cells:
            raw = cells["involves_pii"].strip().casefold()
            if raw in _TRUE:
                fields["involves_pii"] = True
            elif raw in _FALSE:
                fields["involves_pii"] = False
            elif not raw:
                fields["involves_pii"] = None
            else:
                problems.append(f"involves_pii: '{cells['involves_pii'].strip()}' is not yes or no")
        for column in MONEY_COLUMNS:
            if column in cells:
                fields[column] = attempt(parse_money, column, cells[column])
        if "people_affected" in cells:
            fields["people_affected"] = attempt(parse_people, cells["people_affected"])
        for column in DATE_COLUMNS:
            if column in cells:
                fields[column] = attempt(parse_iso_date, column, cells[column])
        archived = (
            attempt(parse_archived, cells["archived"]) if "archived" in cells else ARCHIVE_UNSET
        )
        unknown = {
            column: value
            for column, value in cells.items()
            if column and column not in COLUMNS and value.strip()
        }
        extra: dict[str, Any] = {}
        extra_replace = "extra" in cells
        if extra_replace:
            extra = attempt(parse_extra, cells["extra"]) or {}
        extra.update(unknown)
        if problems:
            raise RowInvalid("; ".join(problems))
        return ParsedRow(
            row=row,
            name=name,
            unit=unit,
            external_ref=external_ref,
            import_key=import_key,
            fields=fields,
            create_only=create_only,
            extra=extra,
            extra_owned=frozenset(unknown),
            extra_replace=extra_replace,
            tools=[(tool, "") for tool in split_semicolons(cells["tools"])]
            if "tools" in cells
            else [],
            tools_replace="tools" in cells,
            capabilities=split_semicolons(cells["capabilities"])
            if "capabilities" in cells
            else None,
            owner=cells["owner"].strip() if "owner" in cells else None,
            executive_sponsor=(
                cells["executive_sponsor"].strip() if "executive_sponsor" in cells else None
            ),
            archived=archived,
        )

    @staticmethod
    def _unit(cells: dict[str, str]) -> UnitSpec:
        code = cells.get("business_unit_code", "").strip()
        if not code:
            raise RowInvalid("business_unit_code is missing")
        if len(code) > mapping.UNIT_CODE_MAX:
            raise RowInvalid(f"business_unit_code: longer than {mapping.UNIT_CODE_MAX} characters")
        parent = None
        parent_code = cells.get("parent_unit_code", "").strip()
        if parent_code:
            if len(parent_code) > mapping.UNIT_CODE_MAX:
                raise RowInvalid(
                    f"parent_unit_code: longer than {mapping.UNIT_CODE_MAX} characters"
                )
            if parent_code == code:
                raise RowInvalid("parent_unit_code: a unit cannot be its own parent")
            parent = UnitSpec(
                code=parent_code,
                name=mapping.collapse(cells.get("parent_unit_name"))[: mapping.UNIT_NAME_MAX],
            )
        name = mapping.collapse(cells.get("business_unit_name"))[: mapping.UNIT_NAME_MAX]
        return UnitSpec(code=code, name=name, parent=parent)
