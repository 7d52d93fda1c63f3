"""Reading an inventory file as a stream of rows: CSV (UTF-8, optionally Windows-1252) or XLSX.

Rows come out as lists of strings numbered the way a spreadsheet numbers them (the header is row
1), so that error messages point at the line a person sees. Nothing is held in memory beyond one
row: a 100,000-row file is read twice (validation, then writing) rather than kept.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from portfolio.importers.report import ImportFormatError

XLSX_MAGIC = b"PK\x03\x04"
_UTF16_32_BOMS = (
    codecs.BOM_UTF32_LE,
    codecs.BOM_UTF32_BE,
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF16_BE,
)
_BLOCK = 1 << 20
_FIELD_LIMIT = 16 * 1024 * 1024

csv.field_size_limit(max(csv.field_size_limit(), _FIELD_LIMIT))


@dataclass(frozen=True)
class SourceFile:
    """A checked inventory file: its kind ("csv" or "xlsx") and, for CSV, encoding and delimiter."""

    path: Path
    kind: str
    encoding: str = "utf-8-sig"
    delimiter: str = ","

    @property
    def label(self) -> str:
        return self.path.name


def inspect(path: Path, *, fmt: str, allow_cp1252: bool = False) -> SourceFile:
    """Check that the file can be read and decoded; raises ImportFormatError in one line if not."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(65536)
    except FileNotFoundError:
        raise ImportFormatError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImportFormatError(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise ImportFormatError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if head.startswith(XLSX_MAGIC):
        return SourceFile(path=path, kind="xlsx")
    if path.suffix.lower() == ".xlsx":
        raise ImportFormatError(f"{path.name}: is not an Excel (.xlsx) workbook")
    if not head.strip():
        raise ImportFormatError(f"{path.name}: the file is empty (no header row)")
    if head.startswith(_UTF16_32_BOMS):
        raise ImportFormatError(
            f"{path.name}: is UTF-16/UTF-32 text; save it as CSV UTF-8 and import it again"
        )
    if b"\x00" in head:
        raise ImportFormatError(f"{path.name}: is not a text (CSV) file")
    encoding = "utf-8-sig"
    problem = _undecodable(path, "utf-8")
    if problem and allow_cp1252:
        encoding = "cp1252"
        problem = _undecodable(path, "cp1252") and problem
    if problem:
        expected = "UTF-8 or Windows-1252" if allow_cp1252 else "UTF-8"
        raise ImportFormatError(
            f"{path.name}: cannot be decoded as {expected} text ({problem}); "
            f"save it as CSV UTF-8 for the {fmt} format"
        )
    first_line = head.split(b"\n", 1)[0]
    delimiter = ","
    if b"," not in first_line:
        if b";" in first_line:
            delimiter = ";"
        elif b"\t" in first_line:
            delimiter = "\t"
    return SourceFile(path=path, kind="csv", encoding=encoding, delimiter=delimiter)


def _undecodable(path: Path, encoding: str) -> str:
    """ "" when the whole file decodes, else where it fails (read in blocks, never all at once)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset = 0
    with path.open("rb") as handle:
        while True:
            block = handle.read(_BLOCK)
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                return f"byte 0x{block[exc.start]:02x} at offset {offset + exc.start}"
            if not block:
                return ""
            offset += len(block)


@contextmanager
def open_rows(source: SourceFile) -> Iterator[tuple[list[str], Iterator[tuple[int, list[str]]]]]:
    """(header, rows) where rows yields (row number, cells); blank rows are skipped but counted."""
    if source.kind == "xlsx":
        with _xlsx_rows(source) as opened:
            yield opened
        return
    with source.path.open("r", encoding=source.encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=source.delimiter)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise ImportFormatError(f"{source.label}: row 1 is not valid CSV ({exc})") from None
        if header is None:
            raise ImportFormatError(f"{source.label}: the file is empty (no header row)")
        yield [cell.lstrip("\ufeff") for cell in header], _csv_records(source, reader)


def _csv_records(
    source: SourceFile, reader: Iterator[list[str]]
) -> Iterator[tuple[int, list[str]]]:
    number = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFormatError(
                f"{source.label}: row {number + 1} is not valid CSV ({exc})"
            ) from None
        except UnicodeDecodeError as exc:  # checked in inspect(); the file changed since
            raise ImportFormatError(f"{source.label}: cannot be decoded ({exc.reason})") from None
        number += 1
        if any(cell.strip() for cell in cells):
            yield number, cells


@contextmanager
def _xlsx_rows(source: SourceFile) -> Iterator[tuple[list[str], Iterator[tuple[int, list[str]]]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(source.path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise ImportFormatError(
            f"{source.label}: is not a readable Excel workbook ({exc})"
        ) from None
    try:
        if not workbook.worksheets:
            raise ImportFormatError(f"{source.label}: the workbook has no sheet")
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        first = next(rows, None)
        if first is None or not any(cell is not None for cell in first):
            raise ImportFormatError(f"{source.label}: the first sheet is empty (no header row)")
        header = [_xlsx_text(cell) for cell in first]
        while header and not header[-1]:
            header.pop()

        def records() -> Iterator[tuple[int, list[str]]]:
            for number, values in enumerate(rows, start=2):
                cells = [_xlsx_text(value) for value in values]
                if any(cell.strip() for cell in cells):
                    yield number, cells

        yield header, records()
    finally:
        workbook.close()


def _xlsx_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
