"""Command menus by scope and the bot's profile text, set through the Bot API at start.

Which commands show where is a campaign rule (``campaign.roles.SCOPE_COMMANDS``); this
module only tells Telegram: at start, the menu of people not yet joined (private
chats), of every group chat (bind it, help), of each bound team or office chat, and the
bot's description per language. A person's role menu in their private chat is set when
they join (handlers/common.refresh_commands); a chat's own menu also the moment it is
bound (handlers/menus.set_chat_menu, which start reuses here).
"""

from __future__ import annotations

import logging

from telegram import Bot, BotCommandScopeAllGroupChats
from telegram.error import TelegramError

from campaign.i18n import LANGUAGES, Catalog
from campaign.roles import MenuScope
from handlers.menus import language_code, menu, set_chat_menu
from storage.people import BoundChat

log = logging.getLogger(__name__)


async def set_menus(bot: Bot, catalog: Catalog, default_lang: str, chats: list[BoundChat]) -> None:
    """Every menu that does not depend on a person, and the profile texts."""
    try:
        for lang in LANGUAGES:
            code = language_code(lang, default_lang)
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
