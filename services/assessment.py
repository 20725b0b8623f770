"""Assessment scores (考核) as use cases: tally each cadre's work over a period from a
list of sources, score it by the rubric in config, rank cadres, groups, teams or sending
units, and judge who may see which ranking.

A source is ``async (db, start, end) -> {cadre id: {component: number}}``; ``SOURCES``
lists them. Components no source fills count zero. Adding a source (plans, log checks,
call-backs) is one function and one entry in ``SOURCES`` (docs/assessment.md).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import IO, TypeVar

from campaign.assessment import (
    COMPONENTS,
    RANK_LEVELS,
    Level,
    Member,
    Ranking,
    Score,
    default_level,
    may_rank,
    rank,
    rubric_of,
    score,
)
from campaign.i18n import Catalog
from campaign.periods import Period
from campaign.reporting import ChatKind, Scope, ScopeKind, chat_scope, quota_share
from campaign.settings import Settings
from campaign.text import Tr, shorten
from reports import assessment as render
from reports.text import period_text
from reports.workbook import sheet_title
from reports.xlsxstream import StreamingWorkbook
from services import people
from services.people import Cadre
from services.runtime import Deps
from storage import assessment as store
from storage import checks as check_store
from storage import plans as plan_store
from storage import problem_callbacks as callback_store
from storage.db import Database, open_database

T = TypeVar("T")
Tallies = Mapping[int, Mapping[str, float]]
Source = Callable[[Database, datetime, datetime], Awaitable[Tallies]]


def _days(start: datetime, end: datetime) -> tuple[date, date]:
    """[start, end) as the local days it covers, both ends included (how the plan,
    check and call-back tallies count)."""
    return start.date(), (end - timedelta(microseconds=1)).date()


async def plan_tallies(db: Database, start: datetime, end: datetime) -> Tallies:
    """plans_done: the cadre's plan items due in the period and done (责任到人)."""
    first, last = _days(start, end)
    found = await plan_store.owner_tallies(db, first, last)
    return {cadre: {"plans_done": t.done} for cadre, t in found.items()}


async def check_tallies(db: Database, start: datetime, end: datetime) -> Tallies:
    """logs_checked (checks of the cadre's log or visits) and corrections_closed."""
    first, last = _days(start, end)
    found = await check_store.cadre_tallies(db, first, last)
    return {
        cadre: {"logs_checked": t.logs_checked, "corrections_closed": t.corrections_closed}
        for cadre, t in found.items()
    }


async def callback_tallies(db: Database, start: datetime, end: datetime) -> Tallies:
    """satisfaction: call-backs of the cadre's problems answered 满意 or 基本满意 (what the
    satisfaction rate counts as satisfied)."""
    first, last = _days(start, end)
    found = await callback_store.reporter_tallies(db, first, last)
    return {cadre: {"satisfaction": t.satisfied + t.fair} for cadre, t in found.items()}


# Where each component's numbers come from.
SOURCES: list[Source] = [
    store.visit_tallies,
    store.problem_tallies,
    store.case_tallies,
    plan_tallies,
    check_tallies,
    callback_tallies,
]


def bounds(period: Period, settings: Settings, now: datetime) -> tuple[datetime, datetime]:
    """The period as local moments [start, end), the end no later than ``now``: nothing
    after now exists yet, and a problem is overdue only once its deadline has passed."""
    tz = settings.tz
    start = datetime.combine(period.start, time(0), tz)
    # Times are stored to the second: what happened at ``now`` itself is in.
    end = min(datetime.combine(period.end, time(0), tz), now.astimezone(tz) + timedelta(seconds=1))
    return start, max(start, end)


async def tallies(
    db: Database, start: datetime, end: datetime, sources: Sequence[Source] | None = None
) -> dict[int, dict[str, float]]:
    """Every source's numbers merged per cadre (a later source adds to an earlier one)."""
    out: dict[int, dict[str, float]] = {}
    chosen = SOURCES if sources is None else sources
    # Together: a source that reads on a connection of its own overlaps the others.
    found = await asyncio.gather(*(source(db, start, end) for source in chosen))
    for tallied in found:
        for cadre_id, parts in tallied.items():
            mine = out.setdefault(cadre_id, {})
            for component, n in parts.items():
                if component in COMPONENTS:
                    mine[component] = mine.get(component, 0.0) + float(n)
    return out


