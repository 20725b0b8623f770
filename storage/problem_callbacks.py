"""Call-backs (回访), reopenings and the watch list's monthly question: SQL only.

A call-back row follows one closing of a problem (``problem_id``, ``closed_at``), so a
problem reopened and closed again is called back again. Writes run inside the caller's
transaction; services/problem_callbacks.py decides. The figures at the end serve the
reports (synchronous, on the reports' read-only connection) and the assessment.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import aiosqlite

from campaign.problem_callbacks import CallbackLine
from campaign.reporting import Scope
from campaign.roles import Role
from storage.db import Database, Row, from_text, to_text
from storage.reports import scope_sql

Reader = aiosqlite.Connection | Database


async def _all(conn: Reader, sql: str, params: Iterable[Any] = ()) -> list[Row]:
    c = conn.conn if isinstance(conn, Database) else conn
    async with c.execute(sql, tuple(params)) as cur:
        return list(await cur.fetchall())


async def _one(conn: Reader, sql: str, params: Iterable[Any] = ()) -> Row | None:
    rows = await _all(conn, sql, params)
    return rows[0] if rows else None


def _opt(text: str | None) -> datetime | None:
    return from_text(text) if text else None


# --- people ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """A cadre as someone the bot asks: their private chat (None: not bound), language,
    whether they paused reminders (/mute), whether they are still on the roster."""

    cadre_id: int
    name: str
    chat_id: int | None
    lang: str | None
    muted: bool
    active: bool


_RECIPIENT = """
SELECT c.id, c.name, c.active, b.telegram_user_id AS chat_id, p.lang,
       EXISTS (SELECT 1 FROM reminder_mutes m WHERE m.cadre_id = c.id AND m.until > ?)
           AS muted
FROM cadres c
LEFT JOIN telegram_bindings b ON b.cadre_id = c.id
LEFT JOIN user_prefs p ON p.telegram_user_id = b.telegram_user_id
"""


def _recipient(row: Row) -> Recipient:
    return Recipient(
        row["id"], row["name"], row["chat_id"], row["lang"], bool(row["muted"]), bool(row["active"])
    )


async def recipient(conn: Reader, cadre_id: int, now: datetime) -> Recipient | None:
    row = await _one(conn, _RECIPIENT + " WHERE c.id = ?", (to_text(now), cadre_id))
    return _recipient(row) if row else None


async def group_leaders(conn: Reader, group_id: int | None, now: datetime) -> list[Recipient]:
    """The active leaders of a group."""
    if group_id is None:
        return []
    rows = await _all(
        conn,
        _RECIPIENT + " WHERE c.group_id = ? AND c.role = ? AND c.active = 1 ORDER BY c.id",
        (to_text(now), group_id, Role.GROUP_LEADER.value),
    )
    return [_recipient(r) for r in rows]


async def level_leaders(
    conn: Reader, level: str, team_id: int | None, group_id: int | None, now: datetime
) -> list[Recipient]:
    """Who owns a level of a problem: the group's leaders, the team's leaders, the office."""
    if level == "group":
        return await group_leaders(conn, group_id, now)
    if level == "team":
        if team_id is None:
            return []
        rows = await _all(
            conn,
            _RECIPIENT + " WHERE c.team_id = ? AND c.role IN (?, ?) AND c.active = 1"
            " ORDER BY c.role = ? DESC, c.id",
            (
                to_text(now),
                team_id,
                Role.TEAM_LEADER.value,
                Role.DEPUTY_TEAM_LEADER.value,
                Role.TEAM_LEADER.value,
            ),
        )
    else:
        rows = await _all(
            conn,
            _RECIPIENT + " WHERE c.role = ? AND c.active = 1 ORDER BY c.id",
            (to_text(now), Role.OFFICE.value),
        )
    return [_recipient(r) for r in rows]


# --- call-backs -------------------------------------------------------------------------


@dataclass(frozen=True)
class Closing:
    """A problem that ended and has no call-back for that ending yet."""

    problem_id: int
    closed_at: datetime
    status: str
    level: str
    reporter_id: int
    group_id: int | None


async def closings_without_callback(db: Database, since: datetime) -> list[Closing]:
    """Problems solved or explained since ``since`` whose ending was not called back."""
    rows = await _all(
        db,
        "SELECT p.id, p.closed_at, p.status, p.level, p.reporter_id, p.group_id FROM problems p"
        " WHERE p.status IN ('solved', 'explained') AND p.closed_at >= ?"
        " AND NOT EXISTS (SELECT 1 FROM problem_callbacks k"
        "   WHERE k.problem_id = p.id AND k.closed_at = p.closed_at)"
        " ORDER BY p.closed_at, p.id",
        (to_text(since),),
    )
    return [
        Closing(
            r["id"],
            from_text(r["closed_at"]),
            r["status"],
            r["level"],
            r["reporter_id"],
            r["group_id"],
        )
        for r in rows
    ]


@dataclass(frozen=True)
class CallbackRow:
    id: int
    problem_id: int
    closed_at: datetime
    closed_status: str
    closed_level: str
    asked_id: int | None
    asked_name: str
    asked_at: datetime
    reminded_at: datetime | None
    listed_at: datetime | None
    result: str | None
    reach: str | None
    note: str
    answered_id: int | None
    answered_name: str
    answered_at: datetime | None
    reopened: bool
    group_id: int | None  # the problem's

    @property
    def answered(self) -> bool:
        return self.answered_at is not None


_CALLBACK = """
SELECT k.*, COALESCE(a.name, '') AS asked_name, COALESCE(w.name, '') AS answered_name,
       p.group_id
