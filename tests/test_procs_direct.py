"""PostgreSQL webhook processes handle the updates they receive themselves (issue 18's
throughput): recorded already claimed by the receiving process, the done-mark written by
the handler's first write (storage/db.DoneMark), the claims only for updates whose chat
was busy elsewhere or whose process died. docs/processes.md."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from tornado.testing import bind_unused_port

from bot.webhook import IN_FLIGHT, SECRET_HEADER, InboxWorker, chat_of, http_server
from campaign.settings import ProcessSettings, Secret, WebhookSettings
from services.runtime import DEPS_KEY, Deps
from storage import drafts, inbox
from storage.db import DONE_MARK, Database, open_database
from tests.conftest import AppFactory, join
from tests.factories import Seed
from tests.fakebot import Call, FakeClock, Harness, private_text_body
from tests.problem_helpers import last_text

A, B = "host:1:1", "host:2:2"
LEASE = timedelta(seconds=30)
NOW = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)


@pytest.fixture
def pg(db: Database, backend: str) -> Database:
    if backend != "postgresql":
        pytest.skip("PostgreSQL only: SQLite's webhook processes claim every update")
    return db


@pytest.fixture
async def other(pg: Database) -> AsyncIterator[Database]:
    """Another process's connection to the same database."""
    async with open_database(pg.path) as db2:
        yield db2


async def _take(db: Database, holder: str, update_id: int, chat_id: int) -> str | None:
    return await inbox.take(
        db, update_id, chat_id, private_text_body(update_id, chat_id), NOW, holder, NOW + LEASE
    )


async def _rows(db: Database) -> list[tuple[Any, ...]]:
    rows = await db.fetchall(
        "SELECT update_id, status, claimed_by, attempts FROM inbox ORDER BY update_id"
    )
    return [tuple(r) for r in rows]


async def _in_task_with_mark(db: Database, update_id: int, chat_id: int, work: Any) -> Any:
    """Run ``work()`` as the handler of ``update_id`` would: in a task of its own that
    carries the update's done-mark; returns (its result, whether the mark is left open)."""

    async def handler() -> tuple[Any, bool]:
        mark = inbox.done_mark(update_id, chat_id, NOW, asyncio.current_task())
        DONE_MARK.set(mark)
        result = await work()
        return result, mark.close()

    return await asyncio.create_task(handler())


# --- recording: claimed by the receiving process unless its chat is busy -----------------


async def test_an_update_is_recorded_claimed_by_its_receiver_unless_its_chat_is_busy(
    pg: Database,
) -> None:
    assert await _take(pg, A, 10, 501) == inbox.CLAIMED
    assert await _take(pg, A, 10, 501) is None  # Telegram posted it again: nothing changes
    assert await _take(pg, B, 11, 501) == inbox.NEW  # A still holds chat 501's update 10
    assert await _take(pg, A, 12, 501) == inbox.NEW  # 11 waits: 12 may not pass it
    assert await _take(pg, B, 20, 502) == inbox.CLAIMED  # another chat: no wait
    assert await _rows(pg) == [
        (10, "claimed", A, 1),
        (11, "new", None, 0),
        (12, "new", None, 0),
        (20, "claimed", B, 1),
    ]
    # The claims take the waiting ones once 10 is done, in order, by one process.
    assert await inbox.claim(pg, B, NOW, NOW + LEASE, 10) == []
    await inbox.mark_done(pg, [10], NOW)
    got = await inbox.claim(pg, B, NOW, NOW + LEASE, 10)
    assert [(i.update_id, i.attempts) for i in got] == [(11, 1), (12, 1)]


async def test_two_processes_recording_one_chat_at_once_claim_at_most_one(
    pg: Database, other: Database
) -> None:
    """The chat's lock orders the two records: the second sees the first and waits."""
    for n in range(5):
        first, second = 100 + 2 * n, 101 + 2 * n
        taken = await asyncio.gather(_take(pg, A, first, 600 + n), _take(other, B, second, 600 + n))
        assert sorted(t or "" for t in taken) == [inbox.CLAIMED, inbox.NEW]


# --- the done-mark rides in the handler's write -------------------------------------------


async def test_the_done_mark_is_written_by_the_step_itself(pg: Database, seed: Seed) -> None:
    cadre = seed.cadres["cadre1"]
    draft = await drafts.start(pg, "visit", cadre, 601, 601, "place", {}, NOW)
    assert await _take(pg, A, 30, 601) == inbox.CLAIMED

    async def step() -> bool:
        return await drafts.save(pg, draft.id, "kinds", {"x": 1}, NOW)

    saved, left = await _in_task_with_mark(pg, 30, 601, step)
    assert saved is True and left is False  # the step carried it: nothing more to write
    assert await _rows(pg) == [(30, "done", A, 1)]
    assert await pg.fetchone("SELECT 1 FROM processed_updates WHERE update_id = 30")
    got = await drafts.get(pg, draft.id)
    assert got is not None and got.step == "kinds"
    # Its body (a phone number, a location) is not kept, as after any done-mark.
    assert [r["body"] for r in await pg.fetchall("SELECT body FROM inbox")] == [""]


