"""The WeCom channel assembled: the same Application as Telegram's, on a Bot whose requests
go to WeCom (bot/wecom/bridge.py), with the callback server and its worker
(bot/wecom/callback.py), the app menu, and ``serve`` to run it.

With only ``[wecom]`` enabled no Telegram token is needed: python-telegram-bot gets a
placeholder that never leaves the process.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from telegram.ext import Application

from bot.app import build_application
from bot.dispatcher import dispatcher_of
from bot.wecom.api import WeComAPI
from bot.wecom.bridge import TOKEN, WeComBridge
from bot.wecom.callback import InboundWorker, Receiver, http_server
from campaign.i18n import Catalog, default_catalog
from campaign.settings import Settings
from services.runtime import DEPS_KEY, Deps, system_clock
from storage.db import Database
from storage.wecom import is_wecom_id

log = logging.getLogger(__name__)

CHANNEL_KEY = "fieldbot.wecom"


@dataclass
class WeComChannel:
    api: WeComAPI
    bridge: WeComBridge
    worker: InboundWorker
    receiver: Receiver


def api_for(settings: Settings) -> WeComAPI:
    w = settings.wecom
    return WeComAPI(
        base_url=w.api_base_url,
        corp_id=w.corp_id,
        secret=w.secret.get(),
        agent_id=w.agent_id,
        proxy=w.proxy or None,
    )


OFF_PEAK = timedelta(minutes=7)  # how far a job's time on :00 or :30 moves


def off_peak(at: time) -> time:
    """A scheduled time moved off WeCom's busy :00 and :30 (which it asks senders to
    avoid): 19:30 becomes 19:37; 19:35 stays."""
    if at.minute % 30 or at.second:
        return at
    moved = datetime.combine(date(2000, 1, 1), at) + OFF_PEAK
    return moved.time()


def paced_for_wecom(settings: Settings) -> Settings:
    """The settings the WeCom application runs with: one message per member every
    ``member_interval_seconds`` (30 a minute and 1,000 an hour at most: WeCom drops
    the excess silently), no Telegram rate limiter, and the jobs that send to many
    (the evening nudge, the weekly pace, the period's end, the bulletin, plan reminders)
    moved off :00 and :30."""
    outbox = dataclasses.replace(
        settings.outbox, chat_interval_seconds=settings.wecom.member_interval_seconds
    )
    telegram = dataclasses.replace(settings.telegram, rate_limit=False)
    r = settings.reminders
    nudge = off_peak(r.evening_nudge)
    reminders = dataclasses.replace(
        r,
        evening_nudge=nudge if nudge < r.nudge_latest else r.evening_nudge,
        weekly_pace_time=off_peak(r.weekly_pace_time),
        bulletin_time=off_peak(r.bulletin_time),
        period_end_time=off_peak(r.period_end_time),
    )
    plans = dataclasses.replace(settings.plans, remind_time=off_peak(settings.plans.remind_time))
    return dataclasses.replace(
        settings, outbox=outbox, telegram=telegram, reminders=reminders, plans=plans
    )


def media_cache(settings: Settings) -> Path:
    where = settings.media.folder_for(settings.storage.database)
    base = Path(where) if where else Path(settings.storage.database).parent / "media"
    return base / "wecom"


def build_wecom_application(
    settings: Settings,
    *,
    api: WeComAPI | None = None,
    db: Database | None = None,
    clock: Callable[[], datetime] = system_clock,
    catalog: Catalog | None = None,
) -> Application:  # type: ignore[type-arg]
    """The bot for WeCom. ``db`` given: the caller opens and closes it (tests)."""
    catalog = catalog or default_catalog()
    api = api or api_for(settings)
    bridge = WeComBridge(
        api,
        media_dir=media_cache(settings),
        clock=clock,
        catalog=catalog,
        lang=settings.campaign.language,
    )
    app = build_application(
        paced_for_wecom(settings),
        token=TOKEN,
        db=db,
        request=bridge,
        updates_request=bridge,
        clock=clock,
        catalog=catalog,
    )
    deps: Deps = app.bot_data[DEPS_KEY]
    bridge.attach(deps.db)
    worker = InboundWorker(app, bridge, api)
    receiver = Receiver(deps, settings.wecom, worker)
    app.bot_data[CHANNEL_KEY] = WeComChannel(api, bridge, worker, receiver)
    return app


def channel_of(app: Application) -> WeComChannel:  # type: ignore[type-arg]
    value = app.bot_data[CHANNEL_KEY]
    assert isinstance(value, WeComChannel)
    return value


def app_menu(catalog: Catalog, lang: str) -> dict[str, Any]:
    """WeCom's app menu in place of Telegram's command list: each item's key is the
    command a click runs (at most 3 items, 5 under each)."""

    def item(key: str, command: str) -> dict[str, Any]:
        return {"type": "click", "name": catalog.t(lang, f"wecom.menu_{key}"), "key": command}

    more = [
        item("start", "/start"),
        item("my", "/my"),
        item("problems", "/ledger"),
        item("summary", "/summary"),
        item("help", "/help"),
    ]
    return {
        "button": [
            item("visit", "/visit"),
            item("problem", "/problem"),
            {"name": catalog.t(lang, "wecom.menu_more"), "sub_button": more},
        ]
    }


async def _set_menu(app: Application, settings: Settings) -> None:  # type: ignore[type-arg]
    channel = channel_of(app)
    d: Deps = app.bot_data[DEPS_KEY]
    try:
        await channel.api.create_menu(app_menu(d.catalog, settings.campaign.language))
    except Exception as exc:  # a menu is a nicety; never block the start
        log.warning("could not set the WeCom app menu: %s", type(exc).__name__)


def split_queue(telegram: Application, wecom_app: Application) -> None:  # type: ignore[type-arg]
    """One outgoing queue, two senders: each dispatcher claims its own channel's chats."""
    dispatcher_of(telegram).accepts = lambda chat_id: not is_wecom_id(chat_id)
    dispatcher_of(wecom_app).accepts = is_wecom_id


def beside_telegram(telegram: Application, settings: Settings) -> Application:  # type: ignore[type-arg]
    """Run WeCom in the Telegram bot's process (both channels configured): the same
    database, each dispatcher sending to its own channel's chats only, the scheduled jobs
    once (the Telegram side queues for everyone), the callback server started and
    stopped with the Telegram application. Returns the WeCom application."""
    db = telegram.bot_data[DEPS_KEY].db
    wecom_app = build_wecom_application(settings, db=db)
    split_queue(telegram, wecom_app)
    channel = channel_of(wecom_app)
    server = http_server(channel.receiver, settings.wecom)
    before_init, before_stop = telegram.post_init, telegram.post_stop

    async def post_init(app: Application) -> None:  # type: ignore[type-arg]
        if before_init is not None:
            await before_init(app)
        await wecom_app.initialize()
        await _set_menu(wecom_app, settings)
        await wecom_app.start()
        await channel.worker.start()
        server.listen(settings.wecom.port, address=settings.wecom.listen)
        log.info("WeCom callback listening on port %s beside Telegram", settings.wecom.port)

    async def post_stop(app: Application) -> None:  # type: ignore[type-arg]
        server.stop()
        await channel.worker.stop()
        await wecom_app.stop()
        await wecom_app.shutdown()
        await channel.api.close()
        if before_stop is not None:
            await before_stop(app)

    telegram.post_init = post_init  # type: ignore[method-assign,assignment]
    telegram.post_stop = post_stop  # type: ignore[method-assign,assignment]
    return wecom_app


async def serve(settings: Settings) -> None:
    """Run the WeCom channel until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    app = build_wecom_application(settings)
    channel = channel_of(app)
    w = settings.wecom
    server = http_server(channel.receiver, w)
    await app.initialize()
    try:
        if app.post_init is not None:
            await app.post_init(app)
        await _set_menu(app, settings)
        await app.start()
        await channel.worker.start()
        server.listen(w.port, address=w.listen)
        log.info("WeCom callback listening on %s:%s/%s", w.listen, w.port, w.path)
        await stop.wait()
        log.info("stopping the WeCom channel")
        server.stop()
        await channel.worker.stop()
        await app.stop()
    finally:
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
        await channel.api.close()