async def scores(
    db: Database,
    settings: Settings,
    period: Period,
    now: datetime,
    sources: Sequence[Source] | None = None,
) -> list[tuple[Member, Score]]:
    """Each active field cadre's score for ``period``, as of ``now``."""
    start, end = bounds(period, settings, now)
    found = await tallies(db, start, end, sources) if end > start else {}
    rubric = rubric_of(dataclasses.asdict(settings.assessment), settings.assessment.quota_cap)
    quota = quota_share(period, settings.quotas)
    return [
        (m, score(rubric, found.get(m.cadre_id, {}), quota.visits, quota.days))
        for m in await store.members(db)
    ]


async def ranking(
    db: Database,
    settings: Settings,
    period: Period,
    level: Level,
    scope: Scope,
    now: datetime,
    sources: Sequence[Source] | None = None,
) -> Ranking:
    """The ranking at ``level`` of the cadres inside ``scope``."""
    scored = await scores(db, settings, period, now, sources)
    inside = [(m, s) for m, s in scored if scope.covers(m.team_id, m.group_id)]
    return rank(level, inside)


def ranking_at(
    db_path: str, settings: Settings, period: Period, level: Level, scope: Scope, now: datetime
) -> Ranking:
    """``ranking`` on a connection of its own, for a worker thread or the command line."""

    async def run(db: Database) -> Ranking:
        return await ranking(db, settings, period, level, scope, now)

    return run_apart(db_path, run)


def run_apart(db_path: str, fn: Callable[[Database], Awaitable[T]]) -> T:
    """``fn`` on a database connection of its own, from synchronous code (a report's
    worker thread, the command line)."""

    async def run() -> T:
        async with open_database(db_path, migrate=False) as db:
            return await fn(db)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(run())
    # Called from a coroutine (a test calling the export directly): a loop of its own.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


# --- /rank -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RankOutcome:
    """``text`` to show, or why not: ``refused`` (the role or chat may not rank at all),
    ``outside`` (that level is outside the asker's scope)."""

    text: str = ""
    refused: bool = False
    outside: bool = False
    no_unit: bool = False  # no sending unit of that name: ``text`` says which there are


def _title(catalog: Catalog, lang: str, level: Level, period: Period, where: str) -> str:
    t = partial(catalog.t, lang)
    return t(
        "assessment.rank.title",
        level=t(f"assessment.level.{level.value}"),
        scope=where,
        period=period_text(t, period),
    )


async def _scope_name(d: Deps, scope: Scope, lang: str) -> str:
    if scope.kind is ScopeKind.ALL:
        return d.catalog.t(lang, "reports.county")
    if scope.kind is ScopeKind.TEAM and scope.team_id is not None:
        return await store.team_name(d.db, scope.team_id)
    return await store.group_name(d.db, scope.group_id or 0)


async def _chat_kind(d: Deps, chat_id: int | None) -> tuple[ChatKind, int | None]:
    """As ``services.reports.chat_kind`` (not imported: the export imports this module)."""
    if chat_id is None:
        return ChatKind.PRIVATE, None
    bound = await people.bound_chat(d, chat_id)
    if bound is None:
        return ChatKind.OTHER, None
    if bound.kind == "office":
        return ChatKind.OFFICE, None
    return ChatKind.TEAM, bound.team_id


