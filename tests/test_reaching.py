"""Reaching Telegram: a proxy for every Bot API call, and when the Bot API cannot be
reached, a log line that names the cause and points at proxy and base_url."""

from __future__ import annotations

import logging
import socket
import ssl

import httpx
import pytest
from telegram.error import NetworkError, TimedOut
from telegram.request import HTTPXRequest

from bot.runner import _warn_unreachable, preflight, proxy_of, unreachable_cause
from campaign.settings import SettingsError, parse_settings

TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789"


def wrapped(cause: BaseException, outer: type[Exception] = NetworkError) -> Exception:
    """As python-telegram-bot raises it: its own error, the httpx error as the cause."""
    exc = outer("httpx error") if outer is NetworkError else outer()
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize(
    ("cause", "words"),
    [
        (httpx.ConnectError("[Errno -2] Name or service not known"), "DNS"),
        (socket.gaierror(-3, "Temporary failure in name resolution"), "DNS"),
        (httpx.ConnectError("[Errno 111] Connection refused"), "refused"),
        (ConnectionRefusedError(111, "Connection refused"), "refused"),
        (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"), "TLS"),
        (ssl.SSLError(1, "wrong version number"), "TLS"),
        (httpx.ProxyError("503 Service Unavailable"), "proxy"),
        (httpx.ConnectTimeout("timed out"), "timeout"),
    ],
)
def test_the_cause_is_named(cause: BaseException, words: str) -> None:
    assert words in unreachable_cause(wrapped(cause))


def test_a_timeout_without_a_cause_is_named() -> None:
    assert "timeout" in unreachable_cause(TimedOut())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_refused_connection_is_named_for_real() -> None:
    port = free_port()  # nobody listens there now
    data = {"telegram": {"base_url": f"http://127.0.0.1:{port}/bot"}}
    settings = parse_settings(data, "c.toml", {"FIELDBOT_TOKEN": TOKEN})
    with pytest.raises(NetworkError) as err:
        await preflight(settings, attempts=1)
    assert unreachable_cause(err.value) == "connection refused"


def test_the_log_line_names_cause_proxy_and_base_url(caplog: pytest.LogCaptureFixture) -> None:
    settings = parse_settings(
        {"telegram": {"proxy": "socks5://user:secret@127.0.0.1:1080"}}, "c.toml", {}
    )
    with caplog.at_level(logging.WARNING, logger="bot.runner"):
        _warn_unreachable(settings, wrapped(httpx.ConnectTimeout("timed out")), 4)
    (line,) = [r.getMessage() for r in caplog.records]
    assert "https://api.telegram.org/bot" in line and "timeout" in line
    assert "through the proxy socks5://127.0.0.1:1080" in line and "secret" not in line
    assert "[telegram] proxy" in line and "HTTPS_PROXY" in line and "base_url" in line


@pytest.mark.parametrize(
    "proxy", ["http://127.0.0.1:7890", "https://proxy.example:443", "socks5://127.0.0.1:1080"]
)
def test_every_proxy_kind_builds_a_connection(proxy: str) -> None:
    """socks5 needs python-telegram-bot's socks extra (httpx's SOCKS support)."""
    settings = parse_settings({"telegram": {"proxy": proxy}}, "c.toml", {})
    assert proxy_of(settings) == proxy
    HTTPXRequest(proxy=proxy_of(settings))


def test_no_proxy_leaves_the_environment_in_charge() -> None:
    assert proxy_of(parse_settings({}, "c.toml", {})) is None


@pytest.mark.parametrize("bad", ["127.0.0.1:1080", "ftp://x:21", "socks4://x:1"])
def test_a_bad_proxy_names_the_key(bad: str) -> None:
    with pytest.raises(SettingsError, match=r"'telegram.proxy' \(section \[telegram\]\)"):
        parse_settings({"telegram": {"proxy": bad}}, "c.toml", {})
