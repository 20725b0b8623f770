"""A fake WeCom (企业微信) over real HTTP: the server API the bot calls, and the members
who post messages and button presses to the bot's callback URL.

Server side, at ``FakeWeCom.base_url`` (``http://127.0.0.1:PORT``; the bot's
``[wecom] api_base_url``), the calls of ``bot/wecom/api.py`` answer as WeCom answers
them, with WeCom's error codes:

- ``gettoken``: a token valid 7200 s of the fake clock (42001 after, 40014 unknown,
  40001 wrong secret, 40013 wrong corp id); :meth:`FakeWeCom.expire_tokens` ages them;
- ``message/send``: text and markdown (2048 bytes: 45002; empty: 44004), image, voice,
  video, file (a live media id, else 40007), ``template_card`` (``button_interaction``
  needs a unique ``task_id`` and 1 to 6 buttons with distinct keys; a card with buttons
  needs a callback URL: 43012) and answers ``msgid`` plus a ``response_code`` for a
  card; unknown recipients are listed in ``invaliduser`` (all unknown: 81013);
- per member, 30 messages a minute and 1000 an hour: the excess is answered errcode 0
  and silently dropped, as WeCom does (:attr:`FakeWeCom.drops` records each one);
- ``appchat/create`` (2+ known members), ``appchat/send`` (text, markdown, media; a
  template card is refused: 40008; an unknown chat: 40050);
- ``message/update_template_card``: each response code updates ONCE, within 72 h of its
  issue on the fake clock, else 42022 (used / expired / unknown, the errmsg says which);
  ``{"button": {"replace_name": ...}}`` greys the buttons out, ``{"template_card": ...}``
  replaces the card;
- ``media/upload`` / ``media/get``: media ids live 3 days of the fake clock (40007
  after); the members' own photos and voices are media too, as in WeCom;
- ``user/getuserid`` (the directory: userid <-> mobile; 46004 for a stranger),
  ``menu/create`` (1-3 buttons, 1-5 sub-buttons, WeCom's length limits).

:meth:`FakeWeCom.fail_next` makes the next call(s) of a method answer an error (45009,
-1, 40014 ...). Every call is kept in :attr:`FakeWeCom.calls` without its token.

User side (async, for the tests): :meth:`text`, :meth:`image`, :meth:`voice`,
:meth:`location`, :meth:`file`, :meth:`press` (a card's button: a fresh ResponseCode
each press; nothing is sent for a card the member does not have or whose buttons were
greyed out, as the client would not let them press), :meth:`menu_click`, :meth:`enter`.
Each builds WeCom's XML, encrypts and signs it with the app's Token and EncodingAESKey,
POSTs it to the callback URL and, like WeCom, RETRIES up to 3 times when the answer is
not a 200 within ``callback_timeout`` (5 s; the delay between tries is ``retry_delay``,
0 by default). A non-empty answer is decrypted as a passive reply and lands in the
member's inbox. :class:`Forge` signs or encrypts wrongly on purpose (bad signature,
another corp id, another agent id, other keys, a stale timestamp); :meth:`replay` posts
a delivered callback again byte for byte; :meth:`verify_url` is the admin saving the
callback settings (the GET with ``echostr``).

Read what members and chats got with :meth:`inbox`, :meth:`cards`,
:meth:`appchat_messages`. The clock is the fake's own (:meth:`advance`,
:meth:`set_time`) or any ``clock()`` returning epoch seconds (a test's fake clock).

Run it on its own to point a bot at it by hand::

    python -m tests.fakewecom --port 8082 --callback http://127.0.0.1:8443/wecom
"""

from __future__ import annotations

import argparse
import asyncio
import email.parser
import email.policy
import itertools
import json
import re
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

import httpx

from bot.wecom.crypto import CryptoError, WeComCrypto
from bot.wecom.inbound import InboundError, safe_xml

CORP_ID = "ww0fieldbot0000test"
SECRET = "fake-app-secret-0123456789abcdefghijklmnopq"
AGENT_ID = 1000002
CALLBACK_TOKEN = "fieldbotCallbackToken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters

TOKEN_LIFE = 7200.0
MEDIA_LIFE = 3 * 86400.0
CODE_LIFE = 72 * 3600.0
PER_MINUTE = 30
PER_HOUR = 1000
TEXT_BYTES = 2048
CARD_BUTTONS = 6
CALLBACK_TIMEOUT = 5.0
CALLBACK_RETRIES = 3
MAX_BODY = 25 * 1024 * 1024
MEDIA_LIMITS = {"image": 10 << 20, "voice": 2 << 20, "video": 10 << 20, "file": 20 << 20}
# A Monday morning in Shanghai, like the Telegram suite's clock.
START = datetime(2026, 11, 16, 1, 0, tzinfo=UTC).timestamp()

_TASK_ID = re.compile(r"[A-Za-z0-9_\-@]{1,128}")
_CHAT_ID = re.compile(r"[0-9A-Za-z]{1,32}")
_CONTENT_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".amr": "voice/amr",
    ".mp4": "video/mp4",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".pdf": "application/pdf",
}


