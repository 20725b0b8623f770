"""Model cases (典型): the office selects a flagged visit from /cases with a title and a
write-up, the cadre is told through the outgoing queue, and the case counts in the
score. Only the office selects; forged, stale and repeated presses change nothing."""

from __future__ import annotations

import dataclasses
from io import BytesIO
from typing import Any

import openpyxl

from campaign.assessment import Level
from campaign.callbacks import CASES
from campaign.i18n import default_catalog
from campaign.periods import parse_period
from campaign.reporting import Scope
from campaign.settings import Settings
from services import assessment
from services import reports as report_service
from storage.db import Database
from tests.conftest import join
from tests.factories import Seed
from tests.fakebot import Harness, shown
from tests.problem_helpers import alert, outbox
from tests.report_factories import november

T = default_catalog().t


def zh(key: str, **values: Any) -> str:
    return T("zh-CN", key, **values)


async def _rows(db: Database) -> list[tuple[Any, ...]]:
    rows = await db.fetchall("SELECT visit_id, cadre_id, title, writeup FROM model_cases")
    return [tuple(r) for r in rows]


async def test_the_office_selects_a_case(bot: Harness, seed: Seed, db: Database) -> None:
    nov = await november(db, seed)
    cadre2 = await join(bot, seed, "cadre2", 901)
    office = await join(bot, seed, "office1", 902)
    calls = await bot.send(office, "/cases 2026-11")
    assert any("帮助建材厂对接银行贷款" in c.text for c in shown(calls))  # the report
    offer = [c for c in shown(calls) if c.text == zh("model_cases.choose")]
    assert offer and offer[0].buttons == [
        (
            zh("model_cases.pick", cadre="王芳", place="城关建材厂", date="11-3"),
            CASES.build("pick", nov.visits["v4"]),
        )
    ]
    # With a team after the period, the buttons follow the same period.
    calls = await bot.send(office, "/cases 2026-11 城关镇")
    assert [c for c in shown(calls) if c.text == zh("model_cases.choose")]
    calls = await bot.tap(office, "王芳")
    assert zh("model_cases.dialog.ask_title", max=40) in shown(calls)[-1].text
    calls = await bot.send(office, "银企对接解难题")
    assert shown(calls)[-1].text.startswith(zh("model_cases.dialog.ask_writeup", max=500)[:6])
    await bot.send(office, "组织银行上门，为建材厂解决流动资金200万元。")
    calls = await bot.tap(office, zh("model_cases.dialog.confirm_ok"))
    assert shown(calls)[-1].text == zh("model_cases.done", title="银企对接解难题", cadre="王芳")
    assert await _rows(db) == [
        (
            nov.visits["v4"],
            seed.cadres["cadre2"],
            "银企对接解难题",
            "组织银行上门，为建材厂解决流动资金200万元。",
        )
    ]
    told = await outbox(db, cadre2.id)
    assert told and "银企对接解难题" in told[-1]["payload"]["text"]

    # It counts in the score (selected on 16 November).
    nov_period = parse_period("2026-11", bot.clock().date())
    ranking = await assessment.ranking(
        db, Settings(), nov_period, Level.CADRE, Scope.everything(), bot.clock()
    )
    wang = next(x for x in ranking.lines if x.name == "王芳")
    assert wang.score.tallies["cases_selected"] == 1 and wang.score.points["cases_selected"] == 5

    # The export's 典型 sheet has it; a team leader of the other team does not see it.
    out = BytesIO()
    ask = report_service.Ask(
        db.path, Settings(), default_catalog(), "zh-CN", Scope.everything(), nov_period, bot.clock()
    )
    report_service.export_workbook(ask, out)
    sheet = openpyxl.load_workbook(BytesIO(out.getvalue()))[zh("model_cases.xlsx.sheet")]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][1] == zh("model_cases.xlsx.title") and rows[1][1:5] == (
        "银企对接解难题",
        "王芳",
        "城关镇工作队",
        "县教育局",
    )
    other = dataclasses.replace(ask, scope=Scope.team(seed.teams["T2"]))
    out = BytesIO()
    report_service.export_workbook(other, out)
    sheet = openpyxl.load_workbook(BytesIO(out.getvalue()))[zh("model_cases.xlsx.sheet")]
    assert len(list(sheet.iter_rows(values_only=True))) == 1  # the header alone

    # Selected once: the button again, and the list no longer offers it.
    pick = CASES.build("pick", nov.visits["v4"])
    assert alert(await bot.press(office, pick)) == zh("model_cases.already")
    calls = await bot.send(office, "/cases 2026-11")
    assert not [c for c in shown(calls) if c.text == zh("model_cases.choose")]
    assert len(await _rows(db)) == 1


async def test_only_the_office_selects(bot: Harness, seed: Seed, db: Database) -> None:
    nov = await november(db, seed)
    captain = await join(bot, seed, "captain1", 903)
    calls = await bot.send(captain, "/cases 2026-11")
    assert calls and not [c for c in shown(calls) if c.text == zh("model_cases.choose")]
    pick = CASES.build("pick", nov.visits["v4"])
    assert alert(await bot.press(captain, pick)) == zh("model_cases.office_only")
    inspector = await join(bot, seed, "inspector1", 904)
    assert alert(await bot.press(inspector, pick)) == zh("model_cases.office_only")
    assert await _rows(db) == []
    drafts = await db.fetchall("SELECT id FROM drafts WHERE kind = 'model_case'")
    assert drafts == []


async def test_forged_and_wrong_presses(bot: Harness, seed: Seed, db: Database) -> None:
    nov = await november(db, seed)
    office = await join(bot, seed, "office1", 905)
    not_flagged = CASES.build("pick", nov.visits["v1"])
    assert alert(await bot.press(office, not_flagged)) == zh("model_cases.not_flagged")
    assert alert(await bot.press(office, CASES.build("pick", 999999))) == zh(
        "model_cases.not_flagged"
    )
    assert alert(await bot.press(office, "cas:v1:pick:abc")) == zh("common.stale_button")
    # A confirm button of a dialog that never was.
    assert alert(await bot.press(office, CASES.build("ok", 424242))) == zh(
        "model_cases.dialog.draft_closed"
    )
    assert await _rows(db) == []


async def test_cancel_selects_nothing(bot: Harness, seed: Seed, db: Database) -> None:
    nov = await november(db, seed)
    office = await join(bot, seed, "office1", 906)
    await bot.press(office, CASES.build("pick", nov.visits["v4"]))
    await bot.send(office, "标题")
    calls = await bot.send(office, "/cancel")
    assert shown(calls)[-1].text == zh("model_cases.dialog.cancelled")
    assert await _rows(db) == []
