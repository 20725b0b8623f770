"""The Bot API spoken by WeCom: a ``BaseRequest`` that turns the calls python-telegram-bot
makes into WeCom's server API, so the same Application (every handler, the step engine,
the dispatcher of the outgoing queue, the media worker) serves WeCom members.

What becomes what:

- ``sendMessage`` without buttons: a text message (split at WeCom's 2,048 bytes);
- with 1 to 6 buttons to a member: a ``button_interaction`` template card whose buttons'
  keys are the callback data (a text too long for the card goes first as text);
- with more buttons (or link buttons): the text and the buttons as numbered lines; the
  member answers with the number (``bot.wecom.updates`` turns it into the press);
- to an app chat (a team's or the office's ``appchat``): the text as a plain notice to
  the chat, and the card with its buttons to each owner of the chat individually
  (team leaders, office members), since an app chat takes no template card;
- ``editMessageText``/``ReplyMarkup``/``Caption``: ``update_template_card`` with the card's
  unspent response code (the send's, or a press's; one update each, within 72 h), else
  the new state as a new card (a new message for plain text);
- ``answerCallbackQuery``: nothing, unless it carries text: that is sent to the presser;
- ``sendPhoto``/``sendMediaGroup``/``sendDocument``/``sendVoice``: uploaded
  (``media/upload``), then sent as image or file; a caption goes as text;
- ``getFile`` + the download: the member's media, fetched (``media/get``) and kept in
  the media cache when it arrived (media ids expire after 3 days).

What each chat showed is kept in ``wecom_messages``/``wecom_tasks`` (storage/wecom.py),
so a press refers to a message the core knows.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from telegram.request import BaseRequest, RequestData

from bot.wecom.api import WeComAPI, WeComError
from campaign.i18n import Catalog
from campaign.roles import Role
from storage import people, wecom
from storage.db import Database

log = logging.getLogger(__name__)

BOT_ID = wecom.MEMBER_BASE  # the bot itself, as the core sees it
BOT_USERNAME = "fieldbot_wecom"
TOKEN = "1:wecom-channel"  # python-telegram-bot wants a token; nothing ever sees it

CARD_BUTTONS = 6
TITLE_MAX = 26  # a card's main title, characters
SUB_TITLE_MAX = 112  # a card's secondary text, characters
BUTTON_TEXT_MAX = 10  # a card button's text, characters
TEXT_BYTES = 2048  # a text message
CODE_LIFE = timedelta(hours=72)
PER_MINUTE = 29  # WeCom drops a member's 31st message in a minute; one spare
PER_HOUR = 990  # and the 1,001st in an hour

_QUIET = {
    "setMyCommands",
    "deleteMyCommands",
    "setChatMenuButton",
    "setMyDescription",
    "setMyShortDescription",
    "deleteWebhook",
    "setWebhook",
    "sendChatAction",
    "deleteMessage",  # WeCom cannot take a message back from the chat's history here
    "pinChatMessage",
    "unpinChatMessage",
}


class Refusal(Exception):
    """What Telegram would answer with an error; python-telegram-bot raises it as such."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def chat_dict(chat_id: int) -> dict[str, Any]:
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": "WeCom"}
    return {"id": chat_id, "type": "group", "title": "WeCom"}


def bot_user() -> dict[str, Any]:
    return {"id": BOT_ID, "is_bot": True, "first_name": "Fieldbot", "username": BOT_USERNAME}


def buttons_of(markup: Any) -> list[tuple[str, str, bool]]:
    """(label, callback data or URL, is a link) of an inline keyboard, row by row."""
    if isinstance(markup, str):
        markup = json.loads(markup)
    if not isinstance(markup, Mapping):
        return []
    out = []
    for row in markup.get("inline_keyboard") or []:
        for b in row:
            if b.get("callback_data"):
                out.append((str(b.get("text", "")), str(b["callback_data"]), False))
            elif b.get("url"):
                out.append((str(b.get("text", "")), str(b["url"]), True))
    return out


def inline_only(markup: Any) -> dict[str, Any] | None:
    """The inline keyboard of a markup; a reply keyboard has no meaning on WeCom."""
    if isinstance(markup, str):
        markup = json.loads(markup)
    if isinstance(markup, Mapping) and markup.get("inline_keyboard"):
        return {"inline_keyboard": markup["inline_keyboard"]}
    return None