FROM problem_callbacks k
JOIN problems p ON p.id = k.problem_id
LEFT JOIN cadres a ON a.id = k.asked_id
LEFT JOIN cadres w ON w.id = k.answered_id
"""


def _callback(r: Row) -> CallbackRow:
    return CallbackRow(
        id=r["id"],
        problem_id=r["problem_id"],
        closed_at=from_text(r["closed_at"]),
        closed_status=r["closed_status"],
        closed_level=r["closed_level"],
        asked_id=r["asked_id"],
        asked_name=r["asked_name"],
        asked_at=from_text(r["asked_at"]),
        reminded_at=_opt(r["reminded_at"]),
        listed_at=_opt(r["listed_at"]),
        result=r["result"],
        reach=r["reach"],
        note=r["note"],
        answered_id=r["answered_id"],
        answered_name=r["answered_name"],
        answered_at=_opt(r["answered_at"]),
        reopened=bool(r["reopened"]),
        group_id=r["group_id"],
    )


async def add_callback(
    conn: aiosqlite.Connection, closing: Closing, asked_id: int | None, now: datetime
) -> int | None:
    """The call-back of one closing; None when it already exists."""
    cur = await conn.execute(
        "INSERT OR IGNORE INTO problem_callbacks (problem_id, closed_at, closed_status,"
        " closed_level, asked_id, asked_at) VALUES (?, ?, ?, ?, ?, ?)",
        (
            closing.problem_id,
            to_text(closing.closed_at),
            closing.status,
            closing.level,
            asked_id,
            to_text(now),
        ),
    )
    return int(cur.lastrowid or 0) if cur.rowcount == 1 else None


async def get(conn: Reader, callback_id: int) -> CallbackRow | None:
    row = await _one(conn, _CALLBACK + " WHERE k.id = ?", (callback_id,))
    return _callback(row) if row else None


async def of_problem(conn: Reader, problem_id: int) -> list[CallbackRow]:
    rows = await _all(conn, _CALLBACK + " WHERE k.problem_id = ? ORDER BY k.id", (problem_id,))
    return [_callback(r) for r in rows]


async def unanswered(db: Database) -> list[CallbackRow]:
    rows = await _all(db, _CALLBACK + " WHERE k.answered_at IS NULL ORDER BY k.asked_at, k.id")
    return [_callback(r) for r in rows]


async def mark(conn: aiosqlite.Connection, callback_id: int, column: str, now: datetime) -> None:
    """Set ``reminded_at`` or ``listed_at``."""
    if column not in ("reminded_at", "listed_at"):
        raise ValueError(column)
    await conn.execute(
        f"UPDATE problem_callbacks SET {column} = ? WHERE id = ?", (to_text(now), callback_id)
    )


@dataclass(frozen=True)
class Answer:
    result: str
    reach: str
    note: str
    cadre_id: int
    reopened: bool


async def answer(
    conn: aiosqlite.Connection, callback_id: int, a: Answer, now: datetime, day: date
) -> bool:
    """Record the answer; False when the call-back was answered already."""
    cur = await conn.execute(
        "UPDATE problem_callbacks SET result = ?, reach = ?, note = ?, answered_id = ?,"
        " answered_at = ?, answered_day = ?, reopened = ? WHERE id = ? AND answered_at IS NULL",
        (
            a.result,
            a.reach,
            a.note,
            a.cadre_id,
            to_text(now),
            day.isoformat(),
            int(a.reopened),
            callback_id,
        ),
    )
    return cur.rowcount == 1


# --- reopening --------------------------------------------------------------------------


@dataclass(frozen=True)
class Reopen:
    problem_id: int
    actor_id: int | None
    reporter_id: int
    cause: str
    level: str
    reason: str
    callback_id: int | None = None


async def reopen(
    conn: aiosqlite.Connection, r: Reopen, deadline: datetime, now: datetime, day: date
) -> bool:
    """Open an ended problem again at ``r.level`` with a new deadline, nobody owning it
    yet, off the watch list; False when it was no longer ended."""
    cur = await conn.execute(
        "UPDATE problems SET status = 'open', owner_id = NULL, level = ?, level_since = ?,"
        " deadline = ?, closed_at = NULL, watch = 0, updated_at = ?"
        " WHERE id = ? AND status IN ('solved', 'explained')",
        (r.level, to_text(now), to_text(deadline), to_text(now), r.problem_id),
    )
    if cur.rowcount != 1:
        return False
    await conn.execute(
        "INSERT INTO problem_reopens (problem_id, at, day, actor_id, reporter_id, cause, level,"
        " callback_id, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            r.problem_id,
            to_text(now),
            day.isoformat(),
            r.actor_id,
            r.reporter_id,
            r.cause,
            r.level,
            r.callback_id,
            r.reason,
        ),
    )
    return True


async def end_watch(conn: aiosqlite.Connection, problem_id: int, now: datetime) -> None:
    await conn.execute(
        "UPDATE problems SET watch = 0, updated_at = ? WHERE id = ?", (to_text(now), problem_id)
    )


# --- the watch list's monthly question ---------------------------------------------------


@dataclass(frozen=True)
class Watched:
    problem_id: int
    level: str
    team_id: int | None
    group_id: int | None
    owner_id: int | None


async def watch_due(db: Database, month: str, closed_before: datetime) -> list[Watched]:
    """Explained problems on the watch list, explained before ``closed_before``, not yet
    asked about in ``month``."""
    rows = await _all(
        db,
        "SELECT p.id, p.level, p.team_id, p.group_id, p.owner_id FROM problems p"
        " WHERE p.status = 'explained' AND p.watch = 1 AND p.closed_at < ?"
        " AND NOT EXISTS (SELECT 1 FROM problem_watch_checks w"
        "   WHERE w.problem_id = p.id AND w.month = ?)"
        " ORDER BY p.closed_at, p.id",
        (to_text(closed_before), month),
    )
    return [Watched(r["id"], r["level"], r["team_id"], r["group_id"], r["owner_id"]) for r in rows]


async def add_watch_check(
    conn: aiosqlite.Connection, problem_id: int, month: str, asked_id: int | None, now: datetime
) -> bool:
    cur = await conn.execute(
        "INSERT OR IGNORE INTO problem_watch_checks (problem_id, month, asked_id, asked_at)"
        " VALUES (?, ?, ?, ?)",
        (problem_id, month, asked_id, to_text(now)),
    )
    return cur.rowcount == 1


async def answer_watch(
    conn: aiosqlite.Connection, problem_id: int, answer: str, cadre_id: int, now: datetime
) -> None:
    """The answer to the latest monthly question (a press without a question is kept
    all the same: the answer belongs to the month it was given in)."""
    await conn.execute(
        "UPDATE problem_watch_checks SET answer = ?, answered_id = ?, answered_at = ?"
        " WHERE problem_id = ? AND month = (SELECT MAX(month) FROM problem_watch_checks"
        " WHERE problem_id = ?)",
        (answer, cadre_id, to_text(now), problem_id, problem_id),
    )


# --- figures ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CallbackTally:
    """A reporter's call-backs answered and the reopenings of their problems in a span."""

    satisfied: int = 0
    fair: int = 0
    unsatisfied: int = 0
    reopened: int = 0


