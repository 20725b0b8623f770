"""督办 as pure rules: who may urge which open problem, and the one-hour repeat guard."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from campaign.ladder import OPEN_STATUSES, Actor
from campaign.roles import TEAM_LEADERS, Role

# A second urge of the same problem within this time says so instead of pinging again
# (``[checks] urge_repeat_minutes``; this is its default).
REPEAT = timedelta(hours=1)


class UrgeWhy(StrEnum):
    NOT_ALLOWED = "not_allowed"
    CLOSED = "closed"
    NOT_FOUND = "not_found"
    RECENT = "recent"


def may_urge(actor: Actor, level: str, team_id: int | None, status: str) -> UrgeWhy | None:
    """The office urges any open problem below its own level; a team leader (or deputy)
    the open problems of the team's groups. None: allowed."""
    if not actor.active:
        return UrgeWhy.NOT_ALLOWED
    if actor.role is Role.OFFICE:
        allowed = level in ("group", "team")
    elif actor.role in TEAM_LEADERS:
        allowed = level == "group" and team_id is not None and actor.team_id == team_id
    else:
        allowed = False
    if not allowed:
        return UrgeWhy.NOT_ALLOWED
    if status not in OPEN_STATUSES:
        return UrgeWhy.CLOSED
    return None


def too_soon(last: datetime | None, now: datetime, repeat: timedelta = REPEAT) -> bool:
    return last is not None and now - last < repeat
