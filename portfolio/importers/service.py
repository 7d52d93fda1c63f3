"""The import service: validate a whole inventory file, then write it in bulk, in one transaction.

Two passes over the file, one row in memory at a time:

1. **Validate.** Every row is parsed and checked; business units, tools, users and capabilities the
   rows name are resolved against what the database holds (loaded once) or staged as new; each
   row's identity is matched against the existing projects (one query). Invalid rows are
   collected as `RowError`s. What is kept per valid row is small: its unit code, import key and
   the id of the project it matches.
2. **Write** (skipped when rows are invalid and `skip_invalid` is off). New units, tools, users
   and capabilities are created first, in bulk; then the rows are read again in chunks: the
   matched projects of a chunk are loaded in one query, each row is compared with its project,
   new projects are `bulk_create`d, changed ones `bulk_update`d (version + 1), tool and
   capability links inserted in bulk, and one AuditEvent per created or updated project
   (`project.imported` / `project.updated`, with the diff) is bulk-created. Unchanged rows
   write nothing. A dry run does the same comparison and writes nothing.

Row identity: (business unit, external reference) when the row has one (2023 `Use_Case_ID`, 2025
`id`, maestro-csv `external_ref`); otherwise, for the federal formats, an import key: the SHA-1 of
(format family, unit code, normalised name, occurrence of that name in that unit within the file),
stored in `Project.import_key`. Maestro-csv rows carry their `import_key` column; rows with neither
are matched on (unit, name, occurrence) among projects that have neither.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import pickle  # nosec B403 # only our own temporary spool file (_Spool)
import re
import tempfile
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, transaction
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.text import slugify

from portfolio import audit
from portfolio.importers import files, mapping
from portfolio.importers.maestro_csv import MaestroCsvFormat
from portfolio.importers.omb2023 import Omb2023Format
from portfolio.importers.omb2024 import Omb2024Format
from portfolio.importers.omb2025 import Omb2025Format, valid_email
from portfolio.importers.report import ImportFormatError, ImportReport, RowError
from portfolio.importers.rows import (
    ARCHIVE_KEEP,
    ARCHIVE_UNSET,
    InventoryFormat,
    ParsedRow,
    RowInvalid,
    UnitSpec,
)
from portfolio.importers.tool_names import (
    SEED_BY_KEY,
    SeedTool,
    mentioned_tools,
    normalise_tool_name,
    seed_keys,
)
from portfolio.models import AuditEvent, BusinessUnit, Capability, Project, Tool
from portfolio.services import PROJECT_AUDITED_FIELDS

Actor = AbstractBaseUser | AnonymousUser | None
Progress = Callable[[int, int], None]

PARSERS: dict[str, InventoryFormat] = {
    parser.name: parser
    for parser in (Omb2023Format(), Omb2024Format(), Omb2025Format(), MaestroCsvFormat())
}

CHUNK_SIZE = 2000
CREATE_BATCH = 1000
UPDATE_BATCH = 500
PROGRESS_EVERY = 500
AUDITED_FIELDS: tuple[str, ...] = (*PROJECT_AUDITED_FIELDS, "import_key")
M2M_FIELDS = frozenset({"tools", "capabilities"})
# A leading quote the exporter put before these (exporters.neutralise) is taken off again.
UNQUOTED_PREFIXES = frozenset({"=", "+", "-", "@", "\t", "\r", "'"})
_USERNAME = re.compile(r"^[\w.@+-]+\Z")
USERNAME_MAX = 150


# Formats whose rows are not projects (the COTS list): fmt → import function, same arguments.
ADOPTION_IMPORTERS: dict[str, Callable[..., ImportReport]] = {}


def register_format(parser: InventoryFormat) -> None:
    """Make another format importable (its name must also be listed in `FORMATS`)."""
    PARSERS[parser.name] = parser


def unneutralise(cell: str) -> str:
    """Undo the exporter's formula neutralisation: "'=x" → "=x" (see exporters.neutralise)."""
    if len(cell) > 1 and cell[0] == "'" and cell[1] in UNQUOTED_PREFIXES:
        return cell[1:]
    return cell


# --- Catalogue: units, tools, users and capabilities, existing and staged -------------------------


@dataclass(eq=False)
class UnitEntry:
    id: int
    code: str
    name: str
    parent_code: str | None = None
    new: bool = False


