"""Command menus by scope and the bot's profile text, set through the Bot API.

Which commands show where is a campaign rule (``campaign.roles.SCOPE_COMMANDS``); this
module only tells Telegram: at start, the menu of people not yet joined (private
chats), of every group chat (bind it, help), of each bound team or office chat, and the
bot's description per language. A person's role menu in their private chat is set when
they join (handlers/common.refresh_commands).
"""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeAllGroupChats, BotCommandScopeChat
from telegram.error import TelegramError

from campaign.i18n import LANGUAGES, Catalog
from campaign.roles import MenuScope, chat_scope, commands_for
from storage.people import BoundChat

log = logging.getLogger(__name__)


def menu(catalog: Catalog, lang: str, scope: MenuScope) -> list[BotCommand]:
    return [BotCommand(c, catalog.t(lang, f"commands.{c}")) for c in commands_for(scope)]


def _code(lang: str, default: str) -> str | None:
    """Telegram's language code for a menu; the default language's menu has none, so
    it is the one everybody else sees."""
    return None if lang == default else lang.split("-")[0]


async def set_chat_menu(bot: Bot, catalog: Catalog, lang: str, chat_id: int, kind: str) -> None:
    """The menu of one group chat just bound as ``kind`` ("team" or "office"): call it
    after /bindteam or /bindoffice. Everybody in the chat sees it (each command still
    checks who sends it)."""
    try:
        await bot.set_my_commands(
            menu(catalog, lang, chat_scope(kind)), scope=BotCommandScopeChat(chat_id)
        )
    except TelegramError as exc:  # a menu is a nicety; never fail a binding for it
        log.warning("could not set the menu of chat %s: %s", chat_id, exc)


async def set_menus(bot: Bot, catalog: Catalog, default_lang: str, chats: list[BoundChat]) -> None:
    """Every menu that does not depend on a person, and the profile texts."""
    try:
        for lang in LANGUAGES:
            code = _code(lang, default_lang)
            await bot.set_my_commands(menu(catalog, lang, MenuScope.PRIVATE), language_code=code)
            await bot.set_my_commands(
                menu(catalog, lang, MenuScope.GROUPS),
                scope=BotCommandScopeAllGroupChats(),
                language_code=code,
            )
            await bot.set_my_description(catalog.t(lang, "about.description"), language_code=code)
            await bot.set_my_short_description(catalog.t(lang, "about.short"), language_code=code)
    except TelegramError as exc:  # the menus are a nicety; never block start-up
        log.warning("could not set the command menus: %s", exc)
        return
    for chat in chats:
        await set_chat_menu(bot, catalog, default_lang, chat.chat_id, chat.kind)
