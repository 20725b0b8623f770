"""Running the bot for real: check the token, wait out an unreachable Bot API, then
poll or serve the webhook."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Bot, Update
from telegram.error import InvalidToken, NetworkError, TimedOut
from telegram.request import HTTPXRequest, RequestData

from bot import webhook
from bot.app import build_application
from bot.keepalive import KeepAliveRequest, parse_answer
from bot.logs import hide_in_logs
from campaign.settings import Settings, SettingsError, channels
from services.runtime import DEPS_KEY
from storage.backup import BackupError, hold_database

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0


def proxy_of(settings: Settings) -> str | None:
    """The configured proxy for every call to the Bot API. None: httpx then honours
    HTTPS_PROXY / ALL_PROXY from the environment, as curl does."""
    return settings.telegram.proxy or None


# Each cause names what to look at. Where api.telegram.org is blocked (mainland China)
# DNS answers wrong or connections time out; a proxy or a self-hosted Bot API is the way.
_HINT = (
    "if api.telegram.org is blocked here, set [telegram] proxy (http://, https:// or "
    "socks5://host:port) or HTTPS_PROXY, or point [telegram] base_url at a self-hosted "
    "Bot API server"
)


def unreachable_cause(exc: BaseException) -> str:
    """Why the Bot API could not be reached, in words an operator can act on: DNS,
    refused, timeout, TLS or proxy, from the chain of exceptions python-telegram-bot
    and httpx raise."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 10:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    names = " ".join(type(e).__name__ for e in chain)
    text = " ".join(str(e) for e in chain).lower()
    if any(isinstance(e, socket.gaierror) for e in chain) or any(
        w in text
        for w in (
            "name or service not known",
            "nodename nor servname",
            "getaddrinfo",
            "temporary failure in name resolution",
            "no address associated",
        )
    ):
        return "DNS: the host name does not resolve"
    if "ProxyError" in names or "proxy" in text:
        return "the proxy refused or failed the connection"
    if any(isinstance(e, ssl.SSLError) for e in chain) or any(
        w in text for w in ("ssl", "certificate", "tls")
    ):
        return "TLS: the secure connection failed (a certificate or an interception)"
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "refused" in text:
        return "connection refused"
    if any(isinstance(e, TimedOut | TimeoutError) for e in chain) or "timeout" in names.lower():
        return "timeout: no answer"
    if any(isinstance(e, ConnectionResetError) for e in chain) or "reset" in text:
        return "the connection was reset"
    return type(exc).__name__


def _warn_unreachable(settings: Settings, exc: BaseException, delay: float) -> None:
    via = f" through the proxy {_safe_proxy(settings)}" if settings.telegram.proxy else ""
    log.warning(
        "Bot API at %s is not reachable%s (%s); %s; trying again in %.0f s",
        settings.telegram.base_url,
        via,
        unreachable_cause(exc),
        _HINT,
        delay,
    )


def _safe_proxy(settings: Settings) -> str:
    """The proxy's address without a password it may carry."""
    url = settings.telegram.proxy
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.rpartition('@')[2]}" if sep else url


async def preflight(settings: Settings, attempts: int | None = None) -> str:
    """Ask the Bot API who we are; a rejected token stops the start, a network failure
    is retried with back-off and logged with its cause. Returns the bot's username."""
    delay = 1.0
    tried = 0
    bot = Bot(
        settings.telegram.token.get(),
        base_url=settings.telegram.base_url,
        base_file_url=settings.telegram.base_file_url,
        request=HTTPXRequest(proxy=proxy_of(settings)),
    )
    while True:
        tried += 1
        try:
            async with bot:
                return bot.username
        except InvalidToken:
            raise SettingsError(
                f"{settings.source}: key 'telegram.token' was rejected by the Bot API at "
                f"{settings.telegram.base_url}; check the token from @BotFather"
            ) from None
        except (NetworkError, TimedOut) as exc:
            if attempts is not None and tried >= attempts:
                raise
            _warn_unreachable(settings, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)


