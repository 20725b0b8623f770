"""A conversation step serves the sender and the open draft from the process's memory
(storage/drafts.current, storage/people.sender) and checks both with one read: the
people generation and the draft's version (migration 0030). What another bot process,
a tool or a hand-made UPDATE changed in between is seen by the next step."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.app import build_application
from campaign.settings import Settings
from storage import drafts, people
from storage.db import Database, open_database
from tests.conftest import join
from tests.factories import Seed
from tests.fakebot import TOKEN, FakeBotAPI, FakeClock, Harness, TgUser, shown
from tests.visits_support import (
    alerts,
    answer_once,  # noqa: F401  (autouse fixture)
    flow,
    open_draft,
    texts,
)


@pytest.fixture
async def other(
    settings: Settings, api: FakeBotAPI, clock: FakeClock, bot: Harness, db: Database
) -> AsyncIterator[tuple[Harness, Database]]:
    """A second bot process: its own connection to the same database, its own
    Application (as in tests/test_sender_cache.py). Both read the conversations' state
    from the drafts table before each update, as webhook processes do (bot/webhook.py)."""
    async with open_database(db.path) as db2:
        app = build_application(
            settings, token=TOKEN, db=db2, request=api, updates_request=api, clock=clock
        )
        await app.initialize()
        app.shared_database = True  # type: ignore[attr-defined]
        bot.app.shared_database = True  # type: ignore[attr-defined]
        h = Harness(app, api, clock)
        h._update_ids = bot._update_ids  # one bot token: update ids keep growing
        h._query_ids = bot._query_ids
        try:
            yield h, db2
        finally:
            await app.shutdown()


async def _to_kinds(bot: Harness, u: TgUser) -> None:
    await bot.send(u, "/visit")
    await bot.tap(u, "城南社区")
    await bot.tap(u, "宣讲政策")


async def test_the_kept_draft_is_the_row_after_every_step(
    bot: Harness, seed: Seed, db: Database
) -> None:
    """Write-through: after each update, what this process would serve is what a fresh
    read of the row gives (step, data, version)."""
    u = await join(bot, seed, "cadre1", 731)
    steps = [
        lambda: bot.send(u, "/visit"),
        lambda: bot.tap(u, "城南社区"),
        lambda: bot.tap(u, "宣讲政策"),
        lambda: bot.tap(u, "调查研究"),
        lambda: bot.tap(u, "完成"),
        lambda: bot.tap(u, "今天"),
        lambda: bot.send(u, "入户宣讲医保政策，听取群众意见"),
        lambda: bot.send(u, "12"),
        lambda: bot.tap(u, "下一步"),
    ]
    versions = []
    for step in steps:
        await step()
        kept, _ = await drafts.current(db, "visit", 731, 731)
        fresh = await open_draft(db, 731)
        assert kept == fresh
        assert fresh is not None
        versions.append(fresh.version)
    assert versions == sorted(versions) and versions[-1] > versions[0]
    await bot.tap(u, "提交")
    assert await _visits(db) == 1
    assert (await drafts.current(db, "visit", 731, 731))[0] is None


async def _reads_and_writes_of_a_tap(
    bot: Harness, seed: Seed, db: Database, user_id: int
) -> tuple[list[str], list[str]]:
    """The reads and the drafts writes the loop connection runs for one kind ticked in
    a visit (SQLite only: its statements are traced)."""
    here = getattr(db, "_here", None)
    if not isinstance(here, sqlite3.Connection):
        pytest.skip("counts the SQLite loop connection's statements")
    u = await join(bot, seed, "cadre1", user_id)
    await _to_kinds(bot, u)
    seen: list[str] = []
    here.set_trace_callback(seen.append)
    try:
        await bot.tap(u, "调查研究")
    finally:
        here.set_trace_callback(None)
    # (a trigger's run is traced with its statement's text again: count each text once)
    reads = sorted({s for s in seen if s.lstrip().upper().startswith("SELECT")})
    writes = sorted({s for s in seen if s.lstrip().upper().startswith("UPDATE DRAFTS")})
    return reads, writes


async def test_a_step_reads_the_database_once(bot: Harness, seed: Seed, db: Database) -> None:
    """Sender and draft from memory: one read (generation and version) and the step's
    write, where it took three statements before."""
    reads, writes = await _reads_and_writes_of_a_tap(bot, seed, db, 732)
    assert len(reads) == 1 and "version" in reads[0] and "cache_generations" in reads[0]
    assert len(writes) == 1


async def test_a_step_of_several_processes_reads_the_database_once(
    bot: Harness, seed: Seed, db: Database, other: tuple[Harness, Database]
) -> None:
    """With several processes, the read of the sender's open drafts before each update
    (bot/persistence.refresh_conversations) brings the versions and the generation: the
    step's own check needs no second read."""
    reads, writes = await _reads_and_writes_of_a_tap(bot, seed, db, 734)
    assert len(reads) == 1 and "version" in reads[0] and "cache_generations" in reads[0]
    assert "user_id" in reads[0]  # the read of all their open drafts, not of this one
    assert len(writes) == 1


async def test_a_confirmed_draft_is_served_once_without_a_read(
    bot: Harness, seed: Seed, db: Database
) -> None:
    """The confirmation of an update's read serves one check; the next reads again and
    sees what another connection changed meanwhile."""
    u = await join(bot, seed, "cadre1", 735)
    await _to_kinds(bot, u)
    kept, _ = await drafts.current(db, "visit", 735, 735)
    assert kept is not None
    assert ("visit", 735, kept.step) in await drafts.open_of_user(db, 735)
    first, _ = await drafts.current(db, "visit", 735, 735)
    assert first == kept
    await db.write_one(
        "UPDATE drafts SET data = ?, version = version + 1 WHERE id = ?",
        (json.dumps({**kept.data, "text": "另一进程写的"}), kept.id),
    )
    second, _ = await drafts.current(db, "visit", 735, 735)
    assert second is not None and second.data["text"] == "另一进程写的"
    assert second.version == kept.version + 1


