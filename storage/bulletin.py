"""The numbers of the weekly bulletin (工作简报): one week, per team and in total."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from campaign.periods import Period
from storage.db import Database, from_text, to_text

MODEL_CASES_SHOWN = 5


@dataclass(frozen=True)
class TeamWeek:
    team_id: int
    name: str
    cadres: int  # active field cadres on the roster
    visits: int = 0
    days: int = 0  # person-days in the field: distinct (cadre, date)
    raised: int = 0
    solved: int = 0
    explained: int = 0
    overdue: int = 0

    @property
    def days_per_cadre(self) -> float:
        return self.days / self.cadres if self.cadres else 0.0


@dataclass(frozen=True)
class ModelCase:
    visit_id: int
    cadre_name: str
    team_name: str
    place_name: str
    text: str


@dataclass(frozen=True)
class WeekStats:
    week: Period
    teams: list[TeamWeek]
    model_cases: list[ModelCase] = field(default_factory=list)
    model_case_count: int = 0

    @property
    def visits(self) -> int:
        return sum(t.visits for t in self.teams)

    @property
    def days(self) -> int:
        return sum(t.days for t in self.teams)

    @property
    def raised(self) -> int:
        return sum(t.raised for t in self.teams)

    @property
    def solved(self) -> int:
        return sum(t.solved for t in self.teams)

    @property
    def explained(self) -> int:
        return sum(t.explained for t in self.teams)

    @property
    def overdue(self) -> int:
        return sum(t.overdue for t in self.teams)

    def ranking(self) -> list[TeamWeek]:
        """Teams by days in the field per cadre, then visits: fair to small teams."""
        return sorted(self.teams, key=lambda t: (-t.days_per_cadre, -t.visits, t.team_id))


async def week_stats(
    db: Database, week: Period, start: datetime, end: datetime, now: datetime
) -> WeekStats:
    """``week`` in local dates; ``start``/``end`` its bounds as aware datetimes; problems
    overdue are counted as of ``now``."""
    d0, d1 = week.start.isoformat(), week.end.isoformat()
    t0, t1, tn = to_text(start), to_text(end), to_text(now)
    rows = await db.scan(
        """
        SELECT t.id, t.name,
          (SELECT COUNT(*) FROM cadres c WHERE c.team_id = t.id AND c.active = 1
             AND c.role IN ('cadre', 'group_leader', 'team_leader', 'deputy_team_leader'))
             AS cadres,
          (SELECT COUNT(*) FROM visits v WHERE v.team_id = t.id AND v.status = 'active'
             AND v.visit_date >= ? AND v.visit_date < ?) AS visits,
          (SELECT COUNT(*) FROM (SELECT DISTINCT v.cadre_id, v.visit_date FROM visits v
             WHERE v.team_id = t.id AND v.status = 'active'
             AND v.visit_date >= ? AND v.visit_date < ?) AS cadre_days) AS days,
          (SELECT COUNT(*) FROM problems p WHERE p.team_id = t.id
             AND p.created_at >= ? AND p.created_at < ?) AS raised,
          (SELECT COUNT(*) FROM problems p WHERE p.team_id = t.id AND p.status = 'solved'
             AND p.closed_at >= ? AND p.closed_at < ?) AS solved,
          (SELECT COUNT(*) FROM problems p WHERE p.team_id = t.id AND p.status = 'explained'
             AND p.closed_at >= ? AND p.closed_at < ?) AS explained,
          (SELECT COUNT(*) FROM problems p WHERE p.team_id = t.id
             AND p.status IN ('open', 'claimed') AND p.deadline < ?) AS overdue
        FROM teams t WHERE t.active = 1 ORDER BY t.id
        """,
        (d0, d1, d0, d1, t0, t1, t0, t1, t0, t1, tn),
    )
    teams = [
        TeamWeek(
            team_id=r["id"],
            name=r["name"],
            cadres=r["cadres"],
            visits=r["visits"],
            days=r["days"],
            raised=r["raised"],
            solved=r["solved"],
            explained=r["explained"],
            overdue=r["overdue"],
        )
        for r in rows
    ]
    cases = await db.scan(
        "SELECT v.id, c.name AS cadre_name, COALESCE(t.name, '') AS team_name,"
        " pl.name AS place_name, v.text FROM visits v"
        " JOIN cadres c ON c.id = v.cadre_id JOIN places pl ON pl.id = v.place_id"
        " LEFT JOIN teams t ON t.id = v.team_id"
        " WHERE v.model_case = 1 AND v.status = 'active' AND v.visit_date >= ?"
        " AND v.visit_date < ? ORDER BY v.visit_date, v.id",
        (d0, d1),
    )
    return WeekStats(
        week=week,
        teams=teams,
        model_cases=[
            ModelCase(r["id"], r["cadre_name"], r["team_name"], r["place_name"], r["text"])
            for r in cases[:MODEL_CASES_SHOWN]
        ],
        model_case_count=len(cases),
    )


async def campaign_began(db: Database) -> tuple[date | None, datetime | None]:
    """The earliest visit's own date (a visit may be logged days late, or imported) and
    the first moment the bot was in use: a problem raised, a person joined, a chat bound.
    The audit log keeps joins and binds that were undone since; the live tables cover
    rows written without it."""
    row = await db.fetchone(
        """
        SELECT (SELECT MIN(visit_date) FROM visits) AS first_visit,
          (SELECT MIN(at) FROM (
             SELECT MIN(created_at) AS at FROM problems
             UNION ALL SELECT MIN(bound_at) FROM telegram_bindings
             UNION ALL SELECT MIN(bound_at) FROM bound_chats
             UNION ALL SELECT MIN(at) FROM audit_log
               WHERE action IN ('bind', 'bind_team_chat', 'bind_office_chat')) AS firsts
          ) AS first_use
        """
    )
    if row is None:
        return None, None
    visit = date.fromisoformat(row["first_visit"]) if row["first_visit"] else None
    return visit, from_text(row["first_use"]) if row["first_use"] else None