@dataclass(eq=False)
class ToolEntry:
    id: int
    name: str
    vendor: str = ""
    aliases: list[str] = field(default_factory=list)
    new: bool = False
    aliases_changed: bool = False


@dataclass(eq=False)
class NamedEntry:
    """A user (name = username) or a capability (name, slug) known to or staged by the import."""

    id: int
    name: str
    extra: str = ""  # e-mail of a new user, slug of a new capability
    new: bool = False


class Catalogue:
    """What projects point at. New entries get negative placeholder ids until `write()`.

    Changes made while checking a row are journalled, so that a row found invalid later leaves
    nothing behind (`begin()` / `commit()` / `rollback()`).
    """

    def __init__(self) -> None:
        self._placeholders = itertools.count(-1, -1)
        self._journal: list[Callable[[], object]] = []
        self.units: dict[str, UnitEntry] = {
            code: UnitEntry(id=pk, code=code, name=name)
            for pk, code, name in BusinessUnit.objects.values_list("id", "code", "name")
        }
        self.tools_by_key: dict[str, ToolEntry] = {}
        self.tools_by_name: dict[str, ToolEntry] = {}
        for pk, name, vendor, aliases in Tool.objects.values_list(
            "id", "name", "vendor", "aliases"
        ):
            entry = ToolEntry(id=pk, name=name, vendor=vendor, aliases=list(aliases or []))
            self.tools_by_name[name] = entry
            for spelling in (name, *entry.aliases):
                self.tools_by_key.setdefault(normalise_tool_name(str(spelling)), entry)
        self._users: dict[str, dict[str, NamedEntry]] | None = None
        self._capabilities: dict[str, NamedEntry] | None = None
        self._capability_slugs: set[str] = set()

    # journal
    def begin(self) -> None:
        self._journal.clear()

    def commit(self) -> None:
        self._journal.clear()

    def rollback(self) -> None:
        while self._journal:
            self._journal.pop()()

    def _placeholder(self) -> int:
        return next(self._placeholders)

    # units
    def unit(self, spec: UnitSpec) -> UnitEntry:
        """The unit a row names: known, staged earlier, or staged now from its name."""
        entry = self.units.get(spec.code)
        if entry is not None:
            if entry.new and entry.parent_code is None and spec.parent is not None:
                parent = self.unit(spec.parent)
                if not self._is_below(parent, entry):
                    entry.parent_code = parent.code
                    self._journal.append(lambda: setattr(entry, "parent_code", None))
            return entry
        if not spec.name:
            raise RowInvalid(f"unknown business unit code '{spec.code}'")
        parent_entry = None
        if spec.parent is not None:
            if spec.parent.code not in self.units and not spec.parent.name:
                raise RowInvalid(f"unknown parent unit code '{spec.parent.code}'")
            parent_entry = self.unit(spec.parent)
        entry = UnitEntry(
            id=self._placeholder(),
            code=spec.code,
            name=spec.name,
            parent_code=parent_entry.code if parent_entry else None,
            new=True,
        )
        self.units[spec.code] = entry
        self._journal.append(lambda: self.units.pop(spec.code, None))
        return entry

    def _is_below(self, candidate: UnitEntry, unit: UnitEntry) -> bool:
        """Is `candidate` the staged `unit` itself or one of its staged descendants?"""
        seen: set[str] = set()
        current: UnitEntry | None = candidate
        while current is not None and current.code not in seen:
            if current.code == unit.code:
                return True
            seen.add(current.code)
            current = self.units.get(current.parent_code) if current.parent_code else None
        return False

    # tools
    def tool(self, raw: str, vendor: str = "") -> ToolEntry | None:
        """The Tool a raw name stands for: an existing tool's name or alias, then the seed table,
        else a new tool; the raw spelling becomes an alias of the tool it matched."""
        key = normalise_tool_name(raw)
        if not key:
            return None
        entry = self.tools_by_key.get(key)
        if entry is not None:
            return entry
        seed = SEED_BY_KEY.get(key)
        if seed is not None:
            entry = self._seed_entry(seed)
        else:
            entry = self._new_tool(name=mapping.collapse(raw)[:255], vendor=vendor)
        self._index_tool(key, entry)
        if key != normalise_tool_name(entry.name):
            spelling = mapping.collapse(raw)
            entry.aliases.append(spelling)
            was_changed = entry.aliases_changed
            entry.aliases_changed = True

            def undo() -> None:
                entry.aliases.remove(spelling)
                entry.aliases_changed = was_changed

            self._journal.append(undo)
        return entry

    def seed_tool(self, seed: SeedTool) -> ToolEntry:
        return self._seed_entry(seed)

    def _seed_entry(self, seed: SeedTool) -> ToolEntry:
        for key in seed_keys(seed):
            if key in self.tools_by_key:
                return self.tools_by_key[key]
        entry = self._new_tool(name=seed.name, vendor=seed.vendor)
        self._index_tool(normalise_tool_name(seed.name), entry)
        return entry

    def _new_tool(self, *, name: str, vendor: str) -> ToolEntry:
        entry = ToolEntry(
            id=self._placeholder(), name=name, vendor=mapping.collapse(vendor)[:255], new=True
        )
        self.tools_by_name[name] = entry
        self._journal.append(lambda: self.tools_by_name.pop(name, None))
        return entry

    def _index_tool(self, key: str, entry: ToolEntry) -> None:
        if key not in self.tools_by_key:
            self.tools_by_key[key] = entry
            self._journal.append(lambda: self.tools_by_key.pop(key, None))

    # users
    def user(self, identifier: str, column: str) -> int | None:
        """A user id from a username or e-mail address; unknown ones are staged as new users."""
        if not identifier:
            return None
        users = self._load_users()
        folded = identifier.casefold()
        for table, lookup in (
            (users["exact"], identifier),
            (users["username"], folded),
            (users["email"], folded),
        ):
            if lookup in table:
                return table[lookup].id
        if len(identifier) > USERNAME_MAX or not _USERNAME.match(identifier):
            raise RowInvalid(
                f"{column}: '{identifier}' is neither a known username nor an e-mail address"
            )
        entry = NamedEntry(
            id=self._placeholder(),
            name=identifier,
            extra=identifier if "@" in identifier and valid_email(identifier) else "",
            new=True,
        )
        users["exact"][identifier] = users["username"][folded] = entry

        def undo() -> None:
            users["exact"].pop(identifier, None)
            users["username"].pop(folded, None)

        self._journal.append(undo)
        return entry.id

    def _load_users(self) -> dict[str, dict[str, NamedEntry]]:
        if self._users is None:
            exact: dict[str, NamedEntry] = {}
            by_username: dict[str, NamedEntry] = {}
            by_email: dict[str, NamedEntry] = {}
            rows = get_user_model().objects.order_by("id").values_list("id", "username", "email")
            for pk, username, email in rows:
                entry = NamedEntry(id=pk, name=username)
                exact[username] = entry
                by_username.setdefault(username.casefold(), entry)
                if email:
                    by_email.setdefault(email.casefold(), entry)
            self._users = {"exact": exact, "username": by_username, "email": by_email}
        return self._users

    def users_new(self) -> list[NamedEntry]:
        if self._users is None:
            return []
        return [entry for entry in self._users["exact"].values() if entry.new]

    # capabilities
    def capability(self, name: str) -> NamedEntry:
        capabilities = self._load_capabilities()
        folded = name.casefold()
        if folded in capabilities:
            return capabilities[folded]
        if len(name) > 255:
            raise RowInvalid(f"capabilities: '{name[:40]}…' is longer than 255 characters")
        base = slugify(name)[:240] or "capability"
        slug, number = base, 1
        while slug in self._capability_slugs:
            number += 1
            slug = f"{base}-{number}"
        entry = NamedEntry(id=self._placeholder(), name=name, extra=slug, new=True)
        capabilities[folded] = entry
        self._capability_slugs.add(slug)

        def undo() -> None:
            capabilities.pop(folded, None)
            self._capability_slugs.discard(slug)

        self._journal.append(undo)
        return entry

    def _load_capabilities(self) -> dict[str, NamedEntry]:
        if self._capabilities is None:
            self._capabilities = {}
            for pk, name, slug in Capability.objects.values_list("id", "name", "slug"):
                self._capabilities.setdefault(name.casefold(), NamedEntry(id=pk, name=name))
                self._capability_slugs.add(slug)
        return self._capabilities

    def capabilities_new(self) -> list[NamedEntry]:
        return [e for e in (self._capabilities or {}).values() if e.new]

    # counts and writing
    def units_new(self) -> list[UnitEntry]:
        return [entry for entry in self.units.values() if entry.new]

    def tools_new(self) -> list[ToolEntry]:
        return [entry for entry in self.tools_by_name.values() if entry.new]

    def write(self) -> None:
        """Create the staged entries in bulk and give them their real ids."""
        pending = self.units_new()
        depth: dict[str, int] = {}

        def depth_of(entry: UnitEntry) -> int:
            if entry.code not in depth:
                parent = self.units.get(entry.parent_code) if entry.parent_code else None
                depth[entry.code] = 0 if parent is None or not parent.new else depth_of(parent) + 1
            return depth[entry.code]

        for _, level in itertools.groupby(sorted(pending, key=depth_of), key=depth_of):
            entries = list(level)
            created = BusinessUnit.objects.bulk_create(
                [
                    BusinessUnit(
                        code=e.code,
                        name=e.name,
                        parent_id=self.units[e.parent_code].id if e.parent_code else None,
                    )
                    for e in entries
                ],
                batch_size=CREATE_BATCH,
            )
            for entry, unit in zip(entries, created, strict=True):
                entry.id, entry.new = unit.pk, False

        users = self.users_new()
        if users:
            user_model = get_user_model()
            created_users = user_model.objects.bulk_create(
                [
                    user_model(
                        username=e.name,
                        email=e.extra,
                        is_active=False,
                        password=make_password(None),
                    )
                    for e in users
                ],
                batch_size=CREATE_BATCH,
            )
            for user_entry, user in zip(users, created_users, strict=True):
                user_entry.id, user_entry.new = user.pk, False

        capabilities = self.capabilities_new()
        created_capabilities = Capability.objects.bulk_create(
            [Capability(name=e.name, slug=e.extra) for e in capabilities], batch_size=CREATE_BATCH
        )
        for capability_entry, capability in zip(capabilities, created_capabilities, strict=True):
            capability_entry.id, capability_entry.new = capability.pk, False

        tools = self.tools_new()
        created_tools = Tool.objects.bulk_create(
            [
                Tool(
                    name=e.name,
                    vendor=e.vendor,
                    aliases=sorted(set(e.aliases), key=str.casefold),
                    sanction_status=Tool.SanctionStatus.UNREVIEWED,
                )
                for e in tools
            ],
            batch_size=CREATE_BATCH,
        )
        for tool_entry, tool in zip(tools, created_tools, strict=True):
            tool_entry.id, tool_entry.new, tool_entry.aliases_changed = tool.pk, False, False

        changed = [e for e in self.tools_by_name.values() if e.aliases_changed]
        if changed:
            now = timezone.now()
            Tool.objects.bulk_update(
                [
                    Tool(
                        pk=e.id,
                        aliases=sorted(set(e.aliases), key=str.casefold),
                        updated_at=now,
                    )
                    for e in changed
                ],
                ["aliases", "updated_at"],
                batch_size=UPDATE_BATCH,
            )
            for changed_entry in changed:
                changed_entry.aliases_changed = False


