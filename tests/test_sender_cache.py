"""Who is writing is kept in memory between updates (storage/people.sender), and the
memory is never older than the database: a change made by another bot process on the
same database (a second Application with its own connection), by a roster import or by
the command line is seen by the next update."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.app import build_application
from campaign.settings import Settings
from storage import people
from storage.db import Database, open_database
from tests.conftest import join
from tests.factories import Seed
from tests.fakebot import TOKEN, FakeBotAPI, FakeClock, Harness, shown


@pytest.fixture
async def other(
    settings: Settings, api: FakeBotAPI, clock: FakeClock, bot: Harness, db: Database
) -> AsyncIterator[tuple[Harness, Database]]:
    """A second bot process: its own connection to the same database (the SQLite file or
    the PostgreSQL one the ``db`` fixture opened), its own Application."""
    async with open_database(db.path) as db2:
        app = build_application(
            settings, token=TOKEN, db=db2, request=api, updates_request=api, clock=clock
        )
        await app.initialize()
        h = Harness(app, api, clock)
        h._update_ids = bot._update_ids  # one bot token: update ids keep growing
        h._query_ids = bot._query_ids
        try:
            yield h, db2
        finally:
            await app.shutdown()


async def test_a_repeated_lookup_is_served_from_memory(
    bot: Harness, seed: Seed, db: Database
) -> None:
    await join(bot, seed, "cadre1", 601)
    first = await people.sender(db, 601)
    assert first[1] is not None and first[1].id == seed.cadres["cadre1"]
    assert await people.sender(db, 601) is first  # the very same answer, not read again


async def test_language_chosen_in_another_process_is_seen(
    bot: Harness, seed: Seed, other: tuple[Harness, Database]
) -> None:
    u = await join(bot, seed, "cadre1", 602)
    assert "You can use" not in shown(await bot.send(u, "/help"))[-1].text  # cached: zh-CN
    second, _ = other
    await second.send(u, "/lang")
    await second.tap(u, "English")
    assert "You can use" in shown(await bot.send(u, "/help"))[-1].text


async def test_unbinding_elsewhere_is_seen_at_once(
    bot: Harness, seed: Seed, db: Database, other: tuple[Harness, Database]
) -> None:
    u = await join(bot, seed, "cadre1", 603)
    assert "张伟" in shown(await bot.send(u, "/start"))[-1].text
    _, db2 = other
    await people.unbind(db2, seed.cadres["cadre1"], datetime(2026, 11, 16, 1, tzinfo=UTC))
    calls = await bot.send(u, "/start")
    assert "分享您的手机号" in shown(calls)[-1].text
    assert (await people.sender(db, 603))[1] is None


async def test_roster_change_elsewhere_is_seen_at_once(
    bot: Harness, seed: Seed, db: Database, other: tuple[Harness, Database]
) -> None:
    await join(bot, seed, "cadre1", 604)
    lang, cadre = await people.sender(db, 604)
    assert cadre is not None and cadre.name == "张伟"
    _, db2 = other
    async with db2.write() as conn:  # as a roster import in another process would
        await conn.execute(
            "UPDATE cadres SET name = '张伟伟' WHERE id = ?", (seed.cadres["cadre1"],)
        )
    lang, cadre = await people.sender(db, 604)
    assert cadre is not None and cadre.name == "张伟伟"
    async with db2.write() as conn:
        await conn.execute("UPDATE groups SET name = '新一组' WHERE id = ?", (cadre.group_id,))
    lang, cadre = await people.sender(db, 604)
    assert cadre is not None and cadre.group_name == "新一组"
    async with db2.write() as conn:
        await conn.execute("UPDATE cadres SET active = 0 WHERE id = ?", (cadre.id,))
    assert (await people.sender(db, 604))[1] is None
