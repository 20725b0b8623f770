"""Reading and writing roster files: an XLSX workbook, or a folder of CSV files.

Reading turns every cell into text and keeps empty rows, so that row numbers stay the
ones Excel shows. CSV comes in UTF-8 (with or without a BOM) or GB18030, which is what
Chinese Excel saves as "CSV (逗号分隔)". Writing makes what the import reads back: CSV in
UTF-8 with a BOM (so Excel opens it without garbling the Chinese), or one workbook.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from pathlib import Path
from time import monotonic as time_monotonic

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from campaign.roster import SHEET_ALIASES, SHEETS, Cell, RawSheet, header_key

XLSX_SUFFIXES = (".xlsx", ".xlsm")

# A roster file comes from outside and may be made to hurt: a 6.5 KB workbook with one
# cell at XFD1048576 asked for 3.8 GB, a zip bomb for 3 GB. These bounds are far above a
# county's roster (about a thousand cadres, a few thousand places and households) and
# far below what hurts; past one the file is refused before it is read.
MAX_ROWS = 100_000  # a sheet's rows
MAX_COLUMNS = 100  # a sheet's columns
MAX_MEGABYTES = 32  # a workbook unpacked, or one CSV file
MAX_SECONDS = 60.0  # reading the rows
_MAX_MEMBERS = 1_000  # files inside a workbook
# Cells a spreadsheet would run as a formula, and the prefix that makes them text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Columns Excel must keep as text: a phone typed as a number loses its "+" (and
# becomes 1.38E+10 on screen); a code such as 001 loses its zeros.
_TEXT_HEADERS = {"编号", "手机号"}


class RosterFileError(Exception):
    """A file that cannot be read or written; ``key`` is a ``roster.file.*`` message."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(f"{key} {params}")
        self.key = key
        self.params = params


