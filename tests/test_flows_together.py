"""Two step-by-step reports never share one private chat's typing."""

from __future__ import annotations

from storage.db import Database
from tests.conftest import join
from tests.factories import Seed
from tests.fakebot import Harness, shown


async def test_visit_waits_while_a_problem_report_is_open(
    bot: Harness, seed: Seed, db: Database
) -> None:
    u = await join(bot, seed, "cadre1", 601)
    await bot.send(u, "/problem")
    await bot.tap(u, "城南社区")  # the problem draft now holds a place
    calls = await bot.send(u, "/visit")
    text = shown(calls)[-1].text
    assert "未完成的问题反映" in text and "/cancel" in text
    assert await db.fetchone("SELECT 1 FROM drafts WHERE kind = 'visit'") is None
    row = await db.fetchone("SELECT status, data FROM drafts WHERE kind = 'problem'")
    assert row is not None and row["status"] == "open"  # nothing typed was lost
    await bot.send(u, "/cancel")  # the problem flow's own /cancel
    calls = await bot.send(u, "/visit")
    assert "在哪里走访" in shown(calls)[-1].text


async def test_a_visit_open_when_problem_is_asked_offers_keep_or_drop(
    bot: Harness, seed: Seed
) -> None:
    u = await join(bot, seed, "cadre1", 602)
    await bot.send(u, "/visit")
    calls = await bot.send(u, "/problem")
    assert "放弃这份草稿" in shown(calls)[-1].text


async def test_cancel_with_nothing_open(bot: Harness, seed: Seed) -> None:
    u = await join(bot, seed, "cadre1", 603)
    calls = await bot.send(u, "/cancel")
    assert "没有正在填写" in shown(calls)[-1].text
