"""Never lose, never double: restarts, redelivered updates, double submits, stale,
forged and other people's buttons, /cancel, other commands mid-flow, idle drafts."""

from __future__ import annotations

from typing import Any

from storage.db import Database
from tests.conftest import join, user
from tests.factories import Seed
from tests.fakebot import Harness, shown
from tests.visits_support import (
    alerts,
    answer_once,  # noqa: F401  (autouse fixture)
    count,
    flow,
    markup_json,
    open_draft,
    restart,
    texts,
)


async def _to_kinds(bot: Harness, u: Any) -> None:
    await bot.send(u, "/visit")
    await bot.tap(u, "城南社区")
    await bot.tap(u, "宣讲政策")


async def test_restart_continues_the_draft_at_the_same_step(
    make_bot: Any, seed: Seed, db: Database
) -> None:
    bot = await make_bot()
    u = await join(bot, seed, "cadre1", 701)
    await _to_kinds(bot, u)
    bot2 = await restart(make_bot, bot)  # a new Application on the same database
    calls = await bot2.tap(u, "完成")
    assert "哪天走访" in shown(calls)[-1].text
    await bot2.tap(u, "今天")
    bot3 = await restart(make_bot, bot2)
    calls = await bot3.send(u, "重启后继续写的内容")  # text goes to the text step
    assert "第 5 步" in texts(calls)
    await bot3.tap(u, "下一步")
    calls = await bot3.tap(u, "提交")
    assert "#1" in shown(calls)[-1].text
    assert await count(db, "SELECT COUNT(*) FROM visits WHERE text = '重启后继续写的内容'") == 1
    kinds = await count(db, "SELECT COUNT(*) FROM visit_kinds WHERE kind = 'policy'")
    assert kinds == 1


async def test_restart_at_the_summary_keeps_everything(
    make_bot: Any, seed: Seed, db: Database
) -> None:
    bot = await make_bot()
    u = await join(bot, seed, "cadre1", 702)
    await flow(bot, u, submit=False)
    await bot.photo(u, "before-restart")
    bot2 = await restart(make_bot, bot)
    calls = await bot2.send(u, "/visit")  # not idle: shows where the cadre was
    assert "继续填写您的走访记录" in shown(calls)[-1].text and "照片：1 张" in shown(calls)[-1].text
    await bot2.tap(u, "提交")
    assert (
        await count(db, "SELECT COUNT(*) FROM visit_photos WHERE file_id = 'before-restart'") == 1
    )


async def test_the_same_update_twice_changes_once(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 703)
    await bot.send(u, "/visit")
    await bot.tap(u, "城南社区")
    draft = await open_draft(db, 703)
    assert draft is not None
    toggle = bot.callback_update(u, f"vis:v1:k:{draft.id}:survey:1")
    await bot.process(toggle)
    again = await bot.process(toggle)
    assert again == []  # the redelivered update is not handled at all
    await bot.tap(u, "完成")
    await bot.tap(u, "今天")
    text = bot.text_update(u, "重复投递的内容")
    await bot.process(text)
    await bot.process(text)
    await bot.tap(u, "下一步")
    draft = await open_draft(db, 703)
    assert draft is not None
    submit = bot.callback_update(u, f"vis:v1:ok:{draft.id}")
    await bot.process(submit)
    assert await bot.process(submit) == []
    assert await count(db, "SELECT COUNT(*) FROM visits") == 1
    assert await count(db, "SELECT COUNT(*) FROM visit_kinds") == 1


