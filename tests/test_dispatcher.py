"""The dispatcher through the real Application and the fake Bot API: each queued item is
sent once, paced, retried, parked, dropped for blocked chats, across a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from telegram.error import NetworkError, TimedOut

from bot.dispatcher import DrainReport, dispatcher_of
from bot.sending import never_sent
from campaign.settings import OutboxSettings, ReminderSettings
from storage import outbox
from storage.db import Database, Row
from tests.conftest import SHANGHAI, AppFactory, drain, join
from tests.factories import Seed
from tests.fakebot import ApiRefusal, Call, FakeBotAPI, FakeClock, Harness

GROUP = -1001234500
OFFICE_CHAT = -1009000


async def put(
    db: Database,
    clock: FakeClock,
    key: str,
    chat_id: int,
    text: str | None = None,
    *,
    method: str = "sendMessage",
    card: str | None = None,
    urgent: bool = False,
    payload: dict[str, Any] | None = None,
) -> None:
    async with db.write() as conn:
        queued = await outbox.enqueue(
            conn,
            key=key,
            chat_id=chat_id,
            payload=payload if payload is not None else {"text": text or key},
            now=clock(),
            method=method,
            card=card,
            urgent=urgent,
        )
    assert queued


async def row(db: Database, key: str) -> Row:
    found = await db.fetchone("SELECT * FROM outbox WHERE key = ?", (key,))
    assert found is not None, key
    return found


def delivered(api: FakeBotAPI, chat_id: int) -> list[str]:
    """What the chat holds now, oldest first (edits show their newest text)."""
    return [
        m.text
        for m in sorted(api.messages.values(), key=lambda m: m.message_id)
        if m.chat_id == chat_id
    ]


def timed_out(cause: Exception) -> TimedOut:
    exc = TimedOut()
    exc.__cause__ = cause
    return exc


def network(cause: Exception) -> NetworkError:
    """As PTB's HTTPXRequest raises it for a transport error."""
    exc = NetworkError(f"httpx.{type(cause).__name__}: {cause}")
    exc.__cause__ = cause
    return exc


def failing(*errors: BaseException | None) -> Callable[[Call], None]:
    """A ``FakeBotAPI.fail`` raising the given errors on successive sends (None: answer)."""
    queue: Iterator[BaseException | None] = iter(errors)

    def fail(call: Call) -> None:
        if call.method.startswith(("send", "edit")):
            error = next(queue, None)
            if error is not None:
                raise error

    return fail


# --- sending once, paced ------------------------------------------------------------------


