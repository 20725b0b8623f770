"""The clerk's plan workbook: template, whole-file check with row-precise errors,
--dry-run, import by code keeping progress, export that imports back."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from bot.cli import main
from campaign.i18n import default_catalog
from campaign.plans import HEADERS, Index, Window, check_rows
from storage.db import open_database
from tests.factories import seed_roster

T = default_catalog()


def zh(key: str, **values: object) -> str:
    return T.t("zh-CN", key, **values)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "fieldbot.toml"
    database = json.dumps(str(tmp_path / "data" / "fieldbot.sqlite3"))
    path.write_text(
        f'[storage]\ndatabase = {database}\n[plans]\nfirst_month = "2026-09"\n'
        'last_month = "2027-06"\n',
        encoding="utf-8",
    )

    async def seed() -> None:
        async with open_database(tmp_path / "data" / "fieldbot.sqlite3") as db:
            await seed_roster(db)

    asyncio.run(seed())
    return path


def rows(config: Path, sql: str) -> list[sqlite3.Row]:
    async def query() -> list[sqlite3.Row]:
        async with open_database(config.parent / "data" / "fieldbot.sqlite3") as db:
            return await db.fetchall(sql)

    return asyncio.run(query())


def workbook(path: Path, body: Sequence[Sequence[object]]) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "工作计划"
    ws.append(list(HEADERS))
    for row in body:
        ws.append(list(row))
    wb.save(path)
    return path


# 编号 工作队 工作组 挂钩点 月份 完成日期 事项 措施 目标数 单位 工作内容 责任人 状态 取消原因
GOOD = [
    ["T1-01", "T1", "G1", "东风村", "2026-11", "", "入户走访脱贫户", "逐户走访", 36, "户",
     "宣讲政策", "13800000001、王芳", "", ""],
    ["T1-02", "城关镇工作队", "", "", "2026年12月", "2026-12-20", "整顿软弱涣散党组织",
     "", "", "", "强基固本", "黄海", "", ""],
    ["T2-01", "T2", "G3", "", "2026-11", "", "茶厂用工调查", "", "", "", "服务企业",
     "赵敏", "进行中", ""],
]  # fmt: skip


def test_template_has_headers_lists_and_instructions(config: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "模板.xlsx"
    assert main(["--config", str(config), "plan", "template", str(target)]) == 0
    wb = load_workbook(target)
    ws = wb["工作计划"]
    assert [c.value for c in ws[1]] == list(HEADERS)
    assert "填写说明" in wb.sheetnames
    assert "责任人" in str(wb["填写说明"]["A1"].value) or wb["填写说明"].max_row > 5
    lists = wb["选项"]
    assert lists["A1"].value == "2026-09" and lists["A10"].value == "2027-06"
    assert [lists.cell(row=n, column=2).value for n in range(1, 7)][0] == "宣讲政策"
    assert len(ws.data_validations.dataValidation) == 3


def test_import_then_reimport_keeps_progress(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = workbook(tmp_path / "plans.xlsx", GOOD)
    assert main(["--config", str(config), "plan", "import", str(path)]) == 0
    assert capsys.readouterr().out.strip() == zh("plans.cli.imported", added=3, updated=0)
    items = rows(config, "SELECT * FROM plan_items ORDER BY code")
    assert [(i["code"], i["month"], i["quarter"], i["due_date"]) for i in items] == [
        ("T1-01", "2026-11", 4, "2026-11-30"),
        ("T1-02", "2026-12", 4, "2026-12-20"),
        ("T2-01", "2026-11", 4, "2026-11-30"),
    ]
    first = items[0]
    assert (first["target"], first["unit"], first["kind"], first["status"]) == (
        36.0,
        "户",
        "policy",
        "todo",
    )
    assert items[1]["group_id"] is None and items[2]["status"] == "doing"
    owners = rows(
        config,
        "SELECT i.code, c.name FROM plan_owners o JOIN plan_items i ON i.id = o.item_id"
        " JOIN cadres c ON c.id = o.cadre_id ORDER BY i.code, c.id",
    )
    assert [tuple(r) for r in owners] == [
        ("T1-01", "张伟"),
        ("T1-01", "王芳"),
        ("T1-02", "黄海"),
        ("T2-01", "赵敏"),
    ]
    # Progress reported in the bot meanwhile (written as the bot does).
    with sqlite3.connect(config.parent / "data" / "fieldbot.sqlite3") as conn:
        conn.execute(
            "INSERT INTO plan_progress (item_id, cadre_id, at, note, amount) VALUES"
            " (?, 1, '2026-11-10T01:00:00+00:00', '走访12户', 12)",
            (first["id"],),
        )
        conn.execute("UPDATE plan_items SET progress = 12, status = 'doing' WHERE id = ?",
                     (first["id"],))  # fmt: skip
    changed = [list(r) for r in GOOD]
    changed[0][6] = "入户走访脱贫户和监测户"
    changed[0][11] = "张伟"
    path = workbook(tmp_path / "plans2.xlsx", changed)
    assert main(["--config", str(config), "plan", "import", str(path)]) == 0
    assert capsys.readouterr().out.strip() == zh("plans.cli.imported", added=0, updated=3)
    again = rows(config, "SELECT * FROM plan_items WHERE code = 'T1-01'")[0]
    assert again["id"] == first["id"] and again["title"] == "入户走访脱贫户和监测户"
    assert (again["progress"], again["status"]) == (12.0, "doing")
    assert len(rows(config, "SELECT * FROM plan_progress")) == 1
    assert len(rows(config, f"SELECT * FROM plan_owners WHERE item_id = {first['id']}")) == 1


def test_dry_run_writes_nothing(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = workbook(tmp_path / "plans.xlsx", GOOD)
    assert main(["--config", str(config), "plan", "import", "--dry-run", str(path)]) == 0
    assert capsys.readouterr().out.strip() == zh("plans.cli.dry_run", added=3, updated=0)
    assert rows(config, "SELECT * FROM plan_items") == []


def test_a_bad_file_is_refused_whole_with_each_row_named(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = [
        GOOD[0],
        # an item for another team's group
        ["X-1", "T1", "G3", "", "2026-11", "", "事项", "", "", "", "", "张伟", "", ""],
        # an owner not on the roster
        ["X-2", "T1", "G1", "", "2026-11", "", "事项", "", "", "", "", "无名氏", "", ""],
        # an owner outside the group
        ["X-3", "T1", "G1", "", "2026-11", "", "事项", "", "", "", "", "赵敏", "", ""],
        # a month outside the campaign
        ["X-4", "T1", "G1", "", "2027-08", "", "事项", "", "", "", "", "张伟", "", ""],
        # an unknown team, a repeated code
        ["X-5", "T9", "", "", "2026-11", "", "事项", "", "", "", "", "张伟", "", ""],
        ["T1-01", "T1", "G1", "", "2026-11", "", "事项", "", "", "", "", "张伟", "", ""],
    ]  # fmt: skip
    path = workbook(tmp_path / "bad.xlsx", bad)
    assert main(["--config", str(config), "plan", "import", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()

    def at(row: int, key: str, **values: object) -> str:
        return zh("plans.file.at_row", row=row, text=zh(f"plans.file.{key}", **values))

    assert err[:-1] == [
        at(3, "group_not_in_team", group="G3", team="城关镇工作队"),
        at(4, "unknown_owner", owner="无名氏"),
        at(5, "owner_outside", owner="赵敏"),
        at(6, "month_outside", month="2027-08", first="2026-09", last="2027-06"),
        at(7, "unknown_team", team="T9"),
        at(8, "duplicate_code", code="T1-01", first=2),
    ]
    assert err[-1] == "fieldbot: " + zh("plans.cli.failed", count=6)
    assert rows(config, "SELECT * FROM plan_items") == []


def test_export_imports_back_unchanged(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = workbook(tmp_path / "plans.xlsx", GOOD)
    assert main(["--config", str(config), "plan", "import", str(path)]) == 0
    out = tmp_path / "导出.xlsx"
    assert main(["--config", str(config), "plan", "export", str(out)]) == 0
    capsys.readouterr()
    before = [dict(r) for r in rows(config, "SELECT * FROM plan_items ORDER BY id")]
    assert main(["--config", str(config), "plan", "import", str(out)]) == 0
    assert capsys.readouterr().out.strip() == zh("plans.cli.imported", added=0, updated=3)
    after = [dict(r) for r in rows(config, "SELECT * FROM plan_items ORDER BY id")]
    for row in before + after:
        row.pop("updated_at")
    assert after == before


def test_check_rules_with_plain_values() -> None:
    """The rule itself, without a file: a missing column and an unreadable month."""
    empty = Index((), (), (), ())
    months = Window("2026-01", "2026-12")
    _, issues = check_rows([["编号", "事项"]], empty, months)
    assert {i.key for i in issues} == {"missing_column"}
    header = list(HEADERS)
    body = ["A", "T1", "", "", "十三月", "", "t", "", "", "", "", "x", "", ""]
    _, issues = check_rows([header, body], empty, months)
    assert {i.key for i in issues} == {"unknown_team", "bad_month", "unknown_owner"}
    assert date(2026, 1, 1).year == 2026
