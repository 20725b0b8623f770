"""A county on WeCom only, for the channel's tests: the real application built by
``build_wecom_application`` on the test database, its callback server listening on a
local port, and the fake WeCom (tests/fakewecom.py) whose members post to it.

Members are the seeded cadres, their userids the seed's keys ("cadre1", "captain1" ...)
and their directory mobiles the roster's. A member acts (``text``, ``tap``, ``press``,
``photo`` ...) through the fake, which encrypts, signs and POSTs to the callback URL;
then the worker handles what was recorded, as the running bot would at once. ``deliver``
sends the outgoing queue through the real dispatcher, moving the clock past its pacing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import httpx
from telegram.ext import Application
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from bot.dispatcher import dispatcher_of
from bot.wecom.api import WeComAPI
from bot.wecom.callback import http_server
from bot.wecom.channel import WeComChannel, build_wecom_application, channel_of
from campaign.settings import Secret, Settings, WeComSettings
from storage import wecom
from storage.db import Database
from tests.factories import CADRES, Seed
from tests.fakebot import FakeClock
from tests.fakewecom import AES_KEY, AGENT_ID, CALLBACK_TOKEN, CORP_ID, SECRET, FakeWeCom, Received


def wecom_settings(settings: Settings, base_url: str) -> Settings:
    import dataclasses

    w = WeComSettings(
        enabled=True,
        corp_id=CORP_ID,
        agent_id=AGENT_ID,
        secret=Secret(SECRET),
        token=Secret(CALLBACK_TOKEN),
        encoding_aes_key=Secret(AES_KEY),
        path="wecom",
        api_base_url=base_url,
    )
    return dataclasses.replace(settings, wecom=w)


def mobile(phone: str) -> str:
    return phone.removeprefix("+86")


@dataclass
class World:
    fake: FakeWeCom
    app: Application  # type: ignore[type-arg]
    channel: WeComChannel
    server: HTTPServer
    db: Database
    clock: FakeClock
    seed: Seed
    settings: Settings

    # --- what members do ---------------------------------------------------------------

    async def handle(self) -> int:
        """The worker handles every recorded callback (the running bot does it at once)."""
        return await self.channel.worker.run_pending()

    async def text(self, userid: str, content: str) -> None:
        delivery = await self.fake.text(userid, content)
        assert delivery.ok, delivery.statuses
        await self.handle()

    async def menu(self, userid: str, key: str) -> None:
        assert (await self.fake.menu_click(userid, key)).ok
        await self.handle()

    async def photo(self, userid: str, data: bytes = b"\xff\xd8jpeg-bytes") -> None:
        assert (await self.fake.image(userid, data)).ok
        await self.handle()

    async def voice(self, userid: str, data: bytes = b"#!AMR voice") -> None:
        assert (await self.fake.voice(userid, data)).ok
        await self.handle()

    async def location(self, userid: str, lat: float, lon: float) -> None:
        assert (await self.fake.location(userid, lat, lon, "东风村村委会")).ok
        await self.handle()

    async def internal_id(self, userid: str) -> int:
        account = await wecom.account_of(self.db, wecom.MEMBER, userid)
        assert account is not None, f"{userid} is not mapped"
        return account.internal_id

    async def menu_of(self, userid: str) -> wecom.Shown:
        shown = await wecom.last_menu(self.db, await self.internal_id(userid))
        assert shown is not None, f"{userid} was offered no buttons"
        return shown

    async def choices(self, userid: str) -> list[tuple[str, str]]:
        """(label, callback data) of the newest buttons the member was offered."""
        shown = await self.menu_of(userid)
        assert shown.markup is not None
        return [
            (b["text"], b["callback_data"])
            for row in shown.markup["inline_keyboard"]
            for b in row
            if b.get("callback_data")
        ]

    async def tap(self, userid: str, label: str) -> None:
        """Choose ``label`` on the newest buttons offered to the member: a card's button,
        or its number typed back when they came as numbered lines."""
        shown = await self.menu_of(userid)
        choices = await self.choices(userid)
        found = [i for i, (text, _) in enumerate(choices) if label in text]
        assert found, f"no {label!r} among {[t for t, _ in choices]}"
        index = found[0]
        if shown.numbered:
            await self.text(userid, str(index + 1))
            return
        await self.press_message(userid, shown.id, choices[index][1])

    async def press_message(self, userid: str, message_id: int, data: str) -> None:
        """Press the button with ``data`` on the member's newest card of a message."""
        tasks = [t for t in await wecom.newest_tasks(self.db, message_id) if t.user_id == userid]
        assert tasks, f"{userid} got no card of message {message_id}"
        delivery = await self.fake.press(userid, tasks[-1].task_id, data)
        assert delivery is not None and delivery.ok, "the card's button could not be pressed"
        await self.handle()

    async def press_card(self, userid: str, problem_id: int, label: str) -> None:
        """Press a problem card's button, as shown to this member now."""
        chat_id = await self.card_chat(userid, problem_id)
        row = await self.db.fetchone(
            "SELECT message_id FROM cards WHERE card = ?", (f"problem:{problem_id}:chat:{chat_id}",)
        )
        assert row is not None
        shown = await wecom.shown(self.db, int(row["message_id"]))
        assert shown is not None and shown.markup is not None
        data = next(
            b["callback_data"]
            for r in shown.markup["inline_keyboard"]
            for b in r
            if label in b["text"]
        )
        await self.press_message(userid, shown.id, data)

    async def card_chat(self, userid: str, problem_id: int) -> int:
        """The chat whose card of the problem this member acts on: their own, else the
        app chat whose owner they are."""
        own = await self.internal_id(userid)
        rows = await self.db.fetchall(
            "SELECT chat_id FROM cards WHERE card LIKE ?", (f"problem:{problem_id}:chat:%",)
        )
        chats = [int(r["chat_id"]) for r in rows]
        if own in chats:
            return own
        for chat in chats:
            if chat < 0:
                return chat
        raise AssertionError(f"no card of P-{problem_id} for {userid}")

    # --- what members see --------------------------------------------------------------

    def texts(self, userid: str) -> list[str]:
        return self.fake.texts(userid)

    def last_text(self, userid: str) -> str:
        texts = self.texts(userid)
        assert texts, f"{userid} got no text"
        return texts[-1]

    def seen(self, userid: str) -> str:
        """Everything the member was shown, texts and cards, as one string."""
        out = []
        for r in self.fake.inbox(userid):
            out.append(_rendered(r))
        for c in self.fake.cards(userid):
            out.append(c.title + "\n" + str(c.content.get("sub_title_text", "")))
        return "\n".join(out)

    async def deliver(self) -> None:
        """Send the outgoing queue's WeCom messages through the real dispatcher until
        none is left."""
        for _ in range(300):
            report = await dispatcher_of(self.app).drain(self.clock())
            pending = await self.db.fetchone(
                "SELECT COUNT(*) AS n FROM outbox WHERE status = 'pending' AND ABS(chat_id) > ?",
                (wecom.MEMBER_BASE,),
            )
            if pending is None or pending["n"] == 0:
                return
            wait = (report.next_at - self.clock()).total_seconds() if report.next_at else 1.0
            self.clock.advance(seconds=max(math.ceil(wait), 1))
        raise AssertionError("the outgoing queue did not empty")


