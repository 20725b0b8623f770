"""The database layer: an update is marked handled, durably enough, after its handler."""

from __future__ import annotations

from datetime import UTC, datetime

from storage.db import Database

NOW = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)


async def test_mark_processed_is_idempotent_and_leaves_full_sync(db: Database) -> None:
    await db.mark_processed(5, NOW)
    await db.mark_processed(5, NOW)
    rows = await db.fetchall("SELECT update_id, at FROM processed_updates")
    assert [tuple(r) for r in rows] == [(5, "2026-11-16T01:00:00+00:00")]
    mode = await db.fetchone("PRAGMA synchronous")
    assert mode is not None and mode[0] == 2  # FULL again for every report
