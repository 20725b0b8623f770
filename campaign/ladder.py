"""The escalation ladder (问题逐级上报), as pure rules.

Levels climb group → team → office. Each level has its own deadline from
``[problems]`` in the settings (shorter for urgent problems). Who may act on a problem
depends on its level: the group leader of the problem's group, the team leader or
deputy of the problem's team, or the campaign office. What may be done depends on the
status. Nothing here knows Telegram or the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from campaign.roles import TEAM_LEADERS, Role
from campaign.settings import ProblemSettings
from campaign.vocabulary import LEVELS

OPEN_STATUSES: tuple[str, ...] = ("open", "claimed")
CLOSED_STATUSES: tuple[str, ...] = ("solved", "explained")

# Text limits: a card must stay well under Telegram's 4096 characters.
MAX_DESCRIPTION = 1000
MAX_NOTE = 500
MAX_NAME = 100
MAX_PHOTOS = 10


class Action(StrEnum):
    """What an owner may do. Values are the ``problem_events.action`` words."""

    CLAIM = "claim"
    NOTE = "note"
    SOLVE = "solve"
    EXPLAIN = "explain"
    ESCALATE = "escalate"
    HAND_DOWN = "hand_down"
    ASSIGN = "assign_department"


# Actions that need typed text (a note, a reason, what was done ...).
TEXT_ACTIONS = frozenset(
    {Action.NOTE, Action.SOLVE, Action.EXPLAIN, Action.ESCALATE, Action.HAND_DOWN, Action.ASSIGN}
)
# Events that move a problem to another level.
MOVES = frozenset({"escalate", "auto_escalate", "hand_down"})
# Events the reporters are told about (a progress note is not news enough to ping them).
NEWS_FOR_REPORTERS = frozenset(
    {"claim", "solve", "explain", "escalate", "auto_escalate", "hand_down", "assign_department"}
)


def next_level(level: str) -> str | None:
    """The level above, or None at the top (the office)."""
    i = LEVELS.index(level)
    return LEVELS[i + 1] if i + 1 < len(LEVELS) else None


def previous_level(level: str) -> str | None:
    """The level below, or None at the bottom (the group)."""
    i = LEVELS.index(level)
    return LEVELS[i - 1] if i > 0 else None


# Handing down is only office → team: a team that cannot solve a problem sent it up with
# its reason; the group below it had already said it could not.
HAND_DOWN_TO: dict[str, str] = {"office": "team"}


def level_days(settings: ProblemSettings, level: str, urgent: bool) -> int:
    if level not in LEVELS:
        raise ValueError(level)
    prefix = "urgent_" if urgent else ""
    days = int(getattr(settings, f"{prefix}{level}_days"))
    return days


def deadline_for(settings: ProblemSettings, level: str, urgent: bool, since: datetime) -> datetime:
    """When a problem that reached ``level`` at ``since`` becomes overdue there."""
    if since.tzinfo is None:
        raise ValueError("naive datetime")
    return since + timedelta(days=level_days(settings, level, urgent))


def start_level(group_can_solve: bool, has_group: bool, group_has_leader: bool) -> str:
    """Where a new problem starts: a group that says it can solve it keeps it (个性问题);
    otherwise, or when there is no group or no group leader to own it, the team
    (共性问题)."""
    if group_can_solve and has_group and group_has_leader:
        return "group"
    return "team"


def is_open(status: str) -> bool:
    return status in OPEN_STATUSES


def is_overdue(status: str, deadline: datetime, now: datetime) -> bool:
    return is_open(status) and now >= deadline


def allowed_actions(level: str, status: str) -> tuple[Action, ...]:
    """The actions an owner at ``level`` may take on a problem in ``status``."""
    if not is_open(status):
        return ()
    out: list[Action] = []
    if status == "open":
        out.append(Action.CLAIM)
    out += [Action.NOTE, Action.SOLVE, Action.EXPLAIN]
    if next_level(level) is not None:
        out.append(Action.ESCALATE)
    if level in HAND_DOWN_TO:
        out.append(Action.HAND_DOWN)
    if level == "office":
        out.append(Action.ASSIGN)
    return tuple(out)


@dataclass(frozen=True)
class Actor:
    """Who pressed: read from the roster on every press."""

    cadre_id: int
    role: Role
    team_id: int | None
    group_id: int | None
    active: bool = True


def may_act(actor: Actor, level: str, team_id: int | None, group_id: int | None) -> bool:
    """May this person act for a problem of this team and group at this level?"""
    if not actor.active:
        return False
    if level == "group":
        return (
            actor.role is Role.GROUP_LEADER and group_id is not None and actor.group_id == group_id
        )
    if level == "team":
        return actor.role in TEAM_LEADERS and team_id is not None and actor.team_id == team_id
    if level == "office":
        return actor.role is Role.OFFICE
    return False


def in_scope(actor: Actor, team_id: int | None, group_id: int | None, reporter: bool) -> bool:
    """May this person learn that the problem exists and who owns it? Its reporters, its
    team, whoever may act on it at some level, the office and the inspectors. Anyone else
    pressing a (forged) button is told no more than for a problem that does not exist."""
    if not actor.active:
        return False
    if reporter or actor.role in (Role.OFFICE, Role.INSPECTOR):
        return True
    if team_id is not None and actor.team_id == team_id:
        return True
    return any(may_act(actor, level, team_id, group_id) for level in LEVELS)


class Verdict(StrEnum):
    OK = "ok"
    NOT_ALLOWED = "not_allowed"  # not this person's problem at this level
    MOVED = "moved"  # the problem left the level the button was made for
    CLOSED = "closed"  # already solved or explained
    ALREADY_CLAIMED = "already_claimed"
    NOT_NOW = "not_now"  # the action does not fit the status or level


def judge(
    actor: Actor,
    action: Action,
    button_level: str,
    level: str,
    status: str,
    team_id: int | None,
    group_id: int | None,
) -> Verdict:
    """Decide a press. The presser is checked against the level the button was made for,
    so that someone who never had a say gets "not allowed" rather than news of the
    problem; an owner pressing an outdated button learns what happened instead."""
    if button_level not in LEVELS or not may_act(actor, button_level, team_id, group_id):
        return Verdict.NOT_ALLOWED
    if level != button_level:
        return Verdict.MOVED
    if not is_open(status):
        return Verdict.CLOSED
    if action is Action.CLAIM and status == "claimed":
        return Verdict.ALREADY_CLAIMED
    if action not in allowed_actions(level, status):
        return Verdict.NOT_NOW
    return Verdict.OK


@dataclass(frozen=True)
class Change:
    """What an action does to a problem's row (None: unchanged)."""

    level: str | None = None
    status: str | None = None
    owner_to_actor: bool = False
    clear_owner: bool = False
    new_deadline: bool = False
    closes: bool = False
    watch: bool = False


