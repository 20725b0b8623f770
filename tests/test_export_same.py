"""The year export's fast path writes the same workbook as before it was made fast.

A seeded county (``bot.demo.generate``, a fixed seed and clock) with hostile texts,
empty texts, missing numbers and kept evidence files added, exported for the year; every
sheet's cells (value, type, number format, bold), titles, frozen panes, filters and
print titles are read back with openpyxl and digested. The digests were taken from the
export as it was before the speed work (row-by-row lookups, one frozen dataclass per
row, one format per row): any difference in a cell, its order or its type changes them.

When a sheet is changed on purpose, take the new digests from the failing assertion;
to see what differs, write ``sheet_dump`` of each sheet before and after and compare.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Collection
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl

from bot.demo import generate
from campaign.i18n import default_catalog
from campaign.periods import parse_period
from campaign.reporting import Scope
from campaign.settings import Settings
from services import reports as report_service
from storage.db import Database

NOW = datetime(2026, 12, 31, 20, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

# Sheet title -> sha256 of sheet_dump, from the export before the speed work.
EXPECTED: dict[str, str] = {
    "汇总": "a2460927cea5e75c9c976151f10c35f1e831cb15f7412bed2f9d24e7149ced4e",
    "走访记录": "2337abfea9279726ca804b2b558c3b28fe1b55f02f0722c821d6b732786818d2",
    "问题台账": "eea99964ba617589c1ce9fa6d159e92eef836f7967ae6ed3b3869ecf5d3c89b5",
    "处理记录": "90ce6f5a25bfe00e16f46f4ca13a3720231871d29f2a36b2ea694ef1cc8e2788",
    "干部进度": "f92b006c0d05a7643f61845bbe3c114ed65028c8821cbdaf7fa8e1b18d53beb3",
    "工作计划": "834d4d6a4ae18efa0d576868a7d1649ddf29045275ddbe7e0af184c257d28392",
    "回访": "e440ca225cc9752a21f53113a355024dbc52c9f4c4b590c34deefc96c1924203",
    "城关镇工作队": "7b442ecf9076be9354a41e04d638a22fd50b591b9cc096b829995d6ebad317bc",
    "河口镇工作队": "d71e6194c7f4a9d2cce5220a49d26a214e12ca75a1b4f604ada0656ce7cbc0a7",
    "考核": "b6a2ded7fe4fbc278cffe0aa9ead481a8cd8944e1c92711d2661e9c23e638849",
    "考核-选派单位": "06c44e202ae2c02f256e7a9229e2f52c7da8f7268a64a867f2823d464e8c9f36",
    "典型": "832f870a9565e0908c56205b11ac1e28705f749af469e63332567cf82264ea9a",
}


# PostgreSQL orders cadres' names by its collation, SQLite by code point: the sheets
# listing cadres by name hold the same cells in another order there. Sheet title -> sha256
# of unordered_dump, from the export before the speed work (on SQLite).
EXPECTED_UNORDERED: dict[str, str] = {
    "干部进度": "156564f371229527f63179aa435e06b015cacb46e67f8671d927f4ca13e40dd4",
    "城关镇工作队": "5ad7794668a36ca6b6d0acd73ec25503b2c52078942f6274f91345a843b68868",
    "河口镇工作队": "92af96d32962419760a57a88275296ca7e78db202464410cd7a0f1fe9e945207",
}


async def _county(db: Database) -> None:
    """A small seeded year, then the awkward cases the demo data never makes."""
    await generate(db, cadres=200, places=30, visits=1500, problems=120, year=2026, now=NOW)
    async with db.write() as conn:
        ids = [
            r[0]
            for r in await (
                await conn.execute(
                    "SELECT id FROM visits WHERE status = 'active' ORDER BY id LIMIT 12"
                )
            ).fetchall()
        ]
        hostile = [
            "A & B <c> \"d\" 'e' \x01\x1f end",
            "",
            "=SUM(A1:A2)",
            "第一行\n第二行\t制表",
            "]]> &amp; <![CDATA[",
        ]
        for vid, text in zip(ids, hostile, strict=False):
            await conn.execute("UPDATE visits SET text = ? WHERE id = ?", (text, vid))
        await conn.execute(
            "UPDATE visits SET people_met = NULL, distance_km = NULL WHERE id = ?", (ids[5],)
        )
        await conn.execute(
            "UPDATE visits SET distance_km = 12.345, far = 1, model_case = 1 WHERE id = ?",
            (ids[6],),
        )
        await conn.execute(
            "UPDATE visits SET voice_file_id = 'voice-x' WHERE id IN (?, ?)", (ids[7], ids[8])
        )
        stamp = "2026-11-16T00:00:00+00:00"
        await conn.execute(
            "INSERT INTO media_files (owner, owner_id, kind, file_id, file_key, status,"
            " next_try_at, created_at, updated_at)"
            " VALUES ('visit', ?, 'voice', 'voice-x', 'voice-x', 'saved', ?, ?, ?)",
            (ids[7], stamp, stamp, stamp),
        )
        photos = await (
            await conn.execute(
                "SELECT visit_id, file_id FROM visit_photos ORDER BY visit_id, position LIMIT 6"
            )
        ).fetchall()
        for i, (vid, file_id) in enumerate(photos):
            await conn.execute(
                "INSERT INTO media_files (owner, owner_id, kind, file_id, file_key, status,"
                " next_try_at, created_at, updated_at)"
                " VALUES ('visit', ?, 'photo', ?, ?, ?, ?, ?, ?)",
                (vid, file_id, file_id, "saved" if i % 3 else "pending", stamp, stamp, stamp),
            )
        await conn.execute(
            "UPDATE problems SET description = ? WHERE id = (SELECT MIN(id) FROM problems)",
            ("水 & 电 <断> \x02",),
        )


def _cell(c: Any) -> str:
    bold = bool(c.font and c.font.b)
    return f"{c.coordinate}|{c.data_type}|{c.number_format}|{int(bold)}|{c.value!r}"


def sheet_dump(ws: Any) -> str:
    head = [
        f"title={ws.title}",
        f"freeze={ws.freeze_panes}",
        f"filter={ws.auto_filter.ref}",
        f"print_titles={ws.print_title_rows}",
        f"dims={ws.max_row}x{ws.max_column}",
    ]
    cells = [_cell(c) for row in ws.iter_rows() for c in row if c.value is not None]
    return "\n".join(head + cells)


def unordered_dump(dump: str) -> str:
    """The sheet's head and its cells' contents without their places, sorted."""
    lines = dump.split("\n")
    return "\n".join(lines[:5] + sorted(c.split("|", 1)[1] for c in lines[5:]))


def digests(data: bytes, unordered: Collection[str] = ()) -> dict[str, str]:
    """sha256 of each sheet's dump (``unordered_dump`` for the titles in ``unordered``)."""
    book = openpyxl.load_workbook(io.BytesIO(data))
    out = {}
    for ws in book.worksheets:
        dump = sheet_dump(ws)
        if ws.title in unordered:
            dump = unordered_dump(dump)
        out[ws.title] = hashlib.sha256(dump.encode("utf-8")).hexdigest()
    return out


