"""Putting the jobs on PTB's JobQueue at start, with stable ids, from config.

Daily triggers fire at the configured local times; each calls ``run_if_due``, which
decides from the calendar and the database whether that day's occurrence is due and
not yet handled. The sweep runs every few minutes, and once as soon as the scheduler
starts (job ``catch-up``): that run makes up anything missed while the bot was down.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any

from telegram.ext import Application, CallbackContext

from campaign.schedule import SWEEP, job_plans
from campaign.settings import Settings
from scheduler.runner import plan_by_id, run_if_due, sweep
from services.runtime import DEPS_KEY, Deps

log = logging.getLogger(__name__)

CATCH_UP = "catch-up"
# Several processes on one database (webhook mode): bot/ puts here a callable saying
# whether this process holds the dispatcher's lease; only that one runs the jobs, so
# each runs once across the processes (the run is also claimed in its transaction,
# services/jobs.queue_run). Absent: this process is the only one.
LEADER_KEY = "fieldbot.leading"


@dataclass(frozen=True)
class ScheduledJob:
    id: str
    at: time | None  # aware local time for daily jobs
    every: timedelta | None  # interval for repeating jobs


def schedule_table(settings: Settings) -> list[ScheduledJob]:
    tz = settings.tz
    jobs = [ScheduledJob(p.id, p.at.replace(tzinfo=tz), None) for p in job_plans(settings)]
    jobs.append(ScheduledJob(SWEEP, None, timedelta(minutes=settings.reminders.sweep_minutes)))
    return jobs


def _deps(context: CallbackContext[Any, Any, Any, Any]) -> Deps:
    return _deps_of(context.application)


def _leading(context: CallbackContext[Any, Any, Any, Any]) -> bool:
    check = context.application.bot_data.get(LEADER_KEY)
    return check is None or bool(check())


async def _daily(context: CallbackContext[Any, Any, Any, Any]) -> None:
    if not _leading(context):
        return
    d = _deps(context)
    job = context.job
    assert job is not None and isinstance(job.data, str)
    await run_if_due(d, plan_by_id(d, job.data), d.now())


async def _sweep(context: CallbackContext[Any, Any, Any, Any]) -> None:
    if not _leading(context):
        return
    d = _deps(context)
    await sweep(d, d.now())


def install_jobs(app: Application[Any, Any, Any, Any, Any, Any]) -> list[str]:
    """Schedule every job; returns their ids. Installing twice replaces, never doubles."""
    jq = app.job_queue
    if jq is None:
        log.warning("no job queue (install python-telegram-bot[job-queue]); nothing scheduled")
        return []
    settings = _deps_of(app).settings
    # Our own catch-up decides about lateness; APScheduler should just run, once.
    common: dict[str, Any] = {
        "replace_existing": True,
        "coalesce": True,
        "misfire_grace_time": None,
    }
    ids = []
    for job in schedule_table(settings):
        # Before the scheduler starts, APScheduler keeps added jobs in a plain list where
        # replace_existing has no effect yet; remove an earlier copy by hand.
        for old in jq.get_jobs_by_name(job.id):
            old.schedule_removal()
        kwargs = {"id": job.id, **common}
        if job.at is not None:
            jq.run_daily(_daily, job.at, name=job.id, data=job.id, job_kwargs=kwargs)
        else:
            assert job.every is not None
            jq.run_repeating(_sweep, job.every, first=job.every, name=job.id, job_kwargs=kwargs)
        ids.append(job.id)
    # A one-off run the moment the scheduler starts. (An interval job's "first=0" would
    # not do: it counts from now, and the scheduler starts a moment later, so its first
    # run slips a whole interval.)
    for old in jq.get_jobs_by_name(CATCH_UP):
        old.schedule_removal()
    jq.run_once(_sweep, 0, name=CATCH_UP, job_kwargs={"id": CATCH_UP, **common})
    ids.append(CATCH_UP)
    log.info("scheduled jobs: %s", ", ".join(ids))
    return ids


def catch_up_now(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Run the catch-up sweep at once: a process that has just taken the lead over makes
    up what the last leader missed (or died in the middle of), as a restart does."""
    jq = app.job_queue
    if jq is None:
        return
    for old in jq.get_jobs_by_name(CATCH_UP):
        old.schedule_removal()
    jq.run_once(_sweep, 0, name=CATCH_UP)


def _deps_of(app: Application[Any, Any, Any, Any, Any, Any]) -> Deps:
    value = app.bot_data[DEPS_KEY]
    assert isinstance(value, Deps)
    return value
