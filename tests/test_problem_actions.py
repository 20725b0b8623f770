"""Owner actions on problem cards: claim, note, solve, explain, send up, hand down, hand to
a department; authorisation refusals; stale, repeated and forged presses; the private
dialog (restart, never-started presser, cancel)."""

from __future__ import annotations

import copy

import pytest

from campaign.i18n import default_catalog
from storage import drafts
from storage.db import Database
from tests.conftest import AppFactory, join, user
from tests.factories import Seed
from tests.fakebot import Harness, StoredMessage, TgUser
from tests.problem_helpers import (
    OFFICE_CHAT,
    TEAM_CHAT,
    alert,
    buttons,
    card,
    data_of,
    deliver,
    last_text,
    outbox,
    press_card,
    raise_via_chat,
)


async def _status(db: Database, problem_id: int = 1) -> tuple[str, str, int | None]:
    row = await db.fetchone(
        "SELECT level, status, owner_id FROM problems WHERE id = ?", (problem_id,)
    )
    assert row is not None
    return row["level"], row["status"], row["owner_id"]


async def _events(db: Database) -> list[tuple[object, ...]]:
    rows = await db.fetchall(
        "SELECT action, actor_id, chat_id, note FROM problem_events ORDER BY id"
    )
    return [tuple(r) for r in rows]


class World:
    """A team-level problem P-1 with its card delivered to the bound team chat."""

    def __init__(self, bot: Harness, seed: Seed, db: Database) -> None:
        self.bot, self.seed, self.db = bot, seed, db

    async def setup(self, *, office_chat: bool = True) -> World:
        bot, seed = self.bot, self.seed
        self.captain = await join(bot, seed, "captain1", 621)
        self.deputy = await join(bot, seed, "deputy1", 622)
        self.captain2 = await join(bot, seed, "captain2", 623)
        self.office = await join(bot, seed, "office1", 631)
        self.leader = await join(bot, seed, "leader1", 611)
        self.reporter = await join(bot, seed, "cadre1", 601)
        self.other = await join(bot, seed, "cadre3", 603)
        await bot.send(self.captain, "/bindteam", chat_id=TEAM_CHAT)
        if office_chat:
            await bot.send(self.office, "/bindoffice", chat_id=OFFICE_CHAT)
        await raise_via_chat(bot, self.reporter, solvable=False)
        await deliver(bot, self.db)
        return self

    async def press(self, who: TgUser, label: str, chat: int = TEAM_CHAT) -> list:  # type: ignore[type-arg]
        return await press_card(self.bot, self.db, who, 1, chat, label)

    async def dialog(self, who: TgUser, label: str, *answers: str, chat: int = TEAM_CHAT) -> str:
        """Press a card button that asks for words, answer in private; the last reply."""
        calls = await self.press(who, label, chat)
        assert "私聊" in alert(calls) or chat == who.id
        text = last_text(calls)
        for answer in answers:
            text = last_text(await self.bot.send(who, answer))
        return text


async def test_claim_from_team_chat_edits_card_and_tells_reporter(
    bot: Harness, seed: Seed, db: Database
) -> None:
    w = await World(bot, seed, db).setup()
    calls = await w.press(w.captain, "认领")
    assert "已认领 P-1" in alert(calls)
    assert await _status(db) == ("team", "claimed", seed.cadres["captain1"])
    assert (await _events(db))[-1] == ("claim", seed.cadres["captain1"], TEAM_CHAT, "")
    await deliver(bot, db)
    shown_card = await card(bot, db, 1, TEAM_CHAT)
    assert "办理中（黄海）" in shown_card.text and "黄海：认领办理" in shown_card.text
    labels = [b["text"] for row in shown_card.reply_markup["inline_keyboard"] for b in row]
    assert "🙋 认领" not in labels and "✅ 已解决" in labels
    notices = [i for i in await outbox(db, w.reporter.id) if ":notice:" in i["key"]]
    assert "已由 黄海 认领办理" in notices[0]["payload"]["text"]


