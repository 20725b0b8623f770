"""Joining and the basics: /start, sharing a phone number, invites, /help, /lang, and
binding the team and office chats."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from campaign import callbacks
from campaign.i18n import LANGUAGES
from campaign.roles import Role, chat_scope
from handlers import menus, screen
from handlers.common import (
    Context,
    Who,
    command_list,
    deps,
    is_private,
    refresh_commands,
    reply,
    role_menu,
    who,
)
from handlers.screen import Markup
from services import people
from services.people import BindVerdict, Joined

log = logging.getLogger(__name__)

_INVITE_PREFIX = "inv_"


def invite_payload(code: str) -> str:
    return _INVITE_PREFIX + code


def _share_phone_keyboard(w: Who) -> Markup:
    return screen.contact_request(w.t("start.share_phone_button"))


async def _greet(update: Update, context: Context, w: Who, *, fresh: bool = False) -> None:
    assert w.cadre is not None
    c = w.cadre
    key = "start.welcome_new" if fresh else "start.greeting"
    text = w.t(
        key,
        name=c.name,
        role=w.role_name(),
        group=c.group_name or w.t("start.none"),
        team=c.team_name or w.t("start.none"),
    )
    if fresh:
        # Take the share-phone keyboard away before showing the role menu.
        await reply(update, w.t("start.bound_ok"), screen.REMOVE_KEYBOARD)
    await reply(update, text, role_menu(w))
    if update.effective_chat is not None:
        await refresh_commands(context, update.effective_chat.id, w)


async def start(update: Update, context: Context) -> None:
    """/start: greet a joined cadre with their menu; ask anyone else for their phone."""
    w = await who(update, context)
    if w is None or not is_private(update):
        return
    args = context.args or []
    if args and args[0].startswith(_INVITE_PREFIX) and w.cadre is None:
        await _redeem(update, context, w, args[0][len(_INVITE_PREFIX) :])
        return
    if w.cadre is not None:
        await _greet(update, context, w)
        return
    await reply(update, w.t("start.ask_phone"), _share_phone_keyboard(w))
    if update.effective_chat is not None:
        await refresh_commands(context, update.effective_chat.id, w)


async def _redeem(update: Update, context: Context, w: Who, code: str) -> None:
    joined = await people.redeem_invite(deps(context), code, w.user_id, w.lang)
    await _joined(update, context, w, joined, fresh=joined is Joined.BOUND)


async def _joined(update: Update, context: Context, w: Who, joined: Joined, *, fresh: bool) -> None:
    """Greet the newly (or already) joined with their menu, or say why not."""
    if joined.joined:
        joined_as = await who(update, context)  # read again: now with their cadre
        assert joined_as is not None
        if joined is Joined.SECOND:
            await reply(update, joined_as.t("start.second"), screen.REMOVE_KEYBOARD)
            fresh = False
        await _greet(update, context, joined_as, fresh=fresh)
        return
    await reply(update, w.t(f"start.{joined.value}"), screen.REMOVE_KEYBOARD)


async def contact(update: Update, context: Context) -> None:
    """A shared contact: bind the sender's own number if it is on the roster."""
    w = await who(update, context)
    message = update.effective_message
    if w is None or message is None or message.contact is None:
        return
    shared = message.contact
    if shared.user_id != w.user_id:
        await reply(update, w.t("start.not_own_contact"), _share_phone_keyboard(w))
        return
    if w.cadre is not None:
        await _greet(update, context, w)
        return
    joined = await people.join_by_contact(
        deps(context), w.user_id, shared.phone_number or "", w.lang
    )
    await _joined(update, context, w, joined, fresh=True)


async def help_command(update: Update, context: Context) -> None:
    """/help: what the sender's role can do; in a group chat, what works in that chat."""
    w = await who(update, context)
    if w is None:
        return
    if not is_private(update):
        if w.cadre is not None:  # strangers in a group chat get no answer
            await _group_help(update, context, w)
        return
    if w.cadre is None:
        await reply(update, w.t("help.guest"))
        return
    lines = [w.t("help.intro", role=w.role_name())]
    lines += [f"/{c.command} — {c.description}" for c in command_list(w)]
    await reply(update, "\n".join(lines), role_menu(w))


async def _group_help(update: Update, context: Context, w: Who) -> None:
    """A team chat, the office chat or a chat not bound yet: what it is for and its own
    commands (the same list as its menu), then where everything else is done."""
    chat = update.effective_chat
    if chat is None:
        return
    d = deps(context)
    bound = await people.bound_chat(d, chat.id)
    kind = bound.kind if bound is not None else None
    if bound is not None and kind == "team":
        head = w.t("help.team_chat", team=bound.team_name or bound.title)
    else:
        head = w.t("help.office_chat" if kind == "office" else "help.unbound_chat")
    lines = [head]
    lines += [
        f"/{c.command} — {c.description}" for c in menus.menu(d.catalog, w.lang, chat_scope(kind))
    ]
    lines.append(w.t("help.group_private"))
    await reply(update, "\n".join(lines))


