"""Quotas and pace: how far a cadre is with the visits and field days a period asks of
them. Pure arithmetic on visit facts, shared by /my, reminders and reports."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from campaign.pace import expected
from campaign.periods import Period, month_of, quarter_of
from campaign.settings import QuotaSettings
from campaign.vocabulary import WORK_KINDS
from campaign.workcalendar import WorkCalendar


@dataclass(frozen=True)
class VisitFact:
    """What counts about one active (not withdrawn) visit."""

    day: date
    place_id: int
    kinds: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tally:
    visits: int = 0
    days: int = 0  # distinct days in the field
    places: int = 0  # distinct places covered
    by_kind: dict[str, int] = field(default_factory=dict)


def tally(facts: Iterable[VisitFact], period: Period) -> Tally:
    inside = [f for f in facts if f.day in period]
    kinds: Counter[str] = Counter(k for f in inside for k in f.kinds)
    return Tally(
        visits=len(inside),
        days=len({f.day for f in inside}),
        places=len({f.place_id for f in inside}),
        by_kind={k: kinds[k] for k in WORK_KINDS if kinds[k]},
    )


def expected_by(quota: int, period: Period, today: date, cal: WorkCalendar) -> int:
    """How much of ``quota`` an even pace over the period's working days would have done
    before ``today`` (the same rule as the weekly pace reminder: campaign/pace.py)."""
    total = cal.in_period(period)
    elapsed = cal.count(period.start, min(max(today, period.start), period.end))
    return expected(quota, elapsed, total)


@dataclass(frozen=True)
class Progress:
    period: Period
    tally: Tally
    visits_quota: int
    days_quota: int
    expected_visits: int
    expected_days: int

    @property
    def visits_behind(self) -> int:
        return max(0, self.expected_visits - self.tally.visits)

    @property
    def days_behind(self) -> int:
        return max(0, self.expected_days - self.tally.days)

    @property
    def on_pace(self) -> bool:
        return self.visits_behind == 0 and self.days_behind == 0

    @property
    def done(self) -> bool:
        return self.tally.visits >= self.visits_quota and self.tally.days >= self.days_quota


def progress(
    facts: Iterable[VisitFact],
    period: Period,
    today: date,
    visits_quota: int,
    days_quota: int,
    cal: WorkCalendar,
) -> Progress:
    return Progress(
        period=period,
        tally=tally(facts, period),
        visits_quota=visits_quota,
        days_quota=days_quota,
        expected_visits=expected_by(visits_quota, period, today, cal),
        expected_days=expected_by(days_quota, period, today, cal),
    )


def month_progress(
    facts: Iterable[VisitFact], today: date, quotas: QuotaSettings, cal: WorkCalendar
) -> Progress:
    q = quotas
    return progress(facts, month_of(today), today, q.monthly_visits, q.monthly_days, cal)


def quarter_progress(
    facts: Iterable[VisitFact], today: date, quotas: QuotaSettings, cal: WorkCalendar
) -> Progress:
    q = quotas
    return progress(facts, quarter_of(today), today, q.quarterly_visits, q.quarterly_days, cal)
