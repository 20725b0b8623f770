"""The pure rules of the visit log: text, dates, head counts, distances, rights, quotas."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from campaign.geo import distance_to, haversine_km, is_far
from campaign.periods import PeriodError, month_of, parse_day, quarter_of
from campaign.quotas import VisitFact, expected_by, month_progress, quarter_progress, tally
from campaign.roles import Role
from campaign.settings import QuotaSettings
from campaign.text import clean_text
from campaign.visitform import Form
from campaign.visitrules import (
    MAX_PHOTOS,
    ChangeRight,
    DayProblem,
    TextProblem,
    allowed_days,
    change_right,
    day_problem,
    may_view,
    parse_people,
    text_problem,
)
from campaign.workcalendar import WorkCalendar
from storage.db import escape_like

TODAY = date(2026, 11, 16)


def test_clean_text_drops_controls_and_keeps_lines() -> None:
    raw = "\x00走访\x07张大爷\r\n\t了解\u202e情况\x1b  \n\n\n\n结束\x7f "
    assert clean_text(raw) == "走访张大爷\n 了解情况\n\n结束"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", TextProblem.EMPTY),
        ("👍👍🙏", TextProblem.NO_WORDS),
        ("！！。。", TextProblem.NO_WORDS),
        ("👨‍👩‍👧", TextProblem.NO_WORDS),
        ("走访", None),
        ("12户", None),
        ("ok 👍", None),
        ("字" * 2001, TextProblem.TOO_LONG),
        ("字" * 2000, None),
    ],
)
def test_text_problem(text: str, problem: TextProblem | None) -> None:
    assert text_problem(clean_text(text), 2000) == problem


def test_whitespace_only_is_empty_after_cleaning() -> None:
    assert text_problem(clean_text(" \n\t\u3000 \x00"), 2000) is TextProblem.EMPTY


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2026-11-15", date(2026, 11, 15)),
        ("2026/11/15", date(2026, 11, 15)),
        ("2026年11月15日", date(2026, 11, 15)),
        ("11-15", date(2026, 11, 15)),
        ("11/15", date(2026, 11, 15)),
        ("11月15日", date(2026, 11, 15)),
        ("１１月１５号", date(2026, 11, 15)),
        ("15日", date(2026, 11, 15)),
        ("今天", TODAY),
        ("昨天", date(2026, 11, 15)),
        ("前天", date(2026, 11, 14)),
        ("Yesterday", date(2026, 11, 15)),
        ("11-17", date(2026, 11, 17)),  # tomorrow: refused later as a future date
        ("12-20", date(2026, 12, 20)),
        ("6-1", date(2026, 6, 1)),
        ("2月30日", None),
        ("明天见", None),
        ("", None),
    ],
)
def test_parse_day(typed: str, expected: date | None) -> None:
    """What the visit flow's date step reads (the one day reader, campaign.periods)."""
    if expected is None:
        with pytest.raises(PeriodError):
            parse_day(typed, TODAY)
    else:
        assert parse_day(typed, TODAY) == expected


def test_parse_day_across_new_year() -> None:
    assert parse_day("12-31", date(2027, 1, 1)) == date(2026, 12, 31)
    assert parse_day("31日", date(2027, 1, 1)) == date(2026, 12, 31)


def test_allowed_days_and_window() -> None:
    assert allowed_days(TODAY, 3) == [TODAY - timedelta(days=n) for n in range(4)]
    assert allowed_days(TODAY, 0) == [TODAY]
    assert day_problem(TODAY, TODAY, 3) is None
    assert day_problem(date(2026, 11, 13), TODAY, 3) is None
    assert day_problem(date(2026, 11, 12), TODAY, 3) is DayProblem.TOO_OLD
    assert day_problem(date(2026, 11, 17), TODAY, 3) is DayProblem.FUTURE


@pytest.mark.parametrize(
    ("typed", "people"),
    [("12", 12), ("１２", 12), ("12人", 12), ("3 people", 3), ("0", 0), ("-3", None)],
)
def test_parse_people(typed: str, people: int | None) -> None:
    assert parse_people(typed) == people


def test_parse_people_refuses_absurd_numbers_and_words() -> None:
    assert parse_people("999999") is None
    assert parse_people("十二") is None
    assert parse_people("12 户") is None


def test_haversine() -> None:
    # Beijing Tiananmen to Shanghai People's Square: about 1068 km.
    assert haversine_km(39.9087, 116.3975, 31.2304, 121.4737) == pytest.approx(1068, abs=5)
    # a hundredth of a degree of latitude is about 1.11 km
    assert haversine_km(30.0, 114.0, 30.01, 114.0) == pytest.approx(1.112, abs=0.01)
    assert haversine_km(30.0, 114.0, 30.0, 114.0) == 0.0


def test_distance_and_far() -> None:
    assert distance_to(None, 114.0, 30.0, 114.0) is None
    assert distance_to(30.0, 114.0, None, None) is None
    km = distance_to(30.0, 114.0, 30.05, 114.0)
    assert km == pytest.approx(5.56, abs=0.01)
    assert is_far(km, 3.0)
    assert not is_far(2.9, 3.0)
    assert not is_far(None, 3.0)