# --- Identities ----------------------------------------------------------------------------------


class ProjectIndex:
    """Existing projects by (unit id, external reference), by import key and (for maestro-csv) by
    (unit id, name) among projects that have neither; loaded once per run."""

    def __init__(self, *, natural: bool) -> None:
        self.by_ref: dict[tuple[int, str], int] = {}
        self.by_key: dict[str, int] = {}
        keyed = Project.objects.filter(~Q(external_ref="") | ~Q(import_key=""))
        for pk, unit_id, ref, key in keyed.values_list(
            "id", "business_unit_id", "external_ref", "import_key"
        ):
            if ref:
                self.by_ref[(unit_id, ref)] = pk
            if key:
                self.by_key[key] = pk
        self.by_name: dict[tuple[int, str], list[int]] = defaultdict(list)
        if natural:
            keyless = Project.objects.filter(external_ref="", import_key="").order_by("id")
            for pk, unit_id, name in keyless.values_list("id", "business_unit_id", "name"):
                self.by_name[(unit_id, mapping.key(name))].append(pk)


def import_key(family: str, unit_code: str, name: str, occurrence: int) -> str:
    """SHA-1 hex of (format family, unit code, normalised name, occurrence within the file)."""
    text = "\x1f".join((family, unit_code, mapping.key(name), str(occurrence)))
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class Plan:
    """What the validation pass keeps of a valid row for the write pass."""

    unit_code: str
    import_key: str | None  # the key to store (None: leave the project's key alone)
    project_id: int | None  # the existing project it matches
    tools: tuple[str, ...]  # canonical tool names it links


