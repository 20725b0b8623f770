"""Problem deadlines: the colour warnings to the owner, and auto-escalation.

Warnings follow the county's practice: blue a few days before, yellow on the day, red
once overdue, each colour once per problem and level (the outbox key is
``deadline:<problem>:<level>:<colour>:<chat>``; a level with two leaders warns both).
Only the current colour is sent: a problem first seen on its last day gets yellow, not
a late blue as well.

Moving overdue problems up a level belongs to the problem ledger
(storage/problem_flow.py ``escalate_overdue``); this job only calls it after the warnings.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from campaign.deadline_colour import Colour, colour_for
from campaign.runtime import Deps
from scheduler.common import Outgoing, excerpt, fmt_datetime, lang_of, local_day
from storage import problem_flow
from storage.deadline_watch import Recipient, WatchedProblem, owners, problems_due_by

log = logging.getLogger(__name__)


async def deadline_items(deps: Deps, now: datetime) -> list[Outgoing]:
    tz = deps.settings.tz
    blue_days = deps.settings.reminders.deadline_blue_days
    # Everything due before the end of the last local day that is still "blue".
    horizon_day = local_day(deps, now) + timedelta(days=blue_days + 1)
    horizon = datetime.combine(horizon_day, datetime.min.time(), tzinfo=tz)
    out: list[Outgoing] = []
    known: dict[tuple[object, ...], list[Recipient]] = {}  # many problems, few owners
    for problem in await problems_due_by(deps.db, horizon):
        colour = colour_for(problem.deadline, now, tz, blue_days)
        if colour is None:
            continue
        who = (problem.level, problem.owner_id, problem.group_id, problem.team_id)
        if who not in known:
            known[who] = await owners(deps.db, problem)
        for r in known[who]:
            lang = lang_of(deps, r.lang)
            out.append(
                Outgoing(
                    f"deadline:{problem.id}:{problem.level}:{colour.value}:{r.chat_id}",
                    r.chat_id,
                    _warning_text(deps, lang, problem, colour, now),
                )
            )
    return out


def _warning_text(
    deps: Deps, lang: str, problem: WatchedProblem, colour: Colour, now: datetime
) -> str:
    t = deps.catalog.t
    days = (local_day(deps, problem.deadline) - local_day(deps, now)).days
    head = t(
        lang,
        f"sched.deadline.{colour.value}",
        id=problem.id,
        level=t(lang, f"levels.{problem.level}"),
        days=days,
        deadline=fmt_datetime(deps, lang, problem.deadline),
    )
    if problem.urgent:
        head += t(lang, "sched.deadline.urgent")
    detail = t(
        lang,
        "sched.deadline.detail",
        place=problem.place_name,
        category=t(lang, f"categories.{problem.category}"),
        text=excerpt(problem.description),
    )
    return f"{head}\n{detail}"


async def escalate_overdue(deps: Deps, now: datetime) -> list[int]:
    """Move overdue problems up one level; the ledger writes the events and notices."""
    moved = await problem_flow.escalate_overdue(deps.db, deps.settings, deps.catalog, now)
    if moved:
        log.info("auto-escalated %d overdue problem(s): %s", len(moved), moved)
    return moved