async def test_second_claim_says_who_took_it(bot: Harness, seed: Seed, db: Database) -> None:
    w = await World(bot, seed, db).setup()
    old = await card(bot, db, 1, TEAM_CHAT)
    claim = data_of(old, "认领")
    await bot.press(w.captain, claim, old)
    before = await _events(db)
    calls = await bot.press(w.deputy, claim, old)  # the deputy presses the old card
    assert "已被认领" in alert(calls) and "黄海" in alert(calls)
    calls = await bot.press(w.captain, claim, old)  # and the captain presses again
    assert "已被认领" in alert(calls)
    assert await _events(db) == before
    assert await _status(db) == ("team", "claimed", seed.cadres["captain1"])


async def test_who_may_not_act_on_a_team_card(bot: Harness, seed: Seed, db: Database) -> None:
    w = await World(bot, seed, db).setup()
    message = await card(bot, db, 1, TEAM_CHAT)
    before = await _events(db)
    outbox_before = len(await outbox(db))
    for who, expected in (
        (w.reporter, "只有城关镇工作队的队长、副队长"),
        (w.other, "只有城关镇工作队的队长、副队长"),
        (w.leader, "只有城关镇工作队的队长、副队长"),
        (w.captain2, "找不到这个问题"),  # another team's leader: told no more than that
        (w.office, "只有城关镇工作队的队长、副队长"),
        (user(999), "私聊"),  # a stranger in the chat: not joined
    ):
        for label in ("认领", "已解决", "上报"):
            calls = await bot.press(who, data_of(message, label), message)
            assert expected in alert(calls), (who.id, label, alert(calls))
            if who is w.captain2:
                assert "城关" not in alert(calls)
    assert await _events(db) == before
    assert len(await outbox(db)) == outbox_before
    assert await db.fetchone("SELECT 1 FROM drafts WHERE kind = 'problem_action'") is None


async def test_solve_through_private_dialog(bot: Harness, seed: Seed, db: Database) -> None:
    w = await World(bot, seed, db).setup()
    calls = await w.press(w.deputy, "已解决")
    assert "私聊" in alert(calls)
    prompt = [c for c in calls if c.method == "sendMessage"][-1]
    assert prompt.chat_id == w.deputy.id and "P-1" in prompt.text and "做了什么" in prompt.text
    calls = await bot.send(w.deputy, "   ")
    assert "不能为空" in last_text(calls)
    calls = await bot.send(w.deputy, "已协调交通局修复路面。")
    assert "P-1 已标记为已解决" in last_text(calls)
    row = await db.fetchone("SELECT status, resolution, owner_id, closed_at FROM problems")
    assert row is not None
    assert (row["status"], row["resolution"]) == ("solved", "已协调交通局修复路面。")
    assert row["owner_id"] == seed.cadres["deputy1"] and row["closed_at"]
    # The event says who, from which chat.
    assert (await _events(db))[-1] == (
        "solve",
        seed.cadres["deputy1"],
        TEAM_CHAT,
        "已协调交通局修复路面。",
    )
    await deliver(bot, db)
    shown_card = await card(bot, db, 1, TEAM_CHAT)
    assert "已解决" in shown_card.text and "已协调交通局修复路面" in shown_card.text
    assert not shown_card.reply_markup  # a closed problem has no buttons
    notice = [i for i in await outbox(db, w.reporter.id) if ":notice:" in i["key"]][-1]
    assert "已解决" in notice["payload"]["text"] and "已协调交通局" in notice["payload"]["text"]
    # A press on the old card (kept by a client that did not refresh) says what happened.
    old = StoredMessage(TEAM_CHAT, shown_card.message_id, "old text", None)
    stale = await bot.press(w.captain, "prb:v1:claim:1:team", old)
    assert "已办结" in alert(stale) and "周丽" in alert(stale)