class Identities:
    """Matches rows to existing projects and rejects rows that would collide."""

    def __init__(self, parser: InventoryFormat) -> None:
        self.family = parser.family
        self.ref_column = {"omb-2023": "Use_Case_ID", "omb-2025": "id"}.get(
            parser.name, "external_ref"
        )
        self.index = ProjectIndex(natural=parser.family == "maestro")
        self.occurrences: Counter[tuple[str, str]] = Counter()
        self.file_refs: dict[tuple[str, str], int] = {}
        self.file_keys: dict[str, int] = {}
        self.claimed: dict[int, int] = {}

    def match(self, row: ParsedRow, unit: UnitEntry) -> tuple[str | None, int | None]:
        """(import key to store, matched project id); raises RowInvalid on a collision."""
        if self.family == "maestro":
            key_to_store, project_id = self._match_maestro(row, unit)
        else:
            key_to_store, project_id = self._match_inventory(row, unit)
        if project_id is not None and project_id in self.claimed:
            raise RowInvalid(
                f"matches the same project as row {self.claimed[project_id]} "
                "(same external reference or import key)"
            )
        return key_to_store, project_id

    def claim(self, row: ParsedRow, unit: UnitEntry, project_id: int | None) -> None:
        if project_id is not None:
            self.claimed[project_id] = row.row
        if row.external_ref:
            self.file_refs.setdefault((unit.code, row.external_ref), row.row)
        if self.family == "maestro" and row.import_key:
            self.file_keys.setdefault(row.import_key, row.row)

    def _check_ref_in_file(self, ref: str, unit: UnitEntry) -> None:
        first = self.file_refs.get((unit.code, ref))
        if first is not None:
            raise RowInvalid(
                f"{self.ref_column} '{ref}' appears twice for unit {unit.code} "
                f"(first on row {first})"
            )

    def _match_inventory(self, row: ParsedRow, unit: UnitEntry) -> tuple[str | None, int | None]:
        ref = row.external_ref or ""
        if ref:
            self._check_ref_in_file(ref, unit)
            return None, self.index.by_ref.get((unit.id, ref))
        name_key = (unit.code, mapping.key(row.name))
        occurrence = self.occurrences[name_key]
        self.occurrences[name_key] += 1
        key = import_key(self.family, unit.code, row.name, occurrence)
        return key, self.index.by_key.get(key)

    def _match_maestro(self, row: ParsedRow, unit: UnitEntry) -> tuple[str | None, int | None]:
        ref = row.external_ref or ""
        key = row.import_key or ""
        if ref:
            self._check_ref_in_file(ref, unit)
        if key and key in self.file_keys:
            raise RowInvalid(
                f"import_key '{key}' appears twice (first on row {self.file_keys[key]})"
            )
        by_ref = self.index.by_ref.get((unit.id, ref)) if ref else None
        by_key = self.index.by_key.get(key) if key else None
        if by_ref is not None and by_key is not None and by_ref != by_key:
            raise RowInvalid(
                f"external_ref '{ref}' and import_key '{key}' belong to two different projects"
            )
        project_id = by_ref if by_ref is not None else by_key
        if project_id is None and not ref and not key:
            name_key = (unit.code, mapping.key(row.name))
            occurrence = self.occurrences[name_key]
            self.occurrences[name_key] += 1
            candidates = self.index.by_name.get((unit.id, mapping.key(row.name)), [])
            if occurrence < len(candidates):
                project_id = candidates[occurrence]
        return row.import_key, project_id


