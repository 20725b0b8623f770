"""``fieldbot export-media PERIOD DIR``: the kept files of a period, by team / group /
cadre / date, with index.xlsx; and the report workbook's column naming each file."""

from __future__ import annotations

import asyncio
from datetime import date
from io import BytesIO
from pathlib import Path

import openpyxl
import pytest

from bot.cli import main
from bot.media import media_fetcher_of
from campaign.i18n import default_catalog
from campaign.periods import month_of
from campaign.reporting import Scope
from campaign.settings import Settings
from services import media as media_service
from services import reports as service
from storage import drafts, visits
from storage.db import Database, open_database
from storage.people import cadre_by_id
from storage.visits import Photo, VisitRecord
from tests.conftest import join
from tests.factories import Seed, seed_roster
from tests.fakebot import FakeBotAPI, Harness
from tests.problem_helpers import raise_via_chat
from tests.test_report_numbers import ask
from tests.visits_support import flow

NOVEMBER = month_of(date(2026, 11, 16))


async def test_export_writes_files_by_team_group_cadre_and_date_with_an_index(
    bot: Harness, seed: Seed, db: Database, api: FakeBotAPI, settings: Settings, tmp_path: Path
) -> None:
    api.add_file("ph-a", b"jpeg A")
    api.add_file("vo-1", b"ogg 1")
    u = await join(bot, seed, "cadre1", 940)
    await flow(bot, u, submit=False)
    await bot.tap(u, "人数/照片/定位")
    await bot.photo(u, "ph-a")
    await bot.voice(u, "vo-1")
    await bot.tap(u, "下一步")
    await bot.tap(u, "提交")
    w = await join(bot, seed, "cadre4", 941)
    await raise_via_chat(bot, w, place="河口村", photos=1)
    report = await media_fetcher_of(bot.app).fetch_due(bot.clock())
    assert sorted(report.outcomes.values()) == ["saved"] * 3
    out = tmp_path / "export"
    done = await media_service.export(db, settings, default_catalog(), "zh-CN", NOVEMBER, out)
    assert (done.files, done.missing) == (3, 0)
    t1, g1, c1 = seed.teams["T1"], seed.groups["G1"], seed.cadres["cadre1"]
    t2, g3, c4 = seed.teams["T2"], seed.groups["G3"], seed.cadres["cadre4"]
    day = "2026-11-16"
    found = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    visit_dir = f"{t1}-城关镇工作队/{g1}-城关一组/{c1}-张伟/{day}"
    problem_dir = f"{t2}-河口镇工作队/{g3}-河口一组/{c4}-赵敏/{day}"
    assert found == sorted(
        [
            "index.xlsx",
            f"{visit_dir}/visit-1-photo-1.jpg",
            f"{visit_dir}/visit-1-voice-2.ogg",
            f"{problem_dir}/problem-1-photo-3.jpg",
        ]
    )
    assert (out / visit_dir / "visit-1-photo-1.jpg").read_bytes() == b"jpeg A"
    sheet = openpyxl.load_workbook(out / "index.xlsx").worksheets[0]
    rows = [tuple(c.value for c in r) for r in sheet.iter_rows()]
    assert rows[0][:3] == ("文件", "文件夹", "工作队")
    assert ("visit-1-voice-2.ogg", visit_dir, "城关镇工作队", "城关一组", "张伟") == rows[2][:5]
    assert rows[3][6] == "问题 P-1" and rows[3][7] == "照片"
    # The report workbook names the same files on the visit's row.
    buf = BytesIO()
    service.export_workbook(ask(db, Scope.everything()), buf)
    visits_sheet = openpyxl.load_workbook(BytesIO(buf.getvalue()))["走访记录"]
    header = [c.value for c in next(visits_sheet.iter_rows())]
    column = header.index("照片语音文件")
    cells = [r[column].value for r in visits_sheet.iter_rows(min_row=2)]
    assert cells == ["visit-1-photo-1.jpg、visit-1-voice-2.ogg"]


