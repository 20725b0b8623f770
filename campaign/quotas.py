"""Quotas and pace: how far a cadre is with the visits and field days a period asks of
them, and whether they are on track. One model for /my, the reminders and the reports.

The county sets quotas of visits and of days in the field per month and per quarter.
Halfway through the working days of a month, half the quota should be done:
``expected = quota × elapsed working days / working days in the period``, rounded down
so that nobody is "behind" by a fraction of a visit. Today is not yet elapsed: the
weekly check runs in the morning, before the day's work.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from campaign.periods import Period, month_of, quarter_of
from campaign.roles import Role
from campaign.settings import QUOTA_KEYS, QuotaSettings, parse_quota_override
from campaign.vocabulary import WORK_KINDS
from campaign.workcalendar import WorkCalendar

MONTH = "month"
QUARTER = "quarter"


@dataclass(frozen=True)
class VisitFact:
    """What counts about one active (not withdrawn) visit."""

    day: date
    place_id: int
    kinds: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tally:
    """What a cadre has done in a period. Reminders read only visits and days."""

    visits: int = 0
    days: int = 0  # distinct days in the field
    places: int = 0  # distinct places covered
    by_kind: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Quota:
    visits: int
    days: int


@dataclass(frozen=True)
class Measure:
    """One quantity against its quota and the even pace's share of it so far."""

    quota: int
    done: int
    expected: int

    @property
    def behind(self) -> bool:
        return self.done < self.expected

    @property
    def behind_by(self) -> int:
        return max(0, self.expected - self.done)

    @property
    def left(self) -> int:
        return max(self.quota - self.done, 0)


@dataclass(frozen=True)
class PeriodPace:
    period: Period
    kind: str  # MONTH or QUARTER
    tally: Tally
    visits: Measure
    days: Measure
    workdays_total: int
    workdays_elapsed: int
    workdays_left: int  # today included

    @property
    def behind(self) -> bool:
        return self.visits.behind or self.days.behind

    @property
    def short(self) -> bool:
        """Something of the quota is still to do."""
        return self.visits.left > 0 or self.days.left > 0

    # The words /my uses.
    @property
    def on_pace(self) -> bool:
        return not self.behind

    @property
    def done(self) -> bool:
        return not self.short

    @property
    def visits_quota(self) -> int:
        return self.visits.quota

    @property
    def days_quota(self) -> int:
        return self.days.quota

    @property
    def expected_visits(self) -> int:
        return self.visits.expected

    @property
    def expected_days(self) -> int:
        return self.days.expected

    @property
    def visits_behind(self) -> int:
        return self.visits.behind_by

    @property
    def days_behind(self) -> int:
        return self.days.behind_by


# /my calls a period's pace its progress: the same thing.
Progress = PeriodPace


def expected(quota: int, elapsed: int, total: int) -> int:
    if total <= 0:
        return quota
    return quota * min(elapsed, total) // total


def expected_by(quota: int, period: Period, today: date, cal: WorkCalendar) -> int:
    """How much of ``quota`` an even pace over the period's working days would have done
    before ``today``."""
    return expected(quota, cal.count(period.start, min(today, period.end)), cal.in_period(period))


def period_pace(
    period: Period, kind: str, quota: Quota, tally: Tally, cal: WorkCalendar, today: date
) -> PeriodPace:
    total = cal.in_period(period)
    elapsed = cal.count(period.start, min(today, period.end))
    left = cal.count(max(today, period.start), period.end)
    return PeriodPace(
        period=period,
        kind=kind,
        tally=tally,
        visits=Measure(quota.visits, tally.visits, expected(quota.visits, elapsed, total)),
        days=Measure(quota.days, tally.days, expected(quota.days, elapsed, total)),
        workdays_total=total,
        workdays_elapsed=elapsed,
        workdays_left=left,
    )


def quotas(q: QuotaSettings) -> dict[str, Quota]:
    return {
        MONTH: Quota(q.monthly_visits, q.monthly_days),
        QUARTER: Quota(q.quarterly_visits, q.quarterly_days),
    }


def periods_of(today: date) -> dict[str, Period]:
    return {MONTH: month_of(today), QUARTER: quarter_of(today)}


def tally(facts: Iterable[VisitFact], period: Period) -> Tally:
    inside = [f for f in facts if f.day in period]
    kinds: Counter[str] = Counter(k for f in inside for k in f.kinds)
    return Tally(
        visits=len(inside),
        days=len({f.day for f in inside}),
        places=len({f.place_id for f in inside}),
        by_kind={k: kinds[k] for k in WORK_KINDS if kinds[k]},
    )


def month_progress(
    facts: Iterable[VisitFact], today: date, settings: QuotaSettings, cal: WorkCalendar
) -> PeriodPace:
    month = month_of(today)
    return period_pace(month, MONTH, quotas(settings)[MONTH], tally(facts, month), cal, today)


def quarter_progress(
    facts: Iterable[VisitFact], today: date, settings: QuotaSettings, cal: WorkCalendar
) -> PeriodPace:
    quarter = quarter_of(today)
    return period_pace(
        quarter, QUARTER, quotas(settings)[QUARTER], tally(facts, quarter), cal, today
    )


# --- quotas that fit the role and the unit ----------------------------------------------


def _with(q: QuotaSettings, values: dict[str, int]) -> QuotaSettings:
    keep = {k: v for k, v in values.items() if v >= 0}
    return dataclasses.replace(
        q,
        monthly_visits=keep.get("monthly_visits", q.monthly_visits),
        monthly_days=keep.get("monthly_days", q.monthly_days),
        quarterly_visits=keep.get("quarterly_visits", q.quarterly_visits),
        quarterly_days=keep.get("quarterly_days", q.quarterly_days),
    )


def is_uniform(q: QuotaSettings) -> bool:
    """Everyone has the [quotas] numbers (no role quota, no override)."""
    roles = (q.group_leader, q.team_leader, q.deputy_team_leader)
    return not q.overrides and all(getattr(r, k) < 0 for r in roles for k in QUOTA_KEYS)


def quota_for(
    q: QuotaSettings, role: str, team_code: str | None, group_code: str | None
) -> QuotaSettings:
    """A person's quotas: [quotas], then their team's override, then their group's, then
    their role's own numbers (a team leader's quota is a matter of the role)."""
    out = q
    for code in (team_code, group_code):
        for text in q.overrides:
            unit, values = parse_quota_override(text)
            if code and unit == code:
                out = _with(out, values)
    own = {
        Role.GROUP_LEADER.value: q.group_leader,
        Role.TEAM_LEADER.value: q.team_leader,
        Role.DEPUTY_TEAM_LEADER.value: q.deputy_team_leader,
    }.get(str(role))
    if own is not None:
        out = _with(out, {k: getattr(own, k) for k in QUOTA_KEYS})
    return out
