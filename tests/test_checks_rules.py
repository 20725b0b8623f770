"""The pure rules of checking the work and of 督办 (campaign/checks.py, campaign/urge.py),
with plain values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from campaign.checks import (
    CorrectionState,
    Why,
    checks_logs,
    is_overdue,
    may_answer,
    may_check,
    may_inspect,
    may_review,
    sees_corrections_of,
)
from campaign.ladder import Actor
from campaign.roles import Role
from campaign.urge import UrgeWhy, may_urge, too_soon

CADRE = Actor(1, Role.CADRE, team_id=10, group_id=100)
OTHER_GROUP = Actor(2, Role.CADRE, team_id=10, group_id=101)
OTHER_TEAM = Actor(3, Role.CADRE, team_id=20, group_id=200)
LEADER = Actor(11, Role.GROUP_LEADER, team_id=10, group_id=100)
CAPTAIN = Actor(21, Role.TEAM_LEADER, team_id=10, group_id=None)
DEPUTY = Actor(22, Role.DEPUTY_TEAM_LEADER, team_id=10, group_id=None)
OFFICE = Actor(31, Role.OFFICE, team_id=None, group_id=None)
INSPECTOR = Actor(41, Role.INSPECTOR, team_id=None, group_id=None)


def test_who_checks_whom() -> None:
    assert may_check(LEADER, CADRE) is None
    assert may_check(LEADER, OTHER_GROUP) is Why.NOT_ALLOWED
    assert may_check(CAPTAIN, OTHER_GROUP) is None and may_check(DEPUTY, CADRE) is None
    assert may_check(CAPTAIN, OTHER_TEAM) is Why.NOT_ALLOWED
    assert may_check(OFFICE, OTHER_TEAM) is None and may_check(INSPECTOR, LEADER) is None
    assert may_check(CADRE, OTHER_GROUP) is Why.NOT_ALLOWED
    for actor in (CADRE, LEADER, CAPTAIN):
        assert may_check(actor, actor) is Why.OWN_LOG
    assert may_check(INSPECTOR, OFFICE) is Why.NOT_FIELD
    gone = Actor(41, Role.INSPECTOR, None, None, active=False)
    assert may_check(gone, CADRE) is Why.NOT_ALLOWED
    assert not checks_logs(CADRE) and all(checks_logs(a) for a in (LEADER, DEPUTY, INSPECTOR))
    assert may_inspect(INSPECTOR) and may_inspect(OFFICE) and not may_inspect(CAPTAIN)


def test_correction_steps() -> None:
    open_ = CorrectionState(cadre_id=1, checker_id=41, status="open")
    answered = CorrectionState(1, 41, "answered")
    closed = CorrectionState(1, 41, "closed")
    assert may_answer(CADRE, open_) is None
    assert may_answer(OTHER_GROUP, open_) is Why.NOT_ALLOWED
    assert may_answer(CADRE, answered) is Why.ANSWERED
    assert may_answer(CADRE, closed) is Why.CLOSED
    assert may_review(INSPECTOR, answered) is None and may_review(OFFICE, answered) is None
    assert may_review(LEADER, answered) is Why.NOT_ALLOWED
    assert may_review(INSPECTOR, open_) is Why.NOT_ANSWERED
    assert may_review(INSPECTOR, closed) is Why.CLOSED
    assert sees_corrections_of(CAPTAIN, 10, 101) and not sees_corrections_of(LEADER, 10, 101)
    assert not sees_corrections_of(CADRE, 10, 100)
    now = datetime(2026, 11, 16, 1, tzinfo=UTC)
    assert is_overdue("open", now, now) and is_overdue("answered", now - timedelta(1), now)
    assert not is_overdue("closed", now - timedelta(1), now)
    assert not is_overdue("open", now + timedelta(seconds=1), now)


def test_who_urges_what() -> None:
    assert may_urge(OFFICE, "group", 10, "open") is None
    assert may_urge(OFFICE, "team", 10, "claimed") is None
    assert may_urge(OFFICE, "office", 10, "open") is UrgeWhy.NOT_ALLOWED
    assert may_urge(CAPTAIN, "group", 10, "open") is None
    assert may_urge(CAPTAIN, "group", 20, "open") is UrgeWhy.NOT_ALLOWED
    assert may_urge(CAPTAIN, "team", 10, "open") is UrgeWhy.NOT_ALLOWED
    assert may_urge(LEADER, "group", 10, "open") is UrgeWhy.NOT_ALLOWED
    assert may_urge(INSPECTOR, "group", 10, "open") is UrgeWhy.NOT_ALLOWED
    assert may_urge(OFFICE, "group", 10, "solved") is UrgeWhy.CLOSED
    now = datetime(2026, 11, 16, 1, tzinfo=UTC)
    assert too_soon(now - timedelta(minutes=59), now)
    assert not too_soon(now - timedelta(minutes=60), now) and not too_soon(None, now)
    assert not too_soon(now - timedelta(minutes=20), now, timedelta(minutes=15))