async def test_explain_keeps_it_on_watch_list(bot: Harness, seed: Seed, db: Database) -> None:
    w = await World(bot, seed, db).setup()
    await w.dialog(w.captain, "已解释", "资金不足，列入明年计划。")
    calls = await bot.send(w.captain, "x" * 101)  # who told the people: at most 100
    assert "超过了 100 字" in last_text(calls)
    calls = await bot.send(w.captain, "村支书李明")
    assert "哪天" in last_text(calls)
    calls = await bot.send(w.captain, "2026-12-31")  # not in the future
    assert "没看懂这个日期" in last_text(calls)
    calls = await bot.tap(w.captain, "昨天")
    assert "已标记为已解释" in last_text(calls)
    row = await db.fetchone("SELECT * FROM problems")
    assert row is not None
    assert (row["status"], row["watch"]) == ("explained", 1)
    assert row["resolution"] == "资金不足，列入明年计划。"
    assert (row["explained_by"], row["explained_on"]) == ("村支书李明", "2026-11-15")
    notice = [i for i in await outbox(db, w.reporter.id) if ":notice:" in i["key"]][-1]
    assert "村支书李明" in notice["payload"]["text"] and "2026-11-15" in notice["payload"]["text"]


async def test_explain_with_typed_date(bot: Harness, seed: Seed, db: Database) -> None:
    w = await World(bot, seed, db).setup()
    text = await w.dialog(w.captain, "已解释", "政策不允许。", "队长黄海", "11月10日")
    assert "已解释" in text
    row = await db.fetchone("SELECT explained_on FROM problems")
    assert row is not None and row["explained_on"] == "2026-11-10"


@pytest.mark.parametrize(("typed", "day"), [("今天", "2026-11-16"), ("昨天", "2026-11-15")])
async def test_explain_with_typed_today_or_yesterday(
    bot: Harness, seed: Seed, db: Database, typed: str, day: str
) -> None:
    """Issue 13: 今天 / 昨天 typed (not tapped) where the day is asked are read as dates."""
    cat = default_catalog()
    w = await World(bot, seed, db).setup()
    text = await w.dialog(w.captain, "已解释", "政策不允许。", "队长黄海", typed)
    assert text == cat.t("zh-CN", "problems.act.done_explain", number="P-1")
    assert cat.t("zh-CN", "problems.act.bad_day") not in text
    row = await db.fetchone("SELECT explained_on FROM problems")
    assert row is not None and row["explained_on"] == day


async def test_send_up_to_office_then_hand_back(bot: Harness, seed: Seed, db: Database) -> None:
    w = await World(bot, seed, db).setup()
    old_team_card = copy.deepcopy(await card(bot, db, 1, TEAM_CHAT))
    text = await w.dialog(w.captain, "上报", "涉及跨镇协调，需县里统筹。")
    assert "已上报至活动办公室" in text
    assert await _status(db) == ("office", "open", None)
    ev = await db.fetchone("SELECT from_level, to_level FROM problem_events ORDER BY id DESC")
    assert ev is not None and tuple(ev) == ("team", "office")
    row = await db.fetchone("SELECT deadline FROM problems")
    assert row is not None and row["deadline"] == "2026-12-16T01:00:00+00:00"  # 30 days
    await deliver(bot, db)
    team_card = await card(bot, db, 1, TEAM_CHAT)
    assert "现由活动办公室办理" in team_card.text and not team_card.reply_markup
    office_card = await card(bot, db, 1, OFFICE_CHAT)
    labels = [b["text"] for row in office_card.reply_markup["inline_keyboard"] for b in row]
    assert "⬇️ 退回工作队" in labels and "🏛 交县直部门" in labels and "⬆️ 上报" not in labels
    notice = [i for i in await outbox(db, w.reporter.id) if ":notice:" in i["key"]][-1]
    assert "上报至活动办公室" in notice["payload"]["text"]
    assert "跨镇协调" in notice["payload"]["text"]
    # The team card as it was before (buttons still on a client): the press says it moved.
    calls = await bot.press(w.captain, data_of(old_team_card, "已解决"), old_team_card)
    assert "已过时" in alert(calls) and "黄海" in alert(calls) and "活动办公室" in alert(calls)
    # A team leader cannot act on the office card.
    calls = await press_card(bot, db, w.captain, 1, OFFICE_CHAT, "退回工作队")
    assert "只有活动办公室" in alert(calls)
    # The office hands it back down: the team card gets its buttons again and a notice.
    text = await w.dialog(w.office, "退回工作队", "请工作队先与镇里对接。", chat=OFFICE_CHAT)
    assert "已退回工作队" in text
    assert await _status(db) == ("team", "open", None)
    await deliver(bot, db)
    team_card = await card(bot, db, 1, TEAM_CHAT)
    assert team_card.reply_markup and "待认领" in team_card.text
    arrivals = [i for i in await outbox(db, TEAM_CHAT) if ":arrive:" in i["key"]]
    assert arrivals and "P-1 已转到工作队" in arrivals[-1]["payload"]["text"]
    office_card = await card(bot, db, 1, OFFICE_CHAT)
    assert not office_card.reply_markup


