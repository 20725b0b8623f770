"""The roster: reading files, every validation rule, importing, re-importing, export and
the ``fieldbot roster`` commands."""

from __future__ import annotations

import asyncio
import copy
import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from bot.cli import main
from campaign.i18n import default_catalog, placeholders
from campaign.places import KIND_NAMES_ZH, PlaceKind, parse_kind
from campaign.roles import Role
from campaign.roster import (
    ROLE_NAMES_ZH,
    CadreEntry,
    GroupEntry,
    Issue,
    RawSheet,
    Roster,
    TeamEntry,
    render_issue,
    roster_role,
    roster_rows,
    validate,
)
from campaign.roster_files import (
    RosterFileError,
    read_roster,
    write_csv_folder,
    write_roster,
    write_xlsx,
)
from storage import people
from storage.db import Database, open_database
from storage.roster import Changes, import_roster, load_roster

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NOW = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)

# A small valid roster with English headers and codes. Excel row numbers: header = 1.
BASE: dict[str, RawSheet] = {
    "teams": [
        ["code", "name", "town"],
        ["T1", "城关镇工作队", "城关镇"],  # row 2
        ["T2", "河口镇工作队", "河口镇"],  # row 3
    ],
    "groups": [
        ["code", "name", "team"],
        ["G1", "城关一组", "T1"],  # row 2
        ["G2", "河口一组", "T2"],  # row 3
    ],
    "cadres": [
        ["name", "phone", "role", "team", "group", "unit"],
        ["张伟", "13800000001", "cadre", "T1", "G1", "县发改局"],  # row 2
        ["刘洋", "+86 138-0000-0011", "group_leader", "T1", "G1", ""],  # row 3
        ["黄海", "138 0000 0021", "team_leader", "T1", "", "县委组织部"],  # row 4
        ["郑红", "8613800000031", "office", "", "", ""],  # row 5
        ["孙亮", "13800000041", "inspector", "", "", "县纪委监委"],  # row 6
    ],
    "places": [
        ["code", "kind", "name", "town", "group", "village", "lat", "lon"],
        ["V1", "village", "东风村", "城关镇", "G1", "", "30.0", "114.0"],  # row 2
        ["C1", "community", "城南社区", "城关镇", "G1", "", "", ""],  # row 3
        ["E1", "enterprise", "城关建材厂", "城关镇", "G1", "", "30.01", "114.01"],  # row 4
        ["H1", "household", "张大爷家", "城关镇", "", "V1", "", ""],  # row 5
    ],
}


def sheets(**edits: str) -> dict[str, RawSheet]:
    """BASE with cells changed: ``cadres__3__phone="1"`` sets row 3's phone."""
    out = copy.deepcopy(BASE)
    for spec, value in edits.items():
        sheet, row, column = spec.split("__")
        header = out[sheet][0]
        out[sheet][int(row) - 1][header.index(column)] = value
    return out


def found(data: dict[str, RawSheet]) -> list[tuple[str, int | None, str]]:
    return [(e.sheet, e.row, e.key) for e in validate(data).errors]


# --- the valid case ---------------------------------------------------------------------


def test_base_roster_is_valid_and_typed() -> None:
    checked = validate(BASE)
    assert checked.errors == () and checked.warnings == ()
    roster = checked.roster
    assert roster is not None
    assert roster.teams[0] == TeamEntry("T1", "城关镇工作队", "城关镇")
    # phones normalised, the team leader keeps no group, office and inspector no team
    assert [c.phone for c in roster.cadres] == [
        "+8613800000001",
        "+8613800000011",
        "+8613800000021",
        "+8613800000031",
        "+8613800000041",
    ]
    assert roster.cadres[2] == CadreEntry(
        "+8613800000021", "黄海", Role.TEAM_LEADER, "T1", None, "县委组织部"
    )
    assert (roster.cadres[3].team, roster.cadres[3].group) == (None, None)
    household = roster.places[3]
    assert household.kind is PlaceKind.HOUSEHOLD
    assert household.village == "V1" and household.group == "G1"  # group from its village
    assert roster.places[0].lat == 30.0 and roster.places[3].lat is None


