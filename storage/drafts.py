"""Drafts: a report being typed, step by step. One open draft per kind, chat and user.

Every step of a conversation saves the draft and the step it reaches in one write, so a
crash or restart never loses what the cadre typed; ``open_steps`` lets the persistence
layer rebuild conversation state from these rows at start.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Database, Row, Writer, from_text, to_text


@dataclass(frozen=True)
class Draft:
    id: int
    kind: str
    cadre_id: int
    chat_id: int
    user_id: int
    step: str
    data: dict[str, Any]
    status: str
    result_id: int | None
    created_at: datetime
    updated_at: datetime


def _draft(row: Row) -> Draft:
    return Draft(
        id=row["id"],
        kind=row["kind"],
        cadre_id=row["cadre_id"],
        chat_id=row["chat_id"],
        user_id=row["user_id"],
        step=row["step"],
        data=json.loads(row["data"]),
        status=row["status"],
        result_id=row["result_id"],
        created_at=from_text(row["created_at"]),
        updated_at=from_text(row["updated_at"]),
    )


async def get(db: Database, draft_id: int) -> Draft | None:
    row = await db.fetchone("SELECT * FROM drafts WHERE id = ?", (draft_id,))
    return _draft(row) if row else None


async def open_draft(db: Database, kind: str, chat_id: int, user_id: int) -> Draft | None:
    row = await db.fetchone(
        "SELECT * FROM drafts WHERE kind = ? AND chat_id = ? AND user_id = ? AND status = 'open'",
        (kind, chat_id, user_id),
    )
    return _draft(row) if row else None


async def start(
    db: Database,
    kind: str,
    cadre_id: int,
    chat_id: int,
    user_id: int,
    step: str,
    data: dict[str, Any],
    now: datetime,
) -> Draft:
    """Open a new draft, cancelling any open one of the same kind in this chat (a step:
    durable like ``save``)."""
    async with db.step() as conn:
        await conn.execute(
            "UPDATE drafts SET status = 'cancelled', updated_at = ?"
            " WHERE kind = ? AND chat_id = ? AND user_id = ? AND status = 'open'",
            (to_text(now), kind, chat_id, user_id),
        )
        cur = await conn.execute(
            "INSERT INTO drafts (kind, cadre_id, chat_id, user_id, step, data, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                kind,
                cadre_id,
                chat_id,
                user_id,
                step,
                json.dumps(data, ensure_ascii=False),
                to_text(now),
                to_text(now),
            ),
        )
        draft_id = int(cur.lastrowid or 0)
    draft = await get(db, draft_id)
    assert draft is not None
    return draft


async def save(db: Database, draft_id: int, step: str, data: dict[str, Any], now: datetime) -> bool:
    """Save what was typed and the step reached; False if the draft is no longer open.
    Durable against a crash at once, against a power cut before the update is confirmed
    to Telegram (``Database.write_step``)."""
    changed = await db.write_step(
        "UPDATE drafts SET step = ?, data = ?, updated_at = ? WHERE id = ? AND status = 'open'",
        (step, json.dumps(data, ensure_ascii=False), to_text(now), draft_id),
    )
    return changed == 1


async def close(
    conn: Writer,
    draft_id: int,
    status: str,
    now: datetime,
    result_id: int | None = None,
) -> bool:
    """Close an open draft inside the caller's transaction; False if it was already closed
    (a second Submit, a redelivered update), so the caller writes nothing twice."""
    if status not in ("submitted", "cancelled"):
        raise ValueError(status)
    cur = await conn.execute(
        "UPDATE drafts SET status = ?, result_id = ?, updated_at = ?"
        " WHERE id = ? AND status = 'open'",
        (status, result_id, to_text(now), draft_id),
    )
    return cur.rowcount == 1


async def cancel(db: Database, draft_id: int, now: datetime) -> bool:
    async with db.write() as conn:
        return await close(conn, draft_id, "cancelled", now)


async def open_steps(db: Database, kind: str) -> dict[tuple[int, int], str]:
    """(chat_id, user_id) → step of every open draft of this kind."""
    rows = await db.fetchall(
        "SELECT chat_id, user_id, step FROM drafts WHERE kind = ? AND status = 'open'", (kind,)
    )
    return {(r["chat_id"], r["user_id"]): r["step"] for r in rows}


async def other_open(
    db: Database, chat_id: int, user_id: int, kind: str, after_id: int = 0
) -> Draft | None:
    """The newest open draft of another kind of this person in this chat (newer than
    draft ``after_id`` when given): a flow never takes text typed for another one."""
    row = await db.fetchone(
        "SELECT * FROM drafts WHERE chat_id = ? AND user_id = ? AND status = 'open'"
        " AND kind != ? AND id > ? ORDER BY id DESC LIMIT 1",
        (chat_id, user_id, kind, after_id),
    )
    return _draft(row) if row else None


async def open_of_user(db: Database, user_id: int) -> list[tuple[str, int, str]]:
    """(kind, chat_id, step) of every open draft of this person, in any chat: the state
    of their conversations, read afresh by a process that may not have seen them begin
    (several processes on one database, docs/processes.md)."""
    rows = await db.fetchall(
        "SELECT kind, chat_id, step FROM drafts WHERE user_id = ? AND status = 'open'",
        (user_id,),
    )
    return [(r["kind"], r["chat_id"], r["step"]) for r in rows]