async def test_office_hands_it_to_a_department(bot: Harness, seed: Seed, db: Database) -> None:
    w = await World(bot, seed, db).setup()
    await w.dialog(w.captain, "上报", "需要县交通局。")
    await deliver(bot, db)
    text = await w.dialog(w.office, "交县直部门", "县交通运输局", chat=OFFICE_CHAT)
    assert "已交由 县交通运输局 办理" in text
    row = await db.fetchone("SELECT department, level, status FROM problems")
    assert row is not None and tuple(row) == ("县交通运输局", "office", "open")
    ev = await db.fetchone("SELECT action, note FROM problem_events ORDER BY id DESC")
    assert ev is not None and tuple(ev) == ("assign_department", "县交通运输局")
    await deliver(bot, db)
    assert "已交：县交通运输局" in (await card(bot, db, 1, OFFICE_CHAT)).text
    notice = [i for i in await outbox(db, w.reporter.id) if ":notice:" in i["key"]][-1]
    assert "县交通运输局" in notice["payload"]["text"]


async def test_progress_note_edits_the_card_only(bot: Harness, seed: Seed, db: Database) -> None:
    w = await World(bot, seed, db).setup()
    notices_before = len(await outbox(db, w.reporter.id))
    text = await w.dialog(w.captain, "进展", "已约交通局下周现场查看。")
    assert "已记录 P-1 的办理进展" in text
    assert await _status(db) == ("team", "open", None)
    await deliver(bot, db)
    assert "进展：已约交通局下周现场查看" in (await card(bot, db, 1, TEAM_CHAT)).text
    assert len(await outbox(db, w.reporter.id)) == notices_before  # notes do not ping


async def test_problem_moved_while_the_dialog_was_open(
    bot: Harness, seed: Seed, db: Database
) -> None:
    w = await World(bot, seed, db).setup()
    await w.press(w.deputy, "已解决")  # the deputy starts typing ...
    await w.dialog(w.captain, "上报", "县里统筹。")  # ... the captain sends it up meanwhile
    calls = await bot.send(w.deputy, "我已经解决了。")
    assert "已过时" in last_text(calls)
    assert await _status(db) == ("office", "open", None)
    assert [e[0] for e in await _events(db)] == ["raise", "escalate"]


async def test_dialog_survives_restart(make_bot: AppFactory, seed: Seed, db: Database) -> None:
    bot = await make_bot()
    w = await World(bot, seed, db).setup()
    await w.press(w.captain, "进展")
    restarted = await make_bot()
    calls = await restarted.send(w.captain, "重启后继续填写。")
    assert "已记录 P-1 的办理进展" in last_text(calls)


async def test_presser_who_never_opened_a_private_chat(
    bot: Harness, seed: Seed, db: Database
) -> None:
    w = await World(bot, seed, db).setup()
    bot.api.blocked_chats.add(w.deputy.id)
    calls = await w.press(w.deputy, "已解决")
    assert "请先私聊机器人" in alert(calls)
    row = await db.fetchone("SELECT status FROM drafts WHERE kind = 'problem_action'")
    assert row is not None and row["status"] == "cancelled"
    assert await _status(db) == ("team", "open", None)


