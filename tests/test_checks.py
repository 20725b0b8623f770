"""Checking the work (issue 15): an inspector, the office or a leader marks a cadre's log
or a visit 已检查 / 需整改; a 需整改 becomes a correction item the cadre answers and the
checker closes or sends back; /checks lists open items; on-site inspections; and every
bad press refused with nothing changed."""

from __future__ import annotations

from typing import Any

from campaign import callbacks
from campaign.i18n import default_catalog
from storage.db import Database
from tests.conftest import join
from tests.factories import Seed
from tests.fakebot import Harness
from tests.problem_helpers import alert, deliver
from tests.visits_support import flow, texts

CAT = default_catalog()


def zh(key: str, **values: Any) -> str:
    return CAT.t("zh-CN", key, **values)


def head(key: str) -> str:
    """A catalogue text up to its first placeholder, for ``in`` checks."""
    return CAT.t("zh-CN", key).split("{", 1)[0]


async def _rows(db: Database, table: str) -> list[dict[str, Any]]:
    return [dict(r) for r in await db.fetchall(f"SELECT * FROM {table} ORDER BY id")]


async def _counts(db: Database) -> tuple[int, ...]:
    out = []
    for table in ("log_checks", "corrections", "correction_events", "inspections", "visits"):
        row = await db.fetchone(f"SELECT COUNT(*) AS n FROM {table}")
        assert row is not None
        out.append(int(row["n"]))
    return tuple(out)


class World:
    def __init__(self, bot: Harness, seed: Seed, db: Database) -> None:
        self.bot, self.seed, self.db = bot, seed, db

    async def setup(self) -> World:
        bot, seed = self.bot, self.seed
        self.cadre = await join(bot, seed, "cadre1", 701)
        self.cadre3 = await join(bot, seed, "cadre3", 703)
        self.leader = await join(bot, seed, "leader1", 711)
        self.leader2 = await join(bot, seed, "leader2", 712)
        self.captain = await join(bot, seed, "captain1", 721)
        self.office = await join(bot, seed, "office1", 731)
        self.inspector = await join(bot, seed, "inspector1", 741)
        await flow(bot, self.cadre)  # visit #1, 张伟's
        return self

    def log_data(self, cadre_key: str, verdict: str) -> str:
        return callbacks.CHECK.build(
            "log", self.seed.cadres[cadre_key], "20261101-20261201", verdict
        )


async def _world(bot: Harness, seed: Seed, db: Database) -> World:
    return await World(bot, seed, db).setup()


async def test_inspector_marks_a_log_for_correction_and_sees_it_closed(
    bot: Harness, seed: Seed, db: Database
) -> None:
    w = await _world(bot, seed, db)
    calls = await bot.send(w.inspector, "/log 张伟")
    assert zh("checks.button.fix") in str([c.params for c in calls])
    await bot.tap(w.inspector, "需整改")
    calls = await bot.send(w.inspector, "走访记录过于简单，请补充群众诉求和办理结果。")
    assert head("checks.done") in texts(calls)
    checks = await _rows(db, "log_checks")
    assert [(c["cadre_id"], c["checker_id"], c["verdict"]) for c in checks] == [
        (seed.cadres["cadre1"], seed.cadres["inspector1"], "fix")
    ]
    (item,) = await _rows(db, "corrections")
    assert (item["status"], item["cadre_id"]) == ("open", seed.cadres["cadre1"])
    # The cadre is told through the outbox and answers with text and a photo.
    sent = await deliver(bot, db)
    assert any(
        c.chat_id == w.cadre.id and head("checks.notice.checked").strip()[:2] in c.text
        for c in sent
    )
    await bot.tap(w.cadre, "答复整改")
    await bot.send(w.cadre, "已补充三户群众诉求及办理情况。")
    await bot.photo(w.cadre, file_id="fix1")
    calls = await bot.tap(w.cadre, "提交")
    assert zh("checks.answer_sent", number="Z-0001") in texts(calls)
    (item,) = await _rows(db, "corrections")
    assert item["status"] == "answered"
    # The inspector is asked to review: closes it.
    await deliver(bot, db)
    calls = await bot.tap(w.inspector, "复核通过")
    assert zh("checks.closed", number="Z-0001") in texts(calls)
    (item,) = await _rows(db, "corrections")
    assert item["status"] == "closed" and item["closed_on"] == "2026-11-16"
    events = [e["action"] for e in await _rows(db, "correction_events")]
    assert events == ["open", "answer", "close"]
    # A second press on the same close button changes nothing.
    before = await _counts(db)
    calls = await bot.press(w.inspector, callbacks.CORRECTION.build("close", 1))
    assert alert(calls) == zh("checks.why.closed", number="Z-0001")
    assert await _counts(db) == before


