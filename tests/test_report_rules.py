"""The pure rules behind the reports: periods people type, quotas for a period, who sees
what, and long text cut for Telegram."""

from __future__ import annotations

from datetime import date

import pytest

from campaign.periods import (
    PeriodError,
    describe,
    from_token,
    month_of,
    parse_period,
    quarter_of,
    to_token,
    week_of,
    year_of,
)
from campaign.reporting import (
    ChatKind,
    Scope,
    ScopeKind,
    chat_scope,
    elapsed_share,
    may_report,
    quota_share,
    scope_for,
    split_text,
)
from campaign.roles import ROLE_COMMANDS, Role
from campaign.settings import QuotaSettings

TODAY = date(2026, 11, 16)  # a Monday


@pytest.mark.parametrize(
    ("text", "start", "end", "label"),
    [
        ("本周", date(2026, 11, 16), date(2026, 11, 23), "2026-W47"),
        ("上周", date(2026, 11, 9), date(2026, 11, 16), "2026-W46"),
        ("本月", date(2026, 11, 1), date(2026, 12, 1), "2026-11"),
        ("上月", date(2026, 10, 1), date(2026, 11, 1), "2026-10"),
        ("本季度", date(2026, 10, 1), date(2027, 1, 1), "2026-Q4"),
        ("上季度", date(2026, 7, 1), date(2026, 10, 1), "2026-Q3"),
        ("今年", date(2026, 1, 1), date(2027, 1, 1), "2026"),
        ("去年", date(2025, 1, 1), date(2026, 1, 1), "2025"),
        ("this week", date(2026, 11, 16), date(2026, 11, 23), "2026-W47"),
        ("Last Month", date(2026, 10, 1), date(2026, 11, 1), "2026-10"),
        ("this quarter", date(2026, 10, 1), date(2027, 1, 1), "2026-Q4"),
        ("2026-11", date(2026, 11, 1), date(2026, 12, 1), "2026-11"),
        ("2026年11月", date(2026, 11, 1), date(2026, 12, 1), "2026-11"),
        ("2026-2", date(2026, 2, 1), date(2026, 3, 1), "2026-02"),
        ("11月", date(2026, 11, 1), date(2026, 12, 1), "2026-11"),
        ("2026-Q4", date(2026, 10, 1), date(2027, 1, 1), "2026-Q4"),
        ("2026q1", date(2026, 1, 1), date(2026, 4, 1), "2026-Q1"),
        ("2026年第四季度", date(2026, 10, 1), date(2027, 1, 1), "2026-Q4"),
        ("2026年Q4", date(2026, 10, 1), date(2027, 1, 1), "2026-Q4"),
        ("2026年第二季度", date(2026, 4, 1), date(2026, 7, 1), "2026-Q2"),
        ("2026", date(2026, 1, 1), date(2027, 1, 1), "2026"),
        ("2026年", date(2026, 1, 1), date(2027, 1, 1), "2026"),
        ("2026-W47", date(2026, 11, 16), date(2026, 11, 23), "2026-W47"),
        ("2026-11-05", date(2026, 11, 5), date(2026, 11, 6), "2026-11-05"),
        (
            "2026-11-01..2026-11-15",
            date(2026, 11, 1),
            date(2026, 11, 16),
            "2026-11-01..2026-11-15",
        ),
        (
            "2026-11-01~2026-11-15",
            date(2026, 11, 1),
            date(2026, 11, 16),
            "2026-11-01..2026-11-15",
        ),
        (
            "２０２６－１１－０１～２０２６－１１－１５",  # full-width, as a Chinese IME types it
            date(2026, 11, 1),
            date(2026, 11, 16),
            "2026-11-01..2026-11-15",
        ),
        ("2026-11-01 至 2026-11-30", date(2026, 11, 1), date(2026, 12, 1), "2026-11"),
        (
            "2026年11月1日到2026年11月15日",
            date(2026, 11, 1),
            date(2026, 11, 16),
            "2026-11-01..2026-11-15",
        ),
        (
            "2026-12-20..2027-01-10",
            date(2026, 12, 20),
            date(2027, 1, 11),
            "2026-12-20..2027-01-10",
        ),
    ],
)
def test_periods_people_type(text: str, start: date, end: date, label: str) -> None:
    p = parse_period(text, TODAY)
    assert (p.start, p.end, p.label) == (start, end, label)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "abc",
        "2026-13",
        "2026-02-30",
        "2026-11-15..2026-11-01",  # backwards
        "1999",
        "2101",
        "2026-Q5",
        "2026-W60",
        "13月",
        "本周 本月",
        "2020-01-01..2026-01-01",  # too long
        "x" * 500,
        "2026-11-01..",
        "..2026-11-01",
        "DROP TABLE visits",
        "\x00\x1b",
        "🙂",
    ],
)
def test_bad_periods_are_refused(text: str) -> None:
    with pytest.raises(PeriodError):
        parse_period(text, TODAY)


