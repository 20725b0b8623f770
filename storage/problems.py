"""The problem ledger (问题台账), read: problems, their events, the lists (mine, a
leader's ledger, the watch list, overdue ones) and the places a cadre may raise a
problem at. Changes live in storage/problem_flow.py; the use cases in services/.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from campaign.roles import Role
from storage import places
from storage.db import Database, Row, escape_like, from_text, to_text
from storage.people import Cadre

Reader = aiosqlite.Connection


# One trip to the writing thread per read (execute and fetch together): a cursor used
# as a context manager costs three (execute, fetch, close), and a problem's change
# reads the ledger a dozen times inside its transaction.
async def _all(conn: Reader, sql: str, params: Iterable[Any] = ()) -> list[Row]:
    return list(await conn.execute_fetchall(sql, tuple(params)))


async def _one(conn: Reader, sql: str, params: Iterable[Any] = ()) -> Row | None:
    """The first row of a query that finds at most one (by id, or with LIMIT 1)."""
    rows = await conn.execute_fetchall(sql, tuple(params))
    return next(iter(rows), None)


# --- dataclasses ----------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    id: int
    problem_id: int
    at: datetime
    actor_id: int | None
    actor_name: str | None
    chat_id: int | None
    action: str
    from_level: str | None
    to_level: str | None
    note: str


@dataclass(frozen=True)
class Problem:
    id: int
    reporter_id: int
    reporter_name: str
    team_id: int | None
    team_name: str
    group_id: int | None
    group_name: str
    place_id: int
    place_name: str
    place_kind: str
    village_name: str
    category: str
    description: str
    urgent: bool
    level: str
    status: str
    owner_id: int | None
    owner_name: str | None
    department: str | None
    level_since: datetime
    deadline: datetime
    resolution: str | None
    explained_by: str | None
    explained_on: str | None
    closed_at: datetime | None
    watch: bool
    created_at: datetime
    reporters: int
    photos: int


@dataclass(frozen=True)
class Place:
    id: int
    kind: str
    name: str
    group_id: int | None
    village_id: int | None
    village_name: str
    households: int


@dataclass(frozen=True)
class NewProblem:
    place_id: int
    category: str
    description: str
    urgent: bool
    group_can_solve: bool
    photos: tuple[tuple[str, str], ...] = ()


_SELECT = """
SELECT p.*, r.name AS reporter_name, COALESCE(t.name, '') AS team_name,
       COALESCE(g.name, '') AS group_name, pl.name AS place_name, pl.kind AS place_kind,
       COALESCE(v.name, '') AS village_name, o.name AS owner_name,
       (SELECT COUNT(*) FROM problem_reporters pr WHERE pr.problem_id = p.id) AS reporters,
       (SELECT COUNT(*) FROM problem_photos ph WHERE ph.problem_id = p.id) AS photo_count
