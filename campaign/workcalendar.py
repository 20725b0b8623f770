"""The Chinese work calendar: which local dates are working days.

The State Council publishes each year's holidays and make-up working weekends (调休上班)
late in the year before; the ``chinesecalendar`` package carries them. It only knows
the years it was released with and raises ``NotImplementedError`` for any other year.
Such a year falls back to Monday–Friday; the county's own overrides
(``[reminders] extra_holidays`` / ``extra_workdays``) apply in every year and win over
both sources, so the office can enter next year's holidays before the package has them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

import chinese_calendar

from campaign.periods import Period

OfficialLookup = Callable[[date], bool]


def parse_dates(values: Iterable[str], key: str) -> frozenset[date]:
    """ISO dates from config; ``ValueError`` names the key and the bad value."""
    out: set[date] = set()
    for value in values:
        try:
            out.add(date.fromisoformat(value.strip()))
        except ValueError:
            raise ValueError(
                f"key '{key}' must list dates such as \"2026-12-31\", got {value!r}"
            ) from None
    return frozenset(out)


@dataclass
class WorkCalendar:
    """Working days from the official calendar, with the county's overrides on top."""

    extra_holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()
    official: OfficialLookup = chinese_calendar.is_workday
    _known: dict[int, bool] = field(default_factory=dict, repr=False)
    # Pace checks ask the same questions for every cadre; the answers never change.
    _days: dict[date, bool] = field(default_factory=dict, repr=False)
    _counts: dict[tuple[date, date], int] = field(default_factory=dict, repr=False)

    @classmethod
    def from_config(cls, holidays: Iterable[str], workdays: Iterable[str]) -> WorkCalendar:
        return cls(
            parse_dates(holidays, "reminders.extra_holidays"),
            parse_dates(workdays, "reminders.extra_workdays"),
        )

    def has_official(self, year: int) -> bool:
        """Whether the official arrangement for ``year`` is known."""
        if year not in self._known:
            try:
                self.official(date(year, 1, 1))
            except NotImplementedError:
                self._known[year] = False
            else:
                self._known[year] = True
        return self._known[year]

    def is_workday(self, day: date) -> bool:
        known = self._days.get(day)
        if known is None:
            known = self._days[day] = self._is_workday(day)
        return known

    def _is_workday(self, day: date) -> bool:
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        if self.has_official(day.year):
            return bool(self.official(day))
        return day.weekday() < 5

    def count(self, start: date, end: date) -> int:
        """Working days in ``start`` (inclusive) to ``end`` (exclusive)."""
        key = (start, end)
        if key not in self._counts:
            n = 0
            day = start
            while day < end:
                n += self.is_workday(day)
                day += timedelta(days=1)
            self._counts[key] = n
        return self._counts[key]

    def in_period(self, period: Period) -> int:
        return self.count(period.start, period.end)

    def nth_last_workday(self, period: Period, n: int) -> date | None:
        """The working day from which exactly ``n`` working days remain in the period
        (itself included); None if the period has fewer."""
        day = period.last_day
        seen = 0
        while day >= period.start:
            if self.is_workday(day):
                seen += 1
                if seen == n:
                    return day
            day -= timedelta(days=1)
        return None

    def first_workday_from(self, day: date, before: date) -> date | None:
        """The first working day on or after ``day`` and before ``before``."""
        while day < before:
            if self.is_workday(day):
                return day
            day += timedelta(days=1)
        return None

    def missing_years(self, days: Iterable[date]) -> list[int]:
        return sorted({d.year for d in days if not self.has_official(d.year)})
