"""Report queries: summaries, coverage, overdue problems, work logs, model cases.

Reports run in a worker thread on their own read-only SQLite connection (``reading``):
WAL lets them read a consistent snapshot while the bot keeps writing through its one
write connection, and no cadre's update waits behind a year's summary. Every function
here is synchronous and takes that connection.

Only active visits count (withdrawn ones do not); a visit counts for the team and group
copied onto it when it was logged. Cadres expected in the field are the active cadres,
group leaders and team leaders on the roster now.
"""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, tzinfo
from pathlib import Path
from typing import Any, cast

from campaign.periods import Period, split_months
from campaign.reporting import (
    CadreRef,
    CadreWork,
    Coverage,
    CoverageTeam,
    LevelLine,
    OverdueProblem,
    PlaceRef,
    Scope,
    ScopeKind,
    Summary,
    Target,
    Unit,
    UnitLine,
    on_quota,
)
from campaign.roles import FIELD_ROLES, Role
from campaign.vocabulary import LEVELS

Conn = sqlite3.Connection
FIELD_SQL = "(" + ", ".join(f"'{r.value}'" for r in sorted(FIELD_ROLES)) + ")"
OPEN_STATUSES = ("open", "claimed")
# Past this many days, per-unit counts read the indexes kept in unit order (migration
# 0011) from end to end instead of sorting the period's rows: a year's sort is the cost.
LONG_PERIOD_DAYS = 62


def _long(period: Period) -> bool:
    return period.days > LONG_PERIOD_DAYS


_SNAPSHOT_ID = re.compile(r"[0-9A-Fa-f]+-[0-9A-Fa-f]+(-[0-9]+)?")


@contextmanager
def reading(path: str | Path, *, snapshot: str | None = None) -> Iterator[Conn]:
    """A read-only connection holding one snapshot of the database until the block ends.

    ``snapshot`` (PostgreSQL): the one another connection exported (``export_snapshot``),
    so that two processes read exactly the same state."""
    if str(path).startswith(("postgresql://", "postgres://")):
        from storage import pg  # noqa: PLC0415  (only with the extra "postgres")

        with pg.reading(str(path)) as shared:
            if snapshot is not None:
                if not _SNAPSHOT_ID.fullmatch(snapshot):
                    raise ValueError(f"not a snapshot id: {snapshot!r}")
                shared.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            yield cast(Conn, shared)
        return
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("PRAGMA query_only=ON")
        conn.execute("BEGIN")
        yield conn
    finally:
        conn.close()


def export_snapshot(conn: Conn) -> str | None:
    """The id another process gives ``reading`` to read this connection's snapshot
    (PostgreSQL; None on SQLite, whose snapshots cannot be shared)."""
    if isinstance(conn, sqlite3.Connection):
        return None
    row = conn.execute("SELECT pg_export_snapshot()").fetchone()
    return str(row[0])


@contextmanager
def reading_on(path: str | Path, conn: Conn | None) -> Iterator[Conn]:
    """``conn`` when the caller already holds a snapshot (one report, one snapshot),
    else a new one for the block."""
    if conn is not None:
        yield conn
        return
    with reading(path) as fresh:
        yield fresh


def utc_text(day: date, tz: tzinfo) -> str:
    """The UTC text of local midnight starting ``day``, comparable with stored times."""
    return datetime.combine(day, time(0), tz).astimezone(UTC).isoformat(timespec="seconds")


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def scope_sql(scope: Scope, team_col: str, group_col: str) -> tuple[str, tuple[Any, ...]]:
    if scope.kind is ScopeKind.TEAM:
        return f" AND {team_col} = ?", (scope.team_id,)
    if scope.kind is ScopeKind.GROUP:
        return f" AND {group_col} = ?", (scope.group_id,)
    return "", ()


# --- names ------------------------------------------------------------------------------


def teams(conn: Conn, scope: Scope | None = None) -> list[Unit]:
    """Active teams, limited to the scope's team when it has one."""
    where, params = "", cast(tuple[Any, ...], ())
    if scope is not None and scope.kind is not ScopeKind.ALL:
        where, params = " AND id = ?", (scope.team_id,)
    rows = conn.execute(
        f"SELECT id, name FROM teams WHERE active = 1{where} ORDER BY code, id", params
    ).fetchall()
    return [Unit(r["id"], r["name"], team_id=r["id"]) for r in rows]