def _lang_keyboard() -> Markup:
    names = {"zh-CN": "中文", "en": "English"}
    return screen.inline(
        [[screen.button(names[lang], callbacks.LANG.build("set", lang)) for lang in LANGUAGES]]
    )


async def lang_command(update: Update, context: Context) -> None:
    """/lang: offer the two languages."""
    w = await who(update, context)
    if w is None or not is_private(update):
        return
    await reply(update, w.t("lang.choose"), _lang_keyboard())


async def lang_chosen(update: Update, context: Context) -> None:
    """A language button: save it, answer in it, and reset the command menu."""
    query = update.callback_query
    w = await who(update, context)
    if query is None or w is None:
        return
    try:
        lang = callbacks.LANG.parse(query.data).args[0]
    except callbacks.CallbackError:
        lang = ""
    d = deps(context)
    if not await people.set_language(d, w.user_id, lang):
        await query.answer(w.t("common.stale_button"), show_alert=True)
        return
    fresh = Who(w.user_id, lang, w.cadre, d)
    await query.answer()
    if query.message is not None:
        try:
            await query.edit_message_text(fresh.t("lang.saved"))
        except BadRequest as exc:  # pressed twice, or the update was delivered again
            if "not modified" not in exc.message:
                raise
    if update.effective_chat is not None:
        await refresh_commands(context, update.effective_chat.id, fresh)


async def menu_pressed(update: Update, context: Context) -> None:
    """The foundation's own menu buttons (help, language); features answer theirs."""
    query = update.callback_query
    if query is None:
        return
    try:
        data = callbacks.MENU.parse(query.data)
    except callbacks.CallbackError:
        data = None
    # The menu lives in private chats. Telegram takes one answer per press.
    if data is not None and data.action == "help" and is_private(update):
        await query.answer()
        await help_command(update, context)
    elif data is not None and data.action == "lang" and is_private(update):
        await query.answer()
        await lang_command(update, context)
    else:
        w = await who(update, context)
        await query.answer(w.t("common.stale_button") if w else None, show_alert=True)


async def _bind_chat(update: Update, context: Context, kind: str) -> None:
    w = await who(update, context)
    chat = update.effective_chat
    if w is None or chat is None:
        return
    allowed = people.may_bind(w.role, kind)
    if chat.type == "private":
        # Only those who may bind learn how; the rest hear that it is not theirs to do.
        key = f"bindchat.{kind}_in_private" if allowed else f"bindchat.{kind}_refused"
        await reply(update, w.t(key))
        return
    if w.cadre is None:
        return  # strangers in a group chat get no answer
    d = deps(context)
    done = await people.bind_chat(d, chat.id, kind, chat.title or "", w.cadre)
    await reply(update, _bind_text(w, kind, done))
    if done.verdict in (BindVerdict.BIND, BindVerdict.ALREADY):
        # The chat's own commands now, not at the next start; a failure is only logged.
        lang = d.settings.campaign.language
        await menus.set_chat_menu(context.bot, d.catalog, lang, chat.id, kind)
        if done.replaced is not None:
            await menus.clear_chat_menu(context.bot, lang, done.replaced.chat_id)


def _bind_text(w: Who, kind: str, done: people.ChatBinding) -> str:
    assert w.cadre is not None
    verdict, holder = done.verdict, done.holder
    if verdict is BindVerdict.TAKEN and holder is not None:
        if holder.kind == "office":
            return w.t("bindchat.taken_by_office_refused")
        return w.t("bindchat.taken_by_team_refused", team=holder.team_name)
    if verdict not in (BindVerdict.BIND, BindVerdict.ALREADY):  # not their role, or no team
        return w.t(f"bindchat.{kind}_refused")
    # Binding one's own chat again (or a redelivered /bindteam) reads as the first time.
    text = w.t(f"bindchat.{kind}_bound", team=w.cadre.team_name)
    if done.replaced is not None:
        old = done.replaced
        text += "\n" + w.t("bindchat.replaced", title=old.title or str(old.chat_id))
    return text


async def bind_team(update: Update, context: Context) -> None:
    """/bindteam in the team's group chat: by the team leader or deputy only."""
    await _bind_chat(update, context, "team")


async def bind_office(update: Update, context: Context) -> None:
    """/bindoffice in the office chat: by an office member only."""
    await _bind_chat(update, context, "office")


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    # Only new messages: an edited command or contact changes nothing (issue 12 #4);
    # the fallback gives an edit in private a hint.
    new = filters.UpdateType.MESSAGE
    private = new & filters.ChatType.PRIVATE
    return [
        CommandHandler("start", start, filters=private),
        MessageHandler(filters.CONTACT & private, contact),
        CommandHandler("help", help_command, filters=new),
        CommandHandler("lang", lang_command, filters=private),
        CallbackQueryHandler(lang_chosen, pattern=callbacks.LANG.pattern()),
        CallbackQueryHandler(menu_pressed, pattern=callbacks.MENU.pattern("help", "lang")),
        CommandHandler("bindteam", bind_team, filters=new),
        CommandHandler("bindoffice", bind_office, filters=new),
    ]


__all__ = ["handlers", "invite_payload", "Role"]
