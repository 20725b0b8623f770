"""Deadline warnings for problem owners (红黄蓝预警), for the scheduler to queue.

Blue a few days before, yellow on the day, red once overdue, each colour once per
problem and level (the key is ``deadline:<problem>:<level>:<colour>:<chat>``; a level with
two leaders warns both). Only the current colour is sent: a problem first seen on its
last day gets yellow, not a late blue as well.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from campaign.deadline_colour import Colour, colour_for
from campaign.i18n import LANGUAGES
from campaign.text import moment_text, shorten
from services.runtime import Deps
from storage import outbox
from storage.deadline_watch import Recipient, WatchedProblem, owners, problems_due_by

_EXCERPT = 60


@dataclass(frozen=True)
class Warning:
    key: str  # stable per problem, level, colour and chat: queued once
    chat_id: int
    text: str


def _day(deps: Deps, moment: datetime) -> date:
    return moment.astimezone(deps.settings.tz).date()


async def warnings(deps: Deps, now: datetime) -> list[Warning]:
    """The warnings due at ``now`` for every open problem near or past its deadline."""
    tz = deps.settings.tz
    blue_days = deps.settings.reminders.deadline_blue_days
    # Everything due before the end of the last local day that is still "blue".
    horizon_day = _day(deps, now) + timedelta(days=blue_days + 1)
    horizon = datetime.combine(horizon_day, datetime.min.time(), tzinfo=tz)
    due: list[tuple[WatchedProblem, Colour, Recipient, str]] = []
    known: dict[tuple[object, ...], list[Recipient]] = {}  # many problems, few owners
    for problem in await problems_due_by(deps.db, horizon):
        colour = colour_for(problem.deadline, now, tz, blue_days)
        if colour is None:
            continue
        who = (problem.level, problem.owner_id, problem.group_id, problem.team_id)
        if who not in known:
            known[who] = await owners(deps.db, problem)
        for r in known[who]:
            key = f"deadline:{problem.id}:{problem.level}:{colour.value}:{r.chat_id}"
            due.append((problem, colour, r, key))
    # A warning already in the outbox would queue nothing again: a repeated check with
    # nothing new renders nothing (one read of the keys, no trip to the writing thread).
    queued = await outbox.known_keys(deps.db, [key for *_, key in due])
    out: list[Warning] = []
    for problem, colour, r, key in due:
        if key in queued:
            continue
        lang = r.lang if r.lang in LANGUAGES else deps.settings.campaign.language
        out.append(Warning(key, r.chat_id, _text(deps, lang, problem, colour, now)))
    return out


def _when(deps: Deps, lang: str, moment: datetime) -> str:
    return moment_text(functools.partial(deps.catalog.t, lang), moment, deps.settings.tz)


def _text(deps: Deps, lang: str, problem: WatchedProblem, colour: Colour, now: datetime) -> str:
    t = deps.catalog.t
    head = t(
        lang,
        f"sched.deadline.{colour.value}",
        id=problem.id,
        level=t(lang, f"levels.{problem.level}"),
        days=(_day(deps, problem.deadline) - _day(deps, now)).days,
        deadline=_when(deps, lang, problem.deadline),
    )
    if problem.urgent:
        head += t(lang, "sched.deadline.urgent")
    detail = t(
        lang,
        "sched.deadline.detail",
        place=problem.place_name,
        category=t(lang, f"categories.{problem.category}"),
        text=shorten(problem.description, _EXCERPT),
    )
    return f"{head}\n{detail}"