# --- The run -------------------------------------------------------------------------------------


class _Spool:
    """Validated rows on disk between the two passes (pickled in chunks to a temporary file that
    only this process writes and reads), so that memory holds one chunk, not the file."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="maestro-import-")  # noqa: SIM115
        self._buffer: list[Any] = []

    def add(self, item: Any) -> None:
        self._buffer.append(item)
        if len(self._buffer) >= PROGRESS_EVERY:
            self._dump()

    def _dump(self) -> None:
        if self._buffer:
            pickle.dump(self._buffer, self._file, protocol=pickle.HIGHEST_PROTOCOL)
            self._buffer = []

    def chunks(self) -> Iterator[list[Any]]:
        self._dump()
        self._file.seek(0)
        while True:
            try:
                yield pickle.load(self._file)  # noqa: S301 # nosec B301 # our own temporary file
            except EOFError:
                return

    def close(self) -> None:
        self._buffer = []
        self._file.close()


@dataclass
class _Run:
    parser: InventoryFormat
    source: files.SourceFile
    actor: Actor
    dry_run: bool
    progress: Progress | None
    report: ImportReport
    catalogue: Catalogue = field(init=False)
    spool: _Spool = field(default_factory=lambda: _Spool())
    valid: int = 0
    header_columns: frozenset[str] = frozenset()
    total: int = 0

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """(row number, {column: cell}) for every non-blank data row."""
        with files.open_rows(self.source) as (header, records):
            try:
                names = self.parser.resolve_header(header)
            except ImportFormatError as exc:
                raise ImportFormatError(f"{self.source.label}: {exc}") from None
            self.header_columns = frozenset(name for name in names if name)
            width = len(names)
            unneutralise_cells = self.parser.exported_by_maestro
            for number, cells in records:
                if unneutralise_cells:
                    cells = [unneutralise(cell) for cell in cells]
                row = dict(zip(names, cells, strict=False))
                if len(cells) < width:
                    row.update((name, "") for name in names[len(cells) :])
                for position in range(width, len(cells)):
                    if cells[position].strip():
                        row[f"column_{position + 1}"] = cells[position]
                row.pop("", None)
                yield number, row

    def tick(self, done: int, total: int) -> None:
        if self.progress is not None and done % PROGRESS_EVERY == 0:
            self.progress(done, total)


def _validate(run: _Run) -> None:
    """Pass 1: parse and check every row, stage catalogue entries, match identities."""
    catalogue = run.catalogue
    identities = Identities(run.parser)
    maestro = run.parser.family == "maestro"
    for count, (number, cells) in enumerate(run.rows(), start=1):
        run.total = count
        run.tick(count, 0)
        catalogue.begin()
        try:
            row = run.parser.parse(cells, number)
            unit = catalogue.unit(row.unit)
            if maestro:
                for column in ("owner", "executive_sponsor"):
                    value = getattr(row, column)
                    if value:
                        catalogue.user(value, column)
                for capability in row.capabilities or ():
                    catalogue.capability(capability)
            key_to_store, project_id = identities.match(row, unit)
        except RowInvalid as exc:
            catalogue.rollback()
            run.report.errors.append(RowError(row=number, reason=str(exc)))
            continue
        tool_names: list[str] = []
        for raw, vendor in row.tools:
            entry = catalogue.tool(raw, vendor)
            if entry is not None and entry.name not in tool_names:
                tool_names.append(entry.name)
        for seed in mentioned_tools(*row.mention_texts):
            entry = catalogue.seed_tool(seed)
            if entry.name not in tool_names:
                tool_names.append(entry.name)
        catalogue.commit()
        identities.claim(row, unit, project_id)
        row.mention_texts = ()
        run.valid += 1
        run.spool.add(
            (
                row,
                Plan(
                    unit_code=unit.code,
                    import_key=key_to_store,
                    project_id=project_id,
                    tools=tuple(tool_names),
                ),
            )
        )
    run.report.rejected = len(run.report.errors)


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


_PROJECT_FIELDS = {field.name: field for field in Project._meta.concrete_fields}


def _snapshot(project: Project, tools: list[str], capabilities: list[str]) -> dict[str, Any]:
    """`audit.snapshot` of a project without queries: relations as ids, m2m as sorted names."""
    data: dict[str, Any] = {}
    for name in AUDITED_FIELDS:
        if name == "tools":
            data[name] = sorted(tools)
        elif name == "capabilities":
            data[name] = sorted(capabilities)
        else:
            model_field = _PROJECT_FIELDS[name]
            value = getattr(project, model_field.attname)
            data[name] = value if model_field.is_relation else _json_value(value)
    return data


@dataclass
class _Change:
    project: Project
    created: bool
    changes: dict[str, dict[str, Any]]
    tools: list[str]
    capabilities: list[str] | None
    old_tools: list[str]
    old_capabilities: list[str]


def _apply(run: _Run, row: ParsedRow, plan: Plan, project: Project | None) -> _Change:
    """The row's values on its project (a new one when unmatched), and the diff."""
    catalogue = run.catalogue
    created = project is None
    old_tools: list[str] = []
    old_capabilities: list[str] = []
    if project is None:
        project = Project(source=Project.Source.IMPORTED)
        before: dict[str, Any] = {}
    else:
        old_tools = [tool.name for tool in project.tools.all()]
        old_capabilities = [capability.name for capability in project.capabilities.all()]
        before = _snapshot(project, old_tools, old_capabilities)
    project.business_unit_id = catalogue.units[plan.unit_code].id
    for name, value in row.fields.items():
        setattr(project, name, value)
    if created:
        for name, value in row.create_only.items():
            setattr(project, name, value)
    if row.external_ref is not None and (row.external_ref or run.parser.family == "maestro"):
        project.external_ref = row.external_ref
    if plan.import_key is not None:
        project.import_key = plan.import_key
    if row.extra_replace:
        project.extra = dict(row.extra)
    else:
        owned = row.extra_owned | (run.header_columns if run.parser.family != "maestro" else set())
        current = project.extra if isinstance(project.extra, dict) else {}
        merged = {k: v for k, v in current.items() if k not in owned}
        merged.update(row.extra)
        project.extra = merged
    if row.owner is not None:
        project.owner_id = catalogue.user(row.owner, "owner")
    if row.executive_sponsor is not None:
        project.executive_sponsor_id = catalogue.user(row.executive_sponsor, "executive_sponsor")
    if row.archived != ARCHIVE_UNSET:
        if row.archived == ARCHIVE_KEEP:
            project.archived_at = project.archived_at or timezone.now()
        else:
            project.archived_at = row.archived if isinstance(row.archived, dt.datetime) else None
    if row.tools_replace:
        tools = list(plan.tools)
    elif plan.tools:
        tools = old_tools + [name for name in plan.tools if name not in old_tools]
    else:
        tools = old_tools
    capabilities = old_capabilities
    if row.capabilities is not None:
        capabilities = [catalogue.capability(name).name for name in row.capabilities]
    project.refresh_search_text()
    after = _snapshot(project, tools, capabilities)
    return _Change(
        project=project,
        created=created,
        changes=audit.diff(before, after),
        tools=tools,
        capabilities=capabilities if row.capabilities is not None else None,
        old_tools=old_tools,
        old_capabilities=old_capabilities,
    )


