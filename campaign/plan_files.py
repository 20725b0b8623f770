"""The clerk's plan workbook: the template (Chinese headers, an instructions sheet,
drop-down lists for months, kinds and statuses), reading it back (every cell as text,
row numbers as Excel shows them) and the export of what is in force.

Reading shares the roster reader's guards (size, zip bomb, DTD) and its errors
(``roster.file.*`` in the catalogue).
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation

from campaign.plans import HEADERS, SHEET
from campaign.roster_files import (
    MAX_COLUMNS,
    MAX_ROWS,
    XLSX_SUFFIXES,
    RosterFileError,
    _check_package,
    cell_text,
)

Cell = str | int | float | None
_WIDE = {"事项": 30, "措施": 30, "责任人": 24, "取消原因": 20}
_TEXT = {"编号", "月份", "完成日期", "责任人"}
INSTRUCTIONS_SHEET = "填写说明"


def read_plans(path: Path) -> list[list[str]]:
    """The rows of the plan sheet (``工作计划``, else the first sheet)."""
    if not path.exists():
        raise RosterFileError("not_found", path=path)
    if path.suffix.lower() not in XLSX_SUFFIXES:
        raise RosterFileError("unknown_format", path=path)
    _check_package(path)
    try:
        workbook = load_workbook(path, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise RosterFileError("not_xlsx", path=path, detail=exc.__class__.__name__) from None
    except Exception as exc:  # whatever else a crafted file makes the XML reader raise
        raise RosterFileError("not_xlsx", path=path, detail=exc.__class__.__name__) from None
    try:
        sheets = [ws for ws in workbook.worksheets if ws.title.strip() == SHEET]
        ws = sheets[0] if sheets else workbook.worksheets[0]
        if ws.max_row > MAX_ROWS:
            raise RosterFileError(
                "too_many_rows", path=path, sheet=ws.title, rows=ws.max_row, limit=MAX_ROWS
            )
        if ws.max_column > MAX_COLUMNS:
            raise RosterFileError(
                "too_many_columns",
                path=path,
                sheet=ws.title,
                columns=ws.max_column,
                limit=MAX_COLUMNS,
            )
        return [
            [cell_text(v) for v in row]
            for row in ws.iter_rows(min_row=1, max_row=ws.max_row, values_only=True)
        ]
    finally:
        workbook.close()


def write_plans(
    path: Path,
    rows: Sequence[Sequence[Cell]],
    *,
    months: Sequence[str],
    kinds: Sequence[str],
    statuses: Sequence[str],
    instructions: Sequence[str],
) -> None:
    """The plan workbook: the header, ``rows`` under it (none for the template), drop-down
    lists and the instructions sheet."""
    if path.suffix.lower() not in XLSX_SUFFIXES:
        raise RosterFileError("unknown_format", path=path)
    workbook = Workbook()
    ws = workbook.active
    assert ws is not None
    ws.title = SHEET
    ws.append(list(HEADERS))
    for row in rows:
        ws.append(list(row))
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, even when it starts with "=": no formula
    bold = Font(bold=True)
    last = max(ws.max_row, 2) + 500
    for pos, title in enumerate(HEADERS, start=1):
        letter = get_column_letter(pos)
        ws.cell(row=1, column=pos).font = bold
        ws.column_dimensions[letter].width = _WIDE.get(title, 12)
        if title in _TEXT:
            ws.column_dimensions[letter].number_format = "@"
            for (cell,) in ws.iter_rows(min_row=2, min_col=pos, max_col=pos):
                cell.number_format = "@"
    lists = workbook.create_sheet("选项")
    for pos, values in enumerate((months, kinds, statuses), start=1):
        for n, value in enumerate(values, start=1):
            lists.cell(row=n, column=pos, value=value).data_type = "s"
    lists.sheet_state = "hidden"
    for header, col, count in (
        ("月份", "A", len(months)),
        ("工作内容", "B", len(kinds)),
        ("状态", "C", len(statuses)),
    ):
        target = get_column_letter(HEADERS.index(header) + 1)
        dv = DataValidation(type="list", formula1=f"='选项'!${col}$1:${col}${max(count, 1)}")
        dv.allow_blank = True
        ws.add_data_validation(dv)
        dv.add(f"{target}2:{target}{last}")
    ws.freeze_panes = "A2"
    notes = workbook.create_sheet(INSTRUCTIONS_SHEET)
    notes.column_dimensions["A"].width = 100
    for line in instructions:
        notes.append([line])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        workbook.save(path)
    except OSError as exc:
        raise RosterFileError("cannot_write", path=path, detail=exc.strerror) from None
