"""The channel seam of the outgoing queue: what waits in the database is a neutral
message (campaign.message JSON), rendered to the Bot API call only when it is sent; rows
an older release queued as Bot API JSON still go out as they are."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from campaign import message as stored
from campaign.message import Ask, Button, Message
from handlers.screen import request_of
from storage import outbox
from storage.db import Database, to_text
from tests.conftest import SHANGHAI, drain, join
from tests.factories import Seed
from tests.fakebot import Call, FakeBotAPI, FakeClock, Harness
from tests.problem_helpers import TEAM_CHAT, deliver, press_card, raise_via_chat

BOT_API_WORDS = ("reply_markup", "inline_keyboard", "callback_data", "chat_id")
DAY = datetime(2026, 11, 17, 10, 0, tzinfo=SHANGHAI)  # not in quiet hours


def _params(call: Call) -> dict[str, Any]:
    """A call's parameters as JSON, however the request carried them."""
    out = dict(call.params)
    for key in ("reply_markup", "media"):
        if isinstance(out.get(key), str):
            out[key] = json.loads(out[key])
    return out


async def _put(
    db: Database, clock: FakeClock, key: str, chat_id: int, message: Message, **kw: Any
) -> None:
    async with db.write() as conn:
        assert await outbox.enqueue(
            conn, key=key, chat_id=chat_id, message=message, now=clock(), **kw
        )


async def _put_old(
    db: Database,
    clock: FakeClock,
    key: str,
    chat_id: int,
    method: str,
    payload: dict[str, Any],
    card: str | None = None,
) -> None:
    """A row as an older release wrote it (Bot API parameters), by plain SQL."""
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO outbox (key, chat_id, method, payload, card, urgent, not_before,"
            " created_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
            (
                key,
                chat_id,
                method,
                json.dumps(payload, ensure_ascii=False),
                card,
                to_text(clock()),
                to_text(clock()),
            ),
        )


CARD = Message(
    "P-7｜基础设施\n待认领",
    (
        (
            Button("🙋 认领", "prb:v1:claim:7:team"),
            Button("📝 进展", "prb:v1:note:7:team"),
            Button("✅ 已解决", "prb:v1:solve:7:team"),
        ),
        (Button("⬆️ 上报", "prb:v1:escalate:7:team"),),
    ),
)
# The same card as the queue held it before (campaign/problem_cards.card_payload).
OLD_CARD = {
    "text": CARD.text,
    "reply_markup": {
        "inline_keyboard": [
            [{"text": b.text, "callback_data": b.data} for b in row] for row in CARD.buttons
        ]
    },
}


# --- the stored form ---------------------------------------------------------------------


def test_messages_round_trip_through_json() -> None:
    full = Message(
        "文字",
        CARD.buttons,
        photos=("a", "/tmp/x.png"),
        document="/tmp/r.xlsx",
        ask=Ask.LOCATION,
        ask_label="发送位置",
        silent=True,
    )
    for m in (full, Message("只有文字"), CARD):
        data = stored.to_json(m)
        assert stored.is_json(data) and data["v"] == stored.JSON_VERSION
        assert stored.from_json(json.loads(json.dumps(data))) == m
    assert stored.to_json(Message("x")) == {"v": 1, "text": "x"}  # defaults left out
    assert not stored.is_json(OLD_CARD)
    with pytest.raises(ValueError):
        stored.from_json({"v": 99, "text": "from a newer release"})


def test_the_telegram_edge_renders_each_kind() -> None:
    assert request_of(CARD) == ("sendMessage", OLD_CARD)
    assert request_of(CARD, edit=True) == ("editMessageText", OLD_CARD)
    assert request_of(Message("没有按钮了"), edit=True) == (
        "editMessageText",
        {"text": "没有按钮了"},
    )
    assert request_of(Message("照片", photos=("f1",), silent=True)) == (
        "sendPhoto",
        {"photo": "f1", "caption": "照片", "disable_notification": True},
    )
    method, params = request_of(Message("P-7 的照片", photos=tuple(f"f{i}" for i in range(12))))
    assert method == "sendMediaGroup" and len(params["media"]) == 10
    assert params["media"][0] == {"type": "photo", "media": "f0", "caption": "P-7 的照片"}
    assert params["media"][1] == {"type": "photo", "media": "f1"}
    assert request_of(Message("周报", document="/data/周报.xlsx")) == (
        "sendDocument",
        {"document": {"path": "/data/周报.xlsx", "filename": "周报.xlsx"}, "caption": "周报"},
    )


# --- a problem's card, through the real flow -----------------------------------------------


