"""Closing the loop with the people (回访), as pure rules: when a call-back is due, when
an unanswered one is reminded and then listed for the group leader, who may record one,
what an answer does, who may reopen a problem and when, and the satisfaction rate.

Nothing here knows Telegram or the database; days come from the work calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from campaign.ladder import CLOSED_STATUSES, Actor, is_open, may_act
from campaign.roles import Role
from campaign.workcalendar import WorkCalendar

# The call-back's answer, best first; 不满意 reopens the problem.
RESULTS: tuple[str, ...] = ("satisfied", "fair", "unsatisfied")
REOPENING_RESULT = "unsatisfied"
# How the people were reached.
REACHES: tuple[str, ...] = ("phone", "visit", "other")
# The monthly watch question's answers: still cannot / can now (reopen) / solved meanwhile.
WATCH_ANSWERS: tuple[str, ...] = ("still", "can", "solved")
# Why a problem was reopened.
CAUSES: tuple[str, ...] = ("callback", "watch", "ledger")


def workdays_after(cal: WorkCalendar, day: date, n: int) -> date:
    """The ``n``-th working day after ``day`` (``day`` itself not counted)."""
    if n < 1:
        raise ValueError("n must be at least 1")
    seen = 0
    while True:
        day += timedelta(days=1)
        if cal.is_workday(day):
            seen += 1
            if seen == n:
                return day


class Stage(StrEnum):
    """What an unanswered call-back needs now."""

    WAIT = "wait"
    REMIND = "remind"  # the person asked is reminded, once
    LIST = "list"  # the group leader sees it among the unanswered


def stage(
    cal: WorkCalendar,
    asked: date,
    reminded: date | None,
    listed: bool,
    today: date,
    remind_workdays: int,
    list_workdays: int,
) -> Stage:
    """The next step for an unanswered call-back asked on ``asked``: a reminder after
    ``remind_workdays`` working days, the group leader's list ``list_workdays`` working
    days after the reminder; each once."""
    if reminded is None:
        due = workdays_after(cal, asked, remind_workdays)
        return Stage.REMIND if today >= due else Stage.WAIT
    if listed:
        return Stage.WAIT
    due = workdays_after(cal, reminded, list_workdays)
    return Stage.LIST if today >= due else Stage.WAIT


def may_record(actor: Actor, asked_id: int | None, reporter: bool, group_id: int | None) -> bool:
    """Who records a call-back: the person asked, any of the problem's reporters, or the
    leader of the problem's group."""
    if not actor.active:
        return False
    if reporter or actor.cadre_id == asked_id:
        return True
    return actor.role is Role.GROUP_LEADER and group_id is not None and actor.group_id == group_id


def may_reopen(actor: Actor, level: str, team_id: int | None, group_id: int | None) -> bool:
    """Who reopens an ended problem by hand: whoever may act at the level that closed it,
    or the office."""
    if not actor.active:
        return False
    return actor.role is Role.OFFICE or may_act(actor, level, team_id, group_id)


class ReopenVerdict(StrEnum):
    OK = "ok"
    OPEN = "open"  # already open: nothing to reopen
    OTHER = "other"  # ended another way than the press was made for (e.g. solved)


def judge_reopen(status: str, watched: bool, from_watch: bool) -> ReopenVerdict:
    """A reopen press: a watch-list press needs an explained problem still watched; a
    call-back's 不满意 needs an ended problem."""
    if is_open(status):
        return ReopenVerdict.OPEN
    if status not in CLOSED_STATUSES:
        return ReopenVerdict.OTHER
    if from_watch and (status != "explained" or not watched):
        return ReopenVerdict.OTHER
    return ReopenVerdict.OK


@dataclass(frozen=True)
class Satisfaction:
    satisfied: int = 0
    fair: int = 0
    unsatisfied: int = 0

    @property
    def answered(self) -> int:
        return self.satisfied + self.fair + self.unsatisfied

    @property
    def rate(self) -> float | None:
        """满意率: satisfied and fairly satisfied among the answered; None with none."""
        if not self.answered:
            return None
        return (self.satisfied + self.fair) / self.answered


def percent(rate: float | None) -> str:
    """A rate as shown: "92%", or "-" when nothing was answered."""
    return "-" if rate is None else f"{round(rate * 100)}%"


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


@dataclass(frozen=True)
class CallbackLine:
    """One call-back as the export lists it."""

    problem_id: int
    team_name: str
    group_name: str
    reporter_name: str
    asked_name: str
    asked_at: datetime
    answered_name: str
    answered_at: datetime | None
    result: str | None
    reach: str | None
    note: str
    reopened: bool
