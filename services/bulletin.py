"""The weekly bulletin (工作简报) to the office chat: last week's numbers per team.

``build_bulletin`` turns the week's numbers into text; ``bulletin_items`` queues it with
the week's chart (the office reports' chart: visits per team, problems by status),
drawn off the event loop and uploaded from a file beside the database.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from campaign.periods import Period, week_of
from campaign.reporting import Scope
from campaign.text import MESSAGE_LIMIT, day_text, shorten
from services import bulletin_issues, people, plan_reports, problem_callbacks
from services.jobs import Outgoing, day_bounds, local_day, outbox_files, tr
from services.reports import Ask, chart_png
from services.runtime import Deps
from storage.bulletin import WeekStats, campaign_began, week_stats

# The bulletin is one message: cut to fit, with room to spare.
MAX_TEXT = MESSAGE_LIMIT - 96

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Bulletin:
    text: str
    stats: WeekStats


def build_bulletin(deps: Deps, stats: WeekStats, lang: str) -> Bulletin:
    t = deps.catalog.t
    iso = stats.week.start.isocalendar()
    lines = [
        t(
            lang,
            "sched.bulletin.title",
            year=iso.year,
            week=iso.week,
            start=day_text(tr(deps, lang), stats.week.start),
            end=day_text(tr(deps, lang), stats.week.last_day),
        ),
        t(
            lang,
            "sched.bulletin.summary",
            visits=stats.visits,
            days=stats.days,
            raised=stats.raised,
            solved=stats.solved,
            explained=stats.explained,
            overdue=stats.overdue,
        ),
        "",
        t(lang, "sched.bulletin.teams_head"),
    ]
    ranking = stats.ranking()
    if not ranking:
        lines.append(t(lang, "sched.bulletin.no_teams"))
    for rank, team in enumerate(ranking, start=1):
        lines.append(
            t(
                lang,
                "sched.bulletin.team_line",
                rank=rank,
                name=team.name,
                visits=team.visits,
                days=team.days,
                per_cadre=f"{team.days_per_cadre:.1f}",
                raised=team.raised,
                solved=team.solved,
                explained=team.explained,
                overdue=team.overdue,
            )
        )
    lines.append("")
    if stats.model_case_count:
        lines.append(t(lang, "sched.bulletin.cases_head", count=stats.model_case_count))
        for case in stats.model_cases:
            lines.append(
                t(
                    lang,
                    "sched.bulletin.case_line",
                    cadre=case.cadre_name,
                    team=case.team_name,
                    place=case.place_name,
                    text=shorten(case.text, 80),
                )
            )
        more = stats.model_case_count - len(stats.model_cases)
        if more > 0:
            lines.append(t(lang, "sched.bulletin.cases_more", count=more))
    else:
        lines.append(t(lang, "sched.bulletin.no_cases"))
    return Bulletin(shorten("\n".join(lines), MAX_TEXT, one_line=False), stats)


def bulletin_week(deps: Deps, due: datetime) -> Period:
    """The week a bulletin due at ``due`` reports on: the one before the due day's."""
    return week_of(local_day(deps, due) - timedelta(days=7))


async def before_the_campaign(deps: Deps, due: datetime) -> bool:
    """Whether the bulletin due at ``due`` reports on a week that ended before the
    campaign's first trace: the earliest visit's date, or the first day the bot was in
    use (a problem raised, a person joined, a chat bound). Such a week is all zeros by
    construction, so the scheduler records the occurrence as skipped. The week the bot
    first ran in is reported (part of it was in use); so is any earlier week a late or
    imported visit falls in."""
    first_visit, first_use = await campaign_began(deps.db)
    days = [d for d in (first_visit, first_use and local_day(deps, first_use)) if d]
    return not days or bulletin_week(deps, due).end <= min(days)


async def bulletin_items(deps: Deps, due: datetime, now: datetime) -> list[Outgoing]:
    """The bulletin for the week before the due day, to the office chat."""
    office = await people.office_chat(deps)
    if office is None:
        return []
    week = bulletin_week(deps, due)
    start, _ = day_bounds(deps, week.start)
    end, _ = day_bounds(deps, week.end)
    stats = await week_stats(deps.db, week, start, end, now)
    lang = deps.settings.campaign.language
    bulletin = build_bulletin(deps, stats, lang)
    # The sections of plans (overdue items per team) and call-backs (satisfaction).
    sections = [
        await plan_reports.bulletin_section(deps, lang, local_day(deps, now)),
        await problem_callbacks.bulletin_section(deps, week, lang),
    ]
    body = "\n\n".join([bulletin.text, *(x.strip() for x in sections if x.strip())])
    text = shorten(body, MAX_TEXT, one_line=False)
    items = [Outgoing(f"bulletin:{week.label}", office.chat_id, text)]
    chart = await _week_chart(deps, week, now, lang)
    if chart is not None:
        caption = deps.catalog.t(lang, "sched.bulletin.chart_caption", week=week.label)
        items.append(Outgoing(f"bulletin-chart:{week.label}", office.chat_id, caption, photo=chart))
    if deps.settings.bulletin.sign_off:
        # A numbered draft for the office to sign off (services/bulletin_issues.py).
        chart_item = items[1] if len(items) > 1 else None
        return await bulletin_issues.draft_items(deps, office.chat_id, week, body, now, chart_item)
    return items


async def _week_chart(deps: Deps, week: Period, now: datetime, lang: str) -> Path | None:
    """The county's chart for the week as a PNG file the outbox can upload, or None when
    it cannot be drawn (no CJK font, an in-memory database): the text still goes."""
    if deps.db.path == ":memory:":
        return None
    ask = Ask(deps.db.path, deps.settings, deps.catalog, lang, Scope.everything(), week, now)
    try:
        return await asyncio.to_thread(_draw_to_file, ask, f"bulletin-{week.label}.png")
    except Exception:
        log.exception("the weekly bulletin's chart could not be drawn; sending the text alone")
        return None


def _draw_to_file(ask: Ask, name: str) -> Path:
    folder = outbox_files(ask.db_path)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    target.write_bytes(chart_png(ask))
    return target
