"""The county's colour practice for problem deadlines (红黄蓝预警).

Blue a few days before the deadline (two by default), yellow on the day, red once it
has passed. Days are local calendar days: a deadline at 17:00 on the 18th is yellow
from midnight on the 18th and red from 17:00.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo


class Colour(StrEnum):
    BLUE = "blue"
    YELLOW = "yellow"
    RED = "red"


def colour_for(
    deadline: datetime, now: datetime, tz: ZoneInfo, blue_days: int = 2
) -> Colour | None:
    """The warning a problem with this deadline deserves at ``now``, if any."""
    if now >= deadline:
        return Colour.RED
    days_left = (deadline.astimezone(tz).date() - now.astimezone(tz).date()).days
    if days_left <= 0:
        return Colour.YELLOW
    if days_left <= blue_days:
        return Colour.BLUE
    return None
