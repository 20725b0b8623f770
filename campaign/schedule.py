"""When each scheduled job is due, and how long a missed run is still worth doing.

Every job has a local time of day and a rule for which days it is due. ``last_due``
answers "the most recent due moment at or before ``now``"; the job runner compares it
with the last due moment it handled (stored in the database), so a restart before,
during or after a due time runs each occurrence at most once, and a run missed while
the bot was down is made up only within ``window`` of its due moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from campaign.periods import month_of, week_of
from campaign.settings import Settings
from campaign.workcalendar import WorkCalendar

NUDGE = "evening-nudge"
PACE = "weekly-pace"
PERIOD_END = "period-end"
BULLETIN = "weekly-bulletin"
NIGHTLY = "nightly"
PLAN_REMIND = "plan-remind"  # plan items due soon (owners) and overdue (leaders)
# The month's assessment: laggards to team leaders and the office, each sending unit's
# summary to its contact (services/monthly.py).
MONTHLY = "monthly-assessment"
# Not a daily job: deadline warnings, auto-escalation and catching up missed jobs, every
# few minutes and once at start.
SWEEP = "sweep"

_LOOK_BACK_DAYS = 8


class Cadence(StrEnum):
    WORKDAY = "workday"  # every working day
    WEEKLY = "weekly"  # once a week, on a weekday moved past holidays
    PERIOD_END = "period_end"  # the day ``nth`` working days before a month closes
    DAILY = "daily"  # every day, holidays too
    MONTH_START = "month_start"  # the first working day of each month


@dataclass(frozen=True)
class JobPlan:
    id: str
    at: time  # local, naive: combined with the campaign's time zone
    cadence: Cadence
    window: timedelta  # a missed run is made up until this long after its due moment
    weekday: int = 1  # ISO weekday for WEEKLY
    nth: int = 0  # working days before the month closes, for PERIOD_END


def job_plans(s: Settings) -> tuple[JobPlan, ...]:
    r = s.reminders
    day = date(2000, 1, 3)
    nudge_window = datetime.combine(day, r.nudge_latest) - datetime.combine(day, r.evening_nudge)
    catchup = timedelta(hours=r.catchup_hours)
    return (
        JobPlan(NUDGE, r.evening_nudge, Cadence.WORKDAY, nudge_window),
        JobPlan(PACE, r.weekly_pace_time, Cadence.WEEKLY, catchup, weekday=r.weekly_pace_weekday),
        JobPlan(
            PERIOD_END, r.period_end_time, Cadence.PERIOD_END, catchup, nth=r.period_end_workdays
        ),
        # A late bulletin beats none: it is made up any time until the next one is due.
        JobPlan(
            BULLETIN, r.bulletin_time, Cadence.WEEKLY, timedelta(days=6), weekday=r.bulletin_weekday
        ),
        JobPlan(NIGHTLY, r.backup_time, Cadence.DAILY, timedelta(hours=24)),
        JobPlan(PLAN_REMIND, s.plans.remind_time, Cadence.WORKDAY, catchup),
        # Last month's assessment, on this month's first working day; made up for a week.
        JobPlan(MONTHLY, r.period_end_time, Cadence.MONTH_START, timedelta(days=7)),
    )


def weekly_day(week_day: date, weekday: int, cal: WorkCalendar) -> date:
    """The day a weekly job falls on in the week of ``week_day``: the configured weekday,
    moved to the next working day of the same week when it is a holiday (it stays put
    when the rest of the week is holiday too)."""
    week = week_of(week_day)
    configured = week.start + timedelta(days=weekday - 1)
    return cal.first_workday_from(configured, week.end) or configured


def is_due_day(plan: JobPlan, day: date, cal: WorkCalendar) -> bool:
    if plan.cadence is Cadence.DAILY:
        return True
    if plan.cadence is Cadence.WORKDAY:
        return cal.is_workday(day)
    if plan.cadence is Cadence.WEEKLY:
        return day == weekly_day(day, plan.weekday, cal)
    if plan.cadence is Cadence.MONTH_START:
        month = month_of(day)
        return day == (cal.first_workday_from(month.start, month.end) or month.start)
    return day == cal.nth_last_workday(month_of(day), plan.nth)


def due_at(plan: JobPlan, day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, plan.at, tzinfo=tz)


def last_due(plan: JobPlan, now: datetime, tz: ZoneInfo, cal: WorkCalendar) -> datetime | None:
    """The most recent due moment at or before ``now`` (aware), within a week."""
    today = now.astimezone(tz).date()
    for back in range(_LOOK_BACK_DAYS):
        day = today - timedelta(days=back)
        if is_due_day(plan, day, cal):
            moment = due_at(plan, day, tz)
            if moment <= now:
                return moment
    return None


def still_useful(plan: JobPlan, due: datetime, now: datetime, tz: ZoneInfo) -> bool:
    """Whether a run for ``due`` is still worth doing at ``now``."""
    if now - due > plan.window:
        return False
    if plan.cadence is Cadence.PERIOD_END:
        # A warning that a month is closing is useless once it has closed.
        return now.astimezone(tz).date() < month_of(due.astimezone(tz).date()).end
    return True
