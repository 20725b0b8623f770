"""Work plans (工作计划, 分到季排到月, 责任到人): the pure rules.

What a month, a measure and a status are; who may see, add or report on an item; when an
item is overdue; and the whole-file check of the clerk's Excel rows (every mistake with
its row, nothing written unless all rows are right). No database, no chat library.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from campaign.periods import Period
from campaign.periods import month_of as period_month
from campaign.roles import TEAM_LEADERS, Role
from campaign.vocabulary import WORK_KINDS

STATUSES: tuple[str, ...] = ("todo", "doing", "done", "cancelled")
OPEN_STATUSES = frozenset({"todo", "doing"})
# Words a clerk may type in the status column (the catalogue shows ``plans.status.*``).
STATUS_WORDS: dict[str, str] = {
    "未开始": "todo",
    "进行中": "doing",
    "已完成": "done",
    "完成": "done",
    "已取消": "cancelled",
    "取消": "cancelled",
    **{s: s for s in STATUSES},
}
KIND_WORDS: dict[str, str] = {
    "宣讲政策": "policy",
    "调查研究": "survey",
    "强基固本": "party",
    "兴办实事": "service",
    "维护稳定": "stability",
    "服务企业": "enterprise",
    **{k: k for k in WORK_KINDS},
}
MAX_TITLE = 200
MAX_MEASURE = 500
MAX_NOTE = 1000
MAX_PHOTOS = 10
MAX_OWNERS = 20
REMIND_WORKDAYS = 3  # an item due within this many workdays reminds its owners

# The template's columns, in order (the import finds them by header, in any order).
HEADERS: tuple[str, ...] = (
    "编号",
    "工作队",
    "工作组",
    "挂钩点",
    "月份",
    "完成日期",
    "事项",
    "措施",
    "目标数",
    "单位",
    "工作内容",
    "责任人",
    "状态",
    "取消原因",
)
REQUIRED_HEADERS = frozenset({"编号", "工作队", "月份", "事项", "责任人"})
SHEET = "工作计划"
_OWNER_SEP = re.compile(r"[、,，;；/\s]+")
_MONTH = re.compile(r"^\s*(\d{4})\s*(?:[-/.年])\s*(\d{1,2})\s*(?:月)?\s*$")
_DAY = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?\s*$")
_MEASURE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(\S{0,10})\s*$")
_CODE = re.compile(r"^[A-Za-z0-9_\-.]{1,40}$")


# --- months and days -------------------------------------------------------------------


def parse_month(text: str) -> str | None:
    """``2026-03``, ``2026/3``, ``2026年3月``, or a day (a spreadsheet date cell such as
    ``2026-03-01T00:00:00``): the month as ``YYYY-MM``; None if it is none of these."""
    text = text.strip()
    if "T" in text:
        text = text.split("T", 1)[0]
    day = parse_date(text)
    if day is not None:
        return f"{day.year:04d}-{day.month:02d}"
    m = _MONTH.match(text)
    if m is None or not 1 <= int(m.group(2)) <= 12:
        return None
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"


def parse_date(text: str) -> date | None:
    text = text.strip().split("T", 1)[0]
    m = _DAY.match(text)
    if m is None:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def month_start(month: str) -> date:
    return date(int(month[:4]), int(month[5:7]), 1)


def month_end(month: str) -> date:
    year, mon = int(month[:4]), int(month[5:7])
    return date(year, mon, calendar.monthrange(year, mon)[1])


def quarter_of(month: str) -> int:
    return (int(month[5:7]) - 1) // 3 + 1


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def next_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year + mon // 12:04d}-{mon % 12 + 1:02d}"


@dataclass(frozen=True)
class Window:
    """The campaign's months: items may only fall in them."""

    first: str  # YYYY-MM
    last: str

    def holds(self, month: str) -> bool:
        return self.first <= month <= self.last

    def months(self) -> list[str]:
        out, m = [], self.first
        while m <= self.last:
            out.append(m)
            m = next_month(m)
        return out


def window(first: str, last: str, today: date) -> Window:
    """The configured months; a bound left empty means the first or last month of the
    year of ``today``."""
    return Window(first or f"{today.year:04d}-01", last or f"{today.year:04d}-12")


