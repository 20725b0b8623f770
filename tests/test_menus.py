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
from tests.conftest import AppFactory
from tests.factories import Seed


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
