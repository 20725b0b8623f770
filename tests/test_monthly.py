"""The month's assessment on the first working day of the next month: laggards to each
team leader and, by sending unit, to the office chat; each sending unit's summary to its
contact (named on the roster) once they joined. Also the roster's unit-contact column."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from campaign.i18n import default_catalog
from campaign.roster import roster_rows
from campaign.schedule import MONTHLY
from handlers.common import deps as deps_of
from scheduler.runner import plan_by_id, run_if_due
from storage.db import Database
from storage.roster import import_roster, load_roster
from tests.conftest import join
from tests.factories import Seed
from tests.fakebot import Harness
from tests.report_factories import november
from tests.scheduler_factories import OFFICE_CHAT, bind_chat, local, queued

T = default_catalog().t


def zh(key: str, **values: Any) -> str:
    return T("zh-CN", key, **values)


async def _contact(db: Database, unit: str, contact: str, phone: str | None) -> None:
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO unit_contacts (unit, contact, phone) VALUES (?, ?, ?)",
            (unit, contact, phone),
        )


async def test_the_month_goes_to_leaders_office_and_unit_contacts(
    bot: Harness, seed: Seed, db: Database
) -> None:
    await november(db, seed)
    await bind_chat(db, OFFICE_CHAT, "office", seed.cadres["office1"])
    captain = await join(bot, seed, "captain1", 971)
    # 县发改局's contact is its group leader 刘洋 (joined); 县教育局's is a name only.
    leader = await join(bot, seed, "leader1", 972)
    await _contact(db, "县发改局", "138 0000 0011", "+8613800000011")
    await _contact(db, "县教育局", "王局长", None)
    d = deps_of(bot.app)
    bot.clock.set(local(2026, 12, 1, 9, 30))  # Tuesday 1 December, a working day
    outcome = await run_if_due(d, plan_by_id(d, MONTHLY), bot.clock())
    assert outcome.status == "ran"

    mine = await queued(db, "laggards:2026-11:")
    assert [r.chat_id for r in mine] == [captain.id]  # captain2 has not joined
    text = mine[0].text
    assert text.startswith(zh("monthly.leader_head", team="城关镇工作队", month="2026年11月"))
    # Every one of 城关's cadres is short of the quota (8 visits, 10 days); the lowest
    # five by score: 刘洋 -2 (P1 overdue), then 0, 0 (陈静, 周丽), 6.75, 7.75.
    assert "· 刘洋（城关一组）：-2.0 分" in text and "张伟" not in text
    office = await queued(db, "laggards-office:2026-11")
    assert len(office) == 1 and office[0].chat_id == OFFICE_CHAT
    assert "【县发改局】" in office[0].text and "【县农业农村局】" in office[0].text

    units = await queued(db, "unit-month:2026-11:")
    assert [r.chat_id for r in units] == [leader.id]
    assert units[0].text.startswith("📊 县发改局｜2026年11月选派干部工作情况：共 2 人")
    assert "· 张伟（城关镇工作队）：走访 3/8 次，驻村 2/10 天" in units[0].text

    # Once: a second run the same month queues nothing more.
    again = await run_if_due(d, plan_by_id(d, MONTHLY), bot.clock())
    assert again.status == "done-before"


async def test_not_due_after_the_first_working_day(bot: Harness, seed: Seed) -> None:
    d = deps_of(bot.app)
    # Due on Monday 2 November at 09:00; made up for a week, then no longer.
    bot.clock.set(local(2026, 11, 9, 9, 30))
    assert (await run_if_due(d, plan_by_id(d, MONTHLY), bot.clock())).status == "skipped"
    bot.clock.set(local(2026, 11, 16, 9, 30))
    assert (await run_if_due(d, plan_by_id(d, MONTHLY), bot.clock())).status == "not-due"


async def test_the_roster_names_unit_contacts(db: Database, seed: Seed, tmp_path: Path) -> None:
    roster = await load_roster(db)
    assert "单位联系人" not in roster_rows(roster)["cadres"][0]  # none named: as before
    first = roster.cadres[0]
    named = roster.cadres[0].__class__(
        first.phone, first.name, first.role, first.team, first.group, first.unit, "张主任"
    )
    changed = roster.__class__(
        roster.teams, roster.groups, (named, *roster.cadres[1:]), roster.places
    )
    await import_roster(db, changed, local(2026, 11, 16))
    rows = await db.fetchall("SELECT unit, contact, phone FROM unit_contacts")
    assert [tuple(r) for r in rows] == [(first.unit, "张主任", None)]
    again = await load_roster(db)
    rows_out = roster_rows(again)["cadres"]
    assert rows_out[0][-1] == "单位联系人" and "张主任" in [r[-1] for r in rows_out[1:]]