class ConfirmWhenHandled(HTTPXRequest):
    """The getUpdates connection, holding each poll until every update fetched before it
    has been handled.

    A poll's ``offset`` confirms all earlier updates to Telegram, which never sends them
    again. python-telegram-bot polls again as soon as it has queued a batch, so a crash
    (SIGKILL, power loss) while that batch is still being handled would lose it: the
    cadre's message gets no answer, ever. Waiting for the queue first makes delivery
    at-least-once; an update delivered again is skipped by its id (processed_updates).

    An update python-telegram-bot cannot read (a field its version does not expect)
    would fail the whole batch, which is then fetched again at once, forever: the bot
    spins and answers no one. Such an update is replaced by an empty one with its id,
    so it is skipped and confirmed, and the operator sees one error line.
    """

    parse_json_payload = staticmethod(parse_answer)  # as every answer is read

    def __init__(self, proxy: str | None = None) -> None:
        super().__init__(connection_pool_size=1, proxy=proxy)
        self.queue: asyncio.Queue[object] | None = None
        self.settle: Callable[[], Awaitable[None]] | None = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        *timeouts: Any,
        **named_timeouts: Any,
    ) -> tuple[int, bytes]:
        # The four timeouts pass through untouched; their type (ODVInput) is private.
        if self.queue is not None and url.endswith("/getUpdates"):
            await self.queue.join()
            if self.settle is not None:
                # What the batch wrote reaches the disk (one fsync) before Telegram is
                # told the batch was handled: see storage/db.py.
                try:
                    await self.settle()
                except Exception as exc:
                    # Not confirmed, so Telegram keeps the batch; as a network error,
                    # python-telegram-bot polls again after a back-off instead of stopping.
                    log.error("handled updates could not be written (%s); will retry", exc)
                    raise NetworkError("handled updates not yet on disk") from exc
        code, body = await super().do_request(
            url, method, request_data, *timeouts, **named_timeouts
        )
        if code == 200 and url.endswith("/getUpdates"):
            body = _skip_unreadable(body)
        return code, body


def _skip_unreadable(body: bytes) -> bytes:
    try:
        data = json.loads(body)
    except ValueError:
        return body
    result = data.get("result") if isinstance(data, dict) else None
    if not isinstance(result, list):
        return body
    skipped = False
    for i, item in enumerate(result):
        try:
            Update.de_json(item, None)
        except Exception as exc:
            update_id = item.get("update_id") if isinstance(item, dict) else None
            if not isinstance(update_id, int):
                continue
            log.error("update %s cannot be read (%s); skipped", update_id, type(exc).__name__)
            result[i] = {"update_id": update_id}
            skipped = True
    return json.dumps(data).encode() if skipped else body


class ForgivingRequest(KeepAliveRequest):
    """The connection for every call but getUpdates (plain calls over the lighter
    keep-alive connections of bot/keepalive.py).

    A button press can be answered once, within seconds. After a crash, a press that
    was answered but not yet recorded comes again, and presses that waited while the
    bot was down are too old: Telegram refuses the answer ("query is too old ..."). That
    refusal must not abort the handler before it does what the press asked for, so it
    is logged and taken as answered.
    """

    def __init__(self, proxy: str | None = None) -> None:
        super().__init__(connection_pool_size=256, proxy=proxy)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        *timeouts: Any,
        **named_timeouts: Any,
    ) -> tuple[int, bytes]:
        code, body = await super().do_request(
            url, method, request_data, *timeouts, **named_timeouts
        )
        if code == 400 and url.endswith("/answerCallbackQuery") and b"query is too old" in body:
            log.info("a button press could no longer be answered (too old, or answered before)")
            return 200, b'{"ok": true, "result": true}'
        return code, body


def run(settings: Settings) -> int:
    """Run until stopped, holding the database so that a restore (or a second bot on the
    same file) is refused meanwhile."""
    with contextlib.ExitStack() as held:
        try:
            # Webhook processes share the database (docs/processes.md); a poller is alone.
            shared = settings.telegram.mode == "webhook"
            if settings.storage.url:  # PostgreSQL: an advisory lock, as the file's
                from storage.pg_ops import hold_pg_database

                held.enter_context(hold_pg_database(settings.storage.url, shared=shared))
            else:
                held.enter_context(hold_database(settings.storage.database, shared=shared))
        except BackupError as exc:
            raise SettingsError(str(exc)) from None
        return _run(settings)


def _run(settings: Settings) -> int:
    username = asyncio.run(preflight(settings))
    log.info("starting as @%s in %s mode", username, settings.telegram.mode)
    updates_request = ConfirmWhenHandled(proxy_of(settings))
    app = build_application(
        settings, request=ForgivingRequest(proxy_of(settings)), updates_request=updates_request
    )
    updates_request.queue = app.update_queue
    updates_request.settle = app.bot_data[DEPS_KEY].db.sync
    if "wecom" in channels(settings):  # WeCom in the same process (docs/wecom.md)
        from bot.wecom.channel import beside_telegram

        beside_telegram(app, settings)
    if settings.telegram.mode == "webhook":
        hide_in_logs(settings.telegram.webhook.secret_token.get())  # -v logs setWebhook's
        # Our own endpoint, not python-telegram-bot's: an update is on disk before the
        # 200 (bot/webhook.py), and several processes may share the database.
        asyncio.run(webhook.serve(app, settings))
    else:
        app.run_polling(bootstrap_retries=-1)
    return 0
