"""Drafts: a report being typed, step by step. One open draft per kind, chat and user.

Every step of a conversation saves the draft and the step it reaches in one write, so a
crash or restart never loses what the cadre typed; ``open_steps`` lets the persistence
layer rebuild conversation state from these rows at start.

The open drafts a process serves are kept in its memory, written through by ``start``
and ``save_step``; ``current`` serves one only while the row's ``version`` (migration
0030: every change to a row bumps it, whoever writes it) is still the one it was read
or written at. That check is one small read, which also brings the people generation
(storage/people.sender), so an update of a conversation reads the database once. With
several processes (``open_of_user`` before each update, bot/persistence.py) that read
brings the versions and the generation too, and the update's ``current`` needs none.
"""

from __future__ import annotations

import weakref
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from storage.db import Database, Row, Writer, from_text, to_text

# What ``json.dumps`` accepts: keys that are not strings become strings; a date or a
# dataclass is refused (TypeError), not written in a form a reader would not expect.
_STRICT = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)


def _text(data: dict[str, Any]) -> str:
    """A draft's data as stored: JSON text, compact, non-ASCII as it is. orjson, since
    every step writes it and every update reads it: with the standard library the two
    took ~50 µs of a step's CPU."""
    return orjson.dumps(data, option=_STRICT).decode()


def _data(text: str) -> dict[str, Any]:
    found: dict[str, Any] = orjson.loads(text)
    return found


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
    version: int = 0  # bumped by every change to the row (migration 0030)


def _draft(row: Row) -> Draft:
    return Draft(
        id=row["id"],
        kind=row["kind"],
        cadre_id=row["cadre_id"],
        chat_id=row["chat_id"],
        user_id=row["user_id"],
        step=row["step"],
        data=_data(row["data"]),
        status=row["status"],
        result_id=row["result_id"],
        created_at=from_text(row["created_at"]),
        updated_at=from_text(row["updated_at"]),
        version=row["version"],
    )


class _Kept:
    """An open draft this process read or wrote, with its data as JSON text: each serve
    parses it afresh, so a form that changes what it was given in place never changes
    the kept copy (nor hides a change from ``Session.persist``'s comparison)."""

    __slots__ = ("draft", "data", "checked", "generation")

    def __init__(self, draft: Draft, data: str) -> None:
        self.draft = draft
        self.data = data
        # Confirmed by this update's ``open_of_user`` (its token), with the people
        # generation that read brought: served once without a read of its own.
        self.checked: object | None = None
        self.generation = -2

    def serve(self) -> Draft:
        d = self.draft
        return _moved(d, d.step, _data(self.data), d.updated_at, d.version)


def _moved(d: Draft, step: str, data: dict[str, Any], at: datetime, version: int) -> Draft:
    """``d`` at another step (built by hand: dataclasses.replace costs more than the
    parse of the data, on every update)."""
    return Draft(
        d.id,
        d.kind,
        d.cadre_id,
        d.chat_id,
        d.user_id,
        step,
        data,
        d.status,
        d.result_id,
        d.created_at,
        at,
        version,
    )


# One memory per open database (per process: never shared between processes), keyed by
# (kind, chat_id, user_id): the key of the one open draft.
_KEPT: weakref.WeakKeyDictionary[Database, dict[tuple[str, int, int], _Kept]] = (
    weakref.WeakKeyDictionary()
)
KEPT_MAX = 20_000  # drafts remembered; more and the memory starts over


def _kept(db: Database) -> dict[tuple[str, int, int], _Kept]:
    kept = _KEPT.get(db)
    if kept is None:
        kept = _KEPT[db] = {}
    return kept


def _keep(db: Database, draft: Draft, data: str) -> None:
    kept = _kept(db)
    if len(kept) >= KEPT_MAX:
        kept.clear()
    kept[(draft.kind, draft.chat_id, draft.user_id)] = _Kept(draft, data)


# The token of the ``open_of_user`` read of the update being handled (set in its task).
_CHECKED: ContextVar[object | None] = ContextVar("fieldbot_drafts_checked", default=None)


def forget(db: Database) -> None:
    """Drop every kept draft (the next update of each reads it afresh)."""
    _kept(db).clear()


_PEOPLE = "(SELECT generation FROM cache_generations WHERE name = 'people')"