def year_ask(db: Database) -> report_service.Ask:
    """The office's export of 2026 for the whole county, on ``db``."""
    return report_service.Ask(
        db_path=str(db.path),
        settings=Settings(),
        catalog=default_catalog(),
        lang="zh-CN",
        scope=Scope.everything(),
        period=parse_period("2026", NOW.date()),
        now=NOW,
    )


def export_bytes(ask: report_service.Ask) -> bytes:
    """The workbook ``ask`` exports, as the bytes of the file."""
    out = io.BytesIO()
    report_service.export_workbook(ask, out)
    return out.getvalue()


def _export(db: Database) -> bytes:
    return export_bytes(year_ask(db))


async def test_year_export_is_the_same_workbook_as_before(db: Database, backend: str) -> None:
    await _county(db)
    if backend == "sqlite":
        assert digests(_export(db)) == EXPECTED
    else:
        got = digests(_export(db), unordered=EXPECTED_UNORDERED)
        assert got == {**EXPECTED, **EXPECTED_UNORDERED}


def test_local_serial_is_the_serial_of_the_wall_time() -> None:
    """The visit sheet's fast time of entry is the number the generic cell writer gives
    for the naive wall time, also across daylight-saving changes and half-hour zones."""
    from datetime import UTC, timedelta

    from reports.workbook import local_serial
    from reports.xlsxstream import serial_datetime

    for name in ("Asia/Shanghai", "America/New_York", "Australia/Lord_Howe", "UTC"):
        tz = ZoneInfo(name)
        serial = local_serial(tz)
        moment = datetime(2026, 1, 1, tzinfo=UTC)
        while moment.year == 2026:
            wall = moment.astimezone(tz).replace(tzinfo=None)
            assert serial(moment) == serial_datetime(wall), (name, moment)
            moment += timedelta(minutes=17, seconds=13)
