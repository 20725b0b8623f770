"""Raising a problem: the steps, bad input, joining a duplicate, restart, double submit."""

from __future__ import annotations

import copy
import json

from storage.db import Database
from tests.conftest import AppFactory, join, user
from tests.factories import Seed
from tests.fakebot import Call, Harness, shown
from tests.problem_helpers import TEAM_CHAT, alert, buttons, last_text, outbox, raise_via_chat


async def _problem(db: Database, problem_id: int = 1) -> dict[str, object]:
    row = await db.fetchone("SELECT * FROM problems WHERE id = ?", (problem_id,))
    assert row is not None
    return dict(row)


async def test_full_flow_from_menu_button_to_receipt(
    bot: Harness, seed: Seed, db: Database
) -> None:
    leader = await join(bot, seed, "leader1", 611)
    u = await join(bot, seed, "cadre1", 601)
    calls = await bot.tap(u, "反映问题")  # the main-menu button under the greeting
    assert "问题在哪里" in last_text(calls)
    await bot.tap(u, "东风村")
    calls = await bot.tap(u, "基础设施")
    assert "描述问题" in last_text(calls)
    calls = await bot.send(u, "   ")
    assert "不能为空" in last_text(calls)
    calls = await bot.send(u, "长" * 1001)
    assert "1001" in last_text(calls) and "1000" in last_text(calls)
    calls = await bot.send(u, "村口\x00道路\u202e塌陷\t严重\x07")
    assert "现场照片" in last_text(calls)
    await bot.photo(u, file_id="a1", media_group_id="album9")
    calls = await bot.photo(u, file_id="a2", media_group_id="album9")
    assert shown(calls) == []  # one answer per album
    await bot.photo(u, file_id="a3", media_group_id="album9")
    await bot.photo(u, file_id="single")
    await bot.photo(u, file_id="single")  # the same picture twice is kept once
    calls = await bot.tap(u, "完成（已收到 4 张）")
    assert "紧急" in last_text(calls)
    await bot.tap(u, "紧急")
    calls = await bot.tap(u, "能，本组解决")
    summary = last_text(calls)
    assert "东风村" in summary and "基础设施" in summary and "4 张" in summary
    assert "工作组" in summary
    calls = await bot.tap(u, "提交")
    receipt = last_text(calls)
    # urgent: two days
    assert "P-1" in receipt and "工作组" in receipt and "11月18日 09:00" in receipt
    p = await _problem(db)
    assert p["description"] == "村口道路塌陷 严重"
    assert (p["level"], p["status"], p["urgent"]) == ("group", "open", 1)
    assert p["reporter_id"] == seed.cadres["cadre1"] and p["group_id"] == seed.groups["G1"]
    photos = await db.fetchall("SELECT file_id FROM problem_photos ORDER BY position")
    assert [r["file_id"] for r in photos] == ["a1", "a2", "a3", "single"]
    reporters = await db.fetchall("SELECT cadre_id FROM problem_reporters")
    assert [r["cadre_id"] for r in reporters] == [seed.cadres["cadre1"]]
    events = await db.fetchall("SELECT action, to_level, chat_id FROM problem_events")
    assert [tuple(r) for r in events] == [("raise", "group", 601)]
    draft = await db.fetchone("SELECT status, result_id FROM drafts WHERE kind = 'problem'")
    assert draft is not None and tuple(draft) == ("submitted", 1)
    # The group leader gets the photos and then the card privately, with action buttons.
    items = await outbox(db, leader.id)
    assert [i["method"] for i in items] == ["sendMessage", "sendMessage"]
    assert len(items[0]["payload"]["photos"]) == 4  # one album when sent (below)
    assert items[1]["card"] == f"problem:1:chat:{leader.id}"
    assert items[1]["urgent"] == 1
    assert "🔴 紧急 P-1" in items[1]["payload"]["text"]
    labels = [t for t, _ in buttons(items[1])]
    assert labels == ["🙋 认领", "📝 进展", "✅ 已解决", "💬 已解释", "⬆️ 上报"]
    assert all(d.endswith(":1:group") for _, d in buttons(items[1]))


