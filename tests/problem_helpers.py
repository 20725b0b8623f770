"""Helpers for the problem-ledger tests: deliver the outgoing queue through the real
dispatcher (so that end-to-end tests can press the buttons of real cards), and a driver
for the /problem conversation."""

from __future__ import annotations

import json
import math
from typing import Any

from campaign.message import from_json, is_json
from storage.db import Database
from tests.conftest import drain
from tests.fakebot import Call, Harness, StoredMessage, TgUser, shown

TEAM_CHAT = -1001
OFFICE_CHAT = -2001


async def deliver(bot: Harness, db: Database) -> list[Call]:
    """Let the real dispatcher send everything pending, moving the fake clock past its
    pacing (one message a second per chat) until the queue is empty. Returns the Bot API
    calls made."""
    before = len(bot.api.calls)
    for _ in range(200):
        report = await drain(bot)
        pending = await db.fetchone("SELECT COUNT(*) AS n FROM outbox WHERE status = 'pending'")
        if pending is None or pending["n"] == 0:
            break
        wait = (report.next_at - bot.clock()).total_seconds() if report.next_at else 1.0
        bot.clock.advance(seconds=max(math.ceil(wait), 1))  # type: ignore[attr-defined]
    else:
        raise AssertionError("the outgoing queue did not empty")
    return bot.api.calls[before:]


async def outbox(db: Database, chat_id: int | None = None) -> list[dict[str, Any]]:
    """Outbox rows (payload decoded), oldest first."""
    sql = "SELECT * FROM outbox"
    params: tuple[Any, ...] = ()
    if chat_id is not None:
        sql += " WHERE chat_id = ?"
        params = (chat_id,)
    rows = await db.fetchall(sql + " ORDER BY id", params)
    return [{**dict(r), "payload": json.loads(r["payload"])} for r in rows]


def buttons(item: dict[str, Any]) -> list[tuple[str, str]]:
    """A queued item's buttons, in either stored form (a message, or Bot API JSON)."""
    if is_json(item["payload"]):
        return [(b.text, b.data) for row in from_json(item["payload"]).buttons for b in row]
    markup = item["payload"].get("reply_markup") or {"inline_keyboard": []}
    return [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row]


async def card(bot: Harness, db: Database, problem_id: int, chat_id: int) -> StoredMessage:
    """The delivered card of a problem in a chat, as the chat shows it now."""
    row = await db.fetchone(
        "SELECT message_id FROM cards WHERE card = ?", (f"problem:{problem_id}:chat:{chat_id}",)
    )
    assert row is not None, f"no card of P-{problem_id} in chat {chat_id}"
    return bot.api.messages[(chat_id, int(row["message_id"]))]


def data_of(message: StoredMessage, label: str) -> str:
    for row in (message.reply_markup or {}).get("inline_keyboard", []):
        for b in row:
            if label in b["text"]:
                return str(b["callback_data"])
    raise AssertionError(f"no button {label!r} on {message.text[:40]!r}")


async def press_card(
    bot: Harness, db: Database, who: TgUser, problem_id: int, chat_id: int, label: str
) -> list[Call]:
    message = await card(bot, db, problem_id, chat_id)
    return await bot.press(who, data_of(message, label), message)


def alert(calls: list[Call]) -> str:
    answers = [c for c in calls if c.method == "answerCallbackQuery"]
    assert answers, "the press was not answered"
    return str(answers[-1].params.get("text") or "")


def last_text(calls: list[Call]) -> str:
    out = shown(calls)
    assert out, "nothing was shown"
    return out[-1].text


async def raise_via_chat(
    bot: Harness,
    u: TgUser,
    *,
    place: str = "东风村",
    category: str = "基础设施",
    text: str = "村口道路塌陷，雨天无法通行，群众出行困难。",
    photos: int = 0,
    urgent: bool = False,
    solvable: bool | None = False,
    submit: bool = True,
) -> list[Call]:
    """Drive /problem to the end (Chinese labels); returns the calls of the last step."""
    await bot.send(u, "/problem")
    calls = await bot.tap(u, place)
    if "同一个问题" in last_text(calls):
        calls = await bot.tap(u, "反映新问题")
    await bot.tap(u, category)
    await bot.send(u, text)
    for i in range(photos):
        await bot.photo(u, file_id=f"ph{i}")
    calls = await bot.tap(u, "完成" if photos else "跳过")
    calls = await bot.tap(u, "紧急" if urgent else "一般")
    if solvable is not None:
        calls = await bot.tap(u, "能，本组解决" if solvable else "不能，报工作队")
    if submit:
        calls = await bot.tap(u, "提交")
    return calls
