"""The 2025 federal list of commercial AI use (`omb-2025-cots`): tool adoptions, not projects.

Columns: Agency, AI Use Case (one of 20 standard tasks), Agency Use (Y/N)?, Name of Commercial
Product or Service Used (free text, may list several products), Estimated # of Licenses/Users.

Every row with use = Y becomes one `ToolAdoption` per product it names, keyed by (business unit,
canonical tool, task). Rows with use N or blank are skipped, as are Y rows naming no product
("N/A", "Various", blank). Product names are normalised to canonical tools with the same catalogue
as the project importers (existing names and aliases, then the seed table of `tool_names`); a
product nobody knows becomes a new tool, sanction status `unreviewed`.

The agency becomes a business unit: an existing unit whose name matches case- and
space-insensitively, else the unit whose code the agency-code table below gives (through
`mapping.agency_code`, so code aliases apply), else a new top-level unit with that code, or, for
agencies the table does not know, a code derived from the name (`COTS-<SLUG>`).

The report counts adoptions: created, updated (the licence band or spelling changed), unchanged;
rejected counts rows that cannot be read (use not Y/N, no agency or task).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.utils import timezone
from django.utils.text import slugify

from portfolio import audit
from portfolio.importers import files, mapping
from portfolio.importers.report import ImportFormatError, ImportReport, RowError
from portfolio.importers.rows import InventoryFormat, ParsedRow, RowInvalid
from portfolio.importers.tool_names import split_tool_names
from portfolio.models import AuditEvent, BusinessUnit, ToolAdoption
from portfolio.observability import current_request_id

FORMAT = "omb-2025-cots"
AGENCY = "Agency"
TASK = "AI Use Case"
USE = "Agency Use (Y/N)?"
PRODUCT = "Name of Commercial Product or Service Used"
LICENSES = "Estimated # of Licenses/Users"
COLUMNS = (AGENCY, TASK, USE, PRODUCT, LICENSES)

# Agency names of the COTS list → the agency codes of the 2023/2024 inventories (or the usual
# abbreviation). Names are compared with `mapping.key` (case and spacing do not matter).
AGENCY_CODES: dict[str, str] = {
    mapping.key(name): code
    for name, code in (
        ("Board of Governors of the Federal Reserve System", "FRB"),
        ("Federal Reserve Board of Governors", "FRB"),
        (
            "Committee for Purchase From People Who Are Blind or Significantly Disabled",
            "ABILITYONE",
        ),
        ("Court Services and Offender Supervision Agency", "CSOSA"),
        ("Department of Agriculture", "USDA"),
        ("Department of Commerce", "DOC"),
        ("Department of Education", "ED"),
        ("Department of Energy", "DOE"),
        ("Department of Health and Human Services", "HHS"),
        ("Department of Homeland Security", "DHS"),
        ("Department of Housing and Urban Development", "HUD"),
        ("Department of Justice", "DOJ"),
        ("Department of Labor", "DOL"),
        ("Department of State", "STATE"),
        ("Department of Transportation", "DOT"),
        ("Department of the Treasury", "TREAS"),
        ("Department of Treasury", "TREAS"),
        ("Department of Veterans Affairs", "VA"),
        ("Department of Veteran Affairs-OIG", "VA-OIG"),
        ("Department of the Interior", "DOI"),
        ("Election Assistance Commission", "EAC"),
        ("United States Election Assistance Commission", "EAC"),
        ("Environmental Protection Agency", "EPA"),
        ("Export-Import Bank of the U.S.", "EXIM"),
        ("Farm Credit Administration", "FCA"),
        ("Federal Communications Commission", "FCC"),
        ("Federal Deposit Insurance Corporation", "FDIC"),
        ("Federal Energy Regulatory Commission", "FERC"),
        ("Federal Housing Finance Agency", "FHFA"),
        ("Federal Labor Relations Authority", "FLRA"),
        ("Federal Trade Commission", "FTC"),
        ("General Services Administration", "GSA"),
        ("Morris K. Udall and Stewart L. Udall Foundation", "UDALL"),
        ("National Aeronautics and Space Administration", "NASA"),
        ("National Credit Union Administration", "NCUA"),
        ("National Endowment for the Humanities", "NEH"),
        ("National Endowment of the Arts", "NEA"),
        ("National Endowment for the Arts", "NEA"),
        ("National Indian Gaming Commission", "NIGC"),
        ("National Labor Relations Board", "NLRB"),
        ("National Transportation Safety Board", "NTSB"),
        ("Occupational Safety and Health Review Commission", "OSHRC"),
        ("Office of Personnel Management", "OPM"),
        ("Pension Benefit Guaranty Corporation", "PBGC"),
        ("Securities and Exchange Commission", "SEC"),
        ("Small Business Administration", "SBA"),
        ("Surface Transportation Board", "STB"),
        ("Tennessee Valley Authority", "TVA"),
        ("United States International Trade Commission", "USITC"),
        ("United States Office of Special Counsel", "OSC"),
        ("United States Trade and Development Agency", "USTDA"),
    )
}

Progress = Callable[[int, int], None]


class Omb2025CotsFormat(InventoryFormat):
    """Header handling only: rows become adoptions in `cots_import`, not projects."""

    name = FORMAT
    family = "omb-cots"
    columns = COLUMNS
    required = (AGENCY, TASK, USE, PRODUCT)

    def parse(self, cells: dict[str, str], row: int) -> ParsedRow:  # pragma: no cover
        raise NotImplementedError("omb-2025-cots rows are tool adoptions; see cots_import")


def derived_unit_code(name: str) -> str:
    """The code of a new unit for an agency the table does not know."""
    return f"COTS-{slugify(mapping.collapse(name)).upper()}"[: mapping.UNIT_CODE_MAX]


@dataclass(frozen=True)
class _Row:
    number: int
    agency: str
    task: str
    products: tuple[str, ...]
    licenses: str


def _read(cells: dict[str, str], number: int) -> _Row | None:
    """The adoption facts of one row; None when the row is to be skipped."""
    use = mapping.key(cells.get(USE))
    if use in mapping.BLANK_KEYS or use in mapping.NO:
        return None
    if use not in mapping.YES:
        raise RowInvalid(f"{USE} must be Y or N, not '{mapping.collapse(cells.get(USE))}'")
    agency = mapping.collapse(cells.get(AGENCY))
    task = mapping.collapse(cells.get(TASK))
    missing = [column for column, value in ((AGENCY, agency), (TASK, task)) if not value]
    if missing:
        raise RowInvalid(f"{' and '.join(missing)} missing")
    products = tuple(
        mapping.collapse(p) for p in split_tool_names(cells.get(PRODUCT, "")) if mapping.collapse(p)
    )
    if not products:
        return None
    return _Row(
        number=number,
        agency=agency[: mapping.UNIT_NAME_MAX],
        task=task[:500],
        products=products,
        licenses=mapping.collapse(cells.get(LICENSES))[:64],
    )


class _Units:
    """Agency name → business unit, as described in the module docstring (creates on demand)."""

    def __init__(self, *, dry_run: bool) -> None:
        self.dry_run = dry_run
        self.created = 0
        units = list(BusinessUnit.objects.values_list("id", "code", "name"))
        self.by_code = {code: pk for pk, code, _ in units}
        self.by_name: dict[str, int] = {}
        for pk, _, name in units:
            self.by_name.setdefault(mapping.key(name), pk)
        self._placeholder = 0

    def get(self, agency: str) -> int:
        name_key = mapping.key(agency)
        if name_key in self.by_name:
            return self.by_name[name_key]
        code = AGENCY_CODES.get(name_key)
        code = mapping.agency_code(code) if code else derived_unit_code(agency)
        if code in self.by_code:
            pk = self.by_code[code]
        else:
            self.created += 1
            if self.dry_run:
                self._placeholder -= 1
                pk = self._placeholder
            else:
                pk = BusinessUnit.objects.create(code=code, name=agency).pk
            self.by_code[code] = pk
        self.by_name[name_key] = pk
        return pk


def cots_import(
    *,
    path: Path,
    actor: Any = None,
    dry_run: bool = False,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import the COTS list as tool adoptions (runs inside `inventory_import`'s transaction)."""
    from portfolio.importers.service import Catalogue  # the service imports this module

    parser = Omb2025CotsFormat()
    source = files.inspect(Path(path), fmt=FORMAT)
    report = ImportReport(format=FORMAT, dry_run=dry_run)
    rows: list[_Row] = []
    with files.open_rows(source) as (header, records):
        try:
            names = parser.resolve_header(header)
        except ImportFormatError as exc:
            raise ImportFormatError(f"{source.label}: {exc}") from None
        for number, cells in records:
            try:
                row = _read(dict(zip(names, cells, strict=False)), number)
            except RowInvalid as exc:
                report.errors.append(RowError(row=number, reason=str(exc)))
                continue
            if row is not None:
                rows.append(row)
    report.rejected = len(report.errors)
    if report.errors and not skip_invalid and not dry_run:
        return report

    catalogue = Catalogue()
    units = _Units(dry_run=dry_run)
    # (unit id, tool entry, task) → (licence band, raw spelling); the first row naming it wins.
    wanted: dict[tuple[int, Any, str], tuple[str, str]] = {}
    for done, row in enumerate(rows, start=1):
        unit_id = units.get(row.agency)
        for product in row.products:
            entry = catalogue.tool(product)
            if entry is not None:
                wanted.setdefault((unit_id, entry, row.task), (row.licenses, product[:500]))
        if progress is not None and done % 500 == 0:
            progress(done, len(rows))
    report.units_created = units.created
    report.tools_created = len(catalogue.tools_new())
    if not dry_run:
        catalogue.write()

    existing = {
        (a.business_unit_id, a.tool_id, a.task): a
        for a in ToolAdoption.objects.filter(source=FORMAT).only(
            "id", "business_unit_id", "tool_id", "task", "estimated_users", "raw_name"
        )
    }
    to_create: list[ToolAdoption] = []
    to_update: list[ToolAdoption] = []
    now = timezone.now()
    for (unit_id, entry, task), (licenses, raw) in wanted.items():
        current = existing.get((unit_id, entry.id, task))
        if current is None:
            to_create.append(
                ToolAdoption(
                    business_unit_id=unit_id,
                    tool_id=entry.id,
                    task=task,
                    estimated_users=licenses,
                    raw_name=raw,
                    source=FORMAT,
                )
            )
        elif (current.estimated_users, current.raw_name) != (licenses, raw):
            current.estimated_users, current.raw_name = licenses, raw
            current.updated_at = now
            to_update.append(current)
        else:
            report.unchanged += 1
    report.created, report.updated = len(to_create), len(to_update)
    if not dry_run:
        ToolAdoption.objects.bulk_create(to_create, batch_size=1000, ignore_conflicts=True)
        ToolAdoption.objects.bulk_update(
            to_update, ["estimated_users", "raw_name", "updated_at"], batch_size=500
        )
        if to_create or to_update:
            event = AuditEvent(
                actor=actor if actor is not None and actor.is_authenticated else None,
                actor_label=audit.actor_label(actor),
                action="tool_adoption.imported",
                target_type=ToolAdoption._meta.label_lower,
                target_id=FORMAT,
                target_repr=f"{FORMAT} import of {Path(path).name}"[:500],
                changes={
                    "created": report.created,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                    "units_created": report.units_created,
                    "tools_created": report.tools_created,
                },
                request_id=current_request_id(),
            )
            event.save()
        report.written = True
    if progress is not None:
        progress(len(rows), len(rows))
    return report