async def test_sent_back_then_answered_again(bot: Harness, seed: Seed, db: Database) -> None:
    w = await _world(bot, seed, db)
    await bot.press(w.leader, w.log_data("cadre1", "fix"))
    await bot.send(w.leader, "请补记上周的走访。")
    await deliver(bot, db)
    await bot.tap(w.cadre, "答复整改")
    await bot.send(w.cadre, "已补记。")
    await bot.tap(w.cadre, "提交")
    await deliver(bot, db)
    await bot.tap(w.leader, "退回重改")
    calls = await bot.send(w.leader, "还缺 11 月 10 日那次。")
    assert zh("checks.sent_back", number="Z-0001") in texts(calls)
    (item,) = await _rows(db, "corrections")
    assert item["status"] == "open"
    sent = await deliver(bot, db)
    assert any(c.chat_id == w.cadre.id and "还缺 11 月 10 日那次" in c.text for c in sent)
    # /checks shows it to the leader, and to the cadre as their own.
    assert "Z-0001" in texts(await bot.send(w.leader, "/checks"))
    assert head("checks.list.mine_head") in texts(await bot.send(w.cadre, "/checks"))


async def test_visit_check_from_the_card_changes_no_visit(
    bot: Harness, seed: Seed, db: Database
) -> None:
    w = await _world(bot, seed, db)
    visit = dict((await db.fetchall("SELECT * FROM visits"))[0])
    calls = await bot.send(w.inspector, "/check 1")
    assert "#1" in texts(calls)
    await bot.tap(w.inspector, "已检查")
    calls = await bot.tap(w.inspector, "无意见")
    assert head("checks.done") in texts(calls)
    (check,) = await _rows(db, "log_checks")
    assert (check["visit_id"], check["verdict"]) == (1, "ok")
    assert await _rows(db, "corrections") == []
    assert dict((await db.fetchall("SELECT * FROM visits"))[0]) == visit
    # The inspector has no edit on the card, and cannot withdraw the visit.
    calls = await bot.press(w.inspector, callbacks.VISIT_LOG.build("wy", 1))
    assert alert(calls)
    assert dict((await db.fetchall("SELECT * FROM visits"))[0]) == visit
    # The card now says who checked it.
    calls = await bot.send(w.leader, "/check 1")
    assert "孙亮" in texts(calls)


async def test_bad_check_presses_are_refused_and_change_nothing(
    bot: Harness, seed: Seed, db: Database
) -> None:
    w = await _world(bot, seed, db)
    leader1 = await join(bot, seed, "leader1", 711)
    before = await _counts(db)
    # Nobody checks their own log.
    calls = await bot.press(leader1, w.log_data("leader1", "ok"))
    assert alert(calls) == zh("checks.why.own_log")
    # A group leader cannot check another group (李强 is in G2).
    calls = await bot.press(leader1, w.log_data("cadre3", "fix"))
    assert alert(calls) == zh("checks.why.not_allowed")
    # A cadre checks nobody.
    calls = await bot.press(w.cadre3, w.log_data("cadre1", "ok"))
    assert alert(calls) == zh("checks.why.not_allowed")
    # Forged data.
    calls = await bot.press(w.inspector, "chk:v1:log:1:garbage:ok")
    assert alert(calls) == zh("common.stale_button")
    calls = await bot.press(w.inspector, "chk:v1:log:999:20261101-20261201:ok")
    assert alert(calls) == zh("checks.why.not_found")
    calls = await bot.press(w.inspector, callbacks.CORRECTION.build("close", 77))
    assert alert(calls) == zh("checks.why.not_found")
    assert await _counts(db) == before
    # A repeated check by the same checker with the same verdict.
    await bot.press(w.office, w.log_data("cadre1", "ok"))
    await bot.tap(w.office, "无意见")
    after = await _counts(db)
    calls = await bot.press(w.office, w.log_data("cadre1", "ok"))
    assert alert(calls) == zh("checks.why.repeated", verdict=zh("checks.verdict.ok"))
    assert await _counts(db) == after
    # A stale press: the visit was withdrawn meanwhile.
    await bot.send(w.cadre, "/visit_withdraw 1")
    await bot.tap(w.cadre, "撤回")
    calls = await bot.press(w.inspector, callbacks.CHECK.build("vis", 1, "fix"))
    assert alert(calls) == zh("checks.why.withdrawn", id=1)
    assert await _counts(db) == after


