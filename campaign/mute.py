"""Pausing reminders: parsing ``/mute 3d`` and working out when the pause ends.

A pause covers whole local days: ``/mute 1`` silences the rest of today, ``/mute 3``
today and the next two days. Accepted: ``3``, ``3d``, ``3 days``, ``3天``, ``1w``,
``1周`` (a week is seven days). Quota warnings at period end are not paused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

_ARG = re.compile(
    r"^\s*(\d{1,3})\s*(d|day|days|天|日|w|wk|week|weeks|周|星期|个星期)?\s*$", re.IGNORECASE
)
_WEEK_UNITS = {"w", "wk", "week", "weeks", "周", "星期", "个星期"}


@dataclass(frozen=True)
class MuteRequest:
    days: int | None  # None: the argument was missing or not understood
    too_long: bool = False


def parse_mute(arg: str, max_days: int) -> MuteRequest:
    m = _ARG.match(arg or "")
    if not m:
        return MuteRequest(None)
    n = int(m.group(1))
    unit = (m.group(2) or "d").lower()
    days = n * 7 if unit in _WEEK_UNITS else n
    if days < 1:
        return MuteRequest(None)
    if days > max_days:
        return MuteRequest(days, too_long=True)
    return MuteRequest(days)


def mute_until(now: datetime, days: int, tz: ZoneInfo) -> datetime:
    """Local midnight at the end of the ``days``-th day, today being the first."""
    first = now.astimezone(tz).date()
    return datetime.combine(first + timedelta(days=days), time(0, 0), tzinfo=tz)
