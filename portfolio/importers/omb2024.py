"""The 2024 consolidated federal AI use case inventory (`omb-2024`).

62 columns. The copy in the repository uses short column names (`2_use_case_name`, `3_abr`, …); the
official file uses the long question texts as headers and is encoded in Windows-1252. Both are
accepted: long headers are mapped back to the short names with `LONG_HEADERS` (copied from
`federal-ai-inventory-2024-columns.csv`; repeated headers such as "If Other, please explain." are
told apart by their position, as pandas' ".1", ".2" suffixes are).

Mapping (see docs/importing.md): name `2_use_case_name`; agency `3_abr`/`3_agency` → top-level
unit, `4_bureau` → child unit; `8_topic_area` → topic; `11_purpose_benefits` → problem (the
edition has one text for purpose and benefits: when the agency labelled both parts, "Purpose: …
Expected benefits: …", they go to problem and benefits; otherwise `benefits` is left alone);
`12_outputs` → outputs;
`16_dev_stage` → stage; `17_impact_type` → OMB impact; `18`, `20`, `21` → dates (`19` has no field
and stays in extra); `22_dev_method` → development method; `29_contains_pii` → involves PII;
`33_agency_data` → data description; `35_demo_features` → demographic features. Techniques are
inferred from name, purpose and outputs; well-known products named there (or in
`10_commercial_ai`) are linked as tools. Every other non-empty cell goes to `Project.extra` under
its short column name, and so does the raw text of a mapped cell whose value the tables did not
know.
"""

from __future__ import annotations

import re
from typing import Any

from portfolio.importers import mapping
from portfolio.importers.rows import (
    InventoryFormat,
    ParsedRow,
    agency_units,
    header_key,
    inventory_name,
    keep_raw,
    set_date,
    unknown_columns_extra,
)

