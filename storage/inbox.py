"""The webhook inbox: updates recorded durably before Telegram is answered, then claimed
by one process, handled and marked done (docs/processes.md).

Plain SQL that PostgreSQL runs as it stands, except the claim: on SQLite the write
transaction (``BEGIN IMMEDIATE``) already keeps every other process out while it picks
and marks; PostgreSQL picks with ``SELECT ... FOR UPDATE SKIP LOCKED`` as well, so that
two processes claiming at once take different rows without waiting. On PostgreSQL the
receiving process records an update already claimed by itself (``take``), and the
handler's first write carries its done-mark (``done_mark``, storage/db.DoneMark): the
claims and ``mark_done`` are then for the updates whose chat was busy, whose process
died, or whose handler wrote nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from storage.db import Database, DoneMark, to_text

NEW = "new"
CLAIMED = "claimed"
DONE = "done"

# PostgreSQL: the channel a transaction that marks updates done NOTIFYs on commit. An
# update whose chat had an earlier one in another process's hands was passed over by
# the claims; the mark frees it, and every process's worker LISTENs, so the one that
# recorded it claims it at once instead of at its next poll (``inbox_poll_seconds``).
CHANNEL = "fieldbot_inbox"


# PostgreSQL: the claims queue for this advisory lock among themselves (one chat's
# updates stay in order), not for the write lock every service's transaction takes;
# the extensions and the done-marks take neither (they touch only the holder's rows).
# SQLite: every one is an ordinary write transaction (BEGIN IMMEDIATE).
CLAIM_LOCK = 0x696E626F78  # "inbox"


def _notify(conn: Any) -> None:
    notify = getattr(conn, "notify_on_commit", None)  # PostgreSQL only; SQLite polls
    if notify is not None:
        notify(CHANNEL)


def precise_text(moment: datetime) -> str:
    """UTC ISO text to the microsecond, always the same width: text order is time order
    (leases are measured in seconds, so whole seconds are too coarse)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime reached storage")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class InboxItem:
    update_id: int
    chat_id: int | None
    body: str
    attempts: int


async def record(
    db: Database, update_id: int, chat_id: int | None, body: str, now: datetime
) -> bool:
    """Write one update durably (its own ``synchronous=FULL`` transaction; PostgreSQL:
    one statement in autocommit, not queued behind other write transactions). False: it
    was there already (Telegram delivered it again), and nothing changed."""
    changed = await db.write_one(
        "INSERT INTO inbox (update_id, chat_id, body, received_at, status)"
        " VALUES (?, ?, ?, ?, 'new') ON CONFLICT (update_id) DO NOTHING",
        (update_id, chat_id, body, precise_text(now)),
    )
    return changed == 1


async def take(
    db: Database,
    update_id: int,
    chat_id: int | None,
    body: str,
    now: datetime,
    holder: str,
    lease_until: datetime,
) -> str | None:
    """Record one update, durably, already claimed by ``holder`` (the process that
    received it handles it at once: no claim transaction, no wake-up of the others);
    'new' instead when its chat has another update not yet done that is not ours (it
    then waits for the claims, so one chat's updates stay in order). None: it was there
    already. PostgreSQL only (``Database.marks_with_writes``): one call of the function
    of migration 0032, one round trip, one commit."""
    row = await db.fetchone(
        "SELECT fieldbot_inbox_take(?, ?, ?, ?, ?, ?) AS taken",
        (update_id, chat_id, body, precise_text(now), holder, precise_text(lease_until)),
    )
    return None if row is None else cast(str | None, row["taken"])


def done_mark(update_id: int, chat_id: int | None, now: datetime, owner: object) -> DoneMark:
    """The mark that the handler's first write carries (storage/db.DoneMark): the rows
    ``mark_done`` writes, in that write's transaction."""
    return DoneMark(update_id, chat_id, precise_text(now), to_text(now), owner)


# PostgreSQL: the same rows as ``mark_done``'s, written by the handler's first write
# (storage/db.DoneMark, storage/pg.py). A transaction's COMMIT is one simple query, which
# takes no parameters: the mark goes in as literals (an integer and our own ISO texts,
# checked).
_MARK_TEXT = re.compile(r"^[0-9T:.+-]+$")


def mark_statements(mark: DoneMark) -> str:
    """The statements that mark ``mark``'s update done, to run before a COMMIT. NOTIFY
    only when its chat has an update waiting (recorded 'new' while this one was held)."""
    if not (_MARK_TEXT.match(mark.done_at) and _MARK_TEXT.match(mark.seen_at)):
        raise ValueError("not a timestamp")
    n = int(mark.update_id)
    sql = (
        f"UPDATE inbox SET status = 'done', done_at = '{mark.done_at}', lease_until = NULL,"
        f" body = '' WHERE update_id = {n} AND status <> 'done';"
        f" INSERT INTO processed_updates (update_id, at) VALUES ({n}, '{mark.seen_at}')"
        " ON CONFLICT (update_id) DO NOTHING; "
    )
    if mark.chat_id is not None:
        sql += (
            f"SELECT pg_notify('{CHANNEL}', '') WHERE EXISTS (SELECT 1 FROM inbox"
            f" WHERE chat_id = {int(mark.chat_id)} AND status = 'new'); "
        )
    return sql