async def test_a_queued_card_holds_no_bot_api_json_and_is_sent_as_before(
    bot: Harness, seed: Seed, db: Database, api: FakeBotAPI, clock: FakeClock
) -> None:
    clock.set(DAY)
    captain = await join(bot, seed, "captain1", 621)
    await bot.send(captain, "/bindteam", chat_id=TEAM_CHAT)
    reporter = await join(bot, seed, "cadre1", 601)
    await raise_via_chat(bot, reporter, photos=2, solvable=False)
    rows = await db.fetchall(
        "SELECT method, payload, card FROM outbox WHERE chat_id = ? ORDER BY id", (TEAM_CHAT,)
    )
    assert [r["method"] for r in rows] == ["sendMessage", "sendMessage"]  # photos, card
    for r in rows:
        for word in BOT_API_WORDS:
            assert word not in r["payload"], (word, r["payload"])
    card = stored.from_json(json.loads(rows[1]["payload"]))
    assert rows[1]["card"] == f"problem:1:chat:{TEAM_CHAT}" and card.buttons

    calls = [c for c in await deliver(bot, db) if c.chat_id == TEAM_CHAT]
    assert [c.method for c in calls] == ["sendMediaGroup", "sendMessage"]
    assert [m["media"] for m in _params(calls[0])["media"]] == ["ph0", "ph1"]
    # The Bot API request the queue's older form made for this card, key for key.
    old_form = {
        "text": card.text,
        "reply_markup": {
            "inline_keyboard": [
                [{"text": b.text, "callback_data": b.data} for b in row] for row in card.buttons
            ]
        },
    }
    assert _params(calls[1]) == {"chat_id": TEAM_CHAT, **old_form}

    # A change edits that card in place: editMessageText with its message id, still neutral.
    sent = await db.fetchone(
        "SELECT message_id FROM cards WHERE card = ?", (f"problem:1:chat:{TEAM_CHAT}",)
    )
    assert sent is not None
    await press_card(bot, db, captain, 1, TEAM_CHAT, "认领")
    edit = await db.fetchone(
        "SELECT method, payload FROM outbox WHERE chat_id = ? ORDER BY id DESC LIMIT 1",
        (TEAM_CHAT,),
    )
    assert edit is not None and edit["method"] == "editMessageText"
    assert not any(word in edit["payload"] for word in BOT_API_WORDS)
    calls = [c for c in await deliver(bot, db) if c.chat_id == TEAM_CHAT]
    edits = [c for c in calls if c.method == "editMessageText"]
    assert edits and _params(edits[-1])["message_id"] == sent["message_id"]
    shown = api.messages[(TEAM_CHAT, sent["message_id"])]
    assert shown.text == stored.from_json(json.loads(edit["payload"])).text


# --- the dispatcher with both forms --------------------------------------------------------


async def test_neutral_and_old_rows_make_the_same_requests(
    bot: Harness, db: Database, clock: FakeClock, api: FakeBotAPI, tmp_path: Path
) -> None:
    clock.set(DAY)
    report = tmp_path / "周报.xlsx"
    report.write_bytes(b"PK fake workbook")
    await _put(db, clock, "new-card", 501, CARD, card="c:501")
    await _put_old(db, clock, "old-card", 502, "sendMessage", OLD_CARD, card="c:502")
    await _put(db, clock, "new-album", 503, Message("照片", photos=("f1", "f2")))
    await _put_old(
        db,
        clock,
        "old-album",
        504,
        "sendMediaGroup",
        {
            "media": [
                {"type": "photo", "media": "f1", "caption": "照片"},
                {"type": "photo", "media": "f2"},
            ]
        },
    )
    await _put(db, clock, "new-doc", 505, Message("周报", document=str(report)))
    await _put_old(
        db,
        clock,
        "old-doc",
        506,
        "sendDocument",
        {"document": {"path": str(report)}, "caption": "周报"},
    )
    got = await drain(bot)
    assert len(got.sent) == 6
    by_chat = {c.chat_id: c for c in api.sent()}
    for new, old in ((501, 502), (503, 504), (505, 506)):
        a, b = _params(by_chat[new]), _params(by_chat[old])
        assert by_chat[new].method == by_chat[old].method
        a.pop("chat_id"), b.pop("chat_id")
        if new == 505:  # the uploads differ as objects; the caption and the file name not
            assert a["caption"] == b["caption"] == "周报"
            continue
        assert a == b

    # Card edits in both forms reach the card's message.
    clock.advance(seconds=5)
    await _put(db, clock, "new-edit", 501, Message("已认领"), card="c:501", edit=True)
    await _put(
        db, clock, "new-edit-old-card", 502, CARD.with_text("已认领"), card="c:502", edit=True
    )
    await drain(bot)
    edits = {c.chat_id: _params(c) for c in api.calls if c.method == "editMessageText"}
    assert edits[501] == {"chat_id": 501, "message_id": edits[501]["message_id"], "text": "已认领"}
    assert edits[502]["reply_markup"] == OLD_CARD["reply_markup"]
    shown = [m for m in api.messages.values() if m.chat_id == 501]
    assert shown[0].text == "已认领" and not shown[0].reply_markup  # the buttons went


