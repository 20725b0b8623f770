"""One Telegram budget per bot token: replies and the outgoing queue count in the same
windows, a reply is counted when its request leaves, and the queue leaves replies room."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.app import build_application
from bot.budget import PACER_KEY, SharedRateLimiter
from bot.dispatcher import dispatcher_of
from campaign.pacing import Limits, Pacer
from campaign.settings import Settings, TelegramSettings
from storage.db import Database
from tests.fakebot import TOKEN, FakeBotAPI, FakeClock


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_the_queue_leaves_room_for_replies_while_they_flow() -> None:
    pacer = Pacer(Limits(reply_reserve=5, margin=0.0))
    for i in range(25):
        pacer.take(10 + i, 100.0)
    assert pacer.queue_ready_at(100.0) == 100.0  # no reply lately: the whole window
    pacer.reply(1, 100.0)  # 26 in the window, one of them a reply
    assert pacer.queue_ready_at(100.0) > 100.0  # the queue keeps 4 places for replies
    for i in range(4):
        assert pacer.ready_at(2 + i, 100.0) == 100.0  # replies to other chats still go
        pacer.reply(2 + i, 100.0)
    assert pacer.ready_at(9, 100.0) > 100.0  # 30: the window is full for everyone
    assert pacer.queue_ready_at(103.5) == 103.5  # replies stopped: the queue takes it all


def test_a_send_holds_its_place_until_a_window_after_its_answer() -> None:
    pacer = Pacer(Limits(global_count=2, margin=0.0))
    first = pacer.begin(1, 10.0)
    second = pacer.begin(2, 10.0)
    # in flight: the server may count them any time until their answers are in
    assert pacer.global_ready_at(12.0) == pytest.approx(13.0)
    assert pacer.chat_ready_at(1, 12.0) == pytest.approx(13.0)
    pacer.end(first, 10.9)  # the commit before the call and the network took 0.9 s
    assert pacer.global_ready_at(11.2) == pytest.approx(11.9)
    assert pacer.chat_ready_at(1, 11.2) == pytest.approx(11.9)
    assert pacer.chat_ready_at(2, 11.2) == pytest.approx(12.2)  # still awaited
    pacer.end(second, 11.0)
    pacer.end(second, 11.5)  # a ticket is ended once
    assert pacer.global_ready_at(11.85) == pytest.approx(11.9)
    assert pacer.global_ready_at(11.95) == 11.95  # the first's window is over
    assert pacer.chat_ready_at(2, 11.95) == pytest.approx(12.0)


def test_a_send_that_never_left_frees_its_place() -> None:
    pacer = Pacer(Limits(global_count=1, margin=0.0))
    ticket = pacer.begin(-5, 10.0)
    assert pacer.ready_at(-6, 10.0) > 10.0
    pacer.cancel(ticket)
    pacer.end(ticket, 10.5)  # too late: cancelled
    assert pacer.ready_at(-6, 10.0) == 10.0
    assert pacer.group_free(-5, 10.0) == 20


def test_no_server_window_can_hold_one_too_many_whatever_the_delays() -> None:
    """Requests arrive at the server at a random moment between being let go and their
    answer; the pacer lets them go as fast as it allows. Judged as the server judges, at
    arrival, no second ever holds more than the limit."""
    import random

    rng = random.Random(7)
    pacer = Pacer(Limits(global_count=5, margin=0.0))
    now = 0.0
    flying: list[tuple[float, float, object]] = []  # (answer, arrival, ticket)
    arrivals: list[float] = []
    chat = 0
    while len(arrivals) < 400:
        for done in [f for f in flying if f[0] <= now]:
            pacer.end(done[2], done[0])  # type: ignore[arg-type]
            flying.remove(done)
        if pacer.global_ready_at(now) <= now:
            chat += 1
            ticket = pacer.begin(chat, now)
            lag = rng.uniform(0.0, 0.3)  # network and a busy loop, either way
            arrival = now + rng.uniform(0.0, lag)
            flying.append((now + lag, arrival, ticket))
            arrivals.append(arrival)
        else:
            now += rng.uniform(0.0, 0.02)
    arrivals.sort()
    worst = max(sum(1 for b in arrivals if a - 1.0 < b <= a) for a in arrivals)
    assert worst <= 5


async def test_a_reply_waits_for_its_chat_and_is_counted_when_sent() -> None:
    pacer = Pacer(Limits(chat_interval=1.0, margin=0.0))
    clock = Clock()
    limiter = SharedRateLimiter(pacer, clock)
    sent: list[float] = []

    async def call() -> bool:
        sent.append(clock.t)
        return True

    await limiter.process_request(call, (), {}, "sendMessage", {"chat_id": 7}, None)

    async def later() -> None:
        await asyncio.sleep(0.01)
        clock.t += 1.0

    await asyncio.gather(
        limiter.process_request(call, (), {}, "sendMessage", {"chat_id": "7"}, None), later()
    )
    assert sent == [1000.0, 1001.0]  # the second waited for the chat's second
    # answering a button press is no message to a chat: never held
    await limiter.process_request(call, (), {}, "answerCallbackQuery", {}, None)
    assert len(sent) == 3


async def test_a_refused_reply_is_tried_again_and_the_chat_waits() -> None:
    pacer = Pacer(Limits(chat_interval=0.01, margin=0.0))
    loop = asyncio.get_running_loop()
    limiter = SharedRateLimiter(pacer, loop.time, max_retries=1)
    calls = 0

    async def call() -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RetryAfter(0)
        return True

    assert await limiter.process_request(call, (), {}, "sendMessage", {"chat_id": -5}, None)
    assert calls == 2

    async def always() -> bool:
        raise RetryAfter(0)

    with pytest.raises(RetryAfter):
        await limiter.process_request(always, (), {}, "sendMessage", {"chat_id": -6}, None)


async def test_replies_and_the_queue_share_one_pacer(tmp_path: Any) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    api = FakeBotAPI(clock)
    db = Database(tmp_path / "b.sqlite3")
    await db.open()
    await db.migrate()
    try:
        app = build_application(
            Settings(telegram=TelegramSettings(rate_limit=True)),
            token=TOKEN,
            db=db,
            request=api,
            updates_request=api,
            clock=clock,
        )
        pacer = app.bot_data[PACER_KEY]
        assert dispatcher_of(app).pacer is pacer
        assert isinstance(app.bot.rate_limiter, SharedRateLimiter)
        assert app.bot.rate_limiter.pacer is pacer
    finally:
        await db.close()
