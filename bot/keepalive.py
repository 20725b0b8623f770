"""A lighter connection to the Bot API for the calls the bot makes all day.

python-telegram-bot's ``HTTPXRequest`` costs about 1.5 ms of CPU a call on the 2-core
machines we run on (httpx, httpcore, anyio and h11 between us and the socket), more
than the rest of a conversation step. ``KeepAliveRequest`` sends the plain calls
(``sendMessage``, ``editMessageText``, ``answerCallbackQuery``: form fields, no file)
over its own HTTP/1.1 keep-alive connections, about 0.1 ms a call, and leaves
everything else to ``HTTPXRequest`` unchanged: uploads (multipart), and every call when
a proxy is configured or set in the environment (``HTTPS_PROXY`` …).

What it does the way httpx does: TLS verified against certifi's authorities (httpx's
own), the same form encoding and User-Agent, a connection idle for longer than
``KEEPALIVE_EXPIRY`` is closed rather than reused (the server may have dropped it), a
connection is kept only after a whole response with a length (or chunks) and no
``Connection: close``. Errors are python-telegram-bot's: ``TimedOut`` for a timeout,
``NetworkError`` for a connection that failed. A request whose connection broke while it
was being written is sent again once on a new connection (nothing reached the server);
one that was written whole is never sent again here: whether Telegram acted on it is
unknown, and the caller decides (the dispatcher parks such an item).
"""

from __future__ import annotations

import asyncio
import os
import ssl
import time
from collections import deque
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

KEEPALIVE_EXPIRY = 5.0  # seconds idle after which a connection is not reused (httpx's)
_MAX_HEADER = 64 * 1024
_MAX_BODY = 64 * 1024 * 1024
_PROXY_VARIABLES = ("https_proxy", "http_proxy", "all_proxy")
# The type of python-telegram-bot's "use the default timeout" marker (its class is private).
_DEFAULT = type(HTTPXRequest.DEFAULT_NONE)


def _proxy_in_environment() -> bool:
    return any(os.environ.get(n) or os.environ.get(n.upper()) for n in _PROXY_VARIABLES)


def _tls_context() -> ssl.SSLContext:
    try:
        import certifi  # noqa: PLC0415  (httpx's own dependency)

        return ssl.create_default_context(cafile=certifi.where())
    except ImportError:  # pragma: no cover - httpx always brings certifi
        return ssl.create_default_context()


class _Conn:
    __slots__ = ("reader", "writer", "idle_since")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = 0.0

    def close(self) -> None:
        self.writer.close()


class _Broken(Exception):
    """The connection failed while the request was being written: nothing was sent."""


# 19 digits in a row: maybe a number orjson would read as a float (beyond 64 bits:
# -9223372036854775809 has 19). Found by mapping every digit to "0" and everything else
# to a space, then looking for 19 zeros: ~1.5 µs for an answer of 1 KB, where a regular
# expression took ~19 µs.
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_NUMBER = b"0" * 19


def has_long_number(payload: bytes) -> bool:
    """Whether ``payload`` holds 19 or more digits in a row."""
    return _LONG_NUMBER in payload.translate(_DIGITS_AS_ZERO)


def parse_answer(payload: bytes) -> Any:
    """A Bot API answer as python-telegram-bot's ``BaseRequest.parse_json_payload`` reads
    it (the hook the library offers for this), with orjson: an answer that carries a
    message with its keyboard takes ~25 µs to parse with the standard library, the most
    of any single piece of a press. What orjson would read otherwise goes to the
    library's own parser: bytes that are not UTF-8 (it replaces them), no JSON at all
    (it raises the library's error), and numbers of 19 digits or more (orjson makes
    floats of those beyond 64 bits; Telegram's ids have at most 16)."""
    if not has_long_number(payload):
        try:
            return orjson.loads(payload)
        except orjson.JSONDecodeError:
            pass
    return BaseRequest.parse_json_payload(payload)


