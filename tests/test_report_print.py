"""The workbook a clerk prints: filters, landscape one page wide, headers on every page,
team sheets titled for their team, whole-number targets, sheets split at Excel's limit."""

from __future__ import annotations

from io import BytesIO

import openpyxl
import pytest

from campaign.reporting import Scope
from reports import xlsxstream
from services import reports as service
from storage.db import Database
from tests.factories import Seed
from tests.report_factories import november
from tests.test_report_numbers import ask


async def workbook(db: Database, scope: Scope) -> openpyxl.Workbook:
    out = BytesIO()
    service.export_workbook(ask(db, scope), out)
    return openpyxl.load_workbook(BytesIO(out.getvalue()))


async def test_every_sheet_prints_landscape_one_page_wide_with_a_filter(
    db: Database, seed: Seed
) -> None:
    await november(db, seed)
    wb = await workbook(db, Scope.everything())
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0), ws.title
        assert ws.auto_filter.ref, ws.title
    assert wb["汇总"].auto_filter.ref.startswith("A2:")  # the table under the title
    assert wb["汇总"].print_title_rows == "$1:$2"
    assert wb["走访记录"].auto_filter.ref == "A1:R8"  # header and November's 7 visits
    assert wb["走访记录"].print_title_rows == "$1:$1"
    team = wb["城关镇工作队"]
    assert team.print_title_rows == "$1:$1"
    cadre_header = next(
        r[0].row for r in team.iter_rows() if r[0].value == "工作队" and r[0].row > 2
    )
    assert team.auto_filter.ref.startswith(f"A{cadre_header}:")  # the cadres' table


async def test_team_sheets_are_titled_for_their_team(db: Database, seed: Seed) -> None:
    await november(db, seed)
    wb = await workbook(db, Scope.everything())
    title = wb["城关镇工作队"]["A1"].value
    assert title.startswith("城关镇工作队｜2026年11月 工作报表") and "全县" not in title


async def test_targets_are_whole_numbers(db: Database, seed: Seed) -> None:
    await november(db, seed)
    wb = await workbook(db, Scope.everything())
    ws = wb["汇总"]
    header = [c.value for c in ws[2]]
    col = header.index("走访任务")
    targets = [r[col] for r in ws.iter_rows(min_row=3, values_only=True)]
    assert targets and all(isinstance(v, int) for v in targets)
    assert ws.cell(row=3, column=col + 1).number_format == "0"


async def test_a_table_past_excels_last_row_goes_on_in_a_second_sheet(
    db: Database, seed: Seed, monkeypatch: pytest.MonkeyPatch
) -> None:
    await november(db, seed)
    monkeypatch.setattr(xlsxstream, "MAX_ROWS", 4)  # header + 3 visits a sheet
    wb = await workbook(db, Scope.everything())
    parts = [n for n in wb.sheetnames if n.startswith("走访记录")]
    assert parts == ["走访记录", "走访记录(2)", "走访记录(3)"]
    rows = [r for n in parts for r in wb[n].iter_rows(min_row=2, values_only=True)]
    assert len(rows) == 7 and len({r[0] for r in rows}) == 7
    for n in parts:
        assert wb[n]["A1"].value == "编号" and wb[n].max_row <= 4
        assert wb[n].auto_filter.ref and wb[n].print_title_rows == "$1:$1"