async def current(db: Database, kind: str, chat_id: int, user_id: int) -> tuple[Draft | None, int]:
    """The open draft of this kind, chat and person (None: none is open) and the people
    generation now (-2 if unknown), in one read.

    A draft kept in memory is served when the row's version is still the kept one:
    the read then brings two integers, not the row. Otherwise (not kept, closed,
    changed by another process or a tool) the row is read and kept."""
    kept = _kept(db)
    key = (kind, chat_id, user_id)
    known = kept.get(key)
    if known is not None:
        if known.checked is not None and known.checked is _CHECKED.get():
            known.checked = None  # once: a later update checks again
            return known.serve(), known.generation
        row = await db.fetchone(
            f"SELECT {_PEOPLE} AS people_generation,"
            " (SELECT version FROM drafts WHERE id = ? AND status = 'open') AS version",
            (known.draft.id,),
        )
        if row is not None and row["version"] == known.draft.version:
            return known.serve(), _generation(row["people_generation"])
        del kept[key]
    row = await db.fetchone(
        f"SELECT {_PEOPLE} AS people_generation, d.* FROM (SELECT 1 AS one) AS one"
        " LEFT JOIN drafts d ON d.kind = ? AND d.chat_id = ? AND d.user_id = ?"
        " AND d.status = 'open'",
        (kind, chat_id, user_id),
    )
    if row is None:
        return None, -2
    generation = _generation(row["people_generation"])
    if row["id"] is None:
        return None, generation
    draft = _draft(row)
    _keep(db, draft, row["data"])
    return draft, generation


def _generation(value: int | None) -> int:
    return int(value) if value is not None else -2


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
    text = _text(data)
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
                text,
                to_text(now),
                to_text(now),
            ),
        )
        draft_id = int(cur.lastrowid or 0)
    # The row as it was written (what a read would give back), without reading it.
    at = from_text(to_text(now))
    draft = Draft(
        draft_id, kind, cadre_id, chat_id, user_id, step, _data(text), "open", None, at, at, 0
    )
    _keep(db, draft, text)
    return draft


async def save(db: Database, draft_id: int, step: str, data: dict[str, Any], now: datetime) -> bool:
    """Save what was typed and the step reached; False if the draft is no longer open.
    Durable against a crash at once, against a power cut before the update is confirmed
    to Telegram (``Database.write_step``)."""
    changed = await db.write_step(
        "UPDATE drafts SET step = ?, data = ?, updated_at = ? WHERE id = ? AND status = 'open'",
        (step, _text(data), to_text(now), draft_id),
    )
    return changed == 1


async def save_step(
    db: Database, draft: Draft, step: str, data: dict[str, Any], now: datetime
) -> Draft | None:
    """``save`` for the step engine: the draft as saved (kept in memory, its version one
    up), or None if it is no longer open. The statement bumps the version itself, so
    the version trigger has nothing to do."""
    text = _text(data)
    at = to_text(now)
    changed = await db.write_step(
        "UPDATE drafts SET step = ?, data = ?, updated_at = ?, version = version + 1"
        " WHERE id = ? AND status = 'open'",
        (step, text, at, draft.id),
    )
    key = (draft.kind, draft.chat_id, draft.user_id)
    if changed != 1:
        _kept(db).pop(key, None)
        return None
    saved = _moved(draft, step, data, from_text(at), draft.version + 1)
    # Another writer between this process's check and this statement leaves the row's
    # version above this one: the next check then reads the row afresh.
    _keep(db, saved, text)
    return saved


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


async def open_here(db: Database, chat_id: int, user_id: int) -> list[Draft]:
    """Every open draft of this person in this chat, newest first (one of each kind at
    most): one read for /visit, which carries on with its own or names another."""
    rows = await db.fetchall(
        "SELECT * FROM drafts WHERE chat_id = ? AND user_id = ? AND status = 'open'"
        " ORDER BY id DESC",
        (chat_id, user_id),
    )
    return [_draft(r) for r in rows]


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
    (several processes on one database, docs/processes.md).

    The same read brings each draft's version and the people generation: a kept draft
    still at its version is confirmed for the update being handled, whose ``current``
    then serves it without reading again."""
    rows = await db.fetchall(
        f"SELECT {_PEOPLE} AS people_generation, d.kind, d.chat_id, d.step, d.id, d.version"
        " FROM (SELECT 1 AS one) AS one LEFT JOIN drafts d ON d.user_id = ?"
        " AND d.status = 'open'",
        (user_id,),
    )
    if not rows:
        return []
    token = object()
    _CHECKED.set(token)
    generation = _generation(rows[0]["people_generation"])
    kept = _kept(db)
    found = []
    for r in rows:
        if r["id"] is None:  # no open draft: the row of the generation alone
            continue
        found.append((r["kind"], r["chat_id"], r["step"]))
        known = kept.get((r["kind"], r["chat_id"], user_id))
        # One whose version moved keeps an older token, which no check takes.
        if known is not None and known.draft.id == r["id"] and known.draft.version == r["version"]:
            known.checked, known.generation = token, generation
    return found
