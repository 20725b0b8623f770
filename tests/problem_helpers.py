"""Helpers for the problem-ledger tests: a stand-in for the dispatcher that "delivers"
pending outbox items into the fake Bot API (so that end-to-end tests can press the
buttons of real cards), and a driver for the /problem conversation."""

from __future__ import annotations

import json
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto
from telegram.error import BadRequest

from storage.db import Database, to_text
from tests.fakebot import Call, Harness, StoredMessage, TgUser, shown

TEAM_CHAT = -1001
OFFICE_CHAT = -2001


def _markup(plain: dict[str, Any] | None) -> InlineKeyboardMarkup | None:
    if not plain:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row]
            for row in plain["inline_keyboard"]
        ]
    )


async def deliver(bot: Harness, db: Database) -> list[Call]:
    """Send every pending outbox item, oldest first, as the dispatcher would: cards are
    recorded in ``cards``; an edit superseded by a newer pending edit of the same card
    is skipped. Returns the Bot API calls made."""
    before = len(bot.api.calls)
    b = bot.app.bot
    rows = await db.fetchall("SELECT * FROM outbox WHERE status = 'pending' ORDER BY id")
    for row in rows:
        payload = json.loads(row["payload"])
        method, chat, card = row["method"], int(row["chat_id"]), row["card"]
        status, message_id = "sent", None
        if method == "editMessageText":
            newer = await db.fetchone(
                "SELECT 1 FROM outbox WHERE card = ? AND method = 'editMessageText'"
                " AND status = 'pending' AND id > ?",
                (card, row["id"]),
            )
            if newer is not None:
                status = "superseded"
            else:
                known = await db.fetchone("SELECT message_id FROM cards WHERE card = ?", (card,))
                assert known is not None, f"edit of a card never sent: {card}"
                message_id = known["message_id"]
                try:
                    await b.edit_message_text(
                        payload["text"],
                        chat_id=chat,
                        message_id=message_id,
                        reply_markup=_markup(payload.get("reply_markup")),
                    )
                except BadRequest as exc:
                    if "not modified" not in str(exc):
                        raise
        elif method == "sendMessage":
            msg = await b.send_message(
                chat, payload["text"], reply_markup=_markup(payload.get("reply_markup"))
            )
            message_id = msg.message_id
            if card:
                async with db.write() as conn:
                    await conn.execute(
                        "INSERT OR REPLACE INTO cards (card, chat_id, message_id) VALUES (?, ?, ?)",
                        (card, chat, message_id),
                    )
        elif method == "sendPhoto":
            msg = await b.send_photo(chat, payload["photo"], caption=payload.get("caption"))
            message_id = msg.message_id
        elif method == "sendMediaGroup":
            msgs = await b.send_media_group(
                chat,
                [InputMediaPhoto(m["media"], caption=m.get("caption")) for m in payload["media"]],
            )
            message_id = msgs[0].message_id
        else:
            raise AssertionError(f"unexpected outbox method {method}")
        async with db.write() as conn:
            await conn.execute(
                "UPDATE outbox SET status = ?, sent_message_id = ?, sent_at = ? WHERE id = ?",
                (status, message_id, to_text(bot.clock()), row["id"]),
            )
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
