"""/mute and /unmute through the real Application, and what a pause silences."""

from __future__ import annotations

from campaign.schedule import NUDGE, PERIOD_END
from scheduler.runner import plan_by_id, run_if_due
from services.runtime import DEPS_KEY, Deps
from storage.db import Database, from_text
from tests.conftest import join, user
from tests.factories import Seed
from tests.fakebot import Harness, shown
from tests.scheduler_factories import local, queued


async def mute_row(db: Database, seed: Seed, key: str) -> str | None:
    row = await db.fetchone(
        "SELECT until FROM reminder_mutes WHERE cadre_id = ?", (seed.cadres[key],)
    )
    return row["until"] if row else None


async def test_mute_for_three_days(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 601)
    calls = await bot.send(u, "/mute 3d")
    text = shown(calls)[-1].text
    assert "提醒已暂停 3 天，11月19日 起恢复" in text and "月末、季末的任务提醒" in text
    until = await mute_row(db, seed, "cadre1")
    assert until is not None and from_text(until) == local(2026, 11, 19)
    audit = await db.fetchone("SELECT action FROM audit_log WHERE action = 'mute'")
    assert audit is not None


async def test_mute_arguments_and_limits(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "leader1", 611)
    for bad in ("/mute", "/mute abc", "/mute 0", "/mute -2", "/mute 3h", "/mute " + "9" * 500):
        calls = await bot.send(u, bad)
        assert "用法：/mute 3d" in shown(calls)[-1].text, bad
    calls = await bot.send(u, "/mute 3w")
    assert "最长只能暂停 14 天" in shown(calls)[-1].text
    assert await mute_row(db, seed, "leader1") is None
    calls = await bot.send(u, "/mute 1w")
    assert "暂停 7 天" in shown(calls)[-1].text
    calls = await bot.send(u, "/mute 2")  # a new pause replaces the old one
    assert "暂停 2 天，11月18日 起恢复" in shown(calls)[-1].text
    assert from_text(await mute_row(db, seed, "leader1") or "") == local(2026, 11, 18)


async def test_unmute(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre3", 603, lang="en")
    calls = await bot.send(u, "/unmute")
    assert "were not paused" in shown(calls)[-1].text
    await bot.send(u, "/mute 2d")
    calls = await bot.send(u, "/unmute")
    assert "Reminders are back on" in shown(calls)[-1].text
    assert await mute_row(db, seed, "cadre3") is None


async def test_who_may_mute(bot: Harness, seed: Seed, db: Database) -> None:
    calls = await bot.send(user(999), "/mute 3d")
    assert "还没有加入" in shown(calls)[-1].text
    office = await join(bot, seed, "office1", 631)
    calls = await bot.send(office, "/mute 3d")
    assert "无需暂停" in shown(calls)[-1].text
    assert await mute_row(db, seed, "office1") is None
    cadre = await join(bot, seed, "cadre1", 601)
    calls = await bot.send(cadre, "/mute 3d", chat_id=-100777)
    assert "私聊" in shown(calls)[-1].text
    assert await mute_row(db, seed, "cadre1") is None
    # Strangers in a group chat get no answer at all.
    assert shown(await bot.send(user(998), "/mute 3d", chat_id=-100777)) == []


async def test_the_same_update_twice_mutes_once(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 601)
    update = bot.text_update(u, "/mute 3d")
    first = await bot.process(update)
    second = await bot.process(update)
    assert shown(first) and shown(second) == []
    rows = await db.fetchall("SELECT * FROM audit_log WHERE action = 'mute'")
    assert len(rows) == 1


async def test_pause_silences_the_nudge_but_not_the_period_end_warning(
    bot: Harness, seed: Seed, db: Database
) -> None:
    u1 = await join(bot, seed, "cadre1", 601)
    await join(bot, seed, "cadre2", 602)
    await bot.send(u1, "/mute 14")
    d = bot.app.bot_data[DEPS_KEY]
    assert isinstance(d, Deps)
    await run_if_due(d, plan_by_id(d, NUDGE), local(2026, 11, 16, 19, 30))
    assert {r.chat_id for r in await queued(db, "nudge:")} == {602}
    await run_if_due(d, plan_by_id(d, PERIOD_END), local(2026, 11, 26, 9, 0))
    assert {r.chat_id for r in await queued(db, "period-end:")} == {601, 602}
    # Two weeks later the pause is over by itself.
    await run_if_due(d, plan_by_id(d, NUDGE), local(2026, 11, 30, 19, 30))
    assert 601 in {r.chat_id for r in await queued(db, "nudge:")}


async def test_mute_is_in_the_field_roles_menu(bot: Harness, seed: Seed) -> None:
    u = await join(bot, seed, "cadre1", 601)
    calls = await bot.send(u, "/help")
    assert "/mute" in shown(calls)[-1].text and "/unmute" in shown(calls)[-1].text
    office = await join(bot, seed, "office1", 631)
    calls = await bot.send(office, "/help")
    assert "/mute" not in shown(calls)[-1].text
