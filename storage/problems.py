"""The problem ledger (问题台账): raising, joining, owner actions, overdue climbing, lists.

Every change is one transaction that also writes the problem's event and, through
storage/problem_news.py, the cards and notices it causes into the outgoing queue.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from campaign.i18n import Catalog
from campaign.ladder import (
    MOVES,
    Action,
    Actor,
    Verdict,
    change_for,
    deadline_for,
    judge,
    next_level,
    start_level,
)
from campaign.problem_cards import CardView, EventView
from campaign.roles import Role
from campaign.settings import Settings
from storage import drafts, problem_news
from storage.db import Database, Row, from_text, to_text
from storage.people import Cadre

Reader = aiosqlite.Connection


async def _all(conn: Reader, sql: str, params: Iterable[Any] = ()) -> list[Row]:
    async with conn.execute(sql, tuple(params)) as cur:
        return list(await cur.fetchall())


async def _one(conn: Reader, sql: str, params: Iterable[Any] = ()) -> Row | None:
    async with conn.execute(sql, tuple(params)) as cur:
        return await cur.fetchone()


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

    def view(self) -> EventView:
        return EventView(
            self.action, self.actor_name, self.at, self.note, self.from_level, self.to_level
        )


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

    def view(self, last: Event | None = None) -> CardView:
        return CardView(
            id=self.id,
            category=self.category,
            urgent=self.urgent,
            place_name=self.place_name,
            place_kind=self.place_kind,
            village_name=self.village_name,
            group_name=self.group_name,
            team_name=self.team_name,
            reporter_name=self.reporter_name,
            reporters=self.reporters,
            description=self.description,
            photos=self.photos,
            level=self.level,
            status=self.status,
            owner_name=self.owner_name,
            department=self.department,
            created_at=self.created_at,
            deadline=self.deadline,
            resolution=self.resolution,
            explained_by=self.explained_by,
            explained_on=self.explained_on,
            closed_at=self.closed_at,
            last=last.view() if last else None,
        )


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


async def is_reporter(db: Database, problem_id: int, cadre_id: int) -> bool:
    row = await db.fetchone(
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


def _place_scope(cadre: Cadre) -> tuple[str, tuple[Any, ...]] | None:
    if cadre.group_id is not None:
        return "COALESCE(p.group_id, v.group_id) = ?", (cadre.group_id,)
    if cadre.team_id is not None:
        return (
            "COALESCE(p.group_id, v.group_id) IN (SELECT id FROM groups WHERE team_id = ?)",
            (cadre.team_id,),
        )
    return None


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
    scope = _place_scope(cadre)
    if scope is None:
        return []
    where, params = scope
    rows = await db.fetchall(
        _PLACE_SELECT + f" WHERE {where} AND p.active = 1 AND p.kind != 'household'"
        " ORDER BY p.kind = 'village' DESC, p.kind, p.name LIMIT ?",
        (*params, limit),
    )
    return [_place(r) for r in rows]


async def households_of(
    db: Database, cadre: Cadre, village_id: int, limit: int = 24
) -> list[Place]:
    scope = _place_scope(cadre)
    if scope is None:
        return []
    where, params = scope
    rows = await db.fetchall(
        _PLACE_SELECT + f" WHERE {where} AND p.active = 1 AND p.village_id = ?"
        " ORDER BY p.name LIMIT ?",
        (*params, village_id, limit),
    )
    return [_place(r) for r in rows]


async def search_places(db: Database, cadre: Cadre, text: str, limit: int = 10) -> list[Place]:
    """Places in the cadre's scope whose name contains the typed text."""
    scope = _place_scope(cadre)
    needle = text.strip()
    if scope is None or not needle:
        return []
    where, params = scope
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = await db.fetchall(
        _PLACE_SELECT + f" WHERE {where} AND p.active = 1 AND p.name LIKE ? ESCAPE '\\'"
        " ORDER BY length(p.name), p.name LIMIT ?",
        (*params, f"%{escaped}%", limit),
    )
    return [_place(r) for r in rows]


async def place_in_scope(db: Database, cadre: Cadre, place_id: int) -> Place | None:
    """The place if this cadre may raise a problem there (a forged button is refused)."""
    scope = _place_scope(cadre)
    if scope is None:
        return None
    where, params = scope
    row = await db.fetchone(
        _PLACE_SELECT + f" WHERE {where} AND p.active = 1 AND p.id = ?", (*params, place_id)
    )
    return _place(row) if row else None


async def group_has_leader(db: Database, group_id: int | None) -> bool:
    if group_id is None:
        return False
    row = await db.fetchone(
        "SELECT 1 FROM cadres WHERE group_id = ? AND role = 'group_leader' AND active = 1",
        (group_id,),
    )
    return row is not None