async def test_the_done_mark_is_committed_with_a_write_transaction_or_not_at_all(
    pg: Database,
) -> None:
    assert await _take(pg, A, 40, 601) == inbox.CLAIMED

    async def failing() -> None:
        async with pg.write() as conn:
            await conn.execute(
                "INSERT INTO processed_updates (update_id, at) VALUES (?, ?)", (7, "x")
            )
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError, match="rolled back"):
        await _in_task_with_mark(pg, 40, 601, failing)
    assert await _rows(pg) == [(40, "claimed", A, 1)]  # nothing marked, nothing written
    assert await pg.fetchone("SELECT 1 FROM processed_updates") is None

    async def writing() -> None:
        async with pg.write() as conn:
            await conn.execute(
                "INSERT INTO processed_updates (update_id, at) VALUES (?, ?)", (7, "x")
            )

    _, left = await _in_task_with_mark(pg, 40, 601, writing)
    assert left is False
    assert await _rows(pg) == [(40, "done", A, 1)]
    seen = await pg.fetchall("SELECT update_id FROM processed_updates ORDER BY update_id")
    assert [r["update_id"] for r in seen] == [7, 40]


async def test_a_task_the_handler_started_does_not_carry_its_mark(pg: Database) -> None:
    assert await _take(pg, A, 50, 601) == inbox.CLAIMED

    async def spawns() -> None:
        async def later() -> None:
            async with pg.write() as conn:
                await conn.execute("SELECT 1")

        await asyncio.create_task(later())

    _, left = await _in_task_with_mark(pg, 50, 601, spawns)
    assert left is True  # the worker marks it done itself
    assert await _rows(pg) == [(50, "claimed", A, 1)]


async def test_a_mark_notifies_only_when_its_chat_has_an_update_waiting(
    pg: Database, other: Database, seed: Seed
) -> None:
    woken = asyncio.Event()
    await other.listen(inbox.CHANNEL, woken.set)
    cadre = seed.cadres["cadre1"]
    draft = await drafts.start(pg, "visit", cadre, 601, 601, "place", {}, NOW)

    async def step() -> bool:
        return await drafts.save(pg, draft.id, "kinds", {}, NOW)

    assert await _take(pg, A, 60, 601) == inbox.CLAIMED
    await _in_task_with_mark(pg, 60, 601, step)
    assert await _take(pg, A, 61, 601) == inbox.CLAIMED
    assert await _take(pg, B, 62, 601) == inbox.NEW  # waits for 61
    await _in_task_with_mark(pg, 61, 601, step)
    await asyncio.wait_for(woken.wait(), timeout=10)  # B's worker claims 62 at once
    await other.unlisten(inbox.CHANNEL, woken.set)


# --- the worker: a process that died, a step that committed --------------------------------


def _worker(bot: Harness, holder: str) -> InboxWorker:
    d: Deps = bot.app.bot_data[DEPS_KEY]
    s = dataclasses.replace(d.settings, processes=ProcessSettings(inbox_lease_seconds=30.0))
    return InboxWorker(bot.app, s, holder)


async def _settle(worker: InboxWorker) -> None:
    while worker._working:
        await asyncio.gather(*worker._working.values(), return_exceptions=True)
    await worker.round()


async def test_an_update_whose_receiver_died_is_handled_by_another_after_the_lease(
    bot: Harness, pg: Database, clock: FakeClock
) -> None:
    body = private_text_body(900, 601)
    # A recorded it claimed by itself, answered 200, and was killed before handling it.
    assert await inbox.take(pg, 900, 601, body, clock(), A, clock() + LEASE) == inbox.CLAIMED
    worker = _worker(bot, B)
    assert await worker.round() == 0  # A's lease still runs
    clock.advance(seconds=31)
    worker.wake()  # its poll (``inbox_poll_seconds`` of the loop's time) came round
    assert await worker.round() == 1
    await _settle(worker)
    await worker.stop()
    assert await _rows(pg) == [(900, "done", B, 2)]
    assert [c for c in bot.api.calls if c.params.get("chat_id") == 601]  # the guest answer


async def test_an_update_whose_step_committed_is_never_handled_again(
    bot: Harness, pg: Database, clock: FakeClock, seed: Seed
) -> None:
    cadre = seed.cadres["cadre1"]
    draft = await drafts.start(pg, "visit", cadre, 601, 601, "place", {}, clock())
    body = private_text_body(901, 601)
    assert await inbox.take(pg, 901, 601, body, clock(), A, clock() + LEASE) == inbox.CLAIMED

    async def step() -> bool:
        return await drafts.save(pg, draft.id, "kinds", {}, clock())

    await _in_task_with_mark(pg, 901, 601, step)  # then A was killed: no reply, no flush
    worker = _worker(bot, B)
    clock.advance(seconds=31)
    worker.wake()  # its poll came round
    assert await worker.round() == 0  # done with its step: nobody takes it again
    await worker.stop()
    assert await _rows(pg) == [(901, "done", A, 1)]
    assert not [c for c in bot.api.calls if c.params.get("chat_id") == 601]


