"""The assessment's tallies (考核): per cadre, what the rubric's components count over
a period, and the roster the scores are grouped by. Each tally function is one source
of ``services.assessment``: (db, start, end) -> {cadre id: {component: number}}.

``start`` and ``end`` are aware datetimes; visits compare their local dates (the
datetimes are local to the campaign), problems and selections their UTC times.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from campaign.assessment import Member
from campaign.roles import FIELD_ROLES
from storage.db import Database, to_text
from storage.reports import reading

FIELD_SQL = "(" + ", ".join(f"'{r.value}'" for r in sorted(FIELD_ROLES)) + ")"
Tallies = dict[int, dict[str, float]]
LONG_PERIOD_DAYS = 62  # as storage/reports.py


def _dates(start: datetime, end: datetime) -> tuple[str, str]:
    """The local dates [first, past last) covering the moments [start, end)."""
    last = (end - timedelta(microseconds=1)).date()
    return start.date().isoformat(), (last + timedelta(days=1)).isoformat()


async def members(db: Database) -> list[Member]:
    """Active field cadres (cadres, group leaders, team leaders and deputies), with the
    team, group and sending unit the roster gives them now."""
    rows = await db.scan(
        "SELECT c.id, c.name, c.team_id, COALESCE(t.name, '') AS team_name, c.group_id,"
        " COALESCE(g.name, '') AS group_name, c.unit FROM cadres c"
        " LEFT JOIN teams t ON t.id = c.team_id LEFT JOIN groups g ON g.id = c.group_id"
        f" WHERE c.active = 1 AND c.role IN {FIELD_SQL} ORDER BY c.id"
    )
    return [
        Member(
            r["id"], r["name"], r["team_id"], r["team_name"], r["group_id"], r["group_name"],
            r["unit"].strip(),
        )
        for r in rows
    ]  # fmt: skip


async def visit_tallies(db: Database, start: datetime, end: datetime) -> Tallies:
    """Active visits and days in the field (distinct visit dates) per cadre. The longest
    read of the ranking (a year is every visit), so it runs on a reading connection of
    its own in a worker thread, beside the other sources on the database's thread."""
    d0, d1 = _dates(start, end)
    # Past two months, reading the whole index in cadre order beats sorting the rows.
    index = " INDEXED BY visits_report_cadre" if (end - start).days > LONG_PERIOD_DAYS else ""
    sql = (
        "SELECT cadre_id, COUNT(*) AS visits, COUNT(DISTINCT visit_date) AS days"
        f" FROM visits{index}"
        " WHERE status = 'active' AND visit_date >= ? AND visit_date < ? GROUP BY cadre_id"
    )
    if db.path == ":memory:":  # a second connection would be another database
        rows = [(r[0], r[1], r[2]) for r in await db.scan(sql, (d0, d1))]
    else:
        rows = await asyncio.to_thread(_read, db.path, sql, (d0, d1))
    return {r[0]: {"visits": r[1], "days": r[2]} for r in rows}


def _read(path: str, sql: str, params: tuple[str, ...]) -> list[tuple[int, int, int]]:
    with reading(path) as conn:
        return [(r[0], r[1], r[2]) for r in conn.execute(sql, params)]


_LATE = "deadline >= ? AND deadline < ? AND (status IN ('open', 'claimed') OR closed_at > deadline)"