def fits_card(buttons: list[tuple[str, str, bool]]) -> bool:
    return 0 < len(buttons) <= CARD_BUTTONS and not any(link for _, _, link in buttons)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def card_parts(text: str) -> tuple[str, str, bool]:
    """A card's title and secondary text for ``text``; True when the card cannot hold it
    all (then the whole text goes before it as a text message)."""
    lines = [line for line in text.strip().split("\n")]
    title = lines[0].strip() if lines else ""
    rest = "\n".join(lines[1:]).strip()
    whole = len(title) <= TITLE_MAX and len(rest) <= SUB_TITLE_MAX
    return clip(title or "Fieldbot", TITLE_MAX), clip(rest, SUB_TITLE_MAX), not whole


def card_of(text: str, buttons: list[tuple[str, str, bool]], task_id: str) -> dict[str, Any]:
    title, rest, _ = card_parts(text)
    card: dict[str, Any] = {
        "card_type": "button_interaction",
        "main_title": {"title": title},
        "task_id": task_id,
        "button_list": [
            {"text": clip(label, BUTTON_TEXT_MAX), "style": 1, "key": data}
            for label, data, _ in buttons
        ],
    }
    if rest:
        card["sub_title_text"] = rest
    return card


def numbered_text(text: str, buttons: list[tuple[str, str, bool]], hint: str) -> str:
    lines = [text.rstrip(), "", hint]
    for n, (label, target, link) in enumerate(buttons, 1):
        lines.append(f"{label}: {target}" if link else f"{n}. {label}")
    return "\n".join(lines)


def chunks(text: str, limit: int = TEXT_BYTES) -> list[str]:
    """``text`` in pieces of at most ``limit`` UTF-8 bytes, cut at line ends if possible."""
    out: list[str] = []
    piece = ""
    for line in text.split("\n"):
        candidate = f"{piece}\n{line}" if piece else line
        if len(candidate.encode()) <= limit:
            piece = candidate
            continue
        if piece:
            out.append(piece)
        while len(line.encode()) > limit:
            cut = limit // 3
            out.append(line[:cut])
            line = line[cut:]
        piece = line
    if piece or not out:
        out.append(piece)
    return out


class MemberWindow:
    """The messages sent to each member in the last minute and hour (the process's own
    clock): a send that would pass WeCom's limits waits until it may go."""

    MINUTE = (60.0, PER_MINUTE)
    HOUR = (3600.0, PER_HOUR)

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.sent: dict[str, deque[float]] = {}

    def delay(self, userid: str) -> float:
        """Seconds to wait before one more message to ``userid`` may go."""
        times = self.sent.get(userid)
        if not times:
            return 0.0
        now = self.clock()
        while times and now - times[0] >= self.HOUR[0]:
            times.popleft()
        wait = 0.0
        for span, limit in (self.MINUTE, self.HOUR):
            recent = [t for t in times if now - t < span]
            if len(recent) >= limit:
                wait = max(wait, recent[-limit] + span - now)
        return wait

    async def wait(self, userid: str) -> None:
        delay = self.delay(userid)
        if delay > 0:
            log.warning("a member's messages reach WeCom's limit; waiting %.0f s", delay)
            await asyncio.sleep(delay)
        self.sent.setdefault(userid, deque()).append(self.clock())
        if len(self.sent) > 20_000:  # forget the oldest member
            del self.sent[next(iter(self.sent))]


@dataclass
class Target:
    chat_id: int
    kind: str  # wecom.MEMBER or wecom.APPCHAT
    external_id: str