async def test_cancel_the_dialog(bot: Harness, seed: Seed, db: Database) -> None:
    w = await World(bot, seed, db).setup()
    await w.press(w.captain, "上报")
    calls = await bot.photo(w.captain)
    assert "需要输入文字" in last_text(calls)
    calls = await bot.tap(w.captain, "取消")
    assert "已取消" in last_text(calls)
    calls = await bot.tap(w.captain, "取消")  # the same Cancel again
    assert "已失效" in alert(calls) or "已经结束" in alert(calls)
    await w.press(w.captain, "上报")
    calls = await bot.send(w.captain, "/cancel")
    assert "已取消" in last_text(calls)
    assert await _status(db) == ("team", "open", None)


async def test_forged_card_data(bot: Harness, seed: Seed, db: Database) -> None:
    w = await World(bot, seed, db).setup()
    before = await _events(db)
    for data, expected in (
        ("prb:v1:claim:999:team", "找不到"),
        ("prb:v1:solve:999:team", "找不到"),
        ("prb:v1:claim:1:moon", "已失效"),
        ("prb:v1:zap:1:team", "已失效"),
        ("prb:v2:claim:1:team", "已失效"),
        ("prb:v1:claim:abc:team", "已失效"),
        ("prb:v1:claim:1", "已失效"),
        ("prb:v1:claim:1:office", "只有活动办公室"),  # a level the presser does not hold
        ("prb:v1:up:1:group", "只有城关一组的组长"),
    ):
        calls = await bot.press(w.captain, data, chat_id=TEAM_CHAT)
        assert expected in alert(calls), (data, alert(calls))
    assert await _events(db) == before


async def test_team_without_chat_gets_private_cards(bot: Harness, seed: Seed, db: Database) -> None:
    captain = await join(bot, seed, "captain1", 621)
    deputy = await join(bot, seed, "deputy1", 622, lang="en")
    await bot.send(deputy, "/lang")
    await bot.tap(deputy, "English")
    reporter = await join(bot, seed, "cadre1", 601)
    await raise_via_chat(bot, reporter, solvable=False)
    cards = [i for i in await outbox(db) if i["card"]]
    assert sorted(i["chat_id"] for i in cards) == [captain.id, deputy.id]
    by_chat = {i["chat_id"]: i["payload"]["text"] for i in cards}
    assert "尚未绑定工作队群" in by_chat[captain.id]
    assert "has no bound team chat" in by_chat[deputy.id] and "Take it" not in by_chat[deputy.id]
    await deliver(bot, db)
    # Acting from a private card: the deputy (English) claims it.
    calls = await press_card(bot, db, deputy, 1, deputy.id, "Take it")
    assert "You took P-1" in alert(calls)
    await deliver(bot, db)
    assert "in hand (周丽)" in (await card(bot, db, 1, deputy.id)).text
    assert "办理中（周丽）" in (await card(bot, db, 1, captain.id)).text


async def test_group_level_owned_by_group_leader(bot: Harness, seed: Seed, db: Database) -> None:
    leader = await join(bot, seed, "leader1", 611)
    other_leader = await join(bot, seed, "leader2", 612)
    captain = await join(bot, seed, "captain1", 621)
    await bot.send(captain, "/bindteam", chat_id=TEAM_CHAT)
    reporter = await join(bot, seed, "cadre1", 601)
    await raise_via_chat(bot, reporter, solvable=True)
    await deliver(bot, db)
    assert await _status(db) == ("group", "open", None)
    calls = await press_card(bot, db, leader, 1, leader.id, "认领")
    assert "已认领" in alert(calls)
    group_card = await card(bot, db, 1, leader.id)
    calls = await bot.press(other_leader, data_of(group_card, "已解决"), group_card)
    assert "只有城关一组的组长" in alert(calls)
    calls = await bot.press(captain, data_of(group_card, "已解决"), group_card)
    assert "只有城关一组的组长" in alert(calls)
    # Sent up by the group leader himself, from his private card.
    calls = await press_card(bot, db, leader, 1, leader.id, "上报")
    assert "上报理由" in last_text(calls)
    calls = await bot.send(leader, "本组协调不了。")
    assert "已上报至工作队" in last_text(calls)
    assert await _status(db) == ("team", "open", None)
    items = await outbox(db, TEAM_CHAT)
    assert items[-1]["card"] == "problem:1:chat:-1001" and items[-1]["method"] == "sendMessage"
    assert not [i for i in await outbox(db, leader.id) if ":sentup:" in i["key"]]  # he did it


