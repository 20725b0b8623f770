"""Which channel an account belongs to, from its internal id.

The core keys people and chats on integers. Telegram's own ids (people positive, group
chats negative) stay below 2**52 in size; a second channel's accounts are numbered
beyond it (WeCom: a member 2**52 + n, an app chat -(2**52 + n); storage/wecom.py).
A cadre may have one account on each channel (storage/people.bind_second).
"""

from __future__ import annotations

SECOND_CHANNEL_BASE = 2**52
TELEGRAM = "telegram"
WECOM = "wecom"


def channel_of(account_id: int) -> str:
    return WECOM if abs(account_id) >= SECOND_CHANNEL_BASE else TELEGRAM


def same_channel(a: int, b: int) -> bool:
    return channel_of(a) == channel_of(b)
