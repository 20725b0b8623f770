"""The office's reports as use cases: who is entitled to what in which chat, and whole
reports, start to finish (open a reading snapshot, query, render).

``entitled`` reads the application's database like every other service. The report
functions are synchronous and open their own read-only connection, so the bot runs
them with ``asyncio.to_thread`` (no cadre's update waits for them) and the command line
calls them directly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import IO

from campaign.i18n import Catalog
from campaign.periods import Period
from campaign.phones import normalise_phone
from campaign.problem_callbacks import Satisfaction
from campaign.quotas import is_uniform
from campaign.reporting import (
    CadreRef,
    ChatKind,
    Scope,
    Summary,
    Target,
    Unit,
    chat_scope,
    elapsed_share,
    may_report,
    quota_share,
    scope_for,
)
from campaign.settings import Settings
from campaign.text import stamp
from reports import text
from reports.chart import ChartInput, draw_chart
from reports.problem_callbacks import CallbackFigures, summary_section
from reports.workbook import ExportData, write_workbook
from services import assessment, export_parts, model_cases, people, plan_reports, quotas
from services.people import Cadre
from services.runtime import Deps
from storage import checks as check_rows
from storage import problem_callbacks as callback_store
from storage import report_rows as rows
from storage import reports as q


@dataclass(frozen=True)
class Ask:
    """One report request: where to read, what part, which period, as of when, in which
    language."""

    db_path: str
    settings: Settings
    catalog: Catalog
    lang: str
    scope: Scope
    period: Period
    now: datetime

    @property
    def t(self) -> text.Tr:
        return partial(self.catalog.t, self.lang)

    def scope_text(self, name: str) -> str:
        return text.scope_text(self.t, self.scope, name)

    def period_text(self) -> str:
        return text.period_text(self.t, self.period)

    def target(self) -> Target:
        """Each cadre's quota for the period."""
        return quota_share(self.period, self.settings.quotas)


# --- who may ask, and for what --------------------------------------------------------------


@dataclass(frozen=True)
class Entitled:
    """What someone gets for a report in the chat they asked in: ``scope`` (None: no
    numbers here). ``private_only`` when they would get numbers in a private chat but
    this group is neither the office chat nor a team chat."""

    scope: Scope | None
    private_only: bool = False


async def chat_kind(d: Deps, chat_id: int | None) -> tuple[ChatKind, int | None]:
    """A private chat (None), the office chat, a team's chat (with its team), or another."""
    if chat_id is None:
        return ChatKind.PRIVATE, None
    bound = await people.bound_chat(d, chat_id)
    if bound is None:
        return ChatKind.OTHER, None
    if bound.kind == "office":
        return ChatKind.OFFICE, None
    return ChatKind.TEAM, bound.team_id


async def entitled(d: Deps, cadre: Cadre, report: str, chat_id: int | None) -> Entitled:
    """Judged from the cadre's role as the roster has it now and the chat asked in
    (``campaign.reporting.chat_scope``), on every command and button."""
    if not may_report(cadre.role, report):
        return Entitled(None)
    kind, team_id = await chat_kind(d, chat_id)
    scope = chat_scope(cadre.role, cadre.team_id, cadre.group_id, kind, team_id)
    if scope is not None:
        return Entitled(scope)
    own = scope_for(cadre.role, cadre.team_id, cadre.group_id)
    return Entitled(None, private_only=kind is ChatKind.OTHER and own is not None)


# --- whole reports, in a worker thread ------------------------------------------------------


def _summary(conn: q.Conn, ask: Ask, rows_kind: str | None = None) -> Summary:
    s = q.summary(
        conn,
        ask.scope,
        ask.period,
        now=ask.now,
        tz=ask.settings.tz,
        per_cadre=ask.target(),
        rows_kind=rows_kind,
        target_for=_fitting_targets(conn, ask),
    )
    today = ask.now.astimezone(ask.settings.tz).date()
    return dataclasses.replace(s, elapsed=elapsed_share(ask.period, today))


def _fitting_targets(
    conn: q.Conn, ask: Ask
) -> Callable[[str, int | None, int | None], Target] | None:
    """Each cadre's own quota for the period when roles or units have their own (None:
    everyone has [quotas])."""
    if is_uniform(ask.settings.quotas):
        return None
    resolve = quotas.resolver_on(conn, ask.settings.quotas)
    return lambda role, team, group: quota_share(ask.period, resolve(role, team, group))


def summary_data(ask: Ask) -> Summary:
    with q.reading(ask.db_path) as conn:
        return _summary(conn, ask)


def summary_report(ask: Ask) -> str:
    """The whole /summary, every section read from one snapshot."""
    with q.reading(ask.db_path) as conn:
        return (
            text.summary_text(ask.t, _summary(conn, ask))
            + plan_reports.summary_section(ask, conn)
            + checks_section(ask, conn)
            + "\n\n"
            + callback_summary(ask, conn)
        )


def checks_section(ask: Ask, snapshot: q.Conn | None = None) -> str:
    """检查日志 and 整改 per team, under the summary (empty when no team is in scope)."""
    with q.reading_on(ask.db_path, snapshot) as conn:
        found = check_rows.team_rows(conn, ask.scope, ask.period.start, ask.period.end, ask.now)
    return "\n\n" + text.checks_text(ask.t, found) if found else ""


def coverage_report(ask: Ask) -> str:
    with q.reading(ask.db_path) as conn:
        data = q.coverage(conn, ask.scope, ask.period)
    return text.coverage_text(ask.t, data, ask.scope)


