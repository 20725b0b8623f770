"""The rules of a visit record: what text is accepted, which days may be chosen, how a
typed head count is read, and who may change a visit afterwards. A typed date is read
by campaign.periods.parse_day, the one day reader."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from enum import StrEnum

from campaign.roles import Role

MAX_PHOTOS = 10
MAX_PEOPLE = 10_000

_FULL_WIDTH = str.maketrans("０１２３４５６７８９／－．", "0123456789/-.")


class TextProblem(StrEnum):
    EMPTY = "empty"
    NO_WORDS = "no_words"  # emoji or punctuation only: not a record of what was done
    TOO_LONG = "too_long"


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
