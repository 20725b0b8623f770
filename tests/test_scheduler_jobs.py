"""The jobs against a real database: who is nudged, who is behind, period-end warnings,
the missing-calendar notice, deadline colours, auto-escalation, the weekly bulletin.
Every job runs with an explicit ``now``; assertions are on outbox rows."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from campaign.schedule import BULLETIN, NUDGE, PACE, PERIOD_END
from campaign.settings import ReminderSettings, Settings
from scheduler.runner import check_deadlines, plan_by_id, run_if_due, sweep
from services.bulletin import build_bulletin
from services.runtime import Deps
from storage import reminders
from storage.bulletin import week_stats
from storage.db import Database, to_text
from tests.factories import Seed
from tests.fakebot import FakeClock
from tests.report_factories import has_cjk_font
from tests.scheduler_factories import (
    OFFICE_CHAT,
    TEAM1_CHAT,
    TG,
    add_problem,
    add_visit,
    bind_chat,
    bind_world,
    first_unknown_year,
    local,
    make_deps,
    queued,
)


@pytest.fixture
async def world(db: Database, seed: Seed) -> Seed:
    return await bind_world(db, seed)


@pytest.fixture
def deps(settings: Settings, db: Database, clock: FakeClock) -> Deps:
    return make_deps(settings, db, clock)


async def run(deps: Deps, job: str, now: datetime) -> str:
    deps.clock.set(now)  # type: ignore[attr-defined]
    outcome = await run_if_due(deps, plan_by_id(deps, job), now)
    return outcome.status


def chats(rows: list[Any]) -> set[int]:
    return {r.chat_id for r in rows}


# --- evening nudge ----------------------------------------------------------------


async def test_nudge_goes_to_field_cadres_who_logged_nothing(
    deps: Deps, db: Database, world: Seed
) -> None:
    s, today = world, date(2026, 11, 16)
    await add_visit(db, s.cadres["cadre1"], today, s.places["v1"])
    # Written today about yesterday: still work logged today.
    await add_visit(
        db,
        s.cadres["leader1"],
        today - timedelta(days=1),
        s.places["v1"],
        created_at=local(2026, 11, 16, 12),
    )
    await add_problem(
        db,
        s.cadres["cadre4"],
        s.places["v3"],
        deadline=local(2026, 11, 23, 17),
        created_at=local(2026, 11, 16, 10),
    )
    await add_visit(db, s.cadres["captain2"], today, s.places["v3"], status="withdrawn")
    await reminders.mute(db, s.cadres["cadre3"], local(2026, 11, 19), local(2026, 11, 16, 8))

    assert await run(deps, NUDGE, local(2026, 11, 16, 19, 30)) == "ran"
    rows = await queued(db, "nudge:")
    expected = {TG[k] for k in ("leader2", "leader3", "captain1", "deputy1", "captain2")}
    assert chats(rows) == expected
    assert {r.key for r in rows} == {
        f"nudge:{s.cadres[k]}:2026-11-16"
        for k in ("leader2", "leader3", "captain1", "deputy1", "captain2")
    }
    by_chat = {r.chat_id: r for r in rows}
    assert "今天还没有记录走访" in by_chat[TG["leader2"]].text
    assert "you have not logged a visit today" in by_chat[TG["leader3"]].text
    assert not any(r.urgent for r in rows)  # the dispatcher holds them in quiet hours
    # Unsent by nudge_latest (21:00), a nudge is dropped rather than sent next morning.
    expiry = await db.fetchall("SELECT DISTINCT expires_at FROM outbox WHERE key LIKE 'nudge:%'")
    assert [r["expires_at"] for r in expiry] == [to_text(local(2026, 11, 16, 21))]


async def test_no_nudge_on_a_holiday_but_on_a_make_up_saturday(
    deps: Deps, db: Database, world: Seed
) -> None:
    # Monday 5 October 2026, National Day: the last due nudge was 30 September.
    assert await run(deps, NUDGE, local(2026, 10, 5, 19, 30)) == "skipped"
    assert await queued(db, "nudge:") == []
    # Saturday 10 October is a make-up working day.
    assert await run(deps, NUDGE, local(2026, 10, 10, 19, 30)) == "ran"
    rows = await queued(db, "nudge:")
    assert rows and all(r.key.endswith(":2026-10-10") for r in rows)


async def test_county_holiday_silences_the_nudge(
    settings: Settings, db: Database, clock: FakeClock, world: Seed
) -> None:
    r = dataclasses.replace(settings.reminders, extra_holidays=("2026-11-16",))
    d = make_deps(dataclasses.replace(settings, reminders=r), db, clock)
    assert await run(d, NUDGE, local(2026, 11, 16, 19, 45)) == "skipped"  # Friday's, too late
    assert await queued(db, "nudge:") == []


async def test_year_without_official_calendar_still_runs(
    settings: Settings, db: Database, clock: FakeClock, world: Seed
) -> None:
    year = first_unknown_year()
    new_year = date(year, 1, 1)
    r = dataclasses.replace(settings.reminders, extra_holidays=(new_year.isoformat(),))
    d = make_deps(dataclasses.replace(settings, reminders=r), db, clock)
    # The first Tuesday of the year: a working day by the Monday-Friday fallback.
    tuesday = new_year + timedelta(days=(1 - new_year.weekday()) % 7 or 7)
    evening = local(tuesday.year, tuesday.month, tuesday.day, 19, 35)
    assert await run(d, NUDGE, evening) == "ran"
    assert {r.key.rsplit(":", 1)[1] for r in await queued(db, "nudge:")} == {tuesday.isoformat()}
    # The office hears once that the year's official calendar is missing.
    now = local(year, 1, 5, 10)
    await check_deadlines(d, now)
    await check_deadlines(d, now + timedelta(hours=1))
    notices = await queued(db, "calendar-missing:")
    assert [(n.key, n.chat_id) for n in notices] == [(f"calendar-missing:{year}", OFFICE_CHAT)]
    assert str(year) in notices[0].text and "extra_holidays" in notices[0].text


async def test_calendar_notice_waits_for_an_office_chat_and_warns_in_december(
    deps: Deps, db: Database, seed: Seed
) -> None:
    year = first_unknown_year()
    await check_deadlines(deps, local(year - 1, 11, 20, 10))
    await check_deadlines(deps, local(year - 1, 12, 1, 10))
    assert await queued(db, "calendar-missing:") == []  # no office chat to tell yet
    await bind_chat(db, OFFICE_CHAT, "office", seed.cadres["office1"])
    if year == 2027:  # December 2026 looks ahead to 2027
        await check_deadlines(deps, local(2026, 12, 2, 10))
        assert [n.key for n in await queued(db, "calendar-missing:")] == ["calendar-missing:2027"]
    await check_deadlines(deps, local(year, 1, 4, 10))
    assert [n.key for n in await queued(db, "calendar-missing:")] == [f"calendar-missing:{year}"]


# --- weekly pace ------------------------------------------------------------------


async def _visits(db: Database, cadre_id: int, place_id: int, days: list[date]) -> None:
    for day in days:
        await add_visit(db, cadre_id, day, place_id)


def _workdays(start: date, n: int) -> list[date]:
    from campaign.workcalendar import WorkCalendar

    cal, out, day = WorkCalendar(), [], start
    while len(out) < n:
        if cal.is_workday(day):
            out.append(day)
        day += timedelta(days=1)
    return out


async def test_pace_check_tells_cadres_and_their_group_leader(
    deps: Deps, db: Database, world: Seed
) -> None:
    s = world
    # 16 November: 10 of November's 21 working days and 28 of Q4's 62 have passed, so
    # 3 visits / 4 days are expected this month and 10 visits / 13 days this quarter.
    await _visits(db, s.cadres["cadre1"], s.places["v1"], _workdays(date(2026, 10, 8), 10))
    await _visits(db, s.cadres["cadre1"], s.places["v1"], _workdays(date(2026, 11, 2), 4))
    await reminders.mute(db, s.cadres["cadre3"], local(2026, 11, 19), local(2026, 11, 16, 8))

    assert await run(deps, PACE, local(2026, 11, 16, 9)) == "ran"
    rows = await queued(db, "pace:")
    keys = {r.key for r in rows}
    assert f"pace:{s.cadres['cadre1']}:2026-W47" not in keys  # on track
    assert f"pace:{s.cadres['cadre3']}:2026-W47" not in keys  # paused
    assert f"pace:{s.cadres['cadre2']}:2026-W47" not in keys  # not bound: cannot be told
    own = {r.chat_id: r.text for r in rows}
    assert "visits 0/8, 3 expected by now, 8 still to do" in own[TG["cadre4"]]
    assert "Q4" in own[TG["cadre4"]] and "visits 0/24, 10 expected" in own[TG["cadre4"]]
    assert "本月（11月）：走访 0/8 次，按进度应达 3 次，还差 8 次" in own[TG["leader1"]]

    lists = {r.chat_id: r for r in await queued(db, "pace-group:")}
    g1 = lists[TG["leader1"]]
    assert g1.key == f"pace-group:{s.groups['G1']}:{s.cadres['leader1']}:2026-W47"
    assert "城关一组" in g1.text and "王芳" in g1.text and "尚未绑定" in g1.text
    assert "张伟" not in g1.text and "刘洋" not in g1.text  # on track; the leader himself
    assert "李强" in lists[TG["leader2"]].text  # paused cadres still show to their leader
    assert "赵敏" in lists[TG["leader3"]].text and "behind" in lists[TG["leader3"]].text
    assert TG["captain1"] not in lists  # team leaders lead no group


async def test_paused_group_leader_gets_no_list(deps: Deps, db: Database, world: Seed) -> None:
    await reminders.mute(db, world.cadres["leader1"], local(2026, 11, 17), local(2026, 11, 16, 8))
    await run(deps, PACE, local(2026, 11, 16, 9))
    assert TG["leader1"] not in chats(await queued(db, "pace"))


# --- period end -------------------------------------------------------------------


async def test_period_end_warning_is_not_mutable(deps: Deps, db: Database, world: Seed) -> None:
    s = world
    await _visits(db, s.cadres["cadre1"], s.places["v1"], _workdays(date(2026, 11, 2), 10))
    await reminders.mute(db, s.cadres["cadre3"], local(2026, 11, 30), local(2026, 11, 25, 8))
    # Thursday 26 November: three working days (26, 27, 30) are left.
    assert await run(deps, PERIOD_END, local(2026, 11, 25, 9)) == "not-due"
    assert await run(deps, PERIOD_END, local(2026, 11, 26, 9)) == "ran"
    rows = {r.chat_id: r for r in await queued(db, "period-end:")}
    assert TG["cadre1"] not in rows  # quota met
    assert rows[TG["cadre3"]].key == f"period-end:{s.cadres['cadre3']}:2026-11"
    assert "还剩 3 个工作日" in rows[TG["cadre3"]].text
    assert "走访 8 次，驻村 10 天" in rows[TG["cadre3"]].text
    assert "季度" not in rows[TG["cadre3"]].text  # the quarter does not end in November
    assert TG["office1"] not in rows and TG["inspector1"] not in rows


async def test_quarter_end_is_warned_with_the_month(deps: Deps, db: Database, world: Seed) -> None:
    assert await run(deps, PERIOD_END, local(2026, 12, 29, 9, 5)) == "ran"
    text = {r.chat_id: r.text for r in await queued(db, "period-end:")}[TG["cadre1"]]
    assert "本月（12月）到 12月31日 截止" in text
    assert "本季度（第4季度）" in text and "走访 24 次" in text


# --- deadlines --------------------------------------------------------------------


async def test_deadline_colours_each_once(deps: Deps, db: Database, world: Seed) -> None:
    s = world
    pid = await add_problem(
        db, s.cadres["cadre1"], s.places["v1"], deadline=local(2026, 11, 18, 17)
    )
    moments = [
        (local(2026, 11, 15, 9), set()),
        (local(2026, 11, 16, 9), {"blue"}),
        (local(2026, 11, 17, 9), {"blue"}),
        (local(2026, 11, 18, 8), {"blue", "yellow"}),
        (local(2026, 11, 18, 12), {"blue", "yellow"}),
        (local(2026, 11, 18, 17, 30), {"blue", "yellow", "red"}),
        (local(2026, 11, 20, 9), {"blue", "yellow", "red"}),
    ]
    for now, colours in moments:
        await check_deadlines(deps, now)
        rows = await queued(db, "deadline:")
        assert {r.key.split(":")[3] for r in rows} == colours, now
        assert len(rows) == len(colours)
    rows = await queued(db, "deadline:")
    assert {r.chat_id for r in rows} == {TG["leader1"]}  # the group leader owns it
    assert rows[0].key == f"deadline:{pid}:group:blue:{TG['leader1']}"
    assert "🔵" in rows[0].text and f"P-{pid}" in rows[0].text and "还有 2 天" in rows[0].text
    assert "东风村 · 基础设施" in rows[0].text
    assert "🟡" in rows[1].text and "🔴" in rows[2].text


async def test_deadline_owner_by_level(deps: Deps, db: Database, world: Seed) -> None:
    s = world
    due = local(2026, 11, 16, 18)
    team = await add_problem(db, s.cadres["cadre1"], s.places["v1"], deadline=due, level="team")
    office = await add_problem(
        db, s.cadres["cadre4"], s.places["v3"], deadline=due, level="office", urgent=True
    )
    claimed = await add_problem(
        db, s.cadres["cadre3"], s.places["v2"], deadline=due, owner_id=s.cadres["captain1"]
    )
    closed = await add_problem(
        db, s.cadres["cadre1"], s.places["v1"], deadline=due, status="solved"
    )
    await check_deadlines(deps, local(2026, 11, 16, 9))
    rows = await queued(db, "deadline:")
    by_problem: dict[int, set[int]] = {}
    for r in rows:
        by_problem.setdefault(int(r.key.split(":")[1]), set()).add(r.chat_id)
    assert by_problem[team] == {TG["captain1"], TG["deputy1"]}
    assert by_problem[office] == {OFFICE_CHAT}
    assert by_problem[claimed] == {TG["captain1"]}
    assert closed not in by_problem
    office_text = next(r.text for r in rows if r.chat_id == OFFICE_CHAT)
    assert "（急）" in office_text and "活动办公室" in office_text


async def test_unjoined_group_falls_back_to_the_team_chat(
    deps: Deps, db: Database, seed: Seed
) -> None:
    await bind_chat(db, TEAM1_CHAT, "team", seed.cadres["captain1"], seed.teams["T1"])
    await add_problem(db, seed.cadres["cadre1"], seed.places["v1"], deadline=local(2026, 11, 17, 9))
    await add_problem(db, seed.cadres["cadre4"], seed.places["v3"], deadline=local(2026, 11, 17, 9))
    await check_deadlines(deps, local(2026, 11, 16, 9))
    assert chats(await queued(db, "deadline:")) == {TEAM1_CHAT}  # team 2 has no chat: nobody


async def test_sweep_warns_red_then_escalates_through_the_ledger(
    deps: Deps, db: Database, world: Seed
) -> None:
    pid = await add_problem(
        db, world.cadres["cadre1"], world.places["v1"], deadline=local(2026, 11, 16, 8)
    )
    now = local(2026, 11, 16, 9)
    await sweep(deps, now)
    # The group leader was warned red at group level, then the problem moved up.
    keys = [r.key for r in await queued(db, "deadline:")]
    assert keys == [f"deadline:{pid}:group:red:{TG['leader1']}"]
    row = await db.fetchone("SELECT level FROM problems WHERE id = ?", (pid,))
    assert row is not None and row["level"] == "team"
    events = await db.fetchall(
        "SELECT action, from_level, to_level FROM problem_events WHERE problem_id = ?", (pid,)
    )
    assert [tuple(e) for e in events if e["action"] == "auto_escalate"] == [
        ("auto_escalate", "group", "team")
    ]
    await sweep(deps, now)  # a second sweep at the same moment moves nothing more
    row = await db.fetchone("SELECT level FROM problems WHERE id = ?", (pid,))
    assert row is not None and row["level"] == "team"


# --- bulletin ---------------------------------------------------------------------


async def _bulletin_week(db: Database, s: Seed) -> None:
    mon = date(2026, 11, 9)
    c = s.cadres
    await add_visit(db, c["cadre1"], mon, s.places["v1"])
    await add_visit(db, c["cadre1"], mon, s.places["e1"])
    await add_visit(db, c["cadre1"], mon + timedelta(days=2), s.places["v1"])
    await add_visit(db, c["cadre3"], mon + timedelta(days=6), s.places["v2"])
    await add_visit(db, c["cadre4"], mon + timedelta(days=1), s.places["v3"])
    await add_visit(
        db,
        c["cadre4"],
        mon + timedelta(days=3),
        s.places["e2"],
        model_case=True,
        text="帮助河口茶厂对接电商平台，一周销售春茶两千斤",
    )
    await add_visit(db, c["leader3"], mon + timedelta(days=4), s.places["v3"], status="withdrawn")
    await add_visit(db, c["cadre4"], mon + timedelta(days=7), s.places["v3"])  # next week
    await add_problem(
        db,
        c["cadre1"],
        s.places["v1"],
        deadline=local(2026, 11, 20, 17),
        created_at=local(2026, 11, 10, 10),
    )
    await add_problem(
        db,
        c["cadre3"],
        s.places["v2"],
        deadline=local(2026, 11, 20, 17),
        status="solved",
        created_at=local(2026, 11, 11, 10),
        closed_at=local(2026, 11, 13, 10),
    )
    await add_problem(
        db,
        c["cadre4"],
        s.places["v3"],
        deadline=local(2026, 11, 5, 17),
        status="explained",
        created_at=local(2026, 10, 29, 10),
        closed_at=local(2026, 11, 12, 10),
    )
    await add_problem(
        db,
        c["cadre4"],
        s.places["v3"],
        deadline=local(2026, 11, 14, 17),
        created_at=local(2026, 11, 1, 10),
    )


async def test_weekly_bulletin_to_the_office(deps: Deps, db: Database, world: Seed) -> None:
    await _bulletin_week(db, world)
    assert await run(deps, BULLETIN, local(2026, 11, 16, 8, 30)) == "ran"
    assert await run(deps, BULLETIN, local(2026, 11, 16, 9, 30)) == "done-before"
    rows = await queued(db, "bulletin:")
    assert [(r.key, r.chat_id) for r in rows] == [("bulletin:2026-W46", OFFICE_CHAT)]
    # The week's chart follows the text as a photo uploaded from a file beside the database.
    chart = await db.fetchone(
        "SELECT method, payload FROM outbox WHERE key = 'bulletin-chart:2026-W46'"
    )
    if has_cjk_font():  # without one the text goes alone (the log says why)
        # Queued channel-neutral: the Telegram edge makes it a sendPhoto when it sends.
        assert chart is not None and chart["method"] == "sendMessage"
        photo = json.loads(chart["payload"])["photos"][0]
        png = Path(photo).read_bytes()  # noqa: ASYNC240  (a test reading its own file)
        assert png.startswith(b"\x89PNG") and len(png) > 10_000
    text = rows[0].text
    assert "2026年第46周：11月9日—11月15日" in text
    assert "走访 6 次，驻村 5 人天" in text
    assert "新反映问题 2 件，解决 1 件，解释说明 1 件；目前超期未办结 1 件" in text
    # 河口镇: 2 person-days over 3 cadres beats 城关镇: 3 over 7.
    assert text.index("1. 河口镇工作队") < text.index("2. 城关镇工作队")
    assert "人均 0.7 天" in text and "人均 0.4 天" in text
    assert "本周典型案例 1 个" in text and "赵敏（河口镇工作队）在河口茶厂" in text


async def test_bulletin_in_english_and_without_teams(deps: Deps, db: Database, world: Seed) -> None:
    await _bulletin_week(db, world)
    week = date(2026, 11, 9)
    from campaign.periods import week_of

    stats = await week_stats(
        db, week_of(week), local(2026, 11, 9), local(2026, 11, 16), local(2026, 11, 16, 8, 30)
    )
    b = build_bulletin(deps, stats, "en")
    assert "Weekly bulletin (2026, week 46: Nov 9 to Nov 15)" in b.text
    assert "6 visits, 5 person-days" in b.text
    empty = dataclasses.replace(stats, teams=[], model_cases=[], model_case_count=0)
    assert "No work teams" in build_bulletin(deps, empty, "en").text


async def test_bulletin_moves_past_a_holiday_monday(deps: Deps, db: Database, world: Seed) -> None:
    # Monday 5 October 2026 is a holiday; the last due bulletin (28 September) is over
    # six days old by then, so it is not made up.
    assert await run(deps, BULLETIN, local(2026, 10, 5, 9)) == "skipped"
    assert await run(deps, BULLETIN, local(2026, 10, 7, 9)) == "not-due"
    assert await queued(db, "bulletin:") == []
    # The week's first working day is Thursday 8th: week 40 (28 Sep - 4 Oct) goes then.
    assert await run(deps, BULLETIN, local(2026, 10, 8, 8, 29)) == "not-due"
    assert await run(deps, BULLETIN, local(2026, 10, 8, 8, 30)) == "ran"
    assert [r.key for r in await queued(db, "bulletin:")] == ["bulletin:2026-W40"]


async def test_settings_reach_the_jobs(
    settings: Settings, db: Database, clock: FakeClock, world: Seed
) -> None:
    r = dataclasses.replace(ReminderSettings(), evening_nudge=time(18, 0))
    d = make_deps(dataclasses.replace(settings, reminders=r), db, clock)
    assert await run(d, NUDGE, local(2026, 11, 16, 18, 5)) == "ran"


async def test_office_warnings_reach_the_office_without_a_working_office_chat(
    deps: Deps, db: Database, world: Seed
) -> None:
    s = world
    due = local(2026, 11, 16, 18)
    first = await add_problem(db, s.cadres["cadre4"], s.places["v3"], deadline=due, level="office")
    async with db.write() as conn:  # the bot was removed from the office chat
        await conn.execute(
            "INSERT INTO unreachable_chats (chat_id, since, reason) VALUES (?, '', 'kicked')",
            (OFFICE_CHAT,),
        )
    await check_deadlines(deps, local(2026, 11, 16, 9))
    rows = [r for r in await queued(db, "deadline:") if r.key.startswith(f"deadline:{first}:")]
    assert chats(rows) == {TG["office1"]}  # each office member, privately
