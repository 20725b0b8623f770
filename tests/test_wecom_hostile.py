"""Bad input on the WeCom callback: a wrong signature, another corp or app, other keys,
a replayed or duplicated callback, hostile XML, an oversized body, a spent response code.
Each is answered at once, logged, and changes nothing; nothing raises."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from bot.wecom.channel import app_menu
from campaign.settings import Settings
from storage import wecom
from storage.db import Database
from tests.factories import Seed
from tests.fakebot import FakeClock
from tests.fakewecom import FakeWeCom, Forge
from tests.test_wecom_story import deps_of, join_all, raise_problem
from tests.wecom_world import World, close_world, open_world


@pytest.fixture
async def world(
    settings: Settings, db: Database, clock: FakeClock, seed: Seed
) -> AsyncIterator[World]:
    with FakeWeCom(clock=lambda: clock().timestamp()) as fake:
        w = await open_world(settings, db, clock, seed, fake)
        fake.menu = app_menu(deps_of(w).catalog, "zh-CN")
        try:
            yield w
        finally:
            await close_world(w)


async def _nothing_recorded(db: Database) -> None:
    assert await wecom.inbound_counts(db) == {}
    row = await db.fetchone("SELECT COUNT(*) AS n FROM telegram_bindings")
    assert row is not None and row["n"] == 0


@pytest.mark.parametrize(
    "forge",
    [
        Forge(bad_signature=True),
        Forge(corp_id="wwanothercorp000000"),
        Forge(agent_id=1000999),
        Forge(token="anotherCallbackToken"),
        Forge(aes_key="ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"),
        Forge(timestamp=1_700_000_000),  # signed rightly, but years ago: a late replay
    ],
    ids=["signature", "corp", "agent", "token", "aes_key", "stale"],
)
async def test_forged_callbacks_are_refused(
    world: World, db: Database, forge: Forge, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.wecom.callback")
    delivery = await world.fake.text("cadre1", "/start", forge=forge)
    assert delivery.statuses and all(s in (400, 403) for s in delivery.statuses)
    assert await world.handle() == 0
    await _nothing_recorded(db)
    assert world.fake.inbox("cadre1") == []
    # One line per refused request, naming no secret.
    refused = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == delivery.attempts
    assert all("Token" not in r.getMessage() for r in refused)


async def test_the_url_check(world: World) -> None:
    status, answer, echo = await world.fake.verify_url()
    assert (status, answer) == (200, echo)
    status, answer, _ = await world.fake.verify_url(Forge(bad_signature=True))
    assert status == 403


async def test_replayed_and_retried_callbacks_act_once(world: World, db: Database) -> None:
    await world.menu("cadre1", "/problem")
    await world.tap("cadre1", "东风村")
    await world.tap("cadre1", "基础设施")
    delivery = await world.fake.text("cadre1", "村口道路塌陷。")
    again = await world.fake.replay(delivery)  # byte for byte, before it was handled
    assert again.ok
    assert await world.handle() == 1
    later = await world.fake.replay(delivery)  # and after
    assert later.ok and await world.handle() == 0
    counts = await wecom.inbound_counts(db)
    assert counts == {"done": 4}
    asked = [t for t in world.texts("cadre1") if "现场照片" in t]
    assert len(asked) == 1  # the photo step was asked once


async def test_a_press_replayed_changes_nothing_more(world: World, db: Database) -> None:
    await join_all(world, "captain1", "cadre1")
    await raise_problem(world)
    await world.deliver()
    before = await db.fetchall("SELECT action FROM problem_events ORDER BY id")
    await world.press_card("captain1", 1, "认领")
    delivery = world.fake.deliveries[-1]
    await world.fake.replay(delivery)
    await world.handle()
    events = await db.fetchall("SELECT action FROM problem_events ORDER BY id")
    assert [r["action"] for r in events] == [r["action"] for r in before] + ["claim"]


async def test_hostile_xml_and_odd_bodies(world: World, db: Database) -> None:
    entity = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
        b"<xml><ToUserName>ww0fieldbot0000test</ToUserName><FromUserName>cadre1</FromUserName>"
        b"<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&a;</Content>"
        b"<MsgId>1</MsgId><AgentID>1000002</AgentID></xml>"
    )
    delivery = await world.fake.post(entity)
    assert set(delivery.statuses) == {400}
    for body in (b"", b"not xml", b"<xml><Encrypt>AAAA</Encrypt></xml>", b"\x00" * 100):
        status, _ = await world.fake.post_raw(
            {"msg_signature": "x", "timestamp": "1", "nonce": "2"}, body
        )
        assert status == 403
    status, _ = await world.fake.post_raw({}, b"x" * 300_000)
    assert status == 413
    await _nothing_recorded(db)


async def test_a_press_on_an_unknown_card_is_ignored(world: World, db: Database) -> None:
    await world.text("cadre1", "/start")
    plain = world.fake._message_xml(
        "cadre1",
        "event",
        [
            ("Event", "template_card_event"),
            ("EventKey", "prb:v1:claim:1:team"),
            ("TaskId", "fb-not-ours"),
            ("CardType", "button_interaction"),
            ("ResponseCode", "rc-forged"),
        ],
        Forge(),
    )
    before = len(world.fake.inbox("cadre1"))
    assert (await world.fake.post(plain)).ok
    assert await world.handle() == 1
    assert len(world.fake.inbox("cadre1")) == before
    assert await db.fetchone("SELECT 1 FROM problem_events") is None


async def test_a_spent_response_code_shows_the_new_state_as_a_new_card(
    world: World, db: Database
) -> None:
    await world.menu("cadre1", "/problem")
    await world.tap("cadre1", "东风村")
    await world.tap("cadre1", "基础设施")
    await world.text("cadre1", "村口道路塌陷。")  # the photo step: a card (skip, cancel)
    cards = len(world.fake.cards("cadre1"))
    # WeCom refuses the press's code (already used, or past 72 h): the step after the
    # press still reaches the member, as a new card.
    world.fake.fail_next("message/update_template_card", 42022, "response_code already used")
    await world.tap("cadre1", "跳过")
    updates = world.fake.api_calls("message/update_template_card")
    assert updates[-1].errcode == 42022
    assert len(world.fake.cards("cadre1")) == cards + 1
    assert any(k.startswith("prn:v1:urg") for k in world.fake.cards("cadre1")[-1].keys)
    await world.tap("cadre1", "一般")  # the new card's buttons work
    draft = await db.fetchone("SELECT step FROM drafts WHERE kind = 'problem'")
    assert draft is not None and draft["step"] == "solvable"
    # Without a refusal the next step updates the same card in place.
    await world.tap("cadre1", "能，本组解决")
    assert world.fake.api_calls("message/update_template_card")[-1].errcode == 0


@pytest.mark.parametrize("errcode", [45009, -1])
async def test_a_busy_or_rate_limited_wecom_means_later(
    world: World, db: Database, clock: FakeClock, errcode: int
) -> None:
    from campaign.message import Message
    from storage import outbox as queue

    await world.text("cadre1", "/start")
    member = await world.internal_id("cadre1")
    async with db.write() as conn:
        await queue.enqueue(conn, key="n:1", chat_id=member, now=clock(), message=Message("通知"))
    world.fake.fail_next("message/send", errcode)
    await world.deliver()
    assert "通知" in world.texts("cadre1")
    row = await db.fetchone("SELECT status, attempts FROM outbox WHERE key = 'n:1'")
    assert row is not None and row["status"] == "sent"


async def test_old_records_are_pruned_and_a_late_replay_still_refused(
    world: World, db: Database, clock: FakeClock
) -> None:
    from datetime import timedelta

    await world.text("cadre1", "/start")
    delivery = world.fake.deliveries[-1]
    clock.advance(days=100)
    pruned = await world.channel.worker.prune()
    assert pruned.inbound == 1 and pruned.messages >= 1
    assert await wecom.inbound_counts(db) == {}
    again = await world.fake.replay(delivery)  # its signed time is 100 days old
    assert set(again.statuses) == {403}
    assert await wecom.inbound_counts(db) == {}
    # Within the window nothing is pruned.
    await world.text("cadre1", "/help")
    clock.advance(days=1)
    assert (await world.channel.worker.prune()).inbound == 0
    assert timedelta(days=14) == world.channel.receiver.window
