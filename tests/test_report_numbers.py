"""Every report's numbers against the hand-computed November of report_factories.py."""

from __future__ import annotations

import dataclasses
import random
from datetime import date, datetime
from io import BytesIO

import openpyxl
import pytest

from campaign.i18n import default_catalog
from campaign.periods import parse_period
from campaign.reporting import Scope
from campaign.settings import QuotaSettings, Settings
from reports.workbook import sheet_title
from services import reports as service
from storage import reports as q
from storage.db import Database
from tests.factories import Seed
from tests.report_factories import SHANGHAI, add_problem, add_visit, local, november

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=SHANGHAI)
TODAY = NOW.date()
NOV = parse_period("2026-11", TODAY)


def ask(db: Database, scope: Scope, period: str = "2026-11", **quotas: int) -> service.Ask:
    settings = Settings()
    if quotas:
        settings = dataclasses.replace(settings, quotas=QuotaSettings(**quotas))
    return service.Ask(
        db_path=db.path,
        settings=settings,
        catalog=default_catalog(),
        lang="zh-CN",
        scope=scope,
        period=parse_period(period, TODAY),
        now=NOW,
    )


async def test_county_summary(db: Database, seed: Seed) -> None:
    await november(db, seed)
    s = service.summary_data(ask(db, Scope.everything()))
    t = s.total
    assert (t.cadres, t.visits, t.days, t.places, t.places_total) == (10, 7, 6, 5, 7)
    assert t.kinds == {
        "policy": 3,
        "survey": 1,
        "service": 1,
        "party": 2,
        "enterprise": 1,
        "stability": 1,
    }
    assert (t.raised, t.solved, t.explained, t.overdue) == (3, 1, 1, 2)
    assert (t.target.visits, t.target.days, t.on_quota) == (80, 100, 0)
    assert s.elapsed == pytest.approx(16 / 30)
    t1, t2 = s.rows
    assert t1.unit.id == seed.teams["T1"] and t2.unit.id == seed.teams["T2"]
    assert (t1.cadres, t1.visits, t1.days, t1.places, t1.places_total) == (7, 6, 5, 4, 5)
    assert (t1.raised, t1.solved, t1.explained, t1.overdue) == (3, 0, 1, 1)
    assert t1.kinds == {"policy": 2, "survey": 1, "service": 1, "party": 2, "enterprise": 1}
    assert (t2.cadres, t2.visits, t2.days, t2.places, t2.places_total) == (3, 1, 1, 1, 2)
    assert (t2.raised, t2.solved, t2.explained, t2.overdue) == (0, 1, 0, 1)
    assert (t1.target.visits, t2.target.days) == (56, 30)
    levels = {lv.level: (lv.open, lv.overdue, lv.solved, lv.explained) for lv in s.levels}
    assert levels == {"group": (1, 1, 1, 1), "team": (1, 0, 0, 0), "office": (1, 1, 0, 0)}


async def test_quota_progress_counts_cadres_on_both_quotas(db: Database, seed: Seed) -> None:
    await november(db, seed)
    quotas = dict(monthly_visits=2, monthly_days=2, quarterly_visits=6, quarterly_days=6)
    s = service.summary_data(ask(db, Scope.everything(), **quotas))
    # Only cadre1 has both 2 visits (3) and 2 days (11-02, 11-05).
    assert s.total.on_quota == 1 and s.rows[0].on_quota == 1 and s.rows[1].on_quota == 0
    assert s.total.target.visits == 20
    q4 = service.summary_data(ask(db, Scope.everything(), "2026-Q4", **quotas))
    assert q4.total.target.visits == 60  # the quarterly quota, times ten cadres
    assert q4.total.visits == 8  # leader1's visit of 30 October is in the quarter