async def test_english_office_member_sees_english_card(
    bot: Harness, seed: Seed, db: Database
) -> None:
    captain = await join(bot, seed, "captain1", 621)
    await bot.send(captain, "/bindteam", chat_id=TEAM_CHAT)
    office = await join(bot, seed, "office1", 631, lang="en")
    await bot.send(office, "/ledger")  # her app speaks English; the bot remembers that
    reporter = await join(bot, seed, "cadre1", 601)
    await raise_via_chat(bot, reporter, solvable=False)
    await deliver(bot, db)
    await press_card(bot, db, captain, 1, TEAM_CHAT, "上报")
    await bot.send(captain, "需要县里。")
    # No office chat: the office member gets the card privately, in English (her app's).
    items = [i for i in await outbox(db, office.id) if i["card"]]
    assert items and "URGENT" not in items[0]["payload"]["text"]
    assert "Level: campaign office" in items[0]["payload"]["text"]
    assert any("To a department" in label for label, _ in buttons(items[0]))


async def test_same_press_delivered_twice_is_one_event(
    bot: Harness, seed: Seed, db: Database
) -> None:
    w = await World(bot, seed, db).setup()
    message = await card(bot, db, 1, TEAM_CHAT)
    update = bot.callback_update(w.captain, data_of(message, "认领"), message)
    await bot.process(update)
    assert await bot.process(update) == []
    assert [e[0] for e in await _events(db)] == ["raise", "claim"]
    assert len([i for i in await outbox(db, w.reporter.id) if ":notice:" in i["key"]]) == 1


async def test_dialog_and_other_flows_never_mix(bot: Harness, seed: Seed, db: Database) -> None:
    w = await World(bot, seed, db).setup()
    # A report in progress: a card press that needs words is refused until it is done.
    await bot.send(w.captain, "/problem")
    calls = await w.press(w.captain, "进展")
    assert "请先完成或发送 /cancel" in alert(calls)
    await bot.send(w.captain, "/cancel")
    # A dialog left open, then /problem: the dialog is dropped, the text goes to the report.
    await w.press(w.captain, "已解决")
    await bot.send(w.captain, "/problem")
    await bot.tap(w.captain, "东风村")
    await bot.tap(w.captain, "反映新问题")
    await bot.tap(w.captain, "其他")
    calls = await bot.send(w.captain, "这是新问题的描述。")
    assert "现场照片" in last_text(calls)
    assert await _status(db) == ("team", "open", None)  # P-1 was not "solved" by it
    await bot.send(w.captain, "/cancel")
    # Another flow started after the dialog (e.g. a visit): the dialog gives way.
    await w.press(w.captain, "进展")
    await drafts.start(db, "visit", seed.cadres["captain1"], 621, 621, "text", {}, bot.clock())
    calls = await bot.send(w.captain, "走访记录的文字")
    assert "没有被记录" in last_text(calls)
    assert [e[0] for e in await _events(db)] == ["raise"]


async def test_dialog_buttons_edit_their_message(bot: Harness, seed: Seed, db: Database) -> None:
    """The dialog runs on the step engine: a button edits its own message in place; the
    Cancel of an earlier question of the same dialog still cancels it."""
    w = await World(bot, seed, db).setup()
    await w.dialog(w.captain, "已解释", "资金不足。")
    asked_who = copy.deepcopy(
        bot.api.messages[max(k for k in bot.api.messages if k[0] == w.captain.id)]
    )
    await bot.send(w.captain, "村支书李明")  # now at "which day"
    cancel_of_who = data_of(asked_who, "取消")
    calls = await bot.press(w.captain, cancel_of_who, asked_who)  # same draft: cancel stays valid
    assert "已取消" in last_text(calls)
    assert await _status(db) == ("team", "open", None)
    await w.dialog(w.captain, "已解释", "资金不足。", "村支书李明")
    calls = await bot.tap(w.captain, "昨天")
    assert [c.method for c in calls if c.method in ("sendMessage", "editMessageText")][0] == (
        "editMessageText"
    )
    assert "已标记为已解释" in last_text(calls)