def test_the_original_helpers_still_work() -> None:
    assert month_of(date(2026, 12, 31)).end == date(2027, 1, 1)
    assert quarter_of(date(2026, 2, 10)).label == "2026-Q1"
    assert week_of(date(2026, 11, 22)).start == date(2026, 11, 16)
    assert year_of(date(2026, 5, 1)).days == 365


def test_tokens_for_buttons_round_trip() -> None:
    for text in ("2026-11", "2026-Q4", "2026", "2026-W47", "2026-11-01..2026-11-15", "昨天"):
        p = parse_period(text, TODAY)
        token = to_token(p)
        assert len(token) <= 17
        assert from_token(token) == p
    for bad in ("", "2026", "20261301-20261401", "20261201-20261101", "20200101-20260101"):
        with pytest.raises(PeriodError):
            from_token(bad)
    assert describe(date(2026, 10, 1), date(2027, 1, 1)).label == "2026-Q4"


def test_quota_share_for_each_kind_of_period() -> None:
    q = QuotaSettings(monthly_visits=8, monthly_days=10, quarterly_visits=24, quarterly_days=30)
    share = lambda text: quota_share(parse_period(text, TODAY), q)  # noqa: E731
    assert (share("2026-11").visits, share("2026-11").days) == (8, 10)
    assert (share("2026-Q4").visits, share("2026-Q4").days) == (24, 30)
    assert (share("2026").visits, share("2026").days) == (96, 120)
    # A week: 7/30 of November's monthly quota.
    assert share("2026-W47").visits == pytest.approx(8 * 7 / 30)
    # Half of November.
    assert share("2026-11-01..2026-11-15").days == pytest.approx(5)
    # The last 16 days of September, then the whole fourth quarter.
    assert share("2026-09-15..2026-12-31").visits == pytest.approx(8 * 16 / 30 + 24)
    # A quarter counts at the quarterly quota, not three monthly ones.
    q2 = QuotaSettings(monthly_visits=8, monthly_days=10, quarterly_visits=20, quarterly_days=25)
    assert quota_share(parse_period("2026-Q4", TODAY), q2).visits == 20
    assert quota_share(parse_period("2026-10-01..2026-11-30", TODAY), q2).visits == 16


def test_elapsed_share() -> None:
    nov = parse_period("2026-11", TODAY)
    assert elapsed_share(nov, TODAY) == pytest.approx(16 / 30)
    assert elapsed_share(nov, date(2026, 12, 5)) is None
    assert elapsed_share(nov, date(2026, 10, 5)) == 0.0


def test_scope_by_role_and_chat() -> None:
    assert scope_for(Role.OFFICE, None, None) == Scope.everything()
    assert scope_for(Role.INSPECTOR, None, None) == Scope.everything()
    assert scope_for(Role.TEAM_LEADER, 3, None) == Scope.team(3)
    assert scope_for(Role.DEPUTY_TEAM_LEADER, 3, None) == Scope.team(3)
    assert scope_for(Role.GROUP_LEADER, 3, 7) == Scope.group(7, 3)
    assert scope_for(Role.CADRE, 3, 7) is None
    # Office chat: office and inspectors only.
    assert chat_scope(Role.OFFICE, None, None, ChatKind.OFFICE) == Scope.everything()
    assert chat_scope(Role.TEAM_LEADER, 3, None, ChatKind.OFFICE) is None
    # Team chat: that team's numbers only, whoever asks.
    assert chat_scope(Role.OFFICE, None, None, ChatKind.TEAM, 3) == Scope.team(3)
    assert chat_scope(Role.TEAM_LEADER, 3, None, ChatKind.TEAM, 3) == Scope.team(3)
    assert chat_scope(Role.TEAM_LEADER, 4, None, ChatKind.TEAM, 3) is None
    assert chat_scope(Role.GROUP_LEADER, 3, 7, ChatKind.TEAM, 3) is None
    assert chat_scope(Role.OFFICE, None, None, ChatKind.OTHER) is None
    assert chat_scope(None, None, None, ChatKind.PRIVATE) is None
    # Narrowing: the office may pick a team; a team leader only their own.
    assert Scope.everything().narrow(5) == Scope.team(5)
    assert Scope.team(3).narrow(3) == Scope.team(3)
    assert Scope.team(3).narrow(4) is None
    assert Scope.group(7, 3).narrow(3) is None
    assert Scope.group(7, 3).covers(3, 7) and not Scope.group(7, 3).covers(3, 8)
    assert Scope.team(3).kind is ScopeKind.TEAM


