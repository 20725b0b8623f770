"""The dispatcher on the live clock: passes overlap, a claim reads only the heads it could
let go, and the windows still hold (issue 20, one Telegram budget)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.dispatcher import DrainReport, dispatcher_of
from storage import outbox
from storage.db import Database
from tests.fakebot import FakeBotAPI, FakeClock, Harness
from tests.test_dispatcher import put

GROUP = -1001234500


async def test_a_live_claim_reading_fewer_heads_claims_what_a_full_read_claims(
    bot: Harness, db: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast path (read free places + held chats + a few heads) against the old
    answer (read 500 heads) on the same queue and the same pacer."""
    dispatcher = dispatcher_of(bot.app)
    pacer = dispatcher.pacer
    t = clock().timestamp()
    # 12 chats with a send in flight, 3 more answered just now, one paused by a 429
    flying = [pacer.begin(700 + i, t) for i in range(12)]
    for i in range(3):
        pacer.take(720 + i, t)
    pacer.flood(730, 5.0, t)
    # their next items come first in the queue; behind them, 60 chats free to go
    for chat in [*(700 + i for i in range(12)), *(720 + i for i in range(3)), 730]:
        await put(db, clock, f"held:{chat}", chat)
    for n in range(4):
        await put(db, clock, f"g:{n}", GROUP)
    for chat in range(800, 860):
        await put(db, clock, f"free:{chat}", chat)

    marks: list[list[int]] = []

    async def dry_run(conn: Any, ids: list[int]) -> None:
        marks.append(ids)  # nothing marked 'sending': the queue stays as it was

    monkeypatch.setattr(outbox, "mark_sending", dry_run)
    claims = []
    real = outbox.due_heads
    reads: list[int] = []

    async def counted(conn: Any, at: Any, urgent_only: bool, limit: int) -> Any:
        reads.append(limit)
        return await real(conn, at, urgent_only, limit)

    monkeypatch.setattr(outbox, "due_heads", counted)
    for live in (True, False):
        dispatcher._live = live
        chosen = await dispatcher._claim(clock(), DrainReport())
        claims.append(([it.id for it, _, _ in chosen], reads[-1]))
        for _, _, ticket in chosen:
            pacer.cancel(ticket)
    (fast, fast_read), (full, full_read) = claims
    assert fast == full and len(fast) == 30 - 15  # the free places, oldest first
    assert fast_read < full_read == 500
    assert marks[0] == marks[1] == fast
    for ticket in flying:
        pacer.end(ticket, t)


async def test_a_live_drain_lets_go_no_more_than_the_windows_allow(
    bot: Harness, db: Database, clock: FakeClock, api: FakeBotAPI
) -> None:
    """The running application drains with overlapping passes; on a clock that stands
    still the windows never free, so exactly one window's worth goes, each chat's
    oldest first, each once."""
    for n in range(3):
        await put(db, clock, f"same:{n}", 501, f"第{n}条")
    for chat in range(600, 640):
        await put(db, clock, f"n:{chat}", chat)
    dispatcher = dispatcher_of(bot.app)
    await bot.app.start()
    try:
        settled = asyncio.create_task(dispatcher.settled())
        dispatcher.wake()
        await asyncio.wait_for(settled, timeout=10)
    finally:
        await bot.app.stop()
    sent = api.sent()
    assert len(sent) == 30
    assert len({c.chat_id for c in sent}) == 30  # one a chat: its window holds the rest
    assert [c for c in sent if c.chat_id == 501][0].params["text"] == "第0条"
    rows = await db.fetchall("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status")
    assert {r["status"]: r["n"] for r in rows} == {"sent": 30, "pending": 13}
