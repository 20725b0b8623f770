"""Checks of cadres' logs and visits (检查日志), correction items (整改项) with their steps
and photos, and on-site inspections (现场督查): SQL only. The rules are in
campaign/checks.py, the use cases in services/checks.py.

Days (``checked_on``, ``created_on``, ``closed_on``, ``due_on``) are local dates written
by the service, so period tallies need no time zone here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from campaign.checks import TeamChecks
from campaign.reporting import Scope, ScopeKind
from storage.db import Connection, Database, Row, from_text, to_text

# --- what the assessment reads ------------------------------------------------------------


@dataclass(frozen=True)
class CheckTally:
    """One cadre's checks and corrections over a period (for the assessment)."""

    logs_checked: int  # checks of the cadre's log or visits made in [start, end]
    corrections_closed: int  # the cadre's corrections closed in [start, end]
    corrections_open: int  # open at ``end``
    corrections_overdue: int  # open at ``end`` and due on or before it


async def cadre_tallies(db: Database, start: date, end: date) -> dict[int, CheckTally]:
    """Per checked cadre (by id), every count of ``CheckTally`` for the local days
    ``start`` to ``end``, both included. Cadres with nothing to count are left out."""
    s, e = start.isoformat(), end.isoformat()
    checks = await db.fetchall(
        "SELECT cadre_id, COUNT(*) AS n FROM log_checks WHERE checked_on BETWEEN ? AND ?"
        " GROUP BY cadre_id",
        (s, e),
    )
    corr = await db.fetchall(
        "SELECT cadre_id,"
        " SUM(CASE WHEN closed_on BETWEEN ? AND ? THEN 1 ELSE 0 END) AS closed,"
        " SUM(CASE WHEN created_on <= ? AND (closed_on IS NULL OR closed_on > ?)"
        "     THEN 1 ELSE 0 END) AS still_open,"
        " SUM(CASE WHEN created_on <= ? AND (closed_on IS NULL OR closed_on > ?)"
        "     AND due_on <= ? THEN 1 ELSE 0 END) AS overdue"
        " FROM corrections GROUP BY cadre_id",
        (s, e, e, e, e, e, e),
    )
    counts: dict[int, list[int]] = {}
    for r in checks:
        counts.setdefault(int(r["cadre_id"]), [0, 0, 0, 0])[0] = int(r["n"])
    for r in corr:
        row = counts.setdefault(int(r["cadre_id"]), [0, 0, 0, 0])
        row[1], row[2], row[3] = (
            int(r["closed"] or 0),
            int(r["still_open"] or 0),
            int(r["overdue"] or 0),
        )
    return {k: CheckTally(*v) for k, v in counts.items() if any(v)}


def team_rows(
    conn: sqlite3.Connection, scope: Scope, start: date, end: date, now: datetime
) -> list[TeamChecks]:
    """Per active team inside ``scope`` (for a group's scope: that group only): cadres
    whose log was checked on the local days ``start``..``end`` (end exclusive), and the
    correction items open and overdue at ``now``. On the reports' reading connection."""
    where, params = "", ()  # type: tuple[str, tuple[object, ...]]
    if scope.kind is ScopeKind.TEAM:
        where, params = " AND c.team_id = ?", (scope.team_id,)
    elif scope.kind is ScopeKind.GROUP:
        where, params = " AND c.group_id = ?", (scope.group_id,)
    rows = conn.execute(
        "SELECT t.code, t.name, COUNT(c.id) AS cadres,"
        " SUM(CASE WHEN EXISTS (SELECT 1 FROM log_checks k WHERE k.cadre_id = c.id"
        "   AND k.checked_on >= ? AND k.checked_on < ?) THEN 1 ELSE 0 END) AS checked,"
        " SUM((SELECT COUNT(*) FROM corrections r WHERE r.cadre_id = c.id"
        "   AND r.status <> 'closed')) AS still_open,"
        " SUM((SELECT COUNT(*) FROM corrections r WHERE r.cadre_id = c.id"
        "   AND r.status <> 'closed' AND r.due_at <= ?)) AS overdue"
        " FROM cadres c JOIN teams t ON t.id = c.team_id"
        " WHERE c.active = 1 AND t.active = 1"
        "   AND c.role IN ('cadre', 'group_leader', 'team_leader', 'deputy_team_leader')"
        f"{where} GROUP BY t.id ORDER BY t.code",
        (start.isoformat(), end.isoformat(), to_text(now), *params),
    ).fetchall()
    return [
        TeamChecks(
            str(r["name"]),
            int(r["cadres"]),
            int(r["checked"] or 0),
            int(r["still_open"] or 0),
            int(r["overdue"] or 0),
        )
        for r in rows
    ]


