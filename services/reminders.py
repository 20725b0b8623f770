"""Reminders to cadres: the evening nudge, the weekly pace check, period-end warnings,
and the office's notice that next year's official calendar is missing.

Each builder takes the occurrence it serves (``due``) and the moment it runs (``now``)
and returns the messages to queue; keys name the occurrence, so building twice queues
once. Pauses (/mute) silence nudges and pace checks, never period-end warnings.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from campaign.periods import Period, month_of, quarter_of, week_of
from campaign.quotas import PeriodPace, Tally, period_pace, periods_of, quotas
from campaign.roles import FIELD_ROLES, Role
from campaign.text import MESSAGE_LIMIT, day_text, month_name, shorten
from services import people as people_service
from services import quotas as fitting_quotas
from services.jobs import Outgoing, calendar_of, day_bounds, lang_of, local_day, tr
from services.runtime import Deps
from storage import reminders
from storage.reminders import Person

# Everyone stationed in the field has quotas and gets reminders.
REMINDED_ROLES = FIELD_ROLES
# A group leader's list of members behind is cut to fit one message.
_MAX_TEXT = MESSAGE_LIMIT - 96


def _period_name(deps: Deps, lang: str, pace: PeriodPace) -> str:
    start = pace.period.start
    if pace.kind == "month":
        month = month_name(tr(deps, lang), start.month)
        return deps.catalog.t(lang, "sched.pace.month", month=month)
    return deps.catalog.t(lang, "sched.pace.quarter", quarter=(start.month - 1) // 3 + 1)


def _numbers(pace: PeriodPace) -> dict[str, int]:
    return {
        "visits_done": pace.visits.done,
        "visits_quota": pace.visits.quota,
        "visits_expected": pace.visits.expected,
        "visits_left": pace.visits.left,
        "days_done": pace.days.done,
        "days_quota": pace.days.quota,
        "days_expected": pace.days.expected,
        "days_left": pace.days.left,
        "workdays_left": pace.workdays_left,
    }


async def nudge_items(deps: Deps, due: datetime, now: datetime) -> list[Outgoing]:
    """Bound cadres who logged nothing on the due workday and did not pause reminders."""
    day = local_day(deps, due)
    start, end = day_bounds(deps, day)
    due_people = await reminders.nudge_due(deps.db, REMINDED_ROLES, day, start, end, now)
    out = []
    for p in due_people:
        assert p.chat_id is not None
        lang = lang_of(deps, p.lang)
        text = deps.catalog.t(lang, "sched.nudge.text", name=p.name)
        # "You logged nothing today" means nothing tomorrow morning.
        latest = datetime.combine(day, deps.settings.reminders.nudge_latest, deps.settings.tz)
        key = f"nudge:{p.cadre_id}:{day.isoformat()}"
        out.append(Outgoing(key, p.chat_id, text, expires_at=latest))
    return out


async def _paces(
    deps: Deps, periods: dict[str, Period], people: list[Person], now: datetime
) -> dict[int, list[PeriodPace]]:
    cal = calendar_of(deps)
    today = local_day(deps, now)
    resolve = await fitting_quotas.resolver(deps)  # the role's and the unit's quotas
    out: dict[int, list[PeriodPace]] = defaultdict(list)
    for kind, period in periods.items():
        done = await reminders.tallies(deps.db, period.start, period.end)
        for p in people:
            tally = done.get(p.cadre_id, Tally())
            quota = quotas(resolve(p.role.value, p.team_id, p.group_id))
            out[p.cadre_id].append(period_pace(period, kind, quota[kind], tally, cal, today))
    return out


async def pace_items(deps: Deps, due: datetime, now: datetime) -> list[Outgoing]:
    """Each cadre behind their month's or quarter's pace gets their own numbers; each
    group leader gets the list of their group's members who are behind."""
    week = week_of(local_day(deps, due)).label
    everyone = await reminders.field_people(deps.db, REMINDED_ROLES, now)
    paces = await _paces(deps, periods_of(local_day(deps, now)), everyone, now)
    out: list[Outgoing] = []
    behind_by_group: dict[int, list[tuple[Person, list[PeriodPace]]]] = defaultdict(list)
    for p in everyone:
        behind = [pace for pace in paces[p.cadre_id] if pace.behind]
        if not behind:
            continue
        if p.group_id is not None:
            behind_by_group[p.group_id].append((p, behind))
        if p.chat_id is None or p.muted:
            continue
        lang = lang_of(deps, p.lang)
        lines = [deps.catalog.t(lang, "sched.pace.own_head", name=p.name)]
        for pace in behind:
            lines.append(
                deps.catalog.t(
                    lang,
                    "sched.pace.own_line",
                    period=_period_name(deps, lang, pace),
                    **_numbers(pace),
                )
            )
        lines.append(deps.catalog.t(lang, "sched.pace.own_foot"))
        out.append(Outgoing(f"pace:{p.cadre_id}:{week}", p.chat_id, "\n".join(lines)))
    group_names = await reminders.group_names(deps.db)
    for leader in everyone:
        if leader.role is not Role.GROUP_LEADER or leader.group_id is None:
            continue
        if leader.chat_id is None or leader.muted:
            continue
        members = [
            (m, b) for m, b in behind_by_group[leader.group_id] if m.cadre_id != leader.cadre_id
        ]
        if not members:
            continue
        lang = lang_of(deps, leader.lang)
        lines = [
            deps.catalog.t(
                lang,
                "sched.pace.group_head",
                group=group_names.get(leader.group_id, ""),
                count=len(members),
            )
        ]
        for member, behind in members:
            suffix = "" if member.chat_id else " " + deps.catalog.t(lang, "sched.pace.not_joined")
            for pace in behind:
                lines.append(
                    deps.catalog.t(
                        lang,
                        "sched.pace.group_line",
                        name=member.name,
                        period=_period_name(deps, lang, pace),
                        **_numbers(pace),
                    )
                    + suffix
                )
        key = f"pace-group:{leader.group_id}:{leader.cadre_id}:{week}"
        out.append(
            Outgoing(key, leader.chat_id, shorten("\n".join(lines), _MAX_TEXT, one_line=False))
        )
    return out


