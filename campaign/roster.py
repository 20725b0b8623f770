"""The roster file: its sheets and columns, and validating raw rows into typed entries.

A roster is four sheets, ``teams``, ``groups``, ``cadres`` and ``places``, read from an
XLSX workbook or a folder of CSV files (``campaign.roster_files``). It is always the
whole roster: whatever is not in it is no longer on the campaign. Validation looks at
every row before anything is written and collects every mistake, each with its sheet
and its row number as Excel shows it (header = row 1), so office staff can fix the file
in one pass. No database here: the result is a :class:`Roster` of plain entries.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from campaign.i18n import Catalog
from campaign.phones import mainland_mobile, normalise_phone
from campaign.places import KIND_NAMES_ZH, PlaceKind, parse_kind
from campaign.roles import NEEDS_GROUP, NEEDS_TEAM, Role, parse_role

SHEETS = ("teams", "groups", "cadres", "places")
SHEET_NAMES_ZH = {"teams": "工作队", "groups": "工作组", "cadres": "干部", "places": "挂钩点"}
# A sheet (or CSV file) may be named by its code or its Chinese name.
SHEET_ALIASES: dict[str, str] = {
    **{s: s for s in SHEETS},
    **{zh: s for s, zh in SHEET_NAMES_ZH.items()},
    "党员干部": "cadres",
}

# The Chinese role names the export writes; each must parse back (a test checks it).
ROLE_NAMES_ZH: dict[Role, str] = {
    Role.CADRE: "队员",
    Role.GROUP_LEADER: "工作组组长",
    Role.TEAM_LEADER: "工作队队长",
    Role.DEPUTY_TEAM_LEADER: "工作队副队长",
    Role.OFFICE: "活动办公室",
    Role.INSPECTOR: "检查指导组",
}
# "活动办公室" is how the bot's menus name the office, so staff will type it.
_EXTRA_ROLE_ALIASES = {"活动办公室": Role.OFFICE}


def roster_role(text: str) -> Role | None:
    return parse_role(text) or _EXTRA_ROLE_ALIASES.get(text.strip())


@dataclass(frozen=True)
class Column:
    code: str
    zh: str  # the Chinese header the export writes
    aliases: tuple[str, ...] = ()  # more Chinese headers accepted
    header_required: bool = True
    cell_required: bool = False
    max_len: int = 64


_CODE = 32
_TOWN = 32
COLUMNS: dict[str, tuple[Column, ...]] = {
    "teams": (
        Column("code", "编号", ("队编号", "代码"), cell_required=True, max_len=_CODE),
        Column("name", "名称", ("队名", "工作队名称"), cell_required=True),
        Column("town", "镇街", ("乡镇", "乡镇街道"), header_required=False, max_len=_TOWN),
    ),
    "groups": (
        Column("code", "编号", ("组编号", "代码"), cell_required=True, max_len=_CODE),
        Column("name", "名称", ("组名", "工作组名称"), cell_required=True),
        Column("team", "工作队", ("所属工作队",), cell_required=True),
    ),
    "cadres": (
        Column("name", "姓名", (), cell_required=True),
        Column("phone", "手机号", ("手机", "手机号码", "联系电话"), cell_required=True, max_len=32),
        Column("role", "角色", (), cell_required=True, max_len=32),
        Column("team", "工作队", ("所属工作队",)),
        Column("group", "工作组", ("所属工作组",)),
        Column("unit", "选派单位", ("派出单位",), header_required=False),
        # Optional: the unit's contact (a name, or a phone); one row per unit is enough.
        Column("unit_contact", "单位联系人", ("选派单位联系人",), header_required=False),
    ),
    "places": (
        Column("code", "编号", ("代码",), cell_required=True, max_len=_CODE),
        Column("kind", "类型", (), cell_required=True, max_len=32),
        Column("name", "名称", (), cell_required=True),
        Column("town", "镇街", ("乡镇", "乡镇街道"), header_required=False, max_len=_TOWN),
        Column("group", "工作组", ("所属工作组",)),
        Column("village", "所属村", (), header_required=False),
        Column("lat", "纬度", (), header_required=False, max_len=32),
        Column("lon", "经度", (), header_required=False, max_len=32),
    ),
}

_PARENTHESES = re.compile(r"[（(][^）)]*[）)]")


def header_key(text: str) -> str:
    """Headers match loosely: case, spaces, a required-mark ``*`` and a remark in
    brackets, as in ``手机号（必填）``, do not matter."""
    text = _PARENTHESES.sub("", text.replace("\ufeff", "")).replace("*", "")
    return "".join(text.split()).lower()


def _header_index(sheet: str) -> dict[str, str]:
    index: dict[str, str] = {}
    for col in COLUMNS[sheet]:
        for name in (col.code, col.zh, *col.aliases):
            index[header_key(name)] = col.code
    return index


# --- what a valid roster holds --------------------------------------------------------


@dataclass(frozen=True)
class TeamEntry:
    code: str
    name: str
    town: str = ""


@dataclass(frozen=True)
class GroupEntry:
    code: str
    name: str
    team: str  # team code


@dataclass(frozen=True)
class CadreEntry:
    phone: str  # canonical, see campaign.phones
    name: str
    role: Role
    team: str | None = None  # team code
    group: str | None = None  # group code
    unit: str = ""
    unit_contact: str = ""  # the unit's contact as written: a name or a phone


@dataclass(frozen=True)
class PlaceEntry:
    code: str
    kind: PlaceKind
    name: str
    town: str = ""
    group: str | None = None  # group code
    village: str | None = None  # place code of the household's village
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class Roster:
    teams: tuple[TeamEntry, ...] = ()
    groups: tuple[GroupEntry, ...] = ()
    cadres: tuple[CadreEntry, ...] = ()
    places: tuple[PlaceEntry, ...] = ()

    def counts(self) -> dict[str, int]:
        return {s: len(getattr(self, s)) for s in SHEETS}


# --- mistakes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Issue:
    """One mistake (or warning) in the file: where, and a catalogue key saying what.

    ``params`` may name a ``column`` (of ``sheet``), a ``target`` sheet, a ``role`` or
    a ``kind``; :func:`render_issue` puts them into the reader's language.
    """

    sheet: str
    row: int | None
    key: str
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Validation:
    roster: Roster | None  # None when there is any error
    errors: tuple[Issue, ...]
    warnings: tuple[Issue, ...] = ()


def _is_zh(lang: str) -> bool:
    return lang.lower().startswith("zh")


def sheet_label(sheet: str, lang: str) -> str:
    return f"{sheet}（{SHEET_NAMES_ZH[sheet]}）" if _is_zh(lang) else sheet


def column_label(sheet: str, code: str, lang: str) -> str:
    if not _is_zh(lang):
        return code
    zh = next((c.zh for c in COLUMNS[sheet] if c.code == code), code)
    return f"{zh}({code})"


def render_issue(issue: Issue, catalog: Catalog, lang: str) -> str:
    values = dict(issue.params)
    if "column" in values:
        values["column"] = column_label(issue.sheet, str(values["column"]), lang)
    if "target" in values:
        values["target"] = sheet_label(str(values["target"]), lang)
    if "role" in values:
        values["role"] = catalog.t(lang, f"roles.{values['role']}")
    if "kind" in values:
        kind = PlaceKind(str(values["kind"]))
        values["kind"] = KIND_NAMES_ZH[kind] if _is_zh(lang) else kind.value
    reason = catalog.t(lang, f"roster.issue.{issue.key}", **values)
    sheet = sheet_label(issue.sheet, lang)
    where = (
        catalog.t(lang, "roster.where_row", sheet=sheet, row=issue.row)
        if issue.row is not None
        else sheet
    )
    return catalog.t(lang, "roster.line", where=where, reason=reason)


# --- validation -------------------------------------------------------------------------

RawSheet = list[list[str]]  # row i holds Excel row i + 1; cells already text
_HEADER_SEARCH_ROWS = 10  # a title row or two above the header is common in 花名册


@dataclass
class _Line:
    row: int
    values: dict[str, str]

    def get(self, code: str) -> str:
        return self.values.get(code, "")


@dataclass
class _Index:
    """Codes of one sheet, and names that lead to exactly one code."""

    sheet: str
    codes: dict[str, _Line] = field(default_factory=dict)
    names: dict[str, list[str]] = field(default_factory=dict)

    def add(self, code: str, line: _Line) -> None:
        self.codes[code] = line
        name = line.get("name")
        if name:
            self.names.setdefault(name, []).append(code)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


class _Validator:
    def __init__(self, sheets: Mapping[str, RawSheet]) -> None:
        self.sheets = sheets
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []
        self.indexes: dict[str, _Index] = {}
        self.lines: dict[str, list[_Line]] = {}

    def error(self, sheet: str, row: int | None, key: str, **params: object) -> None:
        self.errors.append(Issue(sheet, row, key, params))

    # The header, and the non-empty rows under it; None when the sheet cannot be read
    # (its mistakes are reported and references into it are not checked).
    def _read(self, sheet: str) -> list[_Line] | None:
        raw = self.sheets.get(sheet)
        if raw is None:
            self.error(sheet, None, "missing_sheet", name=sheet)
            return None
        known = _header_index(sheet)
        header_at = next(
            (
                i
                for i, cells in enumerate(raw[:_HEADER_SEARCH_ROWS])
                if any(header_key(c) in known for c in cells if c)
            ),
            next((i for i, cells in enumerate(raw) if any(cells)), 0),
        )
        header = raw[header_at] if raw else []
        positions: dict[str, int] = {}
        broken = False
        for pos, text in enumerate(header):
            if not text:
                continue
            code = known.get(header_key(text))
            if code is None:
                self.warnings.append(
                    Issue(sheet, header_at + 1, "unknown_column", {"header": text})
                )
            elif code in positions:
                self.error(sheet, header_at + 1, "duplicate_column", column=code)
                broken = True
            else:
                positions[code] = pos
        for col in COLUMNS[sheet]:
            if col.header_required and col.code not in positions:
                self.error(sheet, header_at + 1, "missing_column", column=col.code)
                broken = True
        if broken:
            return None
        lines: list[_Line] = []
        for i in range(header_at + 1, len(raw)):
            cells = raw[i]
            values = {c: cells[p] if p < len(cells) else "" for c, p in positions.items()}
            if any(values.values()):
                lines.append(_Line(i + 1, values))
        return lines

    def _cells_ok(self, sheet: str, line: _Line) -> bool:
        ok = True
        for col in COLUMNS[sheet]:
            value = line.get(col.code)
            if col.cell_required and not value:
                self.error(sheet, line.row, "empty", column=col.code)
                ok = False
            elif len(value) > col.max_len:
                self.error(
                    sheet, line.row, "too_long", column=col.code, max=col.max_len, length=len(value)
                )
                ok = False
        return ok

    def _index(self, sheet: str, lines: list[_Line]) -> None:
        index = _Index(sheet)
        for line in lines:
            code = line.get("code")
            if not code:
                continue
            if code in index.codes:
                first = index.codes[code].row
                self.error(sheet, line.row, "duplicate_code", value=code, other=first)
            else:
                index.add(code, line)
        self.indexes[sheet] = index

    def _lookup(self, value: str, target: str) -> str | None:
        """The code a reference names: a code, or a name that only one row has."""
        index = self.indexes.get(target)
        if not value or index is None:
            return None
        if value in index.codes:
            return value
        found = index.names.get(value, [])
        return found[0] if len(found) == 1 else None

    def _resolve(self, sheet: str, line: _Line, column: str, target: str) -> str | None:
        """Like :meth:`_lookup` for a cell, reporting a reference that leads nowhere.
        Into a sheet that could not be read nothing is checked (it has its own error)."""
        value = line.get(column)
        code = self._lookup(value, target)
        index = self.indexes.get(target)
        if code is None and value and index is not None:
            key = "ambiguous" if index.names.get(value) else "not_found"
            self.error(sheet, line.row, key, column=column, value=value, target=target)
        return code

    def run(self) -> Validation:
        for sheet in SHEETS:
            lines = self._read(sheet)
            if lines is not None:
                self.lines[sheet] = lines
                if sheet != "cadres":
                    self._index(sheet, lines)
        teams = [self._team(line) for line in self.lines.get("teams", [])]
        groups = [self._group(line) for line in self.lines.get("groups", [])]
        cadres = self._cadres(self.lines.get("cadres", []))
        places = [self._place(line) for line in self.lines.get("places", [])]
        order = {s: i for i, s in enumerate(SHEETS)}
        errors = tuple(sorted(self.errors, key=lambda e: (order[e.sheet], e.row or 0)))
        roster = None
        if not errors:
            roster = Roster(
                teams=tuple(t for t in teams if t),
                groups=tuple(g for g in groups if g),
                cadres=tuple(c for c in cadres if c),
                places=tuple(p for p in places if p),
            )
        return Validation(roster, errors, tuple(self.warnings))

    def _team(self, line: _Line) -> TeamEntry | None:
        if not self._cells_ok("teams", line):
            return None
        return TeamEntry(line.get("code"), line.get("name"), line.get("town"))

    def _group(self, line: _Line) -> GroupEntry | None:
        ok = self._cells_ok("groups", line)
        team = self._resolve("groups", line, "team", "teams")
        if not ok or team is None:
            return None
        return GroupEntry(line.get("code"), line.get("name"), team)

    def _group_team(self, group: str) -> str | None:
        """The team code a group belongs to, as the groups sheet says."""
        return self._lookup(self.indexes["groups"].codes[group].get("team"), "teams")

    def _cadres(self, lines: list[_Line]) -> list[CadreEntry | None]:
        phones: dict[str, int] = {}
        out: list[CadreEntry | None] = []
        for line in lines:
            ok = self._cells_ok("cadres", line)
            raw_phone = line.get("phone")
            phone = mainland_mobile(raw_phone) if raw_phone else None
            if raw_phone and phone is None:
                # A landline or a number abroad can never match the contact a cadre shares.
                why = "bad_phone" if normalise_phone(raw_phone) is None else "not_mobile"
                self.error("cadres", line.row, why, column="phone", value=raw_phone)
                ok = False
            elif phone is not None:
                if phone in phones:
                    self.error("cadres", line.row, "duplicate_phone", other=phones[phone])
                    ok = False
                else:
                    phones[phone] = line.row
            raw_role = line.get("role")
            role = roster_role(raw_role) if raw_role else None
            if raw_role and role is None:
                self.error("cadres", line.row, "bad_role", value=raw_role)
                ok = False
            team = self._resolve("cadres", line, "team", "teams")
            group = self._resolve("cadres", line, "group", "groups")
            ok = ok and (team is not None or not line.get("team"))
            ok = ok and (group is not None or not line.get("group"))
            if role is not None:
                team, group, role_ok = self._cadre_places(line, role, team, group)
                ok = ok and role_ok
            if ok and phone is not None and role is not None:
                out.append(
                    CadreEntry(
                        phone,
                        line.get("name"),
                        role,
                        team,
                        group,
                        line.get("unit"),
                        line.get("unit_contact"),
                    )  # fmt: skip
                )
            else:
                out.append(None)
        return out

    def _cadre_places(
        self, line: _Line, role: Role, team: str | None, group: str | None
    ) -> tuple[str | None, str | None, bool]:
        """Check a cadre's team and group against the role; a team left empty is taken
        from the group."""
        row = line.row
        if role not in NEEDS_TEAM:
            if line.get("team") or line.get("group"):
                self.error("cadres", row, "no_team_for_role", role=role.value)
                return team, group, False
            return None, None, True
        if role in NEEDS_GROUP and not line.get("group"):
            self.error("cadres", row, "needs_group", role=role.value)
            return team, group, False
        group_team = self._group_team(group) if group is not None else None
        if group_team is not None and team is not None and group_team != team:
            self.error(
                "cadres",
                row,
                "team_mismatch",
                group=line.get("group"),
                group_team=group_team,
                team=line.get("team"),
            )
            return team, group, False
        if team is None and not line.get("team"):
            team = group_team
            if team is None and not line.get("group"):
                self.error("cadres", row, "needs_team", role=role.value)
                return team, group, False
        return team, group, True

    def _place(self, line: _Line) -> PlaceEntry | None:
        ok = self._cells_ok("places", line)
        raw_kind = line.get("kind")
        kind = parse_kind(raw_kind) if raw_kind else None
        if raw_kind and kind is None:
            self.error("places", line.row, "bad_kind", value=raw_kind)
            ok = False
        group = self._resolve("places", line, "group", "groups")
        village = self._resolve("places", line, "village", "places")
        ok = ok and (group is not None or not line.get("group"))
        ok = ok and (village is not None or not line.get("village"))
        if kind is PlaceKind.HOUSEHOLD:
            if not line.get("village"):
                self.error("places", line.row, "needs_village")
                ok = False
            elif village is not None:
                v_line = self.indexes["places"].codes[village]
                v_kind = parse_kind(v_line.get("kind"))
                if v_kind is not None and v_kind is not PlaceKind.VILLAGE:
                    self.error(
                        "places", line.row, "not_a_village", value=line.get("village"), kind=v_kind
                    )
                    ok = False
                elif group is None and not line.get("group"):
                    group = self._lookup(v_line.get("group"), "groups")
        elif kind is not None:
            if line.get("village"):
                self.error("places", line.row, "village_only_household", kind=kind.value)
                ok = False
            if not line.get("group"):
                self.error("places", line.row, "place_needs_group", kind=kind.value)
                ok = False
        lat, lon, coords_ok = self._coordinates(line)
        if not (ok and coords_ok and kind is not None):
            return None
        return PlaceEntry(
            line.get("code"), kind, line.get("name"), line.get("town"), group, village, lat, lon
        )

    def _coordinates(self, line: _Line) -> tuple[float | None, float | None, bool]:
        ok = True
        values: list[float | None] = []
        for column, limit in (("lat", 90.0), ("lon", 180.0)):
            text = line.get(column)
            value = _number(text) if text else None
            if text and value is None:
                self.error("places", line.row, "not_a_number", column=column, value=text)
                ok = False
            elif value is not None and not -limit <= value <= limit:
                self.error(
                    "places", line.row, "out_of_range", column=column, value=text, limit=int(limit)
                )
                ok = False
            values.append(value)
        lat, lon = values
        if ok and (lat is None) != (lon is None):
            self.error("places", line.row, "lat_lon_pair")
            ok = False
        return lat, lon, ok


def validate(sheets: Mapping[str, RawSheet]) -> Validation:
    """Check every row of every sheet; a roster comes back only when nothing is wrong."""
    return _Validator(sheets).run()


# --- the file the export writes ---------------------------------------------------------

Cell = str | float | None


def display_phone(phone: str) -> str:
    """``138 0000 0001``: readable, Excel keeps it as text (not a number), and it starts
    with no ``+`` that a spreadsheet would take for a formula. Roster phones are all
    mainland mobiles; anything else is shown as stored (the CSV writer neutralises it)."""
    if phone.startswith("+86") and len(phone) == 14:
        return f"{phone[3:6]} {phone[6:10]} {phone[10:]}"
    return phone


def roster_rows(roster: Roster) -> dict[str, list[list[Cell]]]:
    """Each sheet as rows of cells, header first, in the export's format."""
    out: dict[str, list[list[Cell]]] = {s: [[c.zh for c in COLUMNS[s]]] for s in SHEETS}
    # The optional unit contact column only when some unit names one: an older roster
    # exports as it was imported.
    contacts = any(c.unit_contact for c in roster.cadres)
    if not contacts:
        out["cadres"][0] = [c.zh for c in COLUMNS["cadres"] if c.code != "unit_contact"]
    for t in roster.teams:
        out["teams"].append([t.code, t.name, t.town])
    for g in roster.groups:
        out["groups"].append([g.code, g.name, g.team])
    for c in roster.cadres:
        row: list[Cell] = [
            c.name,
            display_phone(c.phone),
            ROLE_NAMES_ZH[c.role],
            c.team or "",
            c.group or "",
            c.unit,
        ]
        out["cadres"].append([*row, c.unit_contact] if contacts else row)
    for p in roster.places:
        out["places"].append(
            [
                p.code,
                KIND_NAMES_ZH[p.kind],
                p.name,
                p.town,
                p.group or "",
                p.village or "",
                p.lat,
                p.lon,
            ]
        )
    return out


def unit_contacts(roster: Roster) -> dict[str, tuple[str, str | None]]:
    """Each sending unit's contact: the first one its cadres' rows name, with the mobile
    phone it reads as (None: just a name)."""
    out: dict[str, tuple[str, str | None]] = {}
    for c in roster.cadres:
        if c.unit and c.unit_contact and c.unit not in out:
            out[c.unit] = (c.unit_contact, mainland_mobile(c.unit_contact))
    return out


def is_mass_deactivation(active_before: int, deactivated: int) -> bool:
    """An import that would switch off most of the active cadres is usually the blank
    template or the wrong file; the CLI asks for an explicit flag before doing it."""
    return deactivated >= 5 and deactivated * 2 > active_before
