"""Per-item reports: one cadre's work log, the model cases, and the row streams of the
workbook (visits, the problem ledger and its history, cadre progress).

Synchronous, on the reading connection of ``storage.reports.reading``.
"""

from __future__ import annotations

import sqlite3
from array import array
from collections.abc import Iterator
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from campaign.periods import Period
from campaign.reporting import (
    CadreLog,
    CadreProgress,
    CadreRef,
    Cases,
    EventRow,
    ProblemEntry,
    ProblemRow,
    Scope,
    Target,
    VisitEntry,
    VisitRow,
)
from campaign.roles import Role
from campaign.vocabulary import WORK_KINDS
from storage.reports import (
    FIELD_SQL,
    OPEN_STATUSES,
    PROBLEM_SELECT,
    Conn,
    scope_name,
    scope_sql,
    utc_text,
    when,
)

# --- one cadre's log, model cases ---------------------------------------------------------

_CADRE_SELECT = """
SELECT c.id, c.name, c.role, c.unit, c.phone, COALESCE(t.name, '') AS team_name,
       COALESCE(g.name, '') AS group_name
FROM cadres c LEFT JOIN teams t ON t.id = c.team_id LEFT JOIN groups g ON g.id = c.group_id
"""


def _cadre_ref(r: sqlite3.Row) -> CadreRef:
    return CadreRef(
        r["id"], r["name"], Role(r["role"]), r["team_name"], r["group_name"], r["unit"], r["phone"]
    )


def find_cadres(
    conn: Conn, scope: Scope, text: str, phone: str | None = None, limit: int = 20
) -> list[CadreRef]:
    """Cadres in scope by ``phone`` (canonical) when given, else by exact name, else by
    part of the name."""
    where, params = scope_sql(scope, "c.team_id", "c.group_id")
    key = text.strip()
    if phone:
        rows = conn.execute(
            _CADRE_SELECT + f" WHERE c.phone = ?{where} ORDER BY c.id", (phone, *params)
        ).fetchall()
        return [_cadre_ref(r) for r in rows]
    if not key:
        return []
    rows = conn.execute(
        _CADRE_SELECT + f" WHERE c.name = ?{where} ORDER BY c.active DESC, c.id LIMIT ?",
        (key, *params, limit),
    ).fetchall()
    if not rows:
        pattern = "%" + key.replace("%", "").replace("_", "") + "%"
        rows = conn.execute(
            _CADRE_SELECT + f" WHERE c.name LIKE ?{where} ORDER BY c.active DESC, c.id LIMIT ?",
            (pattern, *params, limit),
        ).fetchall()
    return [_cadre_ref(r) for r in rows]


def cadre_in_scope(conn: Conn, scope: Scope, cadre_id: int) -> CadreRef | None:
    where, params = scope_sql(scope, "c.team_id", "c.group_id")
    row = conn.execute(_CADRE_SELECT + f" WHERE c.id = ?{where}", (cadre_id, *params)).fetchone()
    return _cadre_ref(row) if row else None


_VISIT_SELECT = """
SELECT v.id, v.visit_date, v.text, v.people_met, v.far, v.distance_km, v.model_case,
       v.voice_file_id IS NOT NULL AS voice,
       c.name AS cadre_name, COALESCE(t.name, '') AS team_name,
       COALESCE(g.name, '') AS group_name, pl.name AS place_name, pl.kind AS place_kind,
       (SELECT group_concat(kind) FROM visit_kinds k WHERE k.visit_id = v.id) AS kinds,
       (SELECT COUNT(*) FROM visit_photos ph WHERE ph.visit_id = v.id) AS photos
FROM visits v
JOIN cadres c ON c.id = v.cadre_id
JOIN places pl ON pl.id = v.place_id
LEFT JOIN teams t ON t.id = v.team_id
LEFT JOIN groups g ON g.id = v.group_id
"""


def _visit_entry(r: sqlite3.Row) -> VisitEntry:
    return VisitEntry(
        id=r["id"],
        visit_date=date.fromisoformat(r["visit_date"]),
        cadre_name=r["cadre_name"],
        team_name=r["team_name"],
        group_name=r["group_name"],
        place_name=r["place_name"],
        place_kind=r["place_kind"],
        kinds=tuple(r["kinds"].split(",")) if r["kinds"] else (),
        text=r["text"],
        people_met=r["people_met"],
        photos=r["photos"],
        voice=bool(r["voice"]),
        far=bool(r["far"]),
        distance_km=r["distance_km"],
        model_case=bool(r["model_case"]),
    )