async def test_team_level_card_goes_to_team_chat(bot: Harness, seed: Seed, db: Database) -> None:
    captain = await join(bot, seed, "captain1", 621)
    await bot.send(captain, "/bindteam", chat_id=TEAM_CHAT)
    u = await join(bot, seed, "cadre1", 601)
    await raise_via_chat(bot, u, photos=1, solvable=False)
    p = await _problem(db)
    assert p["level"] == "team"
    assert p["deadline"] == "2026-12-01T01:00:00+00:00"  # 15 days
    items = await outbox(db, TEAM_CHAT)
    assert [i["method"] for i in items] == ["sendMessage", "sendMessage"]
    assert items[0]["payload"]["photos"] == ["ph0"]
    text = items[1]["payload"]["text"]
    for part in ("P-1", "基础设施", "东风村（村）", "城关一组", "张伟", "村口道路塌陷", "1 张"):
        assert part in text, part
    assert "工作队" in text and "待认领" in text and "还剩 15 天" in text
    assert [d for _, d in buttons(items[1])][0] == "prb:v1:claim:1:team"
    assert await outbox(db, captain.id) == []  # the chat has it; no private copy


async def test_search_by_typing_and_households(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 601)
    await bot.send(u, "/problem")
    calls = await bot.send(u, "不存在的地方")
    assert "没有找到" in last_text(calls)
    calls = await bot.send(u, "建材")
    assert [t for t, _ in shown(calls)[-1].buttons][0] == "城关建材厂"
    calls = await bot.send(u, "红旗村")  # another group's village is not offered
    assert "没有找到" in last_text(calls)
    calls = await bot.tap(u, "东风村的农户")
    assert "农户" in last_text(calls)
    calls = await bot.tap(u, "张大爷家")
    assert "哪一类" in last_text(calls)
    await bot.tap(u, "民生保障")
    await bot.send(u, "老人独居，冬季取暖困难。")
    await bot.tap(u, "跳过")
    await bot.tap(u, "一般")
    calls = await bot.tap(u, "不能，报工作队")
    assert "东风村·张大爷家" in last_text(calls)
    await bot.tap(u, "提交")
    p = await _problem(db)
    assert p["place_id"] == seed.places["h1"] and p["category"] == "livelihood"


async def test_forged_place_of_another_group_is_refused(
    bot: Harness, seed: Seed, db: Database
) -> None:
    u = await join(bot, seed, "cadre1", 601)
    await bot.send(u, "/problem")
    draft = await db.fetchone("SELECT id FROM drafts WHERE kind = 'problem'")
    assert draft is not None
    calls = await bot.press(u, f"prn:v1:place:{draft['id']}:{seed.places['v3']}")
    assert "不在您所在工作组" in last_text(calls)
    row = await db.fetchone("SELECT step, data FROM drafts WHERE id = ?", (draft["id"],))
    assert row is not None and row["step"] == "place"
    assert json.loads(row["data"])["place_id"] is None
    # A button of the right shape but for a draft that is not open: refused with an alert.
    calls = await bot.press(u, f"prn:v1:place:{draft['id'] + 5}:{seed.places['v1']}")
    assert "已失效" in alert(calls)
    calls = await bot.press(u, f"prn:v1:cat:{draft['id']}:infrastructure")  # not this step
    assert "前面步骤" in alert(calls)


