"""The work calendar: statutory holidays, make-up working weekends, county overrides,
a year the package does not know, and the settings that feed it."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from campaign.periods import month_of, quarter_of
from campaign.settings import SettingsError, load_settings, parse_settings
from campaign.workcalendar import WorkCalendar
from tests.scheduler_factories import first_unknown_year


def test_national_day_2026_and_its_make_up_weekends() -> None:
    cal = WorkCalendar()
    # 国庆节 2026: 1–7 October off (with 中秋 25–27 September just before).
    for day in range(1, 8):
        assert not cal.is_workday(date(2026, 10, day)), day
    assert cal.is_workday(date(2026, 10, 8))  # Thursday, back at work
    # Make-up working days: Sunday 20 September and Saturday 10 October.
    assert date(2026, 9, 20).weekday() == 6 and cal.is_workday(date(2026, 9, 20))
    assert date(2026, 10, 10).weekday() == 5 and cal.is_workday(date(2026, 10, 10))
    assert not cal.is_workday(date(2026, 10, 11))  # an ordinary Sunday
    assert not cal.is_workday(date(2026, 9, 25))  # 中秋节, a Friday
    assert cal.in_period(month_of(date(2026, 10, 1))) == 18


def test_spring_festival_2026_make_up_saturdays() -> None:
    cal = WorkCalendar()
    assert cal.is_workday(date(2026, 2, 14))  # Saturday before 春节
    assert cal.is_workday(date(2026, 2, 28))  # Saturday after
    assert not cal.is_workday(date(2026, 2, 17))  # 春节, a Tuesday
    assert cal.in_period(month_of(date(2026, 2, 1))) == 16


def test_unknown_year_falls_back_to_monday_to_friday() -> None:
    year = first_unknown_year()
    cal = WorkCalendar()
    assert cal.has_official(2026) and not cal.has_official(year)
    jan = [date(year, 1, 1) + timedelta(days=i) for i in range(31)]
    assert [d for d in jan if cal.is_workday(d)] == [d for d in jan if d.weekday() < 5]
    assert cal.missing_years([date(2026, 12, 31), date(year, 1, 4)]) == [year]


def test_unknown_year_uses_the_holidays_listed_in_config() -> None:
    year = first_unknown_year()
    new_year = date(year, 1, 1)
    monday = new_year + timedelta(days=(7 - new_year.weekday()) % 7 or 7)
    saturday = monday + timedelta(days=5)
    cal = WorkCalendar.from_config([new_year.isoformat()], [saturday.isoformat()])
    assert not cal.is_workday(new_year)
    assert cal.is_workday(saturday)
    assert cal.is_workday(monday)


def test_county_overrides_win_over_the_official_calendar() -> None:
    cal = WorkCalendar.from_config(["2026-11-17"], ["2026-10-05", "2026-11-22"])
    assert not cal.is_workday(date(2026, 11, 17))  # an ordinary Tuesday, given off
    assert cal.is_workday(date(2026, 10, 5))  # a statutory holiday, worked in the county
    assert cal.is_workday(date(2026, 11, 22))  # a Sunday
    assert not WorkCalendar().is_workday(date(2026, 11, 22))


def test_a_broken_official_lookup_for_one_year_only() -> None:
    def official(day: date) -> bool:
        if day.year == 2030:
            raise NotImplementedError("no data")
        return day.weekday() < 4  # a made-up four-day week

    cal = WorkCalendar(official=official)
    assert not cal.is_workday(date(2029, 1, 5))  # a Friday, off in the made-up data
    assert cal.is_workday(date(2030, 1, 4))  # a Friday, fallback


def test_nth_last_workday_skips_holidays_and_counts_make_up_days() -> None:
    cal = WorkCalendar()
    assert cal.nth_last_workday(month_of(date(2026, 11, 1)), 3) == date(2026, 11, 26)
    assert cal.nth_last_workday(month_of(date(2026, 9, 1)), 3) == date(2026, 9, 28)
    assert cal.nth_last_workday(quarter_of(date(2026, 12, 1)), 1) == date(2026, 12, 31)
    assert cal.nth_last_workday(month_of(date(2026, 10, 1)), 40) is None


def _settings(**reminders: object) -> None:
    parse_settings({"reminders": reminders}, "county.toml", env={})


def test_overrides_are_checked_when_settings_load() -> None:
    _settings(extra_holidays=["2026-12-31"], extra_workdays=["2027-01-09"])
    with pytest.raises(SettingsError, match=r"county.toml.*'reminders.extra_holidays'.*12/31"):
        _settings(extra_holidays=["12/31"])
    with pytest.raises(SettingsError, match="'reminders.extra_workdays'"):
        _settings(extra_workdays=["2026-02-30"])
    with pytest.raises(SettingsError, match="'reminders.extra_holidays'.*list of strings"):
        _settings(extra_holidays="2026-12-31")
    with pytest.raises(SettingsError, match="'reminders.extra_workdays' repeats 2026-12-31"):
        _settings(extra_holidays=["2026-12-31"], extra_workdays=["2026-12-31"])


def test_reminder_settings_are_checked() -> None:
    with pytest.raises(SettingsError, match="'reminders.bulletin_weekday' must be 1"):
        _settings(bulletin_weekday=0)
    with pytest.raises(SettingsError, match="'reminders.mute_max_days'"):
        _settings(mute_max_days=0)
    with pytest.raises(SettingsError, match="'reminders.nudge_latest' must be later"):
        _settings(evening_nudge="19:30", nudge_latest="19:00")
    with pytest.raises(SettingsError, match="'reminders.nudge_latest' must not be later"):
        _settings(nudge_latest="22:00")
    _settings(nudge_latest="22:00", quiet_start="23:00")
    with pytest.raises(SettingsError, match="'reminders.evening_nudge'.*19:30"):
        _settings(evening_nudge="half past seven")
    with pytest.raises(SettingsError, match="unknown key 'reminders.quiet'"):
        _settings(quiet="22:00")


def test_example_config_loads(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parent.parent / "config.example.toml"
    s = load_settings(example, env={})
    assert s.reminders.nudge_latest.hour == 21
    assert s.storage.keep_update_ids_days == 14
    bad = tmp_path / "config.toml"
    bad.write_text('[reminders]\nextra_holidays = ["2026-13-01"]\n', encoding="utf-8")
    with pytest.raises(SettingsError, match=f"{bad}.*reminders.extra_holidays"):
        load_settings(bad, env={})