async def test_submit_pressed_twice_makes_one_visit(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 704)
    await flow(bot, u, submit=False)
    draft = await open_draft(db, 704)
    assert draft is not None
    card = [m for m in bot.api.messages.values() if m.chat_id == 704 and "请核对" in m.text][-1]
    await bot.press(u, f"vis:v1:ok:{draft.id}", card)
    calls = await bot.press(u, f"vis:v1:ok:{draft.id}", card)  # a second tap, a new update
    assert alerts(calls) == ["这条走访已经提交过了（#1），不会重复记录。"]
    assert await count(db, "SELECT COUNT(*) FROM visits") == 1
    # after the conversation ended, the button is answered the same way
    calls = await bot.press(u, f"vis:v1:ok:{draft.id}")
    assert alerts(calls) == ["这条走访已经提交过了（#1），不会重复记录。"]


async def test_buttons_of_a_cancelled_draft_are_closed(
    bot: Harness, seed: Seed, db: Database
) -> None:
    u = await join(bot, seed, "cadre1", 705)
    await _to_kinds(bot, u)
    old = await open_draft(db, 705)
    assert old is not None
    calls = await bot.send(u, "/cancel")
    assert "已取消" in shown(calls)[-1].text
    assert "remove_keyboard" in markup_json(shown(calls)[-1])
    calls = await bot.press(u, f"vis:v1:kd:{old.id}")
    assert alerts(calls) == ["这份草稿已关闭，按钮不再有效。"]
    # a new draft: the old one's buttons still change nothing
    await bot.send(u, "/visit")
    calls = await bot.press(u, f"vis:v1:k:{old.id}:party:1")
    assert alerts(calls) == ["这份草稿已关闭，按钮不再有效。"]
    new = await open_draft(db, 705)
    assert new is not None and new.id != old.id and new.data["kinds"] == []
    statuses = await db.fetchall("SELECT status FROM drafts ORDER BY id")
    assert [r["status"] for r in statuses] == ["cancelled", "open"]


async def test_cancel_button_ends_the_flow(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 706)
    await _to_kinds(bot, u)
    calls = await bot.tap(u, "取消")
    assert "❌ 已取消" in texts(calls) and "这份走访草稿已放弃" in texts(calls)
    assert await open_draft(db, 706) is None
    calls = await bot.send(u, "随便说点什么")  # the conversation is over
    assert "没看懂" in shown(calls)[-1].text


async def test_forged_buttons_change_nothing(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 707)
    await bot.send(u, "/visit")
    draft = await open_draft(db, 707)
    assert draft is not None
    other_group_place = seed.places["v3"]
    calls = await bot.press(u, f"vis:v1:pl:{draft.id}:{other_group_place}")
    assert alerts(calls) == ["这个地点已不在您的工作范围内，请重新选择。"]
    for data in (
        f"vis:v1:pl:{draft.id}:abc",
        "vis:v1:pl",
        f"vis:v9:pl:{draft.id}:1",
        "vis:v1:ok:-1",
    ):
        calls = await bot.press(u, data)
        assert alerts(calls), data
    await bot.tap(u, "城南社区")
    calls = await bot.press(u, f"vis:v1:k:{draft.id}:bribery:1")
    assert alerts(calls) == ["这个按钮已失效，请重新打开菜单（/start）。"]
    calls = await bot.press(u, f"vis:v1:ok:{draft.id}")  # Submit from a step not reached
    assert alerts(calls) == ["这个按钮属于前面的步骤，请使用最新一条消息上的按钮。"]
    after = await open_draft(db, 707)
    assert after is not None and after.step == "kinds" and after.data["kinds"] == []
    assert after.data["place"]["id"] == seed.places["c1"]
    assert await count(db, "SELECT COUNT(*) FROM visits") == 0


async def test_another_users_button_changes_nothing(bot: Harness, seed: Seed, db: Database) -> None:
    a = await join(bot, seed, "cadre1", 708)
    b = await join(bot, seed, "cadre2", 709)
    await flow(bot, a, submit=False)
    draft_a = await open_draft(db, 708)
    assert draft_a is not None
    calls = await bot.press(b, f"vis:v1:ok:{draft_a.id}")  # b has no flow going
    assert alerts(calls) == ["这份草稿已关闭，按钮不再有效。"]
    await bot.send(b, "/visit")
    calls = await bot.press(b, f"vis:v1:ok:{draft_a.id}")  # b in a flow of their own
    assert alerts(calls) == ["这份草稿已关闭，按钮不再有效。"]
    assert await count(db, "SELECT COUNT(*) FROM visits") == 0
    still = await open_draft(db, 708)
    assert still is not None and still.step == "summary"