def find_teams(conn: Conn, text: str) -> list[Unit]:
    """Teams whose code, name or town is ``text``, else whose name starts with it."""
    key = text.strip()
    if not key:
        return []
    rows = conn.execute(
        "SELECT id, name FROM teams WHERE active = 1 AND (lower(code) = lower(?) OR name = ?"
        " OR town = ?) ORDER BY id",
        (key, key, key),
    ).fetchall()
    if not rows:
        rows = conn.execute(
            "SELECT id, name FROM teams WHERE active = 1 AND (name LIKE ? OR town LIKE ?)"
            " ORDER BY id",
            (key.replace("%", "") + "%", key.replace("%", "") + "%"),
        ).fetchall()
    return [Unit(r["id"], r["name"], team_id=r["id"]) for r in rows]


def scope_name(conn: Conn, scope: Scope) -> str:
    """The team's or group's name; empty for the whole county."""
    if scope.kind is ScopeKind.TEAM:
        row = conn.execute("SELECT name FROM teams WHERE id = ?", (scope.team_id,)).fetchone()
    elif scope.kind is ScopeKind.GROUP:
        row = conn.execute("SELECT name FROM groups WHERE id = ?", (scope.group_id,)).fetchone()
    else:
        return ""
    return str(row["name"]) if row else "?"


# --- summary ----------------------------------------------------------------------------


def _units(conn: Conn, scope: Scope, rows_kind: str) -> list[Unit]:
    if rows_kind == "team":
        return teams(conn, scope)
    if rows_kind == "group":
        where, params = scope_sql(scope, "g.team_id", "g.id")
        rows = conn.execute(
            "SELECT g.id, g.name, g.team_id FROM groups g JOIN teams t ON t.id = g.team_id"
            f" WHERE g.active = 1{where} ORDER BY t.code, t.id, g.code, g.id",
            params,
        ).fetchall()
        return [Unit(r["id"], r["name"], team_id=r["team_id"], group_id=r["id"]) for r in rows]
    where, params = scope_sql(scope, "team_id", "group_id")
    rows = conn.execute(
        f"SELECT id, name, team_id, group_id FROM cadres WHERE active = 1 AND role IN {FIELD_SQL}"
        f"{where} ORDER BY group_id, name, id",
        params,
    ).fetchall()
    return [Unit(r["id"], r["name"], r["team_id"], r["group_id"]) for r in rows]


def _unit_key(rows_kind: str, team_id: Any, group_id: Any, cadre_id: Any) -> Any:
    return {"team": team_id, "group": group_id, "cadre": cadre_id}[rows_kind]


def cadre_work(
    conn: Conn, scope: Scope, period: Period, *, rollups: bool = True
) -> list[CadreWork]:
    """Each cadre's visits and distinct days in the field, per team and group of visit:
    whole months from report_cadre_months, odd days from report_cadre_days (migration
    0027); ``rollups=False`` counts the visits themselves (the same numbers, slower)."""
    if not rollups:
        return _cadre_work_scan(conn, scope, period)
    where, params = scope_sql(scope, "team_id", "group_id")
    split = split_months(period.start, period.end)
    found: dict[tuple[int, int, int], list[int]] = {}
    parts: list[tuple[str, tuple[Any, ...]]] = []
    if split.first_month is not None and split.first_month == split.last_month:
        # One month: its rows are the answer already (one per cadre, team and group).
        parts.append(
            (
                "SELECT cadre_id, team_id, group_id, visits, days FROM report_cadre_months"
                f" WHERE month = ?{where}",
                (split.first_month, *params),
            )
        )
    elif split.first_month is not None:
        parts.append(
            (
                "SELECT cadre_id, team_id, group_id, SUM(visits), SUM(days) FROM"
                f" report_cadre_months WHERE month >= ? AND month <= ?{where} GROUP BY 1, 2, 3",
                (split.first_month, split.last_month, *params),
            )
        )
    for start, end in split.spans:
        parts.append(
            (
                "SELECT cadre_id, team_id, group_id, SUM(visits), COUNT(*) FROM"
                " report_cadre_days WHERE visit_date >= ? AND visit_date < ?"
                f"{where} GROUP BY 1, 2, 3",
                (start.isoformat(), end.isoformat(), *params),
            )
        )
    if len(parts) == 1:
        return [
            CadreWork(cadre_id, team_id or None, group_id or None, n, d)
            for cadre_id, team_id, group_id, n, d in conn.execute(*parts[0])
            if n
        ]
    for sql, args in parts:
        for cadre_id, team_id, group_id, n, d in conn.execute(sql, args):
            acc = found.setdefault((cadre_id, team_id, group_id), [0, 0])
            acc[0] += n
            acc[1] += d
    return [
        CadreWork(cadre_id, team_id or None, group_id or None, n, d)
        for (cadre_id, team_id, group_id), (n, d) in found.items()
        if n
    ]


