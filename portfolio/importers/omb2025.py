"""The 2025 federal AI use case inventory schema (`omb-2025`), written from its data dictionary.

36 columns (`agency`, `agency_name`, `id`, `use_case_name`, `agency_bureau`, …, `hi_*`). Real
files are UTF-8 with a byte-order mark and store select-multiple columns as stringified Python
lists (`['Age', 'Sex']`). Multiple-choice cells are accepted as the full selection text
("a) Pre-deployment – The use case is in a development…") or as the shorthand code
("Pre-deployment"), in any case and spacing.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from portfolio.importers import mapping
from portfolio.importers.rows import (
    InventoryFormat,
    ParsedRow,
    agency_units,
    inventory_external_ref,
    inventory_name,
    keep_raw,
    set_date,
    unknown_columns_extra,
)
from portfolio.importers.tool_names import split_tool_names

# In the order of the data dictionary (and of the omb-2025 export).
COLUMNS: tuple[str, ...] = (
    "agency",
    "agency_name",
    "id",
    "use_case_name",
    "agency_bureau",
    "contact_email",
    "is_withheld",
    "development_stage",
    "is_high_impact",
    "HI_justification",
    "topic_area",
    "classification",
    "problem_solved",
    "benefits",
    "system_outputs",
    "operational_date",
    "contracting_usage",
    "vendor_name",
    "have_ato",
    "system_name_ato",
    "data_description",
    "link_to_data",
    "has_pii",
    "pia_url",
    "demographic_features",
    "has_custom_code",
    "code_url",
    "hi_testing_conducted",
    "hi_assessment_completed",
    "hi_potential_impacts",
    "hi_independent_review",
    "hi_ongoing_monitoring",
    "hi_training_established",
    "hi_failsafe_presence",
    "hi_appeal_process",
    "hi_public_consultation",
)
# Columns mapped onto Project fields (vendor_name onto tools, and also kept as written).
MAPPED_COLUMNS = frozenset(
    {
        "agency",
        "agency_name",
        "id",
        "use_case_name",
        "agency_bureau",
        "contact_email",
        "development_stage",
        "is_high_impact",
        "topic_area",
        "classification",
        "problem_solved",
        "benefits",
        "system_outputs",
        "operational_date",
        "contracting_usage",
        "has_pii",
        "data_description",
        "demographic_features",
    }
)
EMAIL_MAX = 254


def valid_email(value: str) -> bool:
    if not value or len(value) > EMAIL_MAX:
        return False
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


class Omb2025Format(InventoryFormat):
    name = "omb-2025"
    family = "omb"
    columns = COLUMNS
    required = ("agency", "use_case_name")
    exported_by_maestro = True

    def parse(self, cells: dict[str, str], row: int) -> ParsedRow:
        extra: dict[str, Any] = {}
        name = inventory_name(cells.get("use_case_name", ""), "use_case_name", extra)
        _, unit = agency_units(
            code_raw=cells.get("agency", ""),
            name_raw=cells.get("agency_name", ""),
            bureau_raw=cells.get("agency_bureau", ""),
            code_column="agency",
        )
        problem = mapping.clean(cells.get("problem_solved"))
        fields: dict[str, Any] = {
            "name": name,
            "problem": problem,
            "benefits": mapping.clean(cells.get("benefits")),
            "outputs": mapping.clean(cells.get("system_outputs")),
            "data_description": mapping.clean(cells.get("data_description")),
        }
        email = mapping.collapse(cells.get("contact_email"))
        fields["contact_email"] = email if valid_email(email) else ""
        keep_raw(extra, "contact_email", email, not email or valid_email(email))

        raw = cells.get("development_stage", "")
        fields["stage"], exact = mapping.map_stage(raw)
        keep_raw(extra, "development_stage", raw, exact)
        raw = cells.get("is_high_impact", "")
        fields["omb_impact"], exact = mapping.map_impact(raw)
        keep_raw(extra, "is_high_impact", raw, exact)
        raw = cells.get("topic_area", "")
        fields["topic_area"], exact = mapping.map_topic(raw)
        keep_raw(extra, "topic_area", raw, exact)
        raw = cells.get("classification", "")
        fields["techniques"], exact = mapping.map_classification(raw)
        keep_raw(extra, "classification", raw, exact)
        raw = cells.get("contracting_usage", "")
        fields["development_method"], exact = mapping.map_method(raw)
        keep_raw(extra, "contracting_usage", raw, exact)
        raw = cells.get("has_pii", "")
        fields["involves_pii"], exact = mapping.map_yes_no(raw)
        keep_raw(extra, "has_pii", raw, exact)
        raw = cells.get("demographic_features", "")
        fields["demographic_features"], exact = mapping.map_demographic_features(raw)
        keep_raw(extra, "demographic_features", raw, exact)
        raw = cells.get("operational_date", "")
        set_date(fields, extra, "date_implemented", "operational_date", raw)

        for column in COLUMNS:
            if column not in MAPPED_COLUMNS:
                value = mapping.clean(cells.get(column))
                if value:
                    extra[column] = value
        extra.update(unknown_columns_extra(cells, COLUMNS))
        vendors = cells.get("vendor_name", "")
        return ParsedRow(
            row=row,
            name=name,
            unit=unit,
            external_ref=inventory_external_ref(cells.get("id", ""), "id"),
            fields=fields,
            extra=extra,
            extra_owned=frozenset(COLUMNS),
            tools=[(vendor, vendor) for vendor in split_tool_names(vendors)],
        )
