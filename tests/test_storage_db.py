"""The database layer: an update's first write carries its processed-update mark."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from storage.db import Database

NOW = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)


async def _marked(db: Database) -> list[int]:
    return [r["update_id"] for r in await db.fetchall("SELECT update_id FROM processed_updates")]


async def test_first_write_commits_the_mark_with_the_change(db: Database) -> None:
    async with db.processing(5, NOW):
        async with db.write() as conn:
            await conn.execute("INSERT INTO user_prefs (telegram_user_id, lang) VALUES (1, 'en')")
        assert await _marked(db) == [5]  # already, with the change itself
    assert await _marked(db) == [5]


async def test_an_update_that_writes_nothing_is_marked_at_the_end(db: Database) -> None:
    async with db.processing(6, NOW):
        assert await _marked(db) == []
    assert await _marked(db) == [6]


async def test_a_failed_write_does_not_take_the_mark_with_it(db: Database) -> None:
    async with db.processing(7, NOW):
        with pytest.raises(RuntimeError):
            async with db.write() as conn:
                await conn.execute("INSERT INTO user_prefs (telegram_user_id) VALUES (2)")
                raise RuntimeError("handler failed")
        assert await _marked(db) == []
    assert await _marked(db) == [7]
    assert await db.fetchall("SELECT * FROM user_prefs") == []


async def test_a_task_started_while_handling_does_not_take_the_mark(db: Database) -> None:
    async def background() -> None:
        async with db.write() as conn:
            await conn.execute("INSERT INTO user_prefs (telegram_user_id) VALUES (3)")

    async with db.processing(8, NOW):
        await asyncio.create_task(background())
        assert await _marked(db) == []
    assert await _marked(db) == [8]
