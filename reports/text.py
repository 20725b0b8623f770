"""Reports as chat text, from the message catalogue. Long lists are capped; the caller
splits the text into Telegram-sized messages with ``campaign.reporting.split_text``."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

from campaign.checks import TeamChecks
from campaign.periods import Period, half_of, month_of, quarter_of, week_of, year_of
from campaign.reporting import (
    CadreLog,
    Cases,
    Coverage,
    OverdueProblem,
    Scope,
    ScopeKind,
    Summary,
    UnitLine,
    VisitEntry,
    capped,
    percent,
)
from campaign.text import shorten, stamp
from campaign.vocabulary import LEVELS, WORK_KINDS

Tr = Callable[..., str]
# Items listed in one chat report before "and N more: use /export".
LIST_CAP = 60
TEXT_PREVIEW = 300


def period_text(t: Tr, period: Period) -> str:
    """``2026年11月``, ``2026年第四季度``, ``2026年第47周（11-16—11-22）`` ..."""
    s = period.start
    if month_of(s) == period:
        return t("reports.period.month", year=s.year, month=s.month)
    if quarter_of(s) == period:
        return t("reports.period.quarter", year=s.year, q=(s.month - 1) // 3 + 1)
    if year_of(s) == period:
        return t("reports.period.year", year=s.year)
    if week_of(s) == period:
        return t(
            "reports.period.week",
            year=s.isocalendar().year,
            week=s.isocalendar().week,
            first=s.isoformat(),
            last=period.last_day.isoformat(),
        )
    if half_of(s) == period:
        return t(f"reports.period.half{1 if s.month == 1 else 2}", year=s.year)
    last = period.last_day
    if period.days == 1:
        return t("reports.period.day", y=s.year, m=s.month, d=s.day)
    # 11月1日至11月15日 within one year (the year is in the report's context); with it
    # across a new year.
    key = "reports.period.range_in_year" if s.year == last.year else "reports.period.range"
    return t(
        key,
        fy=s.year,
        fm=s.month,
        fd=s.day,
        ly=last.year,
        lm=last.month,
        ld=last.day,
    )


def scope_text(t: Tr, scope: Scope, name: str) -> str:
    return t("reports.county") if scope.kind is ScopeKind.ALL else name


def number(x: float) -> str:
    """Targets: whole numbers as such, others with one decimal."""
    return str(round(x)) if abs(x - round(x)) < 0.05 else f"{x:.1f}"


def pct(t: Tr, done: float, target: float) -> str:
    p = percent(done, target)
    return t("reports.no_percent") if p is None else f"{p}%"


def _more(t: Tr, more: int) -> list[str]:
    return [t("reports.more", n=more)] if more else []


# --- summary ------------------------------------------------------------------------------


def _row(t: Tr, rows_kind: str, line: UnitLine) -> list[str]:
    values: dict[str, Any] = {
        "name": line.unit.name,
        "visits": line.visits,
        "target": number(line.target.visits),
        "pct": pct(t, line.visits, line.target.visits),
        "days": line.days,
        "days_target": number(line.target.days),
        "covered": line.places,
        "total": line.places_total,
        "on_quota": line.on_quota,
        "cadres": line.cadres,
    }
    key = "reports.summary.row_cadre" if rows_kind == "cadre" else "reports.summary.row"
    out = [t(key, **values)]
    if line.raised or line.solved or line.explained or line.overdue:
        out.append(
            t(
                "reports.summary.row_problems",
                raised=line.raised,
                solved=line.solved,
                explained=line.explained,
                overdue=line.overdue,
            )
        )
    return out


def summary_text(t: Tr, s: Summary) -> str:
    tot = s.total
    head = t("reports.summary.cadres", cadres=tot.cadres)
    if s.elapsed is not None:
        head += t("reports.summary.elapsed", pct=round(100 * s.elapsed))
    lines = [
        t(
            "reports.summary.title",
            scope=scope_text(t, s.scope, s.scope_name),
            period=period_text(t, s.period),
        ),
        head,
        t(
            "reports.summary.per_cadre",
            visits=number(s.per_cadre.visits),
            days=number(s.per_cadre.days),
        ),
        "",
        t(
            "reports.summary.visits",
            visits=tot.visits,
            target=number(tot.target.visits),
            pct=pct(t, tot.visits, tot.target.visits),
        ),
        t(
            "reports.summary.days",
            days=tot.days,
            target=number(tot.target.days),
            pct=pct(t, tot.days, tot.target.days),
        ),
        t("reports.summary.places", covered=tot.places, total=tot.places_total),
        t("reports.summary.on_quota", n=tot.on_quota, cadres=tot.cadres),
        "",
        t("reports.summary.kinds_title"),
    ]
    lines += [
        t("reports.summary.kind_line", kind=t(f"kinds.{k}"), n=tot.kinds.get(k, 0))
        for k in WORK_KINDS
    ]
    open_now = sum(lv.open for lv in s.levels)
    lines += [
        "",
        t(
            "reports.summary.problems",
            raised=tot.raised,
            solved=tot.solved,
            explained=tot.explained,
            open=open_now,
            overdue=tot.overdue,
        ),
        t("reports.summary.levels_title"),
    ]
    for lv in s.levels:
        lines.append(
            t(
                "reports.summary.level_line",
                level=t(f"levels.{lv.level}"),
                open=lv.open,
                overdue=lv.overdue,
                solved=lv.solved,
                explained=lv.explained,
            )
        )
    if s.rows:
        lines += ["", t(f"reports.summary.rows_title_{s.rows_kind}")]
        shown, more = capped(s.rows, LIST_CAP)
        for line in shown:
            lines += _row(t, s.rows_kind, line)
        lines += _more(t, more)
    return "\n".join(lines)


# --- coverage -----------------------------------------------------------------------------


def coverage_text(t: Tr, c: Coverage, scope: Scope) -> str:
    lines = [
        t(
            "reports.coverage.title",
            scope=scope_text(t, scope, c.scope_name),
            period=period_text(t, c.period),
        )
    ]
    budget = LIST_CAP
    for team in c.teams:
        lines += [
            "",
            t(
                "reports.coverage.team",
                team=team.team_name,
                visited=team.places_total - len(team.unvisited),
                places=team.places_total,
                busy=team.cadres_total - len(team.idle),
                cadres=team.cadres_total,
            ),
        ]
        if team.unvisited:
            lines.append(t("reports.coverage.unvisited", n=len(team.unvisited)))
            shown, more = capped(team.unvisited, max(budget, 0))
            budget -= len(shown)
            lines += [
                t(
                    "reports.coverage.place",
                    name=p.name,
                    kind=t(f"places.{p.kind}"),
                    group=p.group_name,
                )
                for p in shown
            ]
            lines += _more(t, more)
        else:
            lines.append(t("reports.coverage.all_visited"))
        if team.idle:
            lines.append(t("reports.coverage.idle", n=len(team.idle)))
            shown_c, more = capped(team.idle, max(budget, 0))
            budget -= len(shown_c)
            lines += [
                t(
                    "reports.coverage.cadre",
                    name=x.name,
                    role=t(f"roles.{x.role.value}"),
                    group=x.group_name or "—",
                )
                for x in shown_c
            ]
            lines += _more(t, more)
        else:
            lines.append(t("reports.coverage.all_busy"))
    if not c.teams:
        lines.append(t("reports.coverage.no_teams"))
    return "\n".join(lines)


# --- overdue ------------------------------------------------------------------------------


def overdue_text(
    t: Tr, items: list[OverdueProblem], scope: Scope, name: str, now: datetime, tz: tzinfo
) -> str:
    where = scope_text(t, scope, name)
    if not items:
        return t("reports.overdue.none", scope=where)
    lines = [t("reports.overdue.title", scope=where, now=stamp(now, tz), n=len(items))]
    # Each level gets its share of the list, so the office's few are never crowded out.
    present = len({p.level for p in items})
    per_level = max(10, LIST_CAP // max(present, 1))
    for level in LEVELS:
        at_level = [p for p in items if p.level == level]
        if not at_level:
            continue
        owners = Counter(_owner(t, p) for p in at_level)
        lines += [
            "",
            t("reports.overdue.level", level=t(f"levels.{level}"), n=len(at_level)),
            t(
                "reports.overdue.owners",
                owners=t("reports.list_sep").join(f"{o} {n}" for o, n in owners.most_common()),
            ),
        ]
        shown, more = capped(at_level, per_level)
        for p in shown:
            lines.append(
                t(
                    "reports.overdue.item",
                    id=p.id,
                    urgent=t("reports.overdue.urgent") if p.urgent else "",
                    place=p.place_name,
                    unit=p.group_name or p.team_name,
                    description=shorten(p.description, 80),
                    days=days_over(now, p.deadline),
                    deadline=stamp(p.deadline, tz),
                    owner=_owner(t, p),
                )
            )
        lines += _more(t, more)
    return "\n".join(lines)


def days_over(now: datetime, deadline: datetime) -> int:
    """Whole days past the deadline, counting a started day as one."""
    return max(1, math.ceil((now - deadline).total_seconds() / 86400))


def current_department(level: str, department: str | None) -> str | None:
    """The county department a problem is with now. The office hands a problem to a
    department and stays its level; handed back down to a team, the department is
    history (the record keeps it), no longer the one responsible."""
    return department if level == "office" and department else None


def _owner(t: Tr, p: OverdueProblem) -> str:
    department = current_department(p.level, p.department)
    if department:
        return t("reports.overdue.department", department=department)
    return p.owner_name or t("reports.overdue.unclaimed")


# --- one cadre's log, cases -----------------------------------------------------------------


def _visit_lines(t: Tr, v: VisitEntry, with_cadre: bool) -> list[str]:
    kinds = t("reports.list_sep").join(t(f"kinds.{k}") for k in v.kinds)
    head = t(
        "reports.log.visit_case" if with_cadre else "reports.log.visit",
        id=v.id,
        date=v.visit_date.isoformat(),
        place=v.place_name,
        kinds=kinds or "—",
        cadre=v.cadre_name,
        unit=v.group_name or v.team_name,
    )
    extra = []
    if v.people_met is not None:
        extra.append(t("reports.log.people", n=v.people_met))
    if v.photos:
        extra.append(t("reports.log.photos", n=v.photos))
    if v.voice:
        extra.append(t("reports.log.voice"))
    if v.far and v.distance_km is not None:
        extra.append(t("reports.log.far", km=f"{v.distance_km:.1f}"))
    if v.model_case and not with_cadre:
        extra.append(t("reports.log.case"))
    out = [head, shorten(v.text, TEXT_PREVIEW)]
    if extra:
        out.append(t("reports.list_sep").join(extra))
    return out


def log_text(t: Tr, log: CadreLog, tz: tzinfo) -> str:
    c = log.cadre
    lines = [
        t(
            "reports.log.title",
            name=c.name,
            role=t(f"roles.{c.role.value}"),
            unit=c.group_name or c.team_name or "—",
            period=period_text(t, log.period),
        ),
        t(
            "reports.log.stats",
            visits=len(log.visits),
            target=number(log.target.visits),
            days=log.days,
            days_target=number(log.target.days),
            places=log.places,
        ),
    ]
    if not log.visits:
        lines += ["", t("reports.log.no_visits")]
    shown, more = capped(log.visits, LIST_CAP)
    for v in shown:
        lines += ["", *_visit_lines(t, v, with_cadre=False)]
    lines += _more(t, more)
    if log.problems:
        lines += ["", t("reports.log.problems_title", n=len(log.problems))]
        shown_p, more = capped(log.problems, LIST_CAP)
        for p in shown_p:
            lines.append(
                t(
                    "reports.log.problem",
                    id=p.id,
                    date=p.created_at.astimezone(tz).date().isoformat(),
                    place=p.place_name,
                    description=shorten(p.description, 80),
                    level=t(f"levels.{p.level}"),
                    status=t(f"reports.status.{p.status}"),
                )
            )
        lines += _more(t, more)
    return "\n".join(lines)


def cases_text(t: Tr, cases: Cases, scope: Scope) -> str:
    where = scope_text(t, scope, cases.scope_name)
    if not cases.visits:
        return t("reports.cases.none", scope=where, period=period_text(t, cases.period))
    lines = [
        t(
            "reports.cases.title",
            scope=where,
            period=period_text(t, cases.period),
            n=len(cases.visits),
        )
    ]
    shown, more = capped(cases.visits, LIST_CAP)
    for v in shown:
        lines += ["", *_visit_lines(t, v, with_cadre=True)]
    lines += _more(t, more)
    return "\n".join(lines)


def checks_text(t: Tr, rows: list[TeamChecks]) -> str:
    """The /summary section on checking the work: per team, cadres whose log was checked
    in the period, and correction items open and overdue now."""
    lines = [t("reports.checks.title")]
    lines += [
        t(
            "reports.checks.line",
            team=r.team_name,
            checked=r.cadres_checked,
            cadres=r.cadres,
            open=r.corrections_open,
            overdue=r.corrections_overdue,
        )
        for r in rows
    ]
    return "\n".join(lines)
