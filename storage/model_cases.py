"""Model cases (典型): visits flagged by their cadre (visits.model_case = 1) and the ones
the office selected, with a title and a write-up (table model_cases, migration 0021)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from storage.db import Connection, Database, Row, from_text, to_text


@dataclass(frozen=True)
class FlaggedVisit:
    """A visit its cadre marked as a possible model case, and whether it was selected."""

    visit_id: int
    cadre_id: int
    cadre_name: str
    team_name: str
    place_name: str
    visit_date: date
    text: str
    active: bool
    selected: bool
    telegram_user_id: int | None
    lang: str | None


@dataclass(frozen=True)
class SelectedCase:
    case_id: int
    visit_id: int
    cadre_name: str
    team_name: str
    unit: str
    place_name: str
    visit_date: date
    title: str
    writeup: str
    selected_at: datetime
    team_id: int | None = None
    group_id: int | None = None


_FLAGGED = (
    "SELECT v.id, v.cadre_id, c.name AS cadre_name, COALESCE(t.name, '') AS team_name,"
    " pl.name AS place_name, v.visit_date, v.text, v.status, v.model_case,"
    " (m.id IS NOT NULL) AS selected, b.telegram_user_id, p.lang FROM visits v"
    " JOIN cadres c ON c.id = v.cadre_id JOIN places pl ON pl.id = v.place_id"
    " LEFT JOIN teams t ON t.id = v.team_id LEFT JOIN model_cases m ON m.visit_id = v.id"
    " LEFT JOIN telegram_bindings b ON b.cadre_id = v.cadre_id"
    " LEFT JOIN user_prefs p ON p.telegram_user_id = b.telegram_user_id"
)


def _flagged(r: Row) -> FlaggedVisit:
    return FlaggedVisit(
        visit_id=r["id"],
        cadre_id=r["cadre_id"],
        cadre_name=r["cadre_name"],
        team_name=r["team_name"],
        place_name=r["place_name"],
        visit_date=date.fromisoformat(r["visit_date"]),
        text=r["text"],
        active=r["status"] == "active" and bool(r["model_case"]),
        selected=bool(r["selected"]),
        telegram_user_id=r["telegram_user_id"],
        lang=r["lang"],
    )


async def flagged(db: Database, first: date, past_last: date, limit: int) -> list[FlaggedVisit]:
    """Active flagged visits in [first, past_last) not selected yet, oldest first."""
    rows = await db.scan(
        _FLAGGED + " WHERE v.model_case = 1 AND v.status = 'active' AND m.id IS NULL"
        " AND v.visit_date >= ? AND v.visit_date < ? ORDER BY v.visit_date, v.id LIMIT ?",
        (first.isoformat(), past_last.isoformat(), limit),
    )
    return [_flagged(r) for r in rows]


async def flagged_visit(db: Database | Connection, visit_id: int) -> FlaggedVisit | None:
    sql = _FLAGGED + " WHERE v.id = ?"
    if isinstance(db, Database):
        row = await db.fetchone(sql, (visit_id,))
    else:
        found = list(await db.execute_fetchall(sql, (visit_id,)))
        row = found[0] if found else None
    return _flagged(row) if row is not None else None


async def insert(
    conn: Connection,
    visit_id: int,
    cadre_id: int,
    title: str,
    writeup: str,
    by: int,
    now: datetime,
) -> int | None:
    """Record the selection; None if the visit was selected already."""
    cur = await conn.execute(
        "INSERT INTO model_cases (visit_id, cadre_id, title, writeup, selected_by, selected_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (visit_id) DO NOTHING",
        (visit_id, cadre_id, title, writeup, by, to_text(now)),
    )
    return int(cur.lastrowid) if cur.rowcount == 1 and cur.lastrowid else None


async def selected(db: Database, start: datetime, end: datetime) -> list[SelectedCase]:
    """Cases selected in [start, end), in the order they were selected."""
    rows = await db.scan(
        "SELECT m.id, m.visit_id, c.name AS cadre_name, COALESCE(t.name, '') AS team_name,"
        " c.unit, pl.name AS place_name, v.visit_date, m.title, m.writeup, m.selected_at,"
        " v.team_id, v.group_id FROM model_cases m JOIN visits v ON v.id = m.visit_id"
        " JOIN cadres c ON c.id = m.cadre_id JOIN places pl ON pl.id = v.place_id"
        " LEFT JOIN teams t ON t.id = v.team_id"
        " WHERE m.selected_at >= ? AND m.selected_at < ? ORDER BY m.selected_at, m.id",
        (to_text(start), to_text(end)),
    )
    return [
        SelectedCase(
            r["id"], r["visit_id"], r["cadre_name"], r["team_name"], r["unit"], r["place_name"],
            date.fromisoformat(r["visit_date"]), r["title"], r["writeup"],
            from_text(r["selected_at"]), r["team_id"], r["group_id"],
        )
        for r in rows
    ]  # fmt: skip