def overdue_report(ask: Ask) -> str:
    with q.reading(ask.db_path) as conn:
        items = q.overdue(conn, ask.scope, ask.now)
        name = q.scope_name(conn, ask.scope)
    return text.overdue_text(ask.t, items, ask.scope, name, ask.now, ask.settings.tz)


def cases_report(ask: Ask) -> str:
    with q.reading(ask.db_path) as conn:
        data = rows.cases(conn, ask.scope, ask.period)
    return text.cases_text(ask.t, data, ask.scope)


def _phone_in(query: str) -> str | None:
    """The roster form of a phone number typed to find a cadre (138 0000 0001)."""
    return normalise_phone(query) if any(ch.isdigit() for ch in query) else None


def find_cadres(ask: Ask, query: str) -> list[CadreRef]:
    with q.reading(ask.db_path) as conn:
        return rows.find_cadres(conn, ask.scope, query, phone=_phone_in(query))


def log_report(ask: Ask, cadre_id: int) -> str | None:
    """The cadre's log, or None when the cadre is outside the asker's scope."""
    with q.reading(ask.db_path) as conn:
        cadre = rows.cadre_in_scope(conn, ask.scope, cadre_id)
        if cadre is None:
            return None
        data = rows.cadre_log(
            conn, ask.scope, cadre, ask.period, tz=ask.settings.tz, target=ask.target()
        )
    return text.log_text(ask.t, data, ask.settings.tz)


def find_teams(db_path: str, query: str) -> tuple[list[Unit], list[Unit]]:
    """(teams matching ``query``, all active teams)."""
    with q.reading(db_path) as conn:
        return q.find_teams(conn, query), q.teams(conn)


def scope_label(ask: Ask) -> str:
    with q.reading(ask.db_path) as conn:
        return ask.scope_text(q.scope_name(conn, ask.scope))


def export_workbook(ask: Ask, out: IO[bytes]) -> None:
    """The whole workbook, read from one snapshot and streamed into ``out``; a long
    visits sheet partly made by a second process (services/export_parts.py), which
    raises ``ExportFailed`` when that process fails."""
    with q.reading(ask.db_path) as conn:
        split = export_parts.plan(conn, ask)
        child = export_parts.start(conn, ask, split) if split is not None else None
        try:
            _export(ask, out, conn, child)
        finally:
            if child is not None:
                child.stop()


def _export(ask: Ask, out: IO[bytes], conn: q.Conn, child: export_parts.Child | None) -> None:
    tz = ask.settings.tz
    # With a second process, this one writes the visits before the day it starts from.
    until = child.job.split.since if child is not None else None
    visits = rows.visit_rows(conn, ask.scope, ask.period, until=until)
    overview = _summary(conn, ask, rows_kind="team")
    by_group = _summary(conn, ask, rows_kind="group")

    def title(scope: str) -> str:
        return ask.t(
            "reports.export.title", scope=scope, period=ask.period_text(), now=stamp(ask.now, tz)
        )

    data = ExportData(
        title=title(ask.scope_text(overview.scope_name)),
        overview=overview,
        by_group=by_group,
        cadres=rows.cadre_progress(conn, ask.scope, ask.period, tz=tz, target=ask.target()),
        visits=visits,
        visits_rest=partial(export_parts.rest, child, conn, ask) if child else None,
        problems=rows.problem_rows(conn, ask.scope, ask.period, now=ask.now, tz=tz),
        events=rows.event_rows(conn, ask.scope, ask.period, tz=tz),
        plans=plan_reports.sheet_rows(ask),
        callbacks=callback_store.export_lines(conn, ask.scope, ask.period.start, ask.period.end),
        title_for=title,
        checks=check_rows.team_rows(conn, ask.scope, ask.period.start, ask.period.end, ask.now),
        extra=[
            *assessment.export_sheets(
                ask.db_path,
                ask.settings,
                ask.catalog,
                ask.lang,
                ask.scope,
                ask.period,
                ask.now,
                ask.scope_text(overview.scope_name),
            ),
            model_cases.export_sheet(
                ask.db_path,
                ask.settings,
                ask.catalog,
                ask.lang,
                ask.scope,
                ask.period,
                ask.now,
            ),
        ],
    )
    write_workbook(out, data, ask.t, tz)


def export_to_file(ask: Ask, path: Path) -> Path:
    """The workbook written to ``path``; nothing left there when it fails."""
    try:
        with path.open("wb") as out:
            export_workbook(ask, out)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def chart_png(ask: Ask) -> bytes:
    """The chart as PNG bytes; raises reports.chart.NoCJKFont without a Chinese font."""
    with q.reading(ask.db_path) as conn:
        data = _summary(conn, ask)
    title = ask.t(
        "reports.chart.title", scope=ask.scope_text(data.scope_name), period=ask.period_text()
    )
    return draw_chart(ChartInput(title, data), ask.t)


def file_stem(ask: Ask, kind: str) -> str:
    """``fieldbot-report-2026-11`` and the like, safe for any file system."""
    label = ask.period.label.replace("..", "_")
    return f"fieldbot-{kind}-{label}"


# --- call-backs (回访): the summary's section -------------------------------------------------


def callback_figures(conn: q.Conn, ask: Ask) -> CallbackFigures:
    f = callback_store.figures(conn, ask.scope, ask.period.start, ask.period.end)
    sat = Satisfaction(f.satisfied, f.fair, f.unsatisfied)
    return CallbackFigures(sat, f.reopened, f.unanswered)


def callback_summary(ask: Ask, snapshot: q.Conn | None = None) -> str:
    """满意率 and reopenings in the period, within the scope."""
    with q.reading_on(ask.db_path, snapshot) as conn:
        return summary_section(ask.t, callback_figures(conn, ask))