def _cadre_work_scan(conn: Conn, scope: Scope, period: Period) -> list[CadreWork]:
    where, params = scope_sql(scope, "team_id", "group_id")
    index = " INDEXED BY visits_report_cadre" if _long(period) else ""
    rows = conn.execute(
        "SELECT cadre_id, team_id, group_id, COUNT(*) AS n, COUNT(DISTINCT visit_date) AS d"
        f" FROM visits{index} WHERE status = 'active' AND visit_date >= ? AND visit_date < ?"
        f"{where} GROUP BY cadre_id, team_id, group_id",
        (period.start.isoformat(), period.end.isoformat(), *params),
    ).fetchall()
    return [CadreWork(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def visited_places(conn: Conn, period: Period) -> set[int]:
    """Places anyone visited in the period (one index probe per place). A village also
    counts as visited when one of its households was: the cadre was in the village
    (docs/reports.md, "What counts as visited"); a household only counts itself."""
    rows = conn.execute(
        "SELECT p.id, p.village_id FROM places p WHERE EXISTS (SELECT 1 FROM visits v WHERE"
        " v.place_id = p.id AND v.visit_date >= ? AND v.visit_date < ?"
        " AND v.status = 'active')",
        (period.start.isoformat(), period.end.isoformat()),
    ).fetchall()
    return {r[0] for r in rows} | {r[1] for r in rows if r[1] is not None}


def summary(
    conn: Conn,
    scope: Scope,
    period: Period,
    *,
    now: datetime,
    tz: tzinfo,
    per_cadre: Target,
    rows_kind: str | None = None,
    target_for: Callable[[str, int | None, int | None], Target] | None = None,
    rollups: bool = True,
) -> Summary:
    """Visits, days, places, kinds and problems over ``period`` for ``scope``, broken
    down by team (county), by group (a team) or by cadre (a group).

    Problems raised, solved and explained count within the period; problems in hand and
    overdue are as of ``now``. Team leaders belong to no group: in a by-group breakdown
    their visits count in the total only. ``per_cadre`` is each cadre's quota for the
    period (``campaign.reporting.quota_share``: the rule stays out of storage);
    ``target_for`` (role, team id, group id), when given, each one's own (quotas that
    fit the role and the unit). ``rollups=False`` counts visits and kinds by day
    instead of reading the month tables: the same numbers, for the tests to compare.
    """
    if rows_kind is None:
        rows_kind = {ScopeKind.ALL: "team", ScopeKind.TEAM: "group", ScopeKind.GROUP: "cadre"}[
            scope.kind
        ]
    total = UnitLine(Unit(0, scope_name(conn, scope)))
    lines = {u.id: UnitLine(u) for u in _units(conn, scope, rows_kind)}

    # Roster: the cadres expected in the field now, and their linked places.
    where, params = scope_sql(scope, "team_id", "group_id")
    roster = conn.execute(
        f"SELECT id, team_id, group_id, role FROM cadres WHERE active = 1 AND role IN"
        f" {FIELD_SQL}{where}",
        params,
    ).fetchall()
    own_target = {r[0]: target_for(r[3], r[1], r[2]) for r in roster} if target_for else {}
    cadre_unit = {r[0]: _unit_key(rows_kind, r[1], r[2], r[0]) for r in roster}
    total.cadres = len(roster)
    for unit_id in cadre_unit.values():
        if unit_id in lines:
            lines[unit_id].cadres += 1

    work = cadre_work(conn, scope, period, rollups=rollups)
    per_cadre_total: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for w in work:
        total.visits += w.visits
        total.days += w.days
        line = lines.get(_unit_key(rows_kind, w.team_id, w.group_id, w.cadre_id))
        if line is not None:
            line.visits += w.visits
            line.days += w.days
        acc = per_cadre_total[w.cadre_id]
        acc[0] += w.visits
        acc[1] += w.days
    for cadre_id, unit_id in cadre_unit.items():
        v, d = per_cadre_total.get(cadre_id, (0, 0))
        if on_quota(CadreWork(cadre_id, None, None, v, d), own_target.get(cadre_id, per_cadre)):
            total.on_quota += 1
            if unit_id in lines:
                lines[unit_id].on_quota += 1

    _add_kinds(conn, scope, period, rows_kind, total, lines, rollups)
    _add_places(conn, scope, period, rows_kind, total, lines)
    levels = _add_problems(conn, scope, period, now, tz, rows_kind, total, lines)

    total.target = per_cadre.times(total.cadres)
    for line in lines.values():
        line.target = per_cadre.times(line.cadres)
    if own_target:
        sums: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for cadre_id, unit_id in cadre_unit.items():
            mine = own_target[cadre_id]
            for key in (unit_id, -1):
                sums[key][0] += mine.visits
                sums[key][1] += mine.days
        total.target = Target(*sums[-1])
        for unit_id, line in lines.items():
            line.target = Target(*sums[unit_id]) if unit_id in sums else Target(0.0, 0.0)
    return Summary(
        period=period,
        scope=scope,
        scope_name=total.unit.name,
        per_cadre=per_cadre,
        total=total,
        rows_kind=rows_kind,
        rows=list(lines.values()),
        levels=levels,
        elapsed=None,
    )


def _add_kinds(
    conn: Conn,
    scope: Scope,
    period: Period,
    rows_kind: str,
    total: UnitLine,
    lines: dict[int, UnitLine],
    rollups: bool = True,
) -> None:
    for unit, kind, n in _kind_counts(conn, scope, period, rows_kind, rollups):
        if not n:
            continue
        total.kinds[kind] = total.kinds.get(kind, 0) + n
        line = lines.get(unit)
        if line is not None:
            line.kinds[kind] = line.kinds.get(kind, 0) + n


def _kind_counts(
    conn: Conn, scope: Scope, period: Period, rows_kind: str, rollups: bool
) -> list[tuple[Any, str, int]]:
    """(unit, kind, visits): a group's few visits counted per cadre from the visits
    themselves; teams and groups from report_kind_months for whole months (migration
    0027) and report_kind_days for odd days (migration 0011)."""
    if rows_kind == "cadre":
        where, params = scope_sql(scope, "v.team_id", "v.group_id")
        sql = (
            "SELECT v.cadre_id, k.kind, COUNT(*) FROM visits v"
            " JOIN visit_kinds k ON k.visit_id = v.id"
            " WHERE v.status = 'active' AND v.visit_date >= ? AND v.visit_date < ?"
            f"{where} GROUP BY 1, 2"
        )
        span = (period.start.isoformat(), period.end.isoformat())
        return [tuple(r) for r in conn.execute(sql, (*span, *params))]  # type: ignore[misc]
    where, params = scope_sql(scope, "team_id", "group_id")
    column = "team_id" if rows_kind == "team" else "group_id"
    split = split_months(period.start, period.end)
    months: tuple[str | None, str | None] = (split.first_month, split.last_month)
    spans = list(split.spans)
    if not rollups:
        months, spans = (None, None), [(period.start, period.end)]
    out: list[tuple[Any, str, int]] = []
    if months[0] is not None:
        out += conn.execute(
            f"SELECT {column}, kind, SUM(visits) FROM report_kind_months"
            f" WHERE month >= ? AND month <= ?{where} GROUP BY 1, 2",
            (*months, *params),
        ).fetchall()
    for start, end in spans:
        index = (
            f" INDEXED BY report_kind_days_{rows_kind}"
            if (end - start).days > LONG_PERIOD_DAYS
            else ""
        )
        out += conn.execute(
            f"SELECT {column}, kind, SUM(visits) FROM report_kind_days{index}"
            f" WHERE visit_date >= ? AND visit_date < ?{where} GROUP BY 1, 2",
            (start.isoformat(), end.isoformat(), *params),
        ).fetchall()
    return out


def _add_places(
    conn: Conn,
    scope: Scope,
    period: Period,
    rows_kind: str,
    total: UnitLine,
    lines: dict[int, UnitLine],
) -> None:
    visited = visited_places(conn, period)
    where, params = scope_sql(scope, "g.team_id", "g.id")
    places = conn.execute(
        "SELECT p.id, p.group_id, g.team_id FROM places p JOIN groups g ON g.id = p.group_id"
        f" WHERE p.active = 1{where}",
        params,
    ).fetchall()
    for place_id, group_id, team_id in places:
        hit = place_id in visited
        total.places_total += 1
        total.places += hit
        if rows_kind != "cadre":
            line = lines.get(team_id if rows_kind == "team" else group_id)
            if line is not None:
                line.places_total += 1
                line.places += hit
    if rows_kind == "cadre":
        # A cadre's places: those of their group, visited by them.
        where, params = scope_sql(scope, "team_id", "group_id")
        for cadre_id, n in conn.execute(
            "SELECT cadre_id, COUNT(DISTINCT place_id) FROM visits WHERE status = 'active'"
            f" AND visit_date >= ? AND visit_date < ?{where} GROUP BY cadre_id",
            (period.start.isoformat(), period.end.isoformat(), *params),
        ):
            if cadre_id in lines:
                lines[cadre_id].places = n
        for line in lines.values():
            line.places_total = sum(1 for _, g, _ in places if g == line.unit.group_id)


def _add_problems(
    conn: Conn,
    scope: Scope,
    period: Period,
    now: datetime,
    tz: tzinfo,
    rows_kind: str,
    total: UnitLine,
    lines: dict[int, UnitLine],
) -> list[LevelLine]:
    start, end = utc_text(period.start, tz), utc_text(period.end, tz)
    now_text = now.astimezone(UTC).isoformat(timespec="seconds")
    where, params = scope_sql(scope, "team_id", "group_id")
    # Grouped by the breakdown's own column only: a county's problems in hand fall in
    # about 1,500 (team, group, reporter, level) groups but in 66 (team, level) ones.
    unit = {"team": "team_id", "group": "group_id", "cadre": "reporter_id"}[rows_kind]

    def targets(key: Any) -> list[UnitLine]:
        line = lines.get(key)
        return [total, line] if line is not None else [total]

    # Three index range scans: raised in the period, closed in it, in hand now.
    for key, n in conn.execute(
        f"SELECT {unit}, COUNT(*) FROM problems"
        f" WHERE created_at >= ? AND created_at < ?{where} GROUP BY 1",
        (start, end, *params),
    ):
        for t in targets(key):
            t.raised += n
    by_level = {lv: [0, 0, 0, 0] for lv in LEVELS}
    for key, level, status, n in conn.execute(
        f"SELECT {unit}, level, status, COUNT(*) FROM problems"
        f" WHERE closed_at >= ? AND closed_at < ? AND +status IN ('solved', 'explained')"
        f"{where}"
        " GROUP BY 1, 2, 3",
        (start, end, *params),
    ):
        acc = by_level.setdefault(level, [0, 0, 0, 0])
        acc[2 if status == "solved" else 3] += n
        for t in targets(key):
            if status == "solved":
                t.solved += n
            else:
                t.explained += n
    for key, level, late, n in conn.execute(
        f"SELECT {unit}, level, deadline < ?, COUNT(*) FROM problems INDEXED BY problems_in_hand"
        f" WHERE status IN ('open', 'claimed'){where} GROUP BY 1, 2, 3",
        (now_text, *params),
    ):
        acc = by_level.setdefault(level, [0, 0, 0, 0])
        acc[0] += n
        if late:
            acc[1] += n
            for t in targets(key):
                t.overdue += n
    return [LevelLine(lv, *acc) for lv, acc in by_level.items()]


# --- coverage ---------------------------------------------------------------------------


def coverage(conn: Conn, scope: Scope, period: Period) -> Coverage:
    """Per team: linked places nobody visited, and cadres with no visit, in the period."""
    visited = visited_places(conn, period)
    where, params = scope_sql(scope, "g.team_id", "g.id")
    places = conn.execute(
        "SELECT p.id, p.name, p.kind, g.name AS group_name, g.team_id FROM places p"
        f" JOIN groups g ON g.id = p.group_id WHERE p.active = 1{where}"
        " ORDER BY g.code, g.id, p.code, p.id",
        params,
    ).fetchall()
    where, params = scope_sql(scope, "c.team_id", "c.group_id")
    cadres = conn.execute(
        "SELECT c.id, c.name, c.role, c.team_id, c.unit, COALESCE(g.name, '') AS group_name,"
        " EXISTS (SELECT 1 FROM visits v WHERE v.cadre_id = c.id AND v.visit_date >= ?"
        " AND v.visit_date < ? AND v.status = 'active') AS busy"
        " FROM cadres c LEFT JOIN groups g ON g.id = c.group_id"
        f" WHERE c.active = 1 AND c.role IN {FIELD_SQL}{where}"
        " ORDER BY g.code, c.name, c.id",
        (period.start.isoformat(), period.end.isoformat(), *params),
    ).fetchall()
    out: list[CoverageTeam] = []
    for team in teams(conn, scope):
        team_places = [p for p in places if p["team_id"] == team.id]
        team_cadres = [c for c in cadres if c["team_id"] == team.id]
        out.append(
            CoverageTeam(
                team_id=team.id,
                team_name=team.name,
                places_total=len(team_places),
                unvisited=[
                    PlaceRef(p["id"], p["name"], p["kind"], p["group_name"])
                    for p in team_places
                    if p["id"] not in visited
                ],
                cadres_total=len(team_cadres),
                idle=[
                    CadreRef(
                        c["id"], c["name"], Role(c["role"]), team.name, c["group_name"], c["unit"]
                    )
                    for c in team_cadres
                    if not c["busy"]
                ],
            )
        )
    return Coverage(period, scope_name(conn, scope), out)


# --- overdue ----------------------------------------------------------------------------

PROBLEM_SELECT = """
SELECT p.id, p.level, p.status, p.category, p.description, p.urgent, p.department,
       p.created_at, p.deadline, p.closed_at, p.resolution, p.explained_by, p.explained_on,
       p.level_since, p.watch, p.owner_id,
       COALESCE(pl.name, '') AS place_name, COALESCE(t.name, '') AS team_name,
       COALESCE(g.name, '') AS group_name, COALESCE(r.name, '') AS reporter_name,
       o.name AS owner_name
FROM problems p
LEFT JOIN places pl ON pl.id = p.place_id
LEFT JOIN teams t ON t.id = p.team_id
LEFT JOIN groups g ON g.id = p.group_id
LEFT JOIN cadres r ON r.id = p.reporter_id
LEFT JOIN cadres o ON o.id = p.owner_id
"""


def overdue(conn: Conn, scope: Scope, now: datetime) -> list[OverdueProblem]:
    """Open or claimed problems past their level's deadline, oldest deadline first."""
    where, params = scope_sql(scope, "p.team_id", "p.group_id")
    rows = conn.execute(
        PROBLEM_SELECT + " WHERE p.status IN ('open', 'claimed') AND p.deadline < ?"
        f"{where} ORDER BY p.deadline, p.id",
        (now.astimezone(UTC).isoformat(timespec="seconds"), *params),
    ).fetchall()
    return [
        OverdueProblem(
            id=r["id"],
            level=r["level"],
            status=r["status"],
            category=r["category"],
            description=r["description"],
            urgent=bool(r["urgent"]),
            place_name=r["place_name"],
            team_name=r["team_name"],
            group_name=r["group_name"],
            reporter_name=r["reporter_name"],
            owner_name=r["owner_name"],
            department=r["department"],
            created_at=when(r["created_at"]),
            deadline=when(r["deadline"]),
        )
        for r in rows
    ]
