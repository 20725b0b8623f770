"""Who gets which reminder: field cadres, what they logged, their pauses, their tallies."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import aiosqlite

from campaign.quotas import Tally
from campaign.roles import Role
from storage.db import Database, Row, from_text, to_text
from storage.people import audit


@dataclass(frozen=True)
class Person:
    """A cadre as a reminder recipient; ``chat_id`` is None when not bound to Telegram."""

    cadre_id: int
    name: str
    role: Role
    team_id: int | None
    group_id: int | None
    chat_id: int | None
    lang: str | None
    muted: bool


_PERSON_SELECT = """
SELECT c.id, c.name, c.role, c.team_id, c.group_id, b.telegram_user_id AS chat_id, p.lang,
       EXISTS (SELECT 1 FROM reminder_mutes m WHERE m.cadre_id = c.id AND m.until > :now)
           AS muted
FROM cadres c
LEFT JOIN telegram_bindings b ON b.cadre_id = c.id
LEFT JOIN user_prefs p ON p.telegram_user_id = b.telegram_user_id
"""


def _person(row: Row) -> Person:
    return Person(
        cadre_id=row["id"],
        name=row["name"],
        role=Role(row["role"]),
        team_id=row["team_id"],
        group_id=row["group_id"],
        chat_id=row["chat_id"],
        lang=row["lang"],
        muted=bool(row["muted"]),
    )


async def _fetch(db: Database, sql: str, params: dict[str, object]) -> list[Row]:
    """``Database.fetchall`` takes positional parameters; these queries name theirs."""
    async with db.conn.execute(sql, params) as cur:
        return list(await cur.fetchall())


def _roles_clause(roles: Iterable[Role]) -> tuple[str, dict[str, str]]:
    names = sorted(r.value for r in roles)
    params = {f"role{i}": name for i, name in enumerate(names)}
    return "c.role IN (" + ", ".join(f":{k}" for k in params) + ")", params


async def field_people(db: Database, roles: Iterable[Role], now: datetime) -> list[Person]:
    """Active cadres in these roles, bound or not, with whether they paused reminders."""
    clause, params = _roles_clause(roles)
    rows = await _fetch(
        db,
        _PERSON_SELECT + f" WHERE c.active = 1 AND {clause} ORDER BY c.team_id, c.group_id, c.id",
        {"now": to_text(now), **params},
    )
    return [_person(r) for r in rows]


async def nudge_due(
    db: Database, roles: Iterable[Role], day: date, start: datetime, end: datetime, now: datetime
) -> list[Person]:
    """Bound, active cadres who logged nothing on ``day`` and did not pause reminders.

    Logging counts a visit dated that day or written during it (a visit backdated to
    yesterday is still work done today) and a problem raised during it. ``start`` and
    ``end`` are the day's bounds as aware datetimes."""
    clause, params = _roles_clause(roles)
    rows = await _fetch(
        db,
        _PERSON_SELECT
        + f""" WHERE c.active = 1 AND {clause} AND b.telegram_user_id IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM reminder_mutes m WHERE m.cadre_id = c.id AND m.until > :now)
        AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.cadre_id = c.id AND v.status = 'active'
                        AND (v.visit_date = :day
                             OR (v.created_at >= :start AND v.created_at < :end)))
        AND NOT EXISTS (SELECT 1 FROM problems pr WHERE pr.reporter_id = c.id
                        AND pr.created_at >= :start AND pr.created_at < :end)
        ORDER BY c.id""",
        {
            "now": to_text(now),
            "day": day.isoformat(),
            "start": to_text(start),
            "end": to_text(end),
            **params,
        },
    )
    return [_person(r) for r in rows]


async def tallies(db: Database, start: date, end: date) -> dict[int, Tally]:
    """Visits and distinct days in the field per cadre, local dates ``start`` to ``end``
    (exclusive); withdrawn visits do not count."""
    rows = await db.scan(
        "SELECT cadre_id, COUNT(*) AS visits, COUNT(DISTINCT visit_date) AS days FROM visits"
        " WHERE status = 'active' AND visit_date >= ? AND visit_date < ? GROUP BY cadre_id",
        (start.isoformat(), end.isoformat()),
    )
    return {r["cadre_id"]: Tally(r["visits"], r["days"]) for r in rows}


async def group_names(db: Database) -> dict[int, str]:
    rows = await db.fetchall("SELECT id, name FROM groups")
    return {r["id"]: r["name"] for r in rows}


# --- pauses --------------------------------------------------------------------------


async def mute(db: Database, cadre_id: int, until: datetime, now: datetime) -> None:
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO reminder_mutes (cadre_id, until, set_at) VALUES (?, ?, ?)"
            " ON CONFLICT (cadre_id) DO UPDATE"
            " SET until = excluded.until, set_at = excluded.set_at",
            (cadre_id, to_text(until), to_text(now)),
        )
        await audit(
            conn, "mute", subject=f"cadre:{cadre_id}", after={"until": to_text(until)}, at=now
        )


async def unmute(db: Database, cadre_id: int, now: datetime) -> bool:
    """End a pause; False if none was running."""
    async with db.write() as conn:
        cur = await conn.execute(
            "DELETE FROM reminder_mutes WHERE cadre_id = ? AND until > ?", (cadre_id, to_text(now))
        )
        await conn.execute("DELETE FROM reminder_mutes WHERE cadre_id = ?", (cadre_id,))
        if cur.rowcount:
            await audit(conn, "unmute", subject=f"cadre:{cadre_id}", at=now)
        return cur.rowcount > 0


async def muted_until(db: Database, cadre_id: int, now: datetime) -> datetime | None:
    row = await db.fetchone(
        "SELECT until FROM reminder_mutes WHERE cadre_id = ? AND until > ?",
        (cadre_id, to_text(now)),
    )
    return from_text(row["until"]) if row else None


async def expire_mutes(conn: aiosqlite.Connection, now: datetime) -> int:
    cur = await conn.execute("DELETE FROM reminder_mutes WHERE until <= ?", (to_text(now),))
    return cur.rowcount
