"""PostgreSQL with several processes: the claims of the outgoing queue and of the
webhook inbox pass over rows another transaction holds (``FOR UPDATE SKIP LOCKED``)
instead of waiting for them, a transaction that queued a message wakes the dispatcher
of every process when it commits (``NOTIFY``), not at the next poll, and a one-statement
write (an update recorded, a conversation step) goes outside the queue of write
transactions yet never undoes what one of them decided."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.dispatcher import dispatcher_of
from campaign.message import Message
from storage import drafts, inbox, leases, outbox
from storage.db import Database, open_database
from storage.pg import _WRITE_LOCK_KEY, translate
from tests.conftest import AppFactory
from tests.factories import Seed
from tests.fakebot import FakeBotAPI, FakeClock

NOW = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)


def test_a_clause_for_postgresql_alone_is_a_comment_sqlite_skips() -> None:
    sql = "SELECT * FROM outbox WHERE id = ? LIMIT ? /*PG: FOR UPDATE SKIP LOCKED*/"
    assert translate(sql, frozenset()).text == (
        "SELECT * FROM outbox WHERE id = $1 LIMIT $2 FOR UPDATE SKIP LOCKED"
    )


@pytest.fixture
def pg(db: Database, backend: str) -> Database:
    if backend != "postgresql":
        pytest.skip("PostgreSQL only: row locks and NOTIFY")
    return db


@pytest.fixture
async def other(pg: Database) -> AsyncIterator[Database]:
    """Another process's connection to the same database."""
    async with open_database(pg.path) as db2:
        yield db2


async def _queue(db: Database, key: str, chat_id: int) -> None:
    async with db.write() as conn:
        assert await outbox.enqueue(conn, key=key, chat_id=chat_id, message=Message(key), now=NOW)


async def test_outbox_heads_pass_over_a_head_another_transaction_holds(
    pg: Database, other: Database
) -> None:
    await _queue(pg, "a1", 501)
    await _queue(pg, "a2", 501)
    await _queue(pg, "b1", 502)
    held = await pg.fetchone("SELECT id FROM outbox WHERE key = 'a1'")
    assert held is not None
    raw = other._writer  # type: ignore[attr-defined]
    tx = raw.transaction()
    await tx.start()
    try:
        await raw.execute("SELECT 1 FROM outbox WHERE id = $1 FOR UPDATE", held["id"])
        async with pg.write() as conn:  # does not wait for the other transaction
            heads = await outbox.due_heads(conn, NOW, False, 10)
        # chat 501's head is held: neither it nor a2 behind it is offered (order kept)
        assert [h.key for h in heads] == ["b1"]
    finally:
        await tx.rollback()
    async with pg.write() as conn:
        assert [h.key for h in await outbox.due_heads(conn, NOW, False, 10)] == ["a1", "b1"]


async def test_inbox_claim_passes_over_an_update_another_transaction_holds(
    pg: Database, other: Database
) -> None:
    for update_id, chat in ((1, 601), (2, 602)):
        assert await inbox.record(pg, update_id, chat, "{}", NOW)
    raw = other._writer  # type: ignore[attr-defined]
    tx = raw.transaction()
    await tx.start()
    try:
        await raw.execute("SELECT 1 FROM inbox WHERE update_id = 1 FOR UPDATE")
        got = await inbox.claim(pg, "p1", NOW, NOW + timedelta(seconds=30), 10)
        assert [i.update_id for i in got] == [2]
    finally:
        await tx.rollback()
    got = await inbox.claim(pg, "p2", NOW, NOW + timedelta(seconds=30), 10)
    assert [i.update_id for i in got] == [1]


async def test_a_committed_enqueue_wakes_a_listener_in_another_process(
    pg: Database, other: Database
) -> None:
    woken = asyncio.Event()
    calls: list[int] = []

    def wake() -> None:
        calls.append(1)
        woken.set()

    await other.listen(outbox.CHANNEL, wake)
    with pytest.raises(RuntimeError, match="rolled back"):
        async with pg.write() as conn:
            await outbox.enqueue(conn, key="x", chat_id=501, message=Message("x"), now=NOW)
            raise RuntimeError("rolled back")
    await _queue(pg, "y", 501)  # notices arrive in commit order: one, for "y"
    await asyncio.wait_for(woken.wait(), timeout=10)
    assert calls == [1]
    await other.unlisten(outbox.CHANNEL, wake)


