"""After the fact: /my progress, visit cards, corrections and withdrawals with their
audit trail, and the group leader's /group list."""

from __future__ import annotations

import json
from datetime import date

from storage.db import Database
from tests.conftest import join
from tests.factories import Seed
from tests.fakebot import Harness, shown
from tests.visits_support import (
    alerts,
    answer_once,  # noqa: F401  (autouse fixture)
    count,
    flow,
    log_visit,
    open_draft,
    rows,
    texts,
)


async def test_my_shows_progress_against_quotas(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 801)
    c, now = seed.cadres["cadre1"], bot.clock()
    p = seed.places
    await log_visit(db, c, p["c1"], date(2026, 11, 2), ("policy", "survey"), now=now)
    await log_visit(db, c, p["e1"], date(2026, 11, 2), ("enterprise",), now=now)
    await log_visit(db, c, p["c1"], date(2026, 11, 9), ("survey",), now=now)
    await log_visit(db, c, p["v1"], date(2026, 10, 20), ("party",), now=now)
    gone = await log_visit(db, c, p["v1"], date(2026, 11, 10), ("party",), now=now)
    await db.conn.execute("UPDATE visits SET status = 'withdrawn' WHERE id = ?", (gone,))
    await log_visit(db, seed.cadres["cadre2"], p["c1"], date(2026, 11, 3), now=now)  # not mine
    calls = await bot.send(u, "/my")
    text = shown(calls)[-1].text
    assert "2026年11月：走访 3/8 次 · 驻村 2/10 天 · 覆盖 2 个地点" in text
    # November 2026 has 21 working days; 10 of them lie before Monday the 16th:
    # 8 × 10 // 21 = 3 visits and 10 × 10 // 21 = 4 days, as the weekly reminder counts.
    assert "应完成走访 3 次、驻村 4 天" in text
    assert "按内容：宣讲政策 1 · 调查研究 2 · 服务企业 1" in text
    assert "2026年第4季度：走访 4/24 次 · 驻村 3/30 天 · 覆盖 3 个地点" in text
    assert f"#{gone} 11月10日 🏘 东风村 · 已撤回" in text
    assert len(shown(calls)[-1].buttons) == 5


async def test_my_from_the_menu_and_when_empty(bot: Harness, seed: Seed) -> None:
    u = await join(bot, seed, "cadre2", 802)
    calls = await bot.tap(u, "我的进度")
    assert "还没有走访记录" in shown(calls)[-1].text