async def test_only_the_cadre_answers_and_only_the_checker_reviews(
    bot: Harness, seed: Seed, db: Database
) -> None:
    w = await _world(bot, seed, db)
    await bot.press(w.captain, w.log_data("cadre1", "fix"))
    await bot.send(w.captain, "补充照片。")
    before = await _counts(db)
    calls = await bot.press(w.cadre3, callbacks.CORRECTION.build("ans", 1))
    assert alert(calls) == zh("checks.why.not_allowed")
    calls = await bot.press(w.inspector, callbacks.CORRECTION.build("close", 1))
    assert alert(calls) == zh("checks.why.not_allowed")
    calls = await bot.press(w.captain, callbacks.CORRECTION.build("close", 1))
    assert alert(calls) == zh("checks.why.not_answered", number="Z-0001")
    assert await _counts(db) == before


async def test_on_site_inspection_assigns_items_to_the_group_leader(
    bot: Harness, seed: Seed, db: Database
) -> None:
    w = await _world(bot, seed, db)
    await bot.send(w.inspector, "/inspect G1")
    await bot.tap(w.inspector, "今天")
    await bot.send(w.inspector, "东风村")
    await bot.send(w.inspector, "村务公开栏内容未更新。")
    calls = await bot.send(w.inspector, "更新村务公开栏\n整理走访台账")
    assert zh("checks.inspect.done", group="城关一组", items=2) in texts(calls)
    (inspection,) = await _rows(db, "inspections")
    assert (inspection["group_id"], inspection["place"]) == (seed.groups["G1"], "东风村")
    items = await _rows(db, "corrections")
    assert [(i["cadre_id"], i["text"]) for i in items] == [
        (seed.cadres["leader1"], "更新村务公开栏"),
        (seed.cadres["leader1"], "整理走访台账"),
    ]
    sent = await deliver(bot, db)
    assert any(c.chat_id == w.leader.id and "村务公开栏内容未更新" in c.text for c in sent)
    # The leader answers the first item; the inspector closes it.
    await bot.tap(w.leader, "答复整改项")
    await bot.send(w.leader, "已更新。")
    await bot.tap(w.leader, "提交")
    await deliver(bot, db)
    await bot.tap(w.inspector, "复核通过")
    assert [i["status"] for i in await _rows(db, "corrections")] == ["closed", "open"]
    # A group leader may not record an inspection.
    calls = await bot.send(w.leader, "/inspect G1")
    assert zh("checks.inspect.not_allowed") in texts(calls)
    assert len(await _rows(db, "inspections")) == 1


async def test_cadre_tallies_for_the_assessment(bot: Harness, seed: Seed, db: Database) -> None:
    from datetime import date

    from storage.checks import CheckTally, cadre_tallies

    w = await _world(bot, seed, db)
    await bot.press(w.inspector, w.log_data("cadre1", "fix"))
    await bot.send(w.inspector, "补充。")
    await bot.press(w.leader, w.log_data("cadre1", "ok"))
    await bot.tap(w.leader, "无意见")
    tallies = await cadre_tallies(db, date(2026, 11, 1), date(2026, 11, 30))
    # The item is due on 11-23: overdue at the end of the month, not at 11-20.
    assert tallies == {seed.cadres["cadre1"]: CheckTally(2, 0, 1, 1)}
    early = await cadre_tallies(db, date(2026, 11, 1), date(2026, 11, 20))
    assert early[seed.cadres["cadre1"]] == CheckTally(2, 0, 1, 0)
    assert await cadre_tallies(db, date(2026, 10, 1), date(2026, 10, 31)) == {}


async def test_summary_and_export_show_checks_per_team(
    bot: Harness, seed: Seed, db: Database
) -> None:
    from io import BytesIO

    import openpyxl

    from campaign.reporting import Scope
    from services import reports as service
    from tests.test_report_numbers import ask

    w = await _world(bot, seed, db)
    await bot.press(w.inspector, w.log_data("cadre1", "fix"))
    await bot.send(w.inspector, "补充。")
    await bot.press(w.inspector, w.log_data("cadre3", "ok"))
    await bot.tap(w.inspector, "无意见")
    line = zh("reports.checks.line", team="城关镇工作队", checked=2, cadres=7, open=1, overdue=0)
    assert line in texts(await bot.send(w.office, "/summary"))
    out = BytesIO()
    service.export_workbook(ask(db, Scope.everything()), out)
    sheet = openpyxl.load_workbook(BytesIO(out.getvalue()))[zh("reports.xlsx.sheet_checks")]
    rows = [[c.value for c in r] for r in sheet.iter_rows(min_row=2)]
    assert ["城关镇工作队", 7, 2, 1, 0] in rows and ["河口镇工作队", 3, 0, 0, 0] in rows


