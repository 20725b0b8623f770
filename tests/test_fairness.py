"""One chat cannot hold up the others (issue 12 #6): updates of different chats are
handled side by side, those of one chat in order, and a command repeated in a group
within a short while is not answered again."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram import Update
from telegram.request import RequestData

from bot.app import REPEAT_SECONDS, build_application
from campaign.i18n import default_catalog
from campaign.settings import Settings
from storage.db import Database
from tests.conftest import join, user
from tests.factories import Seed
from tests.fakebot import TOKEN, FakeBotAPI, FakeClock, Harness

GROUP = -100_555


class GatedAPI(FakeBotAPI):
    """The fake Bot API, holding every call into ``held`` until ``gate`` opens, as
    Telegram's rate limit for a flooded group does."""

    def __init__(self, clock: Any, held: int) -> None:
        super().__init__(clock)
        self.held = held
        self.gate = asyncio.Event()
        self.answered: dict[int, asyncio.Event] = {}

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, *a: Any, **k: Any
    ) -> tuple[int, bytes]:
        chat = (request_data.parameters if request_data else {}).get("chat_id")
        if chat == self.held:
            await self.gate.wait()
        out = await super().do_request(url, method, request_data, *a, **k)
        if isinstance(chat, int):
            self.answered.setdefault(chat, asyncio.Event()).set()
        return out

    def wait_answer(self, chat: int) -> asyncio.Event:
        return self.answered.setdefault(chat, asyncio.Event())


async def test_a_stuck_group_does_not_hold_up_a_private_chat(
    settings: Settings, db: Database, seed: Seed, clock: FakeClock
) -> None:
    api = GatedAPI(clock, held=GROUP)
    app = build_application(
        settings, token=TOKEN, db=db, request=api, updates_request=api, clock=clock
    )
    await app.initialize()
    bot = Harness(app, api, clock)
    members = [await join(bot, seed, key, 700 + i) for i, key in enumerate(["cadre1", "cadre2"])]
    await app.start()
    try:
        for member in members:  # two members ask in the group; the first answer is held
            data = bot.text_update(member, "/help", chat_id=GROUP)
            await app.update_queue.put(Update.de_json(data, app.bot))
        stranger = user(799)
        await app.update_queue.put(Update.de_json(bot.text_update(stranger, "/start"), app.bot))
        await asyncio.wait_for(api.wait_answer(stranger.id).wait(), timeout=10)
        assert api.sent(GROUP) == []  # still held, and the second waits behind the first
        api.gate.set()
        await asyncio.wait_for(app.update_queue.join(), timeout=10)
        assert len(api.sent(GROUP)) == 2
    finally:
        api.gate.set()  # stop() waits for the update being handled
        await app.stop()
        await app.shutdown()


async def test_a_command_repeated_in_a_group_is_answered_once(
    bot: Harness, seed: Seed, clock: FakeClock, api: FakeBotAPI
) -> None:
    member = await join(bot, seed, "cadre1", 710)
    other = await join(bot, seed, "cadre2", 711)
    for _ in range(5):
        await bot.send(member, "/help", chat_id=GROUP)
    said = default_catalog().t("zh-CN", "help.unbound_chat")
    assert len(api.sent(GROUP)) == 1 and api.sent(GROUP)[0].text.startswith(said)
    await bot.send(other, "/help", chat_id=GROUP)  # another member is answered
    clock.advance(seconds=REPEAT_SECONDS + 1)
    await bot.send(member, "/help", chat_id=GROUP)  # and the first, after a while
    assert len(api.sent(GROUP)) == 3
    for _ in range(3):  # a private chat always gets its answer
        await bot.send(member, "/help")
    assert len(api.sent(member.id)) >= 3
