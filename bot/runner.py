"""Running the bot for real: check the token, wait out an unreachable Bot API, then
poll or serve the webhook."""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TimedOut

from bot.app import build_application
from campaign.settings import Settings, SettingsError

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0


async def preflight(settings: Settings, attempts: int | None = None) -> str:
    """Ask the Bot API who we are; a rejected token stops the start, a network failure
    is retried with back-off. Returns the bot's username."""
    delay = 1.0
    tried = 0
    bot = Bot(
        settings.telegram.token.get(),
        base_url=settings.telegram.base_url,
        base_file_url=settings.telegram.base_file_url,
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
            log.warning(
                "Bot API at %s is not reachable (%s); trying again in %.0f s",
                settings.telegram.base_url,
                exc.__class__.__name__,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)


def run(settings: Settings) -> int:
    username = asyncio.run(preflight(settings))
    log.info("starting as @%s in %s mode", username, settings.telegram.mode)
    app = build_application(settings)
    if settings.telegram.mode == "webhook":
        wh = settings.telegram.webhook
        url = wh.url.rstrip("/")
        app.run_webhook(
            listen=wh.listen,
            port=wh.port,
            url_path=wh.path,
            webhook_url=url if url.endswith(wh.path) else f"{url}/{wh.path}",
            secret_token=wh.secret_token.get() or None,
            bootstrap_retries=-1,
        )
    else:
        app.run_polling(bootstrap_retries=-1)
    return 0