def test_references_by_unambiguous_name_and_team_from_group() -> None:
    data = sheets(
        groups__2__team="城关镇工作队",
        cadres__2__team="",
        cadres__2__group="城关一组",
        places__5__village="东风村",
    )
    roster = validate(data).roster
    assert roster is not None
    assert roster.groups[0] == GroupEntry("G1", "城关一组", "T1")
    assert (roster.cadres[0].team, roster.cadres[0].group) == ("T1", "G1")
    assert roster.places[3].village == "V1"


def test_chinese_headers_and_values() -> None:
    zh = copy.deepcopy(BASE)
    zh["teams"][0] = ["编号", "名称", "镇街"]
    zh["groups"][0] = ["编号", "名称", "工作队"]
    zh["cadres"][0] = ["姓名", "手机号（必填）", "角色", "工作队", "工作组", "选派单位"]
    zh["places"][0] = ["编号", "类型", "名称", "镇街", "工作组", "所属村", "纬度", "经度"]
    for row, role in zip(
        zh["cadres"][1:], ["队员", "组长", "队长", "活动办", "检查指导组"], strict=True
    ):
        row[2] = role
    for row, kind in zip(zh["places"][1:], ["村", "社区", "企业", "户"], strict=True):
        row[1] = kind
    assert validate(zh).roster == validate(BASE).roster


def test_a_phone_from_an_excel_saved_csv_is_the_same_mobile() -> None:
    roster = validate(sheets(cadres__2__phone="13800000001.0")).roster
    assert roster is not None and roster.cadres[0].phone == "+8613800000001"


def test_a_landline_is_refused_in_words() -> None:
    issue = validate(sheets(cadres__3__phone="0571-88888888")).errors[0]
    catalog = default_catalog()
    assert "0571-88888888" in render_issue(issue, catalog, "zh-CN")
    assert "landline" in render_issue(issue, catalog, "en")


def test_title_rows_blank_rows_and_extra_columns() -> None:
    data = copy.deepcopy(BASE)
    # A merged title above the header, a blank row, and a notes column.
    data["cadres"] = [["某县驻村干部花名册"], [*data["cadres"][0], "备注"]] + [
        [*r, "note"] for r in data["cadres"][1:]
    ]
    data["cadres"].insert(3, ["", "", ""])
    checked = validate(data)
    assert checked.roster is not None and len(checked.roster.cadres) == 5
    assert [(w.sheet, w.row, w.key) for w in checked.warnings] == [("cadres", 2, "unknown_column")]
    data["cadres"][5][1] = "12"  # Excel row 6: title, header, 2 rows, a blank, this
    assert found(data) == [("cadres", 6, "bad_phone")]


# --- every rule ---------------------------------------------------------------------------


def _drop_sheet(data: dict[str, RawSheet]) -> None:
    del data["places"]


def _drop_phone_column(data: dict[str, RawSheet]) -> None:
    for row in data["cadres"]:
        del row[1]


def _twice_phone_column(data: dict[str, RawSheet]) -> None:
    data["cadres"][0][5] = "手机号"


def _ambiguous_group(data: dict[str, RawSheet]) -> None:
    data["groups"].append(["G3", "城关一组", "T1"])
    data["cadres"][1][4] = "城关一组"