async def test_team_and_group_summaries_stay_inside(db: Database, seed: Seed) -> None:
    await november(db, seed)
    s = service.summary_data(ask(db, Scope.team(seed.teams["T1"])))
    assert s.scope_name == "城关镇工作队"
    assert (s.total.cadres, s.total.visits, s.total.days) == (7, 6, 5)
    assert (s.total.raised, s.total.overdue) == (3, 1)
    g1, g2 = s.rows
    assert (g1.unit.name, g1.cadres, g1.visits, g1.days, g1.places, g1.places_total) == (
        "城关一组",
        3,
        4,
        3,
        3,
        4,
    )
    assert (g2.cadres, g2.visits, g2.days, g2.places, g2.places_total) == (2, 1, 1, 1, 1)
    assert (g1.raised, g1.explained, g1.overdue, g2.raised) == (2, 1, 1, 1)
    levels = {lv.level: (lv.open, lv.overdue) for lv in s.levels}
    assert levels == {"group": (1, 1), "team": (1, 0), "office": (0, 0)}

    g = service.summary_data(ask(db, Scope.group(seed.groups["G1"], seed.teams["T1"])))
    assert g.rows_kind == "cadre"
    rows = {r.unit.name: (r.visits, r.days, r.places, r.places_total, r.raised) for r in g.rows}
    assert rows == {"张伟": (3, 2, 2, 4, 1), "王芳": (1, 1, 1, 4, 1), "刘洋": (0, 0, 0, 4, 0)}
    assert g.total.kinds == {
        "policy": 1,
        "survey": 1,
        "service": 1,
        "party": 1,
        "enterprise": 1,
    }


async def test_summary_text_shows_the_numbers(db: Database, seed: Seed) -> None:
    await november(db, seed)
    text = service.summary_report(ask(db, Scope.everything()))
    for piece in (
        "全县｜2026年11月",
        "在岗干部 10 人，本期已过 53%",
        "走访 7 次，任务 80 次（完成 9%）",
        "驻村 6 人天，任务 100 人天（完成 6%）",
        "挂钩点已走访 5/7 个",
        "· 宣讲政策 3 次",
        "· 强基固本 2 次",
        "本期新提出 3 件，解决 1 件，解释 1 件；当前在办 3 件，其中超期 2 件",
        "· 工作组：1 / 1 / 1 / 1",
        "· 城关镇工作队：走访 6/56（11%），驻村 5/70 人天，挂钩点 4/5",
        "· 河口镇工作队：走访 1/24（4%）",
    ):
        assert piece in text, piece
    en = dataclasses.replace(ask(db, Scope.everything()), lang="en")
    assert "Visits: 7 of 80 (9%)" in service.summary_report(en)


async def test_coverage(db: Database, seed: Seed) -> None:
    await november(db, seed)
    c = q.coverage
    with q.reading(db.path) as conn:
        data = c(conn, Scope.everything(), NOV)
    t1, t2 = data.teams
    assert [p.name for p in t1.unvisited] == ["张大爷家"]
    assert sorted(x.name for x in t1.idle) == sorted(["刘洋", "陈静", "周丽"])
    assert (t1.places_total, t1.cadres_total) == (5, 7)
    assert [p.name for p in t2.unvisited] == ["河口茶厂"]
    assert sorted(x.name for x in t2.idle) == sorted(["杨磊", "吴刚"])
    text = service.coverage_report(ask(db, Scope.team(seed.teams["T2"])))
    assert "河口茶厂" in text and "城关" not in text and "张大爷家" not in text
    # October: leader1's visit is there, nobody else's.
    with q.reading(db.path) as conn:
        october = c(conn, Scope.everything(), parse_period("2026-10", TODAY))
    assert [x.name for x in october.teams[0].idle if x.name == "刘洋"] == []


async def test_overdue_oldest_first_with_owner(db: Database, seed: Seed) -> None:
    nov = await november(db, seed)
    with q.reading(db.path) as conn:
        items = q.overdue(conn, Scope.everything(), NOW)
        t1_items = q.overdue(conn, Scope.team(seed.teams["T1"]), NOW)
    assert [p.id for p in items] == [nov.problems["P5"], nov.problems["P1"]]
    assert items[0].department == "县水利局" and items[0].urgent
    assert [p.id for p in t1_items] == [nov.problems["P1"]]
    text = service.overdue_report(ask(db, Scope.everything()))
    assert text.index(f"P-{nov.problems['P1']}") < text.index(f"P-{nov.problems['P5']}")
    assert "【工作组】1 件" in text and "【活动办公室】1 件" in text
    assert "按责任人：未认领 1" in text and "县直部门：县水利局" in text
    assert "已超期 15 天" in text  # P5: deadline 11-01 10:00, now 11-16 09:00
    assert "已超期 7 天" in text  # P1: deadline 11-09 10:00
    assert "【紧急】" in text
    assert "没有超期问题" in service.overdue_report(ask(db, Scope.group(seed.groups["G2"])))


