"""An offline Bot API: a ``BaseRequest`` that answers like Telegram, and update builders.

It records every call, keeps the messages the bot sent (so edits and button presses
refer to real messages), and refuses what Telegram refuses: empty text, text over 4096
characters, captions over 1024, callback data over 64 bytes, editing a message that
does not exist or with nothing changed, alerts over 200 characters.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from telegram import Update
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

from bot.keepalive import parse_answer

BOT_ID = 7000001
BOT_USERNAME = "fieldbot_test_bot"
TOKEN = "7000001:TEST-token-abcdefghijklmnopqrstuvwxyz0123"

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK = 64
MAX_ALERT = 200
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"

_SENDING = {
    "sendMessage",
    "sendPhoto",
    "sendDocument",
    "sendMediaGroup",
    "sendLocation",
    "sendVoice",
    "copyMessage",
}


class ApiRefusal(Exception):
    def __init__(self, code: int, description: str, **extra: Any) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.extra = extra


@dataclass
class Call:
    method: str
    params: dict[str, Any]

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None and str(value).lstrip("-").isdigit() else None

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(text, callback_data or url) of every inline button, row by row."""
        markup = self.params.get("reply_markup") or {}
        if isinstance(markup, str):
            markup = json.loads(markup)
        out = []
        for row in markup.get("inline_keyboard", []):
            for b in row:
                out.append((b.get("text", ""), b.get("callback_data") or b.get("url") or ""))
        return out

    @property
    def keyboard(self) -> list[dict[str, Any]]:
        markup = self.params.get("reply_markup") or {}
        if isinstance(markup, str):
            markup = json.loads(markup)
        return [b for row in markup.get("keyboard", []) for b in row]


@dataclass
class StoredMessage:
    chat_id: int
    message_id: int
    text: str
    reply_markup: Any
    kind: str = "text"
    extra: dict[str, Any] = field(default_factory=dict)


def _markup(params: dict[str, Any]) -> Any:
    markup = params.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    return markup


def _check_markup(markup: Any) -> None:
    if not markup:
        return
    for row in markup.get("inline_keyboard", []):
        for b in row:
            if not b.get("text"):
                raise ApiRefusal(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )
            data = b.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode("utf-8")) <= MAX_CALLBACK:
                raise ApiRefusal(400, "Bad Request: BUTTON_DATA_INVALID")
    for row in markup.get("keyboard", []):
        for b in row:
            text = b if isinstance(b, str) else b.get("text")
            if not text:
                raise ApiRefusal(400, "Bad Request: keyboard button text is empty")


class OfflineRequest(BaseRequest):
    """A Bot API connection that stays in this process: nothing to open or close, and
    ``timeout`` as the read timeout the library plans its waits with. It reads the
    answers as the bot's real connection does (bot/keepalive.parse_answer)."""

    timeout: float | None = 1.0
    parse_json_payload = staticmethod(parse_answer)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float | None:
        return self.timeout