async def test_the_dialog_resumes_after_a_restart(
    make_bot: Any, bot: Harness, seed: Seed, db: Database
) -> None:
    from tests.visits_support import restart

    w = await _world(bot, seed, db)
    await bot.press(w.inspector, w.log_data("cadre1", "fix"))
    fresh = await restart(make_bot, bot)
    calls = await fresh.send(w.inspector, "请补充走访照片。")
    assert head("checks.done") in texts(calls)
    (item,) = await _rows(db, "corrections")
    assert item["text"] == "请补充走访照片。"
    # /cancel mid-dialog records nothing.
    before = await _counts(db)
    await fresh.press(w.office, w.log_data("cadre1", "fix"))
    calls = await fresh.send(w.office, "/cancel")
    assert zh("checks.flow.cancelled") in texts(calls)
    assert await _counts(db) == before


async def test_one_flow_at_a_time_and_checks_list_by_scope(
    bot: Harness, seed: Seed, db: Database
) -> None:
    w = await _world(bot, seed, db)
    await bot.press(w.leader, w.log_data("cadre1", "fix"))
    await bot.send(w.leader, "补充走访照片。")
    await deliver(bot, db)
    await bot.tap(w.cadre, "答复整改")
    calls = await bot.send(w.cadre, "/visit")
    assert zh("flows.check_dialog") in texts(calls)
    # Another group's leader does not see G1's items; the team leader and office do.
    assert zh("checks.list.none") in texts(await bot.send(w.leader2, "/checks"))
    assert "Z-0001" in texts(await bot.send(w.captain, "/checks"))
    assert "Z-0001" in texts(await bot.send(w.office, "/checks"))
    calls = await bot.press(w.leader2, callbacks.CORRECTION.build("show", 1))
    assert alert(calls) == zh("checks.why.not_found")


def test_checks_config_section() -> None:
    import pytest

    from campaign.settings import SettingsError, parse_settings

    s = parse_settings({"checks": {"correction_days": 3, "urge_repeat_minutes": 30}})
    assert (s.checks.correction_days, s.checks.urge_repeat_minutes) == (3, 30)
    with pytest.raises(SettingsError, match="checks.correction_days"):
        parse_settings({"checks": {"correction_days": 0}})


async def test_inspect_without_a_group_picks_the_team_then_the_group(
    bot: Harness, seed: Seed, db: Database
) -> None:
    w = await _world(bot, seed, db)
    calls = await bot.send(w.inspector, "/inspect")
    assert zh("checks.inspect.pick_team") in texts(calls)
    calls = await bot.tap(w.inspector, "河口镇工作队")
    assert any(zh("checks.inspect.pick_group") in (c.text or "") for c in calls)
    await bot.tap(w.inspector, "返回工作队")
    await bot.tap(w.inspector, "城关镇工作队")
    await bot.tap(w.inspector, "城关二组")
    await bot.tap(w.inspector, "今天")
    await bot.send(w.inspector, "红旗村")
    await bot.send(w.inspector, "活动阵地未开放。")
    calls = await bot.send(w.inspector, "开放活动阵地")
    assert zh("checks.inspect.done", group="城关二组", items=1) in texts(calls)
    (inspection,) = await _rows(db, "inspections")
    assert inspection["group_id"] == seed.groups["G2"]
    # The picker is the inspector's: a group leader pressing its buttons records nothing.
    calls = await bot.press(w.leader, callbacks.INSPECTION.build("grp", seed.groups["G1"]))
    assert alert(calls) == zh("checks.inspect.not_allowed")
    calls = await bot.press(w.leader, callbacks.INSPECTION.build("team", seed.teams["T1"]))
    assert alert(calls) == zh("checks.inspect.not_allowed")
    calls = await bot.press(w.inspector, "isp:v1:grp:999999")
    assert alert(calls) == zh("checks.inspect.usage")
    assert len(await _rows(db, "inspections")) == 1
