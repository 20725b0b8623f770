"""The outgoing queue: written in the transaction of the change that causes it.

``enqueue`` is how every feature sends on its own initiative (cards, card edits,
notices, reminders, bulletins). The dispatcher (bot/dispatcher.py) sends the items.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import aiosqlite

from storage.db import to_text


async def enqueue(
    conn: aiosqlite.Connection,
    *,
    key: str,
    chat_id: int,
    payload: dict[str, Any],
    now: datetime,
    method: str = "sendMessage",
    card: str | None = None,
    urgent: bool = False,
    not_before: datetime | None = None,
) -> bool:
    """Queue one Bot API call. ``key`` makes it idempotent: the same key twice queues
    one item (returns False the second time). ``card`` names a message kept up to date:
    a ``sendMessage`` with a card creates it, an ``editMessageText`` with the same card
    edits it (the dispatcher fills in the message id). ``payload`` holds the Bot API
    parameters other than chat_id and message_id."""
    cur = await conn.execute(
        "INSERT OR IGNORE INTO outbox (key, chat_id, method, payload, card, urgent, not_before,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            key,
            chat_id,
            method,
            json.dumps(payload, ensure_ascii=False),
            card,
            int(urgent),
            to_text(not_before or now),
            to_text(now),
        ),
    )
    return cur.rowcount == 1