FROM problems p
JOIN cadres r ON r.id = p.reporter_id
LEFT JOIN teams t ON t.id = p.team_id
LEFT JOIN groups g ON g.id = p.group_id
JOIN places pl ON pl.id = p.place_id
LEFT JOIN places v ON v.id = pl.village_id
LEFT JOIN cadres o ON o.id = p.owner_id
"""


def _opt_time(text: str | None) -> datetime | None:
    return from_text(text) if text else None


def _problem(row: Row) -> Problem:
    return Problem(
        id=row["id"],
        reporter_id=row["reporter_id"],
        reporter_name=row["reporter_name"],
        team_id=row["team_id"],
        team_name=row["team_name"],
        group_id=row["group_id"],
        group_name=row["group_name"],
        place_id=row["place_id"],
        place_name=row["place_name"],
        place_kind=row["place_kind"],
        village_name=row["village_name"],
        category=row["category"],
        description=row["description"],
        urgent=bool(row["urgent"]),
        level=row["level"],
        status=row["status"],
        owner_id=row["owner_id"],
        owner_name=row["owner_name"],
        department=row["department"],
        level_since=from_text(row["level_since"]),
        deadline=from_text(row["deadline"]),
        resolution=row["resolution"],
        explained_by=row["explained_by"],
        explained_on=row["explained_on"],
        closed_at=_opt_time(row["closed_at"]),
        watch=bool(row["watch"]),
        created_at=from_text(row["created_at"]),
        reporters=row["reporters"],
        photos=row["photo_count"],
    )


def _event(row: Row) -> Event:
    return Event(
        id=row["id"],
        problem_id=row["problem_id"],
        at=from_text(row["at"]),
        actor_id=row["actor_id"],
        actor_name=row["actor_name"],
        chat_id=row["chat_id"],
        action=row["action"],
        from_level=row["from_level"],
        to_level=row["to_level"],
        note=row["note"],
    )


# --- reading --------------------------------------------------------------------------


async def get(conn: Reader | Database, problem_id: int) -> Problem | None:
    c = conn.conn if isinstance(conn, Database) else conn
    row = await _one(c, _SELECT + " WHERE p.id = ?", (problem_id,))
    return _problem(row) if row else None


_EVENT_SELECT = (
    "SELECT e.*, c.name AS actor_name FROM problem_events e LEFT JOIN cadres c ON c.id = e.actor_id"
)


async def events(conn: Reader | Database, problem_id: int) -> list[Event]:
    c = conn.conn if isinstance(conn, Database) else conn
    rows = await _all(c, _EVENT_SELECT + " WHERE e.problem_id = ? ORDER BY e.id", (problem_id,))
    return [_event(r) for r in rows]


async def event(conn: Reader, event_id: int) -> Event | None:
    row = await _one(conn, _EVENT_SELECT + " WHERE e.id = ?", (event_id,))
    return _event(row) if row else None


async def last_event(
    conn: Reader | Database, problem_id: int, actions: Iterable[str] | None = None
) -> Event | None:
    """The newest event of a problem, or the newest of the given kinds."""
    c = conn.conn if isinstance(conn, Database) else conn
    sql = _EVENT_SELECT + " WHERE e.problem_id = ?"
    params: list[Any] = [problem_id]
    wanted = list(actions or [])
    if wanted:
        sql += f" AND e.action IN ({', '.join('?' for _ in wanted)})"
        params += wanted
    row = await _one(c, sql + " ORDER BY e.id DESC LIMIT 1", params)
    return _event(row) if row else None


async def photo_ids(conn: Reader, problem_id: int) -> list[str]:
    rows = await _all(
        conn,
        "SELECT file_id FROM problem_photos WHERE problem_id = ? ORDER BY position",
        (problem_id,),
    )
    return [r["file_id"] for r in rows]


async def reporter_ids(conn: Reader, problem_id: int) -> list[int]:
    rows = await _all(
        conn,
        "SELECT cadre_id FROM problem_reporters WHERE problem_id = ? ORDER BY joined_at, cadre_id",
        (problem_id,),
    )
    return [r["cadre_id"] for r in rows]


async def is_reporter(conn: Reader | Database, problem_id: int, cadre_id: int) -> bool:
    c = conn.conn if isinstance(conn, Database) else conn
    row = await _one(
        c,
        "SELECT 1 FROM problem_reporters WHERE problem_id = ? AND cadre_id = ?",
        (problem_id, cadre_id),
    )
    return row is not None


async def open_at_place(db: Database, place_id: int, limit: int = 5) -> list[Problem]:
    """Open problems already raised at a place, newest first (candidates for "same
    problem")."""
    rows = await db.fetchall(
        _SELECT + " WHERE p.place_id = ? AND p.status IN ('open', 'claimed')"
        " ORDER BY p.id DESC LIMIT ?",
        (place_id, limit),
    )
    return [_problem(r) for r in rows]


async def mine(db: Database, cadre_id: int, limit: int = 30) -> list[Problem]:
    """Problems a cadre raised or joined: open ones first, then the newest."""
    rows = await db.fetchall(
        _SELECT + " WHERE p.id IN (SELECT problem_id FROM problem_reporters WHERE cadre_id = ?)"
        " ORDER BY p.status IN ('open', 'claimed') DESC, p.id DESC LIMIT ?",
        (cadre_id, limit),
    )
    return [_problem(r) for r in rows]


def _scope(cadre: Cadre) -> tuple[str, tuple[Any, ...]] | None:
    """The problems a leader owns at their level, as a WHERE fragment."""
    if cadre.role is Role.GROUP_LEADER and cadre.group_id is not None:
        return "p.level = 'group' AND p.group_id = ?", (cadre.group_id,)
    if cadre.role in (Role.TEAM_LEADER, Role.DEPUTY_TEAM_LEADER) and cadre.team_id is not None:
        return "p.level = 'team' AND p.team_id = ?", (cadre.team_id,)
    if cadre.role is Role.OFFICE:
        return "p.level = 'office'", ()
    return None


async def ledger(db: Database, cadre: Cadre, limit: int = 50) -> list[Problem] | None:
    """The open problems a leader owns, earliest deadline (so overdue) first; None if the
    cadre owns no level."""
    scope = _scope(cadre)
    if scope is None:
        return None
    where, params = scope
    rows = await db.fetchall(
        _SELECT + f" WHERE {where} AND p.status IN ('open', 'claimed')"
        " ORDER BY p.deadline, p.id LIMIT ?",
        (*params, limit),
    )
    return [_problem(r) for r in rows]


async def watch_list(db: Database, cadre: Cadre, limit: int = 20) -> list[Problem]:
    """Explained problems that stay on the watch list at the leader's level."""
    scope = _scope(cadre)
    if scope is None:
        return []
    where, params = scope
    rows = await db.fetchall(
        _SELECT + f" WHERE {where} AND p.status = 'explained' AND p.watch = 1"
        " ORDER BY p.closed_at DESC LIMIT ?",
        (*params, limit),
    )
    return [_problem(r) for r in rows]


async def overdue(db: Database, now: datetime, levels: Iterable[str] = ()) -> list[Problem]:
    """Open problems past their level's deadline (optionally only at some levels)."""
    sql = _SELECT + " WHERE p.status IN ('open', 'claimed') AND p.deadline <= ?"
    params: list[Any] = [to_text(now)]
    wanted = list(levels)
    if wanted:
        sql += f" AND p.level IN ({', '.join('?' for _ in wanted)})"
        params += wanted
    rows = await db.fetchall(sql + " ORDER BY p.deadline, p.id", params)
    return [_problem(r) for r in rows]


# --- places a cadre may raise a problem at ---------------------------------------------


_PLACE_SELECT = """
SELECT p.id, p.kind, p.name, COALESCE(p.group_id, v.group_id) AS group_id, p.village_id,
       COALESCE(v.name, '') AS village_name,
       (SELECT COUNT(*) FROM places h WHERE h.village_id = p.id AND h.active = 1) AS households
FROM places p LEFT JOIN places v ON v.id = p.village_id
"""


def _place(row: Row) -> Place:
    return Place(
        row["id"],
        row["kind"],
        row["name"],
        row["group_id"],
        row["village_id"],
        row["village_name"],
        row["households"],
    )


async def places_for(db: Database, cadre: Cadre, limit: int = 24) -> list[Place]:
    """The villages, communities and enterprises of the cadre's group (a team leader's:
    of the whole team). Households are reached through their village."""
    scope = places.scope_where(cadre)
    if scope is None:
        return []
    where, params = scope
    rows = await db.fetchall(
        _PLACE_SELECT + f" WHERE {where} AND p.kind != 'household'"
        " ORDER BY p.kind = 'village' DESC, p.kind, p.name LIMIT ?",
        (*params, limit),
    )
    return [_place(r) for r in rows]


async def households_of(
    db: Database, cadre: Cadre, village_id: int, limit: int = 24
) -> list[Place]:
    scope = places.scope_where(cadre)
    if scope is None:
        return []
    where, params = scope
    rows = await db.fetchall(
        _PLACE_SELECT + f" WHERE {where} AND p.village_id = ? ORDER BY p.name LIMIT ?",
        (*params, village_id, limit),
    )
    return [_place(r) for r in rows]


async def search_places(db: Database, cadre: Cadre, text: str, limit: int = 10) -> list[Place]:
    """Places in the cadre's scope whose name contains the typed text."""
    scope = places.scope_where(cadre)
    needle = text.strip()
    if scope is None or not needle:
        return []
    where, params = scope
    rows = await db.fetchall(
        _PLACE_SELECT + f" WHERE {where} AND p.name LIKE ? ESCAPE '\\'"
        " ORDER BY length(p.name), p.name LIMIT ?",
        (*params, f"%{escape_like(needle)}%", limit),
    )
    return [_place(r) for r in rows]


async def place_in_scope(db: Database, cadre: Cadre, place_id: int) -> Place | None:
    """The place if this cadre may raise a problem there (a forged button is refused)."""
    scope = places.scope_where(cadre)
    if scope is None:
        return None
    where, params = scope
    row = await db.fetchone(_PLACE_SELECT + f" WHERE {where} AND p.id = ?", (*params, place_id))
    return _place(row) if row else None


async def group_has_leader(db: Database, group_id: int | None) -> bool:
    if group_id is None:
        return False
    row = await db.fetchone(
        "SELECT 1 FROM cadres WHERE group_id = ? AND role = 'group_leader' AND active = 1",
        (group_id,),
    )
    return row is not None
