"""The pure rules behind people and words: who may bind which chat, shortening, dates."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from functools import partial
from zoneinfo import ZoneInfo

import pytest

from campaign.chats import BindVerdict, Side, judge_bind
from campaign.i18n import default_catalog
from campaign.roles import Role
from campaign.settings import Settings
from campaign.text import day_text, moment_text, shorten
from services import people
from services.people import Paused
from storage import people as store
from storage.db import Database
from tests.factories import Seed
from tests.fakebot import FakeClock
from tests.scheduler_factories import local, make_deps

LEADERS = (Role.TEAM_LEADER, Role.DEPUTY_TEAM_LEADER)


@pytest.mark.parametrize("role", list(Role))
def test_who_may_bind_a_free_chat(role: Role) -> None:
    team = judge_bind(role, 1, "team", None)
    office = judge_bind(role, None, "office", None)
    assert (team is BindVerdict.BIND) == (role in LEADERS)
    assert (office is BindVerdict.BIND) == (role is Role.OFFICE)
    assert judge_bind(None, None, "team", None) is BindVerdict.NOT_ALLOWED


def test_a_bound_chat_stays_with_its_side() -> None:
    for role in LEADERS:
        assert judge_bind(role, 1, "team", Side("team", 1)) is BindVerdict.ALREADY
        assert judge_bind(role, 1, "team", Side("team", 2)) is BindVerdict.TAKEN
        assert judge_bind(role, 1, "team", Side("office")) is BindVerdict.TAKEN
        assert judge_bind(role, None, "team", None) is BindVerdict.NO_TEAM
    assert judge_bind(Role.OFFICE, None, "office", Side("office")) is BindVerdict.ALREADY
    assert judge_bind(Role.OFFICE, None, "office", Side("team", 1)) is BindVerdict.TAKEN
    # Not being allowed is said before what the chat is bound to: nothing is revealed.
    assert judge_bind(Role.CADRE, 1, "team", Side("team", 2)) is BindVerdict.NOT_ALLOWED


def test_shorten() -> None:
    assert shorten("短", 5) == "短"
    assert shorten("a  b\n c", 10) == "a b c"
    assert shorten("x" * 10, 5) == "xxxx…" and len(shorten("x" * 4000, 64)) == 64
    assert shorten("ab   cd", 4) == "ab…"  # no space before the ellipsis
    assert shorten("line one\nline two", 100, one_line=False) == "line one\nline two"
    assert shorten("", 3) == ""


def test_dates_in_both_languages() -> None:
    cat = default_catalog()
    zh, en = partial(cat.t, "zh-CN"), partial(cat.t, "en")
    assert day_text(zh, date(2026, 11, 19)) == "11月19日"
    assert day_text(en, date(2026, 11, 19)) == "Nov 19"
    moment = datetime(2026, 11, 16, 1, 30, tzinfo=UTC)
    shanghai = ZoneInfo("Asia/Shanghai")
    assert moment_text(zh, moment, shanghai) == "11月16日 09:30"
    assert moment_text(en, moment, shanghai) == "Nov 16, 09:30"


# --- the service itself, without a chat: plain values in and out -----------------------------


async def test_two_leaders_binding_one_chat_at_once_cannot_both_win(
    settings: Settings, db: Database, seed: Seed, clock: FakeClock
) -> None:
    d = make_deps(settings, db, clock)
    one = await store.cadre_by_id(db, seed.cadres["captain1"])
    two = await store.cadre_by_id(db, seed.cadres["captain2"])
    assert one is not None and two is not None
    results = await asyncio.gather(
        people.bind_chat(d, -4001, "team", "group", one),
        people.bind_chat(d, -4001, "team", "group", two),
    )
    assert sorted(r.verdict.value for r in results) == ["bind", "taken"]
    taken = next(r for r in results if r.verdict is BindVerdict.TAKEN)
    assert taken.holder is not None and taken.holder.team_name == "城关镇工作队"
    bound = await people.bound_chat(d, -4001)
    assert bound is not None and bound.team_id == seed.teams["T1"]


async def test_mute_is_for_those_reminded(
    settings: Settings, db: Database, seed: Seed, clock: FakeClock
) -> None:
    d = make_deps(settings, db, clock)
    office = await store.cadre_by_id(db, seed.cadres["office1"])
    cadre = await store.cadre_by_id(db, seed.cadres["cadre1"])
    assert office is not None and cadre is not None
    assert (await people.mute(d, office, "3d")).result is Paused.NOT_FOR_ROLE
    assert await people.unmute(d, office) is Paused.NOT_FOR_ROLE
    done = await people.mute(d, cadre, "3d")
    assert done.result is Paused.DONE and done.until == local(2026, 11, 19)
    assert (await people.mute(d, cadre, "x" * 4000)).result is Paused.USAGE
    assert await people.unmute(d, cadre) is Paused.RESUMED
    assert await people.unmute(d, cadre) is Paused.NOT_MUTED
