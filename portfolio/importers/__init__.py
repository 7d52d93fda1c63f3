"""Inventory import: federal AI use case inventories (2023, 2024, 2025) and Maestro's template.

    from portfolio.importers import run_import
    report = run_import(path=Path("inventory.csv"), fmt="omb-2024", actor=user)

See docs/importing.md for the formats, the mapping tables and the rules.
"""

from __future__ import annotations

from portfolio.importers.omb2025_cots import FORMAT as COTS_FORMAT
from portfolio.importers.omb2025_cots import cots_import
from portfolio.importers.report import ImportFormatError, ImportReport, RowError
from portfolio.importers.service import ADOPTION_IMPORTERS, inventory_import

FORMATS: tuple[str, ...] = ("omb-2023", "omb-2024", "omb-2025", "omb-2025-cots", "maestro-csv")
ADOPTION_IMPORTERS[COTS_FORMAT] = cots_import

# The public name: import a file, in one transaction (see service.inventory_import).
run_import = inventory_import

__all__ = [
    "FORMATS",
    "ImportFormatError",
    "ImportReport",
    "RowError",
    "inventory_import",
    "run_import",
]
