"""The export's visits sheet made on two cores (services/export_parts.py): the same
workbook as one process writes, byte for byte once unzipped, on SQLite and PostgreSQL;
a second process that fails makes the export fail cleanly, and the next one works."""

from __future__ import annotations

import dataclasses
import io
import random
import sys
import zipfile
import zlib
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from campaign.reporting import Scope
from reports.xlsxstream import crc32_combine
from services import export_parts
from services import reports as report_service
from storage import report_rows
from storage import reports as q
from storage.db import Database
from tests.test_export_same import (
    EXPECTED,
    EXPECTED_UNORDERED,
    _county,
    digests,
    export_bytes,
    year_ask,
)


def _members(data: bytes) -> dict[str, bytes]:
    z = zipfile.ZipFile(io.BytesIO(data))
    assert z.testzip() is None  # every member's CRC-32 and length hold
    return {name: z.read(name) for name in z.namelist()}


def split_from(monkeypatch: pytest.MonkeyPatch, rows: int) -> list[export_parts.Split]:
    """Exports split from ``rows`` visit rows on; the splits made, in order."""
    made: list[export_parts.Split] = []
    plan = export_parts.plan

    def counted(conn: Any, ask: Any) -> export_parts.Split | None:
        split = plan(conn, ask)
        if split is not None:
            made.append(split)
        return split

    monkeypatch.setattr(export_parts, "SPLIT_ROWS", rows)
    monkeypatch.setattr(export_parts, "plan", counted)
    return made


@pytest.fixture
def children(monkeypatch: pytest.MonkeyPatch) -> list[export_parts.Split]:
    """Splits from a few hundred rows; the splits made, in order."""
    return split_from(monkeypatch, 200)


def test_crc32_combine_is_the_crc_of_the_whole() -> None:
    rnd = random.Random(7)
    for _ in range(300):
        a = rnd.randbytes(rnd.choice([0, 1, 5, 100, 4096]))
        b = rnd.randbytes(rnd.choice([0, 1, 3, 64, 70_000]))
        assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)
    big = bytes(3_000_000)
    assert crc32_combine(zlib.crc32(b"x"), zlib.crc32(big), len(big)) == zlib.crc32(b"x" + big)


async def test_split_export_is_the_one_process_export(
    db: Database, backend: str, children: list[export_parts.Split], monkeypatch: pytest.MonkeyPatch
) -> None:
    await _county(db)
    ask = year_ask(db)
    with monkeypatch.context() as m:
        m.setattr(export_parts, "SPLIT_ROWS", 10**9)
        single = export_bytes(ask)
    assert children == []
    split = export_bytes(ask)
    assert len(children) == 1 and children[0].rows > 0 and children[0].first_row > 1
    assert export_parts.last_peak_mb is not None and 0 < export_parts.last_peak_mb < 250
    assert _members(split) == _members(single)
    if backend == "sqlite":
        assert digests(split) == EXPECTED
    else:
        assert digests(split, unordered=EXPECTED_UNORDERED) == {**EXPECTED, **EXPECTED_UNORDERED}