async def test_cadre_log_and_cases(db: Database, seed: Seed) -> None:
    nov = await november(db, seed)
    a = ask(db, Scope.everything())
    [cadre] = service.find_cadres(a, "张伟")
    assert service.find_cadres(a, "138 0000 0001")[0].id == cadre.id
    assert service.find_cadres(a, "张")[0].id == cadre.id  # part of a name
    text = service.log_report(a, cadre.id)
    assert text is not None
    assert "走访 3 次（任务 8），驻村 2 天（任务 10），走访挂钩点 2 个" in text
    assert f"#{nov.visits['v1']} 2026-11-02 东风村｜宣讲政策、调查研究" in text
    assert f"P-{nov.problems['P1']}" in text and f"P-{nov.problems['P6']}" not in text
    # Outside the asker's scope: nothing.
    t2 = ask(db, Scope.team(seed.teams["T2"]))
    assert service.log_report(t2, cadre.id) is None
    assert service.find_cadres(t2, "张伟") == []
    cases = service.cases_report(a)
    assert f"#{nov.visits['v4']}" in cases and "对接银行贷款" in cases
    assert "共 1 条" in cases and "见到群众 6 人" in cases and "照片 2 张" in cases
    assert "没有标记为典型" in service.cases_report(ask(db, Scope.team(seed.teams["T2"])))


async def test_export_workbook_reads_back(db: Database, seed: Seed) -> None:
    nov = await november(db, seed)
    out = BytesIO()
    service.export_workbook(ask(db, Scope.everything()), out)
    wb = openpyxl.load_workbook(BytesIO(out.getvalue()))
    assert wb.sheetnames == [
        "汇总",
        "走访记录",
        "问题台账",
        "处理记录",
        "干部进度",
        "工作计划",
        "回访",
        "城关镇工作队",
        "河口镇工作队",
        "考核",  # the assessment (tests/test_assessment.py)
        "考核-选派单位",
        "典型",  # model cases selected (tests/test_model_cases.py)
    ]

    ws = wb["汇总"]
    assert ws.freeze_panes == "A3"
    assert "全县｜2026年11月 工作报表" in ws["A1"].value
    header = [c.value for c in ws[2]]
    assert header[:4] == ["工作队", "在岗干部", "走访次数", "走访任务"]
    assert header[-6:] == ["宣讲政策", "调查研究", "强基固本", "兴办实事", "维护稳定", "服务企业"]
    rows = {r[0]: r for r in ws.iter_rows(min_row=3, values_only=True)}
    assert rows["城关镇工作队"][1:4] == (7, 6, 56)
    assert rows["合计"][1:3] == (10, 7)
    assert rows["城关镇工作队"][4] == pytest.approx(6 / 56)
    assert ws["E3"].number_format == "0%"

    ws = wb["走访记录"]
    assert ws.freeze_panes == "A2"
    assert ws.column_dimensions["J"].width >= 40  # the text column is wide
    data = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(data) == 7  # November's active visits
    first = data[0]
    assert first[0] == nov.visits["v1"] and first[1] == datetime(2026, 11, 2)
    assert ws["B2"].is_date and ws["B2"].number_format == "yyyy-mm-dd"
    assert first[8] == "宣讲政策、调查研究"
    case = next(r for r in data if r[0] == nov.visits["v4"])
    assert case[10:12] == (6, 2) and case[15] == "是"

    ws = wb["问题台账"]
    ledger = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    # Raised in November, or raised before and still open on 1 November; not P6.
    assert set(ledger) == {f"P-{nov.problems[k]}" for k in ("P1", "P2", "P3", "P4", "P5")}
    p5 = ledger[f"P-{nov.problems['P5']}"]
    assert p5[9:11] == ("活动办公室", "待办") and p5[12] == "县水利局" and p5[14] == "是"
    assert isinstance(p5[13], datetime) and p5[13] == datetime(2026, 11, 1, 10, 0)
    assert ledger[f"P-{nov.problems['P4']}"][10] == "已解释"

    history = list(wb["处理记录"].iter_rows(min_row=2, values_only=True))
    assert len(history) == 10
    p5_history = [r[2] for r in history if r[0] == f"P-{nov.problems['P5']}"]
    assert p5_history == ["提出", "超期自动上报", "上报"]
    assert [r[3] for r in history if r[2] == "超期自动上报"] == ["系统"]

    cadres = list(wb["干部进度"].iter_rows(min_row=2, values_only=True))
    assert len(cadres) == 10
    zhang = next(r for r in cadres if r[2] == "张伟")
    assert zhang[5:7] == (3, 8) and zhang[8] == 2

    team = wb["城关镇工作队"]
    assert team.freeze_panes == "A3"
    values = [r for r in team.iter_rows(values_only=True)]
    assert values[2][:3] == ("城关一组", 3, 4)
    assert values[4][0] == "合计" and values[4][2] == 6
    assert "河口" not in str(values)