class KeepAliveRequest(HTTPXRequest):
    """``HTTPXRequest`` with a fast path for plain calls (see the module's text)."""

    parse_json_payload = staticmethod(parse_answer)

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        proxy: str | None = None,
    ) -> None:
        super().__init__(
            connection_pool_size=connection_pool_size,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
            proxy=proxy,
        )
        self._fast = not proxy and not _proxy_in_environment()
        self._size = connection_pool_size
        self._timeouts = (read_timeout, write_timeout, connect_timeout, pool_timeout)
        self._idle: dict[tuple[str, str, int], deque[_Conn]] = {}
        self._slots = asyncio.Semaphore(connection_pool_size)
        self._tls: ssl.SSLContext | None = None

    async def shutdown(self) -> None:
        for conns in self._idle.values():
            while conns:
                conns.pop().close()
        await super().shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        write_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        connect_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        pool_timeout: Any = HTTPXRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        parts = urlsplit(url)
        if (
            not self._fast
            or method != "POST"
            or parts.scheme not in ("http", "https")
            or (request_data is not None and request_data.contains_files)
        ):
            timeouts = (read_timeout, write_timeout, connect_timeout, pool_timeout)
            return await super().do_request(url, method, request_data, *timeouts)
        read, write, connect, pool = (
            default if isinstance(given, _DEFAULT) else given
            for given, default in zip(
                (read_timeout, write_timeout, connect_timeout, pool_timeout),
                self._timeouts,
                strict=True,
            )
        )
        body = urlencode(request_data.json_parameters).encode() if request_data else b""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = parts.hostname or ""
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        head = (
            f"POST {target} HTTP/1.1\r\nHost: {parts.netloc.rpartition('@')[2]}\r\n"
            f"User-Agent: {self.USER_AGENT}\r\nAccept: */*\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1")
        try:
            async with asyncio.timeout(pool):
                await self._slots.acquire()
        except TimeoutError as err:
            raise TimedOut(
                "Pool timeout: all connections are in use; the request was not sent"
            ) from err
        try:
            key = (parts.scheme, host, port)
            for attempt in (1, 2):
                conn = await self._connection(key, connect)
                try:
                    return await self._exchange(conn, key, head + body, read, write)
                except _Broken as err:
                    if attempt == 2:
                        raise NetworkError(f"connection lost while sending: {err}") from err
            raise AssertionError("unreachable")  # pragma: no cover
        finally:
            self._slots.release()

    async def _connection(self, key: tuple[str, str, int], within: float | None) -> _Conn:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if now - conn.idle_since < KEEPALIVE_EXPIRY and not conn.reader.at_eof():
                return conn
            conn.close()
        scheme, host, port = key
        if scheme == "https" and self._tls is None:
            self._tls = _tls_context()
        try:
            async with asyncio.timeout(within):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=self._tls if scheme == "https" else None, limit=_MAX_HEADER
                )
        except TimeoutError as err:
            raise TimedOut("timed out connecting to the Bot API") from err
        except OSError as err:
            raise NetworkError(f"cannot connect to the Bot API: {err}") from err
        return _Conn(reader, writer)

    async def _exchange(
        self,
        conn: _Conn,
        key: tuple[str, str, int],
        request: bytes,
        read: float | None,
        write: float | None,
    ) -> tuple[int, bytes]:
        try:
            conn.writer.write(request)
            async with asyncio.timeout(write):
                await conn.writer.drain()
        except TimeoutError as err:
            conn.close()
            raise TimedOut("timed out sending to the Bot API") from err
        except OSError as err:
            conn.close()
            raise _Broken(str(err)) from err
        except BaseException:
            conn.close()  # cancelled while writing: the connection is in an unknown state
            raise
        try:
            async with asyncio.timeout(read):
                status, body, keep = await _response(conn.reader)
        except TimeoutError as err:
            conn.close()
            raise TimedOut("timed out waiting for the Bot API") from err
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as err:
            conn.close()
            raise NetworkError(f"the Bot API's answer was cut or unreadable: {err!r}") from err
        except BaseException:
            conn.close()  # cancelled mid-answer: the connection is in an unknown state
            raise
        if keep:
            conn.idle_since = time.monotonic()
            idle = self._idle.setdefault(key, deque())
            if len(idle) < self._size:
                idle.append(conn)
                return status, body
        conn.close()
        return status, body


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Read one HTTP/1.1 response: (status, body, whether the connection may be reused)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    status = int(rest.split(" ", 1)[0])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks = []
        total = 0
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip(), 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                break
            total += size
            if total > _MAX_BODY:
                raise ValueError("answer too large")
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        return status, b"".join(chunks), keep
    if "content-length" in headers:
        length = int(headers["content-length"])
        if not 0 <= length <= _MAX_BODY:
            raise ValueError("answer too large")
        return status, await reader.readexactly(length), keep
    if status in (204, 304) or 100 <= status < 200:
        return status, b"", keep
    chunks = []  # no length: the body ends when the server closes the connection
    total = 0
    while chunk := await reader.read(65536):
        total += len(chunk)
        if total > _MAX_BODY:
            raise ValueError("answer too large")
        chunks.append(chunk)
    return status, b"".join(chunks), False
