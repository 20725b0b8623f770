"""Calling the Bot API for the dispatcher, and reading what a failure proves.

This is the Telegram edge of the outgoing queue. A queued item holds a channel-neutral
message (``campaign.message.to_json``); ``request_of`` renders it to the Bot API call
that delivers it (``handlers/screen.request_of``). Items queued in the older form,
Bot API parameters as JSON, are passed through as they are, so rows written before
the change still go out. The dispatcher's own Bot has no rate limiter (it paces by
itself) and no defaults.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from telegram import (
    Bot,
    InputFile,
    InputMedia,
    InputMediaAudio,
    InputMediaDocument,
    InputMediaPhoto,
    InputMediaVideo,
)
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.warnings import PTBDeprecationWarning

from campaign import message as stored
from handlers import screen
from handlers.screen import call_api
from storage import outbox

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


def upload(value: Any, attach: bool = False) -> Any:
    """``{"path": ..., "filename": ...}`` in a payload uploads a local file. An album's
    item is ``attach``ed: without it the item's JSON names no file and Telegram refuses."""
    if isinstance(value, Mapping) and "path" in value:
        path = Path(str(value["path"]))
        name = str(value.get("filename") or path.name)
        return InputFile(path.read_bytes(), filename=name, attach=attach)
    return value


_MEDIA: dict[str, Callable[..., InputMedia]] = {
    "photo": InputMediaPhoto,
    "video": InputMediaVideo,
    "document": InputMediaDocument,
    "audio": InputMediaAudio,
}


def params_of(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A queued payload as parameters for ``do_api_request``: local files to upload, and
    an album's items as InputMedia, the only form the library's request accepts for
    ``media`` (it sets each item's parse mode); their other fields pass as they are."""
    params = {key: upload(value) for key, value in payload.items()}
    media = params.get("media")
    if isinstance(media, list) and media and all(isinstance(m, Mapping) for m in media):
        params["media"] = [_media_item(m) for m in media]
    return params


def _media_item(item: Mapping[str, Any]) -> InputMedia:
    kind = _MEDIA.get(str(item.get("type")))
    if kind is None or "media" not in item:
        raise ValueError(f"an album item must be a photo, video, document or audio: {item}")
    rest = {k: v for k, v in item.items() if k not in ("type", "media")}
    return kind(media=upload(item["media"], attach=True), api_kwargs=rest)


def request_of(method: str, payload: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The Bot API method and JSON parameters of a queued item (its ``method`` is the
    queue's verb: a send, or the edit of a card). Both stored forms are read: a neutral
    message is rendered; Bot API parameters pass unchanged. ValueError: unreadable."""
    if stored.is_json(payload):
        message = stored.from_json(dict(payload))
        return screen.request_of(message, edit=method == outbox.EDIT)
    return method, dict(payload)


class QueueBot(Bot):
    """A plain Bot (no rate limiter, no defaults): the dispatcher paces by itself, and the
    payloads are Bot API parameters as JSON, passed through as they are."""

    async def call(
        self, method: str, params: dict[str, Any], *, read_timeout: float, media_timeout: float
    ) -> Any:
        uploads = ("sendPhoto", "sendDocument", "sendVoice")
        write_timeout = media_timeout if method in uploads else read_timeout
        return await call_api(
            self, method, params, read_timeout=read_timeout, write_timeout=write_timeout
        )