async def test_pending_neutral_edits_fold_into_the_card(
    bot: Harness, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    """Edits queued before the card went out: the card is sent once, newest state."""
    clock.set(DAY)
    await _put(db, clock, "create", 501, CARD, card="c")
    await _put(db, clock, "e1", 501, CARD.with_text("已认领"), card="c", edit=True)
    await _put(db, clock, "e2", 501, Message("已解决"), card="c", edit=True)
    await drain(bot)
    assert [(c.method, _params(c)) for c in api.sent()] == [
        ("sendMessage", {"chat_id": 501, "text": "已解决"})
    ]
    row = await db.fetchone("SELECT payload FROM outbox WHERE key = 'create'")
    assert row is not None and json.loads(row["payload"]) == {"v": 1, "text": "已解决"}

    # Sent card, then two edits at once: one editMessageText with the newest state.
    clock.advance(seconds=5)
    await _put(db, clock, "e3", 501, CARD.with_text("重新打开"), card="c", edit=True)
    await _put(db, clock, "e4", 501, CARD.with_text("已认领"), card="c", edit=True)
    report = await drain(bot)
    edits = [_params(c) for c in api.calls if c.method == "editMessageText"]
    assert len(edits) == 1 and edits[0]["text"] == "已认领"
    assert edits[0]["reply_markup"] == OLD_CARD["reply_markup"]
    assert report.outcomes[(await _id(db, "e3"))] == "superseded"


async def test_a_card_queued_across_the_upgrade_collapses_in_the_old_form(
    bot: Harness, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    clock.set(DAY)
    await _put_old(db, clock, "create", 501, "sendMessage", OLD_CARD, card="c")
    await _put(db, clock, "edit", 501, Message("已解决"), card="c", edit=True)
    await drain(bot)
    assert [(c.method, _params(c)) for c in api.sent()] == [
        ("sendMessage", {"chat_id": 501, "text": "已解决"})
    ]


async def test_silent_and_unreadable_messages(
    bot: Harness, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    clock.set(DAY)
    await _put(db, clock, "quiet", 501, Message("悄悄地", silent=True))
    await _put_old(db, clock, "future", 502, "sendMessage", {"v": 99, "text": "新版本"})
    await drain(bot)
    assert [_params(c) for c in api.sent()] == [
        {"chat_id": 501, "text": "悄悄地", "disable_notification": True}
    ]
    row = await db.fetchone("SELECT status, last_error FROM outbox WHERE key = 'future'")
    assert row is not None and row["status"] == "parked" and "version 99" in row["last_error"]


async def test_prune_deletes_files_of_neutral_items(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    clock.set(DAY)
    done, waiting = tmp_path / "done.xlsx", tmp_path / "waiting.png"
    await _put(db, clock, "d", 501, Message("周报", document=str(done)))
    await _put(db, clock, "w", 502, Message("图", photos=(str(waiting),)))
    async with db.write() as conn:
        await conn.execute(
            "UPDATE outbox SET status = 'sent', sent_at = ? WHERE key = 'd'", (to_text(clock()),)
        )
    clock.advance(days=2)
    removed, files = await outbox.prune(db, clock())
    assert removed == 1 and files == [str(done)]


async def _id(db: Database, key: str) -> int:
    row = await db.fetchone("SELECT id FROM outbox WHERE key = ?", (key,))
    assert row is not None
    return int(row["id"])


async def test_an_edit_of_a_card_without_a_message_creates_it_whole(
    bot: Harness, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    """E.g. the card was folded into a digest: the edit shows the card anew, buttons too."""
    clock.set(DAY)
    await _put(db, clock, "edit", 501, CARD.with_text("已认领"), card="c", edit=True)
    await drain(bot)
    assert [(c.method, _params(c)) for c in api.sent()] == [
        ("sendMessage", {"chat_id": 501, **OLD_CARD, "text": "已认领"})
    ]
    row = await db.fetchone("SELECT method, payload FROM outbox WHERE key = 'edit'")
    assert row is not None and row["method"] == "sendMessage"
    assert stored.from_json(json.loads(row["payload"])) == CARD.with_text("已认领")
