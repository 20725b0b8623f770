"""Call-backs (回访), reopening and the watch list, end to end through the real
Application and the fake Bot API: the scheduler asks, the reporter answers, 不满意
reopens the problem at the level that closed it; the office sees the satisfaction rate.
Plus every bad input the issue lists: clear answer, nothing changed."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from io import BytesIO
from typing import Any

import openpyxl

from campaign.i18n import default_catalog
from campaign.periods import parse_period, week_of
from campaign.reporting import Scope
from scheduler.runner import sweep
from services import reports
from services.bulletin import bulletin_items
from services.problem_callbacks import bulletin_section
from services.runtime import DEPS_KEY, Deps
from storage import problem_callbacks
from storage.db import Database
from tests.conftest import AppFactory, drain, join
from tests.factories import Seed
from tests.fakebot import Harness, TgUser, shown
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
from tests.scheduler_factories import local

CAT = default_catalog()


def zh(key: str, **values: Any) -> str:
    return CAT.t("zh-CN", key, **values)


def deps_of(bot: Harness) -> Deps:
    d = bot.app.bot_data[DEPS_KEY]
    assert isinstance(d, Deps)
    return d


async def problem_row(db: Database, problem_id: int = 1) -> dict[str, Any]:
    row = await db.fetchone("SELECT * FROM problems WHERE id = ?", (problem_id,))
    assert row is not None
    return dict(row)


async def callbacks(db: Database) -> list[dict[str, Any]]:
    return [dict(r) for r in await db.fetchall("SELECT * FROM problem_callbacks ORDER BY id")]


class World:
    """A team-level problem P-1 raised by 张伟 and joined by 王芳, its card in the team
    chat; the office chat bound."""

    def __init__(self, bot: Harness, seed: Seed, db: Database) -> None:
        self.bot, self.seed, self.db = bot, seed, db

    async def setup(self) -> World:
        bot, seed = self.bot, self.seed
        self.captain = await join(bot, seed, "captain1", 621)
        self.office = await join(bot, seed, "office1", 631)
        self.leader = await join(bot, seed, "leader1", 611)
        self.reporter = await join(bot, seed, "cadre1", 601)
        self.co = await join(bot, seed, "cadre2", 602)
        self.other = await join(bot, seed, "cadre3", 603)
        await bot.send(self.captain, "/bindteam", chat_id=TEAM_CHAT)
        await bot.send(self.office, "/bindoffice", chat_id=OFFICE_CHAT)
        await raise_via_chat(bot, self.reporter, solvable=False)
        await bot.send(self.co, "/problem")
        await bot.tap(self.co, "东风村")
        await bot.tap(self.co, "加入 P-1")
        await deliver(bot, self.db)
        return self

    async def close(self, how: str = "已解决", *answers: str) -> None:
        """The captain ends P-1 from the team card through the private dialog."""
        await press_card(self.bot, self.db, self.captain, 1, TEAM_CHAT, how)
        for answer in answers or ("已协调交通局修复路面。",):
            await self.bot.send(self.captain, answer)
        await deliver(self.bot, self.db)

    async def sweep_at(self, moment: datetime) -> None:
        self.bot.clock.set(moment)  # type: ignore[attr-defined]
        await sweep(deps_of(self.bot), moment)
        await deliver(self.bot, self.db)

    def ask_of(self, who: TgUser) -> str:
        """The newest call-back ask in a private chat."""
        for m in sorted(self.bot.api.messages.values(), key=lambda m: -m.message_id):
            if m.chat_id == who.id and "📞" in m.text and m.reply_markup:
                return m.text
        raise AssertionError(f"no call-back ask for {who.id}")


# Monday 16 November: closed. Three workdays later: Thursday 19 November.
CALLBACK_DAY = local(2026, 11, 19, 10, 0)


async def test_story_unsatisfied_call_back_reopens_on_the_team_card(
    bot: Harness, seed: Seed, db: Database
) -> None:
    w = await World(bot, seed, db).setup()
    await w.close()
    assert (await problem_row(db))["status"] == "solved"
    # Two workdays on: not yet.
    await w.sweep_at(local(2026, 11, 18, 10, 0))
    assert await callbacks(db) == []
    # The third workday: the reporter is asked to call the people back.
    await w.sweep_at(CALLBACK_DAY)
    [k] = await callbacks(db)
    assert k["asked_id"] == seed.cadres["cadre1"] and k["closed_level"] == "team"
    assert "P-1" in w.ask_of(w.reporter) and "已协调交通局修复路面" in w.ask_of(w.reporter)
    # 不满意 → how → a note.
    calls = await bot.tap(w.reporter, zh("callbacks.result.unsatisfied"))
    assert zh(
        "callbacks.flow.ask_how", number="P-1", result=zh("callbacks.result.unsatisfied")
    ) in (last_text(calls))
    await bot.tap(w.reporter, zh("callbacks.reach.visit"))
    calls = await bot.send(w.reporter, "路面又塌了，群众不满意。")
    assert last_text(calls) == zh("callbacks.done_reopened", number="P-1")
    # Reopened at the team level that closed it, nobody owning it, a new deadline.
    row = await problem_row(db)
    now = CALLBACK_DAY
    assert (row["status"], row["level"], row["owner_id"], row["closed_at"]) == (
        "open",
        "team",
        None,
        None,
    )
    assert datetime.fromisoformat(row["deadline"]) == now + timedelta(days=15)
    [k] = await callbacks(db)
    assert (k["result"], k["reach"], k["note"], k["reopened"]) == (
        "unsatisfied",
        "visit",
        "路面又塌了，群众不满意。",
        1,
    )
    ev = await db.fetchone("SELECT action, to_level, note FROM problem_events ORDER BY id DESC")
    assert ev is not None and (ev["action"], ev["to_level"]) == ("reopen", "team")
    assert "路面又塌了" in ev["note"]
    # A fresh card in the team chat: open again, its new deadline, its buttons.
    old_card = await card(bot, db, 1, TEAM_CHAT)
    await deliver(bot, db)
    shown_card = await card(bot, db, 1, TEAM_CHAT)
    assert shown_card.message_id > old_card.message_id
    assert zh("problems.status.solved") in bot.api.messages[(TEAM_CHAT, old_card.message_id)].text
    assert "认领" in str(shown_card.reply_markup)
    assert zh("problems.status.open") in shown_card.text
    assert "12月4日 10:00" in shown_card.text and "路面又塌了" in shown_card.text
    team_notice = [i for i in await outbox(db, TEAM_CHAT) if "reopened-owner" in i["key"]]
    assert team_notice and "P-1" in team_notice[0]["payload"]["text"]
    # The co-reporter is told; the reporter got the outcome in the dialog.
    told = [i for i in await outbox(db, w.co.id) if ":reopened:" in i["key"]]
    assert told and "路面又塌了" in told[0]["payload"]["text"]
    # So is the group leader, who was told when the group sent it up.
    group = [i for i in await outbox(db, w.leader.id) if ":reopened-group:" in i["key"]]
    assert group and "路面又塌了" in group[0]["payload"]["text"]
    # The history shows the call-back.
    await bot.send(w.reporter, "/problems")
    calls = await bot.tap(w.reporter, "P-1")
    assert zh("callbacks.history_answered", what="").strip() in last_text(calls)
    # The office sees the month's satisfaction rate.
    text = last_text(await bot.send(w.office, "/summary", chat_id=OFFICE_CHAT))
    assert zh("callbacks.summary.head") in text
    assert (
        zh("callbacks.summary.line", answered=1, satisfied=0, fair=0, unsatisfied=1, rate="0%")
        in text
    )
    assert zh("callbacks.summary.reopened", reopened=1, waiting=0) in text


async def test_satisfied_call_back_records_and_changes_nothing_else(
    bot: Harness, seed: Seed, db: Database
) -> None:
    w = await World(bot, seed, db).setup()
    await w.close()
    await w.sweep_at(CALLBACK_DAY)
    await bot.tap(w.reporter, zh("callbacks.result.satisfied"))
    await bot.tap(w.reporter, zh("callbacks.reach.phone"))
    calls = await bot.tap(w.reporter, zh("callbacks.flow.skip"))
    assert zh("callbacks.done", number="P-1") in last_text(calls)
    assert (await problem_row(db))["status"] == "solved"
    [k] = await callbacks(db)
    assert (k["result"], k["reach"], k["note"], k["reopened"]) == ("satisfied", "phone", "", 0)
    # A second sweep asks nothing again.
    before = len(await outbox(db, w.reporter.id))
    await w.sweep_at(CALLBACK_DAY + timedelta(minutes=15))
    assert len(await outbox(db, w.reporter.id)) == before


async def test_second_answer_is_refused_with_what_was_recorded(
    bot: Harness, seed: Seed, db: Database
) -> None:
    w = await World(bot, seed, db).setup()
    await w.close()
    await w.sweep_at(CALLBACK_DAY)
    await bot.tap(w.reporter, zh("callbacks.result.fair"))
    await bot.tap(w.reporter, zh("callbacks.reach.phone"))
    await bot.send(w.reporter, "群众说还行。")
    before = await callbacks(db)
    # The co-reporter presses 不满意 on the same call-back's ask (forwarded to him).
    calls = await bot.press(w.co, f"cbk:v1:ans:{before[0]['id']}:unsatisfied")
    text = alert(calls)
    assert "已经记录过了" in text and "基本满意" in text and "群众说还行" in text
    # The reporter presses the old ask again.
    calls = await bot.tap(w.reporter, zh("callbacks.result.unsatisfied"))
    assert "已经记录过了" in alert(calls)
    assert await callbacks(db) == before
    assert (await problem_row(db))["status"] == "solved"


async def test_only_people_entitled_record_the_call_back(
    bot: Harness, seed: Seed, db: Database
) -> None:
    w = await World(bot, seed, db).setup()
    await w.close()
    await w.sweep_at(CALLBACK_DAY)
    [k] = await callbacks(db)
    data = f"cbk:v1:ans:{k['id']}:unsatisfied"
    for who in (w.other, w.captain, w.office):
        calls = await bot.press(who, data)
        assert alert(calls) == zh("callbacks.not_yours", number="P-1"), who.id
    assert await db.fetchone("SELECT 1 FROM drafts WHERE kind = 'problem_callback'") is None
    # The group leader of the problem's group may (the reporter may have left).
    calls = await bot.press(w.leader, data)
    assert "怎么联系" in last_text(calls)
    assert await callbacks(db) == [k]


async def test_forged_and_stale_buttons(bot: Harness, seed: Seed, db: Database) -> None:
    w = await World(bot, seed, db).setup()
    await w.close()
    await w.sweep_at(CALLBACK_DAY)
    [k] = await callbacks(db)
    stale = zh("common.stale_button")
    for data in (
        f"cbk:v1:ans:{k['id']}:delighted",  # no such answer
        "cbk:v1:ans:x:satisfied",
        "cbk:v2:ans:1:satisfied",
        "wch:v1:re:abc",
        "wch:v1:nope:1",
    ):
        calls = await bot.press(w.reporter, data)
        assert alert(calls) == stale, data
    calls = await bot.press(w.reporter, "cbk:v1:ans:999:satisfied")
    assert alert(calls) == zh("callbacks.not_found")
    # A button of a dialog already ended.
    calls = await bot.press(w.reporter, "cbk:v1:how:4242:phone")
    assert zh("callbacks.flow.draft_closed") in alert(calls)
    assert await callbacks(db) == [k] and k["answered_at"] is None


async def test_reminded_then_listed_for_the_group_leader(
    bot: Harness, seed: Seed, db: Database
) -> None:
    w = await World(bot, seed, db).setup()
    await w.close()
    await w.sweep_at(CALLBACK_DAY)  # Thursday: asked
    await w.sweep_at(local(2026, 11, 20, 10, 0))  # Friday: one workday, nothing yet
    assert (await callbacks(db))[0]["reminded_at"] is None
    await w.sweep_at(local(2026, 11, 23, 10, 0))  # Monday: two workdays, reminded
    [k] = await callbacks(db)
    assert k["reminded_at"] is not None and k["listed_at"] is None
    reminders = [i for i in await outbox(db, w.reporter.id) if i["key"].endswith(":remind")]
    assert len(reminders) == 1
    await w.sweep_at(local(2026, 11, 25, 10, 0))  # two workdays after: the leader's list
    [k] = await callbacks(db)
    assert k["listed_at"] is not None
    lists = [i for i in await outbox(db, w.leader.id) if i["key"].startswith("callback-list:")]
    assert len(lists) == 1 and "P-1" in lists[0]["payload"]["text"]
    # The leader records it from the list.
    calls = await bot.tap(w.leader, zh("callbacks.record", number="P-1"))
    assert zh("callbacks.flow.ask_result", number="P-1") in last_text(calls)
    await bot.tap(w.leader, zh("callbacks.result.satisfied"))
    await bot.tap(w.leader, zh("callbacks.reach.other"))
    calls = await bot.send(w.leader, "村干部代为回访。")
    assert zh("callbacks.done", number="P-1") in last_text(calls)
    await w.sweep_at(local(2026, 11, 27, 10, 0))
    assert len([i for i in await outbox(db, w.leader.id) if "callback-list" in i["key"]]) == 1


async def test_muted_reporter_is_asked_after_the_pause(
    bot: Harness, seed: Seed, db: Database
) -> None:
    w = await World(bot, seed, db).setup()
    await w.close()
    await bot.send(w.reporter, "/mute 7")
    await w.sweep_at(CALLBACK_DAY)
    assert await callbacks(db) == []
    await w.sweep_at(local(2026, 11, 24, 10, 0))  # the pause (from the 16th) is over
    assert len(await callbacks(db)) == 1


async def test_explained_problem_watch_list_reopen(bot: Harness, seed: Seed, db: Database) -> None:
    w = await World(bot, seed, db).setup()
    await w.close("已解释", "资金不足，列入明年计划。", "村支书李明")
    await bot.tap(w.captain, "昨天")
    await deliver(bot, db)
    assert (await problem_row(db))["watch"] == 1
    # /ledger's watch list carries 重新办理.
    calls = await bot.send(w.captain, "/ledger")
    label = zh("callbacks.ledger_reopen", number="P-1")
    assert any(label in t for t, _ in shown(calls)[-1].buttons)
    # Someone else may not reopen it.
    calls = await bot.press(w.reporter, "wch:v1:re:1")
    assert alert(calls) == zh("callbacks.reopen_not_found")
    calls = await bot.tap(w.captain, label)
    assert zh("callbacks.reopen_flow.ask_why", number="P-1", max=500) in last_text(calls)
    calls = await bot.send(w.captain, "县里追加了资金。")
    assert last_text(calls) == zh("callbacks.reopened", number="P-1")
    row = await problem_row(db)
    assert (row["status"], row["watch"], row["level"]) == ("open", 0, "team")
    reopen = await db.fetchone("SELECT cause, reason, actor_id FROM problem_reopens")
    assert reopen is not None and reopen["cause"] == "ledger"
    assert "县里追加了资金" in reopen["reason"]
    # A second press on the old list: the problem is open now, and it says so.
    calls = await bot.press(w.captain, "wch:v1:re:1")
    assert alert(calls) == zh(
        "callbacks.reopen_open", number="P-1", status=zh("problems.status.open")
    )
    assert len(await db.fetchall("SELECT * FROM problem_reopens")) == 1


async def test_monthly_watch_question(bot: Harness, seed: Seed, db: Database) -> None:
    w = await World(bot, seed, db).setup()
    await w.close("已解释", "资金不足，列入明年计划。", "村支书李明")
    await bot.tap(w.captain, "今天")
    await deliver(bot, db)
    await w.sweep_at(local(2026, 12, 1, 10, 0))  # fifteen days: too soon
    assert await db.fetchall("SELECT * FROM problem_watch_checks") == []
    await w.sweep_at(local(2026, 12, 7, 10, 0))  # twenty-one days: asked
    asks = [i for i in await outbox(db, w.captain.id) if i["key"].startswith("watch:")]
    assert len(asks) == 1 and "P-1" in asks[0]["payload"]["text"]
    calls = await bot.tap(w.captain, zh("callbacks.watch.still"))
    assert alert(calls) == zh("callbacks.watch.done_still", number="P-1")
    check = await db.fetchone("SELECT answer FROM problem_watch_checks")
    assert check is not None and check["answer"] == "still"
    await w.sweep_at(local(2026, 12, 8, 10, 0))  # once a month
    assert len([i for i in await outbox(db, w.captain.id) if i["key"].startswith("watch:")]) == 1
    # Solved meanwhile: closed as solved, off the list; a stale "still" then says so.
    calls = await bot.tap(w.captain, zh("callbacks.watch.solved"))
    assert alert(calls) == zh("callbacks.watch.done_solved", number="P-1")
    row = await problem_row(db)
    assert (row["status"], row["watch"]) == ("solved", 0)
    calls = await bot.tap(w.captain, zh("callbacks.watch.still"))
    assert alert(calls) == zh(
        "callbacks.reopen_other", number="P-1", status=zh("problems.status.solved")
    )


async def test_reporter_who_left_is_replaced_by_the_group_leader(
    bot: Harness, seed: Seed, db: Database
) -> None:
    w = await World(bot, seed, db).setup()
    await w.close()
    async with db.write() as conn:
        await conn.execute("UPDATE cadres SET active = 0 WHERE id = ?", (seed.cadres["cadre1"],))
    await w.sweep_at(CALLBACK_DAY)
    [k] = await callbacks(db)
    assert k["asked_id"] == seed.cadres["leader1"]
    assert "P-1" in w.ask_of(w.leader)
    assert not [i for i in await outbox(db, w.reporter.id) if i["key"].startswith("callback:")]


async def test_unsatisfied_on_a_problem_reopened_meanwhile_records_without_reopening(
    bot: Harness, seed: Seed, db: Database
) -> None:
    w = await World(bot, seed, db).setup()
    await w.close("已解释", "资金不足，列入明年计划。", "村支书李明")
    await bot.tap(w.captain, "今天")
    await w.sweep_at(CALLBACK_DAY)
    assert len(await callbacks(db)) == 1
    await bot.press(w.captain, "wch:v1:re:1")
    await bot.send(w.captain, "县里追加了资金。")
    await deliver(bot, db)
    events = len(await db.fetchall("SELECT id FROM problem_events"))
    await bot.tap(w.reporter, zh("callbacks.result.unsatisfied"))
    await bot.tap(w.reporter, zh("callbacks.reach.phone"))
    calls = await bot.send(w.reporter, "群众仍然不满意。")
    assert last_text(calls) == zh("callbacks.done_not_reopened_open", number="P-1")
    [k] = await callbacks(db)
    assert (k["result"], k["reopened"]) == ("unsatisfied", 0)
    assert len(await db.fetchall("SELECT id FROM problem_events")) == events
    assert len(await db.fetchall("SELECT id FROM problem_reopens")) == 1


async def test_figures_in_export_bulletin_and_for_the_assessment(
    bot: Harness, seed: Seed, db: Database
) -> None:
    w = await World(bot, seed, db).setup()
    await w.close()
    await w.sweep_at(CALLBACK_DAY)
    await bot.tap(w.reporter, zh("callbacks.result.unsatisfied"))
    await bot.tap(w.reporter, zh("callbacks.reach.phone"))
    await bot.send(w.reporter, "路面又塌了。")
    await deliver(bot, db)
    # Solved again, called back again: a second call-back for the second ending.
    await w.close("已解决", "重新铺设了路面。")
    await w.sweep_at(local(2026, 11, 24, 10, 0))
    assert [k["answered_at"] is None for k in await callbacks(db)] == [False, True]
    await bot.tap(w.reporter, zh("callbacks.result.satisfied"))
    await bot.tap(w.reporter, zh("callbacks.reach.visit"))
    await bot.tap(w.reporter, zh("callbacks.flow.skip"))
    # The assessment's tallies, by reporter.
    tallies = await problem_callbacks.reporter_tallies(db, date(2026, 11, 1), date(2026, 11, 30))
    assert tallies == {
        seed.cadres["cadre1"]: problem_callbacks.CallbackTally(
            satisfied=1, fair=0, unsatisfied=1, reopened=1
        )
    }
    assert await problem_callbacks.reporter_tallies(db, date(2026, 12, 1), date(2026, 12, 31)) == {}
    # The export's call-back sheet.
    d = deps_of(bot)
    ask = reports.Ask(
        d.db.path, d.settings, d.catalog, "zh-CN", Scope.everything(),
        parse_period("2026-11", date(2026, 11, 24)), d.now(),
    )  # fmt: skip
    out = BytesIO()
    reports.export_workbook(ask, out)
    sheet = openpyxl.load_workbook(BytesIO(out.getvalue()))["回访"]
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert [(v[0], v[8], v[11]) for v in values] == [
        ("P-1", zh("callbacks.result.unsatisfied"), zh("reports.xlsx.yes")),
        ("P-1", zh("callbacks.result.satisfied"), None),
    ]
    # The bulletin of the week: satisfaction and reopenings.
    text = await bulletin_section(d, week_of(date(2026, 11, 24)), "zh-CN")
    assert (
        zh("callbacks.summary.line", answered=1, satisfied=1, fair=0, unsatisfied=0, rate="100%")
        in text
    )
    items = await bulletin_items(d, local(2026, 11, 30, 8, 30), local(2026, 11, 30, 8, 30))
    assert zh("callbacks.summary.reopened", reopened=0, waiting=0) in items[0].text


async def test_dialog_survives_a_restart(
    bot: Harness, seed: Seed, db: Database, make_bot: AppFactory
) -> None:
    w = await World(bot, seed, db).setup()
    await w.close()
    await w.sweep_at(CALLBACK_DAY)
    await bot.tap(w.reporter, zh("callbacks.result.satisfied"))
    again = await make_bot()  # the bot restarts mid-dialog
    calls = await again.tap(w.reporter, zh("callbacks.reach.phone"))
    assert zh(
        "callbacks.flow.ask_note", number="P-1", result=zh("callbacks.result.satisfied"), max=500
    ) in (last_text(calls))
    calls = await again.send(w.reporter, "群众很满意。")
    assert last_text(calls) == zh("callbacks.done", number="P-1")
    [k] = await callbacks(db)
    assert (k["result"], k["reach"], k["note"]) == ("satisfied", "phone", "群众很满意。")


async def test_can_now_on_the_monthly_question_reopens_with_the_reason(
    bot: Harness, seed: Seed, db: Database
) -> None:
    w = await World(bot, seed, db).setup()
    await w.close("已解释", "资金不足，列入明年计划。", "村支书李明")
    await bot.tap(w.captain, "今天")
    await w.sweep_at(local(2026, 12, 7, 10, 0))
    calls = await bot.tap(w.captain, zh("callbacks.watch.can"))
    assert zh("callbacks.reopen_flow.ask_why", number="P-1", max=500) in last_text(calls)
    calls = await bot.send(w.captain, "新的扶持政策出台了。")
    assert last_text(calls) == zh("callbacks.reopened", number="P-1")
    check = await db.fetchone("SELECT answer, answered_id FROM problem_watch_checks")
    assert check is not None and tuple(check) == ("can", seed.cadres["captain1"])
    reopen = await db.fetchone("SELECT cause, reason FROM problem_reopens")
    assert reopen is not None and reopen["cause"] == "watch"
    assert "新的扶持政策出台了" in reopen["reason"]
    assert (await problem_row(db))["status"] == "open"
    # The same button again: open now, and it says so; nothing more is written.
    calls = await bot.tap(w.captain, zh("callbacks.watch.can"))
    assert alert(calls) == zh(
        "callbacks.reopen_open", number="P-1", status=zh("problems.status.open")
    )
    assert len(await db.fetchall("SELECT id FROM problem_reopens")) == 1


async def test_an_ask_made_at_night_waits_for_the_morning(
    bot: Harness, seed: Seed, db: Database
) -> None:
    w = await World(bot, seed, db).setup()
    await w.close()
    night = local(2026, 11, 19, 23, 0)
    bot.clock.set(night)  # type: ignore[attr-defined]
    await sweep(deps_of(bot), night)
    assert await callbacks(db) == []  # nothing asked in quiet hours
    before = len(bot.api.to(w.reporter.id))
    await drain(bot)
    assert len(bot.api.to(w.reporter.id)) == before  # quiet hours: not sent yet
    await w.sweep_at(local(2026, 11, 20, 8, 0))
    assert len(await callbacks(db)) == 1
    assert "P-1" in w.ask_of(w.reporter)