async def period_end_items(deps: Deps, due: datetime, now: datetime) -> list[Outgoing]:
    """The month (and the quarter, when it ends with the month) closes in a few working
    days: each bound cadre with quota left hears what is left. Not mutable."""
    cal = calendar_of(deps)
    due_day = local_day(deps, due)
    month = month_of(due_day)
    periods = {"month": month}
    quarter = quarter_of(due_day)
    if quarter.end == month.end:
        periods["quarter"] = quarter
    everyone = [p for p in await reminders.field_people(deps.db, REMINDED_ROLES, now) if p.chat_id]
    paces = await _paces(deps, periods, everyone, now)
    today = local_day(deps, now)
    out = []
    for p in everyone:
        assert p.chat_id is not None
        short = [pace for pace in paces[p.cadre_id] if pace.short]
        if not short:
            continue
        lang = lang_of(deps, p.lang)
        lines = [deps.catalog.t(lang, "sched.period_end.head", name=p.name)]
        for pace in short:
            lines.append(
                deps.catalog.t(
                    lang,
                    "sched.period_end.line",
                    period=_period_name(deps, lang, pace),
                    last_day=day_text(tr(deps, lang), pace.period.last_day),
                    workdays=cal.count(today, pace.period.end),
                    **_numbers(pace),
                )
            )
        lines.append(deps.catalog.t(lang, "sched.period_end.foot"))
        out.append(Outgoing(f"period-end:{p.cadre_id}:{month.label}", p.chat_id, "\n".join(lines)))
    return out


async def calendar_items(deps: Deps, now: datetime) -> list[Outgoing]:
    """Tell the office, once per year, that the official calendar for it is missing:
    the current year, and from December on the coming one."""
    cal = calendar_of(deps)
    today = local_day(deps, now)
    years = [today.year] + ([today.year + 1] if today.month == 12 else [])
    missing = [y for y in years if not cal.has_official(y)]
    if not missing:
        return []
    office = await people_service.office_chat(deps)
    if office is None:  # nobody to tell yet; asked again on the next sweep
        return []
    lang = deps.settings.campaign.language
    return [
        Outgoing(
            f"calendar-missing:{year}",
            office.chat_id,
            deps.catalog.t(lang, "sched.calendar.missing", year=year),
        )
        for year in missing
    ]
