"""The office's reports as plain values, and the rules behind them: who may see which
numbers (scope), what a quota means for a period, how long text is cut for Telegram.

Storage fills these dataclasses (``storage/reports.py``); ``reports/`` renders them as
text, a workbook or a chart. Nothing here imports telegram or a database driver.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import NamedTuple, TypeVar

from campaign.periods import Period, month_of, quarter_of
from campaign.roles import TEAM_LEADERS, Role
from campaign.settings import QuotaSettings

TELEGRAM_TEXT_LIMIT = 4096
T = TypeVar("T")

# --- who sees what ----------------------------------------------------------------------

REPORTS: tuple[str, ...] = ("summary", "coverage", "overdue", "log", "cases", "export", "chart")
_LEADER_REPORTS = ("summary", "coverage", "overdue", "log", "cases")
# Which reports each role may pull. Cadres keep their own progress in /my (visits).
ROLE_REPORTS: dict[Role, tuple[str, ...]] = {
    Role.CADRE: (),
    Role.GROUP_LEADER: _LEADER_REPORTS,
    Role.TEAM_LEADER: REPORTS,
    Role.DEPUTY_TEAM_LEADER: REPORTS,
    Role.OFFICE: REPORTS,
    Role.INSPECTOR: REPORTS,
}
# Roles that see the whole county. Inspectors read everything and change nothing;
# reports change nothing, so they get the office's reports.
COUNTY_ROLES = frozenset({Role.OFFICE, Role.INSPECTOR})


class ScopeKind(StrEnum):
    ALL = "all"
    TEAM = "team"
    GROUP = "group"


@dataclass(frozen=True)
class Scope:
    """The part of the campaign a report covers: everything, one team, or one group."""

    kind: ScopeKind
    team_id: int | None = None
    group_id: int | None = None

    @classmethod
    def everything(cls) -> Scope:
        return cls(ScopeKind.ALL)

    @classmethod
    def team(cls, team_id: int) -> Scope:
        return cls(ScopeKind.TEAM, team_id=team_id)

    @classmethod
    def group(cls, group_id: int, team_id: int | None = None) -> Scope:
        return cls(ScopeKind.GROUP, team_id=team_id, group_id=group_id)

    def covers(self, team_id: int | None, group_id: int | None) -> bool:
        """Whether a row of this team and group is inside the scope."""
        if self.kind is ScopeKind.ALL:
            return True
        if self.kind is ScopeKind.TEAM:
            return team_id is not None and team_id == self.team_id
        return group_id is not None and group_id == self.group_id

    def narrow(self, team_id: int) -> Scope | None:
        """The scope limited to one team, or None when that team is outside it."""
        if self.kind is ScopeKind.ALL:
            return Scope.team(team_id)
        if self.kind is ScopeKind.TEAM and self.team_id == team_id:
            return self
        return None


def scope_for(role: Role, team_id: int | None, group_id: int | None) -> Scope | None:
    """What a person of this role sees in a private chat; None: no reports at all."""
    if role in COUNTY_ROLES:
        return Scope.everything()
    if role in TEAM_LEADERS and team_id is not None:
        return Scope.team(team_id)
    if role is Role.GROUP_LEADER and group_id is not None:
        return Scope.group(group_id, team_id)
    return None


class ChatKind(StrEnum):
    PRIVATE = "private"
    OFFICE = "office"  # the bound office chat
    TEAM = "team"  # a bound team chat
    OTHER = "other"  # any other group chat


def chat_scope(
    role: Role | None,
    team_id: int | None,
    group_id: int | None,
    chat: ChatKind,
    chat_team_id: int | None = None,
) -> Scope | None:
    """The scope of a report asked for in this chat, or None: stay silent.

    Private chats follow the role. The office chat answers office members and
    inspectors. A team chat answers the office, inspectors and that team's leaders, and
    only with that team's numbers, since every member of the chat reads the answer.
    Other group chats get nothing: the numbers would reach people not entitled to them.
    """
    if role is None:
        return None
    if chat is ChatKind.PRIVATE:
        return scope_for(role, team_id, group_id)
    if chat is ChatKind.OFFICE:
        return Scope.everything() if role in COUNTY_ROLES else None
    if chat is ChatKind.TEAM and chat_team_id is not None:
        if role in COUNTY_ROLES or (role in TEAM_LEADERS and team_id == chat_team_id):
            return Scope.team(chat_team_id)
    return None


def may_report(role: Role | None, report: str) -> bool:
    return role is not None and report in ROLE_REPORTS.get(role, ())


# --- quotas -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Visits and days in the field expected over a period (per cadre, or summed)."""

    visits: float
    days: float

    def times(self, n: int) -> Target:
        return Target(self.visits * n, self.days * n)


