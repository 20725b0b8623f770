"""Assessment scores (考核): the rubric by hand, the tallies from the November month of
tests/report_factories.py, rankings per level, /rank by role scope, the workbook's 考核
sheet, ``fieldbot report rank``, and a rubric that must stop the start."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from bot.cli import main
from campaign.assessment import COMPONENTS, Level, Member, Rubric, rank, score
from campaign.i18n import default_catalog
from campaign.periods import parse_period
from campaign.reporting import Scope
from campaign.settings import AssessmentSettings, Settings, SettingsError, load_settings
from services import assessment as service
from services import reports as report_service
from storage.db import Database, open_database
from tests.conftest import join
from tests.factories import Seed, seed_roster
from tests.fakebot import Harness, shown
from tests.report_factories import SHANGHAI, november

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=SHANGHAI)
NOV = parse_period("2026-11", NOW.date())
T = default_catalog().t


def zh(key: str, **values: Any) -> str:
    return T("zh-CN", key, **values)


# --- the rubric, by hand (docs/assessment.md works the same example) ----------------------


def test_the_worked_example() -> None:
    weights = dataclasses.asdict(AssessmentSettings())
    rubric = Rubric({c: weights[c] for c in COMPONENTS}, quota_cap=1.2)
    tally = {
        "visits": 10,  # quota 8: 1.25 x quota, capped at 1.2 -> 36
        "days": 5,  # quota 10: half -> 15
        "problems_raised": 2,  # 2 x 1
        "problems_solved": 1,  # 1 x 3
        "problems_overdue": 1,  # -1 x 2
        "cases_selected": 1,  # 1 x 5
    }
    s = score(rubric, tally, quota_visits=8, quota_days=10)
    assert s.points["visits"] == pytest.approx(36.0)
    assert s.points["days"] == pytest.approx(15.0)
    assert s.points["problems_overdue"] == pytest.approx(-2.0)
    assert s.total == pytest.approx(36 + 15 + 2 + 3 - 2 + 5)
    assert set(s.points) == set(COMPONENTS)


def test_no_quota_earns_nothing_for_visits_and_groups_take_the_mean() -> None:
    rubric = Rubric({"visits": 10.0, "problems_raised": 1.0})
    assert score(rubric, {"visits": 5}, 0, 0).points["visits"] == 0
    a = Member(1, "甲", 1, "一队", 1, "一组", "县教育局")
    b = Member(2, "乙", 1, "一队", 1, "一组", "县财政局")
    scored = [
        (a, score(rubric, {"problems_raised": 4}, 1, 1)),
        (b, score(rubric, {"problems_raised": 2}, 1, 1)),
    ]
    group = rank(Level.GROUP, scored).lines
    assert [(g.name, g.cadres, g.score.total) for g in group] == [("一组", 2, 3.0)]
    units = rank(Level.UNIT, scored).lines
    assert [(u.name, u.rank) for u in units] == [("县教育局", 1), ("县财政局", 2)]


def test_equal_totals_share_a_rank() -> None:
    rubric = Rubric({"problems_raised": 1.0})
    people = [Member(i, n, None, "", None, "", "") for i, n in ((1, "丙"), (2, "乙"), (3, "甲"))]
    tallies = [{"problems_raised": 2}, {"problems_raised": 2}, {"problems_raised": 1}]
    lines = rank(
        Level.CADRE, [(m, score(rubric, t, 1, 1)) for m, t in zip(people, tallies, strict=True)]
    )
    assert [(x.name, x.rank) for x in lines.lines] == [("丙", 1), ("乙", 1), ("甲", 3)]


# --- the rubric in config ------------------------------------------------------------------


def test_unknown_or_negative_weights_stop_the_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.toml"
    for text, expected in (
        ("[assessment]\nvisitz = 3\n", "unknown key 'assessment.visitz'"),
        (
            "[assessment]\nproblems_overdue = -2\n",
            "key 'assessment.problems_overdue' (section [assessment]) must not be negative",
        ),
    ):
        path.write_text(text, encoding="utf-8")
        with pytest.raises(SettingsError) as err:
            load_settings(path, env={})
        assert str(path) in str(err.value) and expected in str(err.value)
        assert main(["--config", str(path), "migrate"]) == 2
        err_lines = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
        assert len(err_lines) == 1 and expected in err_lines[0]


# --- tallies and rankings from the database -------------------------------------------------


async def test_november_scores_by_hand(db: Database, seed: Seed) -> None:
    await november(db, seed)
    c = seed.cadres
    scored = {m.cadre_id: s for m, s in await service.scores(db, Settings(), NOV, NOW)}
    one = scored[c["cadre1"]]
    assert one.tallies["visits"] == 3 and one.tallies["days"] == 2
    assert one.tallies["problems_raised"] == 1
    assert one.total == pytest.approx(30 * 3 / 8 + 30 * 2 / 10 + 1)
    # P1 is overdue and unclaimed at group level: the group leader answers for it.
    assert scored[c["leader1"]].tallies["problems_overdue"] == 1
    assert scored[c["leader1"]].total == pytest.approx(-2)
    assert scored[c["cadre2"]].tallies["problems_explained"] == 1  # P4
    assert scored[c["cadre4"]].tallies["problems_solved"] == 1  # P3
    assert scored[c["cadre4"]].tallies["visits"] == 1  # the withdrawn visit does not count
    assert c["office1"] not in scored  # the office is not assessed


async def test_rankings_per_level(db: Database, seed: Seed) -> None:
    await november(db, seed)
    s = Settings()
    units = await service.ranking(db, s, NOV, Level.UNIT, Scope.everything(), NOW)
    top = [(x.name, x.rank, round(x.score.total, 3)) for x in units.lines[:4]]
    assert top == [
        ("县农业农村局", 1, 9.75),
        ("县教育局", 1, 9.75),
        ("县发改局", 3, 8.125),
        ("县财政局", 4, 7.75),
    ]
    teams = await service.ranking(db, s, NOV, Level.TEAM, Scope.everything(), NOW)
    assert [(x.name, x.cadres, round(x.score.total, 3)) for x in teams.lines] == [
        ("城关镇工作队", 7, round(40.5 / 7, 3)),
        ("河口镇工作队", 3, 3.25),
    ]
    mine = await service.ranking(db, s, NOV, Level.CADRE, Scope.group(seed.groups["G1"]), NOW)
    assert [x.name for x in mine.lines] == ["张伟", "王芳", "刘洋"]


async def test_a_source_added_later_counts(db: Database, seed: Seed) -> None:
    await november(db, seed)
    cadre = seed.cadres["cadre3"]

    async def plans(_db: Database, start: datetime, end: datetime) -> dict[int, dict[str, float]]:
        return {cadre: {"plans_done": 2, "not_a_component": 99}}

    sources = [*service.SOURCES, plans]
    scored = {m.cadre_id: s for m, s in await service.scores(db, Settings(), NOV, NOW, sources)}
    assert scored[cadre].points["plans_done"] == 4.0
    assert "not_a_component" not in scored[cadre].tallies


# --- /rank in the bot ----------------------------------------------------------------------


def texts(calls: Any) -> str:
    return "\n".join(c.text for c in shown(calls))


async def test_rank_by_role_scope(bot: Harness, seed: Seed, db: Database) -> None:
    await november(db, seed)
    office = await join(bot, seed, "office1", 801)
    text = texts(await bot.send(office, "/rank 2026-11 单位"))
    assert zh("assessment.rank.title", level="选派单位", scope="全县", period="2026年11月") in text
    assert "1. 县农业农村局（1 人）：9.8 分" in text
    text = texts(await bot.send(office, "/rank"))  # default: teams, this month
    assert "城关镇工作队" in text and "河口镇工作队" in text

    leader = await join(bot, seed, "leader1", 802)
    text = texts(await bot.send(leader, "/rank 本月"))
    assert "张伟（城关一组）" in text and "李强" not in text and "赵敏" not in text
    for words in ("/rank 队", "/rank 2026 单位", "/rank 组"):
        assert texts(await bot.send(leader, words)) == zh("assessment.rank.outside")

    captain = await join(bot, seed, "captain1", 803)
    text = texts(await bot.send(captain, "/rank 组"))
    assert "城关一组" in text and "城关二组" in text and "河口一组" not in text
    assert texts(await bot.send(captain, "/rank 单位")) == zh("assessment.rank.outside")

    cadre = await join(bot, seed, "cadre1", 804)
    assert texts(await bot.send(cadre, "/rank")) == zh("assessment.rank.refused")
    bad = texts(await bot.send(office, "/rank 明年的某天 单位"))
    assert bad.startswith(zh("assessment.rank.bad_args", text="明年的某天", examples="X")[:8])


# --- the workbook and the command line -------------------------------------------------------


async def test_the_export_has_an_assessment_sheet(db: Database, seed: Seed) -> None:
    await november(db, seed)
    ask = report_service.Ask(
        db.path, Settings(), default_catalog(), "zh-CN", Scope.everything(), NOV, NOW
    )
    out = BytesIO()
    report_service.export_workbook(ask, out)
    wb = openpyxl.load_workbook(BytesIO(out.getvalue()))
    sheet = wb[zh("assessment.xlsx.sheet_main")]
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[1])
    for c in COMPONENTS:
        assert zh(f"assessment.component.{c}") in header
        assert zh("assessment.xlsx.points_of", name=zh(f"assessment.component.{c}")) in header
    first = dict(zip(header, rows[2], strict=False))
    assert first[zh("assessment.level.cadre")] == "张伟" and first[zh("assessment.xlsx.rank")] == 1
    assert first[zh("assessment.level.unit")] == "县发改局"  # filter by sending unit
    assert zh("assessment.xlsx.sheet", level="选派单位") in wb.sheetnames


def test_report_rank_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db_path = tmp_path / "office.sqlite3"
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\ndatabase = "{db_path}"\n', encoding="utf-8")

    async def fill() -> None:
        async with open_database(db_path) as db:
            await november(db, await seed_roster(db))

    asyncio.run(fill())
    out = tmp_path / "rank.xlsx"
    args = ["--config", str(config), "report", "rank", "--period", "2026", "--format", "xlsx"]
    assert main([*args, "--out", str(out)]) == 0
    wb = openpyxl.load_workbook(out)
    assert [
        zh("assessment.xlsx.sheet", level=zh(f"assessment.level.{lv.value}")) for lv in Level
    ] == (wb.sheetnames)
    capsys.readouterr()
    assert (
        main(["--config", str(config), "report", "rank", "--period", "2026", "--level", "team"])
        == 0
    )
    assert "城关镇工作队" in capsys.readouterr().out


async def test_rank_in_chats(bot: Harness, seed: Seed, db: Database) -> None:
    await november(db, seed)
    team_chat = -100777
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO bound_chats (chat_id, kind, team_id, title, bound_by, bound_at)"
            " VALUES (?, 'team', ?, 'T1', ?, '2026-01-01T00:00:00+00:00')",
            (team_chat, seed.teams["T1"], seed.cadres["captain1"]),
        )
    office = await join(bot, seed, "office1", 811)
    text = texts(await bot.send(office, "/rank", chat_id=team_chat))
    assert "城关一组" in text and "城关二组" in text and "河口" not in text
    assert texts(await bot.send(office, "/rank 单位", chat_id=team_chat)) == zh(
        "assessment.rank.outside"
    )
    other = await join(bot, seed, "captain2", 812)  # another team's leader: silence
    assert texts(await bot.send(other, "/rank", chat_id=team_chat)) == ""
    assert texts(await bot.send(office, "/rank", chat_id=-100999)) == ""  # not bound


async def test_one_sending_units_cadres(bot: Harness, seed: Seed, db: Database) -> None:
    await november(db, seed)
    office = await join(bot, seed, "office1", 821)
    text = texts(await bot.send(office, "/rank 2026-11 单位 发改"))
    assert zh("assessment.rank.title", level="干部", scope="县发改局", period="2026年11月") in text
    assert "1. 张伟（城关一组）" in text and "2. 刘洋（城关一组）" in text and "王芳" not in text
    text = texts(await bot.send(office, "/rank 单位 2026-11"))  # the level first: all units
    assert "1. 县农业农村局（1 人）" in text
    text = texts(await bot.send(office, "/rank 2026-11 单位 县"))  # part of every name
    assert text.startswith(zh("assessment.rank.no_unit", text="县", units="X")[:10])
    leader = await join(bot, seed, "leader1", 822)
    assert texts(await bot.send(leader, "/rank 单位 县发改局")) == zh("assessment.rank.outside")


async def test_plans_checks_and_call_backs_count_in_the_score(db: Database, seed: Seed) -> None:
    """The three sources of the features built beside the assessment: a plan item done,
    a log checked, a call-back answered 满意 all reach the cadre's score for November."""
    await november(db, seed)
    c = seed.cadres
    problem = await db.fetchone("SELECT id, reporter_id FROM problems ORDER BY id LIMIT 1")
    assert problem is not None
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO plan_items (code, team_id, group_id, month, quarter, due_date, title,"
            " status, created_at, updated_at) VALUES ('P-T', ?, ?, '2026-11', 4, '2026-11-10',"
            " '走访脱贫户', 'done', 't', 't')",
            (seed.teams["T1"], seed.groups["G1"]),
        )
        await conn.execute(
            "INSERT INTO plan_owners (item_id, cadre_id)"
            " SELECT id, ? FROM plan_items WHERE code = 'P-T'",
            (c["cadre3"],),
        )
        await conn.execute(
            "INSERT INTO log_checks (cadre_id, checker_id, team_id, period_start, period_end,"
            " verdict, checked_on, created_at) VALUES (?, ?, ?, '2026-11-01', '2026-12-01',"
            " 'ok', '2026-11-12', 't')",
            (c["cadre3"], c["inspector1"], seed.teams["T1"]),
        )
        await conn.execute(
            "INSERT INTO problem_callbacks (problem_id, closed_at, closed_status, closed_level,"
            " asked_id, asked_at, result, reach, answered_id, answered_at, answered_day)"
            " VALUES (?, 't', 'solved', 'group', ?, 't', 'fair', 'phone', ?, 't', '2026-11-13')",
            (problem["id"], problem["reporter_id"], problem["reporter_id"]),
        )
    scored = {m.cadre_id: s for m, s in await service.scores(db, Settings(), NOV, NOW)}
    three = scored[c["cadre3"]]
    assert three.tallies["plans_done"] == 1
    assert three.tallies["logs_checked"] == 1
    assert scored[problem["reporter_id"]].tallies["satisfaction"] == 1
    # December: none of it.
    december = parse_period("2026-12", NOW.date())
    later = {m.cadre_id: s for m, s in await service.scores(db, Settings(), december, NOW)}
    assert later[c["cadre3"]].tallies.get("plans_done", 0) == 0