async def test_joining_a_duplicate_instead_of_raising_again(
    bot: Harness, seed: Seed, db: Database
) -> None:
    captain = await join(bot, seed, "captain1", 621)
    await bot.send(captain, "/bindteam", chat_id=TEAM_CHAT)
    first = await join(bot, seed, "cadre1", 601)
    await raise_via_chat(bot, first)
    second = await join(bot, seed, "cadre2", 602)
    await bot.send(second, "/problem")
    calls = await bot.tap(second, "东风村")
    text = last_text(calls)
    assert "已有以下未办结的问题" in text and "P-1" in text and "张伟" in text
    calls = await bot.tap(second, "加入 P-1")
    assert "已加入 P-1" in last_text(calls)
    assert (await db.fetchone("SELECT COUNT(*) AS n FROM problems"))["n"] == 1  # type: ignore[index]
    rows = await db.fetchall("SELECT cadre_id FROM problem_reporters ORDER BY cadre_id")
    assert [r["cadre_id"] for r in rows] == [seed.cadres["cadre1"], seed.cadres["cadre2"]]
    ev = await db.fetchone("SELECT action, actor_id FROM problem_events ORDER BY id DESC")
    assert ev is not None and tuple(ev) == ("join", seed.cadres["cadre2"])
    # The team card is edited to count the second reporter.
    edits = [i for i in await outbox(db, TEAM_CHAT) if i["method"] == "editMessageText"]
    assert "张伟 等 1 人也反映了" in edits[-1]["payload"]["text"]
    # The first reporter sees no join button for a problem that is theirs.
    await bot.send(first, "/problem")
    calls = await bot.tap(first, "东风村")
    assert "（您已反映）" in last_text(calls)
    assert not any("加入" in t for t, _ in shown(calls)[-1].buttons)


async def test_double_submit_and_redelivered_update_make_one_record(
    bot: Harness, seed: Seed, db: Database
) -> None:
    u = await join(bot, seed, "cadre1", 601)
    await raise_via_chat(bot, u, submit=False)
    summary = max(
        (m for m in bot.api.messages.values() if m.chat_id == u.id and m.reply_markup),
        key=lambda m: m.message_id,
    )
    submit = next(
        b["callback_data"]
        for row in summary.reply_markup["inline_keyboard"]
        for b in row
        if "提交" in b["text"]
    )
    update = bot.callback_update(u, submit, summary)
    await bot.process(update)
    assert await bot.process(update) == []  # the same update again: ignored
    calls = await bot.press(u, submit, summary)  # a second press of Submit
    assert "已经提交过了（P-1）" in alert(calls)
    assert (await db.fetchone("SELECT COUNT(*) AS n FROM problems"))["n"] == 1  # type: ignore[index]


async def test_draft_survives_restart(make_bot: AppFactory, seed: Seed, db: Database) -> None:
    bot = await make_bot()
    u = await join(bot, seed, "cadre1", 601)
    await bot.send(u, "/problem")
    await bot.tap(u, "东风村")
    await bot.tap(u, "产业发展与增收")
    restarted = await make_bot()
    calls = await restarted.send(u, "茶叶滞销，需要对接销售渠道。")
    assert "现场照片" in last_text(calls)
    await restarted.tap(u, "跳过")
    await restarted.tap(u, "一般")
    await restarted.tap(u, "不能，报工作队")
    calls = await restarted.tap(u, "提交")
    assert "P-1" in last_text(calls)
    p = await _problem(db)
    assert p["category"] == "industry" and p["description"] == "茶叶滞销，需要对接销售渠道。"


async def test_change_a_field_from_the_summary(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 601)
    await raise_via_chat(bot, u, submit=False)
    await bot.tap(u, "修改")
    calls = await bot.tap(u, "类别")
    assert "哪一类" in last_text(calls)
    calls = await bot.tap(u, "土地与资源")
    assert "请核对" in last_text(calls) and "土地与资源" in last_text(calls)
    await bot.tap(u, "修改")
    await bot.tap(u, "描述")
    calls = await bot.send(u, "耕地被占用。")
    assert "耕地被占用" in last_text(calls)
    await bot.tap(u, "提交")
    p = await _problem(db)
    assert (p["category"], p["description"]) == ("land", "耕地被占用。")


async def test_cancel_and_unexpected_input(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 601)
    await bot.send(u, "/problem")
    await bot.tap(u, "东风村")
    calls = await bot.send(u, "我想随便说点什么")  # the category step wants a button
    assert "请按提示操作" in last_text(calls)
    calls = await bot.photo(u)
    assert "请按提示操作" in last_text(calls)
    await bot.tap(u, "其他")
    calls = await bot.photo(u)  # a photo where the description is asked
    assert "文字描述" in last_text(calls)
    calls = await bot.send(u, "/cancel")
    assert "已取消" in last_text(calls)
    assert await db.fetchone("SELECT 1 FROM problems") is None
    row = await db.fetchone("SELECT status FROM drafts WHERE kind = 'problem'")
    assert row is not None and row["status"] == "cancelled"
    calls = await bot.send(u, "还有话说")
    assert "没看懂" in last_text(calls)  # the flow is over: the fallback answers