# --- the fast path answers as the claims did ----------------------------------------------


def _through(harness: Harness, worker: InboxWorker, direct: bool) -> None:
    """Route the harness's updates through the webhook worker: recorded claimed and
    handled at once (``direct``), or recorded new and claimed (the path before)."""
    deps: Deps = harness.app.bot_data[DEPS_KEY]
    worker.direct = direct

    async def process(data: dict[str, Any]) -> list[Call]:
        before = len(harness.api.calls)
        update_id, chat, body = data["update_id"], chat_of(data), json.dumps(data)
        now = deps.now()
        if direct:
            taken = await inbox.take(
                deps.db, update_id, chat, body, now, worker.holder, now + LEASE
            )
            assert taken == inbox.CLAIMED
            worker.handle_now(inbox.InboxItem(update_id, chat, body, 1))
        else:
            assert await inbox.record(deps.db, update_id, chat, body, now)
            assert await worker.round() == 1
        await _settle(worker)
        return harness.api.calls[before:]

    harness.process = process  # type: ignore[method-assign]


async def _raise_and_cancel(harness: Harness, seed: Seed, user_id: int) -> list[str]:
    u = await join(harness, seed, "cadre1", user_id)
    texts = [last_text(await harness.send(u, "/start"))]
    for label in ("反映问题", "东风村", "基础设施"):
        texts.append(last_text(await harness.tap(u, label)))
    texts.append(last_text(await harness.send(u, "村口道路塌陷")))
    texts.append(last_text(await harness.send(u, "/cancel")))
    texts.append(last_text(await harness.send(u, "hello")))
    return [re.sub(r"\d+", "#", t) for t in texts]


async def test_the_fast_path_answers_and_writes_as_the_claims_did(
    make_bot: AppFactory, seed: Seed, pg: Database
) -> None:
    before, after = await make_bot(), await make_bot()
    for h in (before, after):
        h.app.shared_database = True  # type: ignore[attr-defined]
    _through(before, _worker(before, A), direct=False)
    old = await _raise_and_cancel(before, seed, 601)
    drafts_old = await pg.fetchall("SELECT kind, step, status, data FROM drafts ORDER BY id")
    _through(after, _worker(after, B), direct=True)
    new = await _raise_and_cancel(after, seed, 601)
    assert new == old
    rows = await pg.fetchall("SELECT kind, step, status, data FROM drafts ORDER BY id")
    half = len(rows) // 2
    assert [tuple(r) for r in rows[half:]] == [tuple(r) for r in drafts_old]
    # Every update handled once, marked done, recorded as processed.
    counts = await inbox.counts(pg)
    assert set(counts) == {"done"}
    seen = await pg.fetchone("SELECT COUNT(*) AS n FROM processed_updates")
    assert seen is not None and seen["n"] >= counts["done"]


async def test_the_handled_update_is_not_noted_twice_as_processed(pg: Database) -> None:
    """Its done-mark records it in processed_updates; the application's note of it (one
    more row to write at the next sync) is left out. Other updates are noted as ever."""

    async def notes() -> None:
        pg.note_processed(70, NOW)
        pg.note_processed(71, NOW)

    await _in_task_with_mark(pg, 70, 601, notes)
    assert pg.pending_marks == 1


async def test_a_process_with_its_hands_full_leaves_a_new_update_to_the_claims(
    bot: Harness, pg: Database
) -> None:
    d: Deps = bot.app.bot_data[DEPS_KEY]
    secret = "webhook-secret-0123456789-abcdefghij"
    hook = dataclasses.replace(
        WebhookSettings(url="https://bot.example.org/hook", path="hook"),
        secret_token=Secret(secret),
    )
    s = dataclasses.replace(
        d.settings, telegram=dataclasses.replace(d.settings.telegram, mode="webhook", webhook=hook)
    )
    worker = InboxWorker(bot.app, s, A)
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    worker._working = dict.fromkeys(range(-IN_FLIGHT, 0), never)  # type: ignore[arg-type]
    server = http_server(worker, s)
    sock, port = bind_unused_port()
    server.add_sockets([sock])
    try:
        async with httpx.AsyncClient() as client:
            answer = await client.post(
                f"http://127.0.0.1:{port}/hook",
                content=private_text_body(910, 601),
                headers={SECRET_HEADER: secret, "Content-Type": "application/json"},
            )
        assert answer.status_code == 200
        assert await _rows(pg) == [(910, "new", None, 0)]  # not taken on: recorded new
    finally:
        server.stop()
    worker._working = {}
    assert await worker.round() == 1  # the claims take it once there is room
    await _settle(worker)
    await worker.stop()
    assert await _rows(pg) == [(910, "done", A, 1)]
