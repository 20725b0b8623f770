"""Running jobs: each occurrence once, missed ones made up while still useful.

``run_if_due`` is what a daily trigger calls and what the catch-up at start calls: it
finds the most recent due moment, compares it with the one the database says was
handled last, and either runs the job (queueing its messages and recording the
occurrence in ONE transaction), records it as skipped (too late to be useful), or does
nothing. Outbox keys make a repeat harmless even if two calls race.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from campaign.schedule import (
    BULLETIN,
    MONTHLY,
    NIGHTLY,
    NUDGE,
    PACE,
    PERIOD_END,
    PLAN_REMIND,
    SWEEP,
    JobPlan,
    job_plans,
    last_due,
    still_useful,
)
from scheduler.deadlines import deadline_items, escalate_overdue
from services import jobs, problem_callback_jobs
from services.bulletin import before_the_campaign, bulletin_items
from services.bulletin_issues import publish_due
from services.housekeeping import nightly_items
from services.jobs import Outgoing, calendar_of
from services.monthly import monthly_items
from services.plan_reminders import plan_reminder_items
from services.reminders import calendar_items, nudge_items, pace_items, period_end_items
from services.runtime import Deps

log = logging.getLogger(__name__)

Builder = Callable[[Deps, datetime, datetime], Awaitable[list[Outgoing]]]
BUILDERS: dict[str, Builder] = {
    NUDGE: nudge_items,
    PACE: pace_items,
    PERIOD_END: period_end_items,
    BULLETIN: bulletin_items,
    NIGHTLY: nightly_items,
    PLAN_REMIND: plan_reminder_items,
    MONTHLY: monthly_items,
}


# Occurrences a job judges not worth running although due and still timely: recorded as
# skipped. The bulletin of a week before the campaign began would be all zeros.
NotWorthIt = Callable[[Deps, datetime], Awaitable[bool]]
NOT_WORTH_IT: dict[str, NotWorthIt] = {BULLETIN: before_the_campaign}


@dataclass(frozen=True)
class RunOutcome:
    job: str
    # "ran", "skipped" (missed and too late, or nothing to report yet), "done-before",
    # "not-due", "failed"
    status: str
    due: datetime | None = None
    queued: int = 0


def plan_by_id(deps: Deps, job: str) -> JobPlan:
    for plan in job_plans(deps.settings):
        if plan.id == job:
            return plan
    raise KeyError(job)


async def run_if_due(deps: Deps, plan: JobPlan, now: datetime) -> RunOutcome:
    async with deps.job_runs:
        tz = deps.settings.tz
        due = last_due(plan, now, tz, calendar_of(deps))
        if due is None:
            return RunOutcome(plan.id, "not-due")
        last = await jobs.last_handled(deps, plan.id)
        if last is not None and last >= due:
            return RunOutcome(plan.id, "done-before", due)
        if not still_useful(plan, due, now, tz):
            await jobs.record_skipped(deps, plan.id, due, now)
            log.info("job %s due %s was missed and is no longer useful", plan.id, due)
            return RunOutcome(plan.id, "skipped", due)
        pointless = NOT_WORTH_IT.get(plan.id)
        if pointless is not None and await pointless(deps, due):
            await jobs.record_skipped(deps, plan.id, due, now)
            log.info("job %s due %s has nothing to report yet; skipped", plan.id, due)
            return RunOutcome(plan.id, "skipped", due)
        items = await BUILDERS[plan.id](deps, due, now)
        queued = await jobs.queue_run(deps, plan.id, due, now, items)
        log.info("job %s due %s queued %d message(s)", plan.id, due, queued)
        return RunOutcome(plan.id, "ran", due, queued)


async def catch_up(deps: Deps, now: datetime) -> list[RunOutcome]:
    """Every daily job, once: what was missed and is still useful runs now."""
    out = []
    for plan in job_plans(deps.settings):
        try:
            out.append(await run_if_due(deps, plan, now))
        except Exception:  # one broken job must not keep the others from running
            log.exception("job %s failed", plan.id)
            out.append(RunOutcome(plan.id, "failed"))
    return out


async def check_deadlines(deps: Deps, now: datetime) -> int:
    """Deadline colour warnings and the missing-calendar notice; returns messages queued."""
    items = await deadline_items(deps, now) + await calendar_items(deps, now)
    return await jobs.queue_run(deps, SWEEP, now, now, items, once=False)


async def sweep(deps: Deps, now: datetime) -> list[RunOutcome]:
    """Every few minutes and at start: make up missed jobs, warn about deadlines, then
    let the problem ledger move overdue problems up (after the red warnings went to
    the level that let them lapse)."""
    outcomes = await catch_up(deps, now)
    try:
        queued = await check_deadlines(deps, now)
        outcomes.append(RunOutcome(SWEEP, "ran", now, queued))
    except Exception:
        log.exception("deadline check failed")
        outcomes.append(RunOutcome(SWEEP, "failed"))
    try:
        await escalate_overdue(deps, now)
    except Exception:
        log.exception("auto-escalation failed")
    try:
        await problem_callback_jobs.run(deps, now)
    except Exception:
        log.exception("call-backs failed")
    try:  # bulletin drafts nobody published by their moment go out as they stand
        await publish_due(deps, now)
    except Exception:
        log.exception("publishing due bulletins failed")
    return outcomes