def test_report_permissions_match_the_command_menus() -> None:
    for role in Role:
        for report in ("summary", "coverage", "overdue", "log", "cases", "export", "chart"):
            assert may_report(role, report) == (report in ROLE_COMMANDS[role]), (role, report)
    assert not may_report(Role.GROUP_LEADER, "export")
    assert not may_report(Role.CADRE, "summary")
    assert not may_report(None, "summary")


def test_split_text_keeps_messages_under_the_limit() -> None:
    lines = [f"· 第{i}行：走访东风村，宣讲惠农政策" for i in range(600)]
    text = "\n".join(lines)
    parts = split_text(text)
    assert all(0 < len(p) <= 4096 for p in parts)
    assert len(parts) > 1
    # Nothing lost, cuts only between lines.
    assert "\n".join(parts) == text
    # Paragraph breaks are preferred when one lies in the second half.
    para = ("a" * 3000) + "\n\n" + ("b" * 2000)
    assert split_text(para) == ["a" * 3000, "b" * 2000]
    # One overlong line is cut hard; whitespace-only pieces are dropped.
    assert [len(p) for p in split_text("x" * 9000)] == [4096, 4096, 808]
    assert split_text("\n\n  \n") == []
    assert split_text("短") == ["短"]
    assert all(len(p) <= 10 for p in split_text("一二三\n四五六七八九十一二\n三", 10))


@pytest.mark.parametrize(
    ("text", "start", "end", "shown"),
    [
        ("第四季度", date(2026, 10, 1), date(2027, 1, 1), "2026年第4季度"),
        ("四季度", date(2026, 10, 1), date(2027, 1, 1), "2026年第4季度"),
        ("Q4", date(2026, 10, 1), date(2027, 1, 1), "2026年第4季度"),
        ("上半年", date(2026, 1, 1), date(2026, 7, 1), "2026年上半年"),
        ("2026年下半年", date(2026, 7, 1), date(2027, 1, 1), "2026年下半年"),
        ("2026-H1", date(2026, 1, 1), date(2026, 7, 1), "2026年上半年"),
        ("11月1日至11月15日", date(2026, 11, 1), date(2026, 11, 16), "11月1日至11月15日"),
        ("11月1日至15日", date(2026, 11, 1), date(2026, 11, 16), "11月1日至11月15日"),
        ("11月5日", date(2026, 11, 5), date(2026, 11, 6), "2026年11月5日"),
        (
            "2026-12-20..2027-01-10",
            date(2026, 12, 20),
            date(2027, 1, 11),
            "2026年12月20日至2027年1月10日",
        ),
    ],
)
def test_periods_without_a_year_and_halves(text: str, start: date, end: date, shown: str) -> None:
    """A year-less quarter or range means this year; halves are periods; a range reads
    ``11月1日至11月15日``."""
    from campaign.i18n import default_catalog
    from reports.text import period_text

    p = parse_period(text, TODAY)
    assert (p.start, p.end) == (start, end)
    cat = default_catalog()
    assert period_text(lambda key, **kw: cat.t("zh-CN", key, **kw), p) == shown


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("今天", date(2026, 11, 16)),
        ("昨天", date(2026, 11, 15)),
        ("前天", date(2026, 11, 14)),
        ("yesterday", date(2026, 11, 15)),
        ("11月5日", date(2026, 11, 5)),
        ("2026-11-05", date(2026, 11, 5)),
    ],
)
def test_a_typed_day_accepts_today_and_yesterday(text: str, day: date) -> None:
    from campaign.periods import parse_day

    assert parse_day(text, TODAY) == day


@pytest.mark.parametrize("text", ["本月", "11月", "明年", "13月1日"])
def test_a_typed_day_refuses_what_is_not_one_day(text: str) -> None:
    from campaign.periods import PeriodError, parse_day

    with pytest.raises(PeriodError):
        parse_day(text, TODAY)