async def test_a_file_gone_from_the_data_folder_is_marked_in_the_index(
    bot: Harness, seed: Seed, db: Database, settings: Settings, tmp_path: Path
) -> None:
    u = await join(bot, seed, "cadre1", 942)
    await raise_via_chat(bot, u, photos=1)
    await media_fetcher_of(bot.app).fetch_due(bot.clock())
    row = await db.fetchone("SELECT path FROM media_files")
    assert row is not None
    media_root = Path(str(settings.media.folder_for(settings.storage.database)))
    (media_root / row["path"]).unlink()
    done = await media_service.export(
        db, settings, default_catalog(), "zh-CN", NOVEMBER, tmp_path / "out"
    )
    assert (done.files, done.missing) == (0, 1)
    sheet = openpyxl.load_workbook(done.index).worksheets[0]
    assert "（文件不在了）" in str(sheet["A2"].value)


# --- the command ---------------------------------------------------------------------------


def _setup(tmp_path: Path) -> str:
    db_path = tmp_path / "office.sqlite3"
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\ndatabase = "{db_path}"\n', encoding="utf-8")

    async def fill() -> None:
        async with open_database(db_path) as db:
            seed = await seed_roster(db)
            cadre = await cadre_by_id(db, seed.cadres["cadre1"])
            assert cadre is not None
            from datetime import UTC, datetime

            now = datetime(2026, 11, 16, 1, tzinfo=UTC)
            draft = await drafts.start(db, "visit", cadre.id, 0, 0, "summary", {}, now)
            record = VisitRecord(
                place_id=seed.places["c1"],
                day=date(2026, 11, 16),
                kinds=("policy",),
                text="走访",
                photos=(Photo("ph-x", "ph-xu"),),
            )
            await visits.submit(
                db, draft_id=draft.id, cadre=cadre, record=record, now=now, keep_files=True
            )
            async with db.write() as conn:
                await conn.execute(
                    "UPDATE media_files SET status = 'saved', path = 'visits/1/photo-0-1.jpg'"
                )
        target = tmp_path / "media" / "visits" / "1"
        target.mkdir(parents=True)
        (target / "photo-0-1.jpg").write_bytes(b"jpeg")

    asyncio.run(fill())
    return str(config)


def test_the_command_and_its_mistakes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _setup(tmp_path)
    out = tmp_path / "evidence-nov"
    assert main(["--config", config, "export-media", "2026-11", str(out)]) == 0
    assert "已导出 1 个文件" in capsys.readouterr().out
    assert (out / "index.xlsx").is_file()
    assert len([p for p in out.rglob("*.jpg")]) == 1
    # A folder that already holds files is refused, untouched.
    assert main(["--config", config, "export-media", "2026-11", str(out)]) == 2
    assert "已经有文件" in capsys.readouterr().err
    assert main(["--config", config, "export-media", "十三月", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()
    empty = tmp_path / "october"
    assert main(["--config", config, "export-media", "2026-10", str(empty)]) == 0
    assert "已导出 0 个文件" in capsys.readouterr().out


async def test_a_problem_raised_before_eight_is_filed_under_its_local_date(
    bot: Harness, seed: Seed, db: Database, settings: Settings, tmp_path: Path
) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    bot.clock.set(datetime(2026, 12, 1, 7, 0, tzinfo=ZoneInfo("Asia/Shanghai")))  # 23:00 UTC
    u = await join(bot, seed, "cadre1", 943)
    await raise_via_chat(bot, u, photos=1)
    await media_fetcher_of(bot.app).fetch_due(bot.clock())
    december = month_of(date(2026, 12, 1))
    assert (
        await media_service.export(
            db, settings, default_catalog(), "zh-CN", NOVEMBER, tmp_path / "nov"
        )
    ).files == 0
    done = await media_service.export(
        db, settings, default_catalog(), "zh-CN", december, tmp_path / "dec"
    )
    assert done.files == 1
    assert [p.parent.name for p in (tmp_path / "dec").rglob("*.jpg")] == ["2026-12-01"]
