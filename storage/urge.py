"""督办 (urging an open problem): the urges of a problem, the latest one (for the
one-hour repeat guard), which problems were urged at their current level (they sort
first in the owner's /ledger), and the open problems below a leader's level. SQL only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.db import Connection, Database, from_text, to_text


@dataclass(frozen=True)
class Urge:
    actor_id: int
    actor_name: str
    level: str
    at: datetime


async def urges_of(db: Database, problem_id: int) -> list[Urge]:
    """Every urge of the problem, oldest first."""
    rows = await db.fetchall(
        "SELECT u.actor_id, c.name, u.level, u.at FROM problem_urges u"
        " JOIN cadres c ON c.id = u.actor_id WHERE u.problem_id = ? ORDER BY u.id",
        (problem_id,),
    )
    return [Urge(r["actor_id"], r["name"], r["level"], from_text(r["at"])) for r in rows]


async def add(conn: Connection, problem_id: int, actor_id: int, level: str, now: datetime) -> int:
    cur = await conn.execute(
        "INSERT INTO problem_urges (problem_id, actor_id, level, at) VALUES (?, ?, ?, ?)",
        (problem_id, actor_id, level, to_text(now)),
    )
    return int(cur.lastrowid or 0)


async def urged_now(db: Database, problem_ids: Sequence[int]) -> set[int]:
    """Of these problems, the ones urged since they reached their current level."""
    if not problem_ids:
        return set()
    marks = ", ".join("?" for _ in problem_ids)
    rows = await db.fetchall(
        "SELECT DISTINCT u.problem_id FROM problem_urges u JOIN problems p ON p.id = u.problem_id"
        f" WHERE u.problem_id IN ({marks}) AND u.level = p.level AND u.at >= p.level_since",
        tuple(problem_ids),
    )
    return {int(r["problem_id"]) for r in rows}


async def lower_open(
    db: Database,
    levels: Sequence[str],
    team_id: int | None,
    now: datetime,
    overdue_only: bool,
    limit: int = 10,
) -> list[int]:
    """Open problems at ``levels`` (of one team, if given), overdue first; their ids."""
    marks = ", ".join("?" for _ in levels)
    sql = f"SELECT id FROM problems WHERE status IN ('open', 'claimed') AND level IN ({marks})"
    params: list[object] = list(levels)
    if team_id is not None:
        sql += " AND team_id = ?"
        params.append(team_id)
    if overdue_only:
        sql += " AND deadline <= ?"
        params.append(to_text(now))
    rows = await db.fetchall(sql + " ORDER BY deadline, id LIMIT ?", (*params, limit))
    return [int(r["id"]) for r in rows]