async def test_my_in_english_when_done(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre3", 803, lang="en")
    for n in range(8):
        await log_visit(
            db, seed.cadres["cadre3"], seed.places["v2"], date(2026, 11, 1 + n), now=bot.clock()
        )
    calls = await bot.send(u, "/my")
    text = shown(calls)[-1].text
    assert "2026-11: visits 8/8 · days in the field 8/10" in text
    assert "you are behind" not in text.split("2026 Q4")[0]  # 8 days by the 16th is on pace


async def test_correcting_own_visit_within_the_window(
    bot: Harness, seed: Seed, db: Database
) -> None:
    u = await join(bot, seed, "cadre1", 804)
    await flow(bot, u, text="原来写错的内容")
    calls = await bot.send(u, "/my")
    calls = await bot.tap(u, "#1")
    card = shown(calls)[-1]
    assert "走访记录 #1" in card.text and "原来写错的内容" in card.text
    assert "您可以在 11月17日 09:00 前修改或撤回" in card.text
    calls = await bot.tap(u, "✏️ 修改")
    assert "修改走访记录 #1" in shown(calls)[-1].text
    await bot.tap(u, "✏️ 做了什么")
    await bot.send(u, "改正后的内容")
    await bot.tap(u, "人数/照片/定位")
    await bot.send(u, "20")
    await bot.tap(u, "下一步")
    calls = await bot.tap(u, "保存修改")
    assert "走访记录 #1 的修改已保存" in shown(calls)[-1].text
    assert await count(db, "SELECT COUNT(*) FROM visits") == 1
    visit = (await rows(db, "SELECT * FROM visits"))[0]
    assert visit["text"] == "改正后的内容" and visit["people_met"] == 20
    audit = (await rows(db, "SELECT * FROM audit_log WHERE action = 'visit_edit'"))[0]
    assert audit["subject"] == "visit:1" and audit["actor_cadre_id"] == seed.cadres["cadre1"]
    assert json.loads(audit["before"])["text"] == "原来写错的内容"
    assert json.loads(audit["after"])["text"] == "改正后的内容"
    assert json.loads(audit["after"])["people_met"] == 20
    assert audit["at"] == "2026-11-16T01:00:00+00:00"


async def test_correction_by_command_and_its_refusals(
    bot: Harness, seed: Seed, db: Database
) -> None:
    u = await join(bot, seed, "cadre1", 805)
    other = await join(bot, seed, "cadre2", 806)
    await flow(bot, u)
    calls = await bot.send(u, "/visit_edit")
    assert "请在命令后写上走访记录的编号" in shown(calls)[-1].text
    calls = await bot.send(u, "/visit_edit 99")
    assert "没有找到走访记录 #99" in shown(calls)[-1].text
    calls = await bot.send(other, "/visit_edit 1")  # same group, not theirs
    assert "没有找到走访记录 #1" in shown(calls)[-1].text
    bot.clock.advance(hours=25)  # type: ignore[attr-defined]
    calls = await bot.send(u, "/visit_edit 1")
    assert "已超过 24 小时的修改期限" in shown(calls)[-1].text and "组长" in shown(calls)[-1].text
    assert await count(db, "SELECT COUNT(*) FROM drafts WHERE status = 'open'") == 0


async def test_window_closing_while_correcting(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 807)
    await flow(bot, u, text="第一版")
    await bot.send(u, "/visit_edit 1")
    await bot.tap(u, "✏️ 做了什么")
    await bot.send(u, "第二版")
    bot.clock.advance(hours=25)  # type: ignore[attr-defined]
    calls = await bot.tap(u, "保存修改")
    assert "已超过 24 小时的修改期限" in texts(calls)
    assert (await rows(db, "SELECT text FROM visits"))[0]["text"] == "第一版"
    assert await open_draft(db, 807) is None


async def test_group_leader_corrects_later(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 808)
    leader = await join(bot, seed, "leader1", 809)
    stranger = await join(bot, seed, "leader2", 810)  # leader of another group
    await flow(bot, u, kinds=("宣讲政策",))
    bot.clock.advance(days=5)  # type: ignore[attr-defined]
    calls = await bot.send(stranger, "/visit_edit 1")
    assert "没有找到走访记录 #1" in shown(calls)[-1].text
    calls = await bot.send(leader, "/visit_edit 1")
    assert "修改走访记录 #1" in shown(calls)[-1].text
    await bot.tap(leader, "✏️ 工作内容")
    await bot.tap(leader, "兴办实事")
    await bot.tap(leader, "完成")
    calls = await bot.tap(leader, "保存修改")
    assert "修改已保存" in shown(calls)[-1].text
    kinds = {r["kind"] for r in await rows(db, "SELECT kind FROM visit_kinds")}
    assert kinds == {"policy", "service"}
    visit = (await rows(db, "SELECT cadre_id, visit_date FROM visits"))[0]
    assert visit["cadre_id"] == seed.cadres["cadre1"]  # still the cadre's visit
    assert visit["visit_date"] == "2026-11-16"  # its old date is kept, not re-checked
    audit = (await rows(db, "SELECT * FROM audit_log WHERE action = 'visit_edit'"))[0]
    assert audit["actor_cadre_id"] == seed.cadres["leader1"]


async def test_correction_loses_to_a_change_made_meanwhile(
    bot: Harness, seed: Seed, db: Database
) -> None:
    u = await join(bot, seed, "cadre1", 811)
    leader = await join(bot, seed, "leader1", 812)
    await flow(bot, u, text="原文")
    await bot.send(u, "/visit_edit 1")
    await bot.tap(u, "✏️ 做了什么")
    await bot.send(u, "队员的改法")
    bot.clock.advance(minutes=5)  # type: ignore[attr-defined]
    await bot.send(leader, "/visit_withdraw 1")
    await bot.tap(leader, "确定撤回")
    calls = await bot.tap(u, "保存修改")
    assert "已被他人更改或撤回" in texts(calls)
    visit = (await rows(db, "SELECT text, status FROM visits"))[0]
    assert (visit["text"], visit["status"]) == ("原文", "withdrawn")


async def test_withdraw_own_visit(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 813)
    await flow(bot, u)
    await bot.send(u, "/my")
    await bot.tap(u, "#1")
    calls = await bot.tap(u, "撤回")
    assert "确定撤回走访记录 #1 吗" in shown(calls)[-1].text
    calls = await bot.tap(u, "不撤回")
    assert "走访记录 #1" in shown(calls)[-1].text
    await bot.tap(u, "撤回")
    calls = await bot.tap(u, "确定撤回")
    assert "走访记录 #1 已撤回" in shown(calls)[-1].text
    visit = (await rows(db, "SELECT status FROM visits"))[0]
    assert visit["status"] == "withdrawn"
    audit = (await rows(db, "SELECT * FROM audit_log WHERE action = 'visit_withdraw'"))[0]
    assert json.loads(audit["before"]) == {"status": "active"}
    assert json.loads(audit["after"]) == {"status": "withdrawn"}
    # the old confirmation button again, and the command: nothing more happens
    await bot.send(u, "/visit_withdraw 1")
    assert await count(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'visit_withdraw'") == 1
    calls = await bot.send(u, "/my")
    assert "2026年11月：走访 0/8 次" in shown(calls)[-1].text
    calls = await flow(bot, u)  # the next visit is the first that counts this month
    assert "第 1 次走访" in shown(calls)[-1].text


async def test_withdraw_refused_after_the_window(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 814)
    await flow(bot, u)
    await bot.send(u, "/my")
    await bot.tap(u, "#1")
    bot.clock.advance(hours=30)  # type: ignore[attr-defined]
    calls = await bot.tap(u, "撤回")  # the card was shown while it was allowed
    assert "已超过 24 小时" in alerts(calls)[0]
    calls = await bot.send(u, "/my")
    calls = await bot.tap(u, "#1")
    assert shown(calls)[-1].buttons == []  # no more change buttons
    assert (await rows(db, "SELECT status FROM visits"))[0]["status"] == "active"


async def test_forged_log_buttons(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre4", 815)  # team T2, group G3
    other = await log_visit(
        db, seed.cadres["cadre1"], seed.places["c1"], date(2026, 11, 16), now=bot.clock()
    )
    for data in (
        f"vlog:v1:sh:{other}",
        f"vlog:v1:wy:{other}",
        f"vlog:v1:wd:{other}",
        "vlog:v1:zz:1",
        "vlog:v1:sh:x",
    ):
        calls = await bot.press(u, data)
        assert alerts(calls), data
    calls = await bot.press(u, f"vlog:v1:ed:{other}")
    assert "没有找到" in alerts(calls)[0]
    assert (await rows(db, "SELECT status FROM visits"))[0]["status"] == "active"
    assert await count(db, "SELECT COUNT(*) FROM drafts WHERE status = 'open'") == 0


async def test_team_leader_may_see_but_not_change(bot: Harness, seed: Seed, db: Database) -> None:
    captain = await join(bot, seed, "captain1", 816)
    visit = await log_visit(
        db, seed.cadres["cadre1"], seed.places["c1"], date(2026, 11, 16), now=bot.clock()
    )
    calls = await bot.press(captain, f"vlog:v1:sh:{visit}")
    card = shown(calls)[-1]
    # No edit or withdraw; a team leader may only check the visit (issue 15).
    assert f"走访记录 #{visit}" in card.text
    assert [data for _, data in card.buttons if not data.startswith("chk:")] == []


async def test_edit_while_another_draft_is_open(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 817)
    await flow(bot, u)
    await bot.send(u, "/visit")
    await bot.tap(u, "城南社区")
    calls = await bot.send(u, "/visit_edit 1")
    assert "请先提交，或发送 /cancel 放弃" in shown(calls)[-1].text
    draft = await open_draft(db, 817)
    assert draft is not None and draft.step == "kinds" and draft.data["edit_of"] is None


async def test_group_lists_far_visits_first_and_pages(
    bot: Harness, seed: Seed, db: Database
) -> None:
    leader = await join(bot, seed, "leader1", 818)
    now = bot.clock()
    ids = [
        await log_visit(
            db, seed.cadres["cadre1"], seed.places["c1"], date(2026, 11, 1 + n), now=now
        )
        for n in range(10)
    ]
    far = await log_visit(
        db, seed.cadres["cadre2"], seed.places["e1"], date(2026, 11, 2), now=now, far=True
    )
    await log_visit(db, seed.cadres["cadre3"], seed.places["v2"], date(2026, 11, 5), now=now)  # G2
    await log_visit(
        db, seed.cadres["cadre1"], seed.places["c1"], date(2026, 9, 1), now=now
    )  # too old
    calls = await bot.send(leader, "/group")
    text = shown(calls)[-1].text
    assert "城关一组 近 30 天的走访：共 11 条，其中定位偏远 1 条" in text
    lines = text.split("\n")
    assert lines[3].startswith(f"#{far} 11月2日 王芳") and "⚠️ 距地点 5.0 公里" in lines[3]
    assert lines[4].startswith(f"#{ids[-1]} 11月10日 张伟")
    assert "第 1/2 页" in text
    calls = await bot.tap(leader, "下一页")
    page2 = shown(calls)[-1]
    assert page2.method == "editMessageText" and "第 2/2 页" in page2.text
    assert f"#{ids[0]} 11月1日" in page2.text
    calls = await bot.tap(leader, f"#{ids[0]}")
    assert "作为组长，您可以修改或撤回" in shown(calls)[-1].text


async def test_group_is_for_group_leaders(bot: Harness, seed: Seed) -> None:
    u = await join(bot, seed, "cadre1", 819)
    calls = await bot.send(u, "/group")
    assert "只对工作组组长开放" in shown(calls)[-1].text
    leader = await join(bot, seed, "leader3", 820)
    calls = await bot.send(leader, "/group")
    assert "河口一组 近 30 天还没有走访记录" in shown(calls)[-1].text


async def test_card_of_a_voice_visit(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 821)
    await bot.send(u, "/visit")
    await bot.tap(u, "城南社区")
    await bot.tap(u, "宣讲政策")
    await bot.tap(u, "完成")
    await bot.tap(u, "今天")
    await bot.voice(u, "voice-card", duration=9)
    await bot.tap(u, "下一步")
    await bot.tap(u, "提交")
    await bot.send(u, "/my")
    calls = await bot.tap(u, "#1")
    assert "做了什么：（见语音）" in shown(calls)[-1].text
    assert "语音：🎤 有" in shown(calls)[-1].text
