"""WeCom's callback URL: every message and event a member sends the app, recorded durably
and answered at once, then handled in order by the same Application as Telegram's.

WeCom posts each callback signed and AES-encrypted and waits 5 s for a 200; without one
it posts the same callback again, up to 3 times. So the endpoint only checks, decrypts
and records (``wecom_inbound``, de-duplicated on the callback's MsgId, or member + time +
event for events) and answers; the worker (``InboundWorker``) takes the recorded
callbacks in order, turns each into a Telegram update (bot/wecom/updates.py) and runs
it through the application. A crash between the two leaves the callback recorded and
not done: the next start handles it, and the core's own de-duplication of update ids
(processed_updates) keeps an update handled before the crash from acting twice.

Bad input (a wrong signature, a body that does not decrypt, another corp or agent, a
replay) is logged once, changes nothing and never raises past the endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.ext import Application
from tornado.httpserver import HTTPServer
from tornado.web import Application as WebApplication
from tornado.web import RequestHandler

from bot.wecom.api import WeComAPI, WeComError
from bot.wecom.bridge import WeComBridge
from bot.wecom.crypto import CryptoError, WeComCrypto
from bot.wecom.inbound import InboundError, parse
from bot.wecom.updates import contact_update, update_of
from campaign.settings import WeComSettings
from services import wecom as identity
from services.runtime import DEPS_KEY, Deps
from storage import wecom

log = logging.getLogger(__name__)

MAX_BODY = 256 * 1024
BATCH = 50
PRUNE_EVERY = 86400.0  # seconds between two prunings of old records
SYNC_EVERY = 600.0  # seconds between two directory lookups for unknown members


class CallbackEndpoint(RequestHandler):
    """GET: WeCom's check of the URL (echo the decrypted echostr). POST: a callback."""

    def initialize(self, receiver: Receiver) -> None:  # tornado's per-request set-up
        self.receiver = receiver

    def check_xsrf_cookie(self) -> None:  # WeCom posts without a cookie
        return None

    def _query(self) -> tuple[str, str, str]:
        return (
            self.get_query_argument("msg_signature", ""),
            self.get_query_argument("timestamp", ""),
            self.get_query_argument("nonce", ""),
        )

    async def get(self) -> None:
        signature, timestamp, nonce = self._query()
        echostr = self.get_query_argument("echostr", "")
        try:
            echo = self.receiver.crypto.verify_url(signature, timestamp, nonce, echostr)
        except CryptoError as exc:
            log.warning("WeCom URL check refused: %s", exc.reason)
            self.send_error(403)
            return
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(echo)

    async def post(self) -> None:
        body = self.request.body
        if len(body) > MAX_BODY:
            log.warning("a WeCom callback of %d bytes was refused", len(body))
            self.send_error(413)
            return
        status = await self.receiver.receive(*self._query(), body)
        if status != 200:
            self.send_error(status)
            return
        self.set_status(200)
        self.finish("")


class Receiver:
    """Checks and records callbacks; wakes the worker."""

    def __init__(self, deps: Deps, settings: WeComSettings, worker: InboundWorker) -> None:
        self.deps = deps
        self.settings = settings
        self.worker = worker
        self.crypto = WeComCrypto(
            settings.token.get(), settings.encoding_aes_key.get(), settings.corp_id
        )

    @property
    def window(self) -> timedelta:
        """How far a callback's signed time may be from ours; recorded callbacks are kept
        at least this long, so that any replay within it is caught as a repeat."""
        return timedelta(days=self.deps.settings.storage.keep_update_ids_days)

    def _fresh(self, timestamp: str) -> bool:
        try:
            signed = int(timestamp)
        except ValueError:
            return False
        return abs(self.deps.now().timestamp() - signed) <= self.window.total_seconds()

    async def receive(self, signature: str, timestamp: str, nonce: str, body: bytes) -> int:
        """The HTTP status to answer: 200 once recorded (or already recorded)."""
        try:
            plain = self.crypto.decrypt_post(signature, timestamp, nonce, body)
            inbound = parse(plain)
        except CryptoError as exc:
            log.warning("a WeCom callback was refused: %s", exc.reason)
            return 403
        except InboundError as exc:
            log.warning("a WeCom callback could not be read: %s", str(exc)[:120])
            return 400
        if not self._fresh(timestamp):
            log.warning("a WeCom callback signed too long ago was refused (a replay?)")
            return 403
        s = self.settings
        if inbound.corp_id != s.corp_id or (
            inbound.agent_id is not None and inbound.agent_id != s.agent_id
        ):
            log.warning("a WeCom callback for another corp or app was refused")
            return 403
        try:
            fresh = await wecom.record_inbound(
                self.deps.db,
                inbound.dedupe_key,
                inbound.user_id,
                dataclasses.asdict(inbound),
                self.deps.now(),
            )
        except Exception:
            # Not recorded: no 200, so WeCom posts it again.
            log.exception("a WeCom callback could not be recorded; WeCom will post it again")
            return 500
        if not fresh:
            log.info("a WeCom callback came again (a retry or a replay); already recorded")
        self.worker.wake()
        return 200