async def test_who_may_raise(bot: Harness, seed: Seed, db: Database) -> None:
    office = await join(bot, seed, "office1", 631)
    calls = await bot.send(office, "/problem")
    assert "只有工作队、工作组的干部" in last_text(calls)
    calls = await bot.send(user(999), "/problem")
    assert "还没有加入" in last_text(calls)
    captain = await join(bot, seed, "captain1", 621)
    await bot.send(captain, "/problem")
    calls = await bot.send(captain, "红旗")  # a team leader may pick any place of the team
    assert any("红旗村" in t for t, _ in shown(calls)[-1].buttons)
    await bot.tap(captain, "红旗村")
    await bot.tap(captain, "其他")
    await bot.send(captain, "村两委需要调整。")
    await bot.tap(captain, "跳过")
    calls = await bot.tap(captain, "一般")
    assert "请核对" in last_text(calls)  # no "can our group solve it" without a group
    await bot.tap(captain, "提交")
    p = await _problem(db)
    assert (p["level"], p["group_id"]) == ("team", seed.groups["G2"])


async def test_english_user_raises_in_english(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 601, lang="en")
    calls = await bot.send(u, "/problem")
    assert "Where is the problem" in last_text(calls)
    await bot.tap(u, "东风村")
    calls = await bot.tap(u, "Infrastructure")
    assert "Describe the problem" in last_text(calls)
    await bot.send(u, "The bridge is cracked.")
    await bot.tap(u, "Skip")
    await bot.tap(u, "Not urgent")
    calls = await bot.tap(u, "No, send to the team")
    assert "Please check" in last_text(calls) and "work team" in last_text(calls)
    calls = await bot.tap(u, "Submit")
    assert "Submitted as problem P-1" in last_text(calls)
    lang = await db.fetchone("SELECT lang FROM user_prefs WHERE telegram_user_id = 601")
    assert lang is not None and lang["lang"] == "en"  # notices later come in English too


async def test_an_earlier_steps_button_asks_the_current_question_again(
    bot: Harness, seed: Seed
) -> None:
    """Killed after the category was saved but before the description question reached
    the cadre: the category press comes again and the question is asked again."""
    u = await join(bot, seed, "cadre1", 611)
    await bot.send(u, "/problem")
    await bot.tap(u, "东风村")
    # The category question as a client that missed the next edit still shows it.
    category = copy.deepcopy(bot.api.messages[max(k for k in bot.api.messages if k[0] == u.id)])
    await bot.tap(u, "基础设施")
    data = next(
        d
        for label, d in Call("x", {"reply_markup": category.reply_markup}).buttons
        if "基础设施" in label
    )
    calls = await bot.press(u, data, category)
    assert "前面步骤" in alert(calls)
    assert "请用文字描述问题" in last_text(calls)
    # The old message itself is turned into the current question, not a new one.
    assert [c.method for c in shown(calls)] == ["editMessageText"]
    assert shown(calls)[0].params["message_id"] == category.message_id


async def test_buttons_edit_the_flow_message_in_place(bot: Harness, seed: Seed) -> None:
    """One message carries the report's questions while the cadre presses buttons; only
    typed input (which cannot be edited) brings the next question as a new message."""
    u = await join(bot, seed, "cadre1", 601)
    calls = await bot.send(u, "/problem")
    first = [c for c in shown(calls) if c.method == "sendMessage"]
    assert len(first) == 1
    for label in ("东风村", "基础设施"):
        calls = await bot.tap(u, label)
        assert [c.method for c in shown(calls)] == ["editMessageText"], label
    flow_message = shown(calls)[0].params["message_id"]
    assert "描述问题" in bot.api.messages[(u.id, flow_message)].text
    calls = await bot.send(u, "村口道路塌陷。")
    assert [c.method for c in shown(calls)] == ["sendMessage"]  # after typed text
    calls = await bot.tap(u, "跳过")
    assert [c.method for c in shown(calls)] == ["editMessageText"]
    assert "紧急" in last_text(calls)