def cadre_log(
    conn: Conn,
    scope: Scope,
    cadre: CadreRef,
    period: Period,
    *,
    tz: tzinfo,
    target: Target,
) -> CadreLog:
    """A cadre's visits and raised problems in the period, within the asker's scope."""
    where, params = scope_sql(scope, "v.team_id", "v.group_id")
    visits = [
        _visit_entry(r)
        for r in conn.execute(
            _VISIT_SELECT + " WHERE v.cadre_id = ? AND v.status = 'active'"
            f" AND v.visit_date >= ? AND v.visit_date < ?{where} ORDER BY v.visit_date, v.id",
            (cadre.id, period.start.isoformat(), period.end.isoformat(), *params),
        )
    ]
    where, params = scope_sql(scope, "p.team_id", "p.group_id")
    problems = [
        ProblemEntry(
            r["id"],
            when(r["created_at"]),
            r["level"],
            r["status"],
            r["category"],
            r["description"],
            r["place_name"],
        )
        for r in conn.execute(
            PROBLEM_SELECT + " WHERE p.reporter_id = ? AND p.created_at >= ?"
            f" AND p.created_at < ?{where} ORDER BY p.created_at, p.id",
            (cadre.id, utc_text(period.start, tz), utc_text(period.end, tz), *params),
        )
    ]
    return CadreLog(
        cadre=cadre,
        period=period,
        visits=visits,
        days=len({v.visit_date for v in visits}),
        places=len({v.place_name for v in visits}),
        problems=problems,
        target=target,
    )


def cases(conn: Conn, scope: Scope, period: Period, limit: int = 500) -> Cases:
    """Visits marked as possible model cases (典型), newest first."""
    where, params = scope_sql(scope, "v.team_id", "v.group_id")
    rows = conn.execute(
        _VISIT_SELECT + " WHERE v.model_case = 1 AND v.status = 'active'"
        f" AND v.visit_date >= ? AND v.visit_date < ?{where}"
        " ORDER BY v.visit_date DESC, v.id DESC LIMIT ?",
        (period.start.isoformat(), period.end.isoformat(), *params, limit),
    ).fetchall()
    return Cases(period, scope_name(conn, scope), [_visit_entry(r) for r in rows])


# --- rows for the workbook ----------------------------------------------------------------


def visit_days(conn: Conn, scope: Scope, period: Period) -> tuple[list[tuple[str, int]], int]:
    """How many rows ``visit_rows`` gives for each day of the period (days without
    visits left out), and the largest visit id: where to split the visits between two
    processes, and the bound that keeps visits logged meanwhile out of both halves.
    Read over the covering index in date order; the unary plus keeps the planner on it
    (the check that cadre and place exist, as ``visit_rows`` skips, is per row)."""
    where, params = scope_sql(scope, "v.team_id", "v.group_id")
    cur = conn.execute(
        "SELECT v.visit_date, COUNT(*) FROM visits v WHERE v.status = 'active'"
        f" AND v.visit_date >= ? AND v.visit_date < ?{where}"
        " AND +v.cadre_id IN (SELECT id FROM cadres) AND +v.place_id IN (SELECT id FROM places)"
        " GROUP BY v.visit_date ORDER BY v.visit_date",
        (period.start.isoformat(), period.end.isoformat(), *params),
    )
    cur.row_factory = None
    days = [(str(day), int(n)) for day, n in cur]
    top = conn.execute("SELECT MAX(id) FROM visits").fetchone()
    return days, int(top[0] or 0) if top is not None else 0


