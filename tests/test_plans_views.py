"""Plans in the office's views (/summary, the export's 工作计划 sheet, the weekly
bulletin), the workday reminders (due soon to owners, overdue to leaders; mute, quiet
hours, the work calendar) and the tallies the assessment reads (``owner_tallies``)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from io import BytesIO

import openpyxl
import pytest

from campaign.i18n import default_catalog
from campaign.periods import parse_period
from campaign.plans import PlanRow
from campaign.quiet import waits_for_morning
from campaign.reporting import Scope
from campaign.schedule import PLAN_REMIND
from campaign.settings import Settings
from campaign.workcalendar import WorkCalendar
from scheduler.runner import plan_by_id, run_if_due
from services import plan_reports
from services import reports as service
from services.plan_reminders import horizon, plan_reminder_items
from services.runtime import Deps
from storage import plans as store
from storage.db import Database
from storage.plans import PlanTally
from storage.reminders import mute
from tests.factories import Seed
from tests.fakebot import FakeClock
from tests.scheduler_factories import bind_world, local, make_deps

T = default_catalog()
NOW = datetime(2026, 11, 16, 9, 0, tzinfo=local(2026, 1, 1).tzinfo)
TODAY = NOW.date()


def zh(key: str, **values: object) -> str:
    return T.t("zh-CN", key, **values)


def item(
    seed: Seed, code: str, group: str | None, owners: list[str], due: date, **kw: object
) -> PlanRow:
    team = "T2" if group == "G3" else "T1"
    values: dict[str, object] = {
        "row": 2, "code": code, "team_id": seed.teams[team],
        "group_id": seed.groups[group] if group else None, "place_id": None,
        "month": f"{due.year:04d}-{due.month:02d}", "due_date": due, "title": f"事项{code}",
        "measure": "", "target": None, "unit": "", "kind": None,
        "owners": tuple(seed.cadres[o] for o in owners), "status": None, "cancel_reason": "",
    }  # fmt: skip
    values.update(kw)
    return PlanRow(**values)  # type: ignore[arg-type]


async def world(db: Database, seed: Seed) -> dict[str, int]:
    rows = [
        item(seed, "A1", "G1", ["cadre1"], date(2026, 11, 10)),  # overdue
        item(seed, "A2", "G1", ["cadre1", "leader1"], date(2026, 11, 18)),  # due in 2 workdays
        item(seed, "A3", "G1", ["cadre1"], date(2026, 11, 5), status="done"),
        item(seed, "A4", "G1", ["cadre1"], date(2026, 11, 20), status="cancelled",
             cancel_reason="并入A2"),
        item(seed, "B1", "G2", ["cadre3"], date(2026, 11, 30)),
        item(seed, "T1", None, ["captain1"], date(2026, 11, 12)),  # the team's own, overdue
        item(seed, "C1", "G3", ["cadre4"], date(2026, 11, 25)),
        item(seed, "D1", "G1", ["cadre1"], date(2026, 12, 15)),  # next month
    ]  # fmt: skip
    await store.import_rows(db, rows, datetime(2026, 11, 1, tzinfo=UTC))
    return await store.codes(db)


def ask(db: Database, scope: Scope) -> service.Ask:
    return service.Ask(
        db_path=db.path,
        settings=Settings(),
        catalog=T,
        lang="zh-CN",
        scope=scope,
        period=parse_period("2026-11", TODAY),
        now=NOW,
    )


async def test_owner_tallies_is_the_assessment_contract(db: Database, seed: Seed) -> None:
    await world(db, seed)
    got = await store.owner_tallies(db, date(2026, 11, 1), date(2026, 11, 30))
    # cadre1: A1 (overdue), A2 (open, due 18th: past due at the 30th), A3 done; A4
    # cancelled counts nowhere; D1 falls in December.
    assert got[seed.cadres["cadre1"]] == PlanTally(due=3, done=1, overdue=2)
    assert got[seed.cadres["leader1"]] == PlanTally(due=1, done=0, overdue=1)
    assert got[seed.cadres["cadre4"]] == PlanTally(due=1, done=0, overdue=1)
    assert seed.cadres["cadre2"] not in got
    early = await store.owner_tallies(db, date(2026, 11, 1), date(2026, 11, 15))
    assert early[seed.cadres["cadre1"]] == PlanTally(due=2, done=1, overdue=1)
    assert dataclasses.is_dataclass(PlanTally) and PlanTally.__dataclass_params__.frozen  # type: ignore[attr-defined]


async def test_summary_gains_plan_completion(db: Database, seed: Seed) -> None:
    await world(db, seed)
    county = service.summary_report(ask(db, Scope.everything()))
    assert zh("plans.summary.head", due=6, done=1, overdue=2) in county
    assert zh("plans.summary.line", name="城关镇工作队", due=5, done=1, overdue=2) in county
    assert zh("plans.summary.line", name="河口镇工作队", due=1, done=0, overdue=0) in county
    team = service.summary_report(ask(db, Scope.team(seed.teams["T1"])))
    assert zh("plans.summary.line", name="城关一组", due=3, done=1, overdue=1) in team
    assert zh("plans.summary.line", name="城关二组", due=1, done=0, overdue=0) in team
    assert zh("plans.summary.line", name=zh("plans.summary.team_own"), due=1, done=0,
              overdue=1) in team  # fmt: skip
    group = service.summary_report(ask(db, Scope.group(seed.groups["G2"], seed.teams["T1"])))
    assert zh("plans.summary.head", due=1, done=0, overdue=0) in group


async def test_summary_without_plans_says_nothing_of_them(db: Database, seed: Seed) -> None:
    assert "工作计划" not in service.summary_report(ask(db, Scope.everything()))


async def test_export_has_a_plan_sheet(db: Database, seed: Seed) -> None:
    await world(db, seed)
    out = BytesIO()
    service.export_workbook(ask(db, Scope.team(seed.teams["T1"])), out)
    wb = openpyxl.load_workbook(BytesIO(out.getvalue()))
    ws = wb["工作计划"]
    header = [c.value for c in ws[1]]
    assert header[:2] == [zh("reports.xlsx.plan_code"), zh("reports.xlsx.team")]
    codes = [r[0] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert codes == ["A3", "A1", "A2", "A4", "B1", "T1"] or sorted(codes) == sorted(
        ["A1", "A2", "A3", "A4", "B1", "T1"]
    )
    rows = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert rows["A1"][13] == zh("plans.status.todo") and rows["A1"][14] == "是"
    assert rows["A4"][15] == "并入A2" and rows["A2"][14] is None


async def test_bulletin_lists_overdue_items_per_team(
    settings: Settings, db: Database, seed: Seed, clock: FakeClock
) -> None:
    await world(db, seed)
    d = make_deps(settings, db, clock)
    text = await plan_reports.bulletin_section(d, "zh-CN", TODAY)
    assert zh("plans.bulletin.head", count=2) in text
    assert zh("plans.bulletin.team", team="城关镇工作队", count=2) in text
    assert "A1" in text and "T1" in text and "B1" not in text


def test_the_horizon_counts_workdays() -> None:
    cal = WorkCalendar()
    assert horizon(date(2026, 11, 16), cal) == date(2026, 11, 19)  # Mon → Thu
    assert horizon(date(2026, 11, 19), cal) == date(2026, 11, 24)  # Thu → next Tue
    assert waits_for_morning("plan-due:1:2026-11-16", urgent=False)
    assert waits_for_morning("plan-overdue:1:2026-11-16", urgent=False)


@pytest.fixture
def deps(settings: Settings, db: Database, clock: FakeClock) -> Deps:
    return make_deps(settings, db, clock)


async def test_reminders_owners_soon_and_leaders_overdue(
    deps: Deps, db: Database, seed: Seed
) -> None:
    await world(db, seed)
    await bind_world(db, seed)
    now = local(2026, 11, 16, 9, 15)
    items = {i.key: i for i in await plan_reminder_items(deps, now, now)}
    c1, l1 = seed.cadres["cadre1"], seed.cadres["leader1"]
    cap1, l2 = seed.cadres["captain1"], seed.cadres["leader2"]
    # Owners of A2 (due Wednesday, within three workdays); nobody for B1 (the 30th).
    assert f"plan-due:{c1}:2026-11-16" in items and f"plan-due:{l1}:2026-11-16" in items
    assert items[f"plan-due:{c1}:2026-11-16"].chat_id == 601
    assert "A2" in items[f"plan-due:{c1}:2026-11-16"].text
    assert not any(k.startswith(f"plan-due:{seed.cadres['cadre3']}:") for k in items)
    # Overdue: A1 to the group's leader, T1 (the team's own) to the team leader and deputy.
    overdue = items[f"plan-overdue:{l1}:2026-11-16"]
    assert "A1" in overdue.text and zh("plans.remind.overdue_head", count=1) in overdue.text
    assert "T1" in items[f"plan-overdue:{cap1}:2026-11-16"].text
    assert f"plan-overdue:{seed.cadres['deputy1']}:2026-11-16" in items
    assert not any(k.startswith(f"plan-overdue:{l2}:") for k in items)
    # A muted leader hears nothing.
    await mute(db, l1, now + timedelta(days=3), now)
    keys = {i.key for i in await plan_reminder_items(deps, now, now)}
    assert f"plan-overdue:{l1}:2026-11-16" not in keys and f"plan-due:{l1}:2026-11-16" not in keys


async def test_the_reminder_job_runs_on_workdays_only(deps: Deps, db: Database, seed: Seed) -> None:
    await world(db, seed)
    await bind_world(db, seed)
    monday = local(2026, 11, 16, 9, 30)
    outcome = await run_if_due(deps, plan_by_id(deps, PLAN_REMIND), monday)
    assert outcome.status == "ran" and outcome.queued >= 4
    again = await run_if_due(deps, plan_by_id(deps, PLAN_REMIND), monday)
    assert again.status == "done-before"
    # On a Saturday the last occurrence is Friday's: no weekend reminder.
    saturday = local(2026, 11, 21, 10, 0)
    outcome = await run_if_due(deps, plan_by_id(deps, PLAN_REMIND), saturday)
    assert outcome.due is not None and outcome.due.date() == date(2026, 11, 20)