# --- checks ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewCheck:
    cadre_id: int
    checker_id: int
    team_id: int | None
    period_start: date
    period_end: date  # exclusive
    visit_id: int | None
    verdict: str
    comment: str
    checked_on: date


async def repeated(
    db: Database, checker_id: int, cadre_id: int, start: date, end: date, visit_id: int | None
) -> str | None:
    """The verdict this checker already gave this log period (or this visit), if any."""
    if visit_id is not None:
        row = await db.fetchone(
            "SELECT verdict FROM log_checks WHERE checker_id = ? AND visit_id = ?"
            " ORDER BY id DESC LIMIT 1",
            (checker_id, visit_id),
        )
    else:
        row = await db.fetchone(
            "SELECT verdict FROM log_checks WHERE checker_id = ? AND cadre_id = ?"
            " AND visit_id IS NULL AND period_start = ? AND period_end = ?"
            " ORDER BY id DESC LIMIT 1",
            (checker_id, cadre_id, start.isoformat(), end.isoformat()),
        )
    return str(row["verdict"]) if row else None


async def add_check(conn: Connection, c: NewCheck, now: datetime) -> int:
    cur = await conn.execute(
        "INSERT INTO log_checks (cadre_id, checker_id, team_id, period_start, period_end,"
        " visit_id, verdict, comment, checked_on, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            c.cadre_id,
            c.checker_id,
            c.team_id,
            c.period_start.isoformat(),
            c.period_end.isoformat(),
            c.visit_id,
            c.verdict,
            c.comment,
            c.checked_on.isoformat(),
            to_text(now),
        ),
    )
    return int(cur.lastrowid or 0)


@dataclass(frozen=True)
class CheckLine:
    checker_name: str
    verdict: str
    comment: str
    at: datetime


async def checks_of_visit(db: Database, visit_id: int) -> list[CheckLine]:
    rows = await db.fetchall(
        "SELECT c.name, k.verdict, k.comment, k.created_at FROM log_checks k"
        " JOIN cadres c ON c.id = k.checker_id WHERE k.visit_id = ? ORDER BY k.id",
        (visit_id,),
    )
    return [
        CheckLine(r["name"], r["verdict"], r["comment"], from_text(r["created_at"])) for r in rows
    ]


# --- corrections -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewCorrection:
    cadre_id: int
    checker_id: int
    team_id: int | None
    group_id: int | None
    text: str
    due_at: datetime
    due_on: date
    created_on: date
    check_id: int | None = None
    inspection_id: int | None = None


@dataclass(frozen=True)
class Correction:
    id: int
    check_id: int | None
    inspection_id: int | None
    cadre_id: int
    cadre_name: str
    checker_id: int
    checker_name: str
    team_id: int | None
    team_name: str
    group_id: int | None
    group_name: str
    text: str
    status: str
    due_at: datetime
    answer: str
    photos: tuple[str, ...]
    visit_id: int | None
    period_start: date | None
    period_end: date | None
    created_at: datetime


_SELECT = """
SELECT r.*, a.name AS cadre_name, k.name AS checker_name,
       COALESCE(t.name, '') AS team_name, COALESCE(g.name, '') AS group_name,
       l.visit_id, l.period_start, l.period_end
FROM corrections r
JOIN cadres a ON a.id = r.cadre_id
JOIN cadres k ON k.id = r.checker_id
LEFT JOIN teams t ON t.id = r.team_id
LEFT JOIN groups g ON g.id = r.group_id
LEFT JOIN log_checks l ON l.id = r.check_id
"""


