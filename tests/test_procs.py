"""Several bot processes on one database (issue 18): the webhook inbox, the dispatcher's
lease, conversations read from the drafts table, scheduled jobs claimed once. In one
process, with fixed clocks; tests/test_procs_process.py runs three real processes."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from tornado.testing import bind_unused_port

from bot.dispatcher import dispatcher_of
from bot.leader import Leadership
from bot.webhook import SECRET_HEADER, InboxWorker, chat_of, http_server
from campaign.message import Message
from campaign.settings import (
    ProcessSettings,
    Secret,
    Settings,
    SettingsError,
    WebhookSettings,
    parse_settings,
)
from services import jobs
from services.runtime import DEPS_KEY, Deps
from storage import inbox, leases, outbox
from storage.db import Database
from tests.conftest import AppFactory, join
from tests.factories import Seed
from tests.fakebot import FakeClock, Harness, private_text_body
from tests.problem_helpers import last_text

A, B = "host:1:1", "host:2:2"


async def _record(db: Database, clock: FakeClock, update_id: int, chat_id: int) -> bool:
    body = private_text_body(update_id, chat_id)
    return await inbox.record(db, update_id, chat_of(json.loads(body)), body, clock())


# --- the inbox ---------------------------------------------------------------------------


async def test_a_redelivered_update_is_recorded_once(db: Database, clock: FakeClock) -> None:
    assert await _record(db, clock, 10, 501)
    assert not await _record(db, clock, 10, 501)  # Telegram posted it again
    rows = await db.fetchall("SELECT update_id, chat_id, status FROM inbox")
    assert [tuple(r) for r in rows] == [(10, 501, "new")]


async def test_one_process_claims_an_update_and_another_takes_it_over_after_its_lease(
    db: Database, clock: FakeClock
) -> None:
    await _record(db, clock, 10, 501)
    lease = timedelta(seconds=30)
    (got,) = await inbox.claim(db, A, clock(), clock() + lease, 10)
    assert (got.update_id, got.attempts) == (10, 1)
    assert await inbox.claim(db, B, clock(), clock() + lease, 10) == []  # A holds it
    clock.advance(seconds=29)
    assert await inbox.claim(db, B, clock(), clock() + lease, 10) == []
    clock.advance(seconds=2)  # A died: its lease ran out
    (again,) = await inbox.claim(db, B, clock(), clock() + lease, 10)
    assert (again.update_id, again.attempts) == (10, 2)
    await inbox.mark_done(db, [10], clock())
    clock.advance(seconds=60)
    assert await inbox.claim(db, A, clock(), clock() + lease, 10) == []
    assert await db.fetchone("SELECT 1 FROM processed_updates WHERE update_id = 10")
    assert await inbox.counts(db) == {"done": 1}
    # A handled update's body (a phone number, a location) is not kept.
    assert [r["body"] for r in await db.fetchall("SELECT body FROM inbox")] == [""]
    assert not await _record(db, clock, 10, 501)  # and its redelivery is still a no-op


async def test_a_chat_whose_earlier_update_another_process_holds_waits(
    db: Database, clock: FakeClock
) -> None:
    for update_id, chat in ((1, 501), (2, 501), (3, 502)):
        await _record(db, clock, update_id, chat)
    lease = timedelta(seconds=30)
    (first,) = await inbox.claim(db, A, clock(), clock() + lease, 1)
    assert first.update_id == 1
    # B may not take chat 501's next update while A still works on its first.
    assert [i.update_id for i in await inbox.claim(db, B, clock(), clock() + lease, 10)] == [3]
    # A itself may: its lanes keep the chat's order.
    assert [i.update_id for i in await inbox.claim(db, A, clock(), clock() + lease, 10)] == [2]


async def test_a_slow_update_keeps_its_claim(db: Database, clock: FakeClock) -> None:
    await _record(db, clock, 1, 501)
    lease = timedelta(seconds=30)
    await inbox.claim(db, A, clock(), clock() + lease, 1)
    clock.advance(seconds=20)
    await inbox.extend(db, A, [1], clock() + lease)
    clock.advance(seconds=20)
    assert await inbox.claim(db, B, clock(), clock() + lease, 1) == []


def test_the_chat_of_an_update() -> None:
    press = {"update_id": 1, "callback_query": {"id": "q", "from": {"id": 7}, "data": "x"}}
    assert chat_of(press) == 7  # a press goes with its presser
    assert chat_of(json.loads(private_text_body(2, -100))) == -100
    assert chat_of({"update_id": 3, "poll": {"id": "p"}}) is None
    member = {"chat": {"id": -5}, "from": {"id": 9}}
    assert chat_of({"update_id": 4, "my_chat_member": member}) == -5


# --- the lease ---------------------------------------------------------------------------


async def test_the_lease_is_held_by_one_and_taken_over_after_it_lapses(
    db: Database, clock: FakeClock
) -> None:
    six = timedelta(seconds=6)
    got = await leases.take(db, leases.DISPATCHER, A, clock(), clock() + six)
    assert (got.holder, got.term) == (A, 1)
    assert (await leases.take(db, leases.DISPATCHER, B, clock(), clock() + six)).holder == A
    clock.advance(seconds=2)
    assert (await leases.take(db, leases.DISPATCHER, A, clock(), clock() + six)).term == 1
    clock.advance(seconds=6.5)  # A stopped renewing
    assert not await leases.holds(db, leases.DISPATCHER, A, clock())
    got = await leases.take(db, leases.DISPATCHER, B, clock(), clock() + six)
    assert (got.holder, got.term) == (B, 2)
    await leases.release(db, leases.DISPATCHER, B)  # a clean stop: at once
    got = await leases.take(db, leases.DISPATCHER, A, clock(), clock() + six)
    assert (got.holder, got.term) == (A, 3)


async def test_a_standby_leads_within_seconds_after_the_leader_stops_renewing(
    db: Database, clock: FakeClock
) -> None:
    first = Leadership(db, clock, holder=A, lease_seconds=6, renew_seconds=2)
    second = Leadership(db, clock, holder=B, lease_seconds=6, renew_seconds=2)
    changes: list[bool] = []
    second.on_change(changes.append)
    assert await first.renew() and not await second.renew()
    for _ in range(3):  # renewed every two seconds: the standby never gets it
        clock.advance(seconds=2)
        assert await first.renew() and not await second.renew()
    clock.advance(seconds=6.1)  # the leader died: no renewal for a lease's length
    assert not first.leading  # a leader that could not renew stops counting itself one
    assert await second.renew() and changes == [True]


# --- the dispatcher: only the lease holder sends -----------------------------------------


async def _queue(db: Database, clock: FakeClock, chat_id: int, key: str) -> None:
    async with db.write() as conn:
        await outbox.enqueue(conn, key=key, chat_id=chat_id, message=Message("hi"), now=clock())


async def test_only_the_lease_holder_sends_and_a_new_leader_recovers_items_in_flight(
    bot: Harness, db: Database, clock: FakeClock
) -> None:
    dispatcher = dispatcher_of(bot.app)
    mine = Leadership(db, clock, holder=A, lease_seconds=6, renew_seconds=2)
    other = Leadership(db, clock, holder=B, lease_seconds=6, renew_seconds=2)
    dispatcher.leadership = mine
    await other.renew()
    await _queue(db, clock, 777, "n1")
    assert not await mine.renew()
    report = await dispatcher.drain(clock())
    assert report.sent == []  # another process leads
    # The other leader died mid-send: its item is left 'sending'.
    async with db.write() as conn:
        await conn.execute("UPDATE outbox SET status = 'sending' WHERE key = 'n1'")
    await _queue(db, clock, 778, "n2")
    clock.advance(seconds=7)
    assert await mine.renew()
    assert dispatcher._may_drain()  # the loop's check: it took over, so it recovers first
    report = await dispatcher.drain(clock())
    rows = {r["key"]: r["status"] for r in await db.fetchall("SELECT key, status FROM outbox")}
    assert rows == {"n1": "parked", "n2": "sent"}  # as after a restart (docs/dispatch.md)
    assert len(report.sent) == 1


# --- scheduled jobs: one run across processes ---------------------------------------------


async def test_an_occurrence_another_process_recorded_queues_nothing(
    bot: Harness, db: Database, clock: FakeClock
) -> None:
    d: Deps = bot.app.bot_data[DEPS_KEY]
    due = clock()
    item = jobs.Outgoing(key="nudge:1", chat_id=777, text="x")
    assert await jobs.queue_run(d, "evening-nudge", due, clock(), [item]) == 1
    # The second process judged it due before the first recorded it; its run is refused.
    item2 = jobs.Outgoing(key="nudge:2", chat_id=778, text="x")
    assert await jobs.queue_run(d, "evening-nudge", due, clock(), [item2]) == 0
    assert [r["key"] for r in await db.fetchall("SELECT key FROM outbox")] == ["nudge:1"]


# --- conversations: the drafts table, not the process, holds them -------------------------


async def test_a_conversation_begun_in_one_process_goes_on_in_another(
    make_bot: AppFactory, seed: Seed, db: Database
) -> None:
    first = await make_bot()
    second = await make_bot()
    for h in (first, second):
        h.app.shared_database = True  # type: ignore[attr-defined]
    u = await join(first, seed, "cadre1", 601)
    await first.tap(u, "反映问题")
    await first.tap(u, "东风村")
    calls = await second.tap(u, "基础设施")  # the other process never saw the flow begin
    assert "描述问题" in last_text(calls)
    calls = await first.send(u, "村口道路塌陷")
    assert "现场照片" in last_text(calls)
    await second.send(u, "/cancel")
    await first.send(u, "hello")  # the first one no longer thinks the flow is on
    row = await db.fetchone("SELECT status FROM drafts WHERE kind = 'problem'")
    assert row is not None and row["status"] != "open"
    assert await db.fetchone("SELECT 1 FROM problems") is None


# --- settings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"lease_seconds": 0}, "'processes.lease_seconds' must be above zero"),
        ({"renew_seconds": 4, "lease_seconds": 6}, "at most half"),
        ({"max_body_bytes": -1}, "'processes.max_body_bytes' must be above zero"),
    ],
)
def test_bad_process_settings_are_refused(section: dict[str, Any], expected: str) -> None:
    with pytest.raises(SettingsError, match=expected):
        parse_settings({"processes": section}, "c", {})


def test_process_settings_default() -> None:
    assert Settings().processes == ProcessSettings()
    assert dataclasses.asdict(ProcessSettings())["lease_seconds"] == 6.0


# --- the webhook endpoint: recorded before the 200 ----------------------------------------

HOOK_SECRET = "webhook-secret-0123456789-abcdefghij"


async def test_the_webhook_records_before_it_answers_and_refuses_bad_posts(
    bot: Harness, db: Database, seed: Seed
) -> None:
    d: Deps = bot.app.bot_data[DEPS_KEY]
    hook = WebhookSettings(url="https://bot.example.org/hook", path="hook")
    hook = dataclasses.replace(hook, secret_token=Secret(HOOK_SECRET))
    s = dataclasses.replace(
        d.settings,
        telegram=dataclasses.replace(d.settings.telegram, mode="webhook", webhook=hook),
        processes=ProcessSettings(max_body_bytes=4096),
    )
    worker = InboxWorker(bot.app, s, A)
    server = http_server(worker, s)
    sock, port = bind_unused_port()
    server.add_sockets([sock])
    url = f"http://127.0.0.1:{port}/hook"
    good = private_text_body(900, 601)
    try:
        async with httpx.AsyncClient() as client:

            async def post(body: str | bytes, secret: str = HOOK_SECRET) -> int:
                headers = {SECRET_HEADER: secret, "Content-Type": "application/json"}
                return (await client.post(url, content=body, headers=headers)).status_code

            assert await post(good, "wrong") == 403
            assert await post(good, "") == 403
            assert await post(b"x" * 5000) == 413
            assert await post(b"{not json") == 400
            assert await post(json.dumps({"message": {}})) == 400
            assert await post(json.dumps({"update_id": "7"})) == 400
            assert await inbox.counts(db) == {}  # nothing refused was recorded
            # PostgreSQL: recorded already claimed by the process that received it, which
            # handles it at once; SQLite: recorded new, for the worker's next claim.
            assert worker.direct == db.marks_with_writes
            assert await post(good) == 200
            assert (await inbox.counts(db)).keys() <= {"claimed", "new", "done"}
            assert sum((await inbox.counts(db)).values()) == 1  # on disk before the 200
            assert await post(good) == 200  # Telegram posted it again: a no-op
            assert sum((await inbox.counts(db)).values()) == 1
            if not worker.direct:
                assert await inbox.counts(db) == {"new": 1}
    finally:
        server.stop()
    # The worker handles it as polling would: the /start-less "hi" gets the guest answer.
    assert await worker.round() == (0 if worker.direct else 1)
    await worker.stop()  # finishes what it holds and marks it done
    assert await inbox.counts(db) == {"done": 1}
    assert await db.fetchone("SELECT 1 FROM processed_updates WHERE update_id = 900")
    assert [c for c in bot.api.calls if c.params.get("chat_id") == 601]


async def test_the_nightly_clean_up_forgets_handled_updates_only(
    db: Database, clock: FakeClock
) -> None:
    for update_id in (1, 2):
        await _record(db, clock, update_id, 501)
    await inbox.claim(db, A, clock(), clock() + timedelta(seconds=30), 1)
    await inbox.mark_done(db, [1], clock())
    clock.advance(days=40)
    assert await inbox.prune_done(db, clock() - timedelta(days=30)) == 1
    assert await inbox.counts(db) == {"new": 1}
