"""Files that cannot be imported at all: one line, no traceback, nothing written."""

from __future__ import annotations

import codecs
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from portfolio.importers import FORMATS, ImportFormatError, run_import
from portfolio.models import Project

ROOT = Path(__file__).resolve().parents[2]
INVENTORY_2023 = ROOT / "portfolio" / "fixtures" / "inventories" / "federal-ai-inventory-2023.csv"

pytestmark = pytest.mark.django_db


def command_error(*args: str) -> str:
    with pytest.raises(CommandError) as raised:
        call_command("import_inventory", *args, stdout=io.StringIO(), stderr=io.StringIO())
    message = str(raised.value)
    assert "\n" not in message
    assert Project.objects.count() == 0
    return message


def test_the_formats_others_rely_on():
    assert FORMATS == ("omb-2023", "omb-2024", "omb-2025", "omb-2025-cots", "maestro-csv")


def test_unknown_format_name():
    message = command_error("--format", "omb-1999", str(INVENTORY_2023))
    assert message == (
        "unknown format 'omb-1999'; choose one of omb-2023, omb-2024, omb-2025, omb-2025-cots, "
        "maestro-csv"
    )


def test_missing_format_option():
    assert command_error(str(INVENTORY_2023)).startswith("--format is required")


def test_file_of_another_format_names_the_missing_columns():
    # The 2023 "Agency" column reads as the 2024 long header "Agency" (3_agency).
    message = command_error("--format", "omb-2024", str(INVENTORY_2023))
    assert message == (
        "federal-ai-inventory-2023.csv: not in the omb-2024 format: "
        "missing required column(s) 2_use_case_name, 3_abr"
    )


def test_missing_required_column(tmp_path):
    path = tmp_path / "template.csv"
    path.write_text("name,business_unit_name\nA chatbot,Home\n", encoding="utf-8")
    message = command_error("--format", "maestro-csv", str(path))
    assert message == (
        "template.csv: not in the maestro-csv format: missing required column(s) business_unit_code"
    )


@pytest.mark.parametrize("fmt", ["maestro-csv", "omb-2024"])
def test_utf16_text_is_refused(tmp_path, fmt):
    path = tmp_path / "utf16.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + "name,business_unit_code\nA,B\n".encode("utf-16-le"))
    message = command_error("--format", fmt, str(path))
    assert "UTF-16" in message and "utf16.csv" in message


def test_random_bytes_are_refused(tmp_path):
    path = tmp_path / "noise.csv"
    path.write_bytes(bytes(range(128, 256)) * 40 + b"\n,,\n")
    message = command_error("--format", "maestro-csv", str(path))
    assert message.startswith("noise.csv: cannot be decoded as UTF-8 text")


def test_windows_1252_is_accepted_only_for_omb_2024(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("name,business_unit_code\nCaf\u00e9 bot,HOME\n".encode("cp1252"))
    with pytest.raises(ImportFormatError, match="cannot be decoded as UTF-8 text"):
        run_import(path=path, fmt="maestro-csv")


def test_binary_data_is_refused(tmp_path):
    path = tmp_path / "image.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert command_error("--format", "omb-2023", str(path)) == (
        "image.csv: is not a text (CSV) file"
    )


def test_missing_file(tmp_path):
    missing = tmp_path / "nowhere.csv"
    assert command_error("--format", "omb-2023", str(missing)) == f"{missing}: no such file"


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert command_error("--format", "omb-2023", str(path)) == (
        "empty.csv: the file is empty (no header row)"
    )


def test_a_text_file_named_xlsx_is_refused(tmp_path):
    path = tmp_path / "template.xlsx"
    path.write_text("name,business_unit_code\n", encoding="utf-8")
    assert command_error("--format", "maestro-csv", str(path)) == (
        "template.xlsx: is not an Excel (.xlsx) workbook"
    )


def test_header_only_file_imports_nothing(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("name,business_unit_code\n", encoding="utf-8")
    report = run_import(path=path, fmt="maestro-csv")
    assert (report.created, report.rejected, report.written) == (0, 0, True)


def test_manage_py_prints_one_line_and_exits_1(tmp_path):
    """The real command line: CommandError on stderr, exit status 1, no traceback."""
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
    }
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "import_inventory",
            "--format",
            "omb-2024",
            str(INVENTORY_2023),
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "CommandError: federal-ai-inventory-2023.csv: not in the omb-2024 format: "
        "missing required column(s) 2_use_case_name, 3_abr"
    ]