def _correction(row: Row, photos: Sequence[str] = ()) -> Correction:
    return Correction(
        id=row["id"],
        check_id=row["check_id"],
        inspection_id=row["inspection_id"],
        cadre_id=row["cadre_id"],
        cadre_name=row["cadre_name"],
        checker_id=row["checker_id"],
        checker_name=row["checker_name"],
        team_id=row["team_id"],
        team_name=row["team_name"],
        group_id=row["group_id"],
        group_name=row["group_name"],
        text=row["text"],
        status=row["status"],
        due_at=from_text(row["due_at"]),
        answer=row["answer"],
        photos=tuple(photos),
        visit_id=row["visit_id"],
        period_start=date.fromisoformat(row["period_start"]) if row["period_start"] else None,
        period_end=date.fromisoformat(row["period_end"]) if row["period_end"] else None,
        created_at=from_text(row["created_at"]),
    )


async def add_correction(conn: Connection, c: NewCorrection, now: datetime) -> int:
    cur = await conn.execute(
        "INSERT INTO corrections (check_id, inspection_id, cadre_id, checker_id, team_id,"
        " group_id, text, due_at, due_on, created_on, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            c.check_id,
            c.inspection_id,
            c.cadre_id,
            c.checker_id,
            c.team_id,
            c.group_id,
            c.text,
            to_text(c.due_at),
            c.due_on.isoformat(),
            c.created_on.isoformat(),
            to_text(now),
            to_text(now),
        ),
    )
    correction_id = int(cur.lastrowid or 0)
    await add_event(conn, correction_id, "open", c.checker_id, c.text, now)
    return correction_id


async def add_event(
    conn: Connection,
    correction_id: int,
    action: str,
    actor_id: int | None,
    note: str,
    now: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO correction_events (correction_id, at, actor_id, action, note)"
        " VALUES (?, ?, ?, ?, ?)",
        (correction_id, to_text(now), actor_id, action, note),
    )


async def get_correction(db: Database, correction_id: int) -> Correction | None:
    row = await db.fetchone(_SELECT + " WHERE r.id = ?", (correction_id,))
    if row is None:
        return None
    photos = await db.fetchall(
        "SELECT file_id FROM correction_photos WHERE correction_id = ? ORDER BY position",
        (correction_id,),
    )
    return _correction(row, [p["file_id"] for p in photos])


async def open_corrections(db: Database, limit: int = 200) -> list[Correction]:
    """Corrections not yet closed, by team, group and age."""
    rows = await db.fetchall(
        _SELECT + " WHERE r.status <> 'closed' ORDER BY t.code, g.code, r.id LIMIT ?", (limit,)
    )
    return [_correction(r) for r in rows]


async def corrections_of(db: Database, cadre_id: int) -> list[Correction]:
    rows = await db.fetchall(
        _SELECT + " WHERE r.cadre_id = ? AND r.status <> 'closed' ORDER BY r.id", (cadre_id,)
    )
    return [_correction(r) for r in rows]


async def answer(
    conn: Connection,
    correction_id: int,
    actor_id: int,
    text: str,
    photos: Sequence[str],
    now: datetime,
) -> bool:
    """Record the answer; False when the correction was no longer waiting for one."""
    cur = await conn.execute(
        "UPDATE corrections SET status = 'answered', answer = ?, updated_at = ?"
        " WHERE id = ? AND status = 'open'",
        (text, to_text(now), correction_id),
    )
    if not cur.rowcount:
        return False
    await conn.execute("DELETE FROM correction_photos WHERE correction_id = ?", (correction_id,))
    await conn.executemany(
        "INSERT INTO correction_photos (correction_id, position, file_id) VALUES (?, ?, ?)",
        [(correction_id, i, f) for i, f in enumerate(photos)],
    )
    await add_event(conn, correction_id, "answer", actor_id, text, now)
    return True


