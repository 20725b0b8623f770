"""The ladder's pure rules and the card rendering, with plain values."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from campaign import callbacks
from campaign.i18n import default_catalog
from campaign.ladder import (
    Action,
    Actor,
    Verdict,
    allowed_actions,
    change_for,
    deadline_for,
    is_overdue,
    judge,
    may_act,
    next_level,
    previous_level,
    start_level,
    told_day_ok,
)
from campaign.periods import PeriodError, parse_day
from campaign.problem_cards import CardView, EventView, Renderer, card_data
from campaign.roles import Role
from campaign.settings import ProblemSettings
from campaign.text import clean_text

NOW = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)
TZ = ZoneInfo("Asia/Shanghai")


def test_levels_and_deadlines() -> None:
    assert next_level("group") == "team" and next_level("team") == "office"
    assert next_level("office") is None
    assert previous_level("office") == "team" and previous_level("group") is None
    s = ProblemSettings()
    assert deadline_for(s, "group", False, NOW) == NOW + timedelta(days=7)
    assert deadline_for(s, "team", False, NOW) == NOW + timedelta(days=15)
    assert deadline_for(s, "office", False, NOW) == NOW + timedelta(days=30)
    assert deadline_for(s, "group", True, NOW) == NOW + timedelta(days=2)
    assert deadline_for(s, "team", True, NOW) == NOW + timedelta(days=5)
    assert deadline_for(s, "office", True, NOW) == NOW + timedelta(days=10)
    custom = ProblemSettings(team_days=3)
    assert deadline_for(custom, "team", False, NOW) == NOW + timedelta(days=3)
    with pytest.raises(ValueError):
        deadline_for(s, "county", False, NOW)
    with pytest.raises(ValueError):
        deadline_for(s, "team", False, datetime(2026, 11, 16))
    assert is_overdue("open", NOW, NOW) and is_overdue("claimed", NOW, NOW + timedelta(days=1))
    assert not is_overdue("open", NOW + timedelta(seconds=1), NOW)
    assert not is_overdue("solved", NOW, NOW + timedelta(days=9))


def test_start_level() -> None:
    assert start_level(True, True, True) == "group"
    assert start_level(False, True, True) == "team"
    assert start_level(True, False, False) == "team"  # a team leader has no group
    assert start_level(True, True, False) == "team"  # nobody to own it in the group


def test_allowed_actions_by_level_and_status() -> None:
    c, n, s, e, up, down, dept = (
        Action.CLAIM,
        Action.NOTE,
        Action.SOLVE,
        Action.EXPLAIN,
        Action.ESCALATE,
        Action.HAND_DOWN,
        Action.ASSIGN,
    )
    assert allowed_actions("group", "open") == (c, n, s, e, up)
    assert allowed_actions("team", "claimed") == (n, s, e, up)
    assert allowed_actions("office", "open") == (c, n, s, e, down, dept)
    assert allowed_actions("office", "solved") == ()
    assert allowed_actions("team", "explained") == ()


GL = Actor(1, Role.GROUP_LEADER, team_id=10, group_id=100)
TL = Actor(2, Role.TEAM_LEADER, team_id=10, group_id=None)
DTL = Actor(3, Role.DEPUTY_TEAM_LEADER, team_id=10, group_id=None)
OTHER_TL = Actor(4, Role.TEAM_LEADER, team_id=11, group_id=None)
OFFICE = Actor(5, Role.OFFICE, team_id=None, group_id=None)
CADRE = Actor(6, Role.CADRE, team_id=10, group_id=100)
INSPECTOR = Actor(7, Role.INSPECTOR, team_id=None, group_id=None)


def test_who_may_act_at_which_level() -> None:
    table = {
        "group": {GL},
        "team": {TL, DTL},
        "office": {OFFICE},
    }
    for level, allowed in table.items():
        for actor in (GL, TL, DTL, OTHER_TL, OFFICE, CADRE, INSPECTOR):
            assert may_act(actor, level, 10, 100) is (actor in allowed), (level, actor)
    assert not may_act(GL, "group", 10, 101)  # another group's problem
    assert not may_act(TL, "team", 11, None)
    assert not may_act(Actor(1, Role.GROUP_LEADER, 10, 100, active=False), "group", 10, 100)


def test_judging_a_press() -> None:
    def j(actor: Actor, action: Action, button: str, level: str, status: str) -> Verdict:
        return judge(actor, action, button, level, status, 10, 100)

    assert j(TL, Action.CLAIM, "team", "team", "open") is Verdict.OK
    assert j(CADRE, Action.CLAIM, "team", "team", "open") is Verdict.NOT_ALLOWED
    assert j(OTHER_TL, Action.SOLVE, "team", "office", "open") is Verdict.NOT_ALLOWED
    assert j(TL, Action.SOLVE, "team", "office", "open") is Verdict.MOVED
    assert j(TL, Action.SOLVE, "team", "team", "solved") is Verdict.CLOSED
    assert j(DTL, Action.CLAIM, "team", "team", "claimed") is Verdict.ALREADY_CLAIMED
    assert j(TL, Action.HAND_DOWN, "team", "team", "open") is Verdict.NOT_NOW
    assert j(OFFICE, Action.ESCALATE, "office", "office", "open") is Verdict.NOT_NOW
    assert j(OFFICE, Action.ASSIGN, "office", "office", "claimed") is Verdict.OK
    assert j(TL, Action.CLAIM, "moon", "team", "open") is Verdict.NOT_ALLOWED


def test_changes() -> None:
    up = change_for(Action.ESCALATE, "group")
    assert (up.level, up.status, up.clear_owner, up.new_deadline) == ("team", "open", True, True)
    assert change_for("auto_escalate", "team").level == "office"
    assert change_for(Action.HAND_DOWN, "office").level == "team"
    assert change_for(Action.EXPLAIN, "team").watch and change_for(Action.SOLVE, "team").closes
    assert change_for(Action.CLAIM, "team").status == "claimed"
    with pytest.raises(ValueError):
        change_for(Action.ESCALATE, "office")
    with pytest.raises(ValueError):
        change_for(Action.HAND_DOWN, "team")


def test_clean_text() -> None:
    assert clean_text("  a\x00b\x07c\td\u202ee\u200bf \r\n\r\n\r\n\r\ng  ") == "abc def\n\ng"
    assert clean_text("\x00\x01 \n ") == ""
    assert clean_text("正常的文字，保留换行\n第二行") == "正常的文字，保留换行\n第二行"


def test_the_day_the_people_were_told() -> None:
    """The explain dialog reads the day with campaign.periods.parse_day and keeps it
    when it is not in the future and at most a year and a day back."""
    today = date(2026, 11, 16)

    def told(text: str) -> date | None:
        try:
            day = parse_day(text, today)
        except PeriodError:
            return None
        return day if told_day_ok(day, today) else None

    assert told("2026-11-15") == date(2026, 11, 15)
    assert told("11-15") == date(2026, 11, 15)
    assert told("11月15日") == date(2026, 11, 15)
    assert told("2026年11月1日") == date(2026, 11, 1)
    assert told("今天") == today
    assert told("昨天") == date(2026, 11, 15)
    assert told("2025-11-15") == date(2025, 11, 15)
    assert told("2026-11-17") is None
    assert told("11-17") is None  # tomorrow, not last year's
    assert told("2024-01-01") is None
    assert told("02-30") is None
    assert told("昨天下午") is None
    # Typed on 2 January, 12/31 is the day before yesterday, not the future.
    assert parse_day("12/31", date(2027, 1, 2)) == date(2026, 12, 31)
    assert told_day_ok(date(2026, 12, 31), date(2027, 1, 2))


def _view(**changes: object) -> CardView:
    base = dict(
        id=45,
        category="infrastructure",
        urgent=False,
        place_name="东风村",
        place_kind="village",
        village_name="",
        group_name="城关一组",
        team_name="城关镇工作队",
        reporter_name="张伟",
        reporters=1,
        description="道路塌陷",
        photos=0,
        level="team",
        status="open",
        owner_name=None,
        department=None,
        created_at=NOW,
        deadline=NOW + timedelta(days=15),
        resolution=None,
        explained_by=None,
        explained_on=None,
        closed_at=None,
        last=EventView("raise", "张伟", NOW),
    )
    base.update(changes)
    return CardView(**base)  # type: ignore[arg-type]


def test_card_rendering_and_buttons() -> None:
    r = Renderer(default_catalog(), "zh-CN", TZ)
    card = r.card_message(_view(), NOW + timedelta(days=3), actionable=True)
    text = card.text
    assert "P-45｜基础设施" in text and "还剩 12 天" in text and "张伟：提出问题" in text
    assert all(len(row) <= 3 for row in card.buttons)
    data = [b.data for row in card.buttons for b in row]
    assert data[0] == "prb:v1:claim:45:team"
    for d in data:
        assert callbacks.decode(d, "prb") and len(d.encode()) <= 64
    late = r.card(_view(), NOW + timedelta(days=17), actionable=True)
    assert "已超期 2 天" in late
    assert "已超期" in r.card(_view(), NOW + timedelta(days=15, hours=1), actionable=True)
    closed = r.card_message(
        _view(status="solved", resolution="修好了", closed_at=NOW), NOW, actionable=True
    )
    assert not closed.buttons and "修好了" in closed.text
    moved = r.card_message(_view(level="office"), NOW, actionable=False)
    assert not moved.buttons and "现由活动办公室办理" in moved.text
    biggest = 2**31
    assert len(card_data(Action.ASSIGN, biggest, "office")) <= 64


def test_english_rendering() -> None:
    r = Renderer(default_catalog(), "en", TZ)
    v = _view(urgent=True, reporters=3, status="claimed", owner_name="黄海")
    text = r.card(v, NOW, actionable=True)
    assert "URGENT P-45 | Infrastructure" in text
    assert "and 2 more" in text and "in hand (黄海)" in text and "15 day(s) left" in text
    event = EventView("escalate", "黄海", NOW, "needs the county", "team", "office")
    assert "sent it up to the campaign office: needs the county" in r.event(event)
    assert "sent up from the work team to the campaign office" in r.notice(v, event)
    photos = r.photos_message(45, ["a", "b"])
    assert photos.photos == ("a", "b") and photos.text.startswith("P-45")
