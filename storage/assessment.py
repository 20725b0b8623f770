"""The assessment's tallies (考核): per cadre, what the rubric's components count over
a period, and the roster the scores are grouped by. Each tally function is one source
of ``services.assessment``: (db, start, end) -> {cadre id: {component: number}}.

``start`` and ``end`` are aware datetimes; visits compare their local dates (the
datetimes are local to the campaign), problems and selections their UTC times.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from campaign.assessment import Member
from campaign.roles import FIELD_ROLES
from storage.db import Database, to_text

FIELD_SQL = "(" + ", ".join(f"'{r.value}'" for r in sorted(FIELD_ROLES)) + ")"
Tallies = dict[int, dict[str, float]]


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
    """Active visits and days in the field (distinct visit dates) per cadre."""
    d0, d1 = _dates(start, end)
    rows = await db.scan(
        "SELECT cadre_id, COUNT(*) AS visits, COUNT(DISTINCT visit_date) AS days"
        " FROM visits WHERE status = 'active' AND visit_date >= ? AND visit_date < ?"
        " GROUP BY cadre_id",
        (d0, d1),
    )
    return {r["cadre_id"]: {"visits": r["visits"], "days": r["days"]} for r in rows}


async def problem_tallies(db: Database, start: datetime, end: datetime) -> Tallies:
    """Per reporter: problems raised in the period, and those of theirs solved or
    explained in it. Per owner: problems whose deadline at their current level fell in
    the period and that were still open then (an unclaimed one counts against the group
    leader at group level, the team leader at team level)."""
    t0, t1 = to_text(start), to_text(end)
    out: Tallies = {}
    rows = await db.scan(
        "SELECT reporter_id AS who,"
        " SUM(CASE WHEN created_at >= ? AND created_at < ? THEN 1 ELSE 0 END) AS raised,"
        " SUM(CASE WHEN status = 'solved' AND closed_at >= ? AND closed_at < ?"
        "  THEN 1 ELSE 0 END) AS solved,"
        " SUM(CASE WHEN status = 'explained' AND closed_at >= ? AND closed_at < ?"
        "  THEN 1 ELSE 0 END) AS explained"
        " FROM problems WHERE (created_at >= ? AND created_at < ?)"
        " OR (closed_at >= ? AND closed_at < ?) GROUP BY reporter_id",
        (t0, t1) * 5,
    )
    for r in rows:
        out[r["who"]] = {
            "problems_raised": r["raised"],
            "problems_solved": r["solved"],
            "problems_explained": r["explained"],
        }
    late = (
        "p.deadline >= ? AND p.deadline < ? AND (p.status IN ('open', 'claimed')"
        " OR p.closed_at > p.deadline)"
    )
    overdue = await db.scan(
        "SELECT who, COUNT(*) AS n FROM ("
        f" SELECT p.owner_id AS who FROM problems p WHERE p.owner_id IS NOT NULL AND {late}"
        " UNION ALL SELECT c.id FROM problems p JOIN cadres c ON c.active = 1 AND ("
        "  (p.level = 'group' AND c.role = 'group_leader' AND c.group_id = p.group_id)"
        "  OR (p.level = 'team' AND c.role = 'team_leader' AND c.team_id = p.team_id))"
        f" WHERE p.owner_id IS NULL AND {late}) GROUP BY who",
        (t0, t1, t0, t1),
    )
    for r in overdue:
        out.setdefault(r["who"], {})["problems_overdue"] = r["n"]
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
