"""Reporting periods: weeks, months and quarters as half-open ranges of local dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Period:
    """Local dates ``start`` (inclusive) to ``end`` (exclusive), with a label."""

    start: date
    end: date
    label: str

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day < self.end

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)


def month_of(day: date) -> Period:
    start = day.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    return Period(start, end, f"{start.year}-{start.month:02d}")


def quarter_of(day: date) -> Period:
    q = (day.month - 1) // 3
    start = date(day.year, 3 * q + 1, 1)
    end = date(day.year + 1, 1, 1) if q == 3 else date(day.year, 3 * q + 4, 1)
    return Period(start, end, f"{day.year}-Q{q + 1}")


def week_of(day: date) -> Period:
    """Monday to Sunday, as Chinese offices count a work week."""
    start = day - timedelta(days=day.weekday())
    iso = start.isocalendar()
    return Period(start, start + timedelta(days=7), f"{iso.year}-W{iso.week:02d}")


def year_of(day: date) -> Period:
    return Period(date(day.year, 1, 1), date(day.year + 1, 1, 1), str(day.year))
