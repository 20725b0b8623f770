"""The last occurrence each scheduled job handled, and the nightly clean-up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.db import Database, from_text, to_text


@dataclass(frozen=True)
class JobRun:
    job: str
    due_at: datetime
    ran_at: datetime
    outcome: str
    items: int


async def last_run(db: Database, job: str) -> JobRun | None:
    row = await db.fetchone("SELECT * FROM job_runs WHERE job = ?", (job,))
    if row is None:
        return None
    return JobRun(
        row["job"], from_text(row["due_at"]), from_text(row["ran_at"]), row["outcome"], row["items"]
    )


async def record_run(
    conn: aiosqlite.Connection, job: str, due: datetime, now: datetime, outcome: str, items: int
) -> None:
    """Inside the transaction that queued the job's messages: both happen or neither."""
    await conn.execute(
        "INSERT INTO job_runs (job, due_at, ran_at, outcome, items) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (job) DO UPDATE SET due_at = excluded.due_at, ran_at = excluded.ran_at,"
        " outcome = excluded.outcome, items = excluded.items",
        (job, to_text(due), to_text(now), outcome, items),
    )


async def prune_processed_updates(db: Database, before: datetime) -> int:
    async with db.write(long=True) as conn:
        cur = await conn.execute("DELETE FROM processed_updates WHERE at < ?", (to_text(before),))
        return cur.rowcount