class FakeWeComError(Exception):
    """A test asked the fake for something WeCom's client could not do."""


class _ApiError(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errmsg)
        self.errcode = errcode
        self.errmsg = errmsg


@dataclass
class Member:
    userid: str
    name: str
    mobile: str | None = None


@dataclass
class Received:
    """One message a member (or an app chat) got from the app."""

    msgid: str
    msgtype: str
    body: dict[str, Any]  # the msgtype's part: {"content": ...}, {"media_id": ...}, the card
    at: float
    passive: bool = False  # a passive reply to a callback, not a message/send

    @property
    def text(self) -> str:
        return str(self.body.get("content", ""))


@dataclass
class Card:
    """A template card as one member sees it now."""

    userid: str
    task_id: str
    msgid: str
    content: dict[str, Any]
    buttons_enabled: bool
    replace_name: str | None = None
    versions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def keys(self) -> list[str]:
        return [str(b.get("key")) for b in self.content.get("button_list") or []]

    @property
    def title(self) -> str:
        return str((self.content.get("main_title") or {}).get("title", ""))


@dataclass
class ResponseCode:
    code: str
    task_id: str
    userids: frozenset[str]
    issued_at: float
    used: bool = False


@dataclass
class Media:
    media_id: str
    kind: str
    filename: str
    data: bytes
    content_type: str
    created_at: float


@dataclass
class Drop:
    """A message WeCom accepted and never delivered (a per-member limit)."""

    userid: str
    msgtype: str
    at: float
    limit: str  # "minute" or "hour"


@dataclass
class ApiCall:
    method: str
    query: dict[str, str]  # without the access token
    body: Any
    errcode: int


@dataclass
class AppChat:
    chatid: str
    name: str
    owner: str
    members: list[str]
    messages: list[Received] = field(default_factory=list)


@dataclass(frozen=True)
class Forge:
    """How a user-side callback is made wrong on purpose."""

    bad_signature: bool = False
    corp_id: str | None = None  # encrypt for (and address) another corp
    agent_id: int | None = None  # claim another app
    token: str | None = None  # sign with another Token
    aes_key: str | None = None  # encrypt with another EncodingAESKey
    timestamp: int | None = None  # a stale or future timestamp


@dataclass
class Delivery:
    """One callback as the fake posted it, with every try's outcome."""

    plain: bytes
    query: dict[str, str]
    body: bytes
    statuses: list[int | None] = field(default_factory=list)  # None: no answer in time
    reply: bytes | None = None  # the decrypted passive reply, if any
    reply_error: str | None = None

    @property
    def attempts(self) -> int:
        return len(self.statuses)

    @property
    def ok(self) -> bool:
        return bool(self.statuses) and self.statuses[-1] == 200


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _utf8_len(value: Any) -> int:
    return len(str(value).encode("utf-8"))


