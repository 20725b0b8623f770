"""The WeCom channel end to end, with only [wecom] configured: members post to the bot's
callback URL through the fake WeCom; the same core answers them with texts and cards."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.wecom.channel import app_menu
from bot.wecom.cli import make_appchat
from campaign.settings import Settings, channels
from services.runtime import DEPS_KEY, Deps
from storage.db import Database
from tests.factories import Seed
from tests.fakebot import FakeClock
from tests.fakewecom import FakeWeCom
from tests.wecom_world import World, close_world, open_world


def deps_of(world: World) -> Deps:
    d = world.app.bot_data[DEPS_KEY]
    assert isinstance(d, Deps)
    return d


@pytest.fixture
async def world(
    settings: Settings, db: Database, clock: FakeClock, seed: Seed
) -> AsyncIterator[World]:
    with FakeWeCom(clock=lambda: clock().timestamp()) as fake:
        w = await open_world(settings, db, clock, seed, fake)
        try:
            yield w
        finally:
            await close_world(w)


async def _problem(db: Database) -> dict[str, object]:
    row = await db.fetchone("SELECT * FROM problems WHERE id = 1")
    assert row is not None
    return dict(row)


async def test_only_wecom_configured(world: World) -> None:
    assert channels(world.settings) == ("wecom",)
    assert not world.settings.telegram.token


async def test_first_message_joins_the_member(world: World, db: Database, seed: Seed) -> None:
    await world.text("cadre1", "/start")
    text = world.seen("cadre1")
    assert "张伟" in text, text
    row = await db.fetchone(
        "SELECT telegram_user_id FROM telegram_bindings WHERE cadre_id = ?",
        (seed.cadres["cadre1"],),
    )
    assert row is not None and row["telegram_user_id"] == await world.internal_id("cadre1")


async def raise_problem(
    world: World,
    userid: str = "cadre1",
    *,
    place: str = "东风村",
    text: str = "村口道路塌陷，雨天无法通行，群众出行困难。",
    photos: int = 0,
    solvable: bool = False,
) -> None:
    """Drive /problem to the end from the app menu, as a member on WeCom."""
    if world.fake.menu is None:
        world.fake.menu = app_menu(deps_of(world).catalog, "zh-CN")
    await world.menu(userid, "/problem")
    await world.tap(userid, place)
    await world.tap(userid, "基础设施")
    await world.text(userid, text)
    for i in range(photos):
        await world.photo(userid, f"photo {i}".encode())
    await world.tap(userid, "完成" if photos else "跳过")
    await world.tap(userid, "一般")
    await world.tap(userid, "能，本组解决" if solvable else "不能，报工作队")
    await world.tap(userid, "提交")


async def join_all(world: World, *userids: str) -> None:
    for userid in userids:
        await world.text(userid, "/start")


async def test_story_problem_from_a_village_solved_by_the_team_leader(
    world: World, db: Database, seed: Seed
) -> None:
    """Done when: a cadre reports a problem from a village -> the team leader solves it
    from a card -> the reporter and the office see it; on WeCom alone."""
    await join_all(world, "captain1", "deputy1", "office1", "leader1", "cadre1", "cadre2")
    made = await make_appchat(deps_of(world), world.channel.api, "T1")
    assert made is not None
    name, team_chat, members, kind = made
    assert (name, kind) == ("城关镇工作队", "team") and members == 5
    await raise_problem(world, photos=1)
    p = await _problem(db)
    assert (p["level"], p["status"], p["reporter_id"]) == ("team", "open", seed.cadres["cadre1"])
    photo = await db.fetchone("SELECT file_id FROM problem_photos")
    assert photo is not None  # the member's media id, kept at once in the media cache
    assert world.channel.bridge.cache_path(str(photo["file_id"])).read_bytes() == b"photo 0"
    assert "P-1" in world.last_text("cadre1") and "工作队" in world.last_text("cadre1")
    await world.deliver()
    # The team's app chat gets the notice (no buttons: an app chat takes no card) ...
    notices = [r for r in world.fake.appchat_messages(team_chat) if r.msgtype == "text"]
    assert any("P-1" in r.text and "待认领" in r.text for r in notices)
    assert any(r.msgtype == "image" for r in world.fake.appchat_messages(team_chat))
    # ... and each owner (the team's leaders) a card with the buttons, individually.
    for owner in ("captain1", "deputy1"):
        [card] = [c for c in world.fake.cards(owner) if "P-1" in c.title]
        assert any(k.startswith("prb:v1:solve:1") for k in card.keys), card.keys
    assert not [c for c in world.fake.cards("cadre2") if "P-1" in c.title]
    # The captain solves it from his card: the reason is asked in his own chat.
    await world.press_card("captain1", 1, "已解决")
    assert any("P-1" in t and "做了什么" in t for t in world.texts("captain1"))
    await world.text("captain1", "已协调交通局修复路面。")
    p = await _problem(db)
    assert (p["status"], p["resolution"]) == ("solved", "已协调交通局修复路面。")
    assert p["owner_id"] == seed.cadres["captain1"]
    await world.deliver()
    # The reporter is told, the team chat sees the new state, the owners' cards follow.
    assert any("P-1" in t and "已解决" in t and "交通局" in t for t in world.texts("cadre1"))
    assert "已解决" in world.fake.appchat_messages(team_chat)[-1].text
    deputy_card = [c for c in world.fake.cards("deputy1") if "P-1" in c.title][-1]
    assert deputy_card.versions or "已解决" in str(deputy_card.content)
    # The office sees it in the county's summary.
    await world.text("office1", "/summary")
    summary = world.last_text("office1")
    assert "工作汇总" in summary and "新提出 1 件，解决 1 件" in summary
    assert world.fake.drops == []


async def test_unknown_member_gets_a_clear_answer(world: World, db: Database) -> None:
    world.fake.add_member("stranger", "13900000099", "陌生人")
    await world.text("stranger", "/start")
    assert "没有对应到花名册" in world.last_text("stranger")
    assert await db.fetchone("SELECT 1 FROM wecom_accounts WHERE external_id = 'stranger'") is None
    n = await db.fetchone("SELECT COUNT(*) AS n FROM telegram_bindings")
    assert n is not None and n["n"] == 0


async def test_first_message_before_sync_maps_then_joins(world: World, db: Database) -> None:
    # No sync was run: the first message looks the roster's phones up and joins.
    await world.text("leader1", "你好")
    assert "刘洋" in world.seen("leader1")
    rows = await db.fetchall("SELECT external_id FROM wecom_accounts ORDER BY id")
    assert "leader1" in [r["external_id"] for r in rows]
    lookups = world.fake.api_calls("user/getuserid")
    before = len(lookups)
    await world.text("leader1", "/help")  # known now: no lookup again
    assert len(world.fake.api_calls("user/getuserid")) == before
