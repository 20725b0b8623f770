"""Command menus set as chats change: a group chat's own menu the moment /bindteam or
/bindoffice binds it, and the menu of the chat it replaced taken away.

Which commands show where is a campaign rule (``campaign.roles.commands_for``); this
module only tells Telegram, in every language (the campaign's default without a
language code, so everybody else sees that one). bot/menus.py calls the same at start
for the chats bound before.
"""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from campaign.i18n import LANGUAGES, Catalog
from campaign.roles import MenuScope, Role, chat_scope, commands_for

log = logging.getLogger(__name__)


def menu(
    catalog: Catalog, lang: str, scope: MenuScope, role: Role | None = None
) -> list[BotCommand]:
    """The commands of ``scope`` (a joined person's role, in a private chat) with their
    descriptions, ``commands.<name>`` in the catalogue."""
    return [BotCommand(c, catalog.t(lang, f"commands.{c}")) for c in commands_for(scope, role)]


def language_code(lang: str, default: str) -> str | None:
    """Telegram's language code for a menu; the default language's menu has none, so
    it is the one everybody else sees."""
    return None if lang == default else lang.split("-")[0]


async def set_chat_menu(
    bot: Bot, catalog: Catalog, default_lang: str, chat_id: int, kind: str
) -> None:
    """The menu of one group chat bound as ``kind`` ("team" or "office"). Everybody in
    the chat sees it (each command still checks who sends it). A failure is logged: a
    menu is a nicety, never a reason to fail a binding or a start."""
    scope = BotCommandScopeChat(chat_id)
    try:
        for lang in LANGUAGES:
            await bot.set_my_commands(
                menu(catalog, lang, chat_scope(kind)),
                scope=scope,
                language_code=language_code(lang, default_lang),
            )
    except TelegramError as exc:
        log.warning("could not set the menu of chat %s: %s", chat_id, exc)


async def clear_chat_menu(bot: Bot, default_lang: str, chat_id: int) -> None:
    """A chat no longer bound (its team or the office moved to another chat) falls back
    to the menu of every group chat. Failures are logged, as above."""
    scope = BotCommandScopeChat(chat_id)
    try:
        for lang in LANGUAGES:
            await bot.delete_my_commands(
                scope=scope, language_code=language_code(lang, default_lang)
            )
    except TelegramError as exc:
        log.warning("could not take the menu of chat %s away: %s", chat_id, exc)