async def test_other_command_mid_flow_asks_keep_or_drop(
    bot: Harness, seed: Seed, db: Database
) -> None:
    u = await join(bot, seed, "cadre1", 710)
    await _to_kinds(bot, u)
    calls = await bot.send(u, "/problem")  # another feature's command, unknown here
    ask = shown(calls)[-1]
    assert "要放弃这份草稿去执行 /problem 吗" in ask.text
    assert [label for label, _ in ask.buttons] == ["▶️ 继续填写", "🗑 放弃草稿"]
    calls = await bot.send(u, "嗯？")
    assert "请点上方按钮：继续填写，或放弃草稿" in shown(calls)[-1].text
    calls = await bot.tap(u, "继续填写")
    assert "哪些工作" in shown(calls)[-1].text and "✅ 宣讲政策" in str(shown(calls)[-1].buttons)
    draft = await open_draft(db, 710)
    assert draft is not None and draft.step == "kinds" and draft.data["command"] is None

    await bot.send(u, "/start")
    calls = await bot.tap(u, "放弃草稿")
    assert "已放弃草稿。请重新发送 /start。" in texts(calls)
    assert await open_draft(db, 710) is None
    calls = await bot.send(u, "/start")  # now it runs
    assert "张伟，您好" in shown(calls)[-1].text


async def test_my_mid_flow_runs_after_dropping(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 711)
    await _to_kinds(bot, u)
    await bot.send(u, "/my")
    calls = await bot.tap(u, "放弃草稿")
    assert "已放弃草稿。" in texts(calls) and "张伟 的走访" in texts(calls)


async def test_visit_again_mid_flow_shows_where_you_are(
    bot: Harness, seed: Seed, db: Database
) -> None:
    u = await join(bot, seed, "cadre1", 712)
    await _to_kinds(bot, u)
    calls = await bot.send(u, "/visit")
    assert "继续填写您的走访记录" in shown(calls)[-1].text and "哪些工作" in shown(calls)[-1].text
    assert await count(db, "SELECT COUNT(*) FROM drafts") == 1


async def test_idle_draft_is_offered_not_dropped(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 713)
    await _to_kinds(bot, u)
    bot.clock.advance(hours=13)  # type: ignore[attr-defined]
    calls = await bot.tap(u, "记走访")
    offer = shown(calls)[-1]
    assert "您有一份 11月16日 09:00 开始填写的走访草稿还没提交" in offer.text
    assert "城南社区" in offer.text and "第 2 步" in offer.text
    calls = await bot.tap(u, "继续填写")
    assert "哪些工作" in shown(calls)[-1].text and "✅ 宣讲政策" in str(shown(calls)[-1].buttons)

    bot.clock.advance(hours=13)  # type: ignore[attr-defined]
    await bot.send(u, "/visit")
    calls = await bot.tap(u, "重新开始")
    assert "在哪里走访" in shown(calls)[-1].text
    statuses = await db.fetchall("SELECT status FROM drafts ORDER BY id")
    assert [r["status"] for r in statuses] == ["cancelled", "open"]


async def test_idle_draft_after_a_restart(make_bot: Any, seed: Seed, db: Database) -> None:
    bot = await make_bot()
    u = await join(bot, seed, "cadre1", 714)
    await _to_kinds(bot, u)
    bot.clock.advance(hours=20)
    bot2 = await restart(make_bot, bot)
    calls = await bot2.send(u, "/visit")
    assert "还没提交" in shown(calls)[-1].text
    calls = await bot2.tap(u, "继续填写")
    assert "哪些工作" in shown(calls)[-1].text