async def test_split_at_every_share(
    db: Database, children: list[export_parts.Split], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Wherever the cut falls (the first day, the last day), the same workbook."""
    await _county(db)
    ask = year_ask(db)
    with monkeypatch.context() as m:
        m.setattr(export_parts, "SPLIT_ROWS", 10**9)
        single = _members(export_bytes(ask))
    for share in (0.01, 0.5, 0.99):
        monkeypatch.setattr(export_parts, "CHILD_SHARE", share)
        assert _members(export_bytes(ask)) == single, share
    assert len(children) == 3
    assert len({s.since for s in children}) == 3


async def test_visit_days_count_the_visit_rows(db: Database) -> None:
    await _county(db)
    ask = year_ask(db)
    with q.reading(ask.db_path) as conn:
        days, top = report_rows.visit_days(conn, ask.scope, ask.period)
        listed = list(report_rows.visit_rows(conn, ask.scope, ask.period))
    assert sum(n for _, n in days) == len(listed)
    assert top >= max(v[0] for v in listed)
    by_day: dict[str, int] = {}
    for v in listed:
        by_day[v[1].isoformat()] = by_day.get(v[1].isoformat(), 0) + 1
    assert dict(days) == by_day


async def test_second_process_seeing_other_rows_is_overruled(
    db: Database, children: list[export_parts.Split], monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the second process's snapshot does not hold the same later visits (on
    SQLite: a visit withdrawn between the two snapshots; here its id bound is set too
    low), this process writes them from its own snapshot: still the same workbook."""
    await _county(db)
    ask = year_ask(db)
    with monkeypatch.context() as m:
        m.setattr(export_parts, "SPLIT_ROWS", 10**9)
        single = _members(export_bytes(ask))
    plan = export_parts.plan

    def short(conn: Any, ask: Any) -> export_parts.Split | None:
        split = plan(conn, ask)
        assert split is not None
        return dataclasses.replace(split, up_to_id=split.up_to_id - 40)

    monkeypatch.setattr(export_parts, "plan", short)
    assert _members(export_bytes(ask)) == single


@pytest.mark.parametrize(
    "code",
    [
        "import sys; sys.exit('broken')",
        "import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
        "import sys; sys.stdout.write('not a piece')",
    ],
    ids=["raises", "killed", "no-result"],
)
async def test_a_failing_second_process_fails_the_export_cleanly(
    db: Database,
    backend: str,
    children: list[export_parts.Split],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    code: str,
) -> None:
    await _county(db)
    ask = year_ask(db)
    out = tmp_path / "year.xlsx"
    with monkeypatch.context() as m:
        m.setattr(export_parts, "child_command", lambda: [sys.executable, "-c", code])
        with pytest.raises(export_parts.ExportFailed):
            report_service.export_to_file(ask, out)
    assert not out.exists()  # no half file
    report_service.export_to_file(ask, out)  # the next export works
    assert len(children) == 2
    if backend == "sqlite":
        assert digests(out.read_bytes()) == EXPECTED
    else:
        got = digests(out.read_bytes(), unordered=EXPECTED_UNORDERED)
        assert got == {**EXPECTED, **EXPECTED_UNORDERED}


async def test_a_second_process_that_hangs_is_killed(
    db: Database, children: list[export_parts.Split], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past CHILD_TIMEOUT (made short here) the export fails instead of waiting."""
    await _county(db)
    monkeypatch.setattr(export_parts, "CHILD_TIMEOUT", 0.5)
    monkeypatch.setattr(
        export_parts,
        "child_command",
        lambda: [sys.executable, "-c", "import threading; threading.Event().wait()"],
    )
    with pytest.raises(export_parts.ExportFailed, match="in time"):
        export_bytes(year_ask(db))


def test_cli_export_with_a_failing_second_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``fieldbot report export``: a clear line, no file, and the next run works."""
    from bot.cli import main
    from tests.test_report_cli import _setup

    config = str(_setup(tmp_path))
    xlsx = tmp_path / "nov.xlsx"
    args = ["--config", config, "report", "export", "--period", "2026-11", "--out", str(xlsx)]
    monkeypatch.setattr(export_parts, "SPLIT_ROWS", 2)
    with monkeypatch.context() as m:
        m.setattr(export_parts, "child_command", lambda: [sys.executable, "-c", "exit(4)"])
        assert main(args) != 0
    said = capsys.readouterr().err
    assert "报表没有生成（the export's second process ended with 4）" in said
    assert not xlsx.exists()
    assert main(args) == 0
    book = openpyxl.load_workbook(xlsx)
    assert len(list(book["走访记录"].iter_rows(min_row=2))) == 7


async def test_split_export_of_one_team(
    db: Database, children: list[export_parts.Split], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A team leader's workbook: the second process reads that team's visits only."""
    await _county(db)
    with q.reading(str(db.path)) as conn:
        team = conn.execute("SELECT MIN(id) FROM teams").fetchone()[0]
    ask = dataclasses.replace(year_ask(db), scope=Scope.team(team))
    with monkeypatch.context() as m:
        m.setattr(export_parts, "SPLIT_ROWS", 10**9)
        single = _members(export_bytes(ask))
    assert _members(export_bytes(ask)) == single
    assert len(children) == 1


async def test_no_second_process_to_start_means_one_process(
    db: Database, children: list[export_parts.Split], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interpreter that cannot be started (none where it was): the same workbook,
    written by this process alone."""
    await _county(db)
    ask = year_ask(db)
    with monkeypatch.context() as m:
        m.setattr(export_parts, "SPLIT_ROWS", 10**9)
        single = _members(export_bytes(ask))
    monkeypatch.setattr(export_parts, "child_command", lambda: ["/nonexistent/python3"])
    assert _members(export_bytes(ask)) == single
    assert len(children) == 1