class WeComBridge(BaseRequest):
    """Answers python-telegram-bot's Bot API calls by calling WeCom."""

    def __init__(
        self,
        api: WeComAPI,
        *,
        media_dir: Path,
        clock: Callable[[], datetime],
        catalog: Catalog,
        lang: str,
    ) -> None:
        self.api = api
        self.media_dir = media_dir
        self.clock = clock
        self.catalog = catalog
        self.lang = lang
        self._db: Database | None = None
        self.window = MemberWindow()

    def attach(self, db: Database) -> None:
        self._db = db

    @property
    def db(self) -> Database:
        if self._db is None:
            raise RuntimeError("the WeCom bridge has no database yet")
        return self._db

    # --- BaseRequest ----------------------------------------------------------------

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float | None:
        return 10.0

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
        if "/file/bot" in url:
            return self._download(url)
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        files = request_data.multipart_data if request_data and request_data.contains_files else {}
        try:
            result = await self.call(api_method, params, files)
        except Refusal as refusal:
            body = {"ok": False, "error_code": refusal.code, "description": refusal.description}
            return refusal.code, json.dumps(body).encode()
        except WeComError as exc:
            return self._wecom_failure(api_method, exc)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def _wecom_failure(self, method: str, exc: WeComError) -> tuple[int, bytes]:
        """A WeCom error as the Bot API error the core knows how to treat: a rate limit or
        a busy WeCom as 429 (try later), refused credentials as 401 (the dispatcher
        pauses), an unknown member as 403 (unreachable), the rest as 400."""
        log.warning("WeCom refused %s: errcode %s", method, exc.errcode)
        if exc.bad_credentials:
            body = {"ok": False, "error_code": 401, "description": "Unauthorized: WeCom secret"}
            return 401, json.dumps(body).encode()
        if exc.rate_limited or exc.retryable:
            body = {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: WeCom's limit",
                "parameters": {"retry_after": 60},
            }
            return 429, json.dumps(body).encode()
        if exc.user_unknown:
            body = {"ok": False, "error_code": 403, "description": "Forbidden: unknown member"}
            return 403, json.dumps(body).encode()
        text = f"Bad Request: WeCom errcode {exc.errcode}"
        return 400, json.dumps({"ok": False, "error_code": 400, "description": text}).encode()

    # --- the calls -----------------------------------------------------------------

    async def call(self, method: str, p: dict[str, Any], files: Mapping[str, Any]) -> Any:
        if method == "getMe":
            return {
                **bot_user(),
                "can_join_groups": False,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        if method in _QUIET:
            return True
        if method == "answerCallbackQuery":
            await self._alert(str(p.get("callback_query_id") or ""), str(p.get("text") or ""))
            return True
        if method == "getFile":
            return await self._get_file(str(p.get("file_id") or ""))
        if method == "getChat":
            return chat_dict(int(p["chat_id"]))
        if method == "getUpdates":
            return []
        target = await self._target(p.get("chat_id"))
        if method == "sendMessage":
            return await self._send_text(target, str(p.get("text") or ""), p.get("reply_markup"))
        if method in ("editMessageText", "editMessageReplyMarkup", "editMessageCaption"):
            return await self._edit(target, method, p)
        if method in ("sendPhoto", "sendDocument", "sendVoice", "sendMediaGroup"):
            return await self._send_media(target, method, p, files)
        if method == "sendLocation":
            pin = f"📍 {float(p['latitude']):.5f}, {float(p['longitude']):.5f}"
            return await self._send_text(target, pin, None)
        raise Refusal(400, f"Bad Request: {method} has no WeCom form")

    async def _target(self, value: Any) -> Target:
        try:
            chat_id = int(value)
        except (TypeError, ValueError):
            raise Refusal(400, "Bad Request: chat not found") from None
        account = await wecom.account_by_id(self.db, chat_id)
        if account is None:
            raise Refusal(400, "Bad Request: chat not found")
        return Target(chat_id, account.kind, account.external_id)

    def _message(self, message_id: int, chat_id: int, text: str, markup: Any) -> dict[str, Any]:
        out: dict[str, Any] = {
            "message_id": message_id,
            "date": int(self.clock().timestamp()),
            "chat": chat_dict(chat_id),
            "from": bot_user(),
            "text": text or "·",
        }
        if markup:
            out["reply_markup"] = markup
        return out

    def _hint(self) -> str:
        return self.catalog.t(self.lang, "wecom.numbered_hint")

    async def _to_member(self, userid: str, body: dict[str, Any]) -> dict[str, Any]:
        """message/send to one member, within WeCom's per-member limits: the queue paces
        itself (one per ``member_interval_seconds``); this also holds back a reply that
        would be a member's 30th message within a minute, which WeCom would drop."""
        await self.window.wait(userid)
        return await self.api.send(userid, body)

    async def _deliver(self, target: Target, body: dict[str, Any]) -> dict[str, Any]:
        if target.kind == wecom.MEMBER:
            return await self._to_member(target.external_id, body)
        return await self.api.send_appchat(target.external_id, body)

    async def _text(self, target: Target, text: str) -> None:
        for piece in chunks(text):
            await self._deliver(target, {"msgtype": "text", "text": {"content": piece}})

    async def _send_text(self, target: Target, text: str, raw_markup: Any) -> dict[str, Any]:
        markup = inline_only(raw_markup)
        buttons = buttons_of(markup)
        now = self.clock()
        numbered = bool(buttons) and (target.kind == wecom.MEMBER and not fits_card(buttons))
        message_id = await wecom.add_shown(
            self.db, target.chat_id, text, markup, now, numbered=numbered
        )
        await self._show(target, message_id, text, buttons, numbered)
        return self._message(message_id, target.chat_id, text, markup)

    async def _show(
        self,
        target: Target,
        message_id: int,
        text: str,
        buttons: list[tuple[str, str, bool]],
        numbered: bool,
    ) -> None:
        """Put a message in front of its chat: text, a card, or numbered choices."""
        if not buttons:
            await self._text(target, text)
        elif numbered:
            await self._text(target, numbered_text(text, buttons, self._hint()))
        elif target.kind == wecom.MEMBER:
            await self._card(target.external_id, message_id, text, buttons)
        else:
            await self._text(target, text)  # the chat sees the notice; owners act on cards
            for userid in await self._owners(target.chat_id):
                await self._card(userid, message_id, text, buttons)

    async def _card(
        self, userid: str, message_id: int, text: str, buttons: list[tuple[str, str, bool]]
    ) -> None:
        cardable = [b for b in buttons if not b[2]][:CARD_BUTTONS]
        if len(cardable) < len(buttons):  # an app chat's owner: no numbered menu there
            log.warning(
                "a card for an app chat's owner lost %d button(s)", len(buttons) - len(cardable)
            )
        _, _, long = card_parts(text)
        if long:
            for piece in chunks(text):
                await self._to_member(userid, {"msgtype": "text", "text": {"content": piece}})
        task_id = wecom.new_task_id()
        answer = await self._to_member(
            userid, {"msgtype": "template_card", "template_card": card_of(text, cardable, task_id)}
        )
        code = answer.get("response_code") if isinstance(answer, Mapping) else None
        await wecom.add_task(self.db, task_id, message_id, userid, code, self.clock())

    async def _owners(self, chat_id: int) -> list[str]:
        """Who acts on the cards of an app chat: a team chat's leaders, the office chat's
        members; those bound through WeCom."""
        bound = await people.bound_chat(self.db, chat_id)
        if bound is None:
            return []
        if bound.kind == "team" and bound.team_id is not None:
            cadres = await people.team_leaders(self.db, bound.team_id)
        else:
            cadres = await people.cadres_where(self.db, "c.role = ?", (Role.OFFICE.value,))
        found = await wecom.members_of_cadres(self.db, [c.id for c in cadres if c.active])
        return list(found.values())

    async def _edit(self, target: Target, method: str, p: dict[str, Any]) -> dict[str, Any]:
        try:
            message_id = int(p["message_id"])
        except (KeyError, TypeError, ValueError):
            raise Refusal(400, "Bad Request: message to edit not found") from None
        before = await wecom.shown(self.db, message_id)
        if before is None or before.chat_id != target.chat_id:
            raise Refusal(400, "Bad Request: message to edit not found")
        text = before.text
        if method == "editMessageText":
            text = str(p.get("text") or "")
        elif method == "editMessageCaption":
            text = str(p.get("caption") or "")
        markup = inline_only(p.get("reply_markup"))
        if text == before.text and markup == before.markup:
            raise Refusal(400, "Bad Request: message is not modified")
        buttons = buttons_of(markup)
        numbered = bool(buttons) and target.kind == wecom.MEMBER and not fits_card(buttons)
        await wecom.update_shown(self.db, message_id, text, markup, numbered=numbered)
        tasks = await wecom.newest_tasks(self.db, message_id)
        if not tasks or numbered:
            await self._show(target, message_id, text, buttons, numbered)
        else:
            if target.kind == wecom.APPCHAT and text != before.text:
                await self._text(target, text)
            for t in tasks:
                await self._update_card(t, message_id, text, buttons)
        return self._message(message_id, target.chat_id, text, markup)

    async def _update_card(
        self, t: wecom.Task, message_id: int, text: str, buttons: list[tuple[str, str, bool]]
    ) -> None:
        """Show the new state on this member's card: in place while its response code is
        unspent and fresh, else as a new card."""
        now = self.clock()
        fresh = (
            t.response_code is not None and t.code_at is not None and now - t.code_at < CODE_LIFE
        )
        if fresh and buttons and not card_parts(text)[2]:
            assert t.response_code is not None
            await wecom.set_code(self.db, t.task_id, None, now)  # spent, whatever happens
            try:
                card = {"template_card": card_of(text, buttons, t.task_id)}
                await self.api.update_template_card([t.user_id], t.response_code, card)
                return
            except WeComError as exc:
                if not exc.response_code_spent:
                    raise
                log.info("a card's response code was spent; the new state goes as a new card")
        if buttons:
            await self._card(t.user_id, message_id, text, buttons)
        else:
            await self._to_member(t.user_id, {"msgtype": "text", "text": {"content": text}})

    async def _alert(self, query_id: str, text: str) -> None:
        """A press's answer: WeCom has no pop-up, so a text (if any) goes to the presser."""
        if not text:
            return
        userid = query_id.split(":", 2)[1] if query_id.count(":") >= 2 else ""
        if userid:
            await self._to_member(userid, {"msgtype": "text", "text": {"content": text}})

    # --- media ----------------------------------------------------------------------

    def cache_path(self, file_id: str) -> Path:
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in file_id)[:120]
        return self.media_dir / safe

    async def keep_media(self, media_id: str) -> None:
        """Fetch a member's media at once (its id expires in 3 days) into the cache."""
        path = self.cache_path(media_id)
        if path.exists():
            return
        data, _, _ = await self.api.get_media(media_id)
        self.media_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(path)

    async def _get_file(self, file_id: str) -> dict[str, Any]:
        path = self.cache_path(file_id)
        if not path.exists():
            try:
                await self.keep_media(file_id)
            except WeComError:
                raise Refusal(400, "Bad Request: invalid file_id") from None
        return {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_size": path.stat().st_size,
            "file_path": f"wecom/{path.name}",
        }

    def _download(self, url: str) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        path = self.media_dir / name
        if not name or not path.is_file():
            return 404, json.dumps(
                {"ok": False, "error_code": 404, "description": "Not Found"}
            ).encode()
        return 200, path.read_bytes()

    async def _media_bytes(
        self, value: Any, files: Mapping[str, Any], name: str = ""
    ) -> tuple[bytes, str]:
        """The bytes and file name of a photo/document parameter: an upload in this
        request (attached, or under the parameter's own name), or a file id of ours (a
        member's media, kept in the cache)."""
        if value is None and name in files:
            part = files[name]
            return bytes(part[1]), str(part[0] or name)
        ref = str(value.get("media") if isinstance(value, Mapping) else value)
        if ref.startswith("attach://"):
            name = ref.removeprefix("attach://")
            part = files.get(name)
            if part is None:
                raise Refusal(400, "Bad Request: the file is missing")
            return bytes(part[1]), str(part[0] or name)
        path = self.cache_path(ref)
        if not path.exists():
            try:
                await self.keep_media(ref)
            except WeComError:
                raise Refusal(400, "Bad Request: wrong file identifier") from None
        return path.read_bytes(), f"{path.name}.jpg"

    async def _send_media(
        self, target: Target, method: str, p: dict[str, Any], files: Mapping[str, Any]
    ) -> Any:
        """Photos, a document or a voice note: uploaded, then sent as image or file; a
        caption follows as text (with the buttons, if any, as a card or menu)."""
        if method == "sendMediaGroup":
            items = p.get("media") or []
            if isinstance(items, str):
                items = json.loads(items)
            out = []
            for item in items:
                data, name = await self._media_bytes(item, files)
                await self._upload_and_send(target, "image", name, data)
                caption = str(item.get("caption") or "")
                if caption:
                    await self._text(target, caption)
                message_id = await wecom.add_shown(
                    self.db, target.chat_id, caption, None, self.clock()
                )
                out.append(self._message(message_id, target.chat_id, caption, None))
            return out
        names = {"sendPhoto": "photo", "sendDocument": "document", "sendVoice": "voice"}
        data, name = await self._media_bytes(p.get(names[method]), files, names[method])
        kind = "image" if method == "sendPhoto" else "file"
        await self._upload_and_send(target, kind, name, data)
        caption = str(p.get("caption") or "")
        markup = inline_only(p.get("reply_markup"))
        if buttons_of(markup):
            return await self._send_text(target, caption or "·", markup)
        if caption:
            await self._text(target, caption)
        message_id = await wecom.add_shown(self.db, target.chat_id, caption, None, self.clock())
        return self._message(message_id, target.chat_id, caption, None)

    async def _upload_and_send(self, target: Target, kind: str, name: str, data: bytes) -> None:
        media_id = await self.api.upload_media(kind, name, data)
        await self._deliver(target, {"msgtype": kind, kind: {"media_id": media_id}})