class InboundWorker:
    """Handles recorded callbacks in order through the application."""

    def __init__(self, app: Application, bridge: WeComBridge, api: WeComAPI) -> None:  # type: ignore[type-arg]
        self.app = app
        self.bridge = bridge
        self.api = api
        self.deps: Deps = app.bot_data[DEPS_KEY]
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._lock = asyncio.Lock()
        self.poll = 1.0
        self._synced_at: float | None = None
        self._sync_lock = asyncio.Lock()

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="fieldbot-wecom-inbound")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def prune(self) -> wecom.Pruned:
        """Forget handled callbacks past the replay window (a day to spare) and what
        was shown before the outgoing queue's own keeping time."""
        s = self.deps.settings.storage
        now = self.deps.now()
        return await wecom.prune(
            self.deps.db,
            now - timedelta(days=s.keep_update_ids_days + 1),
            now - timedelta(days=s.keep_outbox_days),
        )

    async def _run(self) -> None:
        pruned_at: float | None = None
        while not self._stopping:
            self._wake.clear()
            if pruned_at is None or time.monotonic() - pruned_at > PRUNE_EVERY:
                pruned_at = time.monotonic()
                try:
                    await self.prune()
                except Exception:
                    log.exception("old WeCom records could not be pruned; trying tomorrow")
            try:
                await self.run_pending()
            except Exception:
                log.exception("the WeCom callbacks could not be read; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll)

    async def run_pending(self) -> int:
        """Handle every recorded callback not done yet; how many. Each member's in the
        order they came, different members' side by side (one slow answer holds up only
        its own member)."""
        done = 0
        async with self._lock:
            while True:
                rows = await wecom.open_inbound(self.deps.db, BATCH)
                if not rows:
                    return done
                by_member: dict[str, list[wecom.InboundRow]] = {}
                for row in rows:
                    by_member.setdefault(row.user_id, []).append(row)
                counts = await asyncio.gather(*(self._member(m) for m in by_member.values()))
                done += sum(counts)

    async def _member(self, rows: list[wecom.InboundRow]) -> int:
        for row in rows:
            try:
                await self.handle(row)
            except Exception:
                log.exception("WeCom callback %s failed", row.id)
            # The handler's steps and its update mark reach the disk first: a crash
            # before this leaves the callback to handle again, and the core's
            # de-duplication of update ids sees what was handled.
            await self.deps.db.sync()
            await wecom.inbound_done(self.deps.db, [row.id], self.deps.now())
        return len(rows)

    def _lookup(self) -> identity.Lookup | None:
        """The directory lookup for an unknown member, at most once per ``SYNC_EVERY``
        seconds: a stranger writing again and again costs no lookups of the roster."""
        now = time.monotonic()
        if self._synced_at is not None and now - self._synced_at < SYNC_EVERY:
            return None
        self._synced_at = now
        return self.api.get_userid

    async def _resolve(self, userid: str) -> identity.Resolved:
        """Who wrote. An unknown member waits for a directory sync under way (another
        member's first message started it) and is then looked for again."""
        d = self.deps
        if await identity.member_id(d, userid) is not None:
            return await identity.resolve(d, userid, None)
        async with self._sync_lock:
            return await identity.resolve(d, userid, self._lookup())

    async def handle(self, row: wecom.InboundRow) -> None:
        d = self.deps
        body = row.body
        resolved = await self._resolve(row.user_id)
        if resolved.who == identity.Who.UNKNOWN or resolved.internal_id is None:
            await self._say(row.user_id, "wecom.unknown_member")
            return
        internal = resolved.internal_id
        # Two updates per callback at most (the join, then the message). Negative ids:
        # they never raise the highest Telegram update id the core's de-duplication keeps.
        base = -(wecom.MEMBER_BASE + 2 * row.id)
        if resolved.who == identity.Who.JOIN and resolved.phone:
            await self._process(
                contact_update(base, internal, row.user_id, resolved.phone, d.now())
            )
            if body.get("kind") == "enter_agent" or "/start" in (
                body.get("event_key"),
                body.get("text"),
            ):
                return  # the join's greeting is the answer
        media_id = body.get("media_id")
        if body.get("kind") in ("image", "voice") and media_id:
            try:
                await self.bridge.keep_media(str(media_id))
            except (WeComError, OSError) as exc:
                log.warning("a member's media could not be fetched: %s", exc)
        update = await update_of(d.db, body, base - 1, internal, d.now())
        if update is None:
            if body.get("kind") in ("file", "video"):
                await self._say(row.user_id, "wecom.not_understood")
            elif body.get("kind") == "card_press":
                log.info("a press on a card this bot does not know (or another member's)")
            return
        await self._process(update)

    async def _process(self, data: dict[str, Any]) -> None:
        update = Update.de_json(data, self.app.bot)
        await self.app.process_update(update)

    async def _say(self, userid: str, key: str) -> None:
        d = self.deps
        text = d.catalog.t(d.settings.campaign.language, key)
        try:
            await self.api.send(userid, {"msgtype": "text", "text": {"content": text}})
        except WeComError as exc:
            log.warning("could not answer a WeCom member: errcode %s", exc.errcode)


def http_server(receiver: Receiver, settings: WeComSettings) -> HTTPServer:
    path = f"/{settings.path.lstrip('/')}"
    web = WebApplication([(path, CallbackEndpoint, {"receiver": receiver})])
    return HTTPServer(web, max_body_size=2 * MAX_BODY, xheaders=True)
