"""The problem ledger (问题台账), written: a new problem with its photos and first
reporter, a reporter joining, a change to a problem's row, and the event every change
leaves. SQL only, inside the caller's transaction: services/problems.py decides what
changes (by the escalation rules) and queues what the change causes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from storage.db import Database, to_text
from storage.problems import NewProblem


@dataclass(frozen=True)
class RowChange:
    """New values for a problem's row; None (or False) leaves a column as it is."""

    status: str | None = None
    owner_id: int | None = None
    clear_owner: bool = False
    level: str | None = None
    deadline: datetime | None = None  # with ``level``: the new level's deadline
    closes: bool = False
    resolution: str = ""
    watch: bool = False
    explained_by: str | None = None
    explained_on: str | None = None
    department: str | None = None


async def add_event(
    conn: aiosqlite.Connection,
    problem_id: int,
    action: str,
    now: datetime,
    *,
    actor_id: int | None,
    chat_id: int | None,
    from_level: str | None = None,
    to_level: str | None = None,
    note: str = "",
) -> int:
    cur = await conn.execute(
        "INSERT INTO problem_events (problem_id, at, actor_id, chat_id, action, from_level,"
        " to_level, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (problem_id, to_text(now), actor_id, chat_id, action, from_level, to_level, note),
    )
    return int(cur.lastrowid or 0)


async def insert_problem(
    conn: aiosqlite.Connection,
    *,
    reporter_id: int,
    team_id: int | None,
    group_id: int | None,
    new: NewProblem,
    level: str,
    deadline: datetime,
    draft_id: int,
    now: datetime,
) -> int:
    """The problem's row, its photos and its first reporter; the draft points to it."""
    cur = await conn.execute(
        "INSERT INTO problems (reporter_id, team_id, group_id, place_id, category,"
        " description, urgent, level, status, level_since, deadline, draft_id, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?)",
        (
            reporter_id,
            team_id,
            group_id,
            new.place_id,
            new.category,
            new.description,
            int(new.urgent),
            level,
            to_text(now),
            to_text(deadline),
            draft_id,
            to_text(now),
            to_text(now),
        ),
    )
    problem_id = int(cur.lastrowid or 0)
    for position, (file_id, unique_id) in enumerate(new.photos):
        await conn.execute(
            "INSERT INTO problem_photos (problem_id, position, file_id, file_unique_id)"
            " VALUES (?, ?, ?, ?)",
            (problem_id, position, file_id, unique_id),
        )
    await conn.execute(
        "INSERT INTO problem_reporters (problem_id, cadre_id, joined_at) VALUES (?, ?, ?)",
        (problem_id, reporter_id, to_text(now)),
    )
    await conn.execute("UPDATE drafts SET result_id = ? WHERE id = ?", (problem_id, draft_id))
    return problem_id


async def status_of(conn: aiosqlite.Connection, problem_id: int) -> str | None:
    rows = await conn.execute_fetchall("SELECT status FROM problems WHERE id = ?", (problem_id,))
    row = next(iter(rows), None)  # one trip: execute and fetch together
    return str(row["status"]) if row else None


async def add_reporter(
    conn: aiosqlite.Connection, problem_id: int, cadre_id: int, now: datetime
) -> bool:
    """False if the cadre already is one of the problem's reporters."""
    cur = await conn.execute(
        "INSERT OR IGNORE INTO problem_reporters (problem_id, cadre_id, joined_at)"
        " VALUES (?, ?, ?)",
        (problem_id, cadre_id, to_text(now)),
    )
    return cur.rowcount == 1


async def change(
    conn: aiosqlite.Connection, problem_id: int, new: RowChange, now: datetime
) -> None:
    sets: list[str] = ["updated_at = ?"]
    params: list[Any] = [to_text(now)]
    if new.status is not None:
        sets.append("status = ?")
        params.append(new.status)
    if new.owner_id is not None:
        sets.append("owner_id = ?")
        params.append(new.owner_id)
    if new.clear_owner:
        sets.append("owner_id = NULL")
    if new.level is not None and new.deadline is not None:
        sets += ["level = ?", "level_since = ?", "deadline = ?"]
        params += [new.level, to_text(now), to_text(new.deadline)]
    if new.closes:
        sets += ["closed_at = ?", "resolution = ?", "watch = ?"]
        params += [to_text(now), new.resolution, int(new.watch)]
    if new.explained_by is not None or new.explained_on is not None:
        sets += ["explained_by = ?", "explained_on = ?"]
        params += [new.explained_by or "", new.explained_on or ""]
    if new.department is not None:
        sets.append("department = ?")
        params.append(new.department)
    await conn.execute(f"UPDATE problems SET {', '.join(sets)} WHERE id = ?", (*params, problem_id))


async def overdue_below_top(db: Database, top: str, now: datetime) -> list[int]:
    """Open problems past their deadline at a level other than ``top``, that did not
    reach their level at ``now`` (so a second run at the same moment finds nothing)."""
    rows = await db.fetchall(
        "SELECT id FROM problems WHERE status IN ('open', 'claimed') AND level != ?"
        " AND deadline <= ? AND level_since < ? ORDER BY deadline, id",
        (top, to_text(now), to_text(now)),
    )
    return [int(r["id"]) for r in rows]