async def rank_for(
    d: Deps,
    cadre: Cadre,
    lang: str,
    chat_id: int | None,
    period: Period,
    level: Level | None,
    unit: str = "",
) -> RankOutcome:
    """/rank [period] [level] asked by ``cadre`` in ``chat_id`` (None: private). The
    scope follows the role and the chat as for the other reports; the level must be one
    the role may rank (``campaign.assessment.RANK_LEVELS``)."""
    kind, chat_team = await _chat_kind(d, chat_id)
    scope = chat_scope(cadre.role, cadre.team_id, cadre.group_id, kind, chat_team)
    if scope is None or not RANK_LEVELS.get(cadre.role):
        return RankOutcome(refused=True)
    if level is None:
        level = default_level(cadre.role)
        if scope.kind is not ScopeKind.ALL and level is Level.TEAM:
            level = Level.GROUP  # the office in a team's chat: that team's groups
    if not may_rank(cadre.role, level) or (
        scope.kind is not ScopeKind.ALL and level in (Level.TEAM, Level.UNIT)
    ):
        return RankOutcome(outside=True)
    t = partial(d.catalog.t, lang)
    if unit:
        return await _unit_cadres(d, t, lang, period, unit)
    result = await ranking(d.db, d.settings, period, level, scope, d.now())
    where = await _scope_name(d, scope, lang)
    return RankOutcome(render.rank_text(t, result, _title(d.catalog, lang, level, period, where)))


async def _unit_cadres(d: Deps, t: Tr, lang: str, period: Period, unit: str) -> RankOutcome:
    """/rank [period] 单位 NAME: the cadres that sending unit sent, ranked (a name that is
    part of exactly one unit's name will do)."""
    scored = await scores(d.db, d.settings, period, d.now())
    units = sorted({m.unit for m, _ in scored if m.unit})
    matches = [u for u in units if u == unit] or [u for u in units if unit in u]
    if len(matches) != 1:
        names = t("reports.list_sep").join(units[:30]) or "—"
        return RankOutcome(
            t("assessment.rank.no_unit", text=shorten(unit, 64), units=names), no_unit=True
        )
    mine = [(m, s) for m, s in scored if m.unit == matches[0]]
    title = _title(d.catalog, lang, Level.CADRE, period, matches[0])
    return RankOutcome(render.rank_text(t, rank(Level.CADRE, mine), title))


# --- the workbook's 考核 sheets -------------------------------------------------------------

SheetWriter = Callable[[StreamingWorkbook, set[str]], None]


def export_sheets(
    db_path: str,
    settings: Settings,
    catalog: Catalog,
    lang: str,
    scope: Scope,
    period: Period,
    now: datetime,
    scope_name: str,
) -> list[SheetWriter]:
    """The export's 考核 sheets: cadres in the scope, and (for the county) sending units,
    every component shown. Scored before the workbook starts; written at its end."""
    levels = [Level.CADRE] if scope.kind is not ScopeKind.ALL else [Level.CADRE, Level.UNIT]
    t = partial(catalog.t, lang)
    writers: list[SheetWriter] = []
    for level in levels:
        result = ranking_at(db_path, settings, period, level, scope, now)
        title = _title(catalog, lang, level, period, scope_name)
        name = t("assessment.xlsx.sheet", level=t(f"assessment.level.{level.value}"))
        if level is Level.CADRE:
            name = t("assessment.xlsx.sheet_main")

        def write(
            wb: StreamingWorkbook,
            taken: set[str],
            r: Ranking = result,
            n: str = name,
            ti: str = title,
        ) -> None:
            render.write_rank_sheet(wb, sheet_title(n, taken), t, ti, r)

        writers.append(write)
    return writers


def rank_workbook(
    out: IO[bytes],
    db_path: str,
    settings: Settings,
    catalog: Catalog,
    lang: str,
    period: Period,
    now: datetime,
) -> None:
    """``fieldbot report rank --format xlsx``: the county's cadres, groups, teams and
    sending units for ``period``, one sheet each."""
    t = partial(catalog.t, lang)
    county = t("reports.county")
    levels = (Level.CADRE, Level.GROUP, Level.TEAM, Level.UNIT)
    rankings = [ranking_at(db_path, settings, period, lv, Scope.everything(), now) for lv in levels]
    titles = [_title(catalog, lang, lv, period, county) for lv in levels]
    render.write_rank_workbook(out, t, titles, rankings)


def rank_report(
    db_path: str,
    settings: Settings,
    catalog: Catalog,
    lang: str,
    period: Period,
    level: Level,
    now: datetime,
) -> str:
    """``fieldbot report rank`` as text: the county's ranking at ``level``."""
    result = ranking_at(db_path, settings, period, level, Scope.everything(), now)
    title = _title(catalog, lang, level, period, catalog.t(lang, "reports.county"))
    return render.rank_text(partial(catalog.t, lang), result, title)