class FakeWeCom:
    """WeCom's server API and its members, for one corp and one self-built app."""

    def __init__(
        self,
        *,
        corp_id: str = CORP_ID,
        secret: str = SECRET,
        agent_id: int = AGENT_ID,
        token: str = CALLBACK_TOKEN,
        aes_key: str = AES_KEY,
        callback_url: str | None = None,
        clock: Callable[[], float] | None = None,
        retry_delay: float = 0.0,
        callback_timeout: float = CALLBACK_TIMEOUT,
        retries: int = CALLBACK_RETRIES,
        port: int = 0,
    ) -> None:
        self.corp_id = corp_id
        self.secret = secret
        self.agent_id = agent_id
        self.token = token
        self.aes_key = aes_key
        self.crypto = WeComCrypto(token, aes_key, corp_id)
        self.callback_url = callback_url
        self._clock = clock
        self._now = START
        self.retry_delay = retry_delay
        self.callback_timeout = callback_timeout
        self.retries = retries
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._msg_ids = itertools.count(7_300_000_000_000_000_001)
        self.members: dict[str, Member] = {}
        self.tokens: dict[str, float] = {}
        self.token_fetches = 0
        self.calls: list[ApiCall] = []
        self._inbox: dict[str, list[Received]] = {}
        self._cards: dict[tuple[str, str], Card] = {}
        self._task_ids: set[str] = set()
        self.codes: dict[str, ResponseCode] = {}
        self.media: dict[str, Media] = {}
        self.chats: dict[str, AppChat] = {}
        self.drops: list[Drop] = []
        self._sent_at: dict[str, list[float]] = {}
        self.menu: dict[str, Any] | None = None
        self.deliveries: list[Delivery] = []
        self._failures: dict[str, list[tuple[int, str]]] = {}
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- the server -------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeWeCom:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeWeCom:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def transport(self) -> httpx.MockTransport:
        """The same API in-process, for an ``httpx.AsyncClient(transport=...)``."""

        def handler(request: httpx.Request) -> httpx.Response:
            path = request.url.path
            method = path.split("/cgi-bin/", 1)[1] if "/cgi-bin/" in path else path
            query = {k: v for k, v in request.url.params.items()}
            status, headers, body = self.handle(
                request.method,
                method,
                query,
                request.content,
                request.headers.get("content-type", ""),
            )
            return httpx.Response(status, headers=headers, content=body)

        return httpx.MockTransport(handler)

    # -- the clock --------------------------------------------------------------------

    def now(self) -> float:
        return float(self._clock()) if self._clock is not None else self._now

    def advance(self, seconds: float) -> None:
        if self._clock is not None:
            raise FakeWeComError("this fake follows the test's clock: move that one")
        self._now += seconds

    def set_time(self, epoch: float) -> None:
        if self._clock is not None:
            raise FakeWeComError("this fake follows the test's clock: move that one")
        self._now = epoch

    # -- the directory and what members got -------------------------------------------

    def add_member(self, userid: str, mobile: str | None = None, name: str = "") -> Member:
        with self._lock:
            member = Member(userid, name or userid, mobile)
            self.members[userid] = member
            return member

    def inbox(self, userid: str) -> list[Received]:
        with self._lock:
            return list(self._inbox.get(userid, []))

    def texts(self, userid: str) -> list[str]:
        """The text and markdown contents a member got, oldest first."""
        return [r.text for r in self.inbox(userid) if r.msgtype in ("text", "markdown")]

    def cards(self, userid: str) -> list[Card]:
        with self._lock:
            return [c for (u, _), c in self._cards.items() if u == userid]

    def card(self, userid: str, task_id: str) -> Card | None:
        with self._lock:
            return self._cards.get((userid, task_id))

    def appchat_messages(self, chatid: str) -> list[Received]:
        with self._lock:
            chat = self.chats.get(chatid)
            return list(chat.messages) if chat else []

    def api_calls(self, method: str | None = None) -> list[ApiCall]:
        with self._lock:
            return [c for c in self.calls if method is None or c.method == method]

    def expire_tokens(self) -> None:
        """Every issued access token is past its expiry (the next call answers 42001)."""
        with self._lock:
            for token in self.tokens:
                self.tokens[token] = self.now() - 1

    def fail_next(self, method: str, errcode: int, errmsg: str = "", times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer ``errcode``."""
        with self._lock:
            self._failures.setdefault(method, []).extend(
                [(errcode, errmsg or f"forced error {errcode}")] * times
            )

    def add_media(
        self, kind: str, data: bytes, filename: str, created_at: float | None = None
    ) -> str:
        """A media id as if uploaded (a member's photo reaches the app this way)."""
        with self._lock:
            media_id = f"{kind[:1]}{next(self._ids)}_{secrets.token_hex(8)}"
            self.media[media_id] = Media(
                media_id,
                kind,
                filename,
                data,
                _content_type(filename, kind),
                self.now() if created_at is None else created_at,
            )
            return media_id

    # -- the API ----------------------------------------------------------------------

    def handle(
        self, http_method: str, method: str, query: dict[str, str], body: bytes, ctype: str
    ) -> tuple[int, dict[str, str], bytes]:
        """One API call: (HTTP status, headers, body)."""
        with self._lock:
            public_query = {k: v for k, v in query.items() if k not in ("access_token",)}
            if method == "gettoken":
                public_query.pop("corpsecret", None)
            parsed: Any = None
            try:
                handler = _METHODS.get(method)
                if handler is None:
                    return 404, {"Content-Type": "text/plain"}, b"not found"
                if method != "gettoken":
                    self._check_token(query.get("access_token"))
                forced = self._failures.get(method)
                if forced:
                    code, msg = forced.pop(0)
                    raise _ApiError(code, msg)
                if ctype.startswith("multipart/form-data"):
                    parsed = _multipart(ctype, body)
                elif body:
                    try:
                        parsed = json.loads(body)
                    except (json.JSONDecodeError, UnicodeDecodeError):
                        raise _ApiError(47001, "data format error") from None
                    if not isinstance(parsed, dict):
                        raise _ApiError(47001, "data format error")
                else:
                    parsed = {}
                result = handler(self, query, parsed)
            except _ApiError as exc:
                self.calls.append(ApiCall(method, public_query, _summary(parsed), exc.errcode))
                return _json({"errcode": exc.errcode, "errmsg": exc.errmsg})
            self.calls.append(ApiCall(method, public_query, _summary(parsed), 0))
            if isinstance(result, tuple):
                return result
            return _json({"errcode": 0, "errmsg": "ok", **result})

    def _check_token(self, token: str | None) -> None:
        if not token:
            raise _ApiError(41001, "access_token missing")
        expires = self.tokens.get(token)
        if expires is None:
            raise _ApiError(40014, "invalid access_token")
        if self.now() >= expires:
            raise _ApiError(42001, "access_token expired")

    def _check_agent(self, agentid: Any) -> None:
        if agentid is None or agentid == "":
            raise _ApiError(41011, "missing agentid")
        try:
            value = int(agentid)
        except (TypeError, ValueError):
            raise _ApiError(40056, "invalid agentid") from None
        if value != self.agent_id:
            raise _ApiError(40056, "invalid agentid")

    def _live_media(self, media_id: Any, kind: str | None = None) -> Media:
        if not media_id:
            raise _ApiError(41006, "media_id missing")
        media = self.media.get(str(media_id))
        if media is None or self.now() >= media.created_at + MEDIA_LIFE:
            raise _ApiError(40007, "invalid media_id")
        if kind is not None and media.kind != kind:
            raise _ApiError(40007, f"invalid media_id: not a {kind}")
        return media

    def _content_part(self, msgtype: str, body: dict[str, Any], *, chat: bool) -> dict[str, Any]:
        """The validated part of a message for its msgtype."""
        part = body.get(msgtype)
        if not isinstance(part, dict):
            raise _ApiError(40058, f"{msgtype} missing")
        if msgtype in ("text", "markdown"):
            content = part.get("content")
            if not isinstance(content, str) or not content:
                raise _ApiError(44004, "empty content")
            if _utf8_len(content) > TEXT_BYTES:
                raise _ApiError(45002, "content size out of limit")
            return {"content": content}
        if msgtype in ("image", "voice", "video", "file"):
            self._live_media(part.get("media_id"), msgtype)
            return dict(part)
        if msgtype == "template_card":
            if chat:
                raise _ApiError(40008, "invalid message type: template_card in appchat")
            return self._valid_card(part)
        raise _ApiError(40008, "invalid message type")

    def _valid_card(self, card: dict[str, Any], *, new_task: bool = True) -> dict[str, Any]:
        card_type = card.get("card_type")
        if card_type not in (
            "text_notice",
            "news_notice",
            "button_interaction",
            "vote_interaction",
            "multiple_interaction",
        ):
            raise _ApiError(40058, "invalid card_type")
        title = (card.get("main_title") or {}).get("title")
        if not title and not card.get("sub_title_text"):
            raise _ApiError(40058, "main_title.title or sub_title_text required")
        if title and _utf8_len(title) > 3 * 36:
            raise _ApiError(40058, "main_title.title too long")
        if card_type == "button_interaction":
            task_id = card.get("task_id")
            if not isinstance(task_id, str) or not _TASK_ID.fullmatch(task_id):
                raise _ApiError(42014, "invalid task_id")
            if new_task and task_id in self._task_ids:
                raise _ApiError(42014, "task_id already used by this app")
            buttons = card.get("button_list")
            if not isinstance(buttons, list) or not 1 <= len(buttons) <= CARD_BUTTONS:
                raise _ApiError(40058, f"button_list must hold 1 to {CARD_BUTTONS} buttons")
            keys: set[str] = set()
            for button in buttons:
                if not isinstance(button, dict) or not button.get("text"):
                    raise _ApiError(42020, "button text missing")
                key = button.get("key")
                if not isinstance(key, str) or not key:
                    raise _ApiError(42019, "button key missing")
                if _utf8_len(key) > 1024:
                    raise _ApiError(42018, "button key too long")
                if key in keys:
                    raise _ApiError(42018, "button key repeated")
                keys.add(key)
        return dict(card)

    def _deliver(self, userid: str, msgtype: str, part: dict[str, Any], msgid: str) -> bool:
        """Into the member's inbox, unless a per-member limit drops it."""
        now = self.now()
        times = [t for t in self._sent_at.get(userid, []) if now - t < 3600]
        self._sent_at[userid] = times
        limit = None
        if sum(1 for t in times if now - t < 60) >= PER_MINUTE:
            limit = "minute"
        elif len(times) >= PER_HOUR:
            limit = "hour"
        if limit is not None:
            self.drops.append(Drop(userid, msgtype, now, limit))
            return False
        times.append(now)
        self._inbox.setdefault(userid, []).append(Received(msgid, msgtype, part, now))
        return True

    def _recipients(self, touser: Any) -> tuple[list[str], list[str]]:
        if not isinstance(touser, str) or not touser:
            raise _ApiError(81012, "touser, toparty and totag all empty")
        names = touser.split("|")
        if names == ["@all"]:
            return list(self.members), []
        good = [u for u in names if u in self.members]
        bad = [u for u in names if u not in self.members]
        if not good:
            raise _ApiError(81013, "user & party & tag all invalid")
        return good, bad

    # -- the user side ----------------------------------------------------------------

    def _message_xml(
        self, userid: str, msgtype: str, parts: list[tuple[str, str | int | float]], forge: Forge
    ) -> bytes:
        corp = forge.corp_id or self.corp_id
        agent = forge.agent_id if forge.agent_id is not None else self.agent_id
        created = forge.timestamp if forge.timestamp is not None else int(self.now())
        out = [
            f"<ToUserName>{_cdata(corp)}</ToUserName>",
            f"<FromUserName>{_cdata(userid)}</FromUserName>",
            f"<CreateTime>{created}</CreateTime>",
            f"<MsgType>{_cdata(msgtype)}</MsgType>",
        ]
        for name, value in parts:
            text = _cdata(value) if isinstance(value, str) else escape(str(value))
            out.append(f"<{name}>{text}</{name}>")
        out.append(f"<AgentID>{agent}</AgentID>")
        return ("<xml>" + "".join(out) + "</xml>").encode("utf-8")

    def _member(self, userid: str) -> None:
        if userid not in self.members:
            raise FakeWeComError(f"{userid!r} is not in the directory (add_member first)")

    async def text(self, userid: str, content: str, forge: Forge | None = None) -> Delivery:
        self._member(userid)
        plain = self._message_xml(
            userid, "text", [("Content", content), ("MsgId", self._next_msg_id())], forge or Forge()
        )
        return await self.post(plain, forge)

    async def image(
        self, userid: str, data: bytes, filename: str = "photo.jpg", forge: Forge | None = None
    ) -> Delivery:
        self._member(userid)
        media_id = self.add_media("image", data, filename)
        plain = self._message_xml(
            userid,
            "image",
            [
                ("PicUrl", f"{self.base_url}/pic/{media_id}"),
                ("MediaId", media_id),
                ("MsgId", self._next_msg_id()),
            ],
            forge or Forge(),
        )
        return await self.post(plain, forge)

    async def voice(
        self, userid: str, data: bytes, fmt: str = "amr", forge: Forge | None = None
    ) -> Delivery:
        self._member(userid)
        media_id = self.add_media("voice", data, f"voice.{fmt}")
        plain = self._message_xml(
            userid,
            "voice",
            [("MediaId", media_id), ("Format", fmt), ("MsgId", self._next_msg_id())],
            forge or Forge(),
        )
        return await self.post(plain, forge)

    async def file(
        self, userid: str, data: bytes, filename: str, forge: Forge | None = None
    ) -> Delivery:
        self._member(userid)
        media_id = self.add_media("file", data, filename)
        plain = self._message_xml(
            userid,
            "file",
            [("MediaId", media_id), ("Title", filename), ("MsgId", self._next_msg_id())],
            forge or Forge(),
        )
        return await self.post(plain, forge)

    async def location(
        self,
        userid: str,
        latitude: float,
        longitude: float,
        label: str = "",
        forge: Forge | None = None,
    ) -> Delivery:
        self._member(userid)
        plain = self._message_xml(
            userid,
            "location",
            [
                ("Location_X", latitude),
                ("Location_Y", longitude),
                ("Scale", 15),
                ("Label", label),
                ("MsgId", self._next_msg_id()),
                ("AppType", "wxwork"),
            ],
            forge or Forge(),
        )
        return await self.post(plain, forge)

    async def press(
        self, userid: str, task_id: str, key: str, forge: Forge | None = None
    ) -> Delivery | None:
        """The member presses a card's button. None: WeCom's client would not let them."""
        with self._lock:
            card = self._cards.get((userid, task_id))
            if card is None or not card.buttons_enabled or key not in card.keys:
                return None
            code = self._issue_code(task_id, frozenset({userid}))
            plain = self._message_xml(
                userid,
                "event",
                [
                    ("Event", "template_card_event"),
                    ("EventKey", key),
                    ("TaskId", task_id),
                    ("CardType", str(card.content.get("card_type", "button_interaction"))),
                    ("ResponseCode", code),
                ],
                forge or Forge(),
            )
        return await self.post(plain, forge)

    async def menu_click(self, userid: str, key: str, forge: Forge | None = None) -> Delivery:
        self._member(userid)
        if key not in _menu_keys(self.menu):
            raise FakeWeComError(f"the app's menu has no key {key!r}")
        plain = self._message_xml(
            userid, "event", [("Event", "click"), ("EventKey", key)], forge or Forge()
        )
        return await self.post(plain, forge)

    async def enter(self, userid: str, forge: Forge | None = None) -> Delivery:
        """The member opens the app (enter_agent)."""
        self._member(userid)
        plain = self._message_xml(
            userid, "event", [("Event", "enter_agent"), ("EventKey", "")], forge or Forge()
        )
        return await self.post(plain, forge)

    def _next_msg_id(self) -> str:
        return str(next(self._msg_ids))

    def _issue_code(self, task_id: str, userids: frozenset[str]) -> str:
        code = f"rc{next(self._ids)}_{secrets.token_hex(12)}"
        self.codes[code] = ResponseCode(code, task_id, userids, self.now())
        return code

    def seal(self, plain: bytes, forge: Forge | None = None) -> tuple[dict[str, str], bytes]:
        """(query, body) of the POST WeCom makes for ``plain``."""
        forge = forge or Forge()
        crypto = self.crypto
        if forge.corp_id or forge.token or forge.aes_key:
            crypto = WeComCrypto(
                forge.token or self.token,
                forge.aes_key or self.aes_key,
                forge.corp_id or self.corp_id,
            )
        timestamp = str(forge.timestamp if forge.timestamp is not None else int(self.now()))
        nonce = str(secrets.randbelow(10**10))
        agent = forge.agent_id if forge.agent_id is not None else self.agent_id
        signature, body = crypto.encrypt_post(plain, timestamp, nonce, agent)
        if forge.bad_signature:
            signature = ("0" if signature[0] != "0" else "1") + signature[1:]
        query = {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}
        return query, body

    async def post(self, plain: bytes, forge: Forge | None = None) -> Delivery:
        """Encrypt, sign and POST ``plain`` to the callback URL, retrying like WeCom."""
        query, body = self.seal(plain, forge)
        delivery = Delivery(plain=plain, query=query, body=body)
        await self._send(delivery)
        return delivery

    async def replay(self, delivery: Delivery) -> Delivery:
        """The same request again, byte for byte (a retry, or an attacker's replay)."""
        again = Delivery(plain=delivery.plain, query=dict(delivery.query), body=delivery.body)
        await self._send(again)
        return again

    async def post_raw(
        self, query: dict[str, str], body: bytes, method: str = "POST"
    ) -> tuple[int, bytes]:
        """One request as given, no retry: for hostile input."""
        if not self.callback_url:
            raise FakeWeComError("no callback URL set")
        async with httpx.AsyncClient(timeout=self.callback_timeout) as client:
            response = await client.request(method, self.callback_url, params=query, content=body)
            return response.status_code, response.content

    async def verify_url(self, forge: Forge | None = None) -> tuple[int, bytes, bytes]:
        """The admin saves the callback settings: (status, answer, the expected echo)."""
        if not self.callback_url:
            raise FakeWeComError("no callback URL set")
        forge = forge or Forge()
        echo = str(secrets.randbelow(10**19)).encode()
        crypto = self.crypto
        if forge.corp_id or forge.token or forge.aes_key:
            crypto = WeComCrypto(
                forge.token or self.token,
                forge.aes_key or self.aes_key,
                forge.corp_id or self.corp_id,
            )
        echostr = crypto.encrypt(echo)
        timestamp = str(int(self.now()))
        nonce = str(secrets.randbelow(10**10))
        signature = crypto.signature(timestamp, nonce, echostr)
        if forge.bad_signature:
            signature = ("0" if signature[0] != "0" else "1") + signature[1:]
        query = {
            "msg_signature": signature,
            "timestamp": timestamp,
            "nonce": nonce,
            "echostr": echostr,
        }
        async with httpx.AsyncClient(timeout=self.callback_timeout) as client:
            response = await client.get(self.callback_url, params=query)
            return response.status_code, response.content, echo

    async def _send(self, delivery: Delivery) -> None:
        if not self.callback_url:
            raise FakeWeComError("no callback URL set")
        with self._lock:
            self.deliveries.append(delivery)
        async with httpx.AsyncClient(timeout=self.callback_timeout) as client:
            for attempt in range(1 + self.retries):
                if attempt:
                    await asyncio.sleep(self.retry_delay)
                try:
                    response = await client.post(
                        self.callback_url,
                        params=delivery.query,
                        content=delivery.body,
                        headers={"Content-Type": "text/xml"},
                    )
                except httpx.HTTPError:
                    delivery.statuses.append(None)
                    continue
                delivery.statuses.append(response.status_code)
                if response.status_code == 200:
                    self._passive_reply(delivery, response.content)
                    return

    def _passive_reply(self, delivery: Delivery, answer: bytes) -> None:
        """A non-empty answer is an encrypted passive reply, shown to the member."""
        if not answer.strip() or answer.strip() == b"success":
            return
        try:
            plain = self.crypto.decrypt_reply(answer)
            root = safe_xml(plain)
        except (CryptoError, InboundError) as exc:
            delivery.reply_error = str(exc)
            return
        delivery.reply = plain
        userid = root.findtext("ToUserName") or ""
        msgtype = root.findtext("MsgType") or ""
        part: dict[str, Any] = {}
        if msgtype == "text":
            part = {"content": root.findtext("Content") or ""}
        elif msgtype in ("image", "voice", "video"):
            part = {"media_id": root.findtext(f"{msgtype.title()}/MediaId") or ""}
        with self._lock:
            if userid in self.members:
                msgid = f"passive{next(self._ids)}"
                received = Received(msgid, msgtype, part, self.now(), passive=True)
                self._inbox.setdefault(userid, []).append(received)


# -- the API methods ----------------------------------------------------------------------


def _gettoken(fake: FakeWeCom, query: dict[str, str], body: Any) -> dict[str, Any]:
    if query.get("corpid") != fake.corp_id:
        raise _ApiError(40013, "invalid corpid")
    if query.get("corpsecret") != fake.secret:
        raise _ApiError(40001, "invalid credential")
    token = secrets.token_urlsafe(48)
    fake.tokens[token] = fake.now() + TOKEN_LIFE
    fake.token_fetches += 1
    return {"access_token": token, "expires_in": int(TOKEN_LIFE)}


def _message_send(fake: FakeWeCom, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    fake._check_agent(body.get("agentid"))
    msgtype = body.get("msgtype")
    if not isinstance(msgtype, str) or not msgtype:
        raise _ApiError(40008, "invalid message type")
    good, bad = fake._recipients(body.get("touser"))
    part = fake._content_part(msgtype, body, chat=False)
    msgid = f"msg{next(fake._ids)}_{secrets.token_hex(6)}"
    answer: dict[str, Any] = {"invaliduser": "|".join(bad), "msgid": msgid}
    if msgtype == "template_card":
        has_buttons = part.get("card_type") in (
            "button_interaction",
            "vote_interaction",
            "multiple_interaction",
        )
        if has_buttons and not fake.callback_url:
            raise _ApiError(43012, "the app has no callback URL")
        task_id = str(part.get("task_id") or f"auto{next(fake._ids)}")
        fake._task_ids.add(task_id)
        for userid in good:
            if fake._deliver(userid, msgtype, part, msgid):
                fake._cards[(userid, task_id)] = Card(
                    userid, task_id, msgid, part, has_buttons, versions=[part]
                )
        if has_buttons:
            answer["response_code"] = fake._issue_code(task_id, frozenset(good))
        return answer
    for userid in good:
        fake._deliver(userid, msgtype, part, msgid)
    return answer


def _update_card(fake: FakeWeCom, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    fake._check_agent(body.get("agentid"))
    code = body.get("response_code")
    if not isinstance(code, str) or not code:
        raise _ApiError(40058, "response_code missing")
    issued = fake.codes.get(code)
    if issued is None:
        raise _ApiError(42022, "invalid response_code")
    if issued.used:
        raise _ApiError(42022, "response_code already used")
    if fake.now() >= issued.issued_at + CODE_LIFE:
        raise _ApiError(42022, "response_code expired")
    userids = body.get("userids")
    if body.get("atall"):
        userids = sorted(issued.userids)
    if not isinstance(userids, list) or not userids:
        raise _ApiError(81012, "userids missing")
    button = body.get("button")
    new_card = body.get("template_card")
    if isinstance(button, dict) and button.get("replace_name"):
        change: dict[str, Any] | None = None
    elif isinstance(new_card, dict):
        change = fake._valid_card(new_card, new_task=False)
    else:
        raise _ApiError(40058, "button.replace_name or template_card required")
    issued.used = True
    invalid = []
    for userid in userids:
        card = fake._cards.get((str(userid), issued.task_id))
        if card is None or userid not in issued.userids:
            invalid.append(str(userid))
            continue
        if change is None:
            card.buttons_enabled = False
            card.replace_name = str(button["replace_name"]) if isinstance(button, dict) else None
            card.versions.append({"replace_name": card.replace_name})
        else:
            card.content = change
            card.buttons_enabled = bool(change.get("button_list"))
            card.replace_name = None
            card.versions.append(change)
    return {"invaliduser": invalid}


def _appchat_create(fake: FakeWeCom, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    userlist = body.get("userlist")
    if not isinstance(userlist, list) or len(userlist) < 2 or len(userlist) > 2000:
        raise _ApiError(40035, "userlist must hold 2 to 2000 members")
    unknown = [u for u in userlist if u not in fake.members]
    if unknown:
        raise _ApiError(40003, f"invalid userid {unknown[0]}")
    owner = body.get("owner") or userlist[0]
    if owner not in userlist:
        raise _ApiError(40003, "owner not in userlist")
    name = str(body.get("name") or "")
    if _utf8_len(name) > 150:
        raise _ApiError(40058, "name too long")
    chatid = body.get("chatid")
    if chatid is not None:
        if not isinstance(chatid, str) or not _CHAT_ID.fullmatch(chatid):
            raise _ApiError(86001, "invalid chatid")
        if chatid in fake.chats:
            raise _ApiError(86215, "chatid exists")
    else:
        chatid = f"chat{next(fake._ids)}{secrets.token_hex(4)}"
    fake.chats[chatid] = AppChat(chatid, name, str(owner), [str(u) for u in userlist])
    return {"chatid": chatid}


def _appchat_send(fake: FakeWeCom, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    chat = fake.chats.get(str(body.get("chatid") or ""))
    if chat is None:
        raise _ApiError(40050, "chatid not found")
    msgtype = body.get("msgtype")
    if not isinstance(msgtype, str) or not msgtype:
        raise _ApiError(40008, "invalid message type")
    part = fake._content_part(msgtype, body, chat=True)
    chat.messages.append(Received(f"chatmsg{next(fake._ids)}", msgtype, part, fake.now()))
    return {}


def _media_upload(fake: FakeWeCom, query: dict[str, str], body: Any) -> dict[str, Any]:
    kind = query.get("type", "")
    if kind not in MEDIA_LIMITS:
        raise _ApiError(40005, "invalid media type")
    files = body.get("files", {}) if isinstance(body, dict) else {}
    upload = files.get("media")
    if upload is None:
        raise _ApiError(41006, "media missing")
    filename, data = upload
    if not data:
        raise _ApiError(44001, "empty media data")
    if len(data) < 5 or len(data) > MEDIA_LIMITS[kind]:
        raise _ApiError(40006 if kind != "image" else 40009, "invalid file size")
    media_id = fake.add_media(kind, data, filename or "file")
    return {"type": kind, "media_id": media_id, "created_at": str(int(fake.now()))}


def _media_get(
    fake: FakeWeCom, query: dict[str, str], body: Any
) -> tuple[int, dict[str, str], bytes]:
    media = fake._live_media(query.get("media_id"))
    ascii_name = media.filename.encode("ascii", "replace").decode().replace('"', "")
    quoted = urllib.parse.quote(media.filename)
    return (
        200,
        {
            "Content-Type": media.content_type,
            "Content-Disposition": (
                f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}"
            ),
        },
        media.data,
    )


def _getuserid(fake: FakeWeCom, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    mobile = body.get("mobile")
    if not isinstance(mobile, str) or not mobile:
        raise _ApiError(40058, "mobile missing")
    for member in fake.members.values():
        if member.mobile == mobile:
            return {"userid": member.userid}
    raise _ApiError(46004, "user no exist")


def _menu_create(fake: FakeWeCom, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    fake._check_agent(query.get("agentid"))
    buttons = body.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise _ApiError(40016, "invalid button size")
    for button in buttons:
        if not isinstance(button, dict) or not button.get("name"):
            raise _ApiError(41102, "menu name missing")
        if _utf8_len(button["name"]) > 16:
            raise _ApiError(40018, "invalid button name size")
        subs = button.get("sub_button")
        if subs is not None:
            if not isinstance(subs, list) or not 1 <= len(subs) <= 5:
                raise _ApiError(40023, "invalid sub button size")
            for sub in subs:
                if not isinstance(sub, dict) or not sub.get("name"):
                    raise _ApiError(41102, "menu name missing")
                if _utf8_len(sub["name"]) > 40:
                    raise _ApiError(40025, "invalid sub button name size")
                _check_menu_action(sub, sub=True)
        else:
            _check_menu_action(button, sub=False)
    fake.menu = body
    return {}


def _check_menu_action(button: dict[str, Any], *, sub: bool) -> None:
    kind = button.get("type")
    if kind not in ("click", "view", "scancode_push", "location_select", "pic_sysphoto"):
        raise _ApiError(40024 if sub else 40017, "invalid button type")
    if kind == "view":
        if not button.get("url") or _utf8_len(button["url"]) > 1024:
            raise _ApiError(40027 if sub else 40020, "invalid button url size")
    elif not button.get("key") or _utf8_len(button["key"]) > 128:
        raise _ApiError(40026 if sub else 40019, "invalid button key size")


def _menu_keys(menu: dict[str, Any] | None) -> set[str]:
    keys: set[str] = set()
    for button in (menu or {}).get("button", []):
        for item in button.get("sub_button") or [button]:
            if item.get("key"):
                keys.add(str(item["key"]))
    return keys


_METHODS: dict[str, Callable[..., Any]] = {
    "gettoken": _gettoken,
    "message/send": _message_send,
    "message/update_template_card": _update_card,
    "appchat/create": _appchat_create,
    "appchat/send": _appchat_send,
    "media/upload": _media_upload,
    "media/get": _media_get,
    "user/getuserid": _getuserid,
    "menu/create": _menu_create,
}


def _json(data: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return 200, {"Content-Type": "application/json; charset=UTF-8"}, body


def _summary(parsed: Any) -> Any:
    """A call's body for the record: uploaded files by name and size."""
    if isinstance(parsed, dict) and "files" in parsed:
        return {k: (n, len(d)) for k, (n, d) in parsed["files"].items()}
    return parsed


def _multipart(content_type: str, body: bytes) -> dict[str, Any]:
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    files: dict[str, tuple[str, bytes]] = {}
    for part in msg.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        files[str(name)] = (part.get_filename() or "", data)
    return {"files": files}


def _content_type(filename: str, kind: str) -> str:
    dot = filename.rfind(".")
    if dot >= 0 and filename[dot:].lower() in _CONTENT_TYPES:
        return _CONTENT_TYPES[filename[dot:].lower()]
    return {"image": "image/jpeg", "voice": "voice/amr", "video": "video/mp4"}.get(
        kind, "application/octet-stream"
    )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    fake: FakeWeCom


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # the URLs carry tokens; the tests read FakeWeCom.calls instead

    def _serve(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._answer(413, {"Content-Type": "text/plain"}, b"too large")
            return
        body = self.rfile.read(length) if length else b""
        if not url.path.startswith("/cgi-bin/"):
            self._answer(404, {"Content-Type": "text/plain"}, b"not found")
            return
        method = url.path[len("/cgi-bin/") :]
        status, headers, answer = self.server.fake.handle(
            self.command, method, query, body, self.headers.get("Content-Type", "")
        )
        self._answer(status, headers, answer)

    def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _serve
    do_POST = _serve


def main() -> None:  # pragma: no cover - a manual tool
    parser = argparse.ArgumentParser(description="A fake WeCom server API on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--callback", default=None, help="the bot's callback URL")
    args = parser.parse_args()
    fake = FakeWeCom(port=args.port, callback_url=args.callback).start()
    print(f"fake WeCom at {fake.base_url} (corp {fake.corp_id}, agent {fake.agent_id})")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