def _load_projects(ids: list[int], *, lock: bool) -> dict[int, Project]:
    if not ids:
        return {}
    queryset = Project.objects.filter(pk__in=ids).prefetch_related(
        Prefetch("tools", queryset=Tool.objects.only("id", "name")),
        Prefetch("capabilities", queryset=Capability.objects.only("id", "name")),
    )
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    return {project.pk: project for project in queryset}


def _write_pass(run: _Run) -> None:
    """Pass 2: compare each valid row with its project; write the differences (not in dry runs)."""
    run_id = uuid.uuid4().hex
    run.report.run_id = run_id
    done = 0
    chunk: list[tuple[ParsedRow, Plan]] = []

    def flush() -> None:
        projects = _load_projects(
            [plan.project_id for _, plan in chunk if plan.project_id is not None],
            lock=not run.dry_run,
        )
        changes = []
        for row, plan in chunk:
            project = projects.get(plan.project_id) if plan.project_id is not None else None
            if plan.project_id is not None and project is None:
                raise ImportFormatError(
                    f"row {row.row}: its project was deleted while the import ran; import again"
                )
            change = _apply(run, row, plan, project)
            if change.created:
                run.report.created += 1
                changes.append(change)
            elif change.changes:
                run.report.updated += 1
                changes.append(change)
            else:
                run.report.unchanged += 1
        if not run.dry_run and changes:
            _save(run, changes, run_id)
        chunk.clear()

    for items in run.spool.chunks():
        for item in items:
            chunk.append(item)
            done += 1
            run.tick(done, run.valid)
            if len(chunk) >= CHUNK_SIZE:
                flush()
    if chunk:
        flush()


