"""Quiet hours: when a non-urgent message may go out.

The window is given in the campaign's local time and usually crosses midnight
(21:30–07:30). Equal start and end mean no quiet hours at all.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo


def is_quiet(local: time, start: time, end: time) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def next_allowed(now_utc: datetime, tz: tzinfo, start: time, end: time) -> datetime:
    """``now_utc`` itself outside quiet hours, else the moment (UTC) they end."""
    if now_utc.tzinfo is None:
        raise ValueError("next_allowed needs an aware datetime")
    local = now_utc.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    if not is_quiet(clock, start, end):
        return now_utc
    day = local.date()
    if start > end and clock >= start:
        day += timedelta(days=1)
    return datetime.combine(day, end, tzinfo=tz).astimezone(UTC)
