"""The lighter Bot API connection (bot/keepalive.py) against a real HTTP server on the
loopback: keep-alive reuse, the answers a server may give, the failures python-telegram-
bot must see as its own errors, and what it leaves to httpx (files, proxies)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from telegram import InputFile
from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot import keepalive
from bot.keepalive import KeepAliveRequest

OK = json.dumps({"ok": True, "result": {"message_id": 1}}).encode()


@dataclass
class Server:
    """Answers each request with ``answer(request_head, body)`` -> raw bytes, or None to
    hang up without answering."""

    answer: Callable[[bytes, bytes], bytes | None]
    port: int = 0
    connections: int = 0
    requests: list[tuple[bytes, bytes]] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length) if length else b""
                self.requests.append((head, body))
                raw = self.answer(head, body)
                if raw is None:
                    break
                writer.write(raw)
                await writer.drain()
                if b"Connection: close" in raw:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/botTOKEN/sendMessage"


def plain(body: bytes = OK, extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Any]]:
    servers: list[asyncio.Server] = []

    async def start(answer: Callable[[bytes, bytes], bytes | None]) -> Server:
        s = Server(answer)
        server = await asyncio.start_server(s.handle, "127.0.0.1", 0)
        s.port = server.sockets[0].getsockname()[1]
        servers.append(server)
        return s

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def text(value: str = "你好 & =") -> RequestData:
    return RequestData(
        [RequestParameter("chat_id", 7, None), RequestParameter("text", value, None)]
    )


@pytest.fixture
async def request_() -> AsyncIterator[KeepAliveRequest]:
    req = KeepAliveRequest(connection_pool_size=4, read_timeout=2.0)
    await req.initialize()
    yield req
    await req.shutdown()


async def test_plain_calls_share_one_connection_and_are_encoded_as_httpx_does(
    serve: Any, request_: KeepAliveRequest
) -> None:
    server = await serve(lambda head, body: plain())
    for _ in range(5):
        assert await request_.post(server.url, text()) == {"message_id": 1}
    assert server.connections == 1
    head, body = server.requests[0]
    assert head.startswith(b"POST /botTOKEN/sendMessage HTTP/1.1\r\n")
    assert b"Content-Type: application/x-www-form-urlencoded" in head
    assert body == b"chat_id=7&text=%E4%BD%A0%E5%A5%BD+%26+%3D"


async def test_a_chunked_answer_is_read_whole(serve: Any, request_: KeepAliveRequest) -> None:
    half = len(OK) // 2
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + f"{half:x}\r\n".encode()
        + OK[:half]
        + b"\r\n"
        + f"{len(OK) - half:x};ext=1\r\n".encode()
        + OK[half:]
        + b"\r\n0\r\n\r\n"
    )
    server = await serve(lambda head, body: chunked)
    assert await request_.post(server.url, text()) == {"message_id": 1}
    assert await request_.post(server.url, text()) == {"message_id": 1}
    assert server.connections == 1  # the connection stays usable after chunks


async def test_an_answer_without_a_length_ends_when_the_server_closes(
    serve: Any, request_: KeepAliveRequest
) -> None:
    big = json.dumps({"ok": True, "result": {"text": "长" * 100_000}}).encode()

    def unframed(head: bytes, body: bytes) -> bytes:  # HTTP/1.0 style: no length, then close
        return b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + big

    server = await serve(unframed)
    assert await request_.post(server.url, text()) == {"text": "长" * 100_000}
    assert await request_.post(server.url, text()) == {"text": "长" * 100_000}
    assert server.connections == 2


async def test_connection_close_and_an_idle_connection_are_not_reused(
    serve: Any, request_: KeepAliveRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = await serve(lambda head, body: plain(extra="Connection: close\r\n"))
    await request_.post(server.url, text())
    await request_.post(server.url, text())
    assert server.connections == 2
    other = await serve(lambda head, body: plain())
    monkeypatch.setattr(keepalive, "KEEPALIVE_EXPIRY", 0.0)  # every connection too old
    await request_.post(other.url, text())
    await request_.post(other.url, text())
    assert other.connections == 2


async def test_a_connection_the_server_dropped_while_idle_is_not_used(
    serve: Any, request_: KeepAliveRequest
) -> None:
    server = await serve(lambda head, body: plain())
    await request_.post(server.url, text())
    for conns in request_._idle.values():  # the server hangs up on the idle connection
        for conn in conns:
            conn.reader.feed_eof()
    assert await request_.post(server.url, text()) == {"message_id": 1}
    assert server.connections == 2


async def test_errors_are_python_telegram_bots(serve: Any) -> None:
    req = KeepAliveRequest(read_timeout=0.2)
    await req.initialize()
    try:
        silent = await serve(lambda head, body: b"HTTP/1.1 200 OK\r\nContent-Le")
        with pytest.raises(TimedOut):
            await req.post(silent.url, text())
        gone = await serve(lambda head, body: None)  # hangs up without an answer
        with pytest.raises(NetworkError):
            await req.post(gone.url, text())
        cut = await serve(lambda head, body: plain(extra="Connection: close\r\n")[:-5])
        with pytest.raises(NetworkError):  # the answer ends before its length
            await req.post(cut.url, text())
        with pytest.raises(NetworkError):  # nothing listens there
            await req.post(f"http://127.0.0.1:{_free_port()}/botTOKEN/sendMessage", text())
        no = b'{"ok": false, "error_code": 400, "description": "Bad Request: chat not found"}'
        refused = await serve(
            lambda head, body: plain(no).replace(b"200 OK", b"400 Bad Request", 1)
        )
        with pytest.raises(BadRequest, match="(?i)chat not found"):  # the status reaches PTB
            await req.post(refused.url, text())
    finally:
        await req.shutdown()


async def test_a_file_goes_through_httpx_as_multipart(
    serve: Any, request_: KeepAliveRequest
) -> None:
    server = await serve(lambda head, body: plain())
    photo = InputFile(b"\x89PNG fake", filename="a.png", attach=True)
    data = RequestData(
        [RequestParameter("chat_id", 7, None), RequestParameter.from_input("photo", photo)]
    )
    await request_.post(server.url.replace("sendMessage", "sendPhoto"), data)
    head, body = server.requests[-1]
    assert b"multipart/form-data" in head
    assert b"\x89PNG fake" in body


def test_a_proxy_sends_everything_through_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    assert KeepAliveRequest()._fast
    assert not KeepAliveRequest(proxy="http://127.0.0.1:3128")._fast
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    assert not KeepAliveRequest()._fast


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
