"""Overdue problems climb by themselves: services.problems.escalate_overdue, for the
scheduler. Also /problems, /ledger and the detail view."""

from __future__ import annotations

from datetime import datetime, timedelta

from campaign.settings import Settings
from handlers.common import deps
from services import problems as problem_service
from storage import problems
from storage.db import Database
from tests.conftest import join
from tests.factories import Seed
from tests.fakebot import Harness, shown
from tests.problem_helpers import (
    OFFICE_CHAT,
    TEAM_CHAT,
    alert,
    card,
    deliver,
    last_text,
    outbox,
    press_card,
    raise_via_chat,
)


async def _escalate(bot: Harness, now: datetime) -> list[int]:
    return await problem_service.escalate_overdue(deps(bot.app), now)


async def _level(db: Database, problem_id: int = 1) -> str:
    row = await db.fetchone("SELECT level FROM problems WHERE id = ?", (problem_id,))
    assert row is not None
    return str(row["level"])


async def test_overdue_group_problem_climbs_to_team_then_office(
    bot: Harness, seed: Seed, db: Database, settings: Settings
) -> None:
    leader = await join(bot, seed, "leader1", 611)
    captain = await join(bot, seed, "captain1", 621)
    office = await join(bot, seed, "office1", 631)
    await bot.send(captain, "/bindteam", chat_id=TEAM_CHAT)
    await bot.send(office, "/bindoffice", chat_id=OFFICE_CHAT)
    reporter = await join(bot, seed, "cadre1", 601)
    joiner = await join(bot, seed, "cadre2", 602)
    await raise_via_chat(bot, reporter, solvable=True)
    await bot.send(joiner, "/problem")
    await bot.tap(joiner, "东风村")
    await bot.tap(joiner, "加入 P-1")
    await deliver(bot, db)
    await press_card(bot, db, leader, 1, leader.id, "认领")  # claimed problems climb too

    bot.clock.advance(days=6, hours=23)  # type: ignore[attr-defined]
    assert await _escalate(bot, bot.clock()) == []
    bot.clock.advance(hours=1)  # type: ignore[attr-defined]
    now = bot.clock()
    assert await _escalate(bot, now) == [1]
    assert await _escalate(bot, now) == []  # idempotent
    row = await db.fetchone("SELECT level, status, owner_id, level_since, deadline FROM problems")
    assert row is not None
    assert (row["level"], row["status"], row["owner_id"]) == ("team", "open", None)
    assert row["deadline"] == "2026-12-08T01:00:00+00:00"  # now + 15 days
    ev = await db.fetchone("SELECT * FROM problem_events ORDER BY id DESC")
    assert ev is not None
    assert (ev["action"], ev["actor_id"], ev["from_level"], ev["to_level"]) == (
        "auto_escalate",
        None,
        "group",
        "team",
    )
    keys = [i["key"] for i in await outbox(db) if f":ev:{ev['id']}:" in i["key"]]
    # Both reporters are told, the group leader is told it was sent up, the team chat gets
    # the card, and the group leader's own card is edited.
    assert f"problem:1:ev:{ev['id']}:notice:601" in keys
    assert f"problem:1:ev:{ev['id']}:notice:602" in keys
    assert f"problem:1:ev:{ev['id']}:sentup:611" in keys
    assert f"problem:1:ev:{ev['id']}:card:{TEAM_CHAT}" in keys
    assert f"problem:1:ev:{ev['id']}:card:611" in keys
    notice = [i for i in await outbox(db, 601) if ":notice:" in i["key"]][-1]
    assert "超期未办结" in notice["payload"]["text"] and "工作队" in notice["payload"]["text"]
    await deliver(bot, db)
    assert "待认领" in (await card(bot, db, 1, TEAM_CHAT)).text
    assert "现由工作队办理" in (await card(bot, db, 1, leader.id)).text
    # The group leader's old buttons no longer act: the press says what happened.
    calls = await bot.press(leader, "prb:v1:solve:1:group")
    assert "已过时" in alert(calls) and "系统" in alert(calls) and "自动上报" in alert(calls)

    bot.clock.advance(days=15)  # type: ignore[attr-defined]
    assert await _escalate(bot, bot.clock()) == [1]
    assert await _level(db) == "office"
    await deliver(bot, db)
    assert (await card(bot, db, 1, OFFICE_CHAT)).reply_markup
    # Overdue at the office: nothing above it; it stays (the scheduler warns).
    bot.clock.advance(days=31)  # type: ignore[attr-defined]
    assert await _escalate(bot, bot.clock()) == []
    assert await _level(db) == "office"
    late = await problems.overdue(db, bot.clock(), levels=["office"])
    assert [p.id for p in late] == [1]


