"""One Telegram budget per bot token, shared by replies and the outgoing queue.

Telegram counts every message a bot sends against the same limits: about 30 a second
overall, one a second in a chat, 20 a minute in a group. Replies (sent while an update
is handled) and the outgoing queue (bot/dispatcher.py) therefore draw from one
``campaign.pacing.Pacer``: the dispatcher claims only what it leaves free, and this
rate limiter, installed on the application's Bot, waits until the pacer lets a reply
go, holds its place in the windows until its answer is in (``campaign.pacing``: the
server counts a request somewhere between the two), and retries after a 429 as
python-telegram-bot's own limiter does. A reply waits only for its own chat's limits and
the overall window: while replies are going out the queue leaves them a few places of
that window (``Limits.reply_reserve``), so a reply never waits behind a fan-out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.sending import retry_seconds
from campaign.pacing import Limits, Pacer, Ticket
from campaign.settings import Settings

log = logging.getLogger(__name__)

PACER_KEY = "fieldbot.pacer"

JSONish = bool | dict[str, Any] | list[dict[str, Any]]


def pacer_for(settings: Settings) -> Pacer:
    """The pacer for one bot token, with the limits of ``[outbox]``."""
    s = settings.outbox
    return Pacer(
        Limits(
            global_count=s.global_per_second,
            global_window=1.0,
            chat_interval=s.chat_interval_seconds,
            group_count=s.group_per_minute,
            group_window=60.0,
            margin=s.margin_seconds,
        )
    )


def _chat_of(data: dict[str, Any]) -> int | None:
    """The chat a request writes to; None for calls no chat limit applies to (answering
    a button press, getUpdates, setting commands)."""
    value = data.get("chat_id")
    if value is None:
        return None
    with contextlib.suppress(TypeError, ValueError):
        return int(value)
    return -1  # "@channelname": a channel, paced as a group


class SharedRateLimiter(BaseRateLimiter[int]):
    """python-telegram-bot's rate limiter interface over the shared pacer.

    ``clock`` gives seconds on the scale the dispatcher uses (epoch seconds of the
    application's clock), so both count in one set of windows."""

    def __init__(self, pacer: Pacer, clock: Callable[[], float], max_retries: int = 3) -> None:
        self.pacer = pacer
        self._clock = clock
        self._max_retries = max_retries

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def _wait_turn(self, chat_id: int) -> Ticket:
        while True:
            now = self._clock()
            ready = self.pacer.ready_at(chat_id, now)
            if ready <= now:
                return self.pacer.reply(chat_id, now)
            await asyncio.sleep(min(ready - now, 5.0))

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSONish]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> JSONish:
        chat_id = _chat_of(data)
        retries = rate_limit_args or self._max_retries
        for attempt in range(retries + 1):
            ticket = None if chat_id is None else await self._wait_turn(chat_id)
            try:
                try:
                    return await callback(*args, **kwargs)
                finally:
                    # The reply holds its places until its answer is in (pacing.Window).
                    if ticket is not None:
                        self.pacer.end(ticket, self._clock())
            except RetryAfter as exc:
                wait = retry_seconds(exc)
                if chat_id is not None:
                    self.pacer.flood(chat_id, wait, self._clock())
                if attempt == retries:
                    log.warning("%s still refused with 429 after %d tries", endpoint, retries)
                    raise
                log.info("429 on %s: retrying after %.1f s", endpoint, wait)
                await asyncio.sleep(wait + 0.1)
        raise AssertionError("unreachable")
