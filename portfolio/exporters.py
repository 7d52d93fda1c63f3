"""Projects out as CSV: Maestro's own template (`maestro-csv`) and the 2025 federal schema.

`maestro-csv` carries every project field, so that an export imports back field for field
(`import_inventory --format maestro-csv`). `omb-2025` fills the columns of the 2025 federal
inventory from what a project holds, and the columns Maestro has no field for from `extra` (where
an omb-2025 import put them).

Every cell is neutralised against spreadsheet formula injection: a cell that starts with `=`, `+`,
`-`, `@`, a tab or a carriage return is prefixed with a single quote (the importer takes it off).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.db.models import QuerySet

from portfolio.importers.maestro_csv import COLUMNS as MAESTRO_COLUMNS
from portfolio.importers.omb2025 import COLUMNS as OMB_2025_COLUMNS
from portfolio.models import BusinessUnit, Project

EXPORT_FORMATS = ("maestro-csv", "omb-2025")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
ITERATOR_CHUNK = 2000
STREAM_ROWS = 200  # rows per text chunk handed to the HTTP response
_QUOTED = frozenset({*FORMULA_PREFIXES, "'"})


def neutralise(cell: str) -> str:
    """A cell a spreadsheet would run as a formula (starting with = + - @, tab or carriage return)
    gets a leading single quote; so does a cell that already starts with a quote followed by one
    of those, so that the importer's un-quoting gives back exactly what was exported."""
    if cell.startswith(FORMULA_PREFIXES) or (cell[:1] == "'" and cell[1:2] in _QUOTED):
        return "'" + cell
    return cell


# --- What a project says in each format ----------------------------------------------------------


class _Units:
    """Every business unit once (id → code, name, parent), so that parents and top-level agencies
    cost no query per row, however deep the tree."""

    def __init__(self) -> None:
        self._units = {
            pk: (code, name, parent_id)
            for pk, code, name, parent_id in BusinessUnit.objects.values_list(
                "id", "code", "name", "parent_id"
            )
        }

    def get(self, pk: int | None) -> tuple[str, str, int | None]:
        return self._units.get(pk, ("", "", None)) if pk is not None else ("", "", None)

    def top(self, pk: int) -> tuple[str, str, int | None]:
        seen: set[int] = set()
        current = pk
        while True:
            code, name, parent = self.get(current)
            if parent is None or parent in seen:
                return code, name, parent
            seen.add(current)
            current = parent


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _user(user: Any) -> str:
    return str(user.get_username()) if user is not None else ""


def _names(manager: Any) -> list[str]:
    return sorted(obj.name for obj in manager.all())


def _maestro_row(project: Project, units: _Units) -> list[str]:
    code, name, parent_id = units.get(project.business_unit_id)
    parent_code, parent_name, _ = units.get(parent_id)
    values: dict[str, Any] = {
        "external_ref": project.external_ref,
        "import_key": project.import_key,
        "name": project.name,
        "business_unit_code": code,
        "business_unit_name": name,
        "parent_unit_code": parent_code,
        "parent_unit_name": parent_name,
        "owner": _user(project.owner),
        "executive_sponsor": _user(project.executive_sponsor),
        "techniques": "; ".join(project.techniques or []),
        "capabilities": "; ".join(_names(project.capabilities)),
        "tools": "; ".join(_names(project.tools)),
        "demographic_features": "; ".join(str(f) for f in project.demographic_features or []),
        "archived": project.archived_at,
        "extra": json.dumps(project.extra, ensure_ascii=False, sort_keys=True)
        if project.extra
        else "",
    }
    return [
        _text(values[column] if column in values else getattr(project, column))
        for column in MAESTRO_COLUMNS
    ]