async def problem_tallies(db: Database, start: datetime, end: datetime) -> Tallies:
    """Per reporter: problems raised in the period, and those of theirs solved or
    explained in it. Per owner: problems whose deadline at their current level fell in
    the period and that were still open then (an unclaimed one counts against the group
    leader at group level, the team leader at team level). Index range scans, as the
    summary's (storage/reports.py)."""
    t0, t1 = to_text(start), to_text(end)
    out: Tallies = {}

    def add(cadre_id: int, component: str, n: int) -> None:
        mine = out.setdefault(cadre_id, {})
        mine[component] = mine.get(component, 0) + n

    for r in await db.scan(
        "SELECT reporter_id, COUNT(*) AS n FROM problems WHERE created_at >= ?"
        " AND created_at < ? GROUP BY reporter_id",
        (t0, t1),
    ):
        add(r["reporter_id"], "problems_raised", r["n"])
    for r in await db.scan(
        "SELECT reporter_id, status, COUNT(*) AS n FROM problems WHERE closed_at >= ?"
        " AND closed_at < ? AND +status IN ('solved', 'explained') GROUP BY 1, 2",
        (t0, t1),
    ):
        add(r["reporter_id"], f"problems_{r['status']}", r["n"])
    for r in await db.scan(
        "SELECT owner_id, COUNT(*) AS n FROM problems"
        f" WHERE owner_id IS NOT NULL AND {_LATE} GROUP BY owner_id",
        (t0, t1),
    ):
        add(r["owner_id"], "problems_overdue", r["n"])
    unowned = await db.scan(
        "SELECT level, group_id, team_id, COUNT(*) AS n FROM problems WHERE owner_id IS NULL"
        f" AND level IN ('group', 'team') AND {_LATE} GROUP BY 1, 2, 3",
        (t0, t1),
    )
    if unowned:
        leaders = await db.scan(
            "SELECT id, role, team_id, group_id FROM cadres WHERE active = 1"
            " AND role IN ('group_leader', 'team_leader')"
        )
        by_group = [(c["group_id"], c["id"]) for c in leaders if c["role"] == "group_leader"]
        by_team = [(c["team_id"], c["id"]) for c in leaders if c["role"] == "team_leader"]
        for r in unowned:
            pairs, key = (
                (by_group, r["group_id"]) if r["level"] == "group" else (by_team, r["team_id"])
            )
            for unit, cadre_id in pairs:
                if key is not None and unit == key:
                    add(cadre_id, "problems_overdue", r["n"])
    return out


async def case_tallies(db: Database, start: datetime, end: datetime) -> Tallies:
    """Model cases selected by the office in the period, per cadre of the visit."""
    rows = await db.scan(
        "SELECT cadre_id, COUNT(*) AS n FROM model_cases"
        " WHERE selected_at >= ? AND selected_at < ? GROUP BY cadre_id",
        (to_text(start), to_text(end)),
    )
    return {r["cadre_id"]: {"cases_selected": r["n"]} for r in rows}


async def team_name(db: Database, team_id: int) -> str:
    row = await db.fetchone("SELECT name FROM teams WHERE id = ?", (team_id,))
    return str(row["name"]) if row else ""


async def group_name(db: Database, group_id: int) -> str:
    row = await db.fetchone("SELECT name FROM groups WHERE id = ?", (group_id,))
    return str(row["name"]) if row else ""


@dataclass(frozen=True)
class Recipient:
    """Someone the monthly assessment goes to: their cadre id and team (leaders) or the
    unit they are the contact of, their private chat and language."""

    cadre_id: int
    team_id: int | None
    unit: str
    chat_id: int
    lang: str | None


_BOUND = (
    " JOIN telegram_bindings b ON b.cadre_id = c.id"
    " LEFT JOIN user_prefs p ON p.telegram_user_id = b.telegram_user_id"
)


async def team_leaders(db: Database) -> list[Recipient]:
    """Active, joined team leaders and deputies."""
    rows = await db.fetchall(
        "SELECT c.id, c.team_id, c.unit, b.telegram_user_id, p.lang FROM cadres c" + _BOUND
        + " WHERE c.active = 1 AND c.role IN ('team_leader', 'deputy_team_leader')"
        " AND c.team_id IS NOT NULL ORDER BY c.team_id, c.id"
    )  # fmt: skip
    return [Recipient(r[0], r[1], r[2], r[3], r[4]) for r in rows]


async def unit_contacts(db: Database) -> list[Recipient]:
    """Each sending unit's contact who is on the roster (by the phone the roster gave)
    and has joined; ``unit`` the unit they speak for."""
    rows = await db.fetchall(
        "SELECT c.id, c.team_id, u.unit, b.telegram_user_id, p.lang FROM unit_contacts u"
        " JOIN cadres c ON c.phone = u.phone AND c.active = 1" + _BOUND + " ORDER BY u.unit"
    )
    return [Recipient(r[0], r[1], r[2], r[3], r[4]) for r in rows]
