"""Named leases: one bot process at a time holds each (docs/processes.md).

``take`` both takes a free or expired lease and renews one already held, in one
statement; the holder's row says until when. Portable SQL (``ON CONFLICT ... DO UPDATE
... WHERE`` runs on SQLite and PostgreSQL alike). On PostgreSQL a session advisory lock
(``pg_try_advisory_lock``) could replace the row: it is released the moment the holder's
connection drops, with no lease to wait out: bot/leader.py takes it there, and then
writes the row with ``take_over`` (the row stays the fence the dispatcher's claims read).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from storage.db import Database, Row
from storage.inbox import precise_text

DISPATCHER = "dispatcher"


@dataclass(frozen=True)
class Lease:
    name: str
    holder: str
    until: datetime
    term: int


async def take(db: Database, name: str, holder: str, now: datetime, until: datetime) -> Lease:
    """Take or renew ``name`` for ``holder`` until ``until`` if it is free, expired or
    already ours; returns the lease as it stands afterwards (ours or someone else's)."""
    at = precise_text(now)
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO leases (name, holder, until, renewed_at, term) VALUES (?, ?, ?, ?, 1)"
            " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
            " until = excluded.until, renewed_at = excluded.renewed_at,"
            " term = CASE WHEN leases.holder = excluded.holder THEN leases.term"
            "        ELSE leases.term + 1 END"
            " WHERE leases.holder = excluded.holder OR leases.until < excluded.renewed_at",
            (name, holder, precise_text(until), at),
        )
        cur = await conn.execute(
            "SELECT name, holder, until, term FROM leases WHERE name = ?", (name,)
        )
        row = await cur.fetchone()
    assert row is not None
    return _lease(row)


async def take_over(db: Database, name: str, holder: str, now: datetime, until: datetime) -> Lease:
    """``holder`` leads, whatever the row said (PostgreSQL: it holds the session advisory
    lock, so whoever wrote the row before lost theirs with their connection): the row is
    ours until ``until``, a new term if it was someone else's. Written on the lock's own
    connection (``PgDatabase.session_write``), not behind this process's other writers."""
    async with db.session_write() as conn:
        await conn.execute(
            "INSERT INTO leases (name, holder, until, renewed_at, term) VALUES (?, ?, ?, ?, 1)"
            " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
            " until = excluded.until, renewed_at = excluded.renewed_at,"
            " term = CASE WHEN leases.holder = excluded.holder THEN leases.term"
            "        ELSE leases.term + 1 END",
            (name, holder, precise_text(until), precise_text(now)),
        )
        cur = await conn.execute(
            "SELECT name, holder, until, term FROM leases WHERE name = ?", (name,)
        )
        row = await cur.fetchone()
    assert row is not None
    return _lease(row)


async def holds(db: Database, name: str, holder: str, now: datetime) -> bool:
    """Whether ``holder`` holds ``name`` at ``now`` (read inside a transaction, this
    fences a write: nobody else can take the lease before it commits)."""
    row = await db.fetchone(
        "SELECT 1 FROM leases WHERE name = ? AND holder = ? AND until >= ?",
        (name, holder, precise_text(now)),
    )
    return row is not None


async def release(db: Database, name: str, holder: str) -> None:
    """Give the lease up at a clean stop, so a standby takes over at once."""
    async with db.write() as conn:  # an empty ``until`` sorts before every moment
        await conn.execute(
            "UPDATE leases SET until = '' WHERE name = ? AND holder = ?", (name, holder)
        )


async def current(db: Database, name: str) -> Lease | None:
    row = await db.fetchone("SELECT name, holder, until, term FROM leases WHERE name = ?", (name,))
    return None if row is None else _lease(row)


def _lease(row: Row) -> Lease:
    until = (
        datetime.fromisoformat(row["until"]) if row["until"] else datetime.min.replace(tzinfo=UTC)
    )
    return Lease(row["name"], row["holder"], until, row["term"])