def _rendered(r: Received) -> str:
    if r.msgtype in ("text", "markdown"):
        return r.text
    return f"[{r.msgtype}]"


def add_members(fake: FakeWeCom, seed: Seed) -> None:
    for key, name, phone, *_ in CADRES:
        fake.add_member(key, mobile(phone), name)


async def open_world(
    settings: Settings, db: Database, clock: FakeClock, seed: Seed, fake: FakeWeCom
) -> World:
    s = wecom_settings(settings, fake.base_url)
    client = httpx.AsyncClient(transport=fake.transport())
    api = WeComAPI(
        base_url=fake.base_url,
        corp_id=CORP_ID,
        secret=SECRET,
        agent_id=AGENT_ID,
        client=client,
        clock=lambda: clock().timestamp(),
    )
    app = build_wecom_application(s, api=api, db=db, clock=clock)
    await app.initialize()
    channel = channel_of(app)
    server = http_server(channel.receiver, s.wecom)
    sockets = bind_sockets(0, "127.0.0.1")
    server.add_sockets(sockets)
    port = sockets[0].getsockname()[1]
    fake.callback_url = f"http://127.0.0.1:{port}/wecom"
    add_members(fake, seed)
    return World(fake, app, channel, server, db, clock, seed, s)


async def close_world(world: World, client_close: Any = None) -> None:
    world.server.stop()
    await world.app.shutdown()
