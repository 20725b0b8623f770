"""Reporting periods: weeks, months and quarters as half-open ranges of local dates, and
the reader for periods a person types (``本月``, ``2026-Q4``, ``2026-11-01..2026-11-15``)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
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


def half_of(day: date) -> Period:
    """上半年 (January to June) or 下半年 (July to December)."""
    if day.month <= 6:
        return Period(date(day.year, 1, 1), date(day.year, 7, 1), f"{day.year}-H1")
    return Period(date(day.year, 7, 1), date(day.year + 1, 1, 1), f"{day.year}-H2")


# --- reading a period a person typed ----------------------------------------------------

# Ranges longer than this are refused: a typo such as 2062 should not scan decades.
MAX_RANGE_DAYS = 731
# Shown to someone whose period could not be read.
EXAMPLES = (
    "本月、上月、本周、上周、本季度、第四季度、上半年、今年、2026-11、2026-Q4、"
    "11月1日至11月15日、2026-11-01..2026-11-15、2026"
)


class PeriodError(ValueError):
    """Text that names no period this module understands."""


def previous(period: Period, make: Callable[[date], Period]) -> Period:
    """The period made by ``make`` (week_of, month_of ...) just before ``period``."""
    return make(period.start - timedelta(days=1))


def day_period(day: date) -> Period:
    return Period(day, day + timedelta(days=1), day.isoformat())


def describe(start: date, end: date) -> Period:
    """The period from ``start`` to ``end`` (exclusive), labelled as what it is: a whole
    month, quarter, year or week gets that label, anything else ``start..last``."""
    for make in (month_of, quarter_of, half_of, year_of, week_of):
        whole = make(start)
        if whole.start == start and whole.end == end:
            return whole
    if end - start == timedelta(days=1):
        return day_period(start)
    return Period(start, end, f"{start.isoformat()}..{(end - timedelta(days=1)).isoformat()}")


def to_token(period: Period) -> str:
    """A compact form for callback data: ``20261101-20261201`` (end exclusive)."""
    return f"{period.start:%Y%m%d}-{period.end:%Y%m%d}"


def from_token(token: str) -> Period:
    m = re.fullmatch(r"(\d{8})-(\d{8})", token)
    if not m:
        raise PeriodError(token)
    try:
        start = date(int(m[1][:4]), int(m[1][4:6]), int(m[1][6:]))
        end = date(int(m[2][:4]), int(m[2][4:6]), int(m[2][6:]))
    except ValueError:
        raise PeriodError(token) from None
    if not start < end or (end - start).days > MAX_RANGE_DAYS:
        raise PeriodError(token)
    return describe(start, end)


_RELATIVE: dict[str, tuple[Callable[[date], Period], int]] = {}


def _relative(words: str, make: Callable[[date], Period], back: int) -> None:
    for word in words.split("|"):
        _RELATIVE[word] = (make, back)


_relative("本周|这周|this week|week", week_of, 0)
_relative("上周|last week", week_of, 1)
_relative("本月|这个月|当月|this month|month", month_of, 0)
_relative("上月|上个月|last month", month_of, 1)
_relative("本季度|本季|这个季度|this quarter|quarter", quarter_of, 0)
_relative("上季度|上季|上个季度|last quarter", quarter_of, 1)
_relative("今年|本年|本年度|this year|year", year_of, 0)
_relative("去年|上年|last year", year_of, 1)
_relative("今天|今日|today", day_period, 0)
_relative("昨天|昨日|yesterday", day_period, 1)
_relative("前天|前日", day_period, 2)

_QUARTER_WORDS = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_DAY = r"(\d{4})(?:[-/.](\d{1,2})[-/.](\d{1,2})|年(\d{1,2})月(\d{1,2})[日号]?)"
_RANGE_SEP = r"\s*(?:\.\.|~|—|–|至|到|-{1,2}(?=\d{4}))\s*"


def _year(text: str) -> int:
    year = int(text)
    if not 2000 <= year <= 2100:
        raise PeriodError(text)
    return year


def _date(m: re.Match[str], offset: int = 0) -> date:
    g = m.groups()[offset : offset + 5]
    year = _year(g[0])
    month, day = (g[1], g[2]) if g[1] is not None else (g[3], g[4])
    try:
        return date(year, int(month), int(day))
    except (TypeError, ValueError):
        raise PeriodError(m[0]) from None


def _quarter(year: int, q: int) -> Period:
    return quarter_of(date(year, 3 * q - 2, 1))


def _month(year: int, month: int) -> Period:
    if not 1 <= month <= 12:
        raise PeriodError(str(month))
    return month_of(date(year, month, 1))


_HALVES = {"上": 1, "下": 2, "h1": 1, "h2": 2}
# A day without its year, as people write it: 11月5日, 11月5号, 11/5 is not accepted
# (month/day or day/month is ambiguous across the office's habits).
_SHORT_DAY = r"(\d{1,2})月(\d{1,2})[日号]?"


def _half(year: int, n: int) -> Period:
    return half_of(date(year, 1 if n == 1 else 7, 1))


def _short_day(month: str, day: str, today: date) -> date:
    try:
        return date(today.year, int(month), int(day))
    except ValueError:
        raise PeriodError(f"{month}月{day}日") from None


def _range(first: date, last: date, text: str) -> Period:
    if last < first or (last - first).days + 1 > MAX_RANGE_DAYS:
        raise PeriodError(text)
    return describe(first, last + timedelta(days=1))


def _without_year(compact: str, today: date, text: str) -> Period | None:
    """Periods typed without a year mean this year: 第四季度, 四季度, Q4, 上半年,
    11月1日至11月15日 (or 11月1日至15日), 11月5日."""
    m = re.fullmatch(r"(?:第)?([1-4一二三四])季度?|q([1-4])", compact)
    if m:
        return _quarter(today.year, _QUARTER_WORDS[m[1] or m[2]])
    m = re.fullmatch(r"(上|下)半年|(h[12])", compact)
    if m:
        return _half(today.year, _HALVES[m[1] or m[2]])
    sep = _RANGE_SEP.replace(r"\s*", "")
    m = re.fullmatch(_SHORT_DAY + sep + r"(?:(\d{1,2})月)?(\d{1,2})[日号]?", compact)
    if m:
        first = _short_day(m[1], m[2], today)
        return _range(first, _short_day(m[3] or m[1], m[4], today), text)
    m = re.fullmatch(_SHORT_DAY, compact)
    if m and ("日" in compact or "号" in compact):
        return day_period(_short_day(m[1], m[2], today))
    return None


# The day forms parse_day reads besides the relative words; NFKC has already made
# full-width digits and separators plain.
_ONE_DAY_FULL = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?")
_ONE_DAY_MONTH_DAY = re.compile(r"(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?")
_ONE_DAY_DAY_ONLY = re.compile(r"(\d{1,2})\s*[日号]")
# A month and day without a year more than half a year ahead means last year's: typed in
# January, 12-31 is the day just gone, while 11-17 typed on 11-16 stays tomorrow so the
# asker can say "that is in the future" rather than "that is too long ago".
_HALF_YEAR_AHEAD = 183


def parse_day(text: str, today: date) -> date:
    """One day as a person types it wherever a date is asked: 今天 / 今日 / today,
    昨天 / 昨日 / yesterday, 前天 / 前日, 2026-11-15, 2026/11/15, 2026年11月15日,
    11-15, 11/15, 11月15日 (11月15号), 15日. Full-width characters are accepted.

    A month and day without a year is the nearest such day (see ``_HALF_YEAR_AHEAD``);
    a day alone is the latest such day not after ``today``. Whether the day is allowed
    (not in the future, not too old) is the asker's rule, not the reader's.
    Raises :class:`PeriodError` for anything else, 2月30日 included."""
    raw = unicodedata.normalize("NFKC", text).strip().lower()
    if raw in _RELATIVE:
        make, back = _RELATIVE[raw]
        if make is day_period:
            return today - timedelta(days=back)
        raise PeriodError(text)
    try:
        if m := _ONE_DAY_FULL.fullmatch(raw):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _ONE_DAY_MONTH_DAY.fullmatch(raw):
            month, day = int(m[1]), int(m[2])
            candidate = date(today.year, month, day)
            if (candidate - today).days > _HALF_YEAR_AHEAD:
                return date(today.year - 1, month, day)
            return candidate
        if m := _ONE_DAY_DAY_ONLY.fullmatch(raw):
            day = int(m[1])
            candidate = date(today.year, today.month, day)
            if candidate <= today:
                return candidate
            last_month = today.replace(day=1) - timedelta(days=1)
            return date(last_month.year, last_month.month, day)
    except ValueError:
        raise PeriodError(text) from None
    raise PeriodError(text)


def parse_period(text: str, today: date) -> Period:
    """Read a period as an office worker would type it, relative to local ``today``.

    Accepted: relative words (本周, 上周, 本月, 上月, 本季度, 上季度, 今年, 去年, 今天, 昨天
    and their English forms), a month ``2026-11`` / ``2026年11月`` / ``11月``, a quarter
    ``2026-Q4`` / ``2026年第四季度`` / ``2026年Q4`` / ``第四季度`` / ``Q4``, a half year
    ``上半年`` / ``2026年下半年`` / ``2026-H1``, a year ``2026`` / ``2026年``, an ISO week
    ``2026-W47``, a day ``2026-11-05`` / ``11月5日``, and a range of days with ``..``,
    ``~``, ``至`` or ``到`` between them (both days included; ``11月1日至11月15日`` and
    ``11月1日至15日`` mean this year). Full-width characters are accepted.
    Raises :class:`PeriodError` for anything else.
    """
    raw = unicodedata.normalize("NFKC", text).strip().lower()
    raw = re.sub(r"\s+", " ", raw)
    if not raw or len(raw) > 40:
        raise PeriodError(text)
    if raw in _RELATIVE:
        make, back = _RELATIVE[raw]
        period = make(today)
        for _ in range(back):
            period = previous(period, make)
        return period
    compact = raw.replace(" ", "")
    m = re.fullmatch(_DAY + _RANGE_SEP.replace(r"\s*", "") + _DAY, compact)
    if m:
        return _range(_date(m, 0), _date(m, 5), text)
    bare = _without_year(compact, today, text)
    if bare is not None:
        return bare
    m = re.fullmatch(r"(\d{4})(?:-|年)?(上|下)半年|(\d{4})-?(h[12])", compact)
    if m:
        return _half(_year(m[1] or m[3]), _HALVES[m[2] or m[4]])
    m = re.fullmatch(_DAY, compact)
    if m:
        return day_period(_date(m))
    m = re.fullmatch(r"(\d{4})(?:[-/.]|年)(\d{1,2})月?", compact)
    if m:
        return _month(_year(m[1]), int(m[2]))
    m = re.fullmatch(r"(\d{1,2})月(?:份)?", compact)
    if m:
        return _month(today.year, int(m[1]))
    m = re.fullmatch(r"(\d{4})(?:-|年)?(?:q|第)?([1-4一二三四])(?:季度|季)?", compact)
    if m and ("q" in compact or "季" in compact):
        return _quarter(_year(m[1]), _QUARTER_WORDS[m[2]])
    m = re.fullmatch(r"(\d{4})-?w(\d{1,2})", compact)
    if m:
        try:
            monday = date.fromisocalendar(_year(m[1]), int(m[2]), 1)
        except ValueError:
            raise PeriodError(text) from None
        return week_of(monday)
    m = re.fullmatch(r"(\d{4})(?:年|年度)?", compact)
    if m:
        return year_of(date(_year(m[1]), 1, 1))
    raise PeriodError(text)


def looks_like_period(text: str, today: date) -> bool:
    try:
        parse_period(text, today)
    except PeriodError:
        return False
    return True


@dataclass(frozen=True)
class MonthSplit:
    """A range of days as the whole calendar months inside it (``first_month`` to
    ``last_month``, ``YYYY-MM``, both included; None when there is none) and the odd
    days before and after them (half-open ``(start, end)`` spans)."""

    first_month: str | None
    last_month: str | None
    spans: tuple[tuple[date, date], ...]


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def split_months(start: date, end: date) -> MonthSplit:
    """``[start, end)`` cut into whole months and odd days, for tables kept per month."""
    first = start if start.day == 1 else _next_month(start)
    last = end.replace(day=1)  # the first day after the whole months
    if first >= last:
        return MonthSplit(None, None, ((start, end),) if start < end else ())
    spans = tuple(s for s in ((start, first), (last, end)) if s[0] < s[1])
    before_last = last - timedelta(days=1)
    return MonthSplit(
        f"{first.year}-{first.month:02d}", f"{before_last.year}-{before_last.month:02d}", spans
    )
