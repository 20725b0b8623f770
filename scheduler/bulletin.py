"""The weekly bulletin (工作简报) to the office chat: last week's numbers per team.

``build_bulletin`` turns the week's numbers into text and leaves room for the chart:
``Bulletin.image`` is where the reports feature's chart builder puts a PNG (connected
by the lead at merge time, see ``CHART_BUILDER``); the job queues the text now.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from campaign.periods import week_of
from campaign.runtime import Deps
from scheduler.common import Outgoing, day_bounds, excerpt, fmt_date, local_day
from storage import people
from storage.bulletin import WeekStats, week_stats

# Merge point for the chart image: a function from the week's numbers to PNG bytes.
# The reports feature (issue 6) provides it; until connected the bulletin is text only.
CHART_BUILDER: Callable[[WeekStats], bytes | None] | None = None


@dataclass(frozen=True)
class Bulletin:
    text: str
    stats: WeekStats
    image: bytes | None = None  # the chart, when CHART_BUILDER is connected


def build_bulletin(deps: Deps, stats: WeekStats, lang: str) -> Bulletin:
    t = deps.catalog.t
    iso = stats.week.start.isocalendar()
    lines = [
        t(
            lang,
            "sched.bulletin.title",
            year=iso.year,
            week=iso.week,
            start=fmt_date(deps, lang, stats.week.start),
            end=fmt_date(deps, lang, stats.week.last_day),
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
                    text=excerpt(case.text, 80),
                )
            )
        more = stats.model_case_count - len(stats.model_cases)
        if more > 0:
            lines.append(t(lang, "sched.bulletin.cases_more", count=more))
    else:
        lines.append(t(lang, "sched.bulletin.no_cases"))
    text = "\n".join(lines)
    if len(text) > 4000:
        text = text[:3999] + "…"
    image = CHART_BUILDER(stats) if CHART_BUILDER is not None else None
    return Bulletin(text, stats, image)


async def bulletin_items(deps: Deps, due: datetime, now: datetime) -> list[Outgoing]:
    """The bulletin for the week before the due day, to the office chat."""
    office = await people.office_chat(deps.db)
    if office is None:
        return []
    week = week_of(local_day(deps, due) - timedelta(days=7))
    start, _ = day_bounds(deps, week.start)
    end, _ = day_bounds(deps, week.end)
    stats = await week_stats(deps.db, week, start, end, now)
    bulletin = build_bulletin(deps, stats, deps.settings.campaign.language)
    # The chart (bulletin.image) is queued beside the text once the dispatcher can
    # upload files from the outbox; the lead connects it at merge time.
    return [Outgoing(f"bulletin:{week.label}", office.chat_id, bulletin.text)]
