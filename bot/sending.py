"""Calling the Bot API for the dispatcher, and reading what a failure proves.

The dispatcher's own Bot has no rate limiter (it paces by itself) and no defaults: a
queued payload is Bot API parameters as JSON and is passed through as it is.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from telegram import Bot, InputFile
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.warnings import PTBDeprecationWarning

# Failures that prove the request never reached Telegram: sending it again is safe.
_NEVER_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.WriteTimeout,
    httpx.WriteError,
    httpx.UnsupportedProtocol,
    httpx.ProxyError,
)


def never_sent(exc: BaseException) -> bool:
    """True when Telegram certainly did not act on the request: it answered with an
    error status (a 5xx), or the connection failed before the request was written.
    A read timeout or a dropped connection after writing leaves the outcome unknown."""
    if isinstance(exc, RetryAfter | BadRequest):
        return True
    cause = exc.__cause__
    if isinstance(exc, TimedOut):
        return isinstance(cause, _NEVER_SENT)
    if isinstance(exc, NetworkError):
        return cause is None or isinstance(cause, (TelegramError, *_NEVER_SENT))
    return False


def retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that the type will become timedelta
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def message_id_of(result: Any) -> int | None:
    if isinstance(result, list) and result and isinstance(result[0], Mapping):
        result = result[0]
    if isinstance(result, Mapping) and isinstance(result.get("message_id"), int):
        return int(result["message_id"])
    return None


def upload(value: Any) -> Any:
    """``{"path": ..., "filename": ...}`` in a payload uploads a local file."""
    if isinstance(value, Mapping) and "path" in value:
        path = Path(str(value["path"]))
        return InputFile(path.read_bytes(), filename=str(value.get("filename") or path.name))
    return value


class QueueBot(Bot):
    """A plain Bot (no rate limiter, no defaults): the dispatcher paces by itself, and the
    payloads are Bot API parameters as JSON, passed through as they are."""

    async def call(
        self, method: str, params: dict[str, Any], *, read_timeout: float, media_timeout: float
    ) -> Any:
        return await self._do_post(
            method,
            params,
            read_timeout=read_timeout,
            write_timeout=media_timeout
            if method in ("sendPhoto", "sendDocument")
            else read_timeout,
        )