async def test_team_export_has_only_that_team(db: Database, seed: Seed) -> None:
    await november(db, seed)
    out = BytesIO()
    service.export_workbook(ask(db, Scope.team(seed.teams["T2"])), out)
    wb = openpyxl.load_workbook(BytesIO(out.getvalue()))
    assert wb.sheetnames[-3:] == ["河口镇工作队", "考核", "典型"]
    assert "城关镇工作队" not in wb.sheetnames
    everything = " ".join(
        str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row
    )
    assert "城关" not in everything and "张伟" not in everything
    assert len(list(wb["走访记录"].iter_rows(min_row=2))) == 1


async def test_odd_text_survives_the_workbook(db: Database, seed: Seed) -> None:
    await add_visit(
        db,
        seed.cadres["cadre1"],
        seed.places["v1"],
        date(2026, 11, 3),
        text='=HYPERLINK("http://x") <b>&amp; "引号"\x0b\x01 ',
    )
    out = BytesIO()
    service.export_workbook(ask(db, Scope.everything()), out)
    wb = openpyxl.load_workbook(BytesIO(out.getvalue()))
    cell = wb["走访记录"]["J2"]
    assert cell.data_type == "s"  # text, never a formula
    assert cell.value == '=HYPERLINK("http://x") <b>&amp; "引号" '


def test_sheet_titles_are_valid_and_unique() -> None:
    taken: set[str] = set()
    assert sheet_title("汇总", taken) == "汇总"
    assert sheet_title("汇总", taken) == "汇总(2)"
    assert sheet_title("a/b:c*d?[e]", taken) == "a_b_c_d__e_"
    assert len(sheet_title("长" * 40, taken)) == 31