RULES: list[tuple[str, Callable[[dict[str, RawSheet]], None] | dict[str, str], list[object]]] = [
    ("missing sheet", _drop_sheet, [("places", None, "missing_sheet")]),
    ("missing column", _drop_phone_column, [("cadres", 1, "missing_column")]),
    ("column twice", _twice_phone_column, [("cadres", 1, "duplicate_column")]),
    ("empty name", {"cadres__2__name": ""}, [("cadres", 2, "empty")]),
    ("empty code", {"teams__3__code": ""}, [("teams", 3, "empty"), ("groups", 3, "not_found")]),
    ("unknown role", {"cadres__2__role": "boss"}, [("cadres", 2, "bad_role")]),
    ("unknown kind", {"places__3__kind": "farm"}, [("places", 3, "bad_kind")]),
    ("bad phone", {"cadres__2__phone": "12345"}, [("cadres", 2, "bad_phone")]),
    ("bad phone text", {"cadres__2__phone": "无"}, [("cadres", 2, "bad_phone")]),
    ("landline", {"cadres__2__phone": "0571-88888888"}, [("cadres", 2, "not_mobile")]),
    ("number abroad", {"cadres__2__phone": "+1 305 123 4567"}, [("cadres", 2, "not_mobile")]),
    (
        "duplicate phone (after normalising)",
        {"cadres__6__phone": "+86 138-0000-0001"},
        [("cadres", 6, "duplicate_phone")],
    ),
    ("duplicate code", {"groups__3__code": "G1"}, [("groups", 3, "duplicate_code")]),
    ("team not found", {"groups__3__team": "T9"}, [("groups", 3, "not_found")]),
    ("group not found", {"cadres__2__group": "G9"}, [("cadres", 2, "not_found")]),
    ("cadre team not found", {"cadres__4__team": "T9"}, [("cadres", 4, "not_found")]),
    ("place group not found", {"places__3__group": "G9"}, [("places", 3, "not_found")]),
    ("village not found", {"places__5__village": "V9"}, [("places", 5, "not_found")]),
    ("ambiguous name", _ambiguous_group, [("cadres", 2, "ambiguous")]),
    ("group of another team", {"cadres__2__team": "T2"}, [("cadres", 2, "team_mismatch")]),
    ("household without village", {"places__5__village": ""}, [("places", 5, "needs_village")]),
    (
        "household whose village is a community",
        {"places__5__village": "C1"},
        [("places", 5, "not_a_village")],
    ),
    (
        "village on an enterprise",
        {"places__4__village": "V1"},
        [("places", 4, "village_only_household")],
    ),
    ("place without group", {"places__3__group": ""}, [("places", 3, "place_needs_group")]),
    ("cadre without group", {"cadres__2__group": ""}, [("cadres", 2, "needs_group")]),
    ("group leader without group", {"cadres__3__group": ""}, [("cadres", 3, "needs_group")]),
    ("team leader without team", {"cadres__4__team": ""}, [("cadres", 4, "needs_team")]),
    ("office with a team", {"cadres__5__team": "T1"}, [("cadres", 5, "no_team_for_role")]),
    ("inspector with a group", {"cadres__6__group": "G1"}, [("cadres", 6, "no_team_for_role")]),
    ("latitude out of range", {"places__2__lat": "91"}, [("places", 2, "out_of_range")]),
    ("longitude out of range", {"places__2__lon": "-180.5"}, [("places", 2, "out_of_range")]),
    ("latitude not a number", {"places__2__lat": "北纬30"}, [("places", 2, "not_a_number")]),
    ("longitude not finite", {"places__2__lon": "nan"}, [("places", 2, "not_a_number")]),
    ("latitude without longitude", {"places__3__lat": "30.1"}, [("places", 3, "lat_lon_pair")]),
    ("over-long cadre name", {"cadres__2__name": "张" * 65}, [("cadres", 2, "too_long")]),
    ("over-long team name", {"teams__2__name": "队" * 65}, [("teams", 2, "too_long")]),
    ("over-long code", {"places__3__code": "C" * 33}, [("places", 3, "too_long")]),
    ("over-long unit", {"cadres__6__unit": "局" * 65}, [("cadres", 6, "too_long")]),
]


@pytest.mark.parametrize(("rule", "change", "expected"), RULES, ids=[r[0] for r in RULES])
def test_validation_rule(
    rule: str,
    change: Callable[[dict[str, RawSheet]], None] | dict[str, str],
    expected: list[object],
) -> None:
    if isinstance(change, dict):
        data = sheets(**change)
    else:
        data = copy.deepcopy(BASE)
        change(data)
    checked = validate(data)
    assert checked.roster is None
    assert found(data) == expected


