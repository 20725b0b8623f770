"""Webhook mode: Telegram's posts are written to the inbox table before they are answered,
then handled from there by whichever process claims them (docs/processes.md).

python-telegram-bot's own webhook answers 200 as soon as it has queued an update in
memory, so the updates queued at a crash were lost: Telegram never sends an answered
update again. Here the answer comes only after the update is committed with
``synchronous=FULL``; a crash before that leaves Telegram without an answer, and it
posts the update again.

Several processes may serve the same address (a reverse proxy in front) on one
database. Each one:

- answers posts (``WebhookEndpoint``): the secret header compared in constant time,
  the body size bounded, the update recorded (a redelivery is a no-op), 200;
- handles updates (``InboxWorker``): claims the oldest unclaimed ones, one chat's
  always by one process at a time, runs them through the application as polling does
  (the same handlers, the same de-duplication by update id), marks them done; an
  update claimed by a process that died is taken over after its lease. PostgreSQL:
  the update is recorded already claimed by the process that received it (unless its
  chat has another one open) and handled there at once, its done-mark committed by
  the handler's first write (storage/db.DoneMark): no claim, no separate mark;
- competes for the dispatcher's lease (bot/leader.py): the holder drains the outgoing
  queue and runs the scheduled jobs, the others stand by.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import signal
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.error import NetworkError, TimedOut
from telegram.ext import Application
from tornado.httpserver import HTTPServer
from tornado.web import Application as WebApplication
from tornado.web import RequestHandler

from bot.dispatcher import dispatcher_of
from bot.leader import Leadership, process_name
from campaign.settings import Settings
from scheduler.setup import LEADER_KEY, catch_up_now
from services.runtime import DEPS_KEY, Deps
from storage import inbox, people
from storage.db import DONE_MARK

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
IN_FLIGHT = 200  # updates one process handles at once (its lanes order them per chat)


def chat_of(update: dict[str, Any]) -> int | None:
    """The chat whose order an update must keep, from its JSON: a button press goes
    with its presser (whose dialogs live in the private chat), anything else with its
    chat, else with its sender."""
    for key, value in update.items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        sender = value.get("from") if isinstance(value.get("from"), dict) else None
        if key == "callback_query" and sender is not None:
            return _int(sender.get("id"))
        chat = value.get("chat")
        if isinstance(chat, dict):
            return _int(chat.get("id"))
        if sender is not None:
            return _int(sender.get("id"))
    return None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class WebhookEndpoint(RequestHandler):
    """POST <path>: record the update, then 200. Anything else is refused."""

    def initialize(self, receiver: InboxWorker) -> None:  # tornado's per-request set-up
        self.receiver = receiver

    def check_xsrf_cookie(self) -> None:  # Telegram posts without a cookie
        return None

    async def post(self) -> None:
        r = self.receiver
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), r.secret.encode()):
            self.send_error(403)
            return
        body = self.request.body
        if len(body) > r.max_body:
            self.send_error(413)
            return
        try:
            data = json.loads(body)
        except ValueError:
            self.send_error(400)
            return
        update_id = data.get("update_id") if isinstance(data, dict) else None
        if _int(update_id) is None:
            self.send_error(400)
            return
        assert isinstance(data, dict) and isinstance(update_id, int)
        chat, text = chat_of(data), body.decode("utf-8")
        try:
            # PostgreSQL: recorded claimed by this process and handled here, unless it
            # has its hands full (then it waits in the inbox for the claims, as before).
            if r.direct and r.room():
                now = r.deps.now()
                taken = await inbox.take(
                    r.deps.db, update_id, chat, text, now, r.holder, now + r.lease
                )
            else:
                fresh = await inbox.record(r.deps.db, update_id, chat, text, r.deps.now())
                taken = inbox.NEW if fresh else None
        except Exception:
            # Not recorded: Telegram gets no 200 and posts the update again later.
            log.exception("update %s could not be recorded; Telegram will send it again", update_id)
            self.send_error(500)
            return
        if taken is None:
            log.info("update %s was posted again; already recorded", update_id)
        self.set_status(200)
        self.finish()
        if taken == inbox.CLAIMED:
            r.handle_now(inbox.InboxItem(update_id, chat, text, 1))
        else:  # its chat has an update open elsewhere: the claims take it in turn
            r.wake()


class InboxWorker:
    """Claims recorded updates, handles them through the application, marks them done."""

    def __init__(self, app: Application, settings: Settings, holder: str) -> None:  # type: ignore[type-arg]
        self.app = app
        self.deps: Deps = app.bot_data[DEPS_KEY]
        self.holder = holder
        p = settings.processes
        self.lease = timedelta(seconds=p.inbox_lease_seconds)
        self.poll = p.inbox_poll_seconds
        self.max_body = p.max_body_bytes
        self.secret = settings.telegram.webhook.secret_token.get()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._working: dict[int, asyncio.Task[None]] = {}
        self._done: list[int] = []
        self._extended = 0.0  # the loop's time of the last extension of our claims
        # PostgreSQL: an update is recorded already claimed by the process that received
        # it and handled there at once (``handle_now``); its done-mark rides in the
        # handler's first write (storage/db.DoneMark). The claims then only take updates
        # recorded 'new' (their chat was busy elsewhere) or left by a process that died.
        self.direct = self.deps.db.marks_with_writes
        self._claim = True  # a claim is wanted at the next round (not just a flush)
        self._claimed_at = 0.0  # the loop's time of the last claim (one a poll at least)

    def wake(self) -> None:
        """Something may wait to be claimed (recorded 'new', or another process's mark
        freed a chat)."""
        self._claim = True
        self._wake.set()

    def room(self) -> bool:
        """Whether this process takes on another update now (``IN_FLIGHT``)."""
        return len(self._working) < IN_FLIGHT

    def handle_now(self, item: inbox.InboxItem) -> None:
        """Handle an update this process recorded as claimed by itself."""
        if self._stopping or item.update_id in self._working:
            return  # stopping: its lease runs out and another process takes it
        self._begin(item)

    async def start(self) -> None:
        self._stopping = False
        try:  # PostgreSQL: woken when another process marks updates done; polling stays
            await self.deps.db.listen(inbox.CHANNEL, self.wake)
        except Exception as exc:
            log.warning("cannot LISTEN for handled updates (%s); polling only", exc)
        self._task = asyncio.create_task(self._run(), name="fieldbot-inbox")

    async def stop(self) -> None:
        """Stop claiming; finish the updates in hand and mark them done."""
        self._stopping = True
        self._wake.set()
        with contextlib.suppress(Exception):
            await self.deps.db.unlisten(inbox.CHANNEL, self.wake)
        task, self._task = self._task, None
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._working:
            await asyncio.gather(*self._working.values(), return_exceptions=True)
        await self._flush()

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            got = 0
            try:
                got = await self.round()
            except Exception:
                log.exception("the inbox could not be read; trying again in %.1f s", self.poll)
            if got or self._stopping:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll)

    async def round(self) -> int:
        """Mark what was handled done, claim what waits (as much as there is room for)
        and start handling it, keep the claims of slow updates; returns how many were
        claimed."""
        await self._flush()
        got = 0
        room = IN_FLIGHT - len(self._working)
        clock = asyncio.get_running_loop().time()
        if room > 0 and (self._claim or clock - self._claimed_at >= self.poll):
            self._claim = not self.direct  # SQLite: every round claims, as it always did
            self._claimed_at = clock
            now = self.deps.now()
            items = await inbox.claim(self.deps.db, self.holder, now, now + self.lease, room)
            got = len(items)
            if got == room:
                self._claim = True  # there may be more
            for item in items:
                self._begin(item)
        clock = asyncio.get_running_loop().time()
        if self._working and clock - self._extended > self.lease.total_seconds() / 3:
            now = self.deps.now()
            await inbox.extend(self.deps.db, self.holder, list(self._working), now + self.lease)
            self._extended = clock
        return got

    def _begin(self, item: inbox.InboxItem) -> None:
        task = asyncio.create_task(self._handle(item), name=f"update-{item.update_id}")
        self._working[item.update_id] = task

    async def _handle(self, item: inbox.InboxItem) -> None:
        mark = None
        if self.direct:
            mark = inbox.done_mark(
                item.update_id, item.chat_id, self.deps.now(), asyncio.current_task()
            )
        try:
            if item.attempts > 1 and await people.update_seen(self.deps.db, item.update_id):
                # A process died after handling it, before marking it done.
                log.info("update %s was handled before a crash; not again", item.update_id)
                return
            try:
                update = Update.de_json(json.loads(item.body), self.app.bot)
            except Exception as exc:
                log.error(
                    "update %s cannot be read (%s); skipped", item.update_id, type(exc).__name__
                )
                return
            processor = self.app.update_processor
            if mark is not None:
                DONE_MARK.set(mark)  # this task's context only
            await processor.process_update(update, self.app.process_update(update))
        except Exception:
            log.exception("update %s failed", item.update_id)
        finally:
            self._working.pop(item.update_id, None)
            if mark is None or mark.close():  # no write carried the mark: ours to write
                self._done.append(item.update_id)
                self._wake.set()
            elif self._stopping or self._claim:  # room again for what waits
                self._wake.set()

    async def _flush(self) -> None:
        if not self._done:
            return
        done, self._done = self._done, []
        try:
            if not self.deps.db.durable_steps:  # PostgreSQL: True
                # The handlers' steps reach the disk with the same fsync (storage/db.py).
                # PostgreSQL: every step was durable at its commit, and the done-mark
                # below records these updates as processed: no round trip (nor the
                # process's write lock) for the same marks first.
                await self.deps.db.sync()
            await inbox.mark_done(self.deps.db, done, self.deps.now())
        except BaseException:
            self._done[:0] = done
            raise


def http_server(worker: InboxWorker, settings: Settings) -> HTTPServer:
    """The webhook's HTTP server (not yet listening). Tornado itself drops a body far
    beyond the limit before reading it; one just beyond gets a clean 413."""
    path = f"/{settings.telegram.webhook.path.lstrip('/')}"
    web = WebApplication([(path, WebhookEndpoint, {"receiver": worker})])
    return HTTPServer(web, max_body_size=2 * settings.processes.max_body_bytes, xheaders=True)


def webhook_url(settings: Settings) -> str:
    wh = settings.telegram.webhook
    url = wh.url.rstrip("/")
    return url if url.endswith(wh.path) else f"{url}/{wh.path}"


async def _set_webhook(app: Application, settings: Settings) -> None:  # type: ignore[type-arg]
    """Tell Telegram where to post, waiting out an unreachable Bot API. Every process
    says the same, so the last one to start changes nothing."""
    delay = 1.0
    while True:
        try:
            await app.bot.set_webhook(
                url=webhook_url(settings),
                secret_token=settings.telegram.webhook.secret_token.get(),
                allowed_updates=Update.ALL_TYPES,
            )
            return
        except (NetworkError, TimedOut) as exc:
            log.warning("setWebhook failed (%s); trying again in %.0f s", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)


async def serve(app: Application, settings: Settings) -> None:  # type: ignore[type-arg]
    """Run one webhook process until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    holder = process_name()
    deps: Deps = app.bot_data[DEPS_KEY]
    p = settings.processes
    lead = Leadership(
        deps.db,
        deps.now,
        holder=holder,
        lease_seconds=p.lease_seconds,
        renew_seconds=p.renew_seconds,
    )
    dispatcher = dispatcher_of(app)
    dispatcher.leadership = lead

    def changed(leading: bool) -> None:
        dispatcher.wake()
        if leading and app.running:  # the first lead at start has its own catch-up
            catch_up_now(app)

    lead.on_change(changed)
    app.bot_data[LEADER_KEY] = lambda: lead.leading
    app.shared_database = True  # type: ignore[attr-defined]
    worker = InboxWorker(app, settings, holder)
    wh = settings.telegram.webhook
    server = http_server(worker, settings)
    await app.initialize()
    try:
        if app.post_init is not None:
            await app.post_init(app)
        await lead.start()
        await app.start()
        await worker.start()
        server.listen(wh.port, address=wh.listen)
        await _set_webhook(app, settings)
        log.info("webhook process %s listening on %s:%s", holder, wh.listen, wh.port)
        await stop.wait()
        log.info("stopping the webhook process")
        server.stop()
        await worker.stop()
        await app.stop()  # the dispatcher finishes its pass before the lease goes
        await lead.stop()
        if app.post_stop is not None:
            await app.post_stop(app)
    finally:
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
