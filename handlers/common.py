"""What every handler needs: the runtime, who is writing, their language, their menu."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from telegram import BotCommand, BotCommandScopeChat, CallbackQuery, Update
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes

from campaign import callbacks
from campaign.callbacks import Callback, CallbackError, Namespace
from campaign.i18n import pick_language
from campaign.roles import FIELD_ROLES, ROLE_MENU, MenuScope, Role
from handlers import menus, screen
from handlers.screen import Button, Markup
from services import people
from services.people import Cadre
from services.runtime import DEPS_KEY, Deps

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE

# Kept for handlers that still build menu data by hand; new code uses callbacks.MENU.
MENU_NS = callbacks.MENU.name


def deps(context: Context | Application[Any, Any, Any, Any, Any, Any]) -> Deps:
    app = context if isinstance(context, Application) else context.application
    value = app.bot_data[DEPS_KEY]
    assert isinstance(value, Deps)
    return value


@dataclass(frozen=True)
class Who:
    """The sender of an update: their Telegram id, language and (if joined) cadre."""

    user_id: int
    lang: str
    cadre: Cadre | None
    deps: Deps

    def t(self, key: str, /, **values: Any) -> str:
        return self.deps.catalog.t(self.lang, key, **values)

    @property
    def role(self) -> Role | None:
        return self.cadre.role if self.cadre else None

    def role_name(self) -> str:
        return self.t(f"roles.{self.cadre.role.value}") if self.cadre else ""


async def who(update: Update, context: Context, check: bool = True) -> Who | None:
    """The sender. ``check=False``: a remembered sender without reading whether the
    roster changed; the caller checks that in its own read (``people.sender_generation``)."""
    user = update.effective_user
    if user is None:
        return None
    d = deps(context)
    saved, cadre = await people.sender(d, user.id, check)
    lang = pick_language(saved, user.language_code, d.settings.campaign.language)
    return Who(user.id, lang, cadre, d)


def menu_button(w: Who, key: str) -> Button:
    return screen.button(w.t(f"menu.{key}"), callbacks.MENU.build(key))


def role_menu(w: Who) -> Markup | None:
    if w.cadre is None:
        return None
    return screen.inline(screen.rows([menu_button(w, k) for k in ROLE_MENU[w.cadre.role]]))


def command_list(w: Who) -> list[BotCommand]:
    """The sender's private-chat menu: their role's commands, or a guest's."""
    return menus.menu(w.deps.catalog, w.lang, MenuScope.PRIVATE, w.role)


async def refresh_commands(context: Context, chat_id: int, w: Who) -> None:
    """Set this private chat's command menu for the user's role and language."""
    try:
        await context.bot.set_my_commands(command_list(w), scope=BotCommandScopeChat(chat_id))
    except TelegramError as exc:  # a menu is a nicety; never fail the reply for it
        log.warning("could not set commands for a chat: %s", exc)


async def reply(update: Update, text: str, markup: Markup | None = None) -> None:
    """Answer in the chat the update came from (in a forum, in the same topic), whatever
    kind of update it was; in a group chat, as a reply to the asker's message. A button
    press is answered by its handler (Telegram takes one answer per press), not here."""
    chat = update.effective_chat
    if chat is None:
        return
    message = update.effective_message
    thread = message.message_thread_id if message is not None and message.is_topic_message else None
    asked = update.message  # a new message: not a button press, not an edit
    # In a busy group chat an answer says whose question it answers: it quotes the
    # asker's message.
    reply_to = asked.message_id if chat.type != "private" and asked is not None else None
    await screen.send(update.get_bot(), chat.id, text, markup, thread, reply_to)


def is_private(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type == "private"


async def require_cadre(update: Update, context: Context) -> Who | None:
    """The sender if they joined; otherwise tell them how to join and return None."""
    w = await who(update, context)
    if w is None:
        return None
    if w.cadre is None:
        if update.callback_query is not None:
            await update.callback_query.answer(w.t("start.not_joined_short"), show_alert=True)
        elif is_private(update):
            await reply(update, w.t("start.not_joined"))
        return None
    return w


T = TypeVar("T")


@dataclass(frozen=True)
class Press(Generic[T]):
    """A button pressed by a joined cadre: the query, the presser, the parsed data and
    what the handler read from its arguments (``value``)."""

    query: CallbackQuery
    w: Who
    cadre: Cadre
    cb: Callback
    value: T


async def pressed(
    update: Update,
    context: Context,
    namespace: Namespace,
    read: Callable[[Callback], T] = lambda cb: None,  # type: ignore[assignment,return-value]
) -> Press[T] | None:
    """The start of every button handler: the presser must have joined (else they are
    told how), the data must be this namespace's and ``read`` must accept its arguments
    (it raises ``CallbackError`` otherwise; a forged or outdated button gets
    ``common.stale_button``). None when the press was answered here; the handler ends.
    The service called next judges again whether this presser may do this."""
    query = update.callback_query
    if query is None:
        return None
    w = await require_cadre(update, context)
    if w is None or w.cadre is None:
        return None
    try:
        cb = namespace.parse(query.data)
        value = read(cb)
    except CallbackError:
        await query.answer(w.t("common.stale_button"), show_alert=True)
        return None
    return Press(query, w, w.cadre, cb, value)


async def require_field_cadre(update: Update, context: Context, refusal: str) -> Who | None:
    """The sender if they are a stationed cadre (a field role: they log visits and raise
    problems); office staff and inspectors get ``refusal``."""
    w = await require_cadre(update, context)
    if w is None or w.cadre is None:
        return None
    if w.cadre.role not in FIELD_ROLES:
        if update.callback_query is not None:
            await update.callback_query.answer(w.t(refusal), show_alert=True)
        else:
            await reply(update, w.t(refusal))
        return None
    return w