def cell_text(value: object) -> str:
    """One cell as text: numbers without a spreadsheet's ``.0``, spaces trimmed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    text = str(value).replace("\ufeff", "").replace("\r\n", " ").replace("\n", " ")
    return text.strip()


def _sheet_for(name: str) -> str | None:
    return SHEET_ALIASES.get(header_key(name))


def read_roster(path: Path) -> dict[str, RawSheet]:
    """The sheets found at ``path`` by roster name; sheets missing here are left out
    (validation reports them)."""
    if not path.exists():
        raise RosterFileError("not_found", path=path)
    if path.is_dir():
        return read_csv_folder(path)
    suffix = path.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        return read_xlsx(path)
    if suffix == ".xls":
        raise RosterFileError("old_xls", path=path)
    if suffix == ".csv":
        raise RosterFileError("single_csv", path=path)
    raise RosterFileError("unknown_format", path=path)


def decode_csv(data: bytes, path: Path) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise RosterFileError("bad_encoding", path=path)
    if data.startswith(codecs.BOM_UTF8):
        encodings: tuple[str, ...] = ("utf-8-sig",)
    else:
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise RosterFileError("bad_encoding", path=path)


def _check_shape(path: Path, sheet: str, rows: int, columns: int) -> None:
    if rows > MAX_ROWS:
        raise RosterFileError("too_many_rows", path=path, sheet=sheet, rows=rows, limit=MAX_ROWS)
    if columns > MAX_COLUMNS:
        raise RosterFileError(
            "too_many_columns", path=path, sheet=sheet, columns=columns, limit=MAX_COLUMNS
        )


class _Deadline:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.until = time_monotonic() + MAX_SECONDS

    def check(self) -> None:
        if time_monotonic() > self.until:
            raise RosterFileError("too_slow", path=self.path, seconds=int(MAX_SECONDS))


def _csv_cell(text: str) -> str:
    """A cell as read: the apostrophe the export puts before a formula-like start is
    dropped again, so an exported roster imports unchanged."""
    if text.startswith("'") and text[1:2] and text[1] in _FORMULA_START:
        return text[1:]
    return text


def read_csv_folder(folder: Path) -> dict[str, RawSheet]:
    sheets: dict[str, RawSheet] = {}
    found: dict[str, Path] = {}
    for file in sorted(folder.iterdir()):
        if not file.is_file() or file.suffix.lower() != ".csv":
            continue
        sheet = _sheet_for(file.stem)
        if sheet is None:
            continue
        if sheet in found:
            raise RosterFileError(
                "duplicate_sheet", sheet=sheet, first=found[sheet].name, second=file.name
            )
        found[sheet] = file
        size = file.stat().st_size
        if size > MAX_MEGABYTES << 20:
            raise RosterFileError("too_large", path=file, megabytes=size >> 20, limit=MAX_MEGABYTES)
        text = decode_csv(file.read_bytes(), file)
        deadline = _Deadline(file)
        rows: RawSheet = []
        try:
            for row in csv.reader(io.StringIO(text, newline="")):
                _check_shape(file, sheet, len(rows) + 1, len(row))
                rows.append([cell_text(_csv_cell(c)) for c in row])
                deadline.check()
        except csv.Error as exc:
            raise RosterFileError("bad_csv", path=file, detail=str(exc)) from None
        sheets[sheet] = rows
    return sheets


def _check_package(path: Path) -> None:
    """Refuse a workbook before opening it: too much inside once unpacked, or a DTD (no
    workbook Excel writes has one; entities are how billion laughs and XXE attack)."""
    try:
        with zipfile.ZipFile(path) as package:
            members = package.infolist()
            if len(members) > _MAX_MEMBERS:
                raise RosterFileError("not_xlsx", path=path, detail=f"{len(members)} files")
            unpacked = sum(m.file_size for m in members)
            if unpacked > MAX_MEGABYTES << 20:
                raise RosterFileError(
                    "too_large", path=path, megabytes=unpacked >> 20, limit=MAX_MEGABYTES
                )
            for m in members:
                if m.filename.endswith((".xml", ".rels")):
                    data = package.read(m)  # bounded by the sum checked above
                    # Excel writes UTF-8; another encoding could hide the DOCTYPE's bytes.
                    if b"\x00" in data[:64] or b"<!DOCTYPE" in data or b"<!ENTITY" in data:
                        raise RosterFileError("xml_dtd", path=path, part=m.filename)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise RosterFileError("not_xlsx", path=path, detail=exc.__class__.__name__) from None


def read_xlsx(path: Path) -> dict[str, RawSheet]:
    _check_package(path)
    deadline = _Deadline(path)
    try:
        # Not read-only: that mode drops empty rows, and the row numbers must match Excel.
        workbook = load_workbook(path, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise RosterFileError("not_xlsx", path=path, detail=exc.__class__.__name__) from None
    except Exception as exc:  # whatever else a crafted file makes the XML reader raise
        raise RosterFileError("not_xlsx", path=path, detail=exc.__class__.__name__) from None
    deadline.check()
    sheets: dict[str, RawSheet] = {}
    found: dict[str, str] = {}
    try:
        for ws in workbook.worksheets:
            sheet = _sheet_for(ws.title)
            if sheet is None:
                continue
            if sheet in found:
                raise RosterFileError(
                    "duplicate_sheet", sheet=sheet, first=found[sheet], second=ws.title
                )
            found[sheet] = ws.title
            # Checked before iterating: one far cell makes every row as wide as it.
            _check_shape(path, ws.title, ws.max_row, ws.max_column)
            rows: RawSheet = []
            for row in ws.iter_rows(min_row=1, max_row=ws.max_row, values_only=True):
                rows.append([cell_text(v) for v in row])
                deadline.check()
            sheets[sheet] = rows
    finally:
        workbook.close()
    return sheets


# --- writing ---------------------------------------------------------------------------


def check_target(path: Path) -> None:
    """Refuse a target the export cannot write, before any work is done."""
    if path.suffix.lower() not in XLSX_SUFFIXES and path.exists() and not path.is_dir():
        raise RosterFileError("not_a_folder", path=path)


def write_roster(path: Path, rows: Mapping[str, Sequence[Sequence[Cell]]]) -> Path:
    """XLSX when ``path`` ends in .xlsx, else a folder of CSV files; returns what was
    written."""
    check_target(path)
    if path.suffix.lower() in XLSX_SUFFIXES:
        write_xlsx(path, rows)
    else:
        write_csv_folder(path, rows)
    return path


def _csv_safe(text: str) -> str:
    """A cell a spreadsheet would run as a formula (``=HYPERLINK(...)``, ``=cmd|...``)
    gets an apostrophe first, which makes it text; the import drops it again."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_csv_folder(folder: Path, rows: Mapping[str, Sequence[Sequence[Cell]]]) -> None:
    check_target(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for sheet in SHEETS:
            with (folder / f"{sheet}.csv").open("w", encoding="utf-8-sig", newline="") as f:
                writer = csv.writer(f)
                for row in rows[sheet]:
                    writer.writerow([_csv_safe(cell_text(c)) for c in row])
    except OSError as exc:
        raise RosterFileError("cannot_write", path=folder, detail=exc.strerror) from None


def write_xlsx(path: Path, rows: Mapping[str, Sequence[Sequence[Cell]]]) -> None:
    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    bold = Font(bold=True)
    for sheet in SHEETS:
        ws = workbook.create_sheet(sheet)
        header, *body = rows[sheet]
        ws.append(list(header))
        for row in body:
            ws.append(list(row))
            for cell in ws[ws.max_row]:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # text, even when it starts with "=": no formula
        for pos, title in enumerate(header, start=1):
            letter = get_column_letter(pos)
            ws.cell(row=1, column=pos).font = bold
            ws.column_dimensions[letter].width = 24 if title in ("名称", "选派单位") else 14
            if title in _TEXT_HEADERS:
                ws.column_dimensions[letter].number_format = "@"
                for (cell,) in ws.iter_rows(min_row=2, min_col=pos, max_col=pos):
                    cell.number_format = "@"
        ws.freeze_panes = "A2"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        workbook.save(path)
    except OSError as exc:
        raise RosterFileError("cannot_write", path=path, detail=exc.strerror) from None
