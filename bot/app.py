"""The application factory: wires handlers, jobs and resources. No I/O at import time."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application, ApplicationBuilder, BaseHandler, ConversationHandler
from telegram.request import BaseRequest

from bot.budget import PACER_KEY, SharedRateLimiter, pacer_for
from bot.dispatcher import dispatcher_of, install_dispatcher
from bot.lanes import ChatLanes
from bot.media import install_media_fetcher, media_fetcher_of
from bot.menus import set_menus
from bot.persistence import DraftPersistence, conversation_handlers, refresh_conversations
from campaign.i18n import Catalog, default_catalog
from campaign.settings import Settings
from handlers import (
    assessment,
    bulletin,
    checks,
    evidence,
    fallback,
    model_cases,
    mute,
    parked,
    plans,
    problem_callbacks,
    problems,
    reports,
    start,
    urge,
    visit_flow,
)
from scheduler.setup import install_jobs
from services.runtime import DEPS_KEY, Deps, system_clock
from storage import people
from storage.chats import bound_chats
from storage.db import MARKS_PER_SYNC, Database, database_for

log = logging.getLogger(__name__)

SYNC_SECONDS = 0.5  # the longest a handled update waits for its durable mark
# A member's command repeated in a group within this many seconds is not answered again:
# the group already sees the answer, and a flood would only queue behind its rate limit.
REPEAT_SECONDS = 30


def handler_table() -> list[tuple[str, list[BaseHandler[Any, Any, Any]]]]:
    """Every handler, in the order that decides which one answers (first match wins)."""
    return [
        # Visits: the /visit conversation first, so that any command sent mid-flow (even
        # /start) is caught and the cadre asked whether to drop the draft; then /my, /group.
        ("visits", visit_flow.handlers()),
        # Joining, help, language, chat binding: plain commands, never inside a flow.
        ("start", start.handlers()),
        # Problem ledger: the card-action dialog, raising (/problem), card buttons, lists.
        ("problems", problems.handlers()),
        # Pausing reminders: /mute, /unmute.
        ("mute", mute.handlers()),
        # The office's view of the outgoing queue: parked items, unreachable chats.
        ("parked", parked.handlers()),
        # Model cases: the selection dialog, and /cases (the report, then the office's
        # select buttons): before the reports, which would answer /cases alone.
        ("model_cases", model_cases.handlers()),
        # Office reports: plain commands and the log picker's buttons; read-only.
        ("reports", reports.handlers()),
        # Work plans: /plan, an item's card, the progress and item dialogs (private).
        ("plans", plans.handlers()),
        # Checking the work: check buttons, the words dialog, corrections, /checks,
        # /inspect; then 督办 buttons. Before the fallback, after the reports.
        ("checks", checks.handlers()),
        ("urge", urge.handlers()),
        # Evidence: the 📎 button of visit cards, /log and problem histories.
        ("evidence", evidence.handlers()),
        # Call-backs (回访) and the watch list: their dialogs and one-press answers.
        ("callbacks", problem_callbacks.handlers()),
        # Assessment: /rank (read-only, by role scope).
        ("assessment", assessment.handlers()),
        # The bulletin's draft in the office chat: its buttons, the opening dialog.
        ("bulletin", bulletin.handlers()),
        # Last: whatever nobody else took (stale buttons, stray text).
        ("fallback", fallback.handlers()),
    ]


class SeenUpdates:
    """Which update ids were processed. Telegram numbers updates in increasing order, so
    only an id not above the highest one recorded before this run can be an old one
    delivered again and needs the database; later repeats are caught in memory."""

    KEEP = 50_000

    def __init__(self) -> None:
        self.floor: int | None = None
        self.recent: dict[int, None] = {}

    async def seen(self, db: Database, update_id: int) -> bool:
        if self.floor is None:
            self.floor = await people.last_update_id(db)
        if update_id in self.recent:
            return True
        return update_id <= self.floor and await people.update_seen(db, update_id)

    def add(self, update_id: int) -> None:
        self.recent[update_id] = None
        if len(self.recent) > self.KEEP:
            del self.recent[next(iter(self.recent))]


class RepeatedCommands:
    """Which group commands were answered lately, by chat, member and text."""

    KEEP = 10_000

    def __init__(self) -> None:
        self.answered: dict[tuple[int, int, str], datetime] = {}

    def silent(self, update: Update, now: datetime) -> bool:
        message = update.message
        if (
            message is None
            or message.chat.type == ChatType.PRIVATE
            or message.from_user is None
            or not (message.text or "").startswith("/")
        ):
            return False
        command, _, rest = (message.text or "").strip().partition(" ")
        text = f"{message.message_thread_id or ''} {command.split('@')[0].lower()} {rest}"
        key = (message.chat.id, message.from_user.id, text)  # a forum topic is its own place
        before = self.answered.get(key)
        if before is not None and now - before < timedelta(seconds=REPEAT_SECONDS):
            return True
        self.answered[key] = now
        if len(self.answered) > self.KEEP:
            del self.answered[next(iter(self.answered))]
        return False


class FieldbotApplication(Application):  # type: ignore[type-arg]
    """Skips an update already processed, so a redelivered update changes nothing."""

    _seen_updates: SeenUpdates | None = None
    _repeats: RepeatedCommands | None = None
    # Several processes share the database (webhook mode, bot/webhook.py): conversation
    # state is read from the drafts table before each update.
    shared_database = False
    _conversations: list[ConversationHandler[Any]] | None = None

    async def process_update(self, update: object) -> None:
        d = self.bot_data.get(DEPS_KEY)
        if isinstance(update, Update) and isinstance(d, Deps):
            if self._seen_updates is None:
                self._seen_updates = SeenUpdates()
            seen = self._seen_updates
            if await seen.seen(d.db, update.update_id):
                log.info("update %s was delivered again; ignored", update.update_id)
                return
            if self._repeats is None:
                self._repeats = RepeatedCommands()
            query = update.callback_query
            if self.shared_database:  # another process may have moved a conversation on
                if self._conversations is None:
                    self._conversations = conversation_handlers(self.handlers.values())
                await refresh_conversations(d.db, self._conversations, update)
            if self._repeats.silent(update, d.now()):
                log.info("update %s repeats a command in its group; not answered", update.update_id)
            elif query is not None and not query.data and not query.game_short_name:
                # PTB lets a press without data match every pattern handler; only a
                # modified client sends one, so it gets the stale-button alert.
                await fallback.unknown_button(update, self)  # type: ignore[arg-type]
            else:
                await super().process_update(update)
            # Marked after the handler ran, so a crash before makes Telegram deliver it
            # again; written (with one fsync) by the next sync, see storage/db.py.
            d.db.note_processed(update.update_id, d.now())
            seen.add(update.update_id)
            if d.db.pending_marks >= MARKS_PER_SYNC:
                try:
                    await d.db.sync()
                except Exception:  # the marks stay pending; the next sync tries again
                    log.exception("could not write the handled updates")
            return
        await super().process_update(update)

    async def start(self) -> None:
        await super().start()
        await dispatcher_of(self).start()  # the outgoing queue is sent while we run
        await media_fetcher_of(self).start()  # photos and voice notes kept, off the update path
        self._syncer = asyncio.create_task(self._sync_every(SYNC_SECONDS), name="db-sync")

    async def stop(self) -> None:
        syncer, self._syncer = self._syncer, None
        if syncer is not None:
            syncer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await syncer
        await media_fetcher_of(self).stop()
        await dispatcher_of(self).stop()
        await super().stop()
        d = self.bot_data.get(DEPS_KEY)
        if isinstance(d, Deps) and d.db.is_open:
            await d.db.sync()

    _syncer: asyncio.Task[None] | None = None

    async def _sync_every(self, seconds: float) -> None:
        """Between polls (webhook mode, a quiet spell) handled updates still reach the
        disk within ``seconds``."""
        d: Deps = self.bot_data[DEPS_KEY]
        while True:
            await asyncio.sleep(seconds)
            try:
                await d.db.sync()
            except Exception:
                log.exception("could not write the handled updates; trying again")


async def _post_init(app: Application) -> None:  # type: ignore[type-arg]
    d: Deps = app.bot_data[DEPS_KEY]
    await d.db.ensure_open()
    install_jobs(app)  # reminders, deadlines, bulletin, backup; the first sweep catches up
    # Menus by scope (guests, group chats, bound chats) and the profile text.
    await set_menus(app.bot, d.catalog, d.settings.campaign.language, await bound_chats(d.db))
    settle_heap()


def settle_heap() -> None:
    """Once started: collect the garbage of the start, then set every object alive now
    (the libraries, catalogues, settings, handlers: some 90,000) aside from the garbage
    collector's generations. A full collection then scans only what was made since,
    instead of holding the loop, and every cadre's reply, ~40 ms (two a visit bench of
    300 cadres). The objects stay usable and are freed as usual when nothing refers to
    them; only a cycle among them waits for ``gc.unfreeze()`` at shutdown."""
    gc.collect()
    gc.freeze()


async def _post_shutdown(app: Application) -> None:  # type: ignore[type-arg]
    gc.unfreeze()  # back into the collector's care (tests start many applications)
    d: Deps = app.bot_data[DEPS_KEY]
    if d.owns_db:
        await d.db.close()


def build_application(
    settings: Settings,
    *,
    token: str | None = None,
    db: Database | None = None,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
    clock: Callable[[], datetime] = system_clock,
    catalog: Catalog | None = None,
) -> Application:  # type: ignore[type-arg]
    """Build the bot. ``db`` given: the caller opens and closes it (tests); otherwise the
    application opens the configured database in ``post_init`` and closes it at shutdown."""
    builder = (
        ApplicationBuilder()
        .application_class(FieldbotApplication)
        .token(token or settings.telegram.token.get())
        .base_url(settings.telegram.base_url)
        .base_file_url(settings.telegram.base_file_url)
        .concurrent_updates(ChatLanes())  # one chat's flood must not hold up the others
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    if request is not None:
        builder = builder.request(request)
    if updates_request is not None:
        builder = builder.get_updates_request(updates_request)
    pacer = pacer_for(settings)  # one budget for replies and the outgoing queue
    if settings.telegram.rate_limit:
        limiter = SharedRateLimiter(pacer, lambda: clock().timestamp(), max_retries=3)
        builder = builder.rate_limiter(limiter)  # type: ignore[arg-type]
    database = db or database_for(settings.storage.location)
    builder = builder.persistence(DraftPersistence(database))
    app = builder.build()
    owns_db = db is None
    deps = Deps(
        settings=settings,
        db=database,
        catalog=catalog or default_catalog(),
        clock=clock,
        owns_db=owns_db,
    )
    app.bot_data[DEPS_KEY] = deps
    app.bot_data[PACER_KEY] = pacer
    install_dispatcher(app, request=request)
    install_media_fetcher(app)
    for _name, group in handler_table():
        app.add_handlers(group)
    app.add_error_handler(fallback.on_error)
    return app
