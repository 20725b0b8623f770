"""An async client of WeCom's server API (企业微信服务端 API), for a self-built app.

Every call goes to ``<base_url>/cgi-bin/<method>``: ``https://qyapi.weixin.qq.com`` for
WeCom itself; 政务微信 and other private deployments serve the same API from their own
host, and the tests point it at ``tests/fakewecom.py``.

- The access token (``gettoken``, valid ``expires_in`` = 7200 s) is cached until shortly
  before it expires and fetched again once when a call answers 40014 (invalid) or 42001
  (expired); concurrent callers share one fetch.
- WeCom answers HTTP 200 with ``{"errcode": ..., "errmsg": ...}``; anything but 0 raises
  :class:`WeComError`, whose properties say what the caller can do about it
  (``token_expired``, ``rate_limited``, ``retryable``, ``user_unknown``,
  ``response_code_spent``, ``media_expired``). Network failures stay httpx exceptions.
- The token and the secret travel in query strings, so they must never reach a log:
  this module logs no URL, and a filter on the ``httpx`` logger (which logs every request
  URL at INFO) masks ``access_token=`` and ``corpsecret=`` values.

Limits the caller (the outgoing queue's sender) has to honour and this client does not
enforce: 30 messages per member per minute and 1,000 per hour per app (the excess is
accepted and silently dropped by WeCom), 2048 bytes of text or markdown, up to 6 buttons
on a ``button_interaction`` card, one update per ``response_code`` within 72 h.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import httpx

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com"
# Fetch a new token this long before the old one expires.
TOKEN_MARGIN = 300.0

# WeCom's global error codes this client interprets.
ERR_BUSY = -1  # 系统繁忙: retry later
ERR_INVALID_SECRET = 40001
ERR_INVALID_USERID = 40003
ERR_INVALID_MEDIA_ID = 40007  # also an expired media id (3 days)
ERR_INVALID_CORPID = 40013
ERR_INVALID_TOKEN = 40014
ERR_MISSING_TOKEN = 41001
ERR_TOKEN_EXPIRED = 42001
ERR_CODE_USED = 42022  # "code已经被使用过，只能使用一次"
ERR_API_FREQ = 45009  # 接口调用超过限制
ERR_CONCURRENCY = 45033  # 接口并发调用超过限制
ERR_USER_NOT_EXIST = 46004
ERR_NOT_VISIBLE = 60021  # userid不在应用可见范围内
ERR_USERID_NOT_FOUND = 60111
ERR_ALL_INVALID = 81013  # UserID、部门ID、标签ID全部非法或无权限
# Not a WeCom code: an HTTP status other than 200, or a body that is not WeCom's JSON.
ERR_HTTP = -2

TOKEN_ERRORS = frozenset({ERR_INVALID_TOKEN, ERR_TOKEN_EXPIRED, ERR_MISSING_TOKEN})
RATE_ERRORS = frozenset({ERR_API_FREQ, ERR_CONCURRENCY})
USER_ERRORS = frozenset(
    {ERR_INVALID_USERID, ERR_USER_NOT_EXIST, ERR_NOT_VISIBLE, ERR_USERID_NOT_FOUND, ERR_ALL_INVALID}
)

MEDIA_KINDS = ("image", "voice", "video", "file")

_SECRET_IN_URL = re.compile(r"((?:access_token|corpsecret)=)[^&\s\"']+")


class _RedactQuery(logging.Filter):
    """Masks the token and the secret in the request URLs httpx logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is logging's problem, not ours
            return True
        if "access_token=" in message or "corpsecret=" in message:
            record.msg = _SECRET_IN_URL.sub(r"\1<hidden>", message)
            record.args = None
        return True


_REDACT = _RedactQuery()


def _install_redaction() -> None:
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if _REDACT not in logger.filters:
            logger.addFilter(_REDACT)


def redact_url(text: str) -> str:
    """``text`` with any access_token / corpsecret query value masked."""
    return _SECRET_IN_URL.sub(r"\1<hidden>", text)


class WeComError(Exception):
    """WeCom answered a call with a non-zero errcode (or not with its JSON at all)."""

    def __init__(self, errcode: int, errmsg: str, method: str = "", http_status: int = 200):
        self.errcode = errcode
        self.errmsg = redact_url(errmsg)
        self.method = method
        self.http_status = http_status
        super().__init__(f"{method or 'wecom'}: errcode {errcode}: {self.errmsg}")

    @property
    def token_expired(self) -> bool:
        return self.errcode in TOKEN_ERRORS

    @property
    def rate_limited(self) -> bool:
        return self.errcode in RATE_ERRORS

    @property
    def retryable(self) -> bool:
        """Worth trying again later: busy, rate limits, an HTTP 5xx / 429."""
        if self.errcode == ERR_HTTP:
            return self.http_status >= 500 or self.http_status == 429
        return self.errcode == ERR_BUSY or self.rate_limited

    @property
    def user_unknown(self) -> bool:
        """The userid is not (or no longer) in the directory or the app's visible range."""
        return self.errcode in USER_ERRORS

    @property
    def response_code_spent(self) -> bool:
        """update_template_card refused the code: used, expired (72 h) or unknown.

        WeCom's documentation gives no dedicated code for this; 42022 is its "code
        already used" and an errmsg naming the response_code counts too. Whatever the
        code, a card that cannot be updated is replaced by a new card.
        """
        return self.errcode == ERR_CODE_USED or (
            self.errcode != 0 and "response_code" in self.errmsg.lower()
        )

    @property
    def media_expired(self) -> bool:
        return self.errcode == ERR_INVALID_MEDIA_ID

    @property
    def bad_credentials(self) -> bool:
        """gettoken refused the corp id or the secret: a configuration error."""
        return self.errcode in (ERR_INVALID_SECRET, ERR_INVALID_CORPID)


