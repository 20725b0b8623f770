"""Catalogues are complete in both languages; every menu entry reaches a handler."""

from __future__ import annotations

import re

from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler

from bot.app import build_application, handler_table
from campaign import callbacks
from campaign.i18n import Catalog, placeholders
from campaign.roles import GUEST_COMMANDS, ROLE_COMMANDS, ROLE_MENU, Role
from campaign.settings import Settings
from handlers import fallback
from tests.fakebot import TOKEN


def test_english_catalogue_matches_chinese() -> None:
    cat = Catalog.load()
    zh, en = cat.messages["zh-CN"], cat.messages["en"]
    assert set(zh) == set(en), f"only zh: {set(zh) - set(en)}; only en: {set(en) - set(zh)}"
    for key in zh:
        assert placeholders(zh[key]) == placeholders(en[key]), key
        assert zh[key].strip() and en[key].strip(), key


def test_every_role_and_command_has_text() -> None:
    cat = Catalog.load()
    for role in Role:
        assert cat.has(f"roles.{role.value}")
        for name in ROLE_COMMANDS[role]:
            assert cat.has(f"commands.{name}"), name
            assert re.fullmatch(r"[a-z0-9_]{1,32}", name)
        for key in ROLE_MENU[role]:
            assert cat.has(f"menu.{key}"), key


def _all_handlers() -> list[object]:
    out: list[object] = []
    for _, group in handler_table():
        for h in group:
            out.append(h)
            if isinstance(h, ConversationHandler):
                out.extend(h.entry_points)
                out.extend(h.fallbacks)
    return out


def test_every_menu_command_is_handled() -> None:
    commands: set[str] = set()
    for h in _all_handlers():
        if isinstance(h, CommandHandler):
            commands |= set(h.commands)
    wanted = set(GUEST_COMMANDS) | {c for cs in ROLE_COMMANDS.values() for c in cs}
    assert wanted <= commands, wanted - commands


def test_every_menu_button_is_handled() -> None:
    fallback_types = {type(h) for h in fallback.handlers()}
    claimed = [
        h for h in _all_handlers() if isinstance(h, CallbackQueryHandler) and h.pattern is not None
    ]
    assert fallback_types  # the catch-all exists, but it does not count as handling
    for keys in ROLE_MENU.values():
        for key in keys:
            data = callbacks.encode("menu", key)
            assert any(h.pattern.match(data) for h in claimed if h.pattern), data  # type: ignore[union-attr]


def test_build_does_no_io() -> None:
    app = build_application(Settings(), token=TOKEN)
    assert app.bot_data  # built, nothing opened
