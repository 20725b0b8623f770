"""The hostile corpus (tests/hostile_corpus.py): every case in-process through the real
Application, and a sample of it through the real process over HTTP. Each gets a clear
answer or is ignored, raises nothing, and changes no row it should not."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import ContextTypes

from campaign.i18n import default_catalog
from campaign.settings import Settings
from tests.botprocess import BotProcess
from tests.conftest import AppFactory
from tests.crashrun import log_problems
from tests.factories import CADRES, Seed
from tests.fakebot import TOKEN, Harness, TgUser, shown
from tests.fakeserver import SHOWING, ControlClient, FakeServer
from tests.hostile_corpus import (
    CORPUS,
    JOINED_ID,
    LEADER_ID,
    OFFICE_ID,
    STRANGER_ID,
    TEAM_CHAT,
    Case,
    Cast,
)
from tests.updates import Updates, with_id

# Rows these tables gain from any update, by design.
ALWAYS_CHANGING = {"processed_updates", "schema_migrations"}
ERROR_TEXTS = {default_catalog().t(lang, "common.error") for lang in ("zh-CN", "en")}


def test_corpus_is_big_and_varied() -> None:
    assert len(CORPUS) >= 200
    kinds = {c.expect for c in CORPUS}
    assert kinds == {"answer", "alert", "ignore", "any"}


def snapshot(database: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(database, timeout=10)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {
            t: sorted(conn.execute(f"SELECT * FROM {t}"), key=repr)
            for t in tables
            if t not in ALWAYS_CHANGING
        }
    finally:
        conn.close()


def _outbox_drained(database: Path) -> bool:
    conn = sqlite3.connect(database, timeout=10)
    try:
        (waiting,) = conn.execute(
            "SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')"
        ).fetchone()
        return int(waiting) == 0
    finally:
        conn.close()


def changed(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    return {t for t in after if before.get(t) != after[t]}


@dataclass
class Seen:
    """One API call, the same whether it came in-process or over HTTP."""

    method: str
    params: dict[str, Any]

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")


def reply_chat(update: dict[str, Any], case: Case) -> int | None:
    if case.chat is not None:
        return case.chat
    for kind in ("message", "edited_message"):
        if kind in update:
            return int(update[kind]["chat"]["id"])
    if "callback_query" in update:
        return int(update["callback_query"]["from"]["id"])
    return None


def judge(case: Case, update: dict[str, Any], calls: Iterable[Seen], rows: set[str]) -> list[str]:
    """What is wrong with how the bot took one case (empty: all right)."""
    calls = list(calls)
    problems: list[str] = []
    shown = [c for c in calls if c.method in SHOWING]
    alerts = [c for c in calls if c.method == "answerCallbackQuery"]
    chat = reply_chat(update, case)
    if any(c.text in ERROR_TEXTS for c in shown + alerts):
        problems.append("the user was shown the error message")
    if any(not c.text.strip() for c in shown):
        problems.append("an empty message was shown")
    strays = [c for c in shown if c.chat_id != chat]
    if strays:
        problems.append(f"answered in another chat: {[c.chat_id for c in strays]}")
    if case.expect == "answer" and not (shown or any(a.text for a in alerts)):
        problems.append(f"no answer; calls: {[c.method for c in calls]}")
    if case.expect == "alert":
        if not alerts or not alerts[-1].params.get("show_alert") or not alerts[-1].text:
            problems.append(f"no alert with text; calls: {[(c.method, c.text) for c in calls]}")
        if shown:
            problems.append(f"a forged button showed {[c.text[:40] for c in shown]}")
    if case.expect == "ignore" and calls:
        problems.append(f"not ignored: {[(c.method, c.text[:40]) for c in calls]}")
    if "callback_query" in update and case.expect != "ignore" and not alerts:
        problems.append("the button press was never answered (the client keeps spinning)")
    if len(alerts) > 1:
        problems.append("the button press was answered twice (Telegram refuses the second)")
    extra = rows - case.may_change
    if extra:
        problems.append(f"rows changed in {sorted(extra)}")
    return problems


# --- in-process ------------------------------------------------------------------------


@dataclass
class World:
    bot: Harness
    cast: Cast
    errors: list[BaseException]
    database: Path


async def build_world(bot: Harness, seed: Seed, database: Path) -> World:
    errors: list[BaseException] = []

    async def record(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        errors.append(context.error or RuntimeError("error handler without an error"))

    bot.app.add_error_handler(record)
    await bot.contact(TgUser(JOINED_ID, "u601"), seed.phones["cadre1"])
    leader = TgUser(LEADER_ID, "u602")
    await bot.contact(leader, seed.phones["captain1"])
    await bot.contact(TgUser(OFFICE_ID, "u603"), seed.phones["office1"])
    await bot.send(leader, "/bindteam", chat_id=TEAM_CHAT)
    calls = await bot.send(TgUser(JOINED_ID, "u601"), "/lang")
    keyboard = bot.api.render(bot.message_of(calls[-1]))
    calls = await bot.send(TgUser(STRANGER_ID, "u699"), "/start")
    greeting = bot.api.render(bot.message_of(shown(calls)[-1]))
    cast = Cast(Updates(lambda: bot.clock().timestamp()), seed.phones, keyboard, greeting)
    assert errors == []
    return World(bot, cast, errors, database)


@pytest.fixture
async def world(make_bot: AppFactory, seed: Seed, settings: Settings) -> World:
    bot = await make_bot()
    return await build_world(bot, seed, Path(settings.storage.database))


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
async def test_hostile_case(case: Case, world: World) -> None:
    update = case.build(world.cast)
    before = snapshot(world.database)
    calls = await world.bot.process(with_id(update, world.bot.next_update_id()))
    rows = changed(before, snapshot(world.database))
    problems = judge(case, update, [Seen(c.method, c.params) for c in calls], rows)
    assert world.errors == [], f"the error handler ran: {world.errors!r}"
    assert problems == []


async def test_judge_can_fail(world: World) -> None:
    """The judge is not a rubber stamp: a stray message, silence, a changed table."""
    case = next(c for c in CORPUS if c.name == "text_sql_drop_joined")
    update = case.build(world.cast)
    assert judge(case, update, [], set()) != []
    assert judge(case, update, [Seen("sendMessage", {"chat_id": -5, "text": "x"})], set())
    assert judge(
        case, update, [Seen("sendMessage", {"chat_id": JOINED_ID, "text": "x"})], {"cadres"}
    )
    assert not judge(
        case, update, [Seen("sendMessage", {"chat_id": JOINED_ID, "text": "x"})], set()
    )


async def test_language_button_pressed_twice_is_no_error(world: World) -> None:
    """Two taps on the same keyboard before it changed (or one update delivered again
    after a kill): Telegram refuses the second edit as not modified; no error shows."""
    press = world.cast.updates.callback(
        world.cast.joined, "lang:v1:set:en", world.cast.lang_keyboard
    )
    await world.bot.process(with_id(press, world.bot.next_update_id()))
    again = world.cast.updates.callback(
        world.cast.joined, "lang:v1:set:en", world.cast.lang_keyboard
    )
    calls = await world.bot.process(with_id(again, world.bot.next_update_id()))
    assert world.errors == []
    assert [c.method for c in calls][:2] == ["answerCallbackQuery", "editMessageText"]
    assert calls[0].params.get("text") is None  # a quiet acknowledgement, not an alert


# --- the real process: a sample of the corpus over HTTP -------------------------------

SAMPLE = CORPUS[::9]


@pytest.mark.process
def test_hostile_sample_against_the_process(
    fake_server: FakeServer, bot_process: BotProcess
) -> None:
    assert bot_process.run_cli("migrate").returncode == 0
    seed = _seed_small_roster(bot_process.database)
    control = ControlClient(fake_server.url)
    fake = fake_server.fake
    bot_process.start()
    u = Updates()
    joined, leader = TgUser(JOINED_ID, "u601"), TgUser(LEADER_ID, "u602")
    for update in (
        u.contact(joined, seed["cadre1"]),
        u.contact(leader, seed["captain1"]),
        u.contact(TgUser(OFFICE_ID, "u603"), seed["office1"]),
        u.text(leader, "/bindteam", chat_id=TEAM_CHAT),
        u.text(joined, "/lang"),
        u.text(TgUser(STRANGER_ID, "u699"), "/start"),
    ):
        uid = control.post_update(update)
        assert fake.wait_until(lambda uid=uid: fake.confirmed > uid, 20)
    # What the set-up queued (a team chat's notice, ...) is sent before the cases start:
    # a row turning from pending to sent during a case is not that case's change.
    assert fake.wait_until(lambda: _outbox_drained(bot_process.database), 30)
    found = fake.find_button(JOINED_ID, "English")
    assert found is not None
    (greeting,) = [m for m in fake.api.messages.values() if m.chat_id == STRANGER_ID]
    cast = Cast(u, seed, fake.render(found[0]), fake.render(greeting))
    failures: dict[str, list[str]] = {}
    for case in SAMPLE:
        update = case.build(cast)
        before = snapshot(bot_process.database)
        _, seq = control.calls()
        uid = control.post_update(update)
        assert fake.wait_until(lambda uid=uid: fake.confirmed > uid, 20), case.name
        calls = [Seen(c.method, c.params) for c in fake.calls_since(seq)]
        problems = judge(case, update, calls, changed(before, snapshot(bot_process.database)))
        if problems:
            failures[case.name] = problems
    assert bot_process.stop() == 0
    assert failures == {}
    phones = [phone for _, _, phone, *_ in CADRES]
    assert log_problems(bot_process.log_text(), TOKEN, phones) == []
    assert bot_process.kills == 0 and len(SAMPLE) >= 25


def _seed_small_roster(database: Path) -> dict[str, str]:
    """tests/factories.py's roster, written into the process's database file."""
    import asyncio

    from storage.db import open_database
    from tests.factories import seed_roster

    async def go() -> dict[str, str]:
        async with open_database(database) as db:
            return (await seed_roster(db)).phones

    return asyncio.run(go())