def visit_rows(
    conn: Conn,
    scope: Scope,
    period: Period,
    *,
    since: date | None = None,
    until: date | None = None,
    up_to_id: int | None = None,
) -> Iterator[VisitRow]:
    """Every active visit of the period, streamed in date order (then id); only those
    from ``since`` and before ``until`` when given (part of the period), and none with
    an id above ``up_to_id`` (logged after another process's snapshot).

    Built for a year of a county (a quarter of a million rows): the visits are read
    bare, in one pass, and everything else comes from small tables read once beside
    them, never joined or grouped row by row: the names of teams, groups, cadres and
    places as dictionaries; each visit's kinds as a bit mask and its photo count, both
    read over the period's range of visit ids into arrays indexed by id; the kept
    evidence files grouped once (only the visits that have some). A row is a tuple."""
    where, params = scope_sql(scope, "v.team_id", "v.group_id")
    start = max(period.start, since) if since is not None else period.start
    end = min(period.end, until) if until is not None else period.end
    if up_to_id is not None:
        where, params = f"{where} AND v.id <= ?", (*params, up_to_id)
    chosen = f"v.status = 'active' AND v.visit_date >= ? AND v.visit_date < ?{where}"
    args = (start.isoformat(), end.isoformat(), *params)
    span = conn.execute(
        "SELECT MIN(v.id), MAX(v.id) FROM visits v WHERE v.visit_date >= ? AND v.visit_date < ?",
        args[:2],
    ).fetchone()
    if span is None or span[0] is None:
        return
    low, high = int(span[0]), int(span[1])
    masks = bytearray(high - low + 1)  # bit i: WORK_KINDS[i]
    for bit, kind in enumerate(WORK_KINDS):
        cur = conn.execute(
            "SELECT visit_id FROM visit_kinds WHERE kind = ? AND visit_id >= ? AND visit_id <= ?",
            (kind, low, high),
        )
        cur.row_factory = None
        flag = 1 << bit
        for (vid,) in cur:
            masks[vid - low] |= flag
    kinds_of = [
        tuple(sorted(k for bit, k in enumerate(WORK_KINDS) if mask >> bit & 1))
        for mask in range(1 << len(WORK_KINDS))
    ]
    photos = array("l", [0]) * (high - low + 1)
    cur = conn.execute(
        "SELECT visit_id, COUNT(*) FROM visit_photos WHERE visit_id >= ? AND visit_id <= ?"
        " GROUP BY visit_id",
        (low, high),
    )
    cur.row_factory = None
    for vid, n in cur:
        photos[vid - low] = n
    cur = conn.execute(
        "SELECT m.owner_id, group_concat(m.kind || ':' || m.id) FROM media_files m"
        " JOIN visits v ON v.id = m.owner_id"
        f" WHERE m.owner = 'visit' AND m.status = 'saved' AND {chosen} AND ("
        " m.file_id = v.voice_file_id OR EXISTS (SELECT 1 FROM visit_photos ph"
        " WHERE ph.visit_id = v.id AND ph.file_id = m.file_id)) GROUP BY m.owner_id",
        args,
    )
    cur.row_factory = None
    files = {int(r[0]): _saved_files(r[1]) for r in cur}
    teams = _names(conn, "SELECT id, name FROM teams")
    groups = _names(conn, "SELECT id, name FROM groups")
    cur = conn.execute("SELECT id, name, unit FROM cadres")
    cur.row_factory = None
    cadres = {r[0]: (r[1], r[2]) for r in cur}
    cur = conn.execute("SELECT id, name, kind FROM places")
    cur.row_factory = None
    places = {r[0]: (r[1], r[2]) for r in cur}

    cur = conn.execute(
        "SELECT v.id, v.visit_date, v.team_id, v.group_id, v.cadre_id, v.place_id, v.text,"
        " v.people_met, v.voice_file_id IS NOT NULL, v.distance_km, v.far, v.model_case,"
        f" v.created_at FROM visits v WHERE {chosen} ORDER BY v.visit_date, v.id",
        args,
    )
    cur.row_factory = None
    fromiso_d, fromiso_t = date.fromisoformat, datetime.fromisoformat
    team_of, group_of, cadre_of, place_of = teams.get, groups.get, cadres.get, places.get
    files_of, none = files.get, ()
    for vid, day, team, group, cadre_id, place_id, text, met, voice, km, far, model, at in cur:
        cadre, place = cadre_of(cadre_id), place_of(place_id)
        if cadre is None or place is None:  # as the inner joins of the report always did
            continue
        yield VisitRow(
            vid,
            fromiso_d(day),
            team_of(team, ""),
            group_of(group, ""),
            cadre[0],
            cadre[1],
            place[0],
            place[1],
            kinds_of[masks[vid - low]],
            text,
            met,
            photos[vid - low],
            bool(voice),
            km,
            bool(far),
            bool(model),
            fromiso_t(at),
            files_of(vid, none),
        )


def _names(conn: Conn, sql: str) -> dict[int, str]:
    cur = conn.execute(sql)
    cur.row_factory = None
    return {r[0]: r[1] for r in cur}


def _saved_files(text: str) -> tuple[tuple[str, int], ...]:
    """``photo:3,voice:4`` (kind:media id) as ((photo, 3), (voice, 4)), in that order."""
    pairs = (item.partition(":") for item in text.split(","))
    return tuple(sorted((kind, int(pos)) for kind, _, pos in pairs))