async def test_unexpected_input_gets_an_answer(bot: Harness, seed: Seed, db: Database) -> None:
    u = await join(bot, seed, "cadre1", 715)
    await bot.send(u, "/visit")
    sticker = {
        "file_id": "st",
        "file_unique_id": "stu",
        "width": 1,
        "height": 1,
        "is_animated": False,
        "is_video": False,
        "type": "regular",
    }
    calls = await bot.process(bot.message_update(u, sticker=sticker))
    assert (
        "这一步需要的不是这种消息" in shown(calls)[-1].text
        and "在哪里走访" in shown(calls)[-1].text
    )
    await bot.tap(u, "城南社区")
    edited = bot.text_update(u, "改过的消息")
    edited["edited_message"] = edited.pop("message")
    edited["edited_message"]["edit_date"] = edited["edited_message"]["date"]
    assert shown(await bot.process(edited)) == []
    draft = await open_draft(db, 715)
    assert draft is not None and draft.step == "kinds"


async def test_a_removed_cadre_loses_the_draft_cleanly(
    bot: Harness, seed: Seed, db: Database
) -> None:
    u = await join(bot, seed, "cadre1", 716)
    await _to_kinds(bot, u)
    async with db.write() as conn:
        await conn.execute("UPDATE cadres SET active = 0 WHERE id = ?", (seed.cadres["cadre1"],))
    calls = await bot.tap(u, "完成")
    assert "/start" in texts(calls) and alerts(calls)  # told how to join again
    assert await open_draft(db, 716) is None


async def test_stranger_pressing_a_flow_button(bot: Harness, seed: Seed, db: Database) -> None:
    calls = await bot.press(user(717), "vis:v1:kd:1")
    assert alerts(calls)


async def test_a_press_handled_again_after_a_lost_edit_shows_the_current_step(
    bot: Harness, seed: Seed, db: Database
) -> None:
    """A crash after the place press was saved but before the edit showing step 2 went
    out: Telegram delivers the press again, on a message still showing step 1. The cadre
    is told, and the message turns into step 2, so its buttons work again."""
    u = await join(bot, seed, "cadre1", 611)
    calls = await bot.send(u, "/visit")
    step1 = shown(calls)[-1]
    data = next(d for label, d in step1.buttons if "城南社区" in label)
    message = max(
        (m for m in bot.api.messages.values() if m.chat_id == 611), key=lambda m: m.message_id
    )
    text, markup = message.text, message.reply_markup
    await bot.tap(u, "城南社区")
    # The edit is lost: the chat still shows step 1 with its place buttons.
    message.text, message.reply_markup = text, markup
    calls = await bot.press(u, data, message)
    assert "前面的步骤" in texts(calls)
    assert "这次走访做了哪些工作" in shown(calls)[-1].text
    await bot.tap(u, "宣讲政策")
    calls = await bot.tap(u, "完成")
    assert "哪天走访" in texts(calls)
    draft = await open_draft(db, 611)
    assert draft is not None and draft.step == "date"


async def test_stray_text_at_the_extras_step_shows_the_step_again(bot: Harness, seed: Seed) -> None:
    """After a crash the extras step's message may never have reached the cadre; text
    that is not a head count brings the step back with its Next button."""
    u = await join(bot, seed, "cadre1", 731)
    await bot.send(u, "/visit")
    await bot.tap(u, "城关建材厂")
    await bot.tap(u, "服务企业")
    await bot.tap(u, "完成")
    await bot.tap(u, "今天")
    await bot.send(u, "帮企业对接了用工需求。")
    calls = await bot.send(u, "这是又一段文字")
    last = shown(calls)[-1]
    assert any("下一步" in label for label, _ in last.buttons)
    calls = await bot.tap(u, "下一步")
    assert "提交" in str([b for c in shown(calls) for b in c.buttons])
