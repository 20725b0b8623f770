"""Keyboards as the Bot API's own JSON, and the calls that show them: send, edit,
answer a press. Every keyboard the handlers show is built here, and every queued
message is rendered here when the dispatcher sends it (``request_of``).

python-telegram-bot builds an object for every button, serialises them again to send,
and parses the whole message Telegram echoes back, keyboard included. For a step with
a keyboard that was about 200 µs of the update's time, twice the whole cost of an
update in a bare echo bot. A step here builds plain dicts and reads only the message id
from the answer. Its three calls (send, edit, answer a press: ``post``) hand the
parameters to the bot's connection as the library's own call would (the same fields
with the same JSON, in compact form: tests/test_screen_calls.py), without the layers
that would only convert plain JSON to itself again: the endpoint name check, defaults,
the per-parameter conversion. Errors are the library's own (``BadRequest`` and so on),
and the application's rate limiter still paces every call. Calls with files go through
``Bot.do_api_request`` (``call_api``).
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlencode

import orjson
from telegram import Bot, CallbackQuery, InputFile, InputMediaPhoto
from telegram.ext import ExtBot
from telegram.request import RequestData
from telegram.warnings import PTBUserWarning

from campaign.message import Ask, Message

Button = dict[str, Any]
Markup = dict[str, Any]  # inline_keyboard, keyboard or remove_keyboard, as the Bot API has it

REMOVE_KEYBOARD: Markup = {"remove_keyboard": True}


def button(text: str, data: str) -> Button:
    return {"text": text, "callback_data": data}


def rows(buttons: Sequence[Button], width: int = 2) -> list[list[Button]]:
    return [list(buttons[i : i + width]) for i in range(0, len(buttons), width)]


def inline(keyboard: Sequence[Sequence[Button]]) -> Markup:
    return {"inline_keyboard": [list(row) for row in keyboard]}


def contact_request(label: str) -> Markup:
    """A reply keyboard with one button that shares the user's own phone number."""
    return {
        "keyboard": [[{"text": label, "request_contact": True}]],
        "resize_keyboard": True,
        "one_time_keyboard": True,
    }


def location_request(label: str) -> Markup:
    """A reply keyboard with one button that shares the phone's location."""
    return {
        "keyboard": [[{"text": label, "request_location": True}]],
        "resize_keyboard": True,
        "one_time_keyboard": True,
    }


# do_api_request suggests the typed method (send_message...) for an endpoint it knows;
# the typed method is what costs the time above, so the plain call is meant here.
# A filter, not catch_warnings: that would swap the process's filters across awaits.
warnings.filterwarnings(
    "ignore", message=r"Please use 'Bot\.\w+' instead of", category=PTBUserWarning
)


async def call_api(bot: Bot, method: str, params: dict[str, Any], **timeouts: float) -> Any:
    """The Bot API's answer as plain JSON (no ``return_type``: nothing is parsed).
    ``params`` may hold files and InputMedia. ``timeouts``: ``read_timeout`` and so on;
    those not given are the request's own."""
    return await bot.do_api_request(method, params, None, **timeouts)


async def post(bot: Bot, method: str, params: dict[str, Any]) -> Any:
    """``call_api`` for parameters that are plain JSON already (text, ids, keyboards as
    built here): the request ``do_api_request`` would send, passed through the
    application's rate limiter as the library passes it, then straight to the
    connection. ``None`` values are left out, as the library leaves them out."""
    data = {key: value for key, value in params.items() if value is not None}
    limiter = bot.rate_limiter if isinstance(bot, ExtBot) else None
    if limiter is None:
        return await _send_plain(bot, method, data)
    return await limiter.process_request(
        callback=_send_plain,
        args=(bot, method, data),
        kwargs={},
        endpoint=method,
        data=data,
        rate_limit_args=None,
    )


async def _send_plain(bot: Bot, method: str, data: dict[str, Any]) -> Any:
    request_data = cast(RequestData, PlainRequestData(data))
    return await bot.request.post(f"{bot.base_url}/{method}", request_data)


# As the library's ``json.dumps`` would: a date or a dataclass is refused (TypeError).
_STRICT = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class PlainRequestData:
    """The documented face of the library's ``RequestData`` (what a connection reads of
    it) for parameters that are plain JSON and hold no file: a str is sent as it is,
    anything else JSON-encoded as the library encodes it, in orjson's compact form (the
    same JSON; a keyboard takes ~1 µs instead of ~10)."""

    __slots__ = ("parameters", "json_parameters")

    contains_files = False

    def __init__(self, parameters: dict[str, Any]) -> None:
        self.parameters = parameters
        self.json_parameters = {
            k: v if isinstance(v, str) else orjson.dumps(v, option=_STRICT).decode()
            for k, v in parameters.items()
        }

    @property
    def multipart_data(self) -> dict[str, Any]:
        return {}

    @property
    def json_payload(self) -> bytes:
        return orjson.dumps(self.json_parameters, option=_STRICT)

    def url_encoded_parameters(self, encode_kwargs: dict[str, Any] | None = None) -> str:
        return urlencode(self.json_parameters, **(encode_kwargs or {}))

    def parametrized_url(self, url: str, encode_kwargs: dict[str, Any] | None = None) -> str:
        return f"{url}?{self.url_encoded_parameters(encode_kwargs)}"