def _save(run: _Run, changes: list[_Change], run_id: str) -> None:
    """Bulk writes for one chunk: projects, their tool and capability links, audit events."""
    catalogue = run.catalogue
    now = timezone.now()
    new = [change.project for change in changes if change.created]
    Project.objects.bulk_create(new, batch_size=CREATE_BATCH)
    updated = [change for change in changes if not change.created]
    if updated:
        fields: set[str] = {"version", "updated_at", "search_text"}
        for change in updated:
            change.project.version += 1
            change.project.updated_at = now
            fields.update(name for name in change.changes if name not in M2M_FIELDS)
        Project.objects.bulk_update(
            [change.project for change in updated], sorted(fields), batch_size=UPDATE_BATCH
        )
    tool_links, tool_unlinks, capability_links, capability_unlinks = [], Q(), [], Q()
    for change in changes:
        pk = change.project.pk
        tool_ids = {catalogue.tools_by_name[name].id for name in change.tools}
        old_tool_ids = {catalogue.tools_by_name[name].id for name in change.old_tools}
        tool_links += [(pk, tool_id) for tool_id in tool_ids - old_tool_ids]
        if old_tool_ids - tool_ids:
            tool_unlinks |= Q(project_id=pk, tool_id__in=old_tool_ids - tool_ids)
        if change.capabilities is not None:
            capability_ids = {catalogue.capability(name).id for name in change.capabilities}
            old_ids = {catalogue.capability(name).id for name in change.old_capabilities}
            capability_links += [(pk, cap_id) for cap_id in capability_ids - old_ids]
            if old_ids - capability_ids:
                capability_unlinks |= Q(project_id=pk, capability_id__in=old_ids - capability_ids)
    tool_through = Project.tools.through
    capability_through = Project.capabilities.through
    if tool_unlinks:
        tool_through.objects.filter(tool_unlinks).delete()
    if capability_unlinks:
        capability_through.objects.filter(capability_unlinks).delete()
    tool_through.objects.bulk_create(
        [tool_through(project_id=p, tool_id=t) for p, t in tool_links],
        batch_size=CREATE_BATCH,
        ignore_conflicts=True,
    )
    capability_through.objects.bulk_create(
        [capability_through(project_id=p, capability_id=c) for p, c in capability_links],
        batch_size=CREATE_BATCH,
        ignore_conflicts=True,
    )
    AuditEvent.objects.bulk_create(
        [
            audit.build_event(
                actor=run.actor,
                action="project.imported" if change.created else "project.updated",
                target=change.project,
                changes=change.changes,
                business_unit=change.project.business_unit_id,
                request_id=run_id,
            )
            for change in changes
        ],
        batch_size=CREATE_BATCH,
    )


