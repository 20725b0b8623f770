"""The outgoing queue: written in the transaction of the change that causes it.

``enqueue`` is how every feature sends on its own initiative (cards, card edits,
notices, reminders, bulletins). The dispatcher (bot/dispatcher.py) sends the items with
the queries below; docs/dispatch.md tells the life of an item.

The dispatcher shares the application's one connection, on which a read would also see
another coroutine's uncommitted writes. So every query it makes decisions on runs inside
``db.write()`` (the functions taking ``conn``): the write lock guarantees that no other
transaction is open, and everything seen is committed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from campaign import message as stored
from campaign.message import Message
from storage.db import Database, Row, from_text, to_text

# The queue's two verbs. They keep the Bot API's names so that rows queued before
# messages were stored channel-neutral (``payload`` = Bot API parameters) read the same.
SEND = "sendMessage"  # a new message; with a card, the card's creating message
EDIT = "editMessageText"  # the card's message shows a new state

_listeners: list[Callable[[], None]] = []


def add_listener(fn: Callable[[], None]) -> None:
    """``fn`` is called whenever something is queued (the dispatcher's wake-up; in this
    process only: with several processes the leader polls, on PostgreSQL it would
    LISTEN for a NOTIFY sent by the enqueuing transaction). It runs
    before the enqueuing transaction commits; the dispatcher reads the queue only under
    the write lock, so it sees the item once the transaction is over."""
    _listeners.append(fn)


# PostgreSQL: the channel a transaction that queued something NOTIFYs on commit, so
# that the dispatcher in whichever process leads wakes at once (it polls otherwise).
CHANNEL = "fieldbot_outbox"


def _queued(conn: Any) -> None:
    """Something became due in ``conn``'s transaction: wake this process's dispatcher,
    and (PostgreSQL) every process's when the transaction commits."""
    notify = getattr(conn, "notify_on_commit", None)
    if notify is not None:
        notify(CHANNEL)
    for fn in list(_listeners):
        fn()


def remove_listener(fn: Callable[[], None]) -> None:
    if fn in _listeners:
        _listeners.remove(fn)


async def enqueue(
    conn: aiosqlite.Connection,
    *,
    key: str,
    chat_id: int,
    now: datetime,
    message: Message | None = None,
    edit: bool = False,
    payload: dict[str, Any] | None = None,
    method: str = SEND,
    card: str | None = None,
    urgent: bool = False,
    not_before: datetime | None = None,
    expires_at: datetime | None = None,
) -> bool:
    """Queue one message. ``key`` makes it idempotent: the same key twice queues one
    item (returns False the second time). ``card`` names a message kept up to date: a
    send with a card creates it, an ``edit`` with the same card shows the card's new
    state in that message (the whole state: text and buttons). An item still unsent at
    ``expires_at`` is dropped instead of sent late.

    ``message`` is stored channel-neutral (``campaign.message.to_json``); the sender
    renders it. The older form, ``payload`` = Bot API parameters other than chat_id and
    message_id with their ``method``, is still taken for callers not yet converted."""
    if (message is None) == (payload is None):
        raise ValueError("queue either a message or a payload")
    if message is not None:
        payload, method = stored.to_json(message), EDIT if edit else SEND
    cur = await conn.execute(
        "INSERT OR IGNORE INTO outbox (key, chat_id, method, payload, card, urgent, not_before,"
        " expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            key,
            chat_id,
            method,
            json.dumps(payload, ensure_ascii=False),
            card,
            int(urgent),
            to_text(not_before or now),
            to_text(expires_at) if expires_at else None,
            to_text(now),
        ),
    )
    if cur.rowcount == 1:
        _queued(conn)
    return cur.rowcount == 1


@dataclass(frozen=True)
class NewItem:
    """One message for ``enqueue_many`` (a plain send, as ``enqueue`` with ``message``)."""

    key: str
    chat_id: int
    message: Message
    urgent: bool = False
    expires_at: datetime | None = None
    card: str | None = None  # as ``enqueue``'s: the message a card's later edits change
    edit: bool = False  # as ``enqueue``'s: show the card's new state in its message