async def review(
    conn: Connection,
    correction_id: int,
    actor_id: int,
    close: bool,
    note: str,
    now: datetime,
    today: date,
) -> bool:
    """Close an answered correction, or send it back open; False if it was not answered."""
    if close:
        cur = await conn.execute(
            "UPDATE corrections SET status = 'closed', closed_at = ?, closed_on = ?,"
            " updated_at = ? WHERE id = ? AND status = 'answered'",
            (to_text(now), today.isoformat(), to_text(now), correction_id),
        )
    else:
        cur = await conn.execute(
            "UPDATE corrections SET status = 'open', updated_at = ?"
            " WHERE id = ? AND status = 'answered'",
            (to_text(now), correction_id),
        )
    if not cur.rowcount:
        return False
    await add_event(conn, correction_id, "close" if close else "send_back", actor_id, note, now)
    return True


# --- inspections -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewInspection:
    inspector_id: int
    group_id: int
    team_id: int
    day: date
    place: str
    findings: str


async def add_inspection(conn: Connection, i: NewInspection, now: datetime) -> int:
    cur = await conn.execute(
        "INSERT INTO inspections (inspector_id, group_id, team_id, day, place, findings,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            i.inspector_id,
            i.group_id,
            i.team_id,
            i.day.isoformat(),
            i.place,
            i.findings,
            to_text(now),
        ),
    )
    return int(cur.lastrowid or 0)


@dataclass(frozen=True)
class GroupRef:
    id: int
    code: str
    name: str
    team_id: int


async def find_group(db: Database, text: str) -> GroupRef | None:
    """An active group by its code or its exact name."""
    row = await db.fetchone(
        "SELECT id, code, name, team_id FROM groups WHERE active = 1"
        " AND (UPPER(code) = UPPER(?) OR name = ?) LIMIT 1",
        (text, text),
    )
    return GroupRef(row["id"], row["code"], row["name"], row["team_id"]) if row else None


async def group_by_id(db: Database, group_id: int) -> GroupRef | None:
    row = await db.fetchone(
        "SELECT id, code, name, team_id FROM groups WHERE active = 1 AND id = ?", (group_id,)
    )
    return GroupRef(row["id"], row["code"], row["name"], row["team_id"]) if row else None


async def teams_to_inspect(db: Database) -> list[tuple[int, str]]:
    """(id, name) of the active teams that have active groups, by code."""
    rows = await db.fetchall(
        "SELECT t.id, t.name FROM teams t WHERE t.active = 1 AND EXISTS"
        " (SELECT 1 FROM groups g WHERE g.team_id = t.id AND g.active = 1) ORDER BY t.code"
    )
    return [(int(r["id"]), str(r["name"])) for r in rows]


async def groups_of_team(db: Database, team_id: int) -> list[GroupRef]:
    rows = await db.fetchall(
        "SELECT id, code, name, team_id FROM groups WHERE active = 1 AND team_id = ? ORDER BY code",
        (team_id,),
    )
    return [GroupRef(r["id"], r["code"], r["name"], r["team_id"]) for r in rows]


async def private_chat(db: Database, cadre_id: int) -> tuple[int, str | None] | None:
    """(private chat id, saved language) of an active, bound cadre."""
    row = await db.fetchone(
        "SELECT b.telegram_user_id, p.lang FROM cadres c"
        " JOIN telegram_bindings b ON b.cadre_id = c.id"
        " LEFT JOIN user_prefs p ON p.telegram_user_id = b.telegram_user_id"
        " WHERE c.id = ? AND c.active = 1",
        (cadre_id,),
    )
    return (int(row["telegram_user_id"]), row["lang"]) if row else None


async def visits_in(
    db: Database, cadre_id: int, start: date, end: date, limit: int = 12
) -> list[int]:
    """The cadre's active visits dated ``start``..``end`` (end exclusive), newest first."""
    rows = await db.fetchall(
        "SELECT id FROM visits WHERE cadre_id = ? AND status = 'active'"
        " AND visit_date >= ? AND visit_date < ? ORDER BY visit_date DESC, id DESC LIMIT ?",
        (cadre_id, start.isoformat(), end.isoformat(), limit),
    )
    return [int(r["id"]) for r in rows]