class FakeBotAPI(OfflineRequest):
    """Answers Bot API calls in-process. ``fail`` may raise ApiRefusal to inject errors."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.calls: list[Call] = []
        self.messages: dict[tuple[int, int], StoredMessage] = {}
        self._ids = itertools.count(1)
        self._clock = clock or (lambda: datetime.now(UTC))
        self.fail: Callable[[Call], None] | None = None
        self.updates: list[dict[str, Any]] = []
        self.blocked_chats: set[int] = set()
        self.answered_queries: set[str] = set()
        # Files the bot may fetch (getFile, then a GET of the file URL). A file id not
        # added here is served as a few bytes of its own; one in ``missing_files`` is
        # refused as Telegram refuses an id it does not know.
        self.files: dict[str, bytes] = {}
        self.file_sizes: dict[str, int] = {}  # what getFile says, when not the real size
        self.file_paths: dict[str, str] = {}  # file_path -> file_id, as handed out
        self.missing_files: set[str] = set()

    def add_file(
        self, file_id: str, data: bytes, *, size: int | None = None, path: str | None = None
    ) -> None:
        """A file Telegram holds: its bytes, the size getFile reports, its file_path."""
        self.files[file_id] = data
        if size is not None:
            self.file_sizes[file_id] = size
        if path is not None:
            self.file_paths[path] = file_id

    # --- BaseRequest ---
    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        if "/file/bot" in url:  # a file download (Bot.get_file, then File.download_...)
            return self._download(url)
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        call = Call(api_method, params)
        try:
            if self.fail is not None:
                self.fail(call)
            result = self.answer(call)
        except ApiRefusal as refusal:
            self.calls.append(call)
            body: dict[str, Any] = {
                "ok": False,
                "error_code": refusal.code,
                "description": refusal.description,
            }
            if refusal.extra:
                body["parameters"] = refusal.extra
            return refusal.code, json.dumps(body).encode()
        self.calls.append(call)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def _download(self, url: str) -> tuple[int, bytes]:
        """GET https://api.telegram.org/file/bot<token>/<file_path>: the file's bytes, or
        404 for a path getFile did not hand out."""
        file_path = unquote(url.split("/file/bot", 1)[1].split("/", 1)[-1])
        call = Call("download", {"file_path": file_path})
        self.calls.append(call)
        try:
            if self.fail is not None:
                self.fail(call)
        except ApiRefusal as refusal:
            body = {"ok": False, "error_code": refusal.code, "description": refusal.description}
            return refusal.code, json.dumps(body).encode()
        file_id = self.file_paths.get(file_path)
        if file_id is None:
            body = {"ok": False, "error_code": 404, "description": "Not Found"}
            return 404, json.dumps(body).encode()
        return 200, self._file_bytes(file_id)

    def _file_bytes(self, file_id: str) -> bytes:
        return self.files.get(file_id, f"bytes of {file_id}".encode())

    def _get_file(self, file_id: str) -> dict[str, Any]:
        """getFile as Telegram answers it: the size, and a file_path valid for an hour;
        over 20 MB or an unknown id is refused."""
        if file_id in self.missing_files or not file_id:
            raise ApiRefusal(400, "Bad Request: invalid file_id")
        size = self.file_sizes.get(file_id, len(self._file_bytes(file_id)))
        if size > 20 * 1024 * 1024:
            raise ApiRefusal(400, "Bad Request: file is too big")
        path = next((p for p, f in self.file_paths.items() if f == file_id), None)
        if path is None:
            path = f"documents/file_{len(self.file_paths)}"
            self.file_paths[path] = file_id
        return {
            "file_id": file_id,
            "file_unique_id": file_id + "u",
            "file_size": size,
            "file_path": path,
        }

    # --- the answers ---
    def _message(
        self, chat_id: int, text: str, markup: Any, kind: str, **extra: Any
    ) -> dict[str, Any]:
        message_id = next(self._ids)
        stored = StoredMessage(chat_id, message_id, text, markup, kind, extra)
        self.messages[(chat_id, message_id)] = stored
        return self.render(stored)

    def render(self, m: StoredMessage) -> dict[str, Any]:
        out: dict[str, Any] = {
            "message_id": m.message_id,
            "date": int(self._clock().timestamp()),
            "chat": chat_dict(m.chat_id),
            "from": {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "Fieldbot",
                "username": BOT_USERNAME,
            },
        }
        if m.kind == "text":
            out["text"] = m.text
        else:
            if m.text:
                out["caption"] = m.text
            if m.kind == "photo":
                out["photo"] = [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]
            elif m.kind == "document":
                out["document"] = {
                    "file_id": "d",
                    "file_unique_id": "d",
                    "file_name": m.extra.get("file_name", "file"),
                }
            elif m.kind == "location":
                out["location"] = {"latitude": 0.0, "longitude": 0.0}
            elif m.kind == "voice":
                out["voice"] = {"file_id": "v", "file_unique_id": "v", "duration": 1}
        if m.reply_markup and "inline_keyboard" in m.reply_markup:
            out["reply_markup"] = m.reply_markup
        return out

    def answer(self, call: Call) -> Any:
        p = call.params
        m = call.method
        if m == "getMe":
            return {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "Fieldbot",
                "username": BOT_USERNAME,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        if m in _SENDING:
            chat_id = int(p["chat_id"])
            if chat_id in self.blocked_chats:
                raise ApiRefusal(403, "Forbidden: bot was blocked by the user")
        if m == "sendMessage":
            text = str(p.get("text", ""))
            if not text.strip():
                raise ApiRefusal(400, "Bad Request: message text is empty")
            if len(text) > MAX_TEXT:
                raise ApiRefusal(400, "Bad Request: message is too long")
            markup = _markup(p)
            _check_markup(markup)
            return self._message(int(p["chat_id"]), text, markup, "text")
        if m in ("sendPhoto", "sendDocument", "sendVoice"):
            caption = str(p.get("caption") or "")
            if len(caption) > MAX_CAPTION:
                raise ApiRefusal(400, "Bad Request: message caption is too long")
            markup = _markup(p)
            _check_markup(markup)
            kind = {"sendPhoto": "photo", "sendDocument": "document", "sendVoice": "voice"}[m]
            return self._message(int(p["chat_id"]), caption, markup, kind)
        if m == "sendMediaGroup":
            media = p.get("media") or []
            if isinstance(media, str):
                media = json.loads(media)
            if not 2 <= len(media) <= 10:
                raise ApiRefusal(400, "Bad Request: wrong number of media")
            return [
                self._message(int(p["chat_id"]), str(item.get("caption") or ""), None, "photo")
                for item in media
            ]
        if m == "sendLocation":
            if not (-90 <= float(p["latitude"]) <= 90 and -180 <= float(p["longitude"]) <= 180):
                raise ApiRefusal(400, "Bad Request: wrong latitude or longitude")
            return self._message(int(p["chat_id"]), "", _markup(p), "location")
        if m in ("editMessageText", "editMessageReplyMarkup", "editMessageCaption"):
            key = (int(p["chat_id"]), int(p["message_id"]))
            stored = self.messages.get(key)
            if stored is None:
                raise ApiRefusal(400, "Bad Request: message to edit not found")
            markup = _markup(p)
            _check_markup(markup)
            if m == "editMessageText":
                text = str(p.get("text", ""))
                if not text.strip():
                    raise ApiRefusal(400, "Bad Request: message text is empty")
                if len(text) > MAX_TEXT:
                    raise ApiRefusal(400, "Bad Request: MESSAGE_TOO_LONG")
                if stored.kind != "text":
                    raise ApiRefusal(400, "Bad Request: there is no text in the message to edit")
                if text == stored.text and markup == stored.reply_markup:
                    raise ApiRefusal(400, "Bad Request: message is not modified")
                stored.text = text
            elif m == "editMessageCaption":
                caption = str(p.get("caption", ""))
                if len(caption) > MAX_CAPTION:
                    raise ApiRefusal(400, "Bad Request: message caption is too long")
                if caption == stored.text and markup == stored.reply_markup:
                    raise ApiRefusal(400, "Bad Request: message is not modified")
                stored.text = caption
            elif markup == stored.reply_markup:
                raise ApiRefusal(400, "Bad Request: message is not modified")
            stored.reply_markup = markup
            return self.render(stored)
        if m == "deleteMessage":
            key = (int(p["chat_id"]), int(p["message_id"]))
            if self.messages.pop(key, None) is None:
                raise ApiRefusal(400, "Bad Request: message to delete not found")
            return True
        if m == "answerCallbackQuery":
            if len(str(p.get("text") or "")) > MAX_ALERT:
                raise ApiRefusal(400, "Bad Request: MESSAGE_TOO_LONG")
            query_id = str(p.get("callback_query_id"))
            if query_id in self.answered_queries:  # Telegram takes one answer per press
                raise ApiRefusal(400, QUERY_TOO_OLD)
            self.answered_queries.add(query_id)
            return True
        if m in (
            "setMyCommands",
            "deleteMyCommands",
            "setChatMenuButton",
            "deleteWebhook",
            "setWebhook",
            "sendChatAction",
            "setMyDescription",
            "setMyShortDescription",
        ):
            if m == "setMyCommands":
                commands = p.get("commands") or []
                if isinstance(commands, str):
                    commands = json.loads(commands)
                for c in commands:
                    if not 1 <= len(c["command"]) <= 32 or not 1 <= len(c["description"]) <= 256:
                        raise ApiRefusal(400, "Bad Request: BOT_COMMAND_INVALID")
            return True
        if m == "getUpdates":
            offset = int(p.get("offset") or 0)
            return [u for u in self.updates if u["update_id"] >= offset]
        if m == "getFile":
            return self._get_file(str(p.get("file_id") or ""))
        if m == "getChat":
            return chat_dict(int(p["chat_id"]))
        raise ApiRefusal(404, f"Not Found: method {m} is not known to the fake Bot API")

    # --- reading what the bot did ---
    def sent(self, chat_id: int | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method in _SENDING and (chat_id is None or c.chat_id == chat_id)
        ]

    def to(self, chat_id: int) -> list[Call]:
        """Every call that showed something in this chat: sends and edits."""
        return [
            c
            for c in self.calls
            if c.chat_id == chat_id and (c.method in _SENDING or c.method.startswith("edit"))
        ]

    def last(self, chat_id: int) -> Call:
        calls = self.to(chat_id)
        if not calls:
            raise AssertionError(f"the bot showed nothing in chat {chat_id}")
        return calls[-1]

    def alerts(self) -> list[Call]:
        return [c for c in self.calls if c.method == "answerCallbackQuery"]

    def clear(self) -> None:
        self.calls.clear()


def shown(calls: list[Call]) -> list[Call]:
    """The calls among ``calls`` that put something in front of a user: sends and edits."""
    return [c for c in calls if c.method in _SENDING or c.method.startswith("edit")]


def chat_dict(chat_id: int) -> dict[str, Any]:
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": f"u{chat_id}"}
    return {"id": chat_id, "type": "supergroup", "title": f"group {chat_id}"}


def private_text_body(update_id: int, chat_id: int, text: str = "hi") -> str:
    """The JSON body Telegram posts to a webhook for a private text message (the inbox
    and process tests record and take these)."""
    return json.dumps(
        {
            "update_id": update_id,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": chat_id, "type": "private"},
                "from": {"id": chat_id, "is_bot": False, "first_name": "x"},
                "text": text,
            },
        }
    )


@dataclass(frozen=True)
class TgUser:
    id: int
    first_name: str = "测试"
    language_code: str | None = "zh-hans"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.language_code:
            out["language_code"] = self.language_code
        return out


class Harness:
    """Drives an Application through ``process_update`` as users would."""

    def __init__(self, app: Application, api: FakeBotAPI, clock: Callable[[], datetime]) -> None:  # type: ignore[type-arg]
        self.app = app
        self.api = api
        self.clock = clock
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(10_000_000)
        self._query_ids = itertools.count(1)

    def next_update_id(self) -> int:
        return next(self._update_ids)

    def _base_message(self, user: TgUser, chat_id: int | None) -> dict[str, Any]:
        cid = user.id if chat_id is None else chat_id
        return {
            "message_id": next(self._message_ids),
            "date": int(self.clock().timestamp()),
            "chat": chat_dict(cid),
            "from": user.as_dict(),
        }

    def message_update(
        self, user: TgUser, chat_id: int | None = None, **fields: Any
    ) -> dict[str, Any]:
        msg = self._base_message(user, chat_id)
        msg.update(fields)
        return {"update_id": self.next_update_id(), "message": msg}

    def text_update(self, user: TgUser, text: str, chat_id: int | None = None) -> dict[str, Any]:
        fields: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            fields["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self.message_update(user, chat_id, **fields)

    async def process(self, data: dict[str, Any]) -> list[Call]:
        """Feed one update; return the calls the bot made while handling it."""
        before = len(self.api.calls)
        await self.app.process_update(Update.de_json(data, self.app.bot))
        return self.api.calls[before:]

    async def send(self, user: TgUser, text: str, chat_id: int | None = None) -> list[Call]:
        return await self.process(self.text_update(user, text, chat_id))

    async def contact(self, user: TgUser, phone: str, owner_id: int | None = None) -> list[Call]:
        contact = {
            "phone_number": phone,
            "first_name": user.first_name,
            "user_id": user.id if owner_id is None else owner_id,
        }
        return await self.process(self.message_update(user, contact=contact))

    async def photo(
        self,
        user: TgUser,
        file_id: str = "photo1",
        caption: str | None = None,
        media_group_id: str | None = None,
    ) -> list[Call]:
        fields: dict[str, Any] = {
            "photo": [
                {"file_id": file_id, "file_unique_id": file_id + "u", "width": 640, "height": 480}
            ]
        }
        if caption:
            fields["caption"] = caption
        if media_group_id:
            fields["media_group_id"] = media_group_id
        return await self.process(self.message_update(user, **fields))

    async def voice(self, user: TgUser, file_id: str = "voice1", duration: int = 5) -> list[Call]:
        return await self.process(
            self.message_update(
                user,
                voice={"file_id": file_id, "file_unique_id": file_id + "u", "duration": duration},
            )
        )

    async def location(self, user: TgUser, lat: float, lon: float) -> list[Call]:
        return await self.process(
            self.message_update(user, location={"latitude": lat, "longitude": lon})
        )

    def callback_update(
        self,
        user: TgUser,
        data: str,
        message: StoredMessage | None = None,
        chat_id: int | None = None,
    ) -> dict[str, Any]:
        if message is None:
            cid = user.id if chat_id is None else chat_id
            message = StoredMessage(cid, next(self._message_ids), "old message", None)
        return {
            "update_id": self.next_update_id(),
            "callback_query": {
                "id": str(next(self._query_ids)),
                "from": user.as_dict(),
                "chat_instance": f"ci{message.chat_id}",
                "data": data,
                "message": self.api.render(message),
            },
        }

    async def press(
        self,
        user: TgUser,
        data: str,
        message: StoredMessage | None = None,
        chat_id: int | None = None,
    ) -> list[Call]:
        return await self.process(self.callback_update(user, data, message, chat_id))

    async def tap(self, user: TgUser, label: str, chat_id: int | None = None) -> list[Call]:
        """Press the button whose text contains ``label`` on the newest message that has it."""
        cid = user.id if chat_id is None else chat_id
        for stored in sorted(self.api.messages.values(), key=lambda m: -m.message_id):
            if stored.chat_id != cid or not stored.reply_markup:
                continue
            for row in stored.reply_markup.get("inline_keyboard", []):
                for b in row:
                    if label in b.get("text", "") and b.get("callback_data"):
                        return await self.press(user, b["callback_data"], stored)
        raise AssertionError(f"no button {label!r} in chat {cid}")

    def message_of(self, call: Call) -> StoredMessage:
        """The stored message a send or edit call produced or changed."""
        chat_id = call.chat_id
        assert chat_id is not None
        if "message_id" in call.params:
            return self.api.messages[(chat_id, int(call.params["message_id"]))]
        mine = [m for m in self.api.messages.values() if m.chat_id == chat_id]
        return max(mine, key=lambda m: m.message_id)


class FakeClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self.moment = start.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **kwargs: float) -> None:
        self.moment = self.moment + timedelta(**kwargs)

    def set(self, moment: datetime) -> None:
        self.moment = moment.astimezone(UTC)
