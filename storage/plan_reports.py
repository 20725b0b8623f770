"""Plan completion for the office's reports, on the reports' read-only snapshot
connection (storage/reports.py ``reading``): done / due / overdue by team and group, and
the rows of the export's 工作计划 sheet."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from storage.reports import Conn


@dataclass(frozen=True)
class Completion:
    """Items due in a period of one team or group (cancelled ones left out)."""

    team_id: int
    team_name: str
    group_id: int | None
    group_name: str
    due: int
    done: int
    overdue: int


@dataclass(frozen=True)
class PlanLine:
    code: str
    team_name: str
    group_name: str
    place_name: str
    month: str
    due_date: date
    title: str
    measure: str
    target: float | None
    progress: float
    unit: str
    kind: str | None
    owners: str
    status: str
    cancel_reason: str


def _where(team_id: int | None, group_id: int | None) -> tuple[str, list[Any]]:
    if group_id is not None:
        return " AND i.group_id = ?", [group_id]
    if team_id is not None:
        return " AND i.team_id = ?", [team_id]
    return "", []


def completion_query(
    start: date,
    end: date,
    cut: date,
    *,
    team_id: int | None = None,
    group_id: int | None = None,
    by_group: bool = False,
) -> tuple[str, list[Any]]:
    """The statement of ``completion``, for any connection (the office's /plan list runs
    it on the bot's own, storage/plans.team_completion)."""
    extra, params = _where(team_id, group_id)
    key = "i.team_id, i.group_id" if by_group else "i.team_id"
    # Counted from the index plan_items_completion (migration 0028) first, the names
    # joined to the few counted lines after: not one team and group lookup per item.
    group = (
        ("x.group_id", "COALESCE(g.name, '')", " LEFT JOIN groups g ON g.id = x.group_id")
        if by_group
        else ("NULL", "''", "")
    )
    sql = (
        f"SELECT x.team_id, {group[0]} AS group_id, t.name AS team_name,"
        f" {group[1]} AS group_name, x.due, x.done, x.overdue FROM ("
        f" SELECT {key}, COUNT(*) AS due,"
        " SUM(CASE WHEN i.status = 'done' THEN 1 ELSE 0 END) AS done,"
        " SUM(CASE WHEN i.status IN ('todo', 'doing') AND i.due_date < ? THEN 1 ELSE 0 END)"
        " AS overdue"
        " FROM plan_items i"
        " WHERE i.due_date BETWEEN ? AND ? AND i.status <> 'cancelled'"
        f"{extra} GROUP BY {key}) x JOIN teams t ON t.id = x.team_id{group[2]}"
        f" ORDER BY {key.replace('i.', 'x.')}"
    )
    return sql, [cut.isoformat(), start.isoformat(), end.isoformat(), *params]


def completions(rows: Iterable[Any]) -> list[Completion]:
    """The rows of ``completion_query`` as ``Completion`` lines."""
    return [
        Completion(
            team_id=int(r["team_id"]),
            team_name=str(r["team_name"]),
            group_id=r["group_id"],
            group_name=str(r["group_name"]) if r["group_id"] is not None else "",
            due=int(r["due"]),
            done=int(r["done"] or 0),
            overdue=int(r["overdue"] or 0),
        )
        for r in rows
    ]


def completion(
    conn: Conn,
    start: date,
    end: date,
    cut: date,
    *,
    team_id: int | None = None,
    group_id: int | None = None,
    by_group: bool = False,
) -> list[Completion]:
    """Items due in [start, end] by team (or by team and group): how many, done, and
    open past due at ``cut``."""
    sql, params = completion_query(
        start, end, cut, team_id=team_id, group_id=group_id, by_group=by_group
    )
    return completions(conn.execute(sql, params).fetchall())


def lines(
    conn: Conn, start: date, end: date, *, team_id: int | None = None, group_id: int | None = None
) -> list[PlanLine]:
    """The items due in [start, end] in the scope, with open ones that fell due before
    (still to be done), by team, group and due date."""
    extra, params = _where(team_id, group_id)
    rows = conn.execute(
        "SELECT i.*, t.name AS team_name, COALESCE(g.name, '') AS group_name,"
        " COALESCE(p.name, '') AS place_name,"
        " (SELECT GROUP_CONCAT(c.name, '、') FROM plan_owners o JOIN cadres c"
        "  ON c.id = o.cadre_id WHERE o.item_id = i.id) AS owners"
        " FROM plan_items i JOIN teams t ON t.id = i.team_id"
        " LEFT JOIN groups g ON g.id = i.group_id LEFT JOIN places p ON p.id = i.place_id"
        " WHERE ((i.due_date BETWEEN ? AND ?)"
        "        OR (i.due_date < ? AND i.status IN ('todo', 'doing')))"
        f"{extra} ORDER BY i.team_id, i.group_id, i.due_date, i.id",
        [start.isoformat(), end.isoformat(), start.isoformat(), *params],
    ).fetchall()
    return [
        PlanLine(
            code=str(r["code"]),
            team_name=str(r["team_name"]),
            group_name=str(r["group_name"]),
            place_name=str(r["place_name"]),
            month=str(r["month"]),
            due_date=date.fromisoformat(r["due_date"]),
            title=str(r["title"]),
            measure=str(r["measure"]),
            target=r["target"],
            progress=float(r["progress"]),
            unit=str(r["unit"]),
            kind=r["kind"],
            owners=str(r["owners"] or ""),
            status=str(r["status"]),
            cancel_reason=str(r["cancel_reason"]),
        )
        for r in rows
    ]


def unit_codes(conn: Conn) -> tuple[dict[int, str], dict[int, str]]:
    """Team and group codes by id (quota overrides name units by code)."""
    teams = conn.execute("SELECT id, code FROM teams").fetchall()
    groups = conn.execute("SELECT id, code FROM groups").fetchall()
    return (
        {int(r["id"]): str(r["code"]) for r in teams},
        {int(r["id"]): str(r["code"]) for r in groups},
    )
