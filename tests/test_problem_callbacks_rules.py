"""The call-back rules with plain values: working days, reminders, who records and who
reopens, the satisfaction rate, and the [callbacks] settings."""

from __future__ import annotations

from datetime import date

import pytest

from campaign.ladder import Actor
from campaign.problem_callbacks import (
    ReopenVerdict,
    Satisfaction,
    Stage,
    judge_reopen,
    may_record,
    may_reopen,
    month_key,
    percent,
    stage,
    workdays_after,
)
from campaign.roles import Role
from campaign.settings import SettingsError, parse_settings
from campaign.workcalendar import WorkCalendar

# Monday to Friday, whatever the installed official calendar knows.
CAL = WorkCalendar(official=lambda day: day.weekday() < 5)


def test_workdays_after_skip_weekends_and_holidays() -> None:
    assert workdays_after(CAL, date(2026, 11, 16), 3) == date(2026, 11, 19)  # Mon → Thu
    assert workdays_after(CAL, date(2026, 11, 19), 3) == date(2026, 11, 24)  # over a weekend
    county = WorkCalendar(extra_holidays=frozenset({date(2026, 11, 17)}), official=CAL.official)
    assert workdays_after(county, date(2026, 11, 16), 1) == date(2026, 11, 18)
    with pytest.raises(ValueError):
        workdays_after(CAL, date(2026, 11, 16), 0)


def test_stage_reminds_once_then_lists_once() -> None:
    asked = date(2026, 11, 19)  # Thursday

    def at(today: date, reminded: date | None = None, listed: bool = False) -> Stage:
        return stage(CAL, asked, reminded, listed, today, 2, 2)

    assert at(date(2026, 11, 20)) is Stage.WAIT
    assert at(date(2026, 11, 23)) is Stage.REMIND  # two working days: Fri, Mon
    assert at(date(2026, 11, 24), reminded=date(2026, 11, 23)) is Stage.WAIT
    assert at(date(2026, 11, 25), reminded=date(2026, 11, 23)) is Stage.LIST
    assert at(date(2026, 12, 25), reminded=date(2026, 11, 23), listed=True) is Stage.WAIT


def _actor(
    cadre_id: int, role: Role, team: int | None, group: int | None, active: bool = True
) -> Actor:
    return Actor(cadre_id, role, team, group, active)


def test_who_records_a_call_back() -> None:
    assert may_record(_actor(1, Role.CADRE, 1, 1), asked_id=1, reporter=True, group_id=1)
    assert may_record(_actor(2, Role.CADRE, 1, 1), asked_id=1, reporter=True, group_id=1)
    assert may_record(_actor(3, Role.GROUP_LEADER, 1, 1), asked_id=1, reporter=False, group_id=1)
    assert not may_record(_actor(4, Role.GROUP_LEADER, 1, 2), 1, False, 1)  # another group
    assert not may_record(_actor(5, Role.TEAM_LEADER, 1, None), 1, False, 1)
    assert not may_record(_actor(6, Role.OFFICE, None, None), 1, False, 1)
    assert not may_record(_actor(1, Role.CADRE, 1, 1, active=False), 1, True, 1)


def test_who_reopens_and_when() -> None:
    captain = _actor(7, Role.TEAM_LEADER, 1, None)
    assert may_reopen(captain, "team", 1, 1)
    assert not may_reopen(captain, "team", 2, 3)
    assert not may_reopen(captain, "group", 1, 1)
    assert may_reopen(_actor(8, Role.OFFICE, None, None), "team", 1, 1)
    assert not may_reopen(_actor(1, Role.CADRE, 1, 1), "group", 1, 1)
    assert judge_reopen("explained", True, from_watch=True) is ReopenVerdict.OK
    assert judge_reopen("open", False, from_watch=True) is ReopenVerdict.OPEN
    assert judge_reopen("claimed", False, from_watch=False) is ReopenVerdict.OPEN
    assert judge_reopen("solved", False, from_watch=True) is ReopenVerdict.OTHER
    assert judge_reopen("explained", False, from_watch=True) is ReopenVerdict.OTHER
    assert judge_reopen("solved", False, from_watch=False) is ReopenVerdict.OK


def test_satisfaction_rate() -> None:
    assert Satisfaction().rate is None and percent(None) == "-"
    s = Satisfaction(satisfied=5, fair=2, unsatisfied=1)
    assert s.answered == 8 and percent(s.rate) == "88%"
    assert percent(Satisfaction(unsatisfied=1).rate) == "0%"
    assert month_key(date(2026, 1, 31)) == "2026-01"


def test_callback_settings_are_checked() -> None:
    s = parse_settings({"callbacks": {"workdays_after": 5}}, "conf.toml", {})
    assert s.callbacks.workdays_after == 5 and s.callbacks.remind_workdays == 2
    with pytest.raises(SettingsError, match="callbacks.workdays_after"):
        parse_settings({"callbacks": {"workdays_after": 0}}, "conf.toml", {})
    with pytest.raises(SettingsError, match="callbacks"):
        parse_settings({"callbacks": {"nonsense": 1}}, "conf.toml", {})