def quota_share(period: Period, quotas: QuotaSettings) -> Target:
    """Each cadre's quota for ``period``.

    Whole calendar quarters count at the quarterly quota, whole months outside them at
    the monthly quota, and any remaining days at their month's monthly quota pro rata
    (a week in November is 7/30 of November's quota). So a month is the monthly quota,
    a quarter the quarterly one, a year four quarterly quotas.
    """
    visits = days = 0.0
    cursor = period.start
    while cursor < period.end:
        q = quarter_of(cursor)
        if q.start == cursor and q.end <= period.end:
            visits += quotas.quarterly_visits
            days += quotas.quarterly_days
            cursor = q.end
            continue
        m = month_of(cursor)
        stop = min(m.end, period.end)
        share = (stop - cursor).days / m.days
        visits += quotas.monthly_visits * share
        days += quotas.monthly_days * share
        cursor = stop
    return Target(visits, days)


def elapsed_share(period: Period, today: date) -> float | None:
    """How much of the period has passed by the end of ``today`` (None if it is over)."""
    if today >= period.last_day:
        return None
    if today < period.start:
        return 0.0
    return ((today - period.start).days + 1) / period.days


def percent(done: float, target: float) -> int | None:
    return None if target <= 0 else round(100 * done / target)


# --- the reports' values ------------------------------------------------------------------


@dataclass(frozen=True)
class CadreWork:
    """One cadre's visits in a period, under the team and group of the visits."""

    cadre_id: int
    team_id: int | None
    group_id: int | None
    visits: int
    days: int


@dataclass(frozen=True)
class Unit:
    """A team, a group or a cadre as a line of a summary."""

    id: int
    name: str
    team_id: int | None = None
    group_id: int | None = None


@dataclass
class UnitLine:
    """The numbers of one unit (or of the whole scope) over the period."""

    unit: Unit
    cadres: int = 0
    visits: int = 0
    days: int = 0
    places: int = 0  # linked places visited by anyone in the period
    places_total: int = 0
    on_quota: int = 0  # cadres who reached both their visit and day quota
    target: Target = field(default_factory=lambda: Target(0, 0))
    kinds: dict[str, int] = field(default_factory=dict)
    raised: int = 0
    solved: int = 0
    explained: int = 0
    overdue: int = 0


@dataclass(frozen=True)
class LevelLine:
    """Problems at one level of the ladder: in hand now, and closed there in the period."""

    level: str
    open: int
    overdue: int
    solved: int
    explained: int


@dataclass(frozen=True)
class Summary:
    period: Period
    scope: Scope
    scope_name: str
    per_cadre: Target
    total: UnitLine
    rows_kind: str  # "team", "group" or "cadre": what ``rows`` break the total into
    rows: list[UnitLine]
    levels: list[LevelLine]
    elapsed: float | None


def on_quota(work: CadreWork, target: Target) -> bool:
    return work.visits >= target.visits and work.days >= target.days


@dataclass(frozen=True)
class PlaceRef:
    id: int
    name: str
    kind: str
    group_name: str


@dataclass(frozen=True)
class CadreRef:
    id: int
    name: str
    role: Role
    team_name: str
    group_name: str
    unit: str = ""
    phone: str = ""


@dataclass(frozen=True)
class CoverageTeam:
    team_id: int
    team_name: str
    places_total: int
    unvisited: list[PlaceRef]
    cadres_total: int
    idle: list[CadreRef]


