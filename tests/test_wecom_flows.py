"""Every flow on WeCom: a visit (with a location, a photo and a voice note), reports and
the export as a WeCom file, numbered choices, a crash in the middle of a conversation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import time
from io import BytesIO

import openpyxl
import pytest

from bot.dispatcher import dispatcher_of
from bot.wecom.channel import app_menu, split_queue
from campaign.schedule import NUDGE
from campaign.settings import Settings
from handlers import reports as report_handlers
from scheduler.runner import plan_by_id, run_if_due
from storage import wecom
from storage.db import Database
from tests.conftest import AppFactory, join
from tests.factories import Seed
from tests.fakebot import FakeClock
from tests.fakewecom import FakeWeCom
from tests.problem_helpers import TEAM_CHAT, deliver, press_card
from tests.scheduler_factories import local
from tests.test_wecom_story import deps_of, join_all, raise_problem
from tests.wecom_world import World, close_world, open_world


@pytest.fixture
async def world(
    settings: Settings, db: Database, clock: FakeClock, seed: Seed
) -> AsyncIterator[World]:
    with FakeWeCom(clock=lambda: clock().timestamp()) as fake:
        w = await open_world(settings, db, clock, seed, fake)
        fake.menu = app_menu(deps_of(w).catalog, "zh-CN")
        try:
            yield w
        finally:
            await close_world(w)


async def test_visit_with_location_photo_and_voice(world: World, db: Database, seed: Seed) -> None:
    await world.menu("cadre1", "/visit")
    assert "在哪里走访" in world.seen("cadre1")
    await world.tap("cadre1", "城关建材厂")
    await world.tap("cadre1", "服务企业")
    await world.tap("cadre1", "调查研究")
    await world.tap("cadre1", "完成")
    await world.tap("cadre1", "昨天")
    await world.text("cadre1", "走访建材厂，了解用工和订单情况")
    await world.location("cadre1", 30.0101, 114.0101)
    await world.photo("cadre1", b"site photo")
    await world.voice("cadre1", b"#!AMR note")
    await world.text("cadre1", "8人")
    await world.tap("cadre1", "下一步")
    await world.tap("cadre1", "提交")
    assert any("走访记录 #1 已提交" in t for t in world.texts("cadre1"))
    visit = await db.fetchone("SELECT * FROM visits")
    assert visit is not None
    assert visit["cadre_id"] == seed.cadres["cadre1"] and visit["place_id"] == seed.places["e1"]
    assert visit["visit_date"] == "2026-11-15" and visit["people_met"] == 8
    assert visit["lat"] is not None
    # The media were fetched from WeCom as they arrived (their ids expire in 3 days).
    media = await db.fetchall("SELECT file_id FROM visit_photos")
    for row in media:
        assert world.channel.bridge.cache_path(str(row["file_id"])).exists()


async def test_more_than_six_choices_are_numbered(world: World, db: Database) -> None:
    await world.menu("cadre1", "/problem")
    await world.tap("cadre1", "东风村")
    shown = await world.menu_of("cadre1")
    assert shown.numbered  # eight categories and cancel: more than a card's six buttons
    hint = [t for t in world.texts("cadre1") if "请回复序号选择" in t][-1]
    assert "1. 基础设施" in hint and "9. ✖ 取消" in hint
    await world.text("cadre1", "12")  # no such number: the step is asked again
    again = await world.menu_of("cadre1")
    assert again.numbered and "哪一类" in again.text
    await world.text("cadre1", "2")
    assert "描述问题" in world.seen("cadre1")
    draft = await db.fetchone("SELECT data FROM drafts WHERE kind = 'problem'")
    assert draft is not None and "livelihood" in draft["data"]


async def test_summary_and_export_as_a_wecom_file(world: World, db: Database) -> None:
    await join_all(world, "office1", "captain1", "cadre1")
    await raise_problem(world)
    await world.text("captain1", "/summary")
    assert "工作汇总" in world.last_text("captain1")
    await world.text("office1", "/export 2026-11")
    await report_handlers.wait_for_jobs(world.app)
    files = [r for r in world.fake.inbox("office1") if r.msgtype == "file"]
    assert len(files) == 1
    media = world.fake.media[files[0].body["media_id"]]
    assert media.filename.endswith(".xlsx")
    wb = openpyxl.load_workbook(BytesIO(media.data))
    assert wb.sheetnames[:3] == ["汇总", "走访记录", "问题台账"]


async def test_crash_mid_conversation_resumes_after_restart(
    settings: Settings, db: Database, clock: FakeClock, seed: Seed
) -> None:
    with FakeWeCom(clock=lambda: clock().timestamp()) as fake:
        first = await open_world(settings, db, clock, seed, fake)
        fake.menu = app_menu(deps_of(first).catalog, "zh-CN")
        await first.menu("cadre1", "/problem")
        await first.tap("cadre1", "东风村")
        await first.tap("cadre1", "基础设施")
        # The member's next message is recorded and answered 200; the process dies
        # before handling it.
        delivery = await fake.text("cadre1", "茶叶滞销，需要对接销售渠道。")
        assert delivery.ok and delivery.attempts == 1
        assert await wecom.inbound_counts(db) == {"done": 3, "new": 1}
        first.server.stop()
        await first.app.shutdown()
        fake.add_member = lambda *a, **k: fake.members[a[0]]  # type: ignore[method-assign]
        second = await open_world(settings, db, clock, seed, fake)
        assert await second.handle() == 1  # the recorded message, handled after the restart
        assert "现场照片" in second.seen("cadre1")
        draft = await db.fetchone("SELECT step, data FROM drafts WHERE kind = 'problem'")
        assert draft is not None and "茶叶滞销" in draft["data"]
        await second.tap("cadre1", "跳过")
        await second.tap("cadre1", "一般")
        await second.tap("cadre1", "能，本组解决")
        await second.tap("cadre1", "提交")
        row = await db.fetchone("SELECT COUNT(*) AS n FROM problems")
        assert row is not None and row["n"] == 1
        await close_world(second)


async def test_both_channels_on_one_core(
    settings: Settings,
    db: Database,
    clock: FakeClock,
    seed: Seed,
    make_bot: AppFactory,
) -> None:
    """Telegram and WeCom together: the team leader on Telegram, the reporter on WeCom;
    one queue, each channel's dispatcher sends its own chats' messages."""
    telegram = await make_bot()
    with FakeWeCom(clock=lambda: clock().timestamp()) as fake:
        w = await open_world(settings, db, clock, seed, fake)
        fake.menu = app_menu(deps_of(w).catalog, "zh-CN")
        split_queue(telegram.app, w.app)
        captain = await join(telegram, seed, "captain1", 621)
        await telegram.send(captain, "/bindteam", chat_id=TEAM_CHAT)
        await join_all(w, "cadre1")
        await raise_problem(w)
        # The WeCom side leaves the Telegram team chat's card alone ...
        await w.deliver()
        pending = await db.fetchall("SELECT chat_id FROM outbox WHERE status = 'pending'")
        assert {r["chat_id"] for r in pending} == {TEAM_CHAT}
        # ... which Telegram's dispatcher sends; the captain solves it there.
        await deliver(telegram, db)
        await press_card(telegram, db, captain, 1, TEAM_CHAT, "已解决")
        await telegram.send(captain, "已协调交通局修复路面。")
        for _ in range(5):  # Telegram's dispatcher sends nothing of WeCom's
            await dispatcher_of(telegram.app).drain(clock())
            clock.advance(seconds=5)
        assert any(r["status"] == "pending" for r in await db.fetchall("SELECT status FROM outbox"))
        await w.deliver()
        assert any("P-1" in t and "已解决" in t for t in w.texts("cadre1"))
        assert not [c for c in telegram.api.calls if (c.chat_id or 0) > 2**52]
        await close_world(w)


async def test_evening_reminder_reaches_wecom_members(
    world: World, db: Database, clock: FakeClock
) -> None:
    await join_all(world, "leader2", "cadre1")
    # Moved off :30, WeCom's busy half hour: 19:30 in the config runs at 19:37.
    assert deps_of(world).settings.reminders.evening_nudge == time(19, 37)
    now = local(2026, 11, 16, 19, 37)
    clock.set(now)
    outcome = await run_if_due(deps_of(world), plan_by_id(deps_of(world), NUDGE), now)
    assert outcome.status == "ran"
    await world.deliver()
    assert any("今天还没有记录走访" in t for t in world.texts("leader2"))
    assert any("今天还没有记录走访" in t for t in world.texts("cadre1"))
    assert world.fake.drops == []


async def test_a_burst_to_one_member_is_paced_under_wecom_limits(
    world: World, db: Database, clock: FakeClock
) -> None:
    """Fifty notices for one member at once: the queue spreads them (one per 3.6 s) so
    WeCom's 30 a minute is never reached and nothing is silently dropped."""
    from campaign.message import Message
    from storage import outbox as queue

    await join_all(world, "cadre1")
    member = await world.internal_id("cadre1")
    async with db.write() as conn:
        for i in range(50):
            await queue.enqueue(
                conn, key=f"burst:{i}", chat_id=member, now=clock(), message=Message(f"通知 {i}")
            )
    await world.deliver()
    got = [r for r in world.fake.inbox("cadre1") if r.text.startswith("通知")]
    assert [r.text for r in got] == [f"通知 {i}" for i in range(50)]
    assert world.fake.drops == []
    gaps = [b.at - a.at for a, b in zip(got, got[1:], strict=False)]
    assert min(gaps) >= 3.6 - 1e-6
    assert max(sum(1 for r in got if 0 <= r.at - g.at < 60) for g in got) <= 30


