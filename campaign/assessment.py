"""The assessment rubric (考核): how a cadre's tallies for a period become a score, and
how cadre scores add up for a group, a team and a sending unit. Pure: plain values in,
plain values out (docs/assessment.md works an example through by hand).

A cadre's score is the sum of one number per component:

- ``visits`` and ``days`` are measured against the cadre's quota for the period
  (``campaign.reporting.quota_share``): weight x min(done / quota, ``quota_cap``), so a
  cadre who met the quota exactly earns the whole weight;
- ``problems_overdue`` is a penalty: weight x count is taken off;
- every other component earns weight x count.

A group, team or unit scores the mean of its cadres' scores (fair to small units); its
components are the means too, so a row still adds up to its total.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from campaign.roles import TEAM_LEADERS, Role

# The rubric's components, in the order the reports show them.
COMPONENTS: tuple[str, ...] = (
    "visits",
    "days",
    "plans_done",
    "problems_raised",
    "problems_solved",
    "problems_explained",
    "problems_overdue",
    "logs_checked",
    "corrections_closed",
    "cases_selected",
    "satisfaction",
)
AGAINST_QUOTA = frozenset({"visits", "days"})
PENALTIES = frozenset({"problems_overdue"})

Tally = Mapping[str, float]


class Level(StrEnum):
    CADRE = "cadre"
    GROUP = "group"
    TEAM = "team"
    UNIT = "unit"


# What each role may rank: the county roles everything; team leaders their team's
# cadres and groups; group leaders their group's cadres; cadres nothing.
RANK_LEVELS: dict[Role, tuple[Level, ...]] = {
    Role.OFFICE: (Level.CADRE, Level.GROUP, Level.TEAM, Level.UNIT),
    Role.INSPECTOR: (Level.CADRE, Level.GROUP, Level.TEAM, Level.UNIT),
    Role.TEAM_LEADER: (Level.CADRE, Level.GROUP),
    Role.DEPUTY_TEAM_LEADER: (Level.CADRE, Level.GROUP),
    Role.GROUP_LEADER: (Level.CADRE,),
    Role.CADRE: (),
}


def may_rank(role: Role, level: Level) -> bool:
    return level in RANK_LEVELS.get(role, ())


def default_level(role: Role) -> Level:
    """What /rank without a level shows: the widest the role may see."""
    if role in TEAM_LEADERS:
        return Level.GROUP
    levels = RANK_LEVELS.get(role, ())
    return Level.TEAM if Level.TEAM in levels else Level.CADRE


@dataclass(frozen=True)
class Rubric:
    """Weights by component, and how far above quota visits and days still earn."""

    weights: Mapping[str, float]
    quota_cap: float = 1.0

    def weight(self, component: str) -> float:
        return float(self.weights.get(component, 0.0))


@dataclass(frozen=True)
class Score:
    """One cadre's (or one unit's mean) tallies and points, by component."""

    tallies: dict[str, float]
    points: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.points.values())


def score(rubric: Rubric, tally: Tally, quota_visits: float, quota_days: float) -> Score:
    """The points one cadre earns for ``tally`` against a quota of ``quota_visits``
    visits and ``quota_days`` days in the period."""
    quota = {"visits": quota_visits, "days": quota_days}
    weights, cap = rubric.weights, rubric.quota_cap
    tallies: dict[str, float] = {}
    points: dict[str, float] = {}
    for c in COMPONENTS:  # a county-year ranking scores a thousand cadres: kept plain
        n = float(tally.get(c, 0.0))
        w = float(weights.get(c, 0.0))
        tallies[c] = n
        if c in AGAINST_QUOTA:
            q = quota[c]
            points[c] = w * min(n / q, cap) if q > 0 else 0.0
        elif c in PENALTIES:
            points[c] = -w * n
        else:
            points[c] = w * n
    return Score(tallies, points)


def mean(scores: Iterable[Score]) -> Score:
    """The mean of several scores, component by component (an empty unit: all zero)."""
    items = list(scores)
    n = len(items) or 1
    return Score(
        {c: sum(s.tallies[c] for s in items) / n for c in COMPONENTS},
        {c: sum(s.points[c] for s in items) / n for c in COMPONENTS},
    )


@dataclass(frozen=True)
class Member:
    """A cadre on the roster, with where they belong now."""

    cadre_id: int
    name: str
    team_id: int | None
    team_name: str
    group_id: int | None
    group_name: str
    unit: str


@dataclass(frozen=True)
class Line:
    """One ranked row: a cadre, group, team or unit."""

    key: str
    name: str
    detail: str  # for a cadre: group or team; for a unit or team: how many cadres
    cadres: int
    score: Score
    rank: int = 0
    unit: str = ""  # a cadre's sending unit


@dataclass(frozen=True)
class Ranking:
    level: Level
    lines: list[Line] = field(default_factory=list)


def _unit_of(m: Member, level: Level) -> tuple[str, str, str] | None:
    """(key, name, detail) of the unit ``m`` counts for at ``level``, or None."""
    if level is Level.CADRE:
        return f"c{m.cadre_id}", m.name, m.group_name or m.team_name
    if level is Level.GROUP:
        return (f"g{m.group_id}", m.group_name, m.team_name) if m.group_id else None
    if level is Level.TEAM:
        return (f"t{m.team_id}", m.team_name, "") if m.team_id else None
    return (f"u{m.unit}", m.unit, "") if m.unit else None


def rank(level: Level, scored: Iterable[tuple[Member, Score]]) -> Ranking:
    """Rows at ``level``, best first (ties by name), numbered 1, 2, 2, 4 on equal totals."""
    buckets: dict[str, tuple[str, str, list[Score]]] = {}
    sent_by: dict[str, str] = {}
    for member, s in scored:
        unit = _unit_of(member, level)
        if unit is None:
            continue
        key, name, detail = unit
        buckets.setdefault(key, (name, detail, []))[2].append(s)
        if level is Level.CADRE:
            sent_by[key] = member.unit
    lines = [
        Line(
            key,
            name,
            detail,
            len(scores),
            scores[0] if level is Level.CADRE else mean(scores),
            unit=sent_by.get(key, ""),
        )  # fmt: skip
        for key, (name, detail, scores) in buckets.items()
    ]
    lines.sort(key=lambda line: (-round(line.score.total, 6), line.name, line.key))
    numbered: list[Line] = []
    for i, line in enumerate(lines):
        same = numbered and round(numbered[-1].score.total, 6) == round(line.score.total, 6)
        numbered.append(_with_rank(line, numbered[-1].rank if same else i + 1))
    return Ranking(level, numbered)


def _with_rank(line: Line, n: int) -> Line:
    return dataclasses.replace(line, rank=n)


def parse_level(word: str) -> Level | None:
    """A level typed after /rank, in either language."""
    return _LEVEL_WORDS.get(word.strip().lower())


_LEVEL_WORDS: dict[str, Level] = {
    "cadre": Level.CADRE,
    "cadres": Level.CADRE,
    "干部": Level.CADRE,
    "个人": Level.CADRE,
    "group": Level.GROUP,
    "groups": Level.GROUP,
    "组": Level.GROUP,
    "工作组": Level.GROUP,
    "team": Level.TEAM,
    "teams": Level.TEAM,
    "队": Level.TEAM,
    "工作队": Level.TEAM,
    "unit": Level.UNIT,
    "units": Level.UNIT,
    "单位": Level.UNIT,
    "选派单位": Level.UNIT,
}


def rubric_of(weights: Mapping[str, float], quota_cap: float) -> Rubric:
    """The rubric from the ``[assessment]`` settings (``dataclasses.asdict`` of them)."""
    return Rubric({c: float(weights.get(c, 0.0)) for c in COMPONENTS}, quota_cap)


def laggards(
    scored: Iterable[tuple[Member, Score]], quota_visits: float, quota_days: float, shown: int
) -> dict[int, list[tuple[Member, Score]]]:
    """Per team, its cadres furthest behind: those short of the visit or day quota,
    lowest score first, at most ``shown`` of them."""
    out: dict[int, list[tuple[Member, Score]]] = {}
    for member, s in scored:
        short = s.tallies["visits"] < quota_visits or s.tallies["days"] < quota_days
        if member.team_id is not None and short:
            out.setdefault(member.team_id, []).append((member, s))
    return {
        team: sorted(rows, key=lambda ms: (ms[1].total, ms[0].name, ms[0].cadre_id))[:shown]
        for team, rows in out.items()
    }