def _filename(disposition: str) -> str:
    """The file name in a Content-Disposition header (RFC 5987 form first)."""
    star = re.search(r"filename\*\s*=\s*([^']*)'[^']*'([^;]+)", disposition, re.IGNORECASE)
    if star:
        charset = star.group(1) or "utf-8"
        try:
            return urllib.parse.unquote(star.group(2).strip(), encoding=charset)
        except LookupError:
            return urllib.parse.unquote(star.group(2).strip())
    plain = re.search(r'filename\s*=\s*"([^"]*)"|filename\s*=\s*([^;]+)', disposition, re.I)
    if plain:
        return (plain.group(1) or plain.group(2) or "").strip()
    return ""


class WeComAPI:
    """One self-built app's calls (corp id + app secret + agent id)."""

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        corp_id: str,
        secret: str,
        agent_id: int,
        proxy: str | None = None,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
        timeout: float = 15.0,
    ) -> None:
        if not corp_id or not secret:
            raise ValueError("WeComAPI needs a corp id and a secret")
        self.base_url = base_url.rstrip("/")
        self.corp_id = corp_id
        self._secret = secret
        self.agent_id = int(agent_id)
        self._clock = clock
        self._own_client = client is None
        self._client = client or httpx.AsyncClient(proxy=proxy, timeout=timeout)
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()
        self.token_fetches = 0  # how many times gettoken was called (tests, metrics)
        _install_redaction()

    def __repr__(self) -> str:  # never the secret or the token
        return (
            f"WeComAPI(base_url={self.base_url!r}, corp_id={self.corp_id!r}, "
            f"agent_id={self.agent_id})"
        )

    async def close(self) -> None:
        if self._own_client:
            await self._client.aclose()

    # -- the access token ---------------------------------------------------------------

    async def _access_token(self, stale: str | None = None) -> str:
        async with self._token_lock:
            fresh = self._token is not None and self._clock() < self._token_expires
            # Another caller may have refreshed while this one waited for the lock.
            if fresh and self._token != stale:
                assert self._token is not None
                return self._token
            response = await self._client.get(
                f"{self.base_url}/cgi-bin/gettoken",
                params={"corpid": self.corp_id, "corpsecret": self._secret},
            )
            data = self._json(response, "gettoken")
            token = data.get("access_token")
            if not isinstance(token, str) or not token:
                raise WeComError(ERR_HTTP, "gettoken answered without a token", "gettoken")
            expires_in = data.get("expires_in", 7200)
            if not isinstance(expires_in, int | float) or expires_in <= 0:
                expires_in = 7200
            self._token = token
            self._token_expires = self._clock() + max(float(expires_in) - TOKEN_MARGIN, 1.0)
            self.token_fetches += 1
            log.info("wecom: a new access token, valid %d s", int(expires_in))
            return token

    def forget_token(self) -> None:
        """Drop the cached token (the next call fetches one)."""
        self._token = None
        self._token_expires = 0.0

    # -- calls --------------------------------------------------------------------------

    @staticmethod
    def _json(response: httpx.Response, method: str) -> dict[str, Any]:
        if response.status_code != 200:
            raise WeComError(
                ERR_HTTP, f"HTTP {response.status_code}", method, http_status=response.status_code
            )
        try:
            data = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise WeComError(ERR_HTTP, "the answer is not JSON", method) from None
        if not isinstance(data, dict):
            raise WeComError(ERR_HTTP, "the answer is not a JSON object", method)
        errcode = data.get("errcode", 0)
        if not isinstance(errcode, int):
            raise WeComError(ERR_HTTP, f"errcode {errcode!r}", method)
        if errcode != 0:
            raise WeComError(errcode, str(data.get("errmsg", "")), method)
        return data

    async def _request(
        self,
        http_method: str,
        method: str,
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> httpx.Response:
        """One call with the token, fetched again once if WeCom says it is stale."""
        token = await self._access_token()
        for attempt in (1, 2):
            query = {**(params or {}), "access_token": token}
            url = f"{self.base_url}/cgi-bin/{method}"
            if body is not None:
                content = json.dumps(body, ensure_ascii=False).encode("utf-8")
                response = await self._client.request(
                    http_method,
                    url,
                    params=query,
                    content=content,
                    headers={"Content-Type": "application/json; charset=utf-8"},
                )
            else:
                response = await self._client.request(http_method, url, params=query, files=files)
            if attempt == 1 and self._token_error(response):
                log.info("wecom: %s: the access token was refused; fetching a new one", method)
                token = await self._access_token(stale=token)
                continue
            return response
        raise AssertionError("unreachable")

    @staticmethod
    def _token_error(response: httpx.Response) -> bool:
        if response.status_code != 200:
            return False
        if not response.headers.get("content-type", "").startswith(("application/json", "text")):
            return False
        try:
            data = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return False
        return isinstance(data, dict) and data.get("errcode") in TOKEN_ERRORS

    async def _call(
        self, method: str, body: dict[str, Any], params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        response = await self._request("POST", method, params=params, body=body)
        return self._json(response, method)

    # -- messages -----------------------------------------------------------------------

    async def send(self, touser: str, message: dict[str, Any]) -> dict[str, Any]:
        """message/send to one member (or "a|b"); ``message`` has msgtype and its part.

        Returns WeCom's JSON: ``msgid``, and ``response_code`` for a card with buttons.
        A recipient WeCom lists as invalid raises :class:`WeComError` (81013), so a
        send either reached its member or raised.
        """
        if not touser:
            raise ValueError("send needs a userid")
        body = {"touser": touser, "agentid": self.agent_id, **message}
        data = await self._call("message/send", body)
        invalid = str(data.get("invaliduser") or "")
        if invalid:
            bad = set(invalid.split("|"))
            if bad >= set(touser.split("|")):
                raise WeComError(ERR_ALL_INVALID, f"invaliduser {invalid}", "message/send")
            log.warning("wecom: message/send: %d recipient(s) invalid", len(bad))
        return data

    async def send_appchat(self, chatid: str, message: dict[str, Any]) -> dict[str, Any]:
        """appchat/send: text, markdown, image, file ... (no template cards)."""
        return await self._call("appchat/send", {"chatid": chatid, **message})

    async def create_appchat(
        self, name: str, owner: str, userids: list[str], chatid: str | None = None
    ) -> str:
        """appchat/create (at least 2 members); the chat's id."""
        body: dict[str, Any] = {"name": name, "owner": owner, "userlist": list(userids)}
        if chatid:
            body["chatid"] = chatid
        data = await self._call("appchat/create", body)
        created = data.get("chatid")
        if not isinstance(created, str) or not created:
            raise WeComError(ERR_HTTP, "appchat/create answered without a chatid", "appchat")
        return created

    async def update_template_card(
        self, userids: list[str], response_code: str, card: dict[str, Any]
    ) -> dict[str, Any]:
        """message/update_template_card: spend ``response_code`` (once, within 72 h).

        ``card`` is ``{"button": {"replace_name": "已处理"}}`` (grey the buttons out) or
        ``{"template_card": {...}}`` (a whole new card).
        """
        body = {
            "userids": list(userids),
            "agentid": self.agent_id,
            "response_code": response_code,
            **card,
        }
        return await self._call("message/update_template_card", body)

    # -- media --------------------------------------------------------------------------

    async def upload_media(self, kind: str, filename: str, data: bytes) -> str:
        """media/upload (temporary, 3 days); the media_id."""
        if kind not in MEDIA_KINDS:
            raise ValueError(f"media kind {kind!r} is not one of {MEDIA_KINDS}")
        response = await self._request(
            "POST",
            "media/upload",
            params={"type": kind},
            files={"media": (filename, data, "application/octet-stream")},
        )
        body = self._json(response, "media/upload")
        media_id = body.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise WeComError(ERR_HTTP, "media/upload answered without a media_id", "media")
        return media_id

    async def get_media(self, media_id: str) -> tuple[bytes, str, str]:
        """media/get: (data, file name, content type). An expired id raises (40007)."""
        response = await self._request("GET", "media/get", params={"media_id": media_id})
        content_type = response.headers.get("content-type", "application/octet-stream")
        is_json = content_type.startswith(("application/json", "text/plain"))
        if response.status_code != 200 or is_json:
            self._json(response, "media/get")  # raises on an errcode or a bad status
            raise WeComError(ERR_HTTP, "media/get answered JSON without media", "media/get")
        name = _filename(response.headers.get("content-disposition", ""))
        return response.content, name, content_type.split(";")[0].strip()

    # -- directory and menu -------------------------------------------------------------

    async def get_userid(self, mobile: str) -> str | None:
        """user/getuserid: the directory's userid for ``mobile``, None when nobody has it."""
        try:
            data = await self._call("user/getuserid", {"mobile": mobile})
        except WeComError as exc:
            if exc.user_unknown:
                return None
            raise
        userid = data.get("userid")
        return userid if isinstance(userid, str) and userid else None

    async def create_menu(self, menu: dict[str, Any]) -> None:
        """menu/create for this app: ``{"button": [...]}`` (1-3 buttons, 1-5 sub-buttons)."""
        await self._call("menu/create", menu, params={"agentid": self.agent_id})