async def test_crash_after_handling_before_done_acts_once(
    settings: Settings, db: Database, clock: FakeClock, seed: Seed
) -> None:
    with FakeWeCom(clock=lambda: clock().timestamp()) as fake:
        first = await open_world(settings, db, clock, seed, fake)
        fake.menu = app_menu(deps_of(first).catalog, "zh-CN")
        await first.menu("cadre1", "/problem")
        await first.tap("cadre1", "东风村")
        await first.tap("cadre1", "基础设施")
        assert (await fake.text("cadre1", "茶叶滞销，需要对接销售渠道。")).ok
        [row] = await wecom.open_inbound(db)
        await first.channel.worker.handle(row)  # handled; the process dies before "done"
        await db.sync()
        asked = len([t for t in fake.texts("cadre1") if "现场照片" in t])
        first.server.stop()
        await first.app.shutdown()
        fake.add_member = lambda *a, **k: fake.members[a[0]]  # type: ignore[method-assign]
        second = await open_world(settings, db, clock, seed, fake)
        assert await second.handle() == 1  # taken again after the restart ...
        assert len([t for t in fake.texts("cadre1") if "现场照片" in t]) == asked  # ... once
        await close_world(second)


async def test_members_side_by_side_each_in_order(world: World, db: Database) -> None:
    for userid in ("cadre1", "leader1"):
        assert (await world.fake.text(userid, "/start")).ok
    assert (await world.fake.text("cadre1", "/help")).ok
    assert (await world.fake.text("leader1", "/help")).ok
    assert await world.handle() == 4
    for userid in ("cadre1", "leader1"):
        seen = world.seen(userid)
        assert seen.index("身份核对成功") < seen.index("/visit")  # joined, then the help
    assert await wecom.inbound_counts(db) == {"done": 4}
