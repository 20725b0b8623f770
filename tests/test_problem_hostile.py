"""The problem ledger under hostile or unlucky input (issue 12): edited messages, a lost
receipt, private buttons forged in a group, and refusals that say no more than they
must."""

from __future__ import annotations

from typing import Any

from campaign.i18n import default_catalog
from storage.db import Database
from tests.conftest import join
from tests.factories import Seed
from tests.fakebot import ApiRefusal, Call, Harness, TgUser
from tests.problem_helpers import (
    TEAM_CHAT,
    alert,
    card,
    data_of,
    deliver,
    last_text,
    outbox,
    press_card,
    raise_via_chat,
)

T = default_catalog()


def zh(key: str, **values: Any) -> str:
    return T.t("zh-CN", key, **values)


async def _edit(bot: Harness, who: TgUser, text: str) -> list[Call]:
    """An edit of an old private message, as Telegram delivers it."""
    data = bot.text_update(who, text)
    inner = data.pop("message")
    inner["edit_date"] = inner["date"]
    data["edited_message"] = inner
    return await bot.process(data)


async def _row(db: Database, sql: str) -> tuple[Any, ...] | None:
    row = await db.fetchone(sql)
    return tuple(row) if row is not None else None


async def _team_problem(bot: Harness, seed: Seed, db: Database) -> tuple[TgUser, TgUser]:
    captain = await join(bot, seed, "captain1", 621)
    await bot.send(captain, "/bindteam", chat_id=TEAM_CHAT)
    reporter = await join(bot, seed, "cadre1", 601)
    await raise_via_chat(bot, reporter, solvable=False)
    await deliver(bot, db)
    return captain, reporter


# --- #4: an edit is never new input -----------------------------------------------------


async def test_edit_while_the_solve_dialog_waits_changes_nothing(
    bot: Harness, seed: Seed, db: Database
) -> None:
    captain, _ = await _team_problem(bot, seed, db)
    await press_card(bot, db, captain, 1, TEAM_CHAT, "已解决")
    calls = await _edit(bot, captain, "改过的旧消息")
    assert not [c for c in calls if c.method == "sendMessage" and "已解决" in c.text]
    assert await _row(db, "SELECT status FROM problems WHERE id = 1") == ("open",)
    assert await _row(db, "SELECT status FROM drafts WHERE kind = 'problem_action'") == ("open",)
    # The dialog still takes the words when they are sent anew.
    calls = await bot.send(captain, "已修好。")
    assert zh("problems.act.done_solve", number="P-1") in last_text(calls)


async def test_edit_while_raising_is_not_the_description(
    bot: Harness, seed: Seed, db: Database
) -> None:
    reporter = await join(bot, seed, "cadre1", 601)
    await bot.send(reporter, "/problem")
    await bot.tap(reporter, "东风村")
    await bot.tap(reporter, "基础设施")
    await _edit(bot, reporter, "编辑出来的描述")
    row = await _row(db, "SELECT step, data FROM drafts WHERE kind = 'problem'")
    assert row is not None and row[0] == "description" and "编辑出来的描述" not in row[1]


# --- #9: a lost receipt still reaches the cadre -----------------------------------------


async def test_lost_receipt_goes_through_the_queue(bot: Harness, seed: Seed, db: Database) -> None:
    reporter = await join(bot, seed, "cadre1", 601)
    failed: list[Call] = []

    def fail_the_receipt(call: Call) -> None:
        text = str(call.params.get("text") or "")
        if call.method == "sendMessage" and "P-1" in text and not failed:
            failed.append(call)
            raise ApiRefusal(500, "Internal Server Error")

    bot.api.fail = fail_the_receipt
    await raise_via_chat(bot, reporter, solvable=False)
    bot.api.fail = None
    assert failed, "the receipt was never sent"
    assert await _row(db, "SELECT COUNT(*) FROM problems") == (1,)
    queued = [i for i in await outbox(db, reporter.id) if "P-1" in i["payload"].get("text", "")]
    assert queued and queued[0]["payload"]["text"] == failed[0].params["text"]
    calls = await deliver(bot, db)
    assert [c for c in calls if c.method == "sendMessage" and c.params["chat_id"] == reporter.id]


# --- #11: private flows refuse in groups -------------------------------------------------


async def test_forged_problem_menu_press_in_a_group(bot: Harness, seed: Seed, db: Database) -> None:
    reporter = await join(bot, seed, "cadre1", 601)
    calls = await bot.press(reporter, "menu:v1:problem", chat_id=TEAM_CHAT)
    assert alert(calls) == zh("problems.raise.private_only")
    assert not [c for c in calls if c.method == "sendMessage"]
    assert await _row(db, "SELECT COUNT(*) FROM drafts") == (0,)


# --- #14: a refusal tells an outsider nothing -------------------------------------------


async def test_outsider_cannot_tell_a_problem_exists(
    bot: Harness, seed: Seed, db: Database
) -> None:
    captain, _ = await _team_problem(bot, seed, db)
    outsider = await join(bot, seed, "captain2", 623)  # another team's leader
    message = await card(bot, db, 1, TEAM_CHAT)
    real = await bot.press(outsider, data_of(message, "认领"), message)
    missing = await bot.press(outsider, "prb:v1:claim:77:team", chat_id=TEAM_CHAT)
    assert alert(real) == alert(missing) == zh("problems.act.not_found")
    assert "城关镇" not in alert(real)
    # Someone in scope still learns who may act.
    own = await join(bot, seed, "cadre3", 603)  # same team, not a leader
    calls = await bot.press(own, data_of(message, "认领"), message)
    assert "城关镇工作队" in alert(calls)
    assert captain is not None


async def test_edited_problem_commands_start_nothing(
    bot: Harness, seed: Seed, db: Database
) -> None:
    reporter = await join(bot, seed, "cadre1", 601)
    await _edit(bot, reporter, "/problem")
    assert await _row(db, "SELECT COUNT(*) FROM drafts") == (0,)
    captain = await join(bot, seed, "captain1", 621)
    calls = await _edit(bot, captain, "/ledger")
    assert not [c for c in calls if "问题台账" in c.text or "待办" in c.text]