async def test_kind_counts_follow_every_change(db: Database, seed: Seed) -> None:
    """report_kind_days (migration 0011) agrees with visit_kinds after random inserts,
    withdrawals, moves, kind edits and deletes."""
    rng = random.Random(7)
    kinds = ["policy", "survey", "party", "service", "stability", "enterprise"]
    cadres = [seed.cadres[k] for k in ("cadre1", "cadre2", "cadre4", "captain1")]
    ids: list[int] = []
    for _ in range(250):
        op = rng.random()
        async with db.write() as conn:
            if op < 0.4 or not ids:
                pass
            elif op < 0.55:
                await conn.execute(
                    "UPDATE visits SET status = ? WHERE id = ?",
                    (rng.choice(["active", "withdrawn"]), rng.choice(ids)),
                )
            elif op < 0.65:
                await conn.execute(
                    "UPDATE visits SET visit_date = ?, team_id = ?, group_id = ? WHERE id = ?",
                    (
                        f"2026-11-{rng.randint(1, 5):02d}",
                        rng.choice([seed.teams["T1"], None]),
                        rng.choice([seed.groups["G1"], None]),
                        rng.choice(ids),
                    ),
                )
            elif op < 0.75:
                v = rng.choice(ids)
                await conn.execute("DELETE FROM visit_kinds WHERE visit_id = ?", (v,))
                for k in rng.sample(kinds, rng.randint(1, 3)):
                    await conn.execute("INSERT OR IGNORE INTO visit_kinds VALUES (?, ?)", (v, k))
            elif op < 0.82:
                v = rng.choice(ids)
                new_kind = rng.choice(kinds)
                # What UPDATE OR IGNORE does to one row, in SQL both engines take.
                await conn.execute(
                    "UPDATE visit_kinds SET kind = ? WHERE visit_id = ? AND kind ="
                    " (SELECT min(kind) FROM visit_kinds WHERE visit_id = ?) AND NOT EXISTS"
                    " (SELECT 1 FROM visit_kinds k WHERE k.visit_id = ? AND k.kind = ?)",
                    (new_kind, v, v, v, new_kind),
                )
            elif op < 0.9:
                v = rng.choice(ids)
                await conn.execute("DELETE FROM visits WHERE id = ?", (v,))
                ids.remove(v)
            else:
                await conn.execute(
                    "UPDATE visits SET text = 'edited' WHERE id = ?", (rng.choice(ids),)
                )
        if op < 0.4 or not ids:
            ids.append(
                await add_visit(
                    db,
                    rng.choice(cadres),
                    seed.places["v1"],
                    date(2026, 11, rng.randint(1, 5)),
                    rng.sample(kinds, rng.randint(1, 3)),
                    status=rng.choice(["active", "active", "withdrawn"]),
                )
            )
    raw = await db.fetchall(
        "SELECT v.visit_date, IFNULL(v.team_id, 0), IFNULL(v.group_id, 0), k.kind, COUNT(*)"
        " FROM visits v JOIN visit_kinds k ON k.visit_id = v.id WHERE v.status = 'active'"
        " GROUP BY 1, 2, 3, 4"
    )
    kept = await db.fetchall(
        "SELECT visit_date, team_id, group_id, kind, visits FROM report_kind_days WHERE visits != 0"
    )
    assert sorted(map(tuple, raw)) == sorted(map(tuple, kept))
    assert len(raw) > 10


async def test_every_report_reads_in_english(db: Database, seed: Seed) -> None:
    await november(db, seed)
    en = dataclasses.replace(ask(db, Scope.everything()), lang="en")
    assert "📊 Summary | Whole county | 2026-11" in service.summary_report(en)
    assert "Places nobody visited (1):" in service.coverage_report(en)
    assert "(longest overdue first)" in service.overdue_report(en)
    assert "Possible model cases | Whole county | 2026-11: 1" in service.cases_report(en)
    [cadre] = service.find_cadres(en, "张伟")
    assert "3 visits (quota 8)" in (service.log_report(en, cadre.id) or "")
    out = BytesIO()
    service.export_workbook(en, out)
    wb = openpyxl.load_workbook(BytesIO(out.getvalue()))
    assert wb.sheetnames[:5] == [
        "Summary",
        "Visits",
        "Problems",
        "Problem history",
        "Cadre progress",
    ]
    assert wb["Visits"]["B1"].value == "Visit date"


async def test_a_visited_household_covers_its_village(db: Database, seed: Seed) -> None:
    """The rule (docs/reports.md): a village counts as visited when one of its
    households was (the cadre was in the village); the household counts only itself."""
    await add_visit(db, seed.cadres["cadre1"], seed.places["h1"], date(2026, 12, 3))
    dec = parse_period("2026-12", TODAY)
    with q.reading(db.path) as conn:
        visited = q.visited_places(conn, dec)
        data = q.coverage(conn, Scope.everything(), dec)
    assert {seed.places["h1"], seed.places["v1"]} <= visited
    unvisited = {p.id for team in data.teams for p in team.unvisited}
    assert seed.places["v1"] not in unvisited and seed.places["h1"] not in unvisited
    assert seed.places["v2"] in unvisited  # another village of the group stays unvisited


async def test_overdue_owner_after_a_hand_back_is_the_team_not_the_department(
    db: Database, seed: Seed
) -> None:
    """Handed to 县水利局 by the office, then handed back down to the team: the
    department is history, the team leader (or 未认领) is responsible now."""
    pid = await add_problem(
        db,
        seed.cadres["cadre1"],
        seed.places["v1"],
        local(2026, 11, 1),
        level="team",
        department="县水利局",
        deadline=local(2026, 11, 10),
    )
    text = service.overdue_report(ask(db, Scope.everything()))
    assert f"P-{pid}" in text and "县水利局" not in text
    assert "按责任人：未认领 1" in text
