"""Restarts before, during and after a due time: each occurrence is queued once, a
missed one is made up while still useful, never twice. Each "restart" is a fresh
Application on the same database; nothing in memory survives it. Also: the schedule
itself (job ids and times), built without running the scheduler."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date, time, timedelta
from typing import Any

import pytest

from campaign.schedule import (
    BULLETIN,
    MONTHLY,
    NIGHTLY,
    NUDGE,
    PACE,
    PERIOD_END,
    PLAN_REMIND,
    SWEEP,
)
from campaign.settings import Settings
from scheduler.runner import RunOutcome, plan_by_id, run_if_due, sweep
from scheduler.setup import CATCH_UP, install_jobs, schedule_table
from services import jobs
from services.runtime import DEPS_KEY, Deps
from storage.db import Database
from tests.conftest import AppFactory, join, user
from tests.factories import Seed
from tests.fakebot import FakeClock, Harness, shown
from tests.scheduler_factories import (
    OFFICE_CHAT,
    SHANGHAI,
    add_visit,
    bind_world,
    local,
    queued,
)


@pytest.fixture
async def world(db: Database, seed: Seed) -> Seed:
    return await bind_world(db, seed)


def deps_of(bot: Harness) -> Deps:
    d = bot.app.bot_data[DEPS_KEY]
    assert isinstance(d, Deps)
    return d


async def start(make_bot: AppFactory, clock: FakeClock) -> tuple[Deps, list[RunOutcome]]:
    """A fresh start: the first sweep is the catch-up."""
    d = deps_of(await make_bot())
    return d, await sweep(d, clock())


def status(outcomes: list[RunOutcome], job: str) -> str:
    return next(o.status for o in outcomes if o.job == job)


async def nudges(db: Database) -> list[str]:
    return [r.key for r in await queued(db, "nudge:")]


async def test_restart_before_the_due_time(
    make_bot: AppFactory, clock: FakeClock, db: Database, world: Seed
) -> None:
    clock.set(local(2026, 11, 16, 19, 0))
    d, outcomes = await start(make_bot, clock)
    assert status(outcomes, NUDGE) == "skipped"  # Friday's nudge: far too late now
    assert await nudges(db) == []
    clock.set(local(2026, 11, 16, 19, 30))  # the daily trigger fires
    assert (await run_if_due(d, plan_by_id(d, NUDGE), clock())).status == "ran"
    sent = await nudges(db)
    assert len(sent) == 9 and all(k.endswith(":2026-11-16") for k in sent)
    clock.set(local(2026, 11, 16, 19, 31))
    _, outcomes = await start(make_bot, clock)
    assert status(outcomes, NUDGE) == "done-before"
    assert await nudges(db) == sent


async def test_restart_after_the_due_time_makes_it_up_once(
    make_bot: AppFactory, clock: FakeClock, db: Database, world: Seed
) -> None:
    # Down from before 19:30; back at 20:30: the nudge is still useful and goes once.
    clock.set(local(2026, 11, 16, 20, 30))
    d, outcomes = await start(make_bot, clock)
    assert status(outcomes, NUDGE) == "ran"
    sent = await nudges(db)
    assert len(sent) == 9
    # The sweep again, a daily trigger that fires late, and another restart: nothing new.
    await sweep(d, clock())
    assert (await run_if_due(d, plan_by_id(d, NUDGE), clock())).status == "done-before"
    clock.advance(minutes=10)
    _, outcomes = await start(make_bot, clock)
    assert status(outcomes, NUDGE) == "done-before"
    assert await nudges(db) == sent


async def test_back_the_next_morning_the_nudge_is_dropped(
    make_bot: AppFactory, clock: FakeClock, db: Database, world: Seed
) -> None:
    clock.set(local(2026, 11, 17, 8, 0))
    _, outcomes = await start(make_bot, clock)
    assert status(outcomes, NUDGE) == "skipped"
    assert await nudges(db) == []
    row = await db.fetchone("SELECT due_at, outcome FROM job_runs WHERE job = ?", (NUDGE,))
    assert row is not None and row["outcome"] == "skipped"
    # That evening's nudge still comes.
    clock.set(local(2026, 11, 17, 19, 30))
    _, outcomes = await start(make_bot, clock)
    assert status(outcomes, NUDGE) == "ran"
    assert {k.rsplit(":", 1)[1] for k in await nudges(db)} == {"2026-11-17"}


async def test_a_crash_during_the_run_leaves_nothing_half_done(
    make_bot: AppFactory,
    clock: FakeClock,
    db: Database,
    world: Seed,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = jobs.enqueue_all

    async def crash_halfway(conn: Any, items: list[Any], now: Any) -> int:
        await real(conn, items[:3], now)
        raise RuntimeError("power cut")

    clock.set(local(2026, 11, 16, 19, 30))
    d = deps_of(await make_bot())
    monkeypatch.setattr(jobs, "enqueue_all", crash_halfway)
    with pytest.raises(RuntimeError):
        await run_if_due(d, plan_by_id(d, NUDGE), clock())
    assert await nudges(db) == []  # the transaction was rolled back
    assert await db.fetchone("SELECT 1 FROM job_runs WHERE job = ?", (NUDGE,)) is None
    monkeypatch.setattr(jobs, "enqueue_all", real)
    clock.set(local(2026, 11, 16, 19, 40))
    _, outcomes = await start(make_bot, clock)
    assert status(outcomes, NUDGE) == "ran"
    assert len(await nudges(db)) == 9


async def test_outbox_keys_hold_even_if_the_run_record_is_lost(
    make_bot: AppFactory, clock: FakeClock, db: Database, world: Seed
) -> None:
    clock.set(local(2026, 11, 16, 19, 45))
    d, _ = await start(make_bot, clock)
    sent = await nudges(db)
    async with db.write() as conn:
        await conn.execute("DELETE FROM job_runs")
    outcome = await run_if_due(d, plan_by_id(d, NUDGE), clock())
    assert outcome.status == "ran" and outcome.queued == 0
    assert await nudges(db) == sent


async def test_two_triggers_at_once_queue_once(
    make_bot: AppFactory, clock: FakeClock, db: Database, world: Seed
) -> None:
    clock.set(local(2026, 11, 16, 19, 30))
    d = deps_of(await make_bot())
    plan = plan_by_id(d, NUDGE)
    first, second = await asyncio.gather(run_if_due(d, plan, clock()), run_if_due(d, plan, clock()))
    assert sorted([first.status, second.status]) == ["done-before", "ran"]
    assert len(await nudges(db)) == 9


async def test_every_job_catches_up_once_after_a_weekend_outage(
    make_bot: AppFactory, clock: FakeClock, db: Database, world: Seed
) -> None:
    # Down from Sunday evening to Monday 10:00: pace (09:00) and bulletin (08:30) are
    # made up, the nightly backup (02:30) too; Friday's nudge is long gone.
    clock.set(local(2026, 11, 16, 10, 0))
    _, outcomes = await start(make_bot, clock)
    assert {o.job: o.status for o in outcomes} == {
        NUDGE: "skipped",
        PACE: "ran",
        PERIOD_END: "not-due",
        BULLETIN: "ran",
        NIGHTLY: "ran",
        PLAN_REMIND: "ran",
        MONTHLY: "not-due",  # 2 November is two weeks back
        SWEEP: "ran",
    }
    counts = {p: len(await queued(db, p)) for p in ("pace:", "bulletin:")}
    clock.advance(minutes=15)
    _, outcomes = await start(make_bot, clock)
    assert {o.status for o in outcomes if o.job != SWEEP} <= {"done-before", "not-due"}
    assert {p: len(await queued(db, p)) for p in ("pace:", "bulletin:")} == counts


# --- the schedule -------------------------------------------------------------------


def test_schedule_table_from_config(settings: Settings) -> None:
    r = dataclasses.replace(settings.reminders, evening_nudge=time(20, 0), sweep_minutes=5)
    table = {j.id: j for j in schedule_table(dataclasses.replace(settings, reminders=r))}
    assert list(table) == [NUDGE, PACE, PERIOD_END, BULLETIN, NIGHTLY, PLAN_REMIND, MONTHLY, SWEEP]
    assert table[NUDGE].at == time(20, 0, tzinfo=SHANGHAI)
    assert table[BULLETIN].at == time(8, 30, tzinfo=SHANGHAI)
    assert table[NIGHTLY].at == time(2, 30, tzinfo=SHANGHAI)
    assert table[SWEEP].every == timedelta(minutes=5) and table[SWEEP].at is None


async def test_jobs_are_installed_with_stable_ids(
    make_bot: AppFactory, clock: FakeClock, seed: Seed
) -> None:
    bot = await make_bot()
    jq = bot.app.job_queue
    assert jq is not None
    ids = install_jobs(bot.app)
    install_jobs(bot.app)  # a second install replaces, never doubles
    jobs = {j.job.id: j for j in jq.jobs()}
    assert sorted(jobs) == sorted(ids) and len(jq.jobs()) == len(ids) == 9
    assert ids == [
        NUDGE,
        PACE,
        PERIOD_END,
        BULLETIN,
        NIGHTLY,
        PLAN_REMIND,
        MONTHLY,
        SWEEP,
        CATCH_UP,
    ]
    now = local(2026, 11, 16, 9, 0)

    def next_fire(job_id: str) -> Any:
        return jobs[job_id].job.trigger.get_next_fire_time(None, now)

    assert next_fire(NUDGE) == local(2026, 11, 16, 19, 30)
    assert next_fire(NIGHTLY) == local(2026, 11, 17, 2, 30)
    assert next_fire(BULLETIN) == local(2026, 11, 17, 8, 30)  # daily; the job decides
    assert jobs[SWEEP].job.trigger.interval == timedelta(minutes=15)
    assert jobs[NUDGE].data == NUDGE
    # The catch-up is a one-off that runs however late the scheduler starts.
    catch_up = jobs[CATCH_UP].job
    assert catch_up.misfire_grace_time is None
    assert catch_up.trigger.get_next_fire_time(None, now + timedelta(hours=1)) is not None
    assert catch_up.trigger.get_next_fire_time(catch_up.trigger.run_date, now) is None


async def test_post_init_installs_the_jobs(make_bot: AppFactory, seed: Seed) -> None:
    bot = await make_bot()
    assert bot.app.post_init is not None
    await bot.app.post_init(bot.app)
    assert bot.app.job_queue is not None
    assert {j.name for j in bot.app.job_queue.jobs()} >= {NUDGE, SWEEP}


async def test_post_init_sets_the_start_up_heap_aside_until_shutdown(
    make_bot: AppFactory, seed: Seed
) -> None:
    """A full garbage collection then scans only what was made since the start, not
    the libraries and catalogues (bot/app.settle_heap); shutdown hands them back."""
    import gc

    bot = await make_bot()
    assert bot.app.post_init is not None and bot.app.post_shutdown is not None
    await bot.app.post_init(bot.app)
    try:
        assert gc.get_freeze_count() > 10_000
        assert "/start" in shown(await bot.send(user(4401), "/help"))[-1].text  # still served
    finally:
        await bot.app.post_shutdown(bot.app)
    assert gc.get_freeze_count() == 0


# --- the first start ----------------------------------------------------------------


async def test_the_first_start_posts_no_bulletin_for_a_week_before_the_bot(
    make_bot: AppFactory, clock: FakeClock, db: Database, seed: Seed
) -> None:
    """Issue 13: the bot first runs on a Monday morning; the office binds its chat before
    the 08:30 bulletin. Last week ended before anyone used the bot: no all-zero bulletin,
    the occurrence is recorded as skipped. This week's bulletin, a week later, goes."""
    clock.set(local(2026, 11, 16, 8, 0))
    bot = await make_bot()
    office = await join(bot, seed, "office1", 631)
    await bot.send(office, "/bindoffice", chat_id=OFFICE_CHAT)
    clock.set(local(2026, 11, 16, 8, 30))
    d = deps_of(bot)
    assert status(await sweep(d, clock()), BULLETIN) == "skipped"
    assert await queued(db, "bulletin:") == []
    assert (await jobs.last_handled(d, BULLETIN)) == local(2026, 11, 16, 8, 30)
    clock.set(local(2026, 11, 23, 8, 30))
    assert status(await sweep(d, clock()), BULLETIN) == "ran"
    assert [r.key for r in await queued(db, "bulletin:")] == ["bulletin:2026-W47"]


async def test_a_week_before_the_bot_with_a_visit_in_it_is_reported(
    make_bot: AppFactory, clock: FakeClock, db: Database, seed: Seed
) -> None:
    """A visit logged late (or imported) dates the campaign's start, not the bot's first
    run: its week has something to say."""
    clock.set(local(2026, 11, 16, 8, 0))
    bot = await make_bot()
    office = await join(bot, seed, "office1", 631)
    await bot.send(office, "/bindoffice", chat_id=OFFICE_CHAT)
    await add_visit(db, seed.cadres["cadre1"], date(2026, 11, 13), seed.places["v1"])
    clock.set(local(2026, 11, 16, 8, 30))
    assert status(await sweep(deps_of(bot), clock()), BULLETIN) == "ran"
    assert [r.key for r in await queued(db, "bulletin:")] == ["bulletin:2026-W46"]