async def test_urgent_and_closed_problems(
    bot: Harness, seed: Seed, db: Database, settings: Settings
) -> None:
    captain = await join(bot, seed, "captain1", 621)
    await bot.send(captain, "/bindteam", chat_id=TEAM_CHAT)
    reporter = await join(bot, seed, "cadre1", 601)
    await raise_via_chat(bot, reporter, urgent=True, solvable=False)  # P-1, team, 5 days
    await raise_via_chat(bot, reporter, place="城南社区", solvable=False)  # P-2, 15 days
    await raise_via_chat(bot, reporter, place="城关建材厂", solvable=False)  # P-3
    await deliver(bot, db)
    await press_card(bot, db, captain, 3, TEAM_CHAT, "已解决")
    await bot.send(captain, "已解决。")
    bot.clock.advance(days=5)  # type: ignore[attr-defined]
    moved = await _escalate(bot, bot.clock())
    assert moved == [1]
    row = await db.fetchone("SELECT deadline FROM problems WHERE id = 1")
    assert row is not None
    assert row["deadline"] == (bot.clock() + timedelta(days=10)).isoformat()  # urgent office
    bot.clock.advance(days=30)  # type: ignore[attr-defined]
    moved = await _escalate(bot, bot.clock())
    assert moved == [2]  # P-3 is solved and stays
    # Nobody at the office can receive P-1 and P-2: no office chat, no office member bound.
    assert await _level(db, 3) == "team"


async def test_nobody_reachable_warns_the_office(
    bot: Harness, seed: Seed, db: Database, settings: Settings
) -> None:
    office = await join(bot, seed, "office1", 631)
    await bot.send(office, "/bindoffice", chat_id=OFFICE_CHAT)
    reporter = await join(bot, seed, "cadre1", 601)
    await raise_via_chat(bot, reporter, solvable=False)  # team T1: no chat, no leader joined
    items = await outbox(db, OFFICE_CHAT)
    assert len(items) == 1 and "没有可以接收的负责人" in items[0]["payload"]["text"]
    assert "城关镇工作队" in items[0]["payload"]["text"]


async def test_my_problems_and_details(bot: Harness, seed: Seed, db: Database) -> None:
    captain = await join(bot, seed, "captain1", 621)
    await bot.send(captain, "/bindteam", chat_id=TEAM_CHAT)
    reporter = await join(bot, seed, "cadre1", 601)
    calls = await bot.send(reporter, "/problems")
    assert "还没有反映过问题" in last_text(calls)
    await raise_via_chat(bot, reporter, solvable=False)
    joiner = await join(bot, seed, "cadre2", 602)
    await bot.send(joiner, "/problem")
    await bot.tap(joiner, "东风村")
    await bot.tap(joiner, "加入 P-1")
    calls = await bot.send(joiner, "/problems")
    text = last_text(calls)
    assert "P-1" in text and "工作队·待认领" in text and "还剩 15 天" in text
    calls = await bot.tap(joiner, "P-1")
    detail = last_text(calls)
    assert "办理记录" in detail and "张伟：提出问题" in detail and "王芳：反映了同一问题" in detail
    assert not shown(calls)[-1].buttons  # a reporter cannot act
    outsider = await join(bot, seed, "cadre4", 604)  # another team's cadre
    calls = await bot.press(outsider, "prb:v1:show:1")
    refused = alert(calls)
    calls = await bot.press(outsider, "prb:v1:show:77")
    assert alert(calls) == refused  # whether P-1 exists is not given away
    calls = await bot.press(captain, "prb:v1:show:1")
    assert shown(calls)[-1].buttons  # the owner's copy carries the buttons
    calls = await bot.press(captain, "prb:v1:show:77")
    assert "找不到" in alert(calls)


async def test_ledger_per_role_overdue_first(
    bot: Harness, seed: Seed, db: Database, settings: Settings
) -> None:
    leader = await join(bot, seed, "leader1", 611)
    captain = await join(bot, seed, "captain1", 621)
    deputy = await join(bot, seed, "deputy1", 622)
    office = await join(bot, seed, "office1", 631)
    reporter = await join(bot, seed, "cadre1", 601)
    await raise_via_chat(bot, reporter, solvable=False)  # P-1 team, due in 15 days
    bot.clock.advance(days=1)  # type: ignore[attr-defined]
    await raise_via_chat(bot, reporter, place="城南社区", urgent=True, solvable=False)  # P-2
    await raise_via_chat(bot, reporter, place="城关建材厂", solvable=True)  # P-3 group
    bot.clock.advance(days=5)  # type: ignore[attr-defined]  # P-2 (5 days) is overdue now
    calls = await bot.send(captain, "/ledger")
    text = last_text(calls)
    assert "城关镇工作队 待办问题 2 件，其中超期 1 件" in text
    assert text.index("P-2") < text.index("P-1") and "⚠️P-2" in text and "P-3" not in text
    assert "P-2" in last_text(await bot.send(deputy, "/ledger"))
    text = last_text(await bot.send(leader, "/ledger"))
    assert "城关一组 待办问题 1 件" in text and "P-3" in text
    text = last_text(await bot.send(office, "/ledger"))
    assert "没有待办问题" in text
    text = last_text(await bot.send(reporter, "/ledger"))
    assert "问题台账供" in text
    # Explained problems stay on the watch list of the level that explained them.
    await bot.press(captain, "prb:v1:expl:1:team")
    await bot.send(captain, "暂无资金。")
    await bot.send(captain, "黄海")
    await bot.tap(captain, "今天")
    text = last_text(await bot.send(captain, "/ledger"))
    assert "跟踪观察（已解释）1 件" in text and text.rindex("P-1") > text.index("跟踪观察")