# The same, in front of a step's single UPDATE (``write_step``: one statement in
# autocommit). Data-modifying WITH clauses run whether or not the statement reads them.
# Its parameters, before the step's own: done_at, update_id, seen_at, chat_id.
MARK_CTE = (
    "WITH fieldbot_done AS (UPDATE inbox SET status = 'done', done_at = ?,"
    " lease_until = NULL, body = '' WHERE update_id = ? AND status <> 'done'"
    " RETURNING update_id), fieldbot_seen AS (INSERT INTO processed_updates (update_id, at)"
    " SELECT update_id, ? FROM fieldbot_done ON CONFLICT (update_id) DO NOTHING"
    f" RETURNING (SELECT pg_notify('{CHANNEL}', '') FROM inbox AS w"
    " WHERE w.chat_id = ? AND w.status = 'new' LIMIT 1)) "
)


async def claim(
    db: Database, holder: str, now: datetime, lease_until: datetime, limit: int
) -> list[InboxItem]:
    """Take up to ``limit`` updates to handle, oldest first: new ones, and claimed ones
    whose lease ran out (their process died). An update whose chat has an earlier one
    held by another live process waits, so one chat's updates are handled in order.

    PostgreSQL: the SELECT is ``FOR UPDATE SKIP LOCKED``."""
    at = precise_text(now)
    async with db.write_apart(CLAIM_LOCK) as conn:
        cur = await conn.execute(
            "SELECT update_id, chat_id, body, attempts FROM inbox AS i"
            " WHERE (i.status = 'new' OR (i.status = 'claimed' AND i.lease_until < ?))"
            " AND NOT EXISTS (SELECT 1 FROM inbox AS e WHERE e.chat_id = i.chat_id"
            "   AND e.status = 'claimed' AND e.lease_until >= ? AND e.claimed_by <> ?"
            "   AND e.update_id < i.update_id)"
            " ORDER BY i.update_id LIMIT ? /*PG: FOR UPDATE OF i SKIP LOCKED*/",
            (at, at, holder, limit),
        )
        rows = list(await cur.fetchall())
        if not rows:
            return []
        ids = [r["update_id"] for r in rows]
        marks = ", ".join("?" * len(ids))
        await conn.execute(
            f"UPDATE inbox SET status = 'claimed', claimed_by = ?, lease_until = ?,"
            f" attempts = attempts + 1 WHERE update_id IN ({marks})",
            (holder, precise_text(lease_until), *ids),
        )
    return [InboxItem(r["update_id"], r["chat_id"], r["body"], r["attempts"] + 1) for r in rows]


async def extend(db: Database, holder: str, ids: Sequence[int], lease_until: datetime) -> None:
    """Keep holding updates still being handled (a slow handler outlives one lease)."""
    if not ids:
        return
    marks = ", ".join("?" * len(ids))
    async with db.write_apart(None) as conn:
        await conn.execute(
            f"UPDATE inbox SET lease_until = ? WHERE claimed_by = ? AND status = 'claimed'"
            f" AND update_id IN ({marks})",
            (precise_text(lease_until), holder, *ids),
        )


async def mark_done(db: Database, ids: Sequence[int], now: datetime) -> None:
    """Handled: never claimed again. The same durable transaction records them as
    processed, so the de-duplication of redelivered updates sees them at once."""
    if not ids:
        return
    marks = ", ".join("?" * len(ids))
    at = precise_text(now)
    async with db.write_apart(None) as conn:
        await conn.execute(
            # The body goes: it may hold a phone number or a location, and only the id is
            # needed from now on (a redelivery is still a no-op).
            f"UPDATE inbox SET status = 'done', done_at = ?, lease_until = NULL, body = ''"
            f" WHERE update_id IN ({marks})",
            (at, *ids),
        )
        await conn.execute(
            "INSERT INTO processed_updates (update_id, at) VALUES "
            + ", ".join(["(?, ?)"] * len(ids))
            + " ON CONFLICT (update_id) DO NOTHING",
            [v for i in ids for v in (i, to_text(now))],
        )
        # PostgreSQL: only when an update waits, since a NOTIFY makes every process run
        # a claim (updates are mostly recorded already claimed: ``take``).
        if getattr(conn, "notify_on_commit", None) is not None:
            waiting = await conn.execute("SELECT 1 FROM inbox WHERE status = 'new' LIMIT 1")
            if await waiting.fetchone() is not None:
                _notify(conn)


async def counts(db: Database) -> dict[str, int]:
    """How many updates are in each state (for the operator and the tests)."""
    rows = await db.fetchall("SELECT status, COUNT(*) AS n FROM inbox GROUP BY status")
    return {r["status"]: r["n"] for r in rows}


async def prune_done(db: Database, before: datetime) -> int:
    """Forget handled updates received before ``before`` (processed_updates keeps their
    ids for the de-duplication)."""
    async with db.write(long=True) as conn:
        cur = await conn.execute(
            "DELETE FROM inbox WHERE status = 'done' AND received_at < ?",
            (precise_text(before),),
        )
        return cur.rowcount