@transaction.atomic
def inventory_import(
    *,
    path: Path,
    fmt: str,
    actor: Actor = None,
    dry_run: bool = False,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import an inventory file: every valid row becomes (or updates) exactly one project.

    Nothing is written when a row is invalid, unless `skip_invalid`; nothing at all in a dry run
    (the report then says what would happen to the valid rows). Raises ImportFormatError when the
    file cannot be imported at all. Callers check who may import (reviewers and admins).
    """
    if fmt in ADOPTION_IMPORTERS:
        return ADOPTION_IMPORTERS[fmt](
            path=path, actor=actor, dry_run=dry_run, skip_invalid=skip_invalid, progress=progress
        )
    parser = PARSERS.get(fmt)
    if parser is None:
        raise ImportFormatError(f"unknown format '{fmt}'; choose one of {', '.join(PARSERS)}")
    source = files.inspect(Path(path), fmt=fmt, allow_cp1252=parser.allow_cp1252)
    report = ImportReport(format=fmt, dry_run=dry_run)
    run = _Run(
        parser=parser,
        source=source,
        actor=actor,
        dry_run=dry_run,
        progress=progress,
        report=report,
    )
    with files.open_rows(source) as (header, _):
        try:
            parser.resolve_header(header)  # before any query: a wrong file touches nothing
        except ImportFormatError as exc:
            raise ImportFormatError(f"{source.label}: {exc}") from None
    run.catalogue = Catalogue()
    try:
        _validate(run)
    except BaseException:
        run.spool.close()
        raise
    if report.errors and not skip_invalid and not dry_run:
        run.spool.close()
        if progress is not None:
            progress(run.total, run.total)
        return report
    report.units_created = len(run.catalogue.units_new())
    report.tools_created = len(run.catalogue.tools_new())
    report.users_created = len(run.catalogue.users_new())
    report.capabilities_created = len(run.catalogue.capabilities_new())
    if not dry_run:
        run.catalogue.write()
    try:
        _write_pass(run)
    finally:
        run.spool.close()
    report.written = not dry_run
    if not dry_run and report.created + report.updated >= ANALYZE_AFTER_ROWS:
        # Fresh planner statistics right after a bulk load: without them PostgreSQL may pick
        # slow plans for list queries until autovacuum catches up (seconds per request).
        transaction.on_commit(_analyze_projects)
    if progress is not None:
        progress(run.valid, run.valid)
    return report


ANALYZE_AFTER_ROWS = 1000


def _analyze_projects() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (Project, Project.tools.through, Project.capabilities.through):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")  # nosec B608