def test_every_bad_row_is_reported_in_sheet_and_row_order() -> None:
    data = sheets(
        places__2__lat="x", cadres__3__role="?", cadres__2__phone="1", teams__2__name="队" * 99
    )
    assert found(data) == [
        ("teams", 2, "too_long"),
        ("cadres", 2, "bad_phone"),
        ("cadres", 3, "bad_role"),
        ("places", 2, "not_a_number"),
    ]


def test_messages_name_sheet_row_and_reason_in_both_languages() -> None:
    catalog = default_catalog()
    issue = validate(sheets(cadres__3__phone="12345")).errors[0]
    zh = render_issue(issue, catalog, "zh-CN")
    assert zh == "cadres（干部） 第3行：手机号(phone)“12345”不是有效的手机号"
    assert render_issue(issue, catalog, "en") == "cadres row 3: phone '12345' is not a phone number"
    needs = render_issue(Issue("cadres", 7, "needs_group", {"role": "cadre"}), catalog, "zh-CN")
    assert needs == "cadres（干部） 第7行：角色为队员，必须填写工作组"
    missing = render_issue(
        Issue("places", None, "missing_sheet", {"name": "places"}), catalog, "en"
    )
    assert missing.startswith("places: sheet is missing")


def test_catalogues_agree_on_roster_messages() -> None:
    messages = default_catalog().messages
    zh = {k: v for k, v in messages["zh-CN"].items() if k.startswith("roster.")}
    en = {k: v for k, v in messages["en"].items() if k.startswith("roster.")}
    assert zh.keys() == en.keys()
    for key in zh:
        assert placeholders(zh[key]) == placeholders(en[key]), key


def test_exported_role_and_kind_names_parse_back() -> None:
    for role, name in ROLE_NAMES_ZH.items():
        assert roster_role(name) is role
    for kind, name in KIND_NAMES_ZH.items():
        assert parse_kind(name) is kind


# --- files --------------------------------------------------------------------------------


