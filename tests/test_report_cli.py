"""``fieldbot report`` and ``fieldbot demo-data`` from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import openpyxl
import pytest

from bot.cli import main
from storage.db import open_database
from tests.factories import seed_roster
from tests.report_factories import has_cjk_font, november


def _setup(tmp_path: Path, fill: bool = True) -> Path:
    db_path = tmp_path / "office.sqlite3"
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\ndatabase = "{db_path}"\n', encoding="utf-8")

    async def fill_db() -> None:
        async with open_database(db_path) as db:
            if fill:
                await november(db, await seed_roster(db))

    asyncio.run(fill_db())
    return config


def test_text_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(_setup(tmp_path))
    assert main(["--config", config, "report", "summary", "--period", "2026-11"]) == 0
    out = capsys.readouterr().out
    assert "📊 工作汇总｜全县｜2026年11月" in out and "走访 7 次" in out
    assert (
        main(["--config", config, "report", "summary", "--period", "2026-11", "--team", "T2"]) == 0
    )
    out = capsys.readouterr().out
    assert "河口镇工作队" in out and "城关" not in out
    args = ["--config", config, "report", "coverage", "--period", "2026-11", "--lang", "en"]
    assert main(args) == 0
    assert "Places nobody visited (1):" in capsys.readouterr().out
    assert main(["--config", config, "report", "log", "张伟", "--period", "2026-11"]) == 0
    assert "走访 3 次" in capsys.readouterr().out
    assert main(["--config", config, "report", "cases", "--period", "2026-11"]) == 0
    assert "对接银行贷款" in capsys.readouterr().out
    out_file = tmp_path / "overdue.txt"
    assert main(["--config", config, "report", "overdue", "--out", str(out_file)]) == 0
    assert "超期问题" in out_file.read_text(encoding="utf-8")


def test_files_and_mistakes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(_setup(tmp_path))
    xlsx = tmp_path / "nov.xlsx"
    args = ["--config", config, "report", "export", "--period", "2026-11", "--out", str(xlsx)]
    assert main(args) == 0
    wb = openpyxl.load_workbook(xlsx)
    assert wb.sheetnames[0] == "汇总" and len(list(wb["走访记录"].iter_rows(min_row=2))) == 7
    png = tmp_path / "nov.png"
    args = ["--config", config, "report", "chart", "--period", "2026-11", "--out", str(png)]
    if has_cjk_font():  # else the chart is refused with a line saying what to install
        assert main(args) == 0
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # summary as a workbook: the same export
    args = ["--config", config, "report", "summary", "--format", "xlsx", "--out", str(xlsx)]
    assert main(args) == 0
    capsys.readouterr()
    for bad in (
        ["report", "summary", "--period", "2026-13"],
        ["report", "summary", "--team", "火星镇"],
        ["report", "log"],
        ["report", "log", "不存在"],
        ["report", "export", "--format", "text"],
    ):
        assert main(["--config", config, *bad]) == 2, bad
        err = capsys.readouterr().err
        assert err.startswith("fieldbot: ") and "Traceback" not in err, bad


def test_demo_data_is_deterministic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(_setup(tmp_path, fill=False))
    small = ["--cadres", "60", "--places", "20", "--visits", "800", "--problems", "50"]
    first, second = tmp_path / "a.sqlite3", tmp_path / "b.sqlite3"
    assert main(["--config", config, "demo-data", str(first), *small]) == 0
    assert main(["--config", config, "demo-data", str(second), *small]) == 0
    out = capsys.readouterr().out
    assert "800 条走访、50 件问题" in out and "（100%）" in out  # progress, then the counts
    # Not into a database that has a roster already.
    assert main(["--config", config, "demo-data", str(first), *small]) == 2

    async def dump(path: Path) -> list[tuple[object, ...]]:
        async with open_database(path) as db:
            rows = await db.fetchall(
                "SELECT v.cadre_id, v.place_id, v.visit_date, v.status, group_concat(k.kind)"
                " FROM visits v JOIN visit_kinds k ON k.visit_id = v.id GROUP BY v.id"
            )
            return [tuple(r) for r in rows]

    a, b = asyncio.run(dump(first)), asyncio.run(dump(second))
    assert a == b and len(a) == 800


async def test_demo_data_stops_at_today_and_shows_progress(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from bot.demo import generate

    now = datetime(2026, 6, 15, 4, 0, tzinfo=UTC)  # noon in Shanghai
    heard: list[tuple[str, int, int]] = []
    async with open_database(tmp_path / "d.sqlite3") as db:
        await generate(
            db,
            cadres=60,
            places=20,
            visits=800,
            problems=50,
            year=2026,
            now=now,
            progress=lambda *p: heard.append(p),
        )
        (last_visit,) = await db.fetchone("SELECT MAX(visit_date) FROM visits")
        (last_made,) = await db.fetchone("SELECT MAX(created_at) FROM visits")
        (last_event,) = await db.fetchone("SELECT MAX(at) FROM problem_events")
    assert last_visit <= "2026-06-15"
    assert last_made <= now.isoformat() and last_event <= now.isoformat()
    assert heard[0][0] == "roster" and heard[-1] == ("visits", 800, 800)


async def test_demo_data_refuses_a_year_not_begun(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from bot.demo import generate

    async with open_database(tmp_path / "d.sqlite3") as db:
        with pytest.raises(ValueError, match="2027 has not begun"):
            await generate(db, year=2027, now=datetime(2026, 12, 1, tzinfo=UTC))
