"""/parked: the office lists parked items and unreachable chats and retries them; nobody
else may, whatever buttons they press."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bot import cli
from bot.commands import say
from campaign.settings import Settings
from storage import outbox
from storage.db import Database, open_database
from tests.conftest import drain, join, user
from tests.factories import Seed
from tests.fakebot import ApiRefusal, Call, FakeBotAPI, FakeClock, Harness, shown
from tests.test_dispatcher import delivered, put, row, timed_out


async def park_one(bot: Harness, db: Database, clock: FakeClock, api: FakeBotAPI) -> None:
    def refuse_once(call: Call) -> None:
        if call.method == "sendMessage" and call.chat_id == 601:
            api.fail = None
            raise ApiRefusal(400, "Bad Request: chat not found")

    api.fail = refuse_once
    await put(db, clock, "notice", 601, "P-45 已上报到工作队")
    await drain(bot)
    assert (await row(db, "notice"))["status"] == "parked"


async def test_office_lists_and_retries_a_parked_item(
    bot: Harness, seed: Seed, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    await join(bot, seed, "cadre1", 601)
    office = await join(bot, seed, "office1", 701)
    await park_one(bot, db, clock, api)
    calls = await bot.send(office, "/parked")
    listing = shown(calls)[-1]
    assert "搁置的消息：共 1 条" in listing.text
    assert "张伟" in listing.text and "P-45 已上报到工作队" in listing.text
    assert "chat not found" in listing.text.lower()
    assert listing.buttons == [("🔁 重发 #1", "obx:v1:retry:1")]
    calls = await bot.tap(office, "重发")
    assert "重新排队" in api.alerts()[-1].params["text"]
    assert (await row(db, "notice"))["status"] == "pending"
    assert any(c.method == "editMessageText" and "没有搁置的消息" in c.text for c in calls)
    clock.advance(seconds=2)
    await drain(bot)
    assert (await row(db, "notice"))["status"] == "sent"
    assert [c.text for c in api.sent(601)][-1] == "P-45 已上报到工作队"
    audit = await db.fetchone("SELECT * FROM audit_log WHERE action = 'outbox_retry'")
    assert audit is not None and audit["actor_cadre_id"] == seed.cadres["office1"]
    # Pressed again: it is no longer parked, nothing changes.
    await bot.press(office, "obx:v1:retry:1")
    assert "已发送" in api.alerts()[-1].params["text"]
    assert (await row(db, "notice"))["status"] == "sent"


async def test_others_may_not_see_or_retry(
    bot: Harness, seed: Seed, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    cadre = await join(bot, seed, "cadre1", 601)
    captain = await join(bot, seed, "captain1", 611)
    await park_one(bot, db, clock, api)
    for who in (cadre, captain):
        calls = await bot.send(who, "/parked")
        assert "没有权限" in shown(calls)[-1].text
        await bot.press(who, "obx:v1:retry:1")
        alert = api.alerts()[-1].params
        assert alert["show_alert"] and "没有权限" in alert["text"]
    stranger = user(999)
    calls = await bot.send(stranger, "/parked")
    assert "还没有" in shown(calls)[-1].text or "/start" in shown(calls)[-1].text
    await bot.press(stranger, "obx:v1:retry:1")
    assert (await row(db, "notice"))["status"] == "parked"


async def test_forged_and_stale_buttons(
    bot: Harness, seed: Seed, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    office = await join(bot, seed, "office1", 701)
    await park_one(bot, db, clock, api)
    for data in ("obx:v1:retry:abc", "obx:v1:retry", "obx:v1:nuke:1", "obx:v9:retry:1"):
        await bot.press(office, data)
        assert api.alerts()[-1].params["show_alert"]
    await bot.press(office, "obx:v1:retry:424242")
    assert "找不到" in api.alerts()[-1].params["text"]
    assert (await row(db, "notice"))["status"] == "parked"


async def test_office_declares_an_unreachable_chat_reachable(
    bot: Harness, seed: Seed, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    office = await join(bot, seed, "office1", 701)
    await join(bot, seed, "cadre1", 601)
    api.blocked_chats.add(601)
    await put(db, clock, "a", 601)
    await drain(bot)
    calls = await bot.send(office, "/parked")
    listing = shown(calls)[-1]
    assert "联系不上的会话：共 1 个" in listing.text and "张伟" in listing.text
    assert ("✅ 恢复 张伟", "obx:v1:reach:601") in listing.buttons
    cadre = user(601)
    await bot.press(cadre, "obx:v1:reach:601")
    assert await db.fetchone("SELECT * FROM unreachable_chats") is not None
    await bot.tap(office, "恢复")
    assert "已恢复" in api.alerts()[-1].params["text"]
    assert await db.fetchone("SELECT * FROM unreachable_chats") is None
    api.blocked_chats.clear()
    await put(db, clock, "b", 601, "恢复后")
    clock.advance(seconds=2)
    await drain(bot)
    assert api.sent(601)[-1].text == "恢复后"
    await bot.press(office, "obx:v1:reach:601")
    assert "已不在" in api.alerts()[-1].params["text"]


async def test_parked_in_a_group_chat_points_to_private(
    bot: Harness, seed: Seed, api: FakeBotAPI
) -> None:
    office = await join(bot, seed, "office1", 701)
    calls = await bot.send(office, "/parked", chat_id=-1009000)
    assert "私聊" in shown(calls)[-1].text


async def test_empty_lists_in_english(bot: Harness, seed: Seed, db: Database) -> None:
    office = await join(bot, seed, "office1", 701, lang="en")
    calls = await bot.send(office, "/parked")
    text = shown(calls)[-1].text
    assert "No parked messages" in text and "No unreachable chats" in text
    assert await outbox.counts(db) == {}


def test_outbox_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database = tmp_path / "cli.sqlite3"
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\ndatabase = "{database}"\n', encoding="utf-8")

    async def prepare() -> None:
        async with open_database(database) as db:
            async with db.write() as conn:
                now = datetime.now(UTC)
                await outbox.enqueue(conn, key="a", chat_id=501, payload={"text": "x"}, now=now)
                await outbox.park(conn, 1, "400 Chat not found")
                await outbox.mark_unreachable(conn, 502, "Forbidden: bot was blocked", now)

    asyncio.run(prepare())
    assert cli.main(["--config", str(config), "outbox"]) == 0
    out = capsys.readouterr().out
    assert say(Settings(), "outbox_parked", count=1) in out  # the CLI speaks zh-CN by default
    assert "Chat not found" in out and "502" in out
    assert cli.main(["--config", str(config), "outbox", "--retry", "1"]) == 0
    assert cli.main(["--config", str(config), "outbox", "--retry", "1"]) == 2
    assert say(Settings(), "outbox_not_parked", id=1, status="pending") in capsys.readouterr().err
    assert cli.main(["--config", str(config), "outbox", "--retry", "99"]) == 2


async def test_a_retry_press_delivered_twice_counts_once(
    bot: Harness, seed: Seed, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    office = await join(bot, seed, "office1", 701)
    await park_one(bot, db, clock, api)
    update = bot.callback_update(office, "obx:v1:retry:1")
    await bot.process(update)
    await bot.process(update)  # Telegram redelivers after a restart
    rows = await db.fetchall("SELECT * FROM audit_log WHERE action = 'outbox_retry'")
    assert len(rows) == 1
    assert (await row(db, "notice"))["status"] == "pending"


# --- a card whose send had no answer resolves itself (issue 12 #13) ----------------------

CARD_CHAT = -100_777


async def test_a_card_whose_answer_was_lost_is_sent_afresh_and_keeps_up(
    bot: Harness, db: Database, clock: FakeClock, api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The card's first send reached Telegram but its answer was lost. It used to be
    parked, later edits folded into it, and the chat showed the first status with live
    buttons until the office retried. Now it is sent again with the newest state (a card
    shown twice is better than a frozen one: every press is judged against the problem's
    current state), and later edits go to the card that answered."""
    card = f"problem:45:chat:{CARD_CHAT}"
    answer = api.answer
    lost = [True]

    def lose_first_answer(call: Call) -> object:
        result = answer(call)
        if call.method == "sendMessage" and lost:
            lost.clear()
            raise timed_out(httpx.ReadTimeout("read timed out"))
        return result

    monkeypatch.setattr(api, "answer", lose_first_answer)
    await put(db, clock, "create", CARD_CHAT, "P-45 待处理", card=card)
    await drain(bot)
    assert (await row(db, "create"))["status"] != "parked"
    await put(db, clock, "ack", CARD_CHAT, "P-45 已受理", method="editMessageText", card=card)
    for _ in range(10):  # the back-off passes; nobody at the office does anything
        clock.advance(minutes=5)
        await drain(bot)
    assert delivered(api, CARD_CHAT) == ["P-45 待处理", "P-45 已受理"]
    await put(db, clock, "done", CARD_CHAT, "P-45 已解决", method="editMessageText", card=card)
    clock.advance(minutes=1)
    await drain(bot)
    assert delivered(api, CARD_CHAT) == ["P-45 待处理", "P-45 已解决"]
    statuses = await db.fetchall("SELECT status FROM outbox WHERE card = ?", (card,))
    assert "parked" not in {r["status"] for r in statuses}


async def test_a_card_in_flight_at_a_restart_is_sent_afresh(
    bot: Harness, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    card = f"problem:46:chat:{CARD_CHAT}"
    await put(db, clock, "create", CARD_CHAT, "P-46 待处理", card=card)
    await db.conn.execute("UPDATE outbox SET status = 'sending', attempts = 1 WHERE key = 'create'")
    clock.advance(minutes=5)
    await drain(bot)  # the first drain of a run recovers what the last one left mid-send
    clock.advance(minutes=5)
    await drain(bot)
    assert delivered(api, CARD_CHAT) == ["P-46 待处理"]
    assert (await row(db, "create"))["status"] == "sent"