def write_csvs(folder: Path, data: dict[str, RawSheet], encoding: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for sheet, rows in data.items():
        text = "\r\n".join(",".join(row) for row in rows) + "\r\n"
        (folder / f"{sheet}.csv").write_bytes(text.encode(encoding))
    return folder


def zh_base() -> dict[str, RawSheet]:
    data = copy.deepcopy(BASE)
    data["cadres"][0] = ["姓名", "手机号", "角色", "工作队", "工作组", "选派单位"]
    data["places"][0] = ["编号", "类型", "名称", "镇街", "工作组", "所属村", "纬度", "经度"]
    return data


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig", "utf-8"])
def test_csv_folder_in_each_encoding(tmp_path: Path, encoding: str) -> None:
    folder = write_csvs(tmp_path / "r", zh_base(), encoding)
    if encoding == "gb18030":  # really not UTF-8, as Chinese Excel saves it
        with pytest.raises(UnicodeDecodeError):
            (folder / "cadres.csv").read_bytes().decode("utf-8")
    checked = validate(read_roster(folder))
    assert checked.errors == ()
    assert checked.roster == validate(BASE).roster


def test_csv_in_utf16_is_refused(tmp_path: Path) -> None:
    folder = write_csvs(tmp_path / "r", BASE, "utf-16")
    with pytest.raises(RosterFileError) as err:
        read_roster(folder)
    assert err.value.key == "bad_encoding"


def test_csv_files_may_have_chinese_names(tmp_path: Path) -> None:
    folder = write_csvs(tmp_path / "r", BASE, "utf-8")
    (folder / "cadres.csv").rename(folder / "干部.csv")
    assert validate(read_roster(folder)).errors == ()
    write_csvs(folder, {"cadres": BASE["cadres"]}, "utf-8")
    with pytest.raises(RosterFileError) as err:
        read_roster(folder)
    assert err.value.key == "duplicate_sheet"


def test_xlsx_with_numbers_as_excel_stores_them(tmp_path: Path) -> None:
    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    for sheet, rows in BASE.items():
        ws = wb.create_sheet("干部" if sheet == "cadres" else sheet)
        for row in rows:
            ws.append(row)
    cadres = wb["干部"]
    cadres["B2"] = 13800000001  # typed in as a number
    cadres["B6"] = 13800000041.0
    places = wb["places"]
    places["G2"], places["H2"] = 30, 114  # whole numbers
    wb.create_sheet("说明").append(["这张表不是花名册，导入时忽略"])
    wb.save(tmp_path / "r.xlsx")
    checked = validate(read_roster(tmp_path / "r.xlsx"))
    assert checked.errors == ()
    assert checked.roster == validate(BASE).roster


@pytest.mark.parametrize(
    ("name", "content", "key"),
    [
        ("nothing", None, "not_found"),
        ("r.xlsx", b"not a zip", "not_xlsx"),
        ("r.xls", b"\xd0\xcf\x11\xe0", "old_xls"),
        ("cadres.csv", b"name\n", "single_csv"),
        ("r.txt", b"", "unknown_format"),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, content: bytes | None, key: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(RosterFileError) as err:
        read_roster(path)
    assert err.value.key == key
    assert str(path) in default_catalog().t("zh-CN", f"roster.file.{key}", **err.value.params)


def test_demo_roster_is_valid_and_covers_everything() -> None:
    for source in (EXAMPLES / "roster", EXAMPLES / "roster.xlsx"):
        checked = validate(read_roster(source))
        assert checked.errors == () and checked.warnings == (), source
        roster = checked.roster
        assert roster is not None
        assert len({t.town for t in roster.teams}) == 2
        assert len(roster.groups) == 4
        assert 18 <= len(roster.cadres) <= 22
        assert {c.role for c in roster.cadres} == set(Role)
        assert 13 <= len(roster.places) <= 17
        assert {p.kind for p in roster.places} == set(PlaceKind)
        for p in roster.places:
            if p.kind in (PlaceKind.VILLAGE, PlaceKind.ENTERPRISE):
                assert p.lat is not None and p.lon is not None
        assert all(c.phone.startswith("+86138000") for c in roster.cadres)
    csv_roster = validate(read_roster(EXAMPLES / "roster")).roster
    assert validate(read_roster(EXAMPLES / "roster.xlsx")).roster == csv_roster


def demo() -> Roster:
    roster = validate(read_roster(EXAMPLES / "roster")).roster
    assert roster is not None
    return roster


def test_xlsx_export_keeps_phones_as_text(tmp_path: Path) -> None:
    write_xlsx(tmp_path / "r.xlsx", roster_rows(demo()))
    ws = load_workbook(tmp_path / "r.xlsx")["cadres"]
    assert ws["B2"].value == "138 0000 0101" and ws["B2"].number_format == "@"
    assert ws.freeze_panes == "A2"


# --- the database -------------------------------------------------------------------------


def drop(roster: Roster, **keep: Callable[[object], bool]) -> Roster:
    return Roster(
        **{
            sheet: tuple(e for e in getattr(roster, sheet) if keep.get(sheet, bool)(e))
            for sheet in ("teams", "groups", "cadres", "places")
        }
    )


async def count(db: Database, sql: str, params: tuple[object, ...] = ()) -> int:
    row = await db.fetchone(f"SELECT COUNT(*) AS n FROM {sql}", params)
    return int(row["n"]) if row else 0


async def test_import_demo_into_empty_database(db: Database) -> None:
    result = await import_roster(db, demo(), NOW, source="examples/roster")
    assert result.by_sheet() == {
        "teams": Changes(added=2),
        "groups": Changes(added=4),
        "cadres": Changes(added=20),
        "places": Changes(added=15),
    }
    cadre = await people.cadre_by_phone(db, "+8613800000103")
    assert cadre is not None and cadre.name == "王五" and cadre.role is Role.GROUP_LEADER
    assert cadre.group_name == "青山一组" and cadre.team_name == "青山镇工作队"
    row = await db.fetchone(
        "SELECT v.code FROM places h JOIN places v ON v.id = h.village_id WHERE h.code = 'H05'"
    )
    assert row is not None and row["code"] == "V04"
    assert await count(db, "audit_log WHERE action = 'roster.add'") == 41
    assert await count(db, "audit_log WHERE action = 'roster.import'") == 1


async def test_dry_run_counts_but_writes_nothing(db: Database) -> None:
    result = await import_roster(db, demo(), NOW, dry_run=True)
    assert result.dry_run and result.cadres == Changes(added=20)
    for table in ("teams", "groups", "cadres", "places", "audit_log"):
        assert await count(db, table) == 0


async def test_import_is_one_transaction(db: Database) -> None:
    roster = demo()
    # Bypasses validation: the last group names a team that is not there.
    broken = Roster(roster.teams, (*roster.groups, GroupEntry("G9", "x", "T9")), (), ())
    with pytest.raises(KeyError):
        await import_roster(db, broken, NOW)
    assert await count(db, "teams") == 0 and await count(db, "audit_log") == 0


async def test_reimport_updates_in_place_and_deactivates(db: Database) -> None:
    await import_roster(db, demo(), NOW)
    before = await people.cadre_by_phone(db, "+8613800000104")
    leaving = await people.cadre_by_phone(db, "+8613800000105")
    assert before is not None and leaving is not None
    assert await people.bind(db, leaving.id, 9105, "contact", NOW) == "bound"

    roster = demo()
    moved = [
        CadreEntry(c.phone, "赵六六", c.role, "T01", "G02", c.unit)
        if c.phone == before.phone
        else c
        for c in roster.cadres
        if c.phone != leaving.phone
    ]
    changed = drop(
        Roster(roster.teams, roster.groups, tuple(moved), roster.places),
        places=lambda p: getattr(p, "code", "") != "H05",
    )
    result = await import_roster(db, changed, NOW)
    assert result.by_sheet() == {
        "teams": Changes(),
        "groups": Changes(),
        "cadres": Changes(updated=1, deactivated=1),
        "places": Changes(deactivated=1),
    }
    after = await people.cadre_by_phone(db, before.phone)
    assert after is not None and after.id == before.id  # the same row, updated
    assert (after.name, after.group_name) == ("赵六六", "青山二组")
    gone = await people.cadre_by_phone(db, leaving.phone)
    assert gone is not None and not gone.active  # kept, with its binding
    assert gone.telegram_user_id == 9105
    assert await people.cadre_by_telegram(db, 9105) is None  # but cannot use the bot
    assert await count(db, "places WHERE code = 'H05' AND active = 0") == 1
    audit = await db.fetchone(
        "SELECT before, after FROM audit_log WHERE action = 'roster.update' AND subject = ?",
        (f"cadre:{before.id}",),
    )
    assert audit is not None
    assert json.loads(audit["before"])["name"] == "赵六"
    assert json.loads(audit["after"])["name"] == "赵六六"

    # Back on the roster: the same cadre again, bound as before.
    result = await import_roster(db, demo(), NOW)
    assert result.cadres == Changes(updated=2) and result.places == Changes(updated=1)
    back = await people.cadre_by_telegram(db, 9105)
    assert back is not None and back.id == leaving.id and back.active


async def test_deactivating_teams_and_groups_keeps_them(db: Database) -> None:
    await import_roster(db, demo(), NOW)
    roster = demo()
    only_t01 = drop(
        roster,
        teams=lambda t: getattr(t, "code", "") == "T01",
        groups=lambda g: getattr(g, "team", "") == "T01",
        cadres=lambda c: getattr(c, "team", None) != "T02",
        places=lambda p: getattr(p, "town", "") == "青山镇",
    )
    result = await import_roster(db, only_t01, NOW)
    assert result.teams == Changes(deactivated=1)
    assert result.groups == Changes(deactivated=2)
    assert result.cadres == Changes(deactivated=8)
    assert result.places == Changes(deactivated=7)
    assert await count(db, "teams") == 2 and await count(db, "groups") == 4
    assert await count(db, "cadres WHERE active = 0 AND group_id IS NOT NULL") == 6
    exported = await load_roster(db)
    assert exported == only_t01


async def test_empty_database_exports_headers_only(db: Database, tmp_path: Path) -> None:
    roster = await load_roster(db)
    assert roster == Roster()
    write_roster(tmp_path / "t", roster_rows(roster))
    text = (tmp_path / "t" / "cadres.csv").read_bytes()
    assert text == "\ufeff姓名,手机号,角色,工作队,工作组,选派单位\r\n".encode()
    write_roster(tmp_path / "t.xlsx", roster_rows(roster))
    again = read_roster(tmp_path / "t.xlsx")
    assert {s: len(rows) for s, rows in again.items()} == dict.fromkeys(again, 1)
    assert validate(again).roster == Roster()


@pytest.mark.parametrize("target", ["out", "out.xlsx"])
async def test_round_trip_changes_nothing(db: Database, tmp_path: Path, target: str) -> None:
    await import_roster(db, demo(), NOW)
    snapshot = await _tables(db)
    path = write_roster(tmp_path / target, roster_rows(await load_roster(db)))
    checked = validate(read_roster(path))
    assert checked.errors == () and checked.roster == demo()
    result = await import_roster(db, checked.roster, NOW)
    assert not result.changed
    assert await _tables(db) == snapshot


async def test_export_of_demo_is_the_demo_files(db: Database, tmp_path: Path) -> None:
    await import_roster(db, demo(), NOW)
    write_csv_folder(tmp_path / "out", roster_rows(await load_roster(db)))
    for sheet in ("teams", "groups", "cadres", "places"):
        name = f"{sheet}.csv"
        assert (tmp_path / "out" / name).read_bytes() == (EXAMPLES / "roster" / name).read_bytes()


async def _tables(db: Database) -> dict[str, list[tuple[object, ...]]]:
    out = {}
    for table in ("teams", "groups", "cadres", "places"):
        rows = await db.fetchall(f"SELECT * FROM {table} ORDER BY id")
        out[table] = [tuple(r) for r in rows]
    return out


# --- the command line ---------------------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "fieldbot.toml"
    database = json.dumps(str(tmp_path / "data" / "fieldbot.sqlite3"))
    path.write_text(f"[storage]\ndatabase = {database}\n", encoding="utf-8")
    return path


def _db_rows(config: Path, sql: str) -> list[sqlite3.Row]:
    async def query() -> list[sqlite3.Row]:
        async with open_database(config.parent / "data" / "fieldbot.sqlite3") as db:
            return await db.fetchall(sql)

    return asyncio.run(query())


def test_cli_import_prints_one_line_summary(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config), "roster", "import", str(EXAMPLES / "roster.xlsx")]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out == [
        "花名册已导入：teams（工作队） 新增2 更新0 停用0；groups（工作组） 新增4 更新0 停用0；"
        "cadres（干部） 新增20 更新0 停用0；places（挂钩点） 新增15 更新0 停用0"
    ]
    assert len(_db_rows(config, "SELECT id FROM cadres WHERE active = 1")) == 20
    assert main(["--config", str(config), "roster", "import", str(EXAMPLES / "roster")]) == 0
    assert "新增0 更新0 停用0；groups" in capsys.readouterr().out


def test_cli_dry_run_writes_nothing(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--config", str(config), "roster", "import", "--dry-run", str(EXAMPLES / "roster")]
    assert main(args) == 0
    assert "没有写入" in capsys.readouterr().out
    assert not (config.parent / "data").exists()  # not even an empty database
    assert main(["--config", str(config), "roster", "import", str(EXAMPLES / "roster")]) == 0
    folder = write_csvs(config.parent / "r", sheets(cadres__2__name="张伟伟"), "utf-8")
    capsys.readouterr()
    assert main(["--config", str(config), "roster", "import", "--dry-run", str(folder)]) == 0
    assert "cadres（干部） 新增5 更新0 停用20" in capsys.readouterr().out
    assert len(_db_rows(config, "SELECT id FROM cadres WHERE active = 1")) == 20


def test_cli_reports_every_bad_row_and_exits_2(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_csvs(
        config.parent / "r", sheets(cadres__3__phone="12345", places__4__kind="工厂"), "gb18030"
    )
    assert main(["--config", str(config), "roster", "import", str(folder)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "cadres（干部） 第3行：手机号(phone)“12345”不是有效的手机号",
        "places（挂钩点） 第4行：类型“工厂”无法识别；可填：村、社区、企业、户",
        "fieldbot: 花名册有 2 处错误，没有写入任何内容。请改正后重新导入。",
    ]
    assert not (config.parent / "data").exists()


def test_cli_speaks_the_configured_language(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config.write_text(config.read_text() + '[campaign]\nlanguage = "en"\n', encoding="utf-8")
    folder = write_csvs(config.parent / "r", sheets(cadres__2__role="boss"), "utf-8")
    assert main(["--config", str(config), "roster", "import", str(folder)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("cadres row 2: role 'boss' is not known")
    assert (
        err[-1]
        == "fieldbot: the roster has 1 error(s); nothing was written. Fix them and import again."
    )


@pytest.mark.parametrize("target", ["missing-folder", "roster.xls"])
def test_cli_unreadable_file_is_one_line(
    config: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    path = config.parent / target
    if target.endswith(".xls"):
        path.write_bytes(b"\xd0\xcf\x11\xe0")
    assert main(["--config", str(config), "roster", "import", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1
    assert captured.err.startswith("fieldbot: ") and str(path) in captured.err
    assert "Traceback" not in captured.err


def test_cli_export_then_import_round_trip(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = config.parent / "template.xlsx"
    assert main(["--config", str(config), "roster", "export", str(empty)]) == 0
    assert "干部 0 人" in capsys.readouterr().out
    assert validate(read_roster(empty)).roster == Roster()

    assert main(["--config", str(config), "roster", "import", str(EXAMPLES / "roster")]) == 0
    out = config.parent / "export"
    assert main(["--config", str(config), "roster", "export", str(out)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"花名册已导出到 {out}：工作队 2 个，工作组 4 个，干部 20 人，挂钩点 15 个"
    )
    assert main(["--config", str(config), "roster", "import", str(out)]) == 0
    assert capsys.readouterr().out.count("新增0 更新0 停用0") == 4


def test_cli_export_onto_a_file_is_one_line(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = config.parent / "roster.csv"
    target.write_text("x")
    assert main(["--config", str(config), "roster", "export", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "不是文件夹" in err


def test_cli_refuses_to_deactivate_most_cadres_without_the_flag(
    config: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["--config", str(config), "roster", "import", str(EXAMPLES / "roster")]) == 0
    template = tmp_path / "template"
    assert main(["--config", str(config), "roster", "export", str(template)]) == 0
    # The blank template: headers only.
    for name in ("teams", "groups", "cadres", "places"):
        lines = (template / f"{name}.csv").read_text(encoding="utf-8-sig").splitlines()
        (template / f"{name}.csv").write_text(lines[0] + "\n", encoding="utf-8-sig")
    capsys.readouterr()
    assert main(["--config", str(config), "roster", "import", str(template)]) == 2
    assert "--allow-mass-deactivation" in capsys.readouterr().err
    assert len(_db_rows(config, "SELECT id FROM cadres WHERE active = 1")) == 20
    args = ["roster", "import", "--allow-mass-deactivation", str(template)]
    assert main(["--config", str(config), *args]) == 0
    assert _db_rows(config, "SELECT id FROM cadres WHERE active = 1") == []


def test_cli_missing_config_is_not_replaced_by_the_example(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "typo.toml"
    assert main(["--config", str(missing), "roster", "export", str(tmp_path / "x")]) == 2
    assert "typo.toml" in capsys.readouterr().err