async def test_a_dispatcher_is_woken_by_another_process_enqueuing(
    make_bot: AppFactory,
    seed: Seed,
    pg: Database,
    other: Database,
    clock: FakeClock,
    api: FakeBotAPI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    harness = await make_bot()
    dispatcher = dispatcher_of(harness.app)
    # It would poll only once an hour: only the NOTIFY can wake it in time.
    settings = dispatcher.deps.settings
    slow = dataclasses.replace(settings.outbox, poll_seconds=3600.0)
    slow_settings = dataclasses.replace(settings, outbox=slow)
    monkeypatch.setattr(
        dispatcher, "deps", dataclasses.replace(dispatcher.deps, settings=slow_settings)
    )
    await harness.app.start()
    try:
        first = asyncio.create_task(dispatcher.settled())
        await asyncio.wait_for(first, timeout=10)  # the first, empty drain at the start
        # The in-process wake-up stands for this process only: the other one has none.
        monkeypatch.setattr(outbox, "_listeners", [])
        settled = asyncio.create_task(dispatcher.settled())
        async with other.write() as conn:
            await outbox.enqueue(
                conn, key="from-b", chat_id=501, message=Message("另一进程"), now=clock()
            )
        await asyncio.wait_for(settled, timeout=10)
        sent = [c.params.get("text") for c in api.calls if c.params.get("chat_id") == 501]
        assert "另一进程" in sent
    finally:
        await harness.app.stop()


# --- one-statement writes outside the queue of write transactions ------------------------


async def test_recording_an_update_does_not_wait_for_the_write_lock(
    pg: Database, other: Database
) -> None:
    """Another process holds the write lock (a long transaction): the webhook still
    records the update, so Telegram gets its 200."""
    raw = other._writer  # type: ignore[attr-defined]
    tx = raw.transaction()
    await tx.start()
    try:
        await raw.execute(f"SELECT pg_advisory_xact_lock({_WRITE_LOCK_KEY})")
        assert await asyncio.wait_for(inbox.record(pg, 41, 601, "{}", NOW), timeout=30)
        assert not await inbox.record(pg, 41, 601, "{}", NOW)  # posted again: nothing
    finally:
        await tx.rollback()
    assert await inbox.counts(pg) == {"new": 1}


async def test_a_step_saved_while_another_transaction_closes_the_draft_is_not_saved(
    pg: Database, other: Database, seed: Seed
) -> None:
    cadre = seed.cadres["cadre1"]
    draft = await drafts.start(pg, "visit", cadre, 601, 601, "place", {}, NOW)
    raw = other._writer  # type: ignore[attr-defined]
    tx = raw.transaction()
    await tx.start()
    try:  # another process submits the draft; its transaction is not committed yet
        await raw.execute("UPDATE drafts SET status = 'submitted' WHERE id = $1", draft.id)
        saving = asyncio.create_task(drafts.save(pg, draft.id, "kinds", {"x": 1}, NOW))
    finally:
        await tx.commit()
    assert await asyncio.wait_for(saving, timeout=30) is False  # judged on the closed row
    got = await drafts.get(pg, draft.id)
    assert got is not None and got.status == "submitted" and got.step == "place"


# --- the dispatcher's lead: a session advisory lock ----------------------------------------


async def test_a_standby_leads_at_once_when_the_leaders_connection_dies(
    pg: Database, other: Database
) -> None:
    from bot.leader import Leadership

    clock = FakeClock(NOW)  # never moves: the lease row has not lapsed
    first = Leadership(pg, clock, holder="host:1:1", lease_seconds=6, renew_seconds=2)
    second = Leadership(other, clock, holder="host:2:1", lease_seconds=6, renew_seconds=2)
    assert await first.renew() and not await second.renew()
    assert not await second.renew()  # held: the standby waits
    # The leader's process died: its connection ends (waited for, up to 5 s, until the
    # server process behind it is gone and its locks with it).
    pid = pg._session.get_server_pid()  # type: ignore[attr-defined]
    await other.fetchall("SELECT pg_terminate_backend(CAST(? AS INTEGER), 5000)", (pid,))
    assert await second.renew()
    lease = await leases.current(pg, leases.DISPATCHER)
    assert lease is not None and (lease.holder, lease.term) == ("host:2:1", 2)
    assert not await first.renew() and not first.leading  # it cannot have it back


async def test_a_leader_that_stopped_renewing_loses_the_lock_when_its_lease_lapses(
    pg: Database, other: Database
) -> None:
    from bot.leader import Leadership

    clock = FakeClock(NOW)
    first = Leadership(pg, clock, holder="host:1:1", lease_seconds=6, renew_seconds=2)
    second = Leadership(other, clock, holder="host:2:1", lease_seconds=6, renew_seconds=2)
    assert await first.renew() and not await second.renew()
    clock.advance(seconds=5)
    assert not await second.renew()  # connected and within its lease: still the leader's
    clock.advance(seconds=1.5)  # hung: connected, but no renewal for a lease's length
    assert await second.renew()
    assert not await first.renew() and not first.leading
    await second.stop()  # a clean stop gives the lock up: the other leads at once
    assert await first.renew()
    await first.stop()
