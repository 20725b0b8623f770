"""Callback-data codec: every button's data is built and parsed here.

Form: ``<namespace>:v<version>:<action>[:<arg>...]``, e.g. ``prb:v1:ack:1234``. The data
is self-contained, so a button still means the same thing days later; handlers
re-authorise the presser on every press. Telegram caps callback data at 64 bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_BYTES = 64
VERSION = "v1"
_TOKEN = re.compile(r"^[A-Za-z0-9_\-.]{1,40}$")
_DATA = re.compile(r"[A-Za-z0-9_\-.]{1,40}(?::[A-Za-z0-9_\-.]{1,40})*")  # tokens joined by ':'


class CallbackError(ValueError):
    """Malformed, foreign or outdated callback data."""


@dataclass(frozen=True)
class Callback:
    namespace: str
    action: str
    args: tuple[str, ...] = ()
    version: str = VERSION

    def int_arg(self, index: int = 0) -> int:
        try:
            value = int(self.args[index])
        except (IndexError, ValueError):
            raise CallbackError(f"argument {index} of {self.action!r} is not a number") from None
        if value < 0 or value > 2**62:
            raise CallbackError("argument out of range")
        return value


def encode(namespace: str, action: str, *args: object, version: str = VERSION) -> str:
    parts = [namespace, version, action, *(str(a) for a in args)]
    data = ":".join(parts)
    # One match for the whole: every button of every keyboard comes through here.
    if _DATA.fullmatch(data) is None or len(parts) != data.count(":") + 1:
        for part in parts:
            if not _TOKEN.match(part):
                raise CallbackError(f"callback part {part!r} has characters outside [A-Za-z0-9_-.]")
    if len(data) > MAX_BYTES:  # ASCII only, so characters are bytes
        raise CallbackError(f"callback data {data!r} is over {MAX_BYTES} bytes")
    return data


def decode(data: str | None, namespace: str | None = None) -> Callback:
    if not data or len(data.encode("utf-8")) > MAX_BYTES:
        raise CallbackError("empty or oversized callback data")
    parts = data.split(":")
    if len(parts) < 3 or not all(_TOKEN.match(p) for p in parts):
        raise CallbackError("malformed callback data")
    ns, version, action, *args = parts
    if namespace is not None and ns != namespace:
        raise CallbackError(f"callback namespace {ns!r} is not {namespace!r}")
    if version != VERSION:
        raise CallbackError(f"callback version {version!r} is no longer understood")
    return Callback(ns, action, tuple(args), version)


def pattern(namespace: str) -> str:
    """A regex for ``CallbackQueryHandler(pattern=...)`` matching one namespace."""
    return rf"^{re.escape(namespace)}:"
