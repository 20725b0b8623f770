"""The rules of a visit record: what text is accepted, which days may be chosen, how a
typed date or head count is read, and who may change a visit afterwards."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from enum import StrEnum

from campaign.roles import Role

MAX_PHOTOS = 10
MAX_PEOPLE = 10_000

# Bidirectional overrides and isolates can make a leader read a text in a different
# order than it was written; they have no place in a work log.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_FULL_WIDTH = str.maketrans("０１２３４５６７８９／－．", "0123456789/-.")


class TextProblem(StrEnum):
    EMPTY = "empty"
    NO_WORDS = "no_words"  # emoji or punctuation only: not a record of what was done
    TOO_LONG = "too_long"


def clean_text(raw: str) -> str:
    """Drop control characters (keeping line breaks), tabs become spaces, trim."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    kept = [
        ch
        for ch in text
        if ch == "\n" or (unicodedata.category(ch) != "Cc" and ch not in _BIDI_CONTROLS)
    ]
    lines = [line.rstrip() for line in "".join(kept).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def text_problem(text: str, max_chars: int) -> TextProblem | None:
    """What is wrong with an already cleaned text, or None when it is acceptable.

    A text must say something in words or numbers: a row of emoji is asked again
    (a voice note is the way to answer without typing)."""
    if not text:
        return TextProblem.EMPTY
    if len(text) > max_chars:
        return TextProblem.TOO_LONG
    if not any(unicodedata.category(ch)[0] in "LN" for ch in text):
        return TextProblem.NO_WORDS
    return None


def allowed_days(today: date, backfill_days: int) -> list[date]:
    """The days a visit may be dated, newest first: today back to the back-fill limit."""
    return [today - timedelta(days=n) for n in range(max(0, backfill_days) + 1)]


class DayProblem(StrEnum):
    FUTURE = "future"
    TOO_OLD = "too_old"


def day_problem(day: date, today: date, backfill_days: int) -> DayProblem | None:
    if day > today:
        return DayProblem.FUTURE
    if day < today - timedelta(days=max(0, backfill_days)):
        return DayProblem.TOO_OLD
    return None


_RELATIVE = {
    "今天": 0,
    "今日": 0,
    "today": 0,
    "昨天": 1,
    "昨日": 1,
    "yesterday": 1,
    "前天": 2,
}
_FULL_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?$")
_MONTH_DAY = re.compile(r"^(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?$")
_DAY_ONLY = re.compile(r"^(\d{1,2})\s*[日号]$")


def parse_day(text: str, today: date) -> date | None:
    """Read a typed date: 2026-11-15, 2026/11/15, 2026年11月15日, 11-15, 11/15, 11月15日,
    15日, 今天, 昨天, 前天, today, yesterday. A month and day without a year is the
    nearest such date (in January, 12-31 is last year's; on 11-16, 11-17 is tomorrow, and
    refused as such); a day alone is the latest such day not after today. None if
    unreadable."""
    t = text.strip().translate(_FULL_WIDTH).lower()
    if t in _RELATIVE:
        return today - timedelta(days=_RELATIVE[t])
    try:
        if m := _FULL_DATE.match(t):
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if m := _MONTH_DAY.match(t):
            month, day = int(m.group(1)), int(m.group(2))
            candidate = date(today.year, month, day)
            if (candidate - today).days > 183:
                return date(today.year - 1, month, day)
            return candidate
        if m := _DAY_ONLY.match(t):
            day = int(m.group(1))
            candidate = date(today.year, today.month, day)
            if candidate <= today:
                return candidate
            previous = today.replace(day=1) - timedelta(days=1)
            return date(previous.year, previous.month, day)
    except ValueError:  # 2月30日 and the like
        return None
    return None


_PEOPLE = re.compile(r"^(\d{1,6})\s*(人|个人|位|名|people|persons?)?$")


def parse_people(text: str) -> int | None:
    """A head count typed as 12, １２, 12人, 12 people; None when it is not one."""
    m = _PEOPLE.match(text.strip().translate(_FULL_WIDTH).lower())
    if not m:
        return None
    value = int(m.group(1))
    return value if value <= MAX_PEOPLE else None


class ChangeRight(StrEnum):
    OWN = "own"  # the cadre's own visit, inside the correction window
    LEADER = "leader"  # the group leader of the visit's group


def change_right(
    *,
    actor_id: int,
    actor_role: Role,
    actor_group_id: int | None,
    owner_id: int,
    visit_group_id: int | None,
    created_at: datetime,
    now: datetime,
    window_hours: int,
) -> ChangeRight | None:
    """Who may correct or withdraw a visit: its author for ``window_hours`` after they
    submitted it; after that (and also before) the leader of the group it was logged in.
    A group leader's own visit past the window is closed to them too."""
    if actor_id == owner_id and now - created_at <= timedelta(hours=window_hours):
        return ChangeRight.OWN
    if (
        actor_role is Role.GROUP_LEADER
        and actor_id != owner_id
        and actor_group_id is not None
        and actor_group_id == visit_group_id
    ):
        return ChangeRight.LEADER
    return None


def may_view(
    *,
    actor_id: int,
    actor_role: Role,
    actor_group_id: int | None,
    actor_team_id: int | None,
    owner_id: int,
    visit_group_id: int | None,
    visit_team_id: int | None,
) -> bool:
    """The author, their group leader and their team's leaders may see a visit."""
    if actor_id == owner_id:
        return True
    if actor_role is Role.GROUP_LEADER:
        return actor_group_id is not None and actor_group_id == visit_group_id
    if actor_role in (Role.TEAM_LEADER, Role.DEPUTY_TEAM_LEADER):
        return actor_team_id is not None and actor_team_id == visit_team_id
    return False