NOW = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)


def _right(**kw: object) -> ChangeRight | None:
    args: dict[str, object] = {
        "actor_id": 1,
        "actor_role": Role.CADRE,
        "actor_group_id": 10,
        "owner_id": 1,
        "visit_group_id": 10,
        "created_at": NOW - timedelta(hours=2),
        "now": NOW,
        "window_hours": 24,
    }
    args.update(kw)
    return change_right(**args)  # type: ignore[arg-type]


def test_change_rights() -> None:
    assert _right() is ChangeRight.OWN
    assert _right(created_at=NOW - timedelta(hours=25)) is None
    assert _right(actor_id=2) is None  # another cadre of the group
    leader = {"actor_id": 5, "actor_role": Role.GROUP_LEADER}
    assert _right(**leader, created_at=NOW - timedelta(days=40)) is ChangeRight.LEADER
    assert _right(**leader, actor_group_id=11) is None  # another group's leader
    # a leader's own visit past the window is closed to them too
    assert _right(actor_role=Role.GROUP_LEADER, created_at=NOW - timedelta(hours=30)) is None
    assert _right(actor_id=7, actor_role=Role.TEAM_LEADER) is None


def test_view_rights() -> None:
    base = {
        "actor_id": 2,
        "actor_group_id": 10,
        "actor_team_id": 100,
        "owner_id": 1,
        "visit_group_id": 10,
        "visit_team_id": 100,
    }
    assert may_view(**base, actor_role=Role.CADRE) is False  # type: ignore[arg-type]
    assert may_view(**{**base, "actor_id": 1}, actor_role=Role.CADRE) is True  # type: ignore[arg-type]
    assert may_view(**base, actor_role=Role.GROUP_LEADER) is True  # type: ignore[arg-type]
    assert may_view(**{**base, "actor_group_id": 11}, actor_role=Role.GROUP_LEADER) is False  # type: ignore[arg-type]
    assert may_view(**base, actor_role=Role.TEAM_LEADER) is True  # type: ignore[arg-type]
    assert may_view(**{**base, "actor_team_id": 101}, actor_role=Role.TEAM_LEADER) is False  # type: ignore[arg-type]
    assert may_view(**base, actor_role=Role.OFFICE) is False  # type: ignore[arg-type]


FACTS = [
    VisitFact(date(2026, 10, 3), 1, ("policy",)),
    VisitFact(date(2026, 11, 2), 1, ("policy", "survey")),
    VisitFact(date(2026, 11, 2), 2, ("service",)),
    VisitFact(date(2026, 11, 9), 3, ("survey",)),
    VisitFact(date(2026, 12, 1), 3, ("party",)),  # a later month of the same quarter
]


def test_tally() -> None:
    t = tally(FACTS, month_of(TODAY))
    assert (t.visits, t.days, t.places) == (3, 2, 3)
    assert t.by_kind == {"policy": 1, "survey": 2, "service": 1}
    q = tally(FACTS, quarter_of(TODAY))
    assert (q.visits, q.days, q.places) == (5, 4, 3)


def test_pace() -> None:
    cal = WorkCalendar()
    # November 2026: 21 working days, 10 of them before Monday the 16th.
    month = month_of(TODAY)
    assert expected_by(8, month, TODAY, cal) == 8 * 10 // 21 == 3
    assert expected_by(8, month, date(2026, 11, 1), cal) == 0
    assert expected_by(8, month, date(2026, 11, 30), cal) == 8 * 20 // 21  # today not yet done
    assert expected_by(8, month, date(2026, 12, 1), cal) == 8  # the month is over
    assert expected_by(8, month, date(2026, 10, 30), cal) == 0
    quotas = QuotaSettings(
        monthly_visits=8, monthly_days=10, quarterly_visits=24, quarterly_days=30
    )
    p = month_progress(FACTS, TODAY, quotas, cal)
    assert (p.expected_visits, p.expected_days) == (3, 4)
    assert p.visits_behind == 0 and p.days_behind == 2 and not p.on_pace and not p.done
    easy = QuotaSettings(monthly_visits=2, monthly_days=2, quarterly_visits=2, quarterly_days=2)
    assert month_progress(FACTS, TODAY, easy, cal).done
    assert quarter_progress(FACTS, TODAY, quotas, cal).tally.visits == 5


def test_form_round_trip_and_photos() -> None:
    f = Form(place={"id": 1, "name": "东风村", "kind": "village", "lat": None, "lon": None})
    assert f.missing() == "kinds"
    f.kinds, f.day, f.voice = ["policy"], "2026-11-16", "v1"
    assert f.missing() is None
    assert Form.load({**f.dump(), "unknown_key": 1}) == f
    assert f.add_photo("a", "ua") is True
    assert f.add_photo("a2", "ua") is False  # the same photo again
    for i in range(MAX_PHOTOS - 1):
        assert f.add_photo(f"p{i}", f"u{i}") is True
    assert f.add_photo("one-too-many", "x") is None
    assert len(f.photos) == MAX_PHOTOS


def test_escape_like() -> None:
    assert escape_like("50%_a\\b") == "50\\%\\_a\\\\b"
