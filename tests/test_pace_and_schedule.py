"""Pure rules: quota pace, due moments of each job, deadline colours, mute arguments."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time

from campaign.deadline_colour import Colour, colour_for
from campaign.mute import mute_until, parse_mute
from campaign.periods import month_of, quarter_of
from campaign.quotas import Quota, Tally, expected, period_pace
from campaign.schedule import (
    BULLETIN,
    MONTHLY,
    NIGHTLY,
    NUDGE,
    PACE,
    PERIOD_END,
    PLAN_REMIND,
    job_plans,
    last_due,
    still_useful,
    weekly_day,
)
from campaign.settings import ReminderSettings, Settings
from campaign.workcalendar import WorkCalendar
from tests.scheduler_factories import SHANGHAI, local

CAL = WorkCalendar()


def plans(**reminders: object) -> dict[str, object]:
    s = Settings(reminders=dataclasses.replace(ReminderSettings(), **reminders))  # type: ignore[arg-type]
    return {p.id: p for p in job_plans(s)}


def test_expected_is_quota_times_elapsed_share_rounded_down() -> None:
    assert expected(8, 10, 21) == 3
    assert expected(8, 0, 21) == 0
    assert expected(8, 21, 21) == 8
    assert expected(8, 30, 21) == 8
    assert expected(8, 3, 0) == 8


def test_pace_in_a_month_with_a_golden_week() -> None:
    october = month_of(date(2026, 10, 1))
    quota = Quota(visits=8, days=10)
    # Monday 19 October: 8 of 18 working days have passed (1–7 October were off).
    pace = period_pace(october, "month", quota, Tally(2, 4), CAL, date(2026, 10, 19))
    assert (pace.workdays_total, pace.workdays_elapsed, pace.workdays_left) == (18, 8, 10)
    assert pace.visits.expected == 3 and pace.visits.behind and pace.visits.left == 6
    assert pace.days.expected == 4 and not pace.days.behind
    assert pace.behind and pace.short
    on_track = period_pace(october, "month", quota, Tally(3, 4), CAL, date(2026, 10, 19))
    assert not on_track.behind and on_track.short
    done = period_pace(october, "month", quota, Tally(9, 12), CAL, date(2026, 10, 19))
    assert not done.short and done.visits.left == 0


def test_nobody_is_behind_on_the_first_day() -> None:
    q4 = quarter_of(date(2026, 10, 1))
    pace = period_pace(q4, "quarter", Quota(24, 30), Tally(), CAL, date(2026, 10, 8))
    assert pace.workdays_elapsed == 0 and not pace.behind


def test_weekly_jobs_move_past_a_holiday_monday() -> None:
    assert weekly_day(date(2026, 11, 18), 1, CAL) == date(2026, 11, 16)
    # Monday 5 October 2026 is National Day: the week's first working day is Thursday.
    assert weekly_day(date(2026, 10, 6), 1, CAL) == date(2026, 10, 8)
    # A Sunday job stays on Sunday: there is no later working day that week.
    assert weekly_day(date(2026, 11, 18), 7, CAL) == date(2026, 11, 22)


def test_evening_nudge_is_due_on_workdays_only() -> None:
    nudge = plans()[NUDGE]
    # Saturday 10 October 2026 is a make-up working day.
    assert last_due(nudge, local(2026, 10, 10, 20), SHANGHAI, CAL) == local(2026, 10, 10, 19, 30)
    # During the holiday the most recent due moment is 30 September.
    assert last_due(nudge, local(2026, 10, 5, 20), SHANGHAI, CAL) == local(2026, 9, 30, 19, 30)
    # Before 19:30 on a workday: the previous workday's.
    assert last_due(nudge, local(2026, 11, 16, 19), SHANGHAI, CAL) == local(2026, 11, 13, 19, 30)


def test_a_missed_nudge_is_useful_until_nudge_latest() -> None:
    nudge = plans()[NUDGE]
    due = local(2026, 11, 16, 19, 30)
    assert still_useful(nudge, due, local(2026, 11, 16, 20, 30), SHANGHAI)
    assert still_useful(nudge, due, local(2026, 11, 16, 21, 0), SHANGHAI)
    assert not still_useful(nudge, due, local(2026, 11, 16, 21, 1), SHANGHAI)
    assert not still_useful(nudge, due, local(2026, 11, 17, 8, 0), SHANGHAI)


def test_period_end_warning_day_and_its_usefulness() -> None:
    p = plans(period_end_workdays=3)[PERIOD_END]
    assert last_due(p, local(2026, 11, 26, 10), SHANGHAI, CAL) == local(2026, 11, 26, 9)
    assert last_due(p, local(2026, 11, 26, 8), SHANGHAI, CAL) is None
    one = plans(period_end_workdays=1)[PERIOD_END]
    due = last_due(one, local(2026, 11, 30, 9, 30), SHANGHAI, CAL)
    assert due == local(2026, 11, 30, 9)
    assert still_useful(one, due, local(2026, 11, 30, 23), SHANGHAI)
    # Down until the next morning: the month has closed, the warning is pointless.
    assert not still_useful(one, due, local(2026, 12, 1, 8), SHANGHAI)


def test_bulletin_and_nightly_plans() -> None:
    assert set(plans()) == {NUDGE, PACE, PERIOD_END, BULLETIN, NIGHTLY, PLAN_REMIND, MONTHLY}
    p = plans(bulletin_time=time(8, 30))[BULLETIN]
    # Due Monday 08:30; a restart on Friday still makes it up, the next Monday not.
    due = last_due(p, local(2026, 11, 20, 12), SHANGHAI, CAL)
    assert due == local(2026, 11, 16, 8, 30)
    assert still_useful(p, due, local(2026, 11, 20, 12), SHANGHAI)
    nightly = plans()[NIGHTLY]
    assert last_due(nightly, local(2026, 10, 3, 3), SHANGHAI, CAL) == local(2026, 10, 3, 2, 30)
    # The month's assessment: the first working day, past the National Day holiday.
    monthly = plans()[MONTHLY]
    assert last_due(monthly, local(2026, 10, 9, 12), SHANGHAI, CAL) == local(2026, 10, 8, 9)
    assert last_due(monthly, local(2026, 12, 1, 8), SHANGHAI, CAL) is None


def test_deadline_colours() -> None:
    deadline = local(2026, 11, 18, 17)
    assert colour_for(deadline, local(2026, 11, 15, 23), SHANGHAI) is None
    assert colour_for(deadline, local(2026, 11, 16, 0, 1), SHANGHAI) is Colour.BLUE
    assert colour_for(deadline, local(2026, 11, 17, 12), SHANGHAI) is Colour.BLUE
    assert colour_for(deadline, local(2026, 11, 18, 0, 1), SHANGHAI) is Colour.YELLOW
    assert colour_for(deadline, local(2026, 11, 18, 16, 59), SHANGHAI) is Colour.YELLOW
    assert colour_for(deadline, local(2026, 11, 18, 17), SHANGHAI) is Colour.RED
    assert colour_for(deadline, local(2026, 11, 25), SHANGHAI) is Colour.RED
    assert colour_for(deadline, local(2026, 11, 15, 9), SHANGHAI, blue_days=3) is Colour.BLUE


def test_mute_arguments() -> None:
    assert parse_mute("3d", 14).days == 3
    assert parse_mute("3", 14).days == 3
    assert parse_mute("3 days", 14).days == 3
    assert parse_mute("3天", 14).days == 3
    assert parse_mute("1w", 14).days == 7
    assert parse_mute("2周", 14).days == 14
    assert parse_mute("３Ｄ", 14).days is None  # full-width letter: shown the example
    assert parse_mute("３", 14).days == 3  # full-width digit is still a digit
    for bad in ("", "0", "abc", "-3", "3h", "1.5d", "3d 4d", "9" * 50):
        assert parse_mute(bad, 14).days is None, bad
    too_long = parse_mute("3w", 14)
    assert too_long.days == 21 and too_long.too_long


def test_a_mute_covers_whole_local_days() -> None:
    monday_evening = local(2026, 11, 16, 18)
    assert mute_until(monday_evening, 1, SHANGHAI) == local(2026, 11, 17)
    assert mute_until(monday_evening, 3, SHANGHAI) == local(2026, 11, 19)
    # 23:30 UTC on Sunday is already Monday 07:30 in Shanghai: "today" is Monday.
    sunday_utc = datetime(2026, 11, 15, 23, 30, tzinfo=UTC)
    assert mute_until(sunday_utc, 1, SHANGHAI) == local(2026, 11, 17)
