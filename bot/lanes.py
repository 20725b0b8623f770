"""Per-chat lanes: updates of different chats are handled side by side, those of one
chat one after another, in the order they came.

python-telegram-bot handles updates one at a time unless told otherwise, so one flooded
group (its replies waiting out Telegram's 20-a-minute group limit) held up every other
chat: a cadre's /start in private once waited 119 s. Conversations need the order kept
within their chat, which a lane keeps. A button press also takes its presser's private
lane: a card's dialog is keyed to the presser's private chat (handlers/problem_cards.py).

python-telegram-bot's own limit on concurrent updates is counted before an update is
given to ``do_process_update``, so updates queued in one lane would use it up; it is set
high, and the lane's turn is followed by this module's own limit on updates being worked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from contextlib import AsyncExitStack
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

WAITING = 100_000  # updates that may wait in their lanes (python-telegram-bot's count)
WORKING = 32  # updates handled at the same time


class _Lane:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()  # FIFO: waiters get it in the order they asked
        self.users = 0


def lanes_of(update: object) -> list[int]:
    """The chats whose order an update must keep, sorted (locks are taken in that order,
    so two updates never wait for each other's)."""
    if not isinstance(update, Update):
        return []
    keys: set[int] = set()
    if update.effective_chat is not None:
        keys.add(update.effective_chat.id)
    if update.effective_user is not None and (
        update.callback_query is not None or update.effective_chat is None
    ):
        keys.add(update.effective_user.id)  # the presser's private chat
    return sorted(keys)


class ChatLanes(BaseUpdateProcessor):
    def __init__(self, working: int = WORKING) -> None:
        super().__init__(max_concurrent_updates=WAITING)
        self._working = asyncio.Semaphore(working)
        self._lanes: dict[int, _Lane] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        keys = lanes_of(update)
        lanes = [self._lanes.setdefault(key, _Lane()) for key in keys]
        for lane in lanes:
            lane.users += 1
        started = False
        try:
            async with AsyncExitStack() as stack:
                for lane in lanes:
                    await stack.enter_async_context(lane.lock)
                async with self._working:
                    started = True
                    await coroutine
        finally:
            if not started and asyncio.iscoroutine(coroutine):
                coroutine.close()  # cancelled while waiting: never to run
            for key, lane in zip(keys, lanes, strict=True):
                lane.users -= 1
                if lane.users == 0:
                    del self._lanes[key]

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None