async def remember_language(db: Database, telegram_user_id: int, lang: str) -> None:
    """Keep the language a person's Telegram app speaks when they never chose one, so
    that notices sent later (without an update to read it from) are in it too."""
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO user_prefs (telegram_user_id, lang) VALUES (?, ?)"
            " ON CONFLICT (telegram_user_id) DO UPDATE SET lang = excluded.lang"
            " WHERE user_prefs.lang IS NULL",
            (telegram_user_id, lang),
        )


# --- writing --------------------------------------------------------------------------


async def _publish(
    conn: aiosqlite.Connection,
    settings: Settings,
    catalog: Catalog,
    problem_id: int,
    event_id: int,
    now: datetime,
) -> None:
    """Queue the cards and notices of one change, inside its transaction."""
    problem = await get(conn, problem_id)
    ev = await event(conn, event_id)
    assert problem is not None and ev is not None
    await problem_news.publish(
        conn,
        settings,
        catalog,
        problem,
        ev,
        photos=await photo_ids(conn, problem_id),
        reporters=await reporter_ids(conn, problem_id),
        now=now,
    )


async def _add_event(
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


async def raise_problem(
    db: Database,
    settings: Settings,
    catalog: Catalog,
    *,
    draft_id: int,
    reporter: Cadre,
    new: NewProblem,
    chat_id: int | None,
    now: datetime,
) -> int | None:
    """Record a new problem from a draft; None if the draft was already submitted or
    cancelled (a second Submit changes nothing)."""
    place = await place_in_scope(db, reporter, new.place_id)
    has_leader = await group_has_leader(db, reporter.group_id)
    level = start_level(new.group_can_solve, reporter.group_id is not None, has_leader)
    deadline = deadline_for(settings.problems, level, new.urgent, now)
    group_id = reporter.group_id or (place.group_id if place else None)
    async with db.write() as conn:
        if not await drafts.close(conn, draft_id, "submitted", now):
            return None
        cur = await conn.execute(
            "INSERT INTO problems (reporter_id, team_id, group_id, place_id, category,"
            " description, urgent, level, status, level_since, deadline, draft_id, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?)",
            (
                reporter.id,
                reporter.team_id,
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
            (problem_id, reporter.id, to_text(now)),
        )
        await conn.execute("UPDATE drafts SET result_id = ? WHERE id = ?", (problem_id, draft_id))
        event_id = await _add_event(
            conn, problem_id, "raise", now, actor_id=reporter.id, chat_id=chat_id, to_level=level
        )
        await _publish(conn, settings, catalog, problem_id, event_id, now)
    return problem_id


class JoinOutcome:
    JOINED = "joined"
    ALREADY = "already"  # this cadre is already among its reporters
    CLOSED = "closed"  # the problem ended meanwhile
    SUBMITTED = "submitted"  # the draft was already submitted or cancelled


async def join_problem(
    db: Database,
    settings: Settings,
    catalog: Catalog,
    *,
    draft_id: int,
    cadre: Cadre,
    problem_id: int,
    chat_id: int | None,
    now: datetime,
) -> str:
    """Join an open problem as "same problem" instead of raising a duplicate."""
    async with db.write() as conn:
        row = await _one(conn, "SELECT status FROM problems WHERE id = ?", (problem_id,))
        if row is None or row["status"] not in ("open", "claimed"):
            return JoinOutcome.CLOSED
        if not await drafts.close(conn, draft_id, "submitted", now, result_id=problem_id):
            return JoinOutcome.SUBMITTED
        cur = await conn.execute(
            "INSERT OR IGNORE INTO problem_reporters (problem_id, cadre_id, joined_at)"
            " VALUES (?, ?, ?)",
            (problem_id, cadre.id, to_text(now)),
        )
        if cur.rowcount != 1:
            return JoinOutcome.ALREADY
        event_id = await _add_event(
            conn, problem_id, "join", now, actor_id=cadre.id, chat_id=chat_id
        )
        await _publish(conn, settings, catalog, problem_id, event_id, now)
    return JoinOutcome.JOINED


@dataclass(frozen=True)
class ActOutcome:
    verdict: Verdict
    problem: Problem | None
    # The new event when done; when refused, the event that explains why (who moved,
    # claimed or closed it), if there is one.
    event: Event | None
    duplicate: bool = False  # the dialog's draft was already closed


_WHY_EVENTS: dict[Verdict, tuple[str, ...]] = {
    Verdict.MOVED: tuple(MOVES),
    Verdict.CLOSED: ("solve", "explain"),
    Verdict.ALREADY_CLAIMED: ("claim",),
}


def actor_of(cadre: Cadre) -> Actor:
    return Actor(cadre.id, cadre.role, cadre.team_id, cadre.group_id, cadre.active)


async def act(
    db: Database,
    settings: Settings,
    catalog: Catalog,
    *,
    problem_id: int,
    actor: Cadre,
    action: Action,
    button_level: str,
    chat_id: int | None,
    now: datetime,
    note: str = "",
    explained_by: str | None = None,
    explained_on: str | None = None,
    department: str | None = None,
    draft_id: int | None = None,
) -> ActOutcome:
    """An owner's action, re-judged inside the transaction against the problem as it is
    now. Refused: nothing changes (the dialog's draft, if any, is cancelled)."""
    async with db.write() as conn:
        problem = await get(conn, problem_id)
        if problem is None:
            return ActOutcome(Verdict.NOT_ALLOWED, None, None)
        verdict = judge(
            actor_of(actor),
            action,
            button_level,
            problem.level,
            problem.status,
            problem.team_id,
            problem.group_id,
        )
        if verdict is not Verdict.OK:
            if draft_id is not None:
                await drafts.close(conn, draft_id, "cancelled", now)
            why = _WHY_EVENTS.get(verdict)
            found = await last_event(conn, problem_id, why) if why else None
            return ActOutcome(verdict, problem, found)
        if draft_id is not None and not await drafts.close(
            conn, draft_id, "submitted", now, result_id=problem_id
        ):
            return ActOutcome(Verdict.OK, problem, None, duplicate=True)
        event_id = await _apply(
            conn,
            settings,
            problem,
            action,
            now,
            actor_id=actor.id,
            chat_id=chat_id,
            note=note,
            explained_by=explained_by,
            explained_on=explained_on,
            department=department,
        )
        await _publish(conn, settings, catalog, problem_id, event_id, now)
        done = await event(conn, event_id)
        return ActOutcome(Verdict.OK, await get(conn, problem_id), done)


async def _apply(
    conn: aiosqlite.Connection,
    settings: Settings,
    problem: Problem,
    action: Action | str,
    now: datetime,
    *,
    actor_id: int | None,
    chat_id: int | None,
    note: str = "",
    explained_by: str | None = None,
    explained_on: str | None = None,
    department: str | None = None,
) -> int:
    """Write one action's change and its event; returns the event id."""
    change = change_for(action, problem.level)
    sets: list[str] = ["updated_at = ?"]
    params: list[Any] = [to_text(now)]
    if change.status is not None:
        sets.append("status = ?")
        params.append(change.status)
    if change.owner_to_actor and actor_id is not None:
        sets.append("owner_id = ?")
        params.append(actor_id)
    if change.clear_owner:
        sets.append("owner_id = NULL")
    to_level = change.level
    if to_level is not None:
        sets += ["level = ?", "level_since = ?", "deadline = ?"]
        params += [
            to_level,
            to_text(now),
            to_text(deadline_for(settings.problems, to_level, problem.urgent, now)),
        ]
    if change.closes:
        sets += ["closed_at = ?", "resolution = ?", "watch = ?"]
        params += [to_text(now), note, int(change.watch)]
    if action == Action.EXPLAIN:
        sets += ["explained_by = ?", "explained_on = ?"]
        params += [explained_by or "", explained_on or ""]
    if action == Action.ASSIGN:
        sets.append("department = ?")
        params.append(department or note)
    await conn.execute(f"UPDATE problems SET {', '.join(sets)} WHERE id = ?", (*params, problem.id))
    return await _add_event(
        conn,
        problem.id,
        str(action),
        now,
        actor_id=actor_id,
        chat_id=chat_id,
        from_level=problem.level if to_level else None,
        to_level=to_level,
        note=department or note if action == Action.ASSIGN else note,
    )


async def escalate_overdue(
    db: Database, settings: Settings, catalog: Catalog, now: datetime
) -> list[int]:
    """Move every overdue open problem up one level (group → team → office), each in its
    own transaction with an ``auto_escalate`` event, its cards and notices. Overdue
    problems at the office stay where they are (nothing is above; the scheduler warns).
    Idempotent: a problem that reached its level at ``now`` is not moved again, so a
    second run at the same moment escalates nothing."""
    moved: list[int] = []
    rows = await db.fetchall(
        "SELECT id FROM problems WHERE status IN ('open', 'claimed') AND level != 'office'"
        " AND deadline <= ? AND level_since < ? ORDER BY deadline, id",
        (to_text(now), to_text(now)),
    )
    for row in rows:
        async with db.write() as conn:
            problem = await get(conn, row["id"])
            if (
                problem is None
                or problem.status not in ("open", "claimed")
                or problem.deadline > now
                or problem.level_since >= now
                or next_level(problem.level) is None
            ):
                continue
            event_id = await _apply(
                conn, settings, problem, "auto_escalate", now, actor_id=None, chat_id=None
            )
            await _publish(conn, settings, catalog, problem.id, event_id, now)
        moved.append(problem.id)
    return moved