async def send(
    bot: Bot,
    chat_id: int,
    text: str,
    markup: Markup | None = None,
    thread: int | None = None,
    reply_to: int | None = None,
) -> int | None:
    """Send a message (into forum topic ``thread`` when given; quoting message
    ``reply_to``, and still sent if that message was deleted meanwhile); returns its id."""
    params: dict[str, Any] = {"chat_id": chat_id, "text": text}
    if markup is not None:
        params["reply_markup"] = markup
    if thread is not None:
        params["message_thread_id"] = thread
    if reply_to is not None:
        params["reply_parameters"] = {"message_id": reply_to, "allow_sending_without_reply": True}
    result = await post(bot, "sendMessage", params)
    return result.get("message_id") if isinstance(result, dict) else None


async def edit(
    bot: Bot, chat_id: int, message_id: int, text: str, markup: Markup | None = None
) -> None:
    """Replace a message's text and inline keyboard (none: the buttons go away)."""
    params: dict[str, Any] = {"chat_id": chat_id, "message_id": message_id, "text": text}
    if markup is not None:
        params["reply_markup"] = markup
    await post(bot, "editMessageText", params)


async def edit_pressed(
    bot: Bot, query: CallbackQuery, text: str, markup: Markup | None = None
) -> None:
    """Replace the message whose button was pressed."""
    message = query.message
    if message is None:  # too old for Telegram to say which message it was
        raise ValueError("the pressed message is unknown")
    await edit(bot, message.chat.id, message.message_id, text, markup)


async def answer(bot: Bot, query_id: str, text: str | None = None, alert: bool = False) -> None:
    """Answer a button press (Telegram takes one answer per press)."""
    await post(
        bot,
        "answerCallbackQuery",
        {"callback_query_id": query_id, "text": text, "show_alert": True if alert else None},
    )


def markup_of(message: Message) -> Markup | None:
    """A plain ``Message``'s buttons (or one-tap answer) as Bot API reply markup."""
    if message.buttons:
        return inline([[button(b.text, b.data) for b in row] for row in message.buttons])
    if message.ask is Ask.CONTACT:
        return contact_request(message.ask_label)
    if message.ask is Ask.LOCATION:
        return location_request(message.ask_label)
    if message.ask is Ask.NOTHING:
        return REMOVE_KEYBOARD
    return None


# --- a queued message as the Bot API call that delivers it --------------------------------

ALBUM_MAX = 10  # Telegram's most photos in one album


def _file(ref: str) -> Any:
    """A photo or document reference: a local path becomes ``{"path", "filename"}``,
    which the sender uploads (bot/sending.py); a file_id or URL passes as it is."""
    if ref.startswith("/"):
        return {"path": ref, "filename": ref.rsplit("/", 1)[-1]}
    return ref


def request_of(message: Message, *, edit: bool = False) -> tuple[str, dict[str, Any]]:
    """The Bot API method and parameters (as JSON, without chat_id and message_id) that
    show ``message``: a new message with a map pin, a voice note, a photo, an album, a
    document or text, or the
    text edit of a card's message. A text edit without buttons takes the card's away."""
    params: dict[str, Any] = {}
    markup = markup_of(message)
    if edit:
        method = "editMessageText"
        params["text"] = message.text
    elif message.location is not None:
        method = "sendLocation"  # a pin has no caption; its text goes in a message before
        params["latitude"], params["longitude"] = message.location
    elif message.voice is not None:
        method = "sendVoice"
        params["voice"] = _file(message.voice)
        if message.text:
            params["caption"] = message.text
    elif message.document is not None:
        method = "sendDocument"
        params["document"] = _file(message.document)
        if message.text:
            params["caption"] = message.text
    elif len(message.photos) == 1:
        method = "sendPhoto"
        params["photo"] = _file(message.photos[0])
        if message.text:
            params["caption"] = message.text
    elif message.photos:
        method = "sendMediaGroup"  # an album takes no keyboard; its first item the caption
        params["media"] = [
            {
                "type": "photo",
                "media": _file(ref),
                **({"caption": message.text} if i == 0 and message.text else {}),
            }
            for i, ref in enumerate(message.photos[:ALBUM_MAX])
        ]
        markup = None
    else:
        method = "sendMessage"
        params["text"] = message.text
    if markup is not None:
        params["reply_markup"] = markup
    if message.silent and not edit:
        params["disable_notification"] = True
    return method, params


async def _upload(value: Any, attach: bool = False) -> Any:
    """A local file (``{"path", "filename"}`` from ``_file``) as an upload; an album's
    item must be ``attach``ed (sent as a named part the item's JSON points to)."""
    if isinstance(value, dict) and "path" in value:
        data = await asyncio.to_thread(Path(str(value["path"])).read_bytes)
        return InputFile(data, filename=str(value.get("filename") or "file"), attach=attach)
    return value


async def send_message(bot: Bot, chat_id: int, message: Message) -> None:
    """Send a plain ``Message`` at once (a reply, not a queued notice): text, a photo, an
    album of photos, a voice note or a map pin, by file id or from a local file. An
    album's items go as InputMedia, the only form the library's request takes."""
    method, params = request_of(message)
    params["chat_id"] = chat_id
    for key in ("photo", "voice", "document"):
        if key in params:
            params[key] = await _upload(params[key])
    if method == "sendMediaGroup":
        params["media"] = [
            InputMediaPhoto(
                media=await _upload(item["media"], attach=True), caption=item.get("caption")
            )
            for item in params["media"]
        ]
    await call_api(bot, method, params)