@dataclass(frozen=True)
class Coverage:
    period: Period
    scope_name: str
    teams: list[CoverageTeam]


@dataclass(frozen=True)
class OverdueProblem:
    id: int
    level: str
    status: str
    category: str
    description: str
    urgent: bool
    place_name: str
    team_name: str
    group_name: str
    reporter_name: str
    owner_name: str | None
    department: str | None
    created_at: datetime
    deadline: datetime


@dataclass(frozen=True)
class VisitEntry:
    """A visit as the log and the case list show it."""

    id: int
    visit_date: date
    cadre_name: str
    team_name: str
    group_name: str
    place_name: str
    place_kind: str
    kinds: tuple[str, ...]
    text: str
    people_met: int | None
    photos: int
    voice: bool
    far: bool
    distance_km: float | None
    model_case: bool


@dataclass(frozen=True)
class ProblemEntry:
    id: int
    created_at: datetime
    level: str
    status: str
    category: str
    description: str
    place_name: str


@dataclass(frozen=True)
class CadreLog:
    cadre: CadreRef
    period: Period
    visits: list[VisitEntry]
    days: int
    places: int
    problems: list[ProblemEntry]
    target: Target


@dataclass(frozen=True)
class Cases:
    period: Period
    scope_name: str
    visits: list[VisitEntry]


# --- rows of the workbook (streamed, one per visit, problem, event, cadre) -------------


class VisitRow(NamedTuple):
    """One visit of the export. A named tuple, not a dataclass: a year's export makes a
    quarter of a million, and a tuple is built in a fraction of the time."""

    id: int
    visit_date: date
    team_name: str
    group_name: str
    cadre_name: str
    unit: str
    place_name: str
    place_kind: str
    kinds: tuple[str, ...]
    text: str
    people_met: int | None
    photos: int
    voice: bool
    distance_km: float | None
    far: bool
    model_case: bool
    created_at: datetime
    files: tuple[tuple[str, int], ...] = ()  # saved media (kind, media id): campaign/media


@dataclass(frozen=True, slots=True)
class ProblemRow:
    id: int
    created_at: datetime
    team_name: str
    group_name: str
    reporter_name: str
    place_name: str
    category: str
    description: str
    urgent: bool
    level: str
    status: str
    owner_name: str | None
    department: str | None
    deadline: datetime
    overdue: bool
    closed_at: datetime | None
    resolution: str | None
    explained_by: str | None
    explained_on: date | None
    watch: bool


class EventRow(NamedTuple):
    """One step in a problem's history, for the export (a tuple: tens of thousands)."""

    problem_id: int
    at: datetime
    action: str
    actor_name: str | None
    from_level: str | None
    to_level: str | None
    note: str


@dataclass(frozen=True, slots=True)
class CadreProgress:
    cadre_id: int
    name: str
    role: Role
    unit: str
    team_id: int | None
    team_name: str
    group_name: str
    visits: int
    days: int
    places: int
    raised: int
    target: Target


# --- long text -------------------------------------------------------------------------------


def split_text(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Cut ``text`` into messages of at most ``limit`` characters.

    Cuts fall between paragraphs where a paragraph break lies in the second half of a
    message, else between lines, and only inside a line that is itself too long. No
    message is empty or only whitespace.
    """
    if limit < 2:
        raise ValueError("limit too small")
    out: list[str] = []
    rest = text.strip("\n")
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = window.rfind("\n\n")
        if cut < limit // 2:
            cut = window.rfind("\n")
        if cut <= 0:
            cut = limit
            head, rest = rest[:cut], rest[cut:]
        else:
            head, rest = rest[:cut], rest[cut:].lstrip("\n")
        if head.strip():
            out.append(head.rstrip())
    if rest.strip():
        out.append(rest)
    return out


def capped(items: Iterable[T], cap: int) -> tuple[list[T], int]:
    """The first ``cap`` items and how many more there were."""
    head: list[T] = []
    more = 0
    for item in items:
        if len(head) < cap:
            head.append(item)
        else:
            more += 1
    return head, more
