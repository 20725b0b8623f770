"""The streaming XLSX writer, read back with openpyxl: every kind of value lands as the
cell a clerk expects, whatever the shape of the row."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from enum import IntEnum, StrEnum

import openpyxl

from reports.xlsxstream import HEADER, StreamingWorkbook


class Colour(StrEnum):
    RED = "红"


class Level(IntEnum):
    TEAM = 2


def _read(rows: list[list[object]], formats: list[str] | None = None) -> list[tuple[object, ...]]:
    out = io.BytesIO()
    with StreamingWorkbook(out) as wb:
        ws = wb.sheet("表", [10, 10, 10], freeze_rows=1, columns=3)
        if formats:
            ws.formats = formats
        ws.append(["甲", "乙", "丙"], style=HEADER)
        for row in rows:
            ws.append(row)
    out.seek(0)
    sheet = openpyxl.load_workbook(out).active
    assert sheet is not None
    return [tuple(c.value for c in row) for row in sheet.iter_rows(min_row=2)]


def test_values_of_every_kind_read_back() -> None:
    rows = _read(
        [
            [1, 2.5, "文字"],
            [True, False, None],
            [date(2026, 12, 1), datetime(2026, 12, 1, 9, 30), ""],
            [Decimal("3.5"), Level.TEAM, Colour.RED],
            ['A & B <c> "d"', " 前后空格 ", "控制\x01字符\x0b"],
            ["", "", "只有最后"],
        ]
    )
    assert rows[0] == (1, 2.5, "文字")
    assert rows[1] == (1, 0, None)
    assert rows[2][0] == datetime(2026, 12, 1)
    assert rows[2][1] == datetime(2026, 12, 1, 9, 30)
    assert rows[2][2] is None
    assert rows[3] == (3.5, 2, "红")
    assert rows[4] == ('A & B <c> "d"', " 前后空格 ", "控制字符")
    assert rows[5] == (None, None, "只有最后")


def test_many_rows_of_mixed_shapes_keep_their_order() -> None:
    written = [[i, f"第{i}行" if i % 3 else None, i * 0.5 if i % 2 else "半"] for i in range(2000)]
    rows = _read(written, ["0", "general", "0.0"])
    assert len(rows) == 2000
    assert [r[0] for r in rows] == list(range(2000))
    assert rows[4] == (4, "第4行", "半")
    assert rows[3] == (3, None, 1.5)