async def reporter_tallies(db: Database, start: date, end: date) -> dict[int, CallbackTally]:
    """Per reporter (cadre id): call-backs answered and reopenings made on local days
    ``start`` to ``end``, both included."""
    span = (start.isoformat(), end.isoformat())
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for r in await _all(
        db,
        "SELECT p.reporter_id, k.result, COUNT(*) AS n FROM problem_callbacks k"
        " JOIN problems p ON p.id = k.problem_id"
        " WHERE k.answered_day >= ? AND k.answered_day <= ? GROUP BY 1, 2",
        span,
    ):
        counts[r["reporter_id"]][r["result"]] = r["n"]
    for r in await _all(
        db,
        "SELECT reporter_id, COUNT(*) AS n FROM problem_reopens"
        " WHERE day >= ? AND day <= ? AND reporter_id IS NOT NULL GROUP BY 1",
        span,
    ):
        counts[r["reporter_id"]]["reopened"] = r["n"]
    return {
        cadre: CallbackTally(
            c.get("satisfied", 0), c.get("fair", 0), c.get("unsatisfied", 0), c.get("reopened", 0)
        )
        for cadre, c in counts.items()
    }


@dataclass(frozen=True)
class Figures:
    """What the reports show: the answers given and the reopenings in a period."""

    satisfied: int
    fair: int
    unsatisfied: int
    reopened: int
    unanswered: int  # call-backs asked and still unanswered now