# (short column name, header of the official file), in the official column order.
LONG_HEADERS: tuple[tuple[str, str], ...] = (
    ("2_use_case_name", "Use Case Name"),
    ("3_agency", "Agency"),
    ("3_abr", "Agency Abbreviation"),
    ("4_bureau", "Bureau"),
    ("8_topic_area", "Use Case Topic Area"),
    ("8_question_type", "Other (Use Case Topic Area)"),
    (
        "10_commercial_ai",
        "Is the AI use case found in the below list of general commercial AI products and "
        "services?",
    ),
    ("11_purpose_benefits", "What is the intended purpose and expected benefits of the AI?"),
    ("12_outputs", "Describe the AI system’s outputs."),
    ("16_dev_stage", "Stage of Development"),
    ("17_impact_type", "Is the AI use case rights-impacting, safety-impacting, both, or neither?"),
    ("18_date_initiated", "Date Initiated"),
    ("19_date_acq_dev_began", "Date when Acquisition and/or Development began"),
    ("20_date_implemented", "Date Implemented"),
    ("21_date_retired", "Date Retired"),
    (
        "22_dev_method",
        "Was the AI system involved in this use case developed (or is it to be developed) "
        "under contract(s) or in-house?",
    ),
    (
        "23_contract_piids",
        "Provide the Procurement Instrument Identifier(s) (PIID) of the contract(s) used.",
    ),
    (
        "24_hisp_support",
        "Is this AI use case supporting a High-Impact Service Provider (HISP) public-facing "
        "service?",
    ),
    ("25_hisp_name", "Which HISP is the AI use case supporting?"),
    ("26_public_service", "Which public-facing service is the AI use case supporting?"),
    ("27_public_info", "Does this AI use case disseminate information to the public?"),
    (
        "28_iqa_compliance",
        "How is the agency ensuring compliance with Information Quality Act guidelines, if "
        "applicable?",
    ),
    (
        "29_contains_pii",
        "Does this AI use case involve personally identifiable information (PII) that is "
        "maintained by the agency?",
    ),
    (
        "30_saop_review",
        "Has the Senior Agency Official for Privacy (SAOP) assessed the privacy risks "
        "associated with this AI use case?",
    ),
    (
        "31_data_catalog",
        "Do you have access to an enterprise data catalog or agency-wide data repository that"
        " enables you to identify whether or not the necessary datasets exist and are ready "
        "to develop your use case?",
    ),
    ("31_question_type", "If Other, please explain."),
    (
        "33_agency_data",
        "Describe any agency-owned data used to train, fine-tune, and/or evaluate performance"
        " of the model(s) used in this use case.",
    ),
    (
        "34_data_docs",
        "Is there available documentation for the model training and evaluation data that "
        "demonstrates the degree to which it is appropriate to be used in analysis or for "
        "making predictions?",
    ),
    (
        "35_demo_features",
        "Which, if any, demographic variables does the AI use case explicitly use as model "
        "features?",
    ),
    ("35_question_type", "If Other, please explain."),
    ("37_custom_code", "Does this project include custom-developed code?"),
    ("38_code_access", "Does the agency have access to the code associated with the AI use case?"),
    (
        "39_code_link",
        "If the code is open-source, provide the link for the publicly available source code.",
    ),
    (
        "40_has_ato",
        "Does this AI use case have an associated Authority to Operate (ATO) for an AI system?",
    ),
    ("41_system_name", "System Name"),
    (
        "42_dev_tools_wait",
        "How long have you waited for the necessary developer tools to implement the AI use case?",
    ),
    (
        "43_infra_provisioned",
        "For this AI use case, is the required IT infrastructure provisioned via a "
        "centralized intake form or process inside the agency?",
    ),
    ("43_question_type", "If Other, please explain."),
    (
        "45_compute_request",
        "Do you have a process in place to request access to computing resources for model "
        "training and development of the AI involved in this use case?",
    ),
    ("45_question_type", "If Other, please explain."),
    (
        "47_timely_resources",
        "Has communication regarding the provisioning of your requested resources been timely?",
    ),
    ("47_question_type", "If Other, please explain."),
    (
        "49_existing_reuse",
        "How are existing data science tools, libraries, data products, and internally-"
        "developed AI infrastructure being re-used for the current AI use case?",
    ),
    (
        "50_internal_review",
        "Has information regarding the AI use case, including performance metrics and "
        "intended use of the model, been made available for review and feedback within the "
        "agency?",
    ),
    (
        "51_extension_request",
        "Has your agency requested an extension to implement the minimum risk management "
        "practices for this AI use case?",
    ),
    ("52_impact_assessment", "Has an AI impact assessment been conducted for this AI use case?"),
    (
        "53_real_world_testing",
        "Has the AI use case been tested in operational or real-world environments to "
        "understand the performance and impact it may have on affected individuals or "
        "communities?",
    ),
    (
        "54_key_risks",
        "What are the key risks from using the AI for this particular use case and how were "
        "they identified?",
    ),
    ("55_independent_eval", "Has an independent evaluation of the AI use case been conducted?"),
    (
        "56_monitor_postdeploy",
        "Is there a process to monitor performance of the AI system’s functionality and "
        "changes to its impact on rights or safety as part of the post-deployment plan for "
        "the AI use case?",
    ),
    (
        "57_autonomous_impact",
        "For this particular use case, can the AI carry out a decision or action without "
        "direct human involvement that could result in a significant impact on rights or "
        "safety?",
    ),
    ("57_question_type", "If Other, please explain."),
    (
        "59_ai_notice",
        "How is the agency providing reasonable and timely notice regarding the use of AI "
        "when people interact with an AI-enabled service as a result of this AI use case?",
    ),
    ("59_question_type", "If Other, please explain."),
    (
        "61_adverse_impact",
        "Is the AI used to significantly influence or inform decisions or actions that could "
        "have an adverse or negative impact on specific individuals or groups?",
    ),
    (
        "62_disparity_mitigation",
        "What steps has the agency taken to detect and mitigate significant disparities in "
        "the model’s performance across demographic groups for this AI use case?",
    ),
    (
        "63_stakeholder_consult",
        "What steps has the agency taken to consult and incorporate feedback from groups "
        "affected by this AI use case?",
    ),
    ("63_question_type", "If Other, please explain."),
    (
        "65_appeal_process",
        "Is there an established fallback and escalation process for this AI use case in the "
        "event that an impacted individual or group would like to appeal or contest the AI "
        "system’s outcome?",
    ),
    ("66_no_appeal_reason", "If No, please explain."),
    (
        "67_opt_out",
        "Where practicable and consistent with applicable law and governmentwide policy, is "
        "there an established mechanism for individuals to opt-out from the AI functionality "
        "in favor of a human alternative?",
    ),
    ("67_question_type", "If Other, please explain."),
)
COLUMNS: tuple[str, ...] = tuple(short for short, _ in LONG_HEADERS)

