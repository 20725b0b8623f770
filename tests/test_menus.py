"""Command menus by scope: guests, any group chat, a bound team or office chat; and the
bot's description in each language."""

from __future__ import annotations

import json
from typing import Any

from campaign.i18n import default_catalog
from campaign.roles import (
    GROUP_CHAT_COMMANDS,
    GUEST_COMMANDS,
    OFFICE_CHAT_COMMANDS,
    ROLE_COMMANDS,
    TEAM_CHAT_COMMANDS,
    MenuScope,
    Role,
    chat_scope,
    commands_for,
)
from storage import people
from storage.db import Database
from tests.conftest import AppFactory, join
from tests.factories import Seed
from tests.fakebot import ApiRefusal, Call, FakeBotAPI, Harness, shown


def test_scopes_are_a_plain_rule() -> None:
    assert commands_for(MenuScope.PRIVATE) == GUEST_COMMANDS
    assert commands_for(MenuScope.PRIVATE, Role.CADRE) == ROLE_COMMANDS[Role.CADRE]
    assert (
        commands_for(chat_scope(None)) == GROUP_CHAT_COMMANDS == ("bindteam", "bindoffice", "help")
    )
    assert commands_for(chat_scope("team")) == TEAM_CHAT_COMMANDS
    assert commands_for(chat_scope("office")) == OFFICE_CHAT_COMMANDS


def _commands(params: dict[str, Any]) -> list[str]:
    raw = params.get("commands") or []
    return [c["command"] for c in (json.loads(raw) if isinstance(raw, str) else raw)]


def _scope(params: dict[str, Any]) -> dict[str, Any]:
    raw = params.get("scope") or {"type": "default"}
    return json.loads(raw) if isinstance(raw, str) else raw


async def test_start_sets_every_menu_and_the_description(
    make_bot: AppFactory, seed: Seed, db: Database
) -> None:
    bot = await make_bot()
    now = bot.clock()
    by = await people.cadre_by_id(db, seed.cadres["captain1"])
    assert by is not None
    async with db.write() as conn:
        await people.bind_chat(conn, -100501, "team", seed.teams["T1"], "城关镇队群", by, now)
        await people.bind_chat(conn, -100900, "office", None, "活动办", by, now)
    assert bot.app.post_init is not None
    await bot.app.post_init(bot.app)
    calls = [c for c in bot.api.calls if c.method == "setMyCommands"]
    menus = {
        (
            _scope(c.params)["type"],
            _scope(c.params).get("chat_id"),
            c.params.get("language_code"),
        ): _commands(c.params)
        for c in calls
    }
    assert menus[("default", None, None)] == list(GUEST_COMMANDS)
    assert menus[("default", None, "en")] == list(GUEST_COMMANDS)
    assert menus[("all_group_chats", None, None)] == list(GROUP_CHAT_COMMANDS)
    assert menus[("chat", -100501, None)] == list(TEAM_CHAT_COMMANDS)
    assert menus[("chat", -100900, None)] == list(OFFICE_CHAT_COMMANDS)
    cat = default_catalog()
    described = {
        c.params.get("language_code"): c.params.get("description")
        for c in bot.api.calls
        if c.method == "setMyDescription"
    }
    assert described == {
        None: cat.t("zh-CN", "about.description"),
        "en": cat.t("en", "about.description"),
    }
    assert all(len(d or "") <= 512 for d in described.values())
    assert all(len(cat.t(lang, "about.short")) <= 120 for lang in ("zh-CN", "en"))


def _chat_menus(calls: list[Call]) -> dict[tuple[int, str | None], list[str]]:
    """The menus set for single chats among ``calls``: (chat, language code) → commands."""
    return {
        (_scope(c.params)["chat_id"], c.params.get("language_code")): _commands(c.params)
        for c in calls
        if c.method == "setMyCommands" and _scope(c.params)["type"] == "chat"
    }


async def test_binding_a_chat_sets_its_menu_at_once(bot: Harness, seed: Seed) -> None:
    """Not only at the next start: the chat shows its own commands right after the bind,
    in every language; the chat a team moved away from loses its team menu."""
    leader = await join(bot, seed, "captain1", 570)
    calls = await bot.send(leader, "/bindteam", chat_id=-1501)
    assert _chat_menus(calls) == {
        (-1501, None): list(TEAM_CHAT_COMMANDS),
        (-1501, "en"): list(TEAM_CHAT_COMMANDS),
    }
    office = await join(bot, seed, "office1", 571)
    calls = await bot.send(office, "/bindoffice", chat_id=-1502)
    assert _chat_menus(calls)[(-1502, None)] == list(OFFICE_CHAT_COMMANDS)
    calls = await bot.send(leader, "/bindteam", chat_id=-1503)  # the team moves its chat
    assert _chat_menus(calls)[(-1503, None)] == list(TEAM_CHAT_COMMANDS)
    cleared = [_scope(c.params) for c in calls if c.method == "deleteMyCommands"]
    assert cleared and all(s == {"type": "chat", "chat_id": -1501} for s in cleared)
    # A refused bind (another team's chat) changes no menu.
    other = await join(bot, seed, "captain2", 572)
    calls = await bot.send(other, "/bindteam", chat_id=-1503)
    assert not [c for c in calls if c.method in ("setMyCommands", "deleteMyCommands")]


async def test_a_menu_telegram_refuses_does_not_break_the_bind(
    bot: Harness, seed: Seed, db: Database, api: FakeBotAPI
) -> None:
    def refuse_menus(call: Call) -> None:
        if call.method == "setMyCommands" and _scope(call.params)["type"] == "chat":
            raise ApiRefusal(400, "Bad Request: BOT_COMMAND_INVALID")

    leader = await join(bot, seed, "captain1", 573)
    api.fail = refuse_menus
    calls = await bot.send(leader, "/bindteam", chat_id=-1504)
    said = default_catalog().t("zh-CN", "bindchat.team_bound", team="城关镇工作队")
    assert [c.text for c in shown(calls)] == [said]
    chat = await people.team_chat(db, seed.teams["T1"])
    assert chat is not None and chat.chat_id == -1504