def figures(conn: sqlite3.Connection, scope: Scope, start: date, end: date) -> Figures:
    """For the reports' read-only connection: local days ``start`` (inclusive) to ``end``
    (exclusive), within a scope (the problem's team or group)."""
    where, params = scope_sql(scope, "p.team_id", "p.group_id")
    span = (start.isoformat(), end.isoformat())
    by: dict[str, int] = {}
    for result, n in conn.execute(
        "SELECT k.result, COUNT(*) FROM problem_callbacks k JOIN problems p ON p.id = k.problem_id"
        f" WHERE k.answered_day >= ? AND k.answered_day < ?{where} GROUP BY 1",
        (*span, *params),
    ):
        by[str(result)] = int(n)
    reopened = conn.execute(
        "SELECT COUNT(*) FROM problem_reopens o JOIN problems p ON p.id = o.problem_id"
        f" WHERE o.day >= ? AND o.day < ?{where}",
        (*span, *params),
    ).fetchone()[0]
    waiting = conn.execute(
        "SELECT COUNT(*) FROM problem_callbacks k JOIN problems p ON p.id = k.problem_id"
        f" WHERE k.answered_at IS NULL{where}",
        params,
    ).fetchone()[0]
    return Figures(
        by.get("satisfied", 0),
        by.get("fair", 0),
        by.get("unsatisfied", 0),
        int(reopened),
        int(waiting),
    )


async def figures_async(db: Database, start: date, end: date) -> Figures:
    """The same figures for the whole campaign, on the bot's own connection (bulletin)."""
    span = (start.isoformat(), end.isoformat())
    by = {
        str(r["result"]): int(r["n"])
        for r in await _all(
            db,
            "SELECT result, COUNT(*) AS n FROM problem_callbacks"
            " WHERE answered_day >= ? AND answered_day < ? GROUP BY 1",
            span,
        )
    }
    reopened = await _one(
        db, "SELECT COUNT(*) AS n FROM problem_reopens WHERE day >= ? AND day < ?", span
    )
    waiting = await _one(
        db, "SELECT COUNT(*) AS n FROM problem_callbacks WHERE answered_at IS NULL"
    )
    return Figures(
        by.get("satisfied", 0),
        by.get("fair", 0),
        by.get("unsatisfied", 0),
        int(reopened["n"] if reopened else 0),
        int(waiting["n"] if waiting else 0),
    )


def export_lines(
    conn: sqlite3.Connection, scope: Scope, start: date, end: date
) -> list[CallbackLine]:
    """Call-backs asked or answered on local days ``start`` to ``end`` (exclusive) for the
    export, oldest first. ``asked_at`` is UTC text: a day either side is read and the
    caller's days decide through ``answered_day`` or the asking moment."""
    where, params = scope_sql(scope, "p.team_id", "p.group_id")
    rows = conn.execute(
        "SELECT k.problem_id, COALESCE(t.name, ''), COALESCE(g.name, ''), r.name,"
        " COALESCE(a.name, ''), k.asked_at, COALESCE(w.name, ''), k.answered_at, k.result,"
        " k.reach, k.note, k.reopened, k.answered_day"
        " FROM problem_callbacks k JOIN problems p ON p.id = k.problem_id"
        " JOIN cadres r ON r.id = p.reporter_id"
        " LEFT JOIN teams t ON t.id = p.team_id LEFT JOIN groups g ON g.id = p.group_id"
        " LEFT JOIN cadres a ON a.id = k.asked_id LEFT JOIN cadres w ON w.id = k.answered_id"
        " WHERE ((k.answered_day >= ? AND k.answered_day < ?)"
        "   OR (k.answered_at IS NULL AND substr(k.asked_at, 1, 10) < ?))"
        f"{where} ORDER BY k.asked_at, k.id",
        (start.isoformat(), end.isoformat(), end.isoformat(), *params),
    ).fetchall()
    return [
        CallbackLine(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            from_text(r[5]),
            r[6],
            _opt(r[7]),
            r[8],
            r[9],
            r[10],
            bool(r[11]),
        )
        for r in rows
    ]