def change_for(action: Action | str, level: str) -> Change:
    """The effect of an action taken at ``level``."""
    if action == Action.CLAIM:
        return Change(status="claimed", owner_to_actor=True)
    if action == Action.NOTE or action == Action.ASSIGN:
        return Change()
    if action == Action.SOLVE:
        return Change(status="solved", owner_to_actor=True, closes=True)
    if action == Action.EXPLAIN:
        return Change(status="explained", owner_to_actor=True, closes=True, watch=True)
    if action in (Action.ESCALATE, "auto_escalate"):
        up = next_level(level)
        if up is None:
            raise ValueError("nothing above the office")
        return Change(level=up, status="open", clear_owner=True, new_deadline=True)
    if action == Action.HAND_DOWN:
        down = HAND_DOWN_TO.get(level)
        if down is None:
            raise ValueError(f"cannot hand down from {level}")
        return Change(level=down, status="open", clear_owner=True, new_deadline=True)
    raise ValueError(action)


# How far back the day the people were told may lie: a year and a day, so "this day
# last year" still counts; a later day is in the future and cannot have happened.
TOLD_WITHIN_DAYS = 366


def told_day_ok(day: date, today: date) -> bool:
    """Whether ``day`` can be the day the people were told (campaign.periods.parse_day
    reads what was typed)."""
    return today - timedelta(days=TOLD_WITHIN_DAYS) <= day <= today