async def test_each_item_is_sent_once(
    bot: Harness, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    for chat in (501, 502, 503):
        await put(db, clock, f"n:{chat}", chat, f"通知 {chat}")
    async with db.write() as conn:  # the same key again queues nothing
        again = await outbox.enqueue(
            conn, key="n:501", chat_id=501, payload={"text": "x"}, now=clock()
        )
    assert again is False
    report = await drain(bot)
    assert len(report.sent) == 3
    for chat in (501, 502, 503):
        assert delivered(api, chat) == [f"通知 {chat}"]
        r = await row(db, f"n:{chat}")
        assert r["status"] == "sent" and r["attempts"] == 1
        assert (chat, r["sent_message_id"]) in api.messages
    clock.advance(seconds=10)
    assert (await drain(bot)).sent == []
    assert len(api.sent()) == 3


async def test_one_message_a_second_in_a_private_chat(
    bot: Harness, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    for n in range(3):
        await put(db, clock, f"n{n}", 501, f"第{n}条")
    await drain(bot)
    await drain(bot)  # same moment: the chat's second is used up
    assert delivered(api, 501) == ["第0条"]
    clock.advance(seconds=1.1)
    report = await drain(bot)
    assert len(report.sent) == 1
    clock.advance(seconds=1.1)
    await drain(bot)
    assert delivered(api, 501) == ["第0条", "第1条", "第2条"]


async def test_thirty_a_second_overall(
    bot: Harness, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    for chat in range(1, 41):
        await put(db, clock, f"n{chat}", 600 + chat)
    report = await drain(bot)
    assert len(report.sent) == 30
    assert report.next_at is not None
    assert timedelta(seconds=0.9) < report.next_at - clock() <= timedelta(seconds=1.1)
    clock.advance(seconds=1.1)
    assert len((await drain(bot)).sent) == 10
    assert len(api.sent()) == 40
    assert len({c.chat_id for c in api.sent()}) == 40


async def test_more_than_twenty_for_a_group_are_folded_into_a_digest(
    bot: Harness, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    for n in range(1, 26):
        await put(
            db,
            clock,
            f"card{n}",
            GROUP,
            f"P-{n} 东风村 道路塌方，需要尽快处理 " + "详" * 60,
            card=f"problem:{n}:chat:{GROUP}",
        )
    start = clock()
    for _ in range(25):
        await drain(bot)
        clock.advance(seconds=1.1)
    in_minute = [c for c in api.sent(GROUP)]
    assert len(in_minute) == 20  # the group's minute, never more
    assert clock() - start < timedelta(seconds=60)
    digest = in_minute[-1].text
    assert "一分钟内还有 6 条消息" in digest
    for n in range(20, 26):
        assert f"P-{n} 东风村" in digest
    assert max(len(line) for line in digest.split("\n")[1:]) <= 90  # texts shortened
    for n in range(1, 20):
        assert (await row(db, f"card{n}"))["status"] == "sent"
    for n in range(20, 26):
        r = await row(db, f"card{n}")
        assert r["status"] == "superseded" and "digest" in r["last_error"]
    # A folded card that changes later is shown in full then, as a new card.
    await put(
        db,
        clock,
        "card22.edit",
        GROUP,
        "P-22 已认领",
        method="editMessageText",
        card=f"problem:22:chat:{GROUP}",
    )
    clock.advance(seconds=60)
    await drain(bot)
    assert api.sent(GROUP)[-1].method == "sendMessage"
    assert api.sent(GROUP)[-1].text == "P-22 已认领"
    card = await db.fetchone(
        "SELECT message_id FROM cards WHERE card = ?", (f"problem:22:chat:{GROUP}",)
    )
    assert (
        card is not None and card["message_id"] == (await row(db, "card22.edit"))["sent_message_id"]
    )


# --- refusals and failures -----------------------------------------------------------------


async def test_retry_after_is_honoured_for_that_chat(
    bot: Harness, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    api.fail = failing(ApiRefusal(429, "Too Many Requests: retry after 3", retry_after=3))
    await put(db, clock, "a", 501)
    await drain(bot)
    r = await row(db, "a")
    assert r["status"] == "pending" and r["attempts"] == 0  # a 429 is not the item's fault
    assert "429" in r["last_error"]
    await put(db, clock, "b", 502)
    clock.advance(seconds=1.5)
    await drain(bot)
    assert delivered(api, 501) == [] and delivered(api, 502) == ["b"]
    clock.advance(seconds=1.6)
    await drain(bot)
    assert delivered(api, 501) == ["a"]
    assert (await row(db, "a"))["status"] == "sent"


async def test_429s_for_many_chats_pause_everything(
    bot: Harness, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    flood = ApiRefusal(429, "Too Many Requests: retry after 5", retry_after=5)
    api.fail = failing(flood, flood, flood)
    for chat in (501, 502, 503):
        await put(db, clock, f"n{chat}", chat)
    await drain(bot)
    await put(db, clock, "late", 504)
    clock.advance(seconds=2)
    await drain(bot)
    assert delivered(api, 504) == []  # the bot as a whole was told to wait
    clock.advance(seconds=3.1)
    await drain(bot)
    assert all(delivered(api, c) for c in (501, 502, 503, 504))


async def test_network_errors_and_5xx_are_retried_with_backoff(
    bot: Harness, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    api.fail = failing(
        timed_out(httpx.ConnectTimeout("connect timed out")),
        timed_out(httpx.PoolTimeout("pool")),
        ApiRefusal(502, "Bad Gateway"),
        ApiRefusal(500, "Internal Server Error"),
        network(httpx.ConnectError("connection refused")),
    )
    await put(db, clock, "a", 501, "终于到了")
    waits = []
    for _ in range(5):
        report = await drain(bot)
        assert report.outcomes == {1: "retry"}
        assert report.next_at is not None
        waits.append((report.next_at - clock()).total_seconds())
        clock.set(report.next_at)
    assert waits == [2, 4, 8, 16, 32]
    await drain(bot)
    r = await row(db, "a")
    assert r["status"] == "sent" and r["attempts"] == 6
    assert delivered(api, 501) == ["终于到了"]


@pytest.mark.parametrize(
    ("exc", "safe"),
    [
        (timed_out(httpx.ConnectTimeout("c")), True),
        (timed_out(httpx.PoolTimeout("p")), True),
        (timed_out(httpx.WriteTimeout("w")), True),
        (timed_out(httpx.ReadTimeout("r")), False),
        (TimedOut(), False),
        (network(httpx.ConnectError("refused")), True),
        (network(httpx.RemoteProtocolError("closed")), False),
        (network(httpx.ReadError("reset")), False),
        (NetworkError("Bad Gateway"), True),  # Telegram answered 5xx
        (network(ValueError("?")), False),
        (RuntimeError("?"), False),
    ],
)
def test_which_failures_prove_nothing_was_sent(exc: Exception, safe: bool) -> None:
    assert never_sent(exc) is safe


async def test_connection_dropped_after_a_send_is_not_repeated(
    bot: Harness, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    api.fail = failing(network(httpx.RemoteProtocolError("server disconnected")))
    await put(db, clock, "a", 501)
    await drain(bot)
    assert (await row(db, "a"))["status"] == "parked"


async def test_parked_after_max_attempts(
    make_bot: AppFactory, seed: Seed, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    bot = await make_bot(outbox=OutboxSettings(max_attempts=3))

    def down(call: Call) -> None:
        raise ApiRefusal(500, "Internal Server Error")

    api.fail = down
    await put(db, clock, "a", 501)
    for _ in range(5):
        await drain(bot)
        clock.advance(minutes=10)
    r = await row(db, "a")
    assert r["status"] == "parked" and r["attempts"] == 3
    assert "3 tries failed" in r["last_error"]
    assert len([c for c in api.calls if c.method == "sendMessage"]) == 3


async def test_permanent_400_parks_at_once(
    bot: Harness, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    api.fail = failing(ApiRefusal(400, "Bad Request: chat not found"))
    await put(db, clock, "a", 501)
    await drain(bot)
    r = await row(db, "a")
    assert r["status"] == "parked" and "chat not found" in r["last_error"].lower()
    clock.advance(hours=1)
    await drain(bot)
    assert len([c for c in api.calls if c.method == "sendMessage"]) == 1


async def test_unknown_answer_to_a_send_is_not_sent_again(
    bot: Harness, db: Database, clock: FakeClock, api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Telegram took the message but its answer was lost: sending again would make it
    arrive twice, so the item is parked for the office instead."""
    answer = api.answer

    def lost_answer(call: Call) -> Any:
        result = answer(call)
        if call.method == "sendMessage":
            raise timed_out(httpx.ReadTimeout("read timed out"))
        return result

    monkeypatch.setattr(api, "answer", lost_answer)
    await put(db, clock, "a", 501, "只该收到一次")
    await drain(bot)
    r = await row(db, "a")
    assert r["status"] == "parked" and "may or may not have arrived" in r["last_error"]
    clock.advance(hours=1)
    await drain(bot)
    assert delivered(api, 501) == ["只该收到一次"]


async def test_unknown_answer_to_an_edit_is_repeated(
    bot: Harness, db: Database, clock: FakeClock, api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    card = f"problem:1:chat:{GROUP}"
    await put(db, clock, "c", GROUP, "v1", card=card)
    await drain(bot)
    answer = api.answer
    lost = [True]

    def lost_answer(call: Call) -> Any:
        result = answer(call)
        if call.method == "editMessageText" and lost:
            lost.clear()
            raise timed_out(httpx.ReadTimeout("read timed out"))
        return result

    monkeypatch.setattr(api, "answer", lost_answer)
    await put(db, clock, "e", GROUP, "v2", method="editMessageText", card=card)
    clock.advance(seconds=1.1)
    assert (await drain(bot)).outcomes == {2: "retry"}
    clock.advance(seconds=3)
    assert (await drain(bot)).sent == [2]  # Telegram: "message is not modified" = done
    assert delivered(api, GROUP) == ["v2"]
    assert len(api.sent(GROUP)) == 1


# --- unreachable chats -------------------------------------------------------------------


async def bind_office(bot: Harness, seed: Seed) -> None:
    office = await join(bot, seed, "office1", 701)
    await bot.send(office, "/bindoffice", chat_id=OFFICE_CHAT)


async def test_blocked_chat_is_marked_unreachable_and_the_office_told(
    bot: Harness, seed: Seed, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    await bind_office(bot, seed)
    await join(bot, seed, "cadre1", 601)
    api.blocked_chats.add(601)
    await put(db, clock, "a", 601)
    await put(db, clock, "b", 601)
    report = await drain(bot)
    assert set(report.ids("dropped")) >= {1, 2}
    for key in ("a", "b"):
        assert (await row(db, key))["status"] == "dropped"
    mark = await db.fetchone("SELECT * FROM unreachable_chats WHERE chat_id = 601")
    assert mark is not None and "blocked" in mark["reason"]
    office_texts = [c.text for c in api.sent(OFFICE_CHAT)]
    assert any("张伟" in t and "城关镇工作队" in t and "屏蔽" in t for t in office_texts)
    # Later items to the blocked chat are dropped without a call; the office is told once.
    calls = len(api.calls)
    await put(db, clock, "c", 601)
    clock.advance(minutes=5)
    await drain(bot)
    assert (await row(db, "c"))["status"] == "dropped"
    assert len(api.calls) == calls
    # A day later the chat is tried again; it answers, so it is reachable again.
    api.blocked_chats.clear()
    await put(db, clock, "d", 601, "又能收到了")
    clock.advance(hours=25)
    await drain(bot)
    assert delivered(api, 601)[-1] == "又能收到了"
    assert await db.fetchone("SELECT * FROM unreachable_chats") is None


async def test_bot_removed_from_a_group_tells_the_office_the_title(
    bot: Harness, seed: Seed, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    await bind_office(bot, seed)
    captain = await join(bot, seed, "captain1", 611)
    await bot.send(captain, "/bindteam", chat_id=GROUP)
    api.blocked_chats.add(GROUP)
    await put(db, clock, "a", GROUP)
    await drain(bot)
    assert any(f"group {GROUP}" in c.text for c in api.sent(OFFICE_CHAT))


async def test_no_office_chat_still_marks_unreachable(
    bot: Harness, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    api.blocked_chats.add(501)
    await put(db, clock, "a", 501)
    await drain(bot)
    assert await db.fetchone("SELECT * FROM unreachable_chats WHERE chat_id = 501") is not None
    assert (await db.fetchone("SELECT COUNT(*) AS n FROM outbox"))["n"] == 1  # type: ignore[index]


# --- cards -------------------------------------------------------------------------------

CARD = f"problem:45:chat:{GROUP}"
KB = {"inline_keyboard": [[{"text": "认领", "callback_data": "prb:v1:take:45"}]]}
KB2 = {"inline_keyboard": [[{"text": "解决", "callback_data": "prb:v1:solve:45"}]]}


async def test_card_is_created_then_edited_in_place(
    bot: Harness, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    await put(db, clock, "c", GROUP, payload={"text": "P-45 待认领", "reply_markup": KB}, card=CARD)
    await drain(bot)
    card = await db.fetchone("SELECT * FROM cards WHERE card = ?", (CARD,))
    assert card is not None and card["chat_id"] == GROUP
    await put(
        db,
        clock,
        "e1",
        GROUP,
        payload={"text": "P-45 已认领", "reply_markup": KB2},
        method="editMessageText",
        card=CARD,
    )
    clock.advance(seconds=1.1)
    await drain(bot)
    edit = api.last(GROUP)
    assert edit.method == "editMessageText" and int(edit.params["message_id"]) == card["message_id"]
    assert delivered(api, GROUP) == ["P-45 已认领"]
    assert bot.message_of(edit).reply_markup == KB2


async def test_older_pending_edits_are_superseded_by_the_newest(
    bot: Harness, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    await put(db, clock, "c", GROUP, "v0", card=CARD)
    await drain(bot)
    for n in (1, 2, 3):
        await put(db, clock, f"e{n}", GROUP, f"v{n}", method="editMessageText", card=CARD)
    await put(
        db,
        clock,
        "m",
        GROUP,
        payload={"reply_markup": KB2},
        method="editMessageReplyMarkup",
        card=CARD,
    )
    clock.advance(seconds=1.1)
    await drain(bot)
    edits = [c for c in api.calls if c.method.startswith("edit")]
    assert len(edits) == 1 and edits[0].params["text"] == "v3"
    assert delivered(api, GROUP) == ["v3"]
    assert bot.message_of(edits[0]).reply_markup == KB2
    for key in ("e1", "e2", "e3"):
        assert (await row(db, key))["status"] == "superseded"
    assert (await row(db, "m"))["status"] == "sent"


async def test_edits_of_an_unsent_card_fold_into_its_creation(
    bot: Harness, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    await put(db, clock, "c", GROUP, payload={"text": "v0", "reply_markup": KB}, card=CARD)
    await put(db, clock, "e1", GROUP, "v1", method="editMessageText", card=CARD)
    await put(
        db,
        clock,
        "e2",
        GROUP,
        payload={"text": "v2", "reply_markup": KB2},
        method="editMessageText",
        card=CARD,
    )
    await drain(bot)
    clock.advance(seconds=5)
    await drain(bot)
    assert [c.method for c in api.to(GROUP)] == ["sendMessage"]
    assert delivered(api, GROUP) == ["v2"]
    assert api.last(GROUP).buttons == [("解决", "prb:v1:solve:45")]
    assert (await row(db, "e1"))["status"] == "superseded"
    assert (await row(db, "e2"))["status"] == "superseded"
    # The next edit after that goes to the message sent.
    await put(db, clock, "e3", GROUP, "v3", method="editMessageText", card=CARD)
    await drain(bot)
    assert delivered(api, GROUP) == ["v3"]


async def test_edit_that_changes_nothing_counts_as_done(
    bot: Harness, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    await put(db, clock, "c", GROUP, payload={"text": "same", "reply_markup": KB}, card=CARD)
    await drain(bot)
    await put(
        db,
        clock,
        "e",
        GROUP,
        payload={"text": "same", "reply_markup": KB},
        method="editMessageText",
        card=CARD,
    )
    clock.advance(seconds=1.1)
    await drain(bot)
    assert (await row(db, "e"))["status"] == "sent"
    assert any(c.method == "editMessageText" for c in api.calls)


async def test_edit_of_a_deleted_card_is_parked(
    bot: Harness, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    await put(db, clock, "c", GROUP, "v0", card=CARD)
    await drain(bot)
    api.messages.clear()  # someone deleted the card in the chat
    await put(db, clock, "e", GROUP, "v1", method="editMessageText", card=CARD)
    clock.advance(seconds=1.1)
    await drain(bot)
    r = await row(db, "e")
    assert r["status"] == "parked" and "message to edit not found" in r["last_error"].lower()


async def test_photos_documents_and_albums(
    bot: Harness, db: Database, clock: FakeClock, api: FakeBotAPI, tmp_path: Any
) -> None:
    report_file = tmp_path / "周报.xlsx"
    report_file.write_bytes(b"PK fake workbook")
    await put(
        db,
        clock,
        "p",
        501,
        payload={"photo": "AgACphoto", "caption": "现场照片"},
        method="sendPhoto",
    )
    await put(
        db,
        clock,
        "d",
        502,
        payload={"document": {"path": str(report_file)}, "caption": "周报"},
        method="sendDocument",
    )
    media = [{"type": "photo", "media": "f1"}, {"type": "photo", "media": "f2"}]
    await put(db, clock, "m", 503, payload={"media": media}, method="sendMediaGroup")
    await put(
        db,
        clock,
        "x",
        504,
        payload={"document": {"path": str(tmp_path / "gone.pdf")}},
        method="sendDocument",
    )
    await drain(bot)
    assert [c.method for c in api.sent()] == ["sendPhoto", "sendDocument", "sendMediaGroup"]
    for key in ("p", "d", "m"):
        r = await row(db, key)
        assert r["status"] == "sent" and r["sent_message_id"]
    assert "cannot read the file" in (await row(db, "x"))["last_error"]


async def test_unknown_method_is_parked(bot: Harness, db: Database, clock: FakeClock) -> None:
    await put(db, clock, "x", 501, method="sendSticker", payload={"sticker": "s"})
    await drain(bot)
    assert (await row(db, "x"))["status"] == "parked"


# --- quiet hours -------------------------------------------------------------------------


async def test_quiet_hours_hold_only_scheduled_items(
    bot: Harness, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    """Quiet means quiet, not late: a scheduled nudge waits for the morning; a card
    someone's action caused goes at once without a sound; an urgent one rings."""
    clock.set(datetime(2026, 11, 16, 22, 0, tzinfo=SHANGHAI))
    await put(db, clock, "nudge:7:2026-11-16", 501, "明天记得走访")
    await put(db, clock, "problem:9:ev:1:card:503", 501, "新问题 P-9")
    await put(db, clock, "urgent", 502, "紧急问题 P-46", urgent=True)
    report = await drain(bot)
    assert delivered(api, 501) == ["新问题 P-9"] and delivered(api, 502) == ["紧急问题 P-46"]
    sound = {c.text: c.params.get("disable_notification") for c in api.sent()}
    assert sound == {"新问题 P-9": True, "紧急问题 P-46": None}
    assert report.next_at == datetime(2026, 11, 17, 7, 30, tzinfo=SHANGHAI)
    clock.set(datetime(2026, 11, 17, 7, 29, tzinfo=SHANGHAI))
    await drain(bot)
    assert delivered(api, 501) == ["新问题 P-9"]
    clock.set(datetime(2026, 11, 17, 7, 30, tzinfo=SHANGHAI))
    await drain(bot)
    assert delivered(api, 501) == ["新问题 P-9", "明天记得走访"]
    assert api.sent()[-1].params.get("disable_notification") is None  # morning: it rings


async def test_no_quiet_hours_when_start_equals_end(
    make_bot: AppFactory, seed: Seed, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    bot = await make_bot(
        reminders=ReminderSettings(quiet_start=datetime.min.time(), quiet_end=datetime.min.time())
    )
    clock.set(datetime(2026, 11, 16, 23, 0, tzinfo=SHANGHAI))
    await put(db, clock, "a", 501)
    await drain(bot)
    assert delivered(api, 501) == ["a"]


# --- restarts ----------------------------------------------------------------------------


async def test_restart_resumes_pending_and_never_resends_sent(
    make_bot: AppFactory, seed: Seed, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    first = await make_bot()
    for chat in range(1, 41):
        await put(db, clock, f"n{chat}", 700 + chat)
    assert len((await drain(first)).sent) == 30
    second = await make_bot()  # a new process on the same database
    report = await drain(second)
    assert report.sent == []  # Telegram still counts the last second's 30
    clock.advance(seconds=1.1)
    assert len((await drain(second)).sent) == 10
    clock.advance(minutes=5)
    await drain(second)
    assert sorted(c.chat_id or 0 for c in api.sent()) == [700 + c for c in range(1, 41)]


class Crash(BaseException):
    """The process dies (SIGKILL) at this point."""


async def test_restart_finding_a_send_in_flight_parks_it(
    make_bot: AppFactory,
    seed: Seed,
    db: Database,
    clock: FakeClock,
    api: FakeBotAPI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = await make_bot()
    answer = api.answer

    def die_after_telegram_took_it(call: Call) -> Any:
        answer(call)
        raise Crash()

    monkeypatch.setattr(api, "answer", die_after_telegram_took_it)
    await put(db, clock, "a", 501, "一次")
    with pytest.raises(Crash):
        await drain(first)
    assert (await row(db, "a"))["status"] == "sending"
    monkeypatch.setattr(api, "answer", answer)
    second = await make_bot()
    report = await drain(second)
    assert report.outcomes == {1: "parked"}
    clock.advance(hours=1)
    await drain(second)
    assert delivered(api, 501) == ["一次"]
    assert "interrupted mid-send" in (await row(db, "a"))["last_error"]


async def test_restart_repeats_an_edit_in_flight(
    make_bot: AppFactory, seed: Seed, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    first = await make_bot()
    await put(db, clock, "c", GROUP, "v0", card=CARD)
    await drain(first)
    await put(db, clock, "e", GROUP, "v1", method="editMessageText", card=CARD)
    await db.conn.execute("UPDATE outbox SET status = 'sending', attempts = 1 WHERE key = 'e'")
    second = await make_bot()
    clock.advance(seconds=3)  # the pacer remembers the card sent before the restart
    await drain(second)
    assert delivered(api, GROUP) == ["v1"]
    assert (await row(db, "e"))["status"] == "sent"


# --- the running application -------------------------------------------------------------


async def test_running_application_sends_when_something_is_queued(
    bot: Harness, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    dispatcher = dispatcher_of(bot.app)
    await bot.app.start()
    try:
        assert dispatcher.running
        settled = asyncio.create_task(dispatcher.settled())
        await put(db, clock, "live", 501, "立即发送")
        await asyncio.wait_for(settled, timeout=5)
        assert delivered(api, 501) == ["立即发送"]
    finally:
        await bot.app.stop()
    assert not dispatcher.running
    await put(db, clock, "after", 502)  # stopped: nothing listens any more
    assert (await row(db, "after"))["status"] == "pending"


async def test_drain_report_lists_outcomes(bot: Harness, db: Database, clock: FakeClock) -> None:
    await put(db, clock, "a", 501)
    report: DrainReport = await drain(bot)
    assert report.outcomes == {1: "sent"} and report.next_at is None


async def test_an_item_past_its_moment_is_dropped_not_sent_late(
    bot: Harness, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    async with db.write() as conn:
        await outbox.enqueue(
            conn,
            key="nudge:late",
            chat_id=4242,
            payload={"text": "今天还没有记录走访"},
            now=clock(),
            expires_at=clock() + timedelta(minutes=30),
        )
        await outbox.enqueue(
            conn, key="other", chat_id=4243, payload={"text": "别的消息"}, now=clock()
        )
    api.blocked_chats.clear()
    clock.advance(hours=1)  # the bot was busy or down past the nudge's moment
    report = await drain(bot)
    assert (await row(db, "nudge:late"))["status"] == "dropped"
    assert (await row(db, "other"))["status"] == "sent"
    assert delivered(api, 4242) == []
    assert report.sent == [int((await row(db, "other"))["id"])]
