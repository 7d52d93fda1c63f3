"""What an import run answers: the report, the row errors, and the one fatal error."""

from __future__ import annotations

from dataclasses import dataclass, field


class ImportFormatError(Exception):
    """The file cannot be imported at all (one line for the user): unknown format, a file that is
    not of that format (required columns missing), an undecodable encoding, an unreadable file."""


@dataclass(frozen=True)
class RowError:
    """An invalid row. `row` is the line a spreadsheet shows: the header is row 1."""

    row: int
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


@dataclass
class ImportReport:
    """The outcome of one run. In a dry run the counts say what would have happened."""

    format: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False
    written: bool = False
    # Catalogue entries the run created (or would create): units, tools, users, capabilities.
    units_created: int = 0
    tools_created: int = 0
    users_created: int = 0
    capabilities_created: int = 0
    run_id: str = ""

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged + self.rejected

    def summary(self) -> str:
        return (
            f"created: {self.created}, updated: {self.updated}, "
            f"unchanged: {self.unchanged}, rejected: {self.rejected}"
        )
