"""Quota pace: is a cadre on track for the month's and the quarter's quota?

The county sets quotas of visits and of days in the field per month and per quarter.
Halfway through the working days of a month, half the quota should be done:
``expected = quota × elapsed working days / working days in the period``, rounded down
so that nobody is "behind" by a fraction of a visit. Today is not yet elapsed: the
weekly check runs in the morning, before the day's work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from campaign.periods import Period, month_of, quarter_of
from campaign.settings import QuotaSettings
from campaign.workcalendar import WorkCalendar


@dataclass(frozen=True)
class Quota:
    visits: int
    days: int


@dataclass(frozen=True)
class Tally:
    """What a cadre has done in a period: visits logged, distinct days in the field."""

    visits: int = 0
    days: int = 0


@dataclass(frozen=True)
class Measure:
    quota: int
    done: int
    expected: int

    @property
    def behind(self) -> bool:
        return self.done < self.expected

    @property
    def left(self) -> int:
        return max(self.quota - self.done, 0)


@dataclass(frozen=True)
class PeriodPace:
    period: Period
    kind: str  # "month" or "quarter"
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


def expected(quota: int, elapsed: int, total: int) -> int:
    if total <= 0:
        return quota
    return quota * min(elapsed, total) // total


def period_pace(
    period: Period, kind: str, quota: Quota, tally: Tally, cal: WorkCalendar, today: date
) -> PeriodPace:
    total = cal.in_period(period)
    elapsed = cal.count(period.start, min(today, period.end))
    left = cal.count(max(today, period.start), period.end)
    return PeriodPace(
        period=period,
        kind=kind,
        visits=Measure(quota.visits, tally.visits, expected(quota.visits, elapsed, total)),
        days=Measure(quota.days, tally.days, expected(quota.days, elapsed, total)),
        workdays_total=total,
        workdays_elapsed=elapsed,
        workdays_left=left,
    )


def quotas(q: QuotaSettings) -> dict[str, Quota]:
    return {
        "month": Quota(q.monthly_visits, q.monthly_days),
        "quarter": Quota(q.quarterly_visits, q.quarterly_days),
    }


def periods_of(today: date) -> dict[str, Period]:
    return {"month": month_of(today), "quarter": quarter_of(today)}
