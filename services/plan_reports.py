"""Plans in the office's reports: completion (done / due / overdue) under /summary by
team and group, the export's 工作计划 sheet, and the weekly bulletin's overdue items per
team. The summary and export parts run in the reports' worker thread on their own
read-only snapshot (services/reports.py); the bulletin part is async like the bulletin."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from campaign.plans import is_overdue
from campaign.reporting import ScopeKind
from campaign.text import shorten
from services.jobs import tr
from services.runtime import Deps
from storage import plan_reports as q
from storage import plans as store
from storage.reports import Conn, reading, reading_on

if TYPE_CHECKING:  # services/reports.py calls in here
    from services.reports import Ask

BULLETIN_ITEMS_PER_TEAM = 5


def _today(ask: Ask) -> date:
    return ask.now.astimezone(ask.settings.tz).date()


def summary_section(ask: Ask, snapshot: Conn | None = None) -> str:
    """The /summary lines on plans: the scope's total, then by team (the county) or by
    group (a team); empty when no item falls due in the period. Read on ``snapshot``
    when given (the rest of the summary's)."""
    t, period = ask.t, ask.period
    cut = min(_today(ask), period.end)
    scope = ask.scope
    with reading_on(ask.db_path, snapshot) as conn:
        units = q.completion(
            conn,
            period.start,
            period.last_day,
            cut,
            team_id=scope.team_id if scope.kind is not ScopeKind.ALL else None,
            group_id=scope.group_id if scope.kind is ScopeKind.GROUP else None,
            by_group=scope.kind is not ScopeKind.ALL,
        )
    if not units:
        return ""
    due = sum(u.due for u in units)
    done = sum(u.done for u in units)
    overdue = sum(u.overdue for u in units)
    lines = ["", t("plans.summary.head", due=due, done=done, overdue=overdue)]
    if scope.kind is not ScopeKind.GROUP:
        for u in units:
            name = u.group_name or (u.team_name if scope.kind is ScopeKind.ALL else "")
            name = name or t("plans.summary.team_own")
            lines.append(
                t("plans.summary.line", name=name, due=u.due, done=u.done, overdue=u.overdue)
            )
    return "\n".join(lines)


def sheet_rows(ask: Ask) -> list[list[Any]]:
    """The rows of the export's 工作计划 sheet for the report's scope and period."""
    t = ask.t
    scope = ask.scope
    today = _today(ask)
    with reading(ask.db_path) as conn:
        found = q.lines(
            conn,
            ask.period.start,
            ask.period.last_day,
            team_id=scope.team_id if scope.kind is not ScopeKind.ALL else None,
            group_id=scope.group_id if scope.kind is ScopeKind.GROUP else None,
        )
    yes = t("reports.xlsx.yes")
    return [
        [
            p.code,
            p.team_name,
            p.group_name or None,
            p.place_name or None,
            p.month,
            p.due_date,
            p.title,
            p.measure or None,
            p.target,
            p.progress if p.target is not None else None,
            p.unit or None,
            t(f"kinds.{p.kind}") if p.kind else None,
            p.owners,
            t(f"plans.status.{p.status}"),
            yes if is_overdue(p.status, p.due_date, today) else None,
            p.cancel_reason or None,
        ]
        for p in found
    ]


async def bulletin_section(d: Deps, lang: str, today: date) -> str:
    """The bulletin's overdue plan items, per team (a few each, then how many more)."""
    t = tr(d, lang)
    items = await store.overdue_items(d.db, today)
    if not items:
        return ""
    by_team: dict[str, list[store.Item]] = {}
    for i in items:
        by_team.setdefault(i.team_name, []).append(i)
    lines = ["", t("plans.bulletin.head", count=len(items))]
    for team, found in by_team.items():
        lines.append(t("plans.bulletin.team", team=team, count=len(found)))
        for i in found[:BULLETIN_ITEMS_PER_TEAM]:
            lines.append(
                t(
                    "plans.bulletin.item",
                    code=i.code,
                    title=shorten(i.title, 30),
                    unit=i.group_name or i.team_name,
                    owners="、".join(o.name for o in i.owners),
                    due=i.due_date.isoformat(),
                )
            )
        if len(found) > BULLETIN_ITEMS_PER_TEAM:
            lines.append(t("plans.bulletin.more", count=len(found) - BULLETIN_ITEMS_PER_TEAM))
    return "\n".join(lines)
