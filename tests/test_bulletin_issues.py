"""The bulletin the office signs off (快报, 第 N 期): the weekly draft in the office chat,
the opening written in a private dialog, the model cases picked, publishing (by hand,
by the clock, or held), the Word document, and presses that must change nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.cli import main
from campaign.callbacks import BULLETIN
from campaign.i18n import default_catalog
from campaign.schedule import BULLETIN as BULLETIN_JOB
from campaign.settings import BulletinSettings
from handlers.common import deps as deps_of
from scheduler.runner import plan_by_id, run_if_due, sweep
from storage.db import Database, to_text
from tests.conftest import AppFactory, join
from tests.factories import Seed
from tests.fakebot import Harness, shown
from tests.pgtest import storage_section
from tests.problem_helpers import alert, buttons
from tests.report_factories import local, november
from tests.scheduler_factories import OFFICE_CHAT, bind_chat

T = default_catalog().t


def zh(key: str, **values: Any) -> str:
    return T("zh-CN", key, **values)


async def _world(bot: Harness, seed: Seed, db: Database) -> dict[str, Any]:
    """November's visits, one model case selected on 12 November, the office chat bound,
    and the weekly job run on Monday 16 November: draft No. 1 of week 46."""
    nov = await november(db, seed)
    await bind_chat(db, OFFICE_CHAT, "office", seed.cadres["office1"])
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO model_cases (visit_id, cadre_id, title, writeup, selected_by,"
            " selected_at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                nov.visits["v4"],
                seed.cadres["cadre2"],
                "银企对接解难题",
                "组织银行上门服务。",
                seed.cadres["office1"],
                to_text(local(2026, 11, 12)),
            ),
        )
    d = deps_of(bot.app)
    outcome = await run_if_due(d, plan_by_id(d, BULLETIN_JOB), bot.clock())
    assert outcome.status == "ran"
    return {"office": await join(bot, seed, "office1", 951)}


async def _issue(db: Database, number: int = 1) -> dict[str, Any]:
    row = await db.fetchone("SELECT * FROM bulletins WHERE number = ?", (number,))
    assert row is not None
    return dict(row)


async def _item(db: Database, key: str) -> dict[str, Any] | None:
    row = await db.fetchone("SELECT method, payload, card FROM outbox WHERE key = ?", (key,))
    return None if row is None else {**dict(row), "payload": json.loads(row["payload"])}


async def test_the_draft_goes_to_the_office_chat(bot: Harness, seed: Seed, db: Database) -> None:
    await _world(bot, seed, db)
    issue = await _issue(db)
    assert issue["week"] == "2026-W46" and issue["status"] == "draft"
    assert issue["publish_at"] == to_text(bot.clock() + timedelta(hours=24))
    draft = await _item(db, "bulletin:2026-W46")
    assert draft is not None and draft["card"] == "bulletin:1"
    text = draft["payload"]["text"]
    assert text.startswith(zh("bulletin.draft_head", number=1))
    assert "第1期" in text and "《银企对接解难题》——王芳（城关镇工作队）" in text
    datas = [data for _, data in buttons(draft)]
    assert datas == [BULLETIN.build(a, 1) for a in ("open", "cases", "pub")]


async def test_the_office_edits_and_publishes(bot: Harness, seed: Seed, db: Database) -> None:
    office = (await _world(bot, seed, db))["office"]
    # The opening: pressed in the office chat, typed in private.
    calls = await bot.press(office, BULLETIN.build("open", 1), chat_id=OFFICE_CHAT)
    assert any(
        c.chat_id == office.id and zh("bulletin.opening.ask", number=1, max=1000) in c.text
        for c in shown(calls)
    )
    calls = await bot.send(office, "本周全县各工作队扎实推进驻村工作。")
    assert shown(calls)[-1].text == zh("bulletin.opening_saved", number=1)
    assert (await _issue(db))["opening"] == "本周全县各工作队扎实推进驻村工作。"
    edits = await db.fetchall(
        "SELECT method, payload FROM outbox WHERE card = 'bulletin:1'"
        " AND key LIKE 'bulletin-edit:%'"
    )
    assert len(edits) == 1 and edits[0]["method"] == "editMessageText"
    assert "本周全县各工作队扎实推进驻村工作。" in json.loads(edits[0]["payload"])["text"]
    # Cases: the one selected is carried; pressing it drops it, again picks it.
    calls = await bot.press(office, BULLETIN.build("cases", 1), chat_id=OFFICE_CHAT)
    case_id = (await db.fetchone("SELECT id FROM model_cases"))["id"]  # type: ignore[index]
    await bot.press(office, BULLETIN.build("tog", 1, case_id), chat_id=OFFICE_CHAT)
    assert await db.fetchall("SELECT * FROM bulletin_cases") == []
    await bot.press(office, BULLETIN.build("tog", 1, case_id), chat_id=OFFICE_CHAT)
    assert len(await db.fetchall("SELECT * FROM bulletin_cases")) == 1

    await bot.press(office, BULLETIN.build("pub", 1), chat_id=OFFICE_CHAT)
    issue = await _issue(db)
    assert issue["status"] == "published" and issue["published_by"] == seed.cadres["office1"]
    published = await _item(db, "bulletin-issue:1")
    assert published is not None
    assert "本周全县各工作队扎实推进驻村工作。" in published["payload"]["text"]
    doc = await _item(db, "bulletin-doc:1")
    assert doc is not None and doc["payload"]["text"] == zh("bulletin.doc_caption", number=1)
    path = Path(doc["payload"]["document"])
    with zipfile.ZipFile(path) as z:
        xml = z.read("word/document.xml").decode("utf-8")
    assert "工作简报" in xml and "第1期" in xml and "活动领导小组办公室" in xml
    assert "银企对接解难题" in xml and "C00000" in xml  # the red masthead and rule

    # Published: every press says so, nothing changes.
    said = zh("bulletin.already_published", number=1)
    for action in ("pub", "cases", "back", "open"):
        assert (
            alert(await bot.press(office, BULLETIN.build(action, 1), chat_id=OFFICE_CHAT)) == said
        )
    assert (
        alert(await bot.press(office, BULLETIN.build("tog", 1, case_id), chat_id=OFFICE_CHAT))
        == said
    )
    assert len(await db.fetchall("SELECT * FROM outbox WHERE key LIKE 'bulletin-issue:%'")) == 1


async def test_only_the_office_signs_off(bot: Harness, seed: Seed, db: Database) -> None:
    office = (await _world(bot, seed, db))["office"]
    for key, uid in (("captain1", 961), ("inspector1", 962)):
        u = await join(bot, seed, key, uid)
        for action in ("pub", "cases", "open"):
            calls = await bot.press(u, BULLETIN.build(action, 1), chat_id=OFFICE_CHAT)
            assert alert(calls) == zh("bulletin.office_only")
    assert alert(await bot.press(office, "bul:v1:pub:x", chat_id=OFFICE_CHAT)) == zh(
        "common.stale_button"
    )
    assert alert(await bot.press(office, BULLETIN.build("pub", 99), chat_id=OFFICE_CHAT)) == zh(
        "common.stale_button"
    )
    assert (await _issue(db))["status"] == "draft"
    assert await db.fetchone("SELECT 1 FROM outbox WHERE key LIKE 'bulletin-issue:%'") is None


async def test_a_draft_goes_out_by_itself_or_is_held(
    make_bot: AppFactory, seed: Seed, db: Database
) -> None:
    bot = await make_bot()
    await _world(bot, seed, db)
    d = deps_of(bot.app)
    await sweep(d, bot.clock() + timedelta(hours=23))
    assert (await _issue(db))["status"] == "draft"
    await sweep(d, bot.clock() + timedelta(hours=25))
    issue = await _issue(db)
    assert issue["status"] == "published" and issue["published_by"] is None
    assert await _item(db, "bulletin-issue:1") is not None
    edit = await db.fetchone(
        "SELECT payload FROM outbox WHERE card = 'bulletin:1' AND key LIKE 'bulletin-edit:%'"
    )
    assert edit is not None and json.loads(edit["payload"])["text"].startswith("✅")

    # Held: the next week's draft waits for the office however long it takes.
    held = await make_bot(bulletin=BulletinSettings(publish_after_hours=0))
    hd = deps_of(held.app)
    held.clock.set(local(2026, 11, 23, 9))
    assert (await run_if_due(hd, plan_by_id(hd, BULLETIN_JOB), held.clock())).status == "ran"
    second = await _issue(db, 2)
    assert second["week"] == "2026-W47" and second["publish_at"] is None
    await sweep(hd, held.clock() + timedelta(days=30))
    assert (await _issue(db, 2))["status"] == "draft"
    draft = await _item(db, "bulletin:2026-W47")
    assert draft is not None and zh("bulletin.held") in draft["payload"]["text"]


async def test_without_sign_off_the_bulletin_goes_as_before(
    make_bot: AppFactory, seed: Seed, db: Database
) -> None:
    bot = await make_bot(bulletin=BulletinSettings(sign_off=False))
    await november(db, seed)
    await bind_chat(db, OFFICE_CHAT, "office", seed.cadres["office1"])
    d = deps_of(bot.app)
    assert (await run_if_due(d, plan_by_id(d, BULLETIN_JOB), bot.clock())).status == "ran"
    assert await db.fetchall("SELECT * FROM bulletins") == []
    item = await _item(db, "bulletin:2026-W46")
    assert item is not None and buttons(item) == []


async def test_bulletin_export_cli(bot: Harness, seed: Seed, db: Database, tmp_path: Path) -> None:
    await _world(bot, seed, db)
    config = tmp_path / "c.toml"
    config.write_text(storage_section(db.path), encoding="utf-8")
    out = tmp_path / "no1.docx"
    args = ["--config", str(config), "bulletin", "export"]
    # The command line runs its own event loop: off this test's.
    assert await asyncio.to_thread(main, [*args, "1", "--out", str(out)]) == 0
    with zipfile.ZipFile(out) as z:
        assert "第1期" in z.read("word/document.xml").decode("utf-8")
    assert await asyncio.to_thread(main, [*args, "7", "--out", str(out)]) == 2


def test_settings_section() -> None:
    assert dataclasses.asdict(BulletinSettings())["publish_after_hours"] == 24