_TWO_CHAR_UNITS = frozenset({"万元", "场次", "人次", "户次", "公里", "平方", "千元"})
_NUMBER_UNIT = re.compile(r"(\d+(?:\.\d+)?)\s*([^\d\s,，.。;；:：、()（）]{0,2})")


def parse_measure(text: str) -> tuple[float | None, str]:
    """The measure's number and unit: ``36 户`` → (36, "户"), ``招工 20 人`` → (20, "人");
    a text without a number has no target."""
    m = _MEASURE.match(text)
    if m is not None:
        return float(m.group(1)), m.group(2)
    m = _NUMBER_UNIT.search(text)
    if m is None:
        return None, ""
    unit = m.group(2)
    return float(m.group(1)), unit if unit in _TWO_CHAR_UNITS else unit[:1]


def number_text(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


# --- judging an item -------------------------------------------------------------------


def is_open(status: str) -> bool:
    return status in OPEN_STATUSES


def is_overdue(status: str, due: date, today: date) -> bool:
    return is_open(status) and due < today


@dataclass(frozen=True)
class Unit:
    """Where an item belongs: a team, or a group of it."""

    team_id: int
    group_id: int | None


def may_manage(role: Role, team_id: int | None, group_id: int | None, unit: Unit) -> bool:
    """A team leader (or deputy) adds and edits the items of the team and its groups; a
    group leader those of the group."""
    if role in TEAM_LEADERS:
        return team_id == unit.team_id
    if role is Role.GROUP_LEADER:
        return group_id is not None and group_id == unit.group_id
    return False


def own_unit(role: Role, team_id: int | None, group_id: int | None) -> Unit | None:
    """The unit a leader adds items to: the team for a team leader, the group for a
    group leader; None for anyone else."""
    if role in TEAM_LEADERS and team_id is not None:
        return Unit(team_id, None)
    if role is Role.GROUP_LEADER and team_id is not None and group_id is not None:
        return Unit(team_id, group_id)
    return None


def owner_fits(unit: Unit, owner_team: int | None, owner_group: int | None) -> bool:
    """An owner must belong to the item's unit: its group, or (a team item) its team."""
    if unit.group_id is not None:
        return owner_group == unit.group_id
    return owner_team == unit.team_id


class View:
    """What ``/plan`` lists for a role."""

    MINE = "mine"
    GROUP = "group"
    TEAM = "team"
    OFFICE = "office"


def view_for(role: Role) -> str:
    if role in TEAM_LEADERS:
        return View.TEAM
    if role is Role.GROUP_LEADER:
        return View.GROUP
    if role in (Role.OFFICE, Role.INSPECTOR):
        return View.OFFICE
    return View.MINE


def default_period(today: date) -> Period:
    return period_month(today)


# --- the clerk's file ------------------------------------------------------------------


@dataclass(frozen=True)
class TeamRef:
    id: int
    code: str
    name: str
    town: str


@dataclass(frozen=True)
class GroupRef:
    id: int
    code: str
    name: str
    team_id: int


@dataclass(frozen=True)
class CadreRef:
    id: int
    name: str
    phone: str
    team_id: int | None
    group_id: int | None


@dataclass(frozen=True)
class PlaceRef:
    id: int
    code: str
    name: str
    group_id: int | None


@dataclass(frozen=True)
class Index:
    """The roster as the check needs it (active rows only)."""

    teams: Sequence[TeamRef]
    groups: Sequence[GroupRef]
    cadres: Sequence[CadreRef]
    places: Sequence[PlaceRef]


@dataclass(frozen=True)
class PlanRow:
    """One checked row, ready to write."""

    row: int
    code: str
    team_id: int
    group_id: int | None
    place_id: int | None
    month: str
    due_date: date
    title: str
    measure: str
    target: float | None
    unit: str
    kind: str | None
    owners: tuple[int, ...]
    status: str | None  # None: keep the item's status (a new item starts "todo")
    cancel_reason: str


@dataclass(frozen=True)
class Issue:
    """A mistake in the file: ``plans.file.<key>`` in the catalogue, at ``row`` (0: the
    file as a whole)."""

    row: int
    key: str
    params: Mapping[str, object] = field(default_factory=dict)


def _find(items: Iterable[TeamRef | GroupRef | PlaceRef], text: str) -> list[int]:
    key = text.strip().lower()
    by_code = [i.id for i in items if i.code.lower() == key]
    if by_code:
        return by_code
    return [i.id for i in items if i.name.strip().lower() == key]


def _header_map(header: Sequence[str]) -> tuple[dict[str, int], list[Issue]]:
    cols: dict[str, int] = {}
    for pos, name in enumerate(header):
        key = name.strip().replace(" ", "").rstrip("*")
        if key in HEADERS and key not in cols:
            cols[key] = pos
    missing = sorted(REQUIRED_HEADERS - cols.keys(), key=HEADERS.index)
    issues = [Issue(1, "missing_column", {"column": c}) for c in missing]
    return cols, issues


@dataclass
class _Check:
    """The roster looked up once for a whole file, and the mistakes found so far."""

    index: Index
    months: Window
    issues: list[Issue] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.teams = {t.id: t for t in self.index.teams}
        self.groups = {g.id: g for g in self.index.groups}
        self.places = {p.id: p for p in self.index.places}
        self.by_phone = {c.phone: c for c in self.index.cadres}
        self.by_name: dict[str, list[CadreRef]] = {}
        for c in self.index.cadres:
            self.by_name.setdefault(c.name.strip(), []).append(c)

    def bad(self, row: int, key: str, **params: object) -> None:
        self.issues.append(Issue(row, key, params))

    def code(self, n: int, code: str) -> None:
        if not code:
            self.bad(n, "no_code")
        elif not _CODE.match(code):
            self.bad(n, "bad_code", code=code)
        elif code in self.seen:
            self.bad(n, "duplicate_code", code=code, first=self.seen[code])
        else:
            self.seen[code] = n

    def unit(self, n: int, team_text: str, group_text: str) -> tuple[int | None, int | None]:
        team_ids = _find(self.index.teams, team_text)
        team_id = team_ids[0] if len(team_ids) == 1 else None
        if team_id is None:
            self.bad(n, "unknown_team", team=team_text)
        if not group_text:
            return team_id, None
        found = _find(self.index.groups, group_text)
        if team_id is not None:
            found = [g for g in found if self.groups[g].team_id == team_id] or found
        if len(found) != 1:
            self.bad(n, "unknown_group", group=group_text)
        elif team_id is not None and self.groups[found[0]].team_id != team_id:
            self.bad(n, "group_not_in_team", group=group_text, team=self.teams[team_id].name)
        else:
            return team_id, found[0]
        return team_id, None

    def place(self, n: int, text: str, team_id: int | None, group_id: int | None) -> int | None:
        if not text:
            return None
        found = _find(self.index.places, text)
        if len(found) != 1:
            self.bad(n, "unknown_place", place=text)
            return None
        place = self.places[found[0]]
        home = self.groups.get(place.group_id) if place.group_id is not None else None
        inside = home is not None and (
            home.id == group_id if group_id is not None else home.team_id == team_id
        )
        if not inside:
            self.bad(n, "place_outside", place=text)
            return None
        return place.id

    def when(self, n: int, month_text: str, due_text: str) -> tuple[str | None, date | None]:
        month = parse_month(month_text)
        if month is None:
            self.bad(n, "bad_month", month=month_text)
        elif not self.months.holds(month):
            self.bad(n, "month_outside", month=month, first=self.months.first,
                     last=self.months.last)  # fmt: skip
        if not due_text:
            return month, month_end(month) if month is not None else None
        due = parse_date(due_text)
        if due is None:
            self.bad(n, "bad_date", date=due_text)
        elif not self.months.holds(month_of(due)):
            self.bad(n, "month_outside", month=month_of(due), first=self.months.first,
                     last=self.months.last)  # fmt: skip
        return month, due

    def words(self, n: int, cell: Callable[[str], str]) -> dict[str, object]:
        """Title, measure, target, kind, status and reason, each checked."""
        title, measure = cell("事项"), cell("措施")
        if not title:
            self.bad(n, "no_title")
        elif len(title) > MAX_TITLE:
            self.bad(n, "too_long", column="事项", max=MAX_TITLE)
        if len(measure) > MAX_MEASURE:
            self.bad(n, "too_long", column="措施", max=MAX_MEASURE)
        target: float | None = None
        if cell("目标数"):
            try:
                target = float(cell("目标数"))
                if not 0 <= target <= 1e9:
                    raise ValueError
            except ValueError:
                self.bad(n, "bad_number", value=cell("目标数"))
        kind = KIND_WORDS.get(cell("工作内容")) if cell("工作内容") else None
        if cell("工作内容") and kind is None:
            self.bad(n, "unknown_kind", kind=cell("工作内容"))
        status = STATUS_WORDS.get(cell("状态")) if cell("状态") else None
        if cell("状态") and status is None:
            self.bad(n, "unknown_status", status=cell("状态"))
        reason = cell("取消原因")
        if status == "cancelled" and not reason:
            self.bad(n, "no_cancel_reason")
        return {
            "title": title,
            "measure": measure,
            "target": target,
            "unit": cell("单位")[:10],
            "kind": kind,
            "status": status,
            "cancel_reason": reason if status == "cancelled" else "",
        }

    def owners(
        self, n: int, text: str, team_id: int | None, group_id: int | None
    ) -> tuple[int, ...]:
        names = [p for p in _OWNER_SEP.split(text) if p]
        if not names:
            self.bad(n, "no_owner")
        if len(names) > MAX_OWNERS:
            self.bad(n, "too_many_owners", max=MAX_OWNERS)
        owners: list[int] = []
        for name in names[:MAX_OWNERS]:
            phone = re.sub(r"[^\d+]", "", name)
            if phone.startswith("1") and len(phone) == 11:
                phone = "+86" + phone
            found = [self.by_phone[phone]] if phone in self.by_phone else self.by_name.get(name, [])
            if not found:
                self.bad(n, "unknown_owner", owner=name)
                continue
            if team_id is None:
                continue
            fitting = [
                c for c in found if owner_fits(Unit(team_id, group_id), c.team_id, c.group_id)
            ]
            if not fitting:
                self.bad(n, "owner_outside", owner=name)
            elif len(fitting) > 1:
                self.bad(n, "owner_ambiguous", owner=name)
            elif fitting[0].id not in owners:
                owners.append(fitting[0].id)
        return tuple(owners)


def check_rows(
    rows: Sequence[Sequence[str]], index: Index, months: Window
) -> tuple[list[PlanRow], list[Issue]]:
    """Check every row of the sheet (row 1 is the header, as Excel numbers them); the
    rows are ready to write only when no issue was found anywhere."""
    if not rows:
        return [], [Issue(0, "empty")]
    cols, header_issues = _header_map(rows[0])
    if header_issues:
        return [], header_issues
    check = _Check(index, months)
    out: list[PlanRow] = []
    for n, raw in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in raw):
            continue

        def cell(name: str, raw: Sequence[str] = raw) -> str:
            pos = cols.get(name)
            return raw[pos].strip() if pos is not None and pos < len(raw) else ""

        before = len(check.issues)
        check.code(n, cell("编号"))
        team_id, group_id = check.unit(n, cell("工作队"), cell("工作组"))
        place_id = check.place(n, cell("挂钩点"), team_id, group_id)
        month, due = check.when(n, cell("月份"), cell("完成日期"))
        words = check.words(n, cell)
        owners = check.owners(n, cell("责任人"), team_id, group_id)
        if len(check.issues) > before:
            continue
        assert team_id is not None and month is not None and due is not None
        out.append(
            PlanRow(
                row=n,
                code=cell("编号"),
                team_id=team_id,
                group_id=group_id,
                place_id=place_id,
                month=month,
                due_date=due,
                owners=owners,
                **words,  # type: ignore[arg-type]
            )
        )
    if not out and not check.issues:
        check.issues.append(Issue(0, "empty"))
    return out, check.issues


def may_see(
    role: Role,
    team_id: int | None,
    group_id: int | None,
    cadre_id: int,
    unit: Unit,
    owners: Iterable[int],
) -> bool:
    """Who may open an item's card: its owners, the leaders above it, the office and
    inspectors (read-only)."""
    if cadre_id in set(owners) or role in (Role.OFFICE, Role.INSPECTOR):
        return True
    if role in TEAM_LEADERS:
        return team_id == unit.team_id
    return role is Role.GROUP_LEADER and group_id is not None and group_id == unit.group_id


def may_report(status: str, cadre_id: int, owners: Iterable[int]) -> str | None:
    """Why a progress report is refused (a ``plans.refused.*`` key), or None."""
    if cadre_id not in set(owners):
        return "not_owner"
    if not is_open(status):
        return "closed"
    return None