def _ledger_where(scope: Scope, period: Period, tz: tzinfo) -> tuple[str, tuple[Any, ...]]:
    """Problems raised in the period, or raised before it and still open at its start."""
    where, params = scope_sql(scope, "p.team_id", "p.group_id")
    start, end = utc_text(period.start, tz), utc_text(period.end, tz)
    return (
        " WHERE p.created_at < ? AND (p.created_at >= ? OR p.closed_at IS NULL"
        f" OR p.closed_at >= ?){where}",
        (end, start, start, *params),
    )


def problem_rows(
    conn: Conn, scope: Scope, period: Period, *, now: datetime, tz: tzinfo
) -> Iterator[ProblemRow]:
    where, params = _ledger_where(scope, period, tz)
    now_text = now.astimezone(UTC).isoformat(timespec="seconds")
    for r in conn.execute(PROBLEM_SELECT + where + " ORDER BY p.created_at, p.id", params):
        yield ProblemRow(
            id=r["id"],
            created_at=when(r["created_at"]),
            team_name=r["team_name"],
            group_name=r["group_name"],
            reporter_name=r["reporter_name"],
            place_name=r["place_name"],
            category=r["category"],
            description=r["description"],
            urgent=bool(r["urgent"]),
            level=r["level"],
            status=r["status"],
            owner_name=r["owner_name"],
            department=r["department"],
            deadline=when(r["deadline"]),
            overdue=r["status"] in OPEN_STATUSES and r["deadline"] < now_text,
            closed_at=when(r["closed_at"]) if r["closed_at"] else None,
            resolution=r["resolution"],
            explained_by=r["explained_by"],
            explained_on=date.fromisoformat(r["explained_on"]) if r["explained_on"] else None,
            watch=bool(r["watch"]),
        )


def event_rows(conn: Conn, scope: Scope, period: Period, *, tz: tzinfo) -> Iterator[EventRow]:
    """The whole history of every problem in the period's ledger."""
    where, params = _ledger_where(scope, period, tz)
    cur = conn.execute(
        "SELECT e.problem_id, e.at, e.action, a.name, e.from_level, e.to_level, e.note"
        " FROM problem_events e JOIN problems p ON p.id = e.problem_id"
        f" LEFT JOIN cadres a ON a.id = e.actor_id{where} ORDER BY e.problem_id, e.at, e.id",
        params,
    )
    cur.row_factory = None
    for r in cur:
        yield EventRow(r[0], when(r[1]), r[2], r[3], r[4], r[5], r[6])


def cadre_progress(
    conn: Conn, scope: Scope, period: Period, *, tz: tzinfo, target: Target
) -> list[CadreProgress]:
    """Every cadre expected in the field, with their visits, days and places in scope,
    against ``target``, each one's quota for the period."""
    vwhere, vparams = scope_sql(scope, "team_id", "group_id")
    work = {
        r[0]: (r[1], r[2], r[3])
        for r in conn.execute(
            "SELECT cadre_id, COUNT(*), COUNT(DISTINCT visit_date), COUNT(DISTINCT place_id)"
            " FROM visits WHERE status = 'active' AND visit_date >= ? AND visit_date < ?"
            f"{vwhere} GROUP BY cadre_id",
            (period.start.isoformat(), period.end.isoformat(), *vparams),
        )
    }
    raised = {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT reporter_id, COUNT(*) FROM problems WHERE created_at >= ? AND created_at < ?"
            f"{vwhere} GROUP BY reporter_id",
            (utc_text(period.start, tz), utc_text(period.end, tz), *vparams),
        )
    }
    where, params = scope_sql(scope, "c.team_id", "c.group_id")
    out: list[CadreProgress] = []
    for r in conn.execute(
        "SELECT c.id, c.name, c.role, c.unit, c.team_id, COALESCE(t.name, '') AS team_name,"
        " COALESCE(g.name, '') AS group_name FROM cadres c"
        " LEFT JOIN teams t ON t.id = c.team_id LEFT JOIN groups g ON g.id = c.group_id"
        f" WHERE c.active = 1 AND c.role IN {FIELD_SQL}{where}"
        " ORDER BY t.code, t.id, g.code, g.id, c.name, c.id",
        params,
    ):
        v, d, p = work.get(r["id"], (0, 0, 0))
        out.append(
            CadreProgress(
                r["id"],
                r["name"],
                Role(r["role"]),
                r["unit"],
                r["team_id"],
                r["team_name"],
                r["group_name"],
                v,
                d,
                p,
                raised.get(r["id"], 0),
                target,
            )
        )
    return out