async def enqueue_many(conn: aiosqlite.Connection, items: Sequence[NewItem], now: datetime) -> int:
    """Queue many messages in the caller's transaction in ONE trip to the writing
    thread (``enqueue`` costs one per item); returns how many were new. Keys make it
    idempotent exactly as ``enqueue``."""
    if not items:
        return 0
    at = to_text(now)
    cur = await conn.executemany(
        "INSERT OR IGNORE INTO outbox (key, chat_id, method, payload, card, urgent, not_before,"
        " expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                i.key,
                i.chat_id,
                EDIT if i.edit else SEND,
                json.dumps(stored.to_json(i.message), ensure_ascii=False),
                i.card,
                int(i.urgent),
                at,
                to_text(i.expires_at) if i.expires_at else None,
                at,
            )
            for i in items
        ],
    )
    new = max(cur.rowcount, 0)
    if new:
        _queued(conn)
    return new


async def known_keys(db: Database, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` the outbox already holds (in any state): queueing them again
    would queue nothing, so a job may skip making their messages. A read on the loop's
    connection, no trip to the writing thread."""
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        rows = await db.fetchall(f"SELECT key FROM outbox WHERE key IN ({marks})", chunk)
        found.update(r[0] for r in rows)
    return found


# --- items ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    id: int
    key: str
    chat_id: int
    method: str
    payload: dict[str, Any]
    card: str | None
    urgent: bool
    not_before: datetime
    status: str
    attempts: int
    last_error: str | None
    sent_message_id: int | None
    created_at: datetime
    sent_at: datetime | None

    @property
    def message(self) -> Message | None:
        """The queued message; None for an item in the older Bot API form."""
        return stored.from_json(self.payload) if stored.is_json(self.payload) else None


def _item(row: Row) -> Item:
    return Item(
        id=row["id"],
        key=row["key"],
        chat_id=row["chat_id"],
        method=row["method"],
        payload=json.loads(row["payload"]),
        card=row["card"],
        urgent=bool(row["urgent"]),
        not_before=from_text(row["not_before"]),
        status=row["status"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        sent_message_id=row["sent_message_id"],
        created_at=from_text(row["created_at"]),
        sent_at=from_text(row["sent_at"]) if row["sent_at"] else None,
    )


async def _all(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> list[Row]:
    async with conn.execute(sql, tuple(params)) as cur:
        return list(await cur.fetchall())


async def _one(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> Row | None:
    async with conn.execute(sql, tuple(params)) as cur:
        return await cur.fetchone()


def _marks(ids: Sequence[int]) -> str:
    return ",".join("?" * len(ids))


async def item(db: Database, item_id: int) -> Item | None:
    row = await db.fetchone("SELECT * FROM outbox WHERE id = ?", (item_id,))
    return _item(row) if row else None


async def item_in(conn: aiosqlite.Connection, item_id: int) -> Item | None:
    row = await _one(conn, "SELECT * FROM outbox WHERE id = ?", (item_id,))
    return _item(row) if row else None


# --- what the dispatcher does inside its claim transaction ------------------------------


async def drop_expired(conn: aiosqlite.Connection, now: datetime) -> list[int]:
    """Drop pending items whose moment has passed; returns their ids."""
    rows = await _all(
        conn,
        "SELECT id FROM outbox WHERE status = 'pending' AND expires_at IS NOT NULL"
        " AND expires_at <= ?",
        (to_text(now),),
    )
    ids = [int(r["id"]) for r in rows]
    if ids:
        await conn.execute(
            f"UPDATE outbox SET status = 'dropped', last_error = 'expired before it could be"
            f" sent' WHERE id IN ({_marks(ids)})",
            ids,
        )
    return ids


async def interrupted(conn: aiosqlite.Connection) -> list[Item]:
    """Items left mid-send by a process that stopped before it recorded the outcome."""
    return [_item(r) for r in await _all(conn, "SELECT * FROM outbox WHERE status = 'sending'")]


async def card_backlog(conn: aiosqlite.Connection) -> dict[str, list[Item]]:
    """Per card with more than one unsent item: its pending items and parked creates."""
    rows = await _all(
        conn,
        "SELECT * FROM outbox WHERE card IN ("
        "  SELECT card FROM outbox WHERE card IS NOT NULL AND status = 'pending')"
        " AND (status = 'pending' OR (status = 'parked' AND method = 'sendMessage'))"
        " ORDER BY id",
    )
    out: dict[str, list[Item]] = {}
    for r in rows:
        it = _item(r)
        assert it.card is not None
        out.setdefault(it.card, []).append(it)
    return {card: items for card, items in out.items() if len(items) > 1}


async def rewrite(
    conn: aiosqlite.Connection, item_id: int, method: str, payload: dict[str, Any], urgent: bool
) -> None:
    await conn.execute(
        "UPDATE outbox SET method = ?, payload = ?, urgent = ? WHERE id = ?",
        (method, json.dumps(payload, ensure_ascii=False), int(urgent), item_id),
    )


async def supersede(conn: aiosqlite.Connection, ids: Sequence[int], reason: str) -> None:
    if ids:
        await conn.execute(
            f"UPDATE outbox SET status = 'superseded', last_error = ?"
            f" WHERE status IN ('pending', 'parked') AND id IN ({_marks(ids)})",
            (reason, *ids),
        )


async def drop_for_unreachable(
    conn: aiosqlite.Connection, probe_before: datetime, reason: str
) -> list[int]:
    """Drop pending items to chats that refused us. A chat marked before
    ``probe_before`` is tried again instead (its mark may be stale)."""
    rows = await _all(
        conn,
        "SELECT o.id FROM outbox o JOIN unreachable_chats u ON u.chat_id = o.chat_id"
        " WHERE o.status = 'pending' AND u.since > ?",
        (to_text(probe_before),),
    )
    ids = [r["id"] for r in rows]
    if ids:
        await conn.execute(
            f"UPDATE outbox SET status = 'dropped', last_error = ? WHERE id IN ({_marks(ids)})",
            (reason, *ids),
        )
    return ids


def _due(urgent_only: bool) -> str:
    return "status = 'pending' AND not_before <= ?" + (" AND urgent = 1" if urgent_only else "")


async def due_heads(
    conn: aiosqlite.Connection, now: datetime, urgent_only: bool, limit: int
) -> list[Item]:
    """The oldest due item of each chat, urgent first, then oldest first. PostgreSQL:
    read ``FOR UPDATE SKIP LOCKED``, so a head another transaction holds is passed over
    (and its chat's later items with it), never waited for; on SQLite the claim's write
    transaction already excludes every other process."""
    rows = await _all(
        conn,
        f"SELECT * FROM outbox WHERE id IN (SELECT MIN(id) FROM outbox WHERE {_due(urgent_only)}"
        f" GROUP BY chat_id) ORDER BY urgent DESC, id LIMIT ? /*PG: FOR UPDATE SKIP LOCKED*/",
        (to_text(now), limit),
    )
    return [_item(r) for r in rows]


async def due_group_counts(
    conn: aiosqlite.Connection, now: datetime, urgent_only: bool
) -> dict[int, int]:
    """Group chats with more than one due item, and how many."""
    rows = await _all(
        conn,
        f"SELECT chat_id, COUNT(*) AS n FROM outbox WHERE {_due(urgent_only)} AND chat_id < 0"
        f" GROUP BY chat_id HAVING COUNT(*) > 1",
        (to_text(now),),
    )
    return {r["chat_id"]: r["n"] for r in rows}


async def due_in_chat(
    conn: aiosqlite.Connection, chat_id: int, now: datetime, urgent_only: bool
) -> list[Item]:
    rows = await _all(
        conn,
        f"SELECT * FROM outbox WHERE {_due(urgent_only)} AND chat_id = ? ORDER BY id",
        (to_text(now), chat_id),
    )
    return [_item(r) for r in rows]


async def next_due(conn: aiosqlite.Connection, urgent_only: bool) -> datetime | None:
    row = await _one(
        conn,
        "SELECT MIN(not_before) AS t FROM outbox WHERE status = 'pending'"
        + (" AND urgent = 1" if urgent_only else ""),
    )
    return from_text(row["t"]) if row and row["t"] else None


async def card_message(conn: aiosqlite.Connection, card: str) -> tuple[int, int | None] | None:
    row = await _one(conn, "SELECT chat_id, message_id FROM cards WHERE card = ?", (card,))
    return (row["chat_id"], row["message_id"]) if row else None


async def card_create_status(conn: aiosqlite.Connection, card: str) -> str | None:
    """The status of the newest item that creates ``card``, if any."""
    row = await _one(
        conn,
        "SELECT status FROM outbox WHERE card = ? AND method = 'sendMessage'"
        " ORDER BY id DESC LIMIT 1",
        (card,),
    )
    return row["status"] if row else None


async def mark_sending(conn: aiosqlite.Connection, ids: Sequence[int]) -> None:
    if ids:
        await conn.execute(
            f"UPDATE outbox SET status = 'sending', attempts = attempts + 1"
            f" WHERE status = 'pending' AND id IN ({_marks(ids)})",
            tuple(ids),
        )


# --- recording outcomes, each in its own short transaction ------------------------------


async def mark_sent(
    conn: aiosqlite.Connection, it: Item, message_id: int | None, now: datetime
) -> None:
    await conn.execute(
        "UPDATE outbox SET status = 'sent', sent_message_id = ?, sent_at = ?, last_error = NULL"
        " WHERE id = ?",
        (message_id, to_text(now), it.id),
    )
    if it.card and it.method == "sendMessage":
        await conn.execute(
            "INSERT INTO cards (card, chat_id, message_id) VALUES (?, ?, ?)"
            " ON CONFLICT (card) DO UPDATE SET chat_id = excluded.chat_id,"
            " message_id = excluded.message_id",
            (it.card, it.chat_id, message_id),
        )


async def retry_later(
    conn: aiosqlite.Connection, item_id: int, not_before: datetime, error: str, *, counts: bool
) -> None:
    """Back to pending. A refusal that is no fault of the item (a 429) does not count
    as a try."""
    await conn.execute(
        "UPDATE outbox SET status = 'pending', not_before = ?, last_error = ?,"
        " attempts = attempts - ? WHERE id = ?",
        (to_text(not_before), error[:500], 0 if counts else 1, item_id),
    )


async def park(conn: aiosqlite.Connection, item_id: int, error: str) -> None:
    await conn.execute(
        "UPDATE outbox SET status = 'parked', last_error = ? WHERE id = ?",
        (error[:500], item_id),
    )


async def drop(conn: aiosqlite.Connection, item_id: int, error: str) -> None:
    await conn.execute(
        "UPDATE outbox SET status = 'dropped', last_error = ? WHERE id = ?",
        (error[:500], item_id),
    )


async def mark_unreachable(
    conn: aiosqlite.Connection, chat_id: int, reason: str, now: datetime
) -> tuple[bool, list[int]]:
    """Record that ``chat_id`` refused us and drop its pending items. Returns whether the
    chat is newly unreachable (not a repeat of a known refusal) and the dropped ids."""
    row = await _one(conn, "SELECT 1 FROM unreachable_chats WHERE chat_id = ?", (chat_id,))
    await conn.execute(
        "INSERT INTO unreachable_chats (chat_id, since, reason) VALUES (?, ?, ?)"
        " ON CONFLICT (chat_id) DO UPDATE SET since = excluded.since, reason = excluded.reason",
        (chat_id, to_text(now), reason[:500]),
    )
    rows = await _all(
        conn, "SELECT id FROM outbox WHERE chat_id = ? AND status = 'pending'", (chat_id,)
    )
    ids = [r["id"] for r in rows]
    if ids:
        await conn.execute(
            f"UPDATE outbox SET status = 'dropped', last_error = ? WHERE id IN ({_marks(ids)})",
            (reason[:500], *ids),
        )
    return row is None, ids


async def clear_unreachable(conn: aiosqlite.Connection, chat_id: int) -> bool:
    cur = await conn.execute("DELETE FROM unreachable_chats WHERE chat_id = ?", (chat_id,))
    return cur.rowcount == 1


async def recent_sends(db: Database, since: datetime) -> list[tuple[int, datetime]]:
    """(chat, when) of what was sent after ``since``: the pacer's memory after a restart."""
    rows = await db.fetchall(
        "SELECT chat_id, sent_at FROM outbox WHERE status = 'sent' AND sent_at >= ?"
        " ORDER BY sent_at",
        (to_text(since),),
    )
    return [(r["chat_id"], from_text(r["sent_at"])) for r in rows]


# --- who a chat is (for the office) -------------------------------------------------------


@dataclass(frozen=True)
class ChatLabel:
    chat_id: int
    cadre_name: str | None = None
    team_name: str | None = None
    chat_title: str | None = None


async def chat_label(conn: aiosqlite.Connection, chat_id: int) -> ChatLabel:
    """The cadre bound to a private chat, or the title of a bound group chat."""
    if chat_id > 0:
        row = await _one(
            conn,
            "SELECT c.name, COALESCE(t.name, '') AS team FROM telegram_bindings b"
            " JOIN cadres c ON c.id = b.cadre_id LEFT JOIN teams t ON t.id = c.team_id"
            " WHERE b.telegram_user_id = ?",
            (chat_id,),
        )
        if row:
            return ChatLabel(chat_id, cadre_name=row["name"], team_name=row["team"] or None)
        return ChatLabel(chat_id)
    row = await _one(conn, "SELECT title FROM bound_chats WHERE chat_id = ?", (chat_id,))
    return ChatLabel(chat_id, chat_title=(row["title"] or None) if row else None)


async def office_chat_id(conn: aiosqlite.Connection) -> int | None:
    row = await _one(conn, "SELECT chat_id FROM bound_chats WHERE kind = 'office'")
    return int(row["chat_id"]) if row else None


# --- for the office: parked items and unreachable chats --------------------------------


@dataclass(frozen=True)
class Unreachable:
    chat_id: int
    since: datetime
    reason: str


async def parked(db: Database, limit: int = 10) -> tuple[list[Item], int]:
    """The newest parked items and how many there are in all."""
    rows = await db.fetchall(
        "SELECT * FROM outbox WHERE status = 'parked' ORDER BY id DESC LIMIT ?", (limit,)
    )
    total = await db.fetchone("SELECT COUNT(*) AS n FROM outbox WHERE status = 'parked'")
    return [_item(r) for r in rows], int(total["n"]) if total else 0


async def unreachable(db: Database, limit: int = 10) -> tuple[list[Unreachable], int]:
    rows = await db.fetchall(
        "SELECT chat_id, since, reason FROM unreachable_chats ORDER BY since DESC LIMIT ?",
        (limit,),
    )
    total = await db.fetchone("SELECT COUNT(*) AS n FROM unreachable_chats")
    return (
        [Unreachable(r["chat_id"], from_text(r["since"]), r["reason"]) for r in rows],
        int(total["n"]) if total else 0,
    )


async def chat_labels(db: Database, chat_ids: Iterable[int]) -> dict[int, ChatLabel]:
    return {c: await chat_label(db.conn, c) for c in set(chat_ids)}


async def requeue(conn: aiosqlite.Connection, item_id: int, now: datetime) -> str | None:
    """Send a parked item again (the office asked). Returns the item's status before:
    only 'parked' changed anything; None if there is no such item."""
    row = await _one(conn, "SELECT status, chat_id FROM outbox WHERE id = ?", (item_id,))
    if row is None:
        return None
    if row["status"] != "parked":
        return str(row["status"])
    await conn.execute(
        "UPDATE outbox SET status = 'pending', attempts = 0, not_before = ? WHERE id = ?",
        (to_text(now), item_id),
    )
    await conn.execute("DELETE FROM unreachable_chats WHERE chat_id = ?", (row["chat_id"],))
    _queued(conn)
    return "parked"


async def counts(db: Database) -> dict[str, int]:
    rows = await db.fetchall("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status")
    return {r["status"]: r["n"] for r in rows}


async def prune(db: Database, before: datetime) -> tuple[int, list[str]]:
    """Forget items that were finished (sent, superseded, dropped) before ``before``;
    parked and pending ones stay. Returns how many, and the local files their payloads
    uploaded, which nothing else refers to any more (for the caller to delete). Cards
    keep their message ids in their own table, so old cards are still edited in place."""
    done = "status IN ('sent', 'superseded', 'dropped') AND COALESCE(sent_at, created_at) < ?"
    async with db.write(long=True) as conn:
        rows = await _all(conn, f"SELECT payload FROM outbox WHERE {done}", (to_text(before),))
        cur = await conn.execute(f"DELETE FROM outbox WHERE {done}", (to_text(before),))
        removed = cur.rowcount
        kept = await _all(
            conn,
            "SELECT payload FROM outbox WHERE payload LIKE '%\"path\"%'"
            " OR payload LIKE '%\"document\"%' OR payload LIKE '%\"photos\"%'",
        )
    still_used = {p for r in kept for p in _file_paths(r["payload"])}
    files = sorted({p for r in rows for p in _file_paths(r["payload"])} - still_used)
    return removed, files


def _file_paths(payload: str) -> list[str]:
    """Local files a payload uploads: a message's document and photos given as paths,
    or ``{"path": ...}`` values of the older Bot API form (see bot/sending.py)."""
    try:
        data = json.loads(payload)
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    if stored.is_json(data):
        try:
            msg = stored.from_json(data)
        except ValueError:
            return []
        refs = [*msg.photos, *([msg.document] if msg.document else [])]
        return [r for r in refs if Path(r).is_absolute()]
    return [
        str(v["path"])
        for v in data.values()
        if isinstance(v, dict) and isinstance(v.get("path"), str)
    ]