# Maestro values → 2025 shorthand codes (the importer reads them back).
_STAGE_2025: dict[str, str] = {
    Project.Stage.IDEA: "Pre-deployment",
    Project.Stage.DEVELOPMENT: "Pre-deployment",
    Project.Stage.PILOT: "Pilot",
    Project.Stage.PRODUCTION: "Deployed",
    Project.Stage.RETIRED: "Retired",
}
_IMPACT_2025: dict[str, str] = {
    Project.OmbImpact.HIGH_IMPACT: "High-impact",
    Project.OmbImpact.PRESUMED_NOT_HIGH: "Presumed High-Impact, but Not High-impact",
    Project.OmbImpact.NOT_HIGH: "Not High-impact",
    # M-24-10 classifications: rights- or safety-impacting use cases are presumed high-impact.
    Project.OmbImpact.RIGHTS: "High-impact",
    Project.OmbImpact.SAFETY: "High-impact",
    Project.OmbImpact.RIGHTS_AND_SAFETY: "High-impact",
    Project.OmbImpact.NEITHER: "Not High-impact",
}
_TOPIC_2025: dict[str, str] = {
    Project.TopicArea.ADMINISTRATIVE: "Administrative Functions",
    Project.TopicArea.CYBERSECURITY: "Cybersecurity",
    Project.TopicArea.EMERGENCY: "Emergency Management",
    Project.TopicArea.ENERGY_ENVIRONMENT: "Energy and the Environment",
    Project.TopicArea.BENEFITS: "Government Benefits Processing",
    Project.TopicArea.HEALTH: "Health and Medical",
    Project.TopicArea.HUMAN_RESOURCES: "Human Resources",
    Project.TopicArea.INFORMATION_TECHNOLOGY: "Information Technology",
    Project.TopicArea.INTERNATIONAL: "International Affairs",
    Project.TopicArea.LAW_ENFORCEMENT: "Law Enforcement",
    Project.TopicArea.PROCUREMENT_FINANCE: "Procurement and Financial Management",
    Project.TopicArea.SCIENCE: "Science",
    Project.TopicArea.SERVICE_DELIVERY: "Service Delivery",
    Project.TopicArea.TRANSPORTATION: "Transportation",
    Project.TopicArea.EDUCATION_WORKFORCE: "Other",
    Project.TopicArea.OTHER: "Other",
}
_CLASSIFICATION_2025: dict[str, str] = {
    Project.Technique.AGENTIC: "Agentic AI",
    Project.Technique.CLASSICAL_ML: "Classical ML",
    Project.Technique.COMPUTER_VISION: "Computer Vision",
    Project.Technique.GENERATIVE: "Generative AI",
    Project.Technique.NLP: "NLP",
    Project.Technique.REINFORCEMENT_LEARNING: "Reinforcement Learning",
}
# The edition's single classification: the most specific technique a project names.
_CLASSIFICATION_PRIORITY: tuple[str, ...] = (
    Project.Technique.AGENTIC,
    Project.Technique.GENERATIVE,
    Project.Technique.REINFORCEMENT_LEARNING,
    Project.Technique.COMPUTER_VISION,
    Project.Technique.NLP,
    Project.Technique.CLASSICAL_ML,
)
_METHOD_2025: dict[str, str] = {
    Project.DevelopmentMethod.VENDOR: "Vendor Purchased",
    Project.DevelopmentMethod.IN_HOUSE: "In-house Development",
    Project.DevelopmentMethod.BOTH: "Contracting and In House",
}


def _classification(techniques: list[str]) -> str:
    for technique in _CLASSIFICATION_PRIORITY:
        if technique in techniques:
            return _CLASSIFICATION_2025[technique]
    return ""


def _vendors(project: Project) -> str:
    names: list[str] = []
    for tool in sorted(project.tools.all(), key=lambda t: t.name):
        name = tool.vendor or tool.name
        if name not in names:
            names.append(name)
    return "; ".join(names)


