"""The 2023 consolidated federal AI use case inventory (`omb-2023`).

Columns: Use_Case_ID, Department_Code, Agency (the bureau), Office, Title, Summary,
Development_Stage (free text), Techniques (free text), Source_Code, Department.
"""

from __future__ import annotations

from typing import Any

from portfolio.importers import mapping
from portfolio.importers.rows import (
    InventoryFormat,
    ParsedRow,
    agency_units,
    inventory_external_ref,
    inventory_name,
    unknown_columns_extra,
)

COLUMNS = (
    "Use_Case_ID",
    "Department_Code",
    "Agency",
    "Office",
    "Title",
    "Summary",
    "Development_Stage",
    "Techniques",
    "Source_Code",
    "Department",
)
# Kept in Project.extra as they are (raw stage and techniques always, next to the mapped values).
EXTRA_COLUMNS = ("Office", "Source_Code", "Development_Stage", "Techniques")


class Omb2023Format(InventoryFormat):
    name = "omb-2023"
    family = "omb"
    columns = COLUMNS
    required = ("Title", "Department_Code")

    def parse(self, cells: dict[str, str], row: int) -> ParsedRow:
        extra: dict[str, Any] = {}
        name = inventory_name(cells.get("Title", ""), "Title", extra)
        _, unit = agency_units(
            code_raw=cells.get("Department_Code", ""),
            name_raw=cells.get("Department", ""),
            bureau_raw=cells.get("Agency", ""),
            code_column="Department_Code",
        )
        problem = mapping.clean(cells.get("Summary"))
        stage, _ = mapping.map_stage(cells.get("Development_Stage", ""))
        techniques_text = cells.get("Techniques", "")
        if mapping.is_blank(techniques_text):
            techniques = mapping.infer_techniques(name, problem)
        else:
            techniques = mapping.map_techniques_column(techniques_text)
        for column in EXTRA_COLUMNS:
            value = mapping.clean(cells.get(column))
            if value:
                extra[column] = value
        extra.update(unknown_columns_extra(cells, COLUMNS))
        return ParsedRow(
            row=row,
            name=name,
            unit=unit,
            external_ref=inventory_external_ref(cells.get("Use_Case_ID", ""), "Use_Case_ID"),
            fields={
                "name": name,
                "problem": problem,
                "stage": stage,
                "techniques": techniques,
            },
            extra=extra,
            extra_owned=frozenset(COLUMNS) | frozenset(extra),
            mention_texts=(name, problem),
        )