# Columns mapped onto Project fields; all others go to Project.extra as they are.
MAPPED_COLUMNS = frozenset(
    {
        "2_use_case_name",
        "3_agency",
        "3_abr",
        "4_bureau",
        "8_topic_area",
        "11_purpose_benefits",
        "12_outputs",
        "16_dev_stage",
        "17_impact_type",
        "18_date_initiated",
        "20_date_implemented",
        "21_date_retired",
        "22_dev_method",
        "29_contains_pii",
        "33_agency_data",
        "35_demo_features",
    }
)
_PANDAS_SUFFIX = re.compile(r"\.\d+$")


def _long_groups() -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for short, long in LONG_HEADERS:
        groups.setdefault(header_key(long), []).append(short)
    return groups


class Omb2024Format(InventoryFormat):
    name = "omb-2024"
    family = "omb"
    allow_cp1252 = True
    columns = COLUMNS
    required = ("2_use_case_name", "3_agency", "3_abr")

    def resolve_header(self, header: list[str]) -> list[str]:
        shorts = {header_key(short): short for short in COLUMNS}
        groups = _long_groups()
        used: dict[str, int] = {}
        names: list[str] = []
        for cell in header:
            cell_key = header_key(cell)
            if cell_key in shorts:
                names.append(shorts[cell_key])
                continue
            group_key = cell_key if cell_key in groups else _PANDAS_SUFFIX.sub("", cell_key)
            candidates = groups.get(group_key, [])
            position = used.get(group_key, 0)
            used[group_key] = position + 1
            names.append(
                candidates[position] if position < len(candidates) else mapping.collapse(cell)
            )
        self.check_header(names)
        return names

    def parse(self, cells: dict[str, str], row: int) -> ParsedRow:
        extra: dict[str, Any] = {}
        name = inventory_name(cells.get("2_use_case_name", ""), "2_use_case_name", extra)
        _, unit = agency_units(
            code_raw=cells.get("3_abr", ""),
            name_raw=cells.get("3_agency", ""),
            bureau_raw=cells.get("4_bureau", ""),
            code_column="3_abr",
        )
        purpose = mapping.clean(cells.get("11_purpose_benefits"))
        outputs = mapping.clean(cells.get("12_outputs"))
        problem, benefits = mapping.split_purpose_benefits(purpose)
        fields: dict[str, Any] = {"name": name, "problem": problem, "outputs": outputs}
        if benefits:
            fields["benefits"] = benefits

        raw = cells.get("16_dev_stage", "")
        fields["stage"], exact = mapping.map_stage(raw)
        keep_raw(extra, "16_dev_stage", raw, exact)
        raw = cells.get("8_topic_area", "")
        fields["topic_area"], exact = mapping.map_topic(raw)
        keep_raw(extra, "8_topic_area", raw, exact)
        raw = cells.get("17_impact_type", "")
        fields["omb_impact"], exact = mapping.map_impact(raw)
        keep_raw(extra, "17_impact_type", raw, exact)
        raw = cells.get("22_dev_method", "")
        fields["development_method"], exact = mapping.map_method(raw)
        keep_raw(extra, "22_dev_method", raw, exact)
        raw = cells.get("29_contains_pii", "")
        fields["involves_pii"], exact = mapping.map_yes_no(raw)
        keep_raw(extra, "29_contains_pii", raw, exact)
        raw = cells.get("35_demo_features", "")
        fields["demographic_features"], exact = mapping.map_demographic_features(raw)
        keep_raw(extra, "35_demo_features", raw, exact)
        set_date(
            fields, extra, "date_initiated", "18_date_initiated", cells.get("18_date_initiated", "")
        )
        set_date(
            fields,
            extra,
            "date_implemented",
            "20_date_implemented",
            cells.get("20_date_implemented", ""),
        )
        set_date(fields, extra, "date_retired", "21_date_retired", cells.get("21_date_retired", ""))
        fields["data_description"] = mapping.clean(cells.get("33_agency_data"))
        fields["techniques"] = mapping.infer_techniques(name, purpose, outputs)

        for column in COLUMNS:
            if column not in MAPPED_COLUMNS:
                value = mapping.clean(cells.get(column))
                if value:
                    extra[column] = value
        extra.update(unknown_columns_extra(cells, COLUMNS))
        commercial = mapping.clean(cells.get("10_commercial_ai"))
        return ParsedRow(
            row=row,
            name=name,
            unit=unit,
            fields=fields,
            extra=extra,
            extra_owned=frozenset(COLUMNS),
            mention_texts=(name, purpose, outputs, commercial),
        )
