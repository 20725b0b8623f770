"""The WeCom channel's tables (migration 0026): accounts mapped to internal ids, the
callbacks recorded before WeCom is answered, and the messages the bot showed.

The core keys people and chats on integers. A WeCom member gets ``MEMBER_BASE + id``
and an app chat ``-(MEMBER_BASE + id)``: Telegram's ids stay far below 2^52, so the two
channels never meet in one id and every other table takes a WeCom id unchanged.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from campaign.channels import SECOND_CHANNEL_BASE
from storage.db import Database, from_text, to_text
from storage.inbox import precise_text

MEMBER_BASE = SECOND_CHANNEL_BASE  # one numbering: campaign/channels.py says whose id it is
MEMBER = "member"
APPCHAT = "appchat"


def internal_id(kind: str, row_id: int) -> int:
    return MEMBER_BASE + row_id if kind == MEMBER else -(MEMBER_BASE + row_id)


def is_wecom_id(value: int) -> bool:
    """Whether an id of the core (a user, a chat) is a WeCom member or app chat."""
    return abs(value) > MEMBER_BASE


def row_of(value: int) -> tuple[str, int]:
    return (MEMBER if value > 0 else APPCHAT), abs(value) - MEMBER_BASE


@dataclass(frozen=True)
class Account:
    internal_id: int
    kind: str
    external_id: str
    phone: str | None


def _account(row: Any) -> Account:
    return Account(
        internal_id(row["kind"], row["id"]), row["kind"], row["external_id"], row["phone"]
    )


async def account_of(db: Database, kind: str, external_id: str) -> Account | None:
    row = await db.fetchone(
        "SELECT id, kind, external_id, phone FROM wecom_accounts"
        " WHERE kind = ? AND external_id = ?",
        (kind, external_id),
    )
    return _account(row) if row else None


async def account_by_id(db: Database, value: int) -> Account | None:
    if not is_wecom_id(value):
        return None
    kind, row_id = row_of(value)
    row = await db.fetchone(
        "SELECT id, kind, external_id, phone FROM wecom_accounts WHERE id = ? AND kind = ?",
        (row_id, kind),
    )
    return _account(row) if row else None


async def save_account(
    db: Database, kind: str, external_id: str, phone: str | None, now: datetime
) -> Account:
    """The account of this member or app chat, made if new; a phone found for an
    existing member replaces the one recorded."""
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO wecom_accounts (kind, external_id, phone, created_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (kind, external_id) DO UPDATE SET"
            " phone = COALESCE(excluded.phone, wecom_accounts.phone)",
            (kind, external_id, phone, to_text(now)),
        )
    found = await account_of(db, kind, external_id)
    assert found is not None
    return found


async def unmapped_phones(db: Database) -> list[str]:
    """Phones of active roster cadres that no WeCom member is mapped to yet."""
    rows = await db.fetchall(
        "SELECT c.phone FROM cadres c WHERE c.active = 1 AND c.phone <> ''"
        " AND NOT EXISTS (SELECT 1 FROM wecom_accounts a WHERE a.kind = 'member'"
        " AND a.phone = c.phone) ORDER BY c.id"
    )
    return [str(r["phone"]) for r in rows]


async def members_of_cadres(db: Database, cadre_ids: Sequence[int]) -> dict[int, str]:
    """cadre id -> userid, for the cadres bound through WeCom."""
    if not cadre_ids:
        return {}
    marks = ", ".join("?" * len(cadre_ids))
    rows = await db.fetchall(
        f"SELECT b.cadre_id, b.telegram_user_id FROM telegram_bindings b"
        f" WHERE b.cadre_id IN ({marks})",
        tuple(cadre_ids),
    )
    out: dict[int, str] = {}
    for r in rows:
        acc = await account_by_id(db, int(r["telegram_user_id"]))
        if acc is not None and acc.kind == MEMBER:
            out[int(r["cadre_id"])] = acc.external_id
    return out


# --- callbacks ------------------------------------------------------------------------


@dataclass(frozen=True)
class InboundRow:
    id: int
    user_id: str
    body: dict[str, Any]


async def record_inbound(
    db: Database, dedupe_key: str, user_id: str, body: dict[str, Any], now: datetime
) -> bool:
    """Write one callback durably. False: it was there already (WeCom's retry, or a
    replay), and nothing changed."""
    async with db.write() as conn:
        cur = await conn.execute(
            "INSERT INTO wecom_inbound (dedupe_key, user_id, body, received_at, status)"
            " VALUES (?, ?, ?, ?, 'new') ON CONFLICT (dedupe_key) DO NOTHING",
            (dedupe_key, user_id, json.dumps(body, ensure_ascii=False), precise_text(now)),
        )
        return cur.rowcount == 1


async def open_inbound(db: Database, limit: int = 100) -> list[InboundRow]:
    rows = await db.fetchall(
        "SELECT id, user_id, body FROM wecom_inbound WHERE status = 'new' ORDER BY id LIMIT ?",
        (limit,),
    )
    return [InboundRow(int(r["id"]), str(r["user_id"]), json.loads(r["body"])) for r in rows]


async def inbound_done(db: Database, ids: Sequence[int], now: datetime) -> None:
    """Handled: the body goes (it may hold a place or a phone), the key stays for the
    de-duplication of late retries."""
    if not ids:
        return
    marks = ", ".join("?" * len(ids))
    async with db.write() as conn:
        await conn.execute(
            f"UPDATE wecom_inbound SET status = 'done', done_at = ?, body = '{{}}'"
            f" WHERE id IN ({marks})",
            (precise_text(now), *ids),
        )


async def inbound_counts(db: Database) -> dict[str, int]:
    rows = await db.fetchall("SELECT status, COUNT(*) AS n FROM wecom_inbound GROUP BY status")
    return {r["status"]: int(r["n"]) for r in rows}


# --- messages shown -------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    id: int
    chat_id: int
    text: str
    markup: dict[str, Any] | None
    numbered: bool
    sent_at: datetime


@dataclass(frozen=True)
class Task:
    task_id: str
    message_id: int
    user_id: str
    response_code: str | None
    code_at: datetime | None


def _shown(row: Any) -> Shown:
    return Shown(
        id=int(row["id"]),
        chat_id=int(row["chat_id"]),
        text=row["text"],
        markup=json.loads(row["markup"]) if row["markup"] else None,
        numbered=bool(row["numbered"]),
        sent_at=from_text(row["sent_at"]),
    )


def _task(row: Any) -> Task:
    return Task(
        task_id=row["task_id"],
        message_id=int(row["message_id"]),
        user_id=row["user_id"],
        response_code=row["response_code"],
        code_at=from_text(row["code_at"]) if row["code_at"] else None,
    )


_SHOWN = "SELECT id, chat_id, text, markup, numbered, sent_at FROM wecom_messages"
_TASK = "SELECT task_id, message_id, user_id, response_code, code_at FROM wecom_tasks"


def new_task_id() -> str:
    """A card's task id: unique within the app, of WeCom's letters (digits, letters, _-@)."""
    return "fb-" + secrets.token_hex(12)


def _markup_text(markup: dict[str, Any] | None) -> str | None:
    return json.dumps(markup, ensure_ascii=False) if markup else None


async def add_shown(
    db: Database,
    chat_id: int,
    text: str,
    markup: dict[str, Any] | None,
    now: datetime,
    *,
    numbered: bool = False,
) -> int:
    """Record a message shown in a chat; returns its message id."""
    async with db.write() as conn:
        cur = await conn.execute(
            "INSERT INTO wecom_messages (chat_id, text, markup, numbered, sent_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (chat_id, text, _markup_text(markup), 1 if numbered else 0, to_text(now)),
        )
        return int(cur.lastrowid or 0)


async def update_shown(
    db: Database,
    message_id: int,
    text: str,
    markup: dict[str, Any] | None,
    *,
    numbered: bool = False,
) -> None:
    async with db.write() as conn:
        await conn.execute(
            "UPDATE wecom_messages SET text = ?, markup = ?, numbered = ? WHERE id = ?",
            (text, _markup_text(markup), 1 if numbered else 0, message_id),
        )


async def shown(db: Database, message_id: int) -> Shown | None:
    row = await db.fetchone(_SHOWN + " WHERE id = ?", (message_id,))
    return _shown(row) if row else None


async def last_menu(db: Database, chat_id: int) -> Shown | None:
    """The newest message with buttons shown in a chat."""
    row = await db.fetchone(
        _SHOWN + " WHERE chat_id = ? AND markup IS NOT NULL ORDER BY id DESC LIMIT 1",
        (chat_id,),
    )
    return _shown(row) if row else None


async def last_shown(db: Database, chat_id: int) -> Shown | None:
    """The newest message shown in a chat (typed numbers answer it if it is a menu)."""
    row = await db.fetchone(_SHOWN + " WHERE chat_id = ? ORDER BY id DESC LIMIT 1", (chat_id,))
    return _shown(row) if row else None


async def add_task(
    db: Database,
    task_id: str,
    message_id: int,
    user_id: str,
    response_code: str | None,
    now: datetime,
) -> None:
    """A card sent to ``user_id`` showing the message (``response_code``: what the send
    returned, good for one update)."""
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO wecom_tasks (task_id, message_id, user_id, response_code, code_at,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                task_id,
                message_id,
                user_id,
                response_code,
                to_text(now) if response_code else None,
                to_text(now),
            ),
        )


async def task(db: Database, task_id: str) -> Task | None:
    row = await db.fetchone(_TASK + " WHERE task_id = ?", (task_id,))
    return _task(row) if row else None


async def newest_tasks(db: Database, message_id: int) -> list[Task]:
    """The newest card of the message for each member it went to."""
    rows = await db.fetchall(_TASK + " WHERE message_id = ? ORDER BY id", (message_id,))
    newest: dict[str, Task] = {}
    for r in rows:
        newest[r["user_id"]] = _task(r)
    return list(newest.values())


async def set_code(db: Database, task_id: str, code: str | None, now: datetime) -> None:
    """A press brought a fresh response code for this card (None: the code was spent)."""
    async with db.write() as conn:
        await conn.execute(
            "UPDATE wecom_tasks SET response_code = ?, code_at = ? WHERE task_id = ?",
            (code, to_text(now) if code else None, task_id),
        )


@dataclass(frozen=True)
class Pruned:
    inbound: int
    messages: int
    tasks: int


async def prune(db: Database, inbound_before: datetime, shown_before: datetime) -> Pruned:
    """Forget handled callbacks received before ``inbound_before`` (the callback server
    refuses one signed that long ago, so a late replay still changes nothing), and
    messages shown before ``shown_before`` with their cards (a press on such an old card
    is then ignored)."""
    async with db.write() as conn:
        cur = await conn.execute(
            "DELETE FROM wecom_inbound WHERE status = 'done' AND received_at < ?",
            (precise_text(inbound_before),),
        )
        inbound = cur.rowcount
        cur = await conn.execute(
            "DELETE FROM wecom_tasks WHERE message_id IN"
            " (SELECT id FROM wecom_messages WHERE sent_at < ?)",
            (to_text(shown_before),),
        )
        tasks = cur.rowcount
        cur = await conn.execute(
            "DELETE FROM wecom_messages WHERE sent_at < ?", (to_text(shown_before),)
        )
        return Pruned(inbound, cur.rowcount, tasks)