def _omb_2025_row(project: Project, units: _Units) -> list[str]:
    extra = project.extra if isinstance(project.extra, dict) else {}
    code, name, parent_id = units.get(project.business_unit_id)
    if parent_id is None:
        agency_code, agency_name, bureau = code, name, ""
    else:
        agency_code, agency_name, _ = units.top(project.business_unit_id)
        bureau = name
    techniques = list(project.techniques or [])
    values: dict[str, Any] = {
        "agency": agency_code,
        "agency_name": agency_name,
        "id": project.external_ref,
        "use_case_name": project.name,
        "agency_bureau": bureau,
        "contact_email": project.contact_email,
        "development_stage": _STAGE_2025.get(project.stage, ""),
        "is_high_impact": _IMPACT_2025.get(project.omb_impact, ""),
        "topic_area": _TOPIC_2025.get(project.topic_area, ""),
        "classification": _classification(techniques),
        "problem_solved": project.problem,
        "benefits": project.benefits,
        "system_outputs": project.outputs,
        "operational_date": project.date_implemented,
        "contracting_usage": _METHOD_2025.get(project.development_method, ""),
        # As written in an omb-2025 file when it came from one, else the tools' vendors.
        "vendor_name": extra.get("vendor_name") or _vendors(project),
        "data_description": project.data_description,
        "has_pii": ""
        if project.involves_pii is None
        else ("Yes" if project.involves_pii else "No"),
        "demographic_features": repr([str(f) for f in project.demographic_features])
        if project.demographic_features
        else "",
    }
    row = []
    for column in OMB_2025_COLUMNS:
        value = values.get(column)
        if value in (None, ""):
            # Columns Maestro has no field for (HI_justification, hi_*, have_ato, …) and values
            # an omb-2025 import kept as written because they did not map.
            value = extra.get(column, "")
        row.append(_text(value))
    return row


_HEADERS = {"maestro-csv": MAESTRO_COLUMNS, "omb-2025": OMB_2025_COLUMNS}
_ROWS = {"maestro-csv": _maestro_row, "omb-2025": _omb_2025_row}


def _iterate(projects: Iterable[Project]) -> Iterator[Project]:
    if isinstance(projects, QuerySet):
        queryset = projects.select_related("owner", "executive_sponsor").prefetch_related(
            "tools", "capabilities"
        )
        # Django 5 prefetches per chunk when a chunk size is given.
        yield from queryset.iterator(chunk_size=ITERATOR_CHUNK)
    else:
        yield from projects


# Columns another app knows better (governance fills the OMB minimum-practice `hi_*` columns from
# control statuses). A source takes a batch of project ids and returns {id: {column: value}};
# its non-empty values win over what the row would otherwise hold. Registered at app start-up.
ColumnSource = Callable[[list[int]], dict[int, dict[str, str]]]
COLUMN_SOURCES: dict[str, list[ColumnSource]] = {}


def register_column_source(fmt: str, source: ColumnSource) -> None:
    if source not in COLUMN_SOURCES.setdefault(fmt, []):
        COLUMN_SOURCES[fmt].append(source)


def _batches(projects: Iterable[Project]) -> Iterator[list[Project]]:
    batch: list[Project] = []
    for project in _iterate(projects):
        batch.append(project)
        if len(batch) >= ITERATOR_CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def export_rows(projects: Iterable[Project], fmt: str) -> Iterator[list[str]]:
    """The header, then one row per project; every cell neutralised."""
    if fmt not in _HEADERS:
        raise ValueError(
            f"unknown export format '{fmt}'; choose one of {', '.join(EXPORT_FORMATS)}"
        )
    header = list(_HEADERS[fmt])
    yield header
    units = _Units()
    build = _ROWS[fmt]
    position = {column: i for i, column in enumerate(header)}
    for batch in _batches(projects):
        supplied: dict[int, dict[str, str]] = {}
        for source in COLUMN_SOURCES.get(fmt, []):
            for pk, columns in source([p.pk for p in batch]).items():
                supplied.setdefault(pk, {}).update(columns)
        for project in batch:
            row = build(project, units)
            for column, value in supplied.get(project.pk, {}).items():
                if value and column in position:
                    row[position[column]] = value
            yield [neutralise(cell) for cell in row]


class _Echo:
    """A file-like object whose write returns what it was given (csv.writer into a generator)."""

    def write(self, value: str) -> str:
        return value


def stream_csv(projects: Iterable[Project], fmt: str) -> Iterator[str]:
    """CSV text in chunks of rows, for a StreamingHttpResponse or a file."""
    writer = csv.writer(_Echo())
    buffer: list[str] = []
    for row in export_rows(projects, fmt):
        buffer.append(writer.writerow(row))
        if len(buffer) >= STREAM_ROWS:
            yield "".join(buffer)
            buffer = []
    if buffer:
        yield "".join(buffer)
