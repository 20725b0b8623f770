"""Checking the work (检查日志, 需整改, 现场督查) as pure rules: who may check whose log,
what a correction item may do next, when it is overdue. Nothing here knows Telegram or
the database; the values come from storage through services/checks.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from campaign.ladder import Actor
from campaign.roles import FIELD_ROLES, TEAM_LEADERS, Role

# How long a cadre has to put a correction right before it counts as overdue.
CORRECTION_DAYS = 7
MAX_COMMENT = 500
MAX_ANSWER = 1000
MAX_PHOTOS = 10
MAX_ITEMS = 10  # correction items one inspection may assign

VERDICTS: tuple[str, ...] = ("ok", "fix")  # 已检查, 需整改
CORRECTION_STATUSES: tuple[str, ...] = ("open", "answered", "closed")
CORRECTION_EVENTS: tuple[str, ...] = ("open", "answer", "close", "send_back")


class Why(StrEnum):
    """Why a press or a command was refused; each has a catalogue line ``checks.why.*``."""

    OWN_LOG = "own_log"  # nobody checks their own log
    NOT_ALLOWED = "not_allowed"  # outside the checker's scope, or not a checking role
    NOT_FOUND = "not_found"
    NOT_FIELD = "not_field"  # the person checked logs no visits
    WITHDRAWN = "withdrawn"  # the visit was withdrawn meanwhile
    REPEATED = "repeated"  # the same checker already marked it so
    CLOSED = "closed"  # the correction is closed
    NOT_ANSWERED = "not_answered"  # nothing to close or send back yet
    ANSWERED = "answered"  # the answer is in; wait for the checker
    NO_GROUP_LEADER = "no_group_leader"


def may_check(checker: Actor, cadre: Actor) -> Why | None:
    """May ``checker`` mark ``cadre``'s log (or one of their visits)? None: yes.
    The office and the inspectors check anyone; a team leader their team; a group
    leader their group; nobody their own log."""
    if not checker.active:
        return Why.NOT_ALLOWED
    if checker.cadre_id == cadre.cadre_id:
        return Why.OWN_LOG
    if cadre.role not in FIELD_ROLES:
        return Why.NOT_FIELD
    if checker.role in (Role.OFFICE, Role.INSPECTOR):
        return None
    if checker.role in TEAM_LEADERS:
        return (
            None
            if checker.team_id is not None and checker.team_id == cadre.team_id
            else (Why.NOT_ALLOWED)
        )
    if checker.role is Role.GROUP_LEADER:
        same = checker.group_id is not None and checker.group_id == cadre.group_id
        return None if same else Why.NOT_ALLOWED
    return Why.NOT_ALLOWED


def checks_logs(actor: Actor) -> bool:
    """Whether the person checks anyone's log at all (a cadre does not)."""
    return actor.active and (
        actor.role in (Role.OFFICE, Role.INSPECTOR, Role.GROUP_LEADER) or actor.role in TEAM_LEADERS
    )


def may_inspect(actor: Actor) -> bool:
    """On-site inspections are recorded by the inspection groups and the office."""
    return actor.active and actor.role in (Role.INSPECTOR, Role.OFFICE)


def sees_corrections_of(actor: Actor, team_id: int | None, group_id: int | None) -> bool:
    """Whose corrections /checks lists: the office and inspectors all, a team leader the
    team's, a group leader the group's."""
    if not actor.active:
        return False
    if actor.role in (Role.OFFICE, Role.INSPECTOR):
        return True
    if actor.role in TEAM_LEADERS:
        return actor.team_id is not None and actor.team_id == team_id
    if actor.role is Role.GROUP_LEADER:
        return actor.group_id is not None and actor.group_id == group_id
    return False


@dataclass(frozen=True)
class CorrectionState:
    cadre_id: int
    checker_id: int
    status: str


def may_answer(actor: Actor, c: CorrectionState) -> Why | None:
    if actor.cadre_id != c.cadre_id or not actor.active:
        return Why.NOT_ALLOWED
    if c.status == "closed":
        return Why.CLOSED
    if c.status == "answered":
        return Why.ANSWERED
    return None


def may_review(actor: Actor, c: CorrectionState) -> Why | None:
    """Close or send back: the checker who asked for it, or the office."""
    if not actor.active or (actor.cadre_id != c.checker_id and actor.role is not Role.OFFICE):
        return Why.NOT_ALLOWED
    if c.status == "closed":
        return Why.CLOSED
    if c.status != "answered":
        return Why.NOT_ANSWERED
    return None


def due_at(now: datetime, days: int = CORRECTION_DAYS) -> datetime:
    return now + timedelta(days=days)


def is_overdue(status: str, due: datetime, now: datetime) -> bool:
    return status != "closed" and now >= due


@dataclass(frozen=True)
class TeamChecks:
    """A team's line in /summary and the export: cadres whose log was checked in the
    period (of how many), correction items open now and overdue now."""

    team_name: str
    cadres: int
    cadres_checked: int
    corrections_open: int
    corrections_overdue: int