async def test_a_draft_moved_on_by_another_process_is_seen(
    bot: Harness, seed: Seed, db: Database, other: tuple[Harness, Database]
) -> None:
    u = await join(bot, seed, "cadre1", 733)
    await _to_kinds(bot, u)  # this process keeps the draft at "kinds", 宣讲政策 ticked
    second, _ = other
    await second.tap(u, "调查研究")  # the other process ticks a second kind
    await bot.tap(u, "完成")
    await bot.tap(u, "今天")
    await bot.send(u, "入户宣讲医保政策，听取群众意见")
    calls = await bot.tap(u, "下一步")
    summary = shown(calls)[-1].text
    assert "宣讲政策" in summary and "调查研究" in summary  # both kinds, not only ours
    await bot.tap(u, "提交")
    rows = await db.fetchall("SELECT kind FROM visit_kinds ORDER BY kind")
    assert sorted(r["kind"] for r in rows) == ["policy", "survey"]


async def test_a_draft_changed_by_hand_is_seen(bot: Harness, seed: Seed, db: Database) -> None:
    """A plain UPDATE that knows nothing of versions (a tool, a repair by hand): the
    trigger bumps the version, so the next step reads the row afresh."""
    u = await join(bot, seed, "cadre1", 734)
    await _to_kinds(bot, u)
    draft = await open_draft(db, 734)
    assert draft is not None
    data = dict(draft.data, kinds=["policy", "party"])
    async with db.write() as conn:
        await conn.execute(
            "UPDATE drafts SET data = ? WHERE id = ?",
            (json.dumps(data, ensure_ascii=False), draft.id),
        )
    changed = await open_draft(db, 734)
    assert changed is not None and changed.version > draft.version
    await bot.tap(u, "完成")
    await bot.tap(u, "今天")
    await bot.send(u, "入户宣讲医保政策，听取群众意见")
    summary = shown(await bot.tap(u, "下一步"))[-1].text
    assert "强基固本" in summary  # the kind set by hand


async def test_a_draft_cancelled_elsewhere_is_closed_here(
    bot: Harness, seed: Seed, db: Database, other: tuple[Harness, Database]
) -> None:
    u = await join(bot, seed, "cadre1", 735)
    await _to_kinds(bot, u)
    second, _ = other
    await second.send(u, "/cancel")
    calls = await bot.tap(u, "完成")
    assert alerts(calls)  # the press is told the draft is closed
    assert await open_draft(db, 735) is None
    assert await _visits(db) == 0


async def test_a_cadre_unbound_elsewhere_mid_flow_is_no_longer_served(
    bot: Harness, seed: Seed, db: Database, other: tuple[Harness, Database]
) -> None:
    u = await join(bot, seed, "cadre1", 736)
    await _to_kinds(bot, u)
    _, db2 = other
    await people.unbind(db2, seed.cadres["cadre1"], datetime(2026, 11, 16, 1, tzinfo=UTC))
    calls = await bot.tap(u, "完成")
    assert "/start" in texts(calls)  # told how to join again
    assert await open_draft(db, 736) is None
    assert (await people.sender(db, 736))[1] is None


async def test_a_cadre_renamed_elsewhere_mid_flow_is_read_afresh(
    bot: Harness, seed: Seed, db: Database, other: tuple[Harness, Database]
) -> None:
    u = await join(bot, seed, "cadre1", 737)
    await _to_kinds(bot, u)
    _, db2 = other
    async with db2.write() as conn:
        await conn.execute(
            "UPDATE cadres SET name = '张伟民' WHERE id = ?", (seed.cadres["cadre1"],)
        )
    await bot.tap(u, "完成")
    lang, cadre = await people.sender(db, 737, check=False)
    assert cadre is not None and cadre.name == "张伟民"  # the step read it afresh


async def test_a_whole_visit_gives_the_same_with_and_without_memory(
    bot: Harness, seed: Seed, db: Database
) -> None:
    """The same visit twice, the second with both memories emptied before every update
    (every read afresh, as before they existed): the same summary, the same rows."""
    u = await join(bot, seed, "cadre1", 738)
    kept = texts(await flow(bot, u))

    def forget() -> None:
        drafts.forget(db)
        people.forget_senders(db)

    forget()
    await bot.send(u, "/visit")
    for label in ("城南社区", "宣讲政策", "完成", "今天"):
        forget()
        await bot.tap(u, label)
    forget()
    await bot.send(u, "入户宣讲医保政策，听取群众意见")
    forget()
    await bot.tap(u, "下一步")
    forget()
    fresh = texts(await bot.tap(u, "提交"))
    # the receipts differ only in the visit's number and the month's count
    assert [_words(line) for line in kept.split("\n")] == [
        _words(line) for line in fresh.split("\n")
    ]
    rows = await db.fetchall(
        "SELECT cadre_id, place_id, visit_date, text, people_met FROM visits ORDER BY id"
    )
    assert len(rows) == 2 and tuple(rows[0]) == tuple(rows[1])


def _words(line: str) -> str:
    return "".join("9" if c.isdigit() else c for c in line)


async def _visits(db: Database) -> int:
    row = await db.fetchone("SELECT COUNT(*) AS n FROM visits")
    return int(row["n"]) if row is not None else 0
