"""What every format turns a row into (`ParsedRow`), and what all formats share: headers, units."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from portfolio.importers import mapping
from portfolio.importers.report import ImportFormatError


class RowInvalid(Exception):
    """A row that cannot be imported; the message says why (one or more reasons, "; "-joined)."""


@dataclass(frozen=True)
class UnitSpec:
    """A business unit a row names: code, name (for creating it) and parent, if any."""

    code: str
    name: str = ""
    parent: UnitSpec | None = None


# `ParsedRow.archived` when the file says nothing about archiving.
ARCHIVE_UNSET = "unset"
# `ParsedRow.archived` for "yes": archived now, or keep the time it was archived.
ARCHIVE_KEEP = "keep"


@dataclass
class ParsedRow:
    """One row, validated and mapped; the write service matches and stores it.

    Only the model fields in `fields` are set; the others stay as they are on an existing project.
    `create_only` holds defaults applied to new projects only (a blank stage in maestro-csv).
    `extra` is merged into `Project.extra`: keys in `extra_owned` that the row does not carry are
    removed, other keys stay (`extra_replace` replaces the whole dict instead).
    Tools: raw names (with a vendor when the column holds vendors), plus the well-known products
    the `mention_texts` name; `tools_replace` sets the project's tools to exactly these,
    otherwise they are added to the project's tools.
    """

    row: int
    name: str
    unit: UnitSpec
    external_ref: str | None = None
    import_key: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    create_only: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    extra_owned: frozenset[str] = frozenset()
    extra_replace: bool = False
    tools: list[tuple[str, str]] = field(default_factory=list)
    mention_texts: tuple[str, ...] = ()
    tools_replace: bool = False
    capabilities: list[str] | None = None
    owner: str | None = None
    executive_sponsor: str | None = None
    archived: str | dt.datetime | None = ARCHIVE_UNSET


def header_key(text: str) -> str:
    """A header as compared: collapsed, case-folded, quotes unified, spaces and dashes as "_"."""
    return re.sub(r"[\s\-]+", "_", mapping.key(text.lstrip("\ufeff")))


class InventoryFormat:
    """A file format: its columns, which are required, and how a row maps onto a project."""

    name: str = ""
    family: str = ""  # the import-key namespace: editions of one family share project identities
    allow_cp1252: bool = False
    columns: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    # Columns whose cells were written by our exporter (a leading quote neutralises formulas).
    exported_by_maestro: bool = False

    def resolve_header(self, header: list[str]) -> list[str]:
        """The canonical column name of every header cell (unknown headers are kept as written).

        Raises ImportFormatError when required columns are missing or a column appears twice.
        """
        known = {header_key(column): column for column in self.columns}
        names = [known.get(header_key(cell), mapping.collapse(cell)) for cell in header]
        self.check_header(names)
        return names

    def check_header(self, names: list[str]) -> None:
        present = set(names)
        missing = [column for column in self.required if column not in present]
        if missing:
            raise ImportFormatError(
                f"not in the {self.name} format: missing required column(s) {', '.join(missing)}"
            )
        seen: set[str] = set()
        for name in names:
            if name and name in seen and name in self.columns:
                raise ImportFormatError(f"the column {name} appears twice in the header")
            seen.add(name)

    def parse(self, cells: dict[str, str], row: int) -> ParsedRow:
        raise NotImplementedError


def unknown_columns_extra(cells: dict[str, str], known: tuple[str, ...]) -> dict[str, str]:
    """Non-empty cells of columns the format does not know, kept under their header."""
    known_set = set(known)
    return {
        column: mapping.clean(value)
        for column, value in cells.items()
        if column and column not in known_set and mapping.clean(value)
    }


NAME_MAX = 500
EXTERNAL_REF_MAX = 100


def inventory_name(raw: str, column: str, extra: dict[str, Any]) -> str:
    """A use-case name from a federal file: collapsed; longer than 500 characters → cut at 500,
    the full text kept in `extra` under the column's name. Blank → RowInvalid."""
    name = mapping.collapse(raw)
    if not name:
        raise RowInvalid(f"{column}: the use case name is missing")
    if len(name) > NAME_MAX:
        extra[column] = name
        name = name[: NAME_MAX - 1].rstrip() + "…"
    return name


def inventory_external_ref(raw: str, column: str) -> str:
    ref = mapping.collapse(raw)
    if len(ref) > EXTERNAL_REF_MAX:
        raise RowInvalid(f"{column}: '{ref[:40]}…' is longer than {EXTERNAL_REF_MAX} characters")
    return ref


def agency_units(
    *, code_raw: str, name_raw: str, bureau_raw: str, code_column: str
) -> tuple[UnitSpec, UnitSpec]:
    """(agency unit, unit the project sits on) for a federal row; bureaus are agency children."""
    code = mapping.agency_code(code_raw)
    if not code:
        raise RowInvalid(f"{code_column}: the agency abbreviation is missing")
    if len(code) > mapping.UNIT_CODE_MAX:
        raise RowInvalid(f"{code_column}: '{code[:40]}…' is too long for a unit code")
    agency_name = mapping.collapse(name_raw)[: mapping.UNIT_NAME_MAX] or code
    agency = UnitSpec(code=code, name=agency_name)
    bureau = mapping.collapse(bureau_raw)
    if mapping.bureau_is_agency(bureau, agency_name, code):
        return agency, agency
    child = UnitSpec(
        code=mapping.bureau_code(code, bureau),
        name=bureau[: mapping.UNIT_NAME_MAX],
        parent=agency,
    )
    return agency, child


def keep_raw(extra: dict[str, Any], column: str, raw: str, exact: bool) -> None:
    """Keep a mapped cell's raw text in `extra` when the mapping lost something."""
    text = mapping.clean(raw)
    if not exact and text:
        extra[column] = text


def set_date(
    fields: dict[str, Any], extra: dict[str, Any], field_name: str, column: str, raw: str
) -> None:
    value, exact = mapping.parse_inventory_date(raw)
    fields[field_name] = value
    keep_raw(extra, column, raw, exact)
