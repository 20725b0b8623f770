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
from campaign.phones import mask_phone, normalise_phone
from campaign.roles import Role, may_bind_office_chat, may_bind_team_chat
from handlers import screen
from handlers.common import (
    MENU_NS,
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
from storage import people
from storage.people import BindOutcome, InviteOutcome

log = logging.getLogger(__name__)

LANG_NS = "lang"
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
    d = deps(context)
    outcome = await people.redeem_invite(d.db, code[:64], w.user_id, d.now(), w.lang)
    if outcome in (BindOutcome.BOUND, BindOutcome.ALREADY):
        fresh = await who(update, context)
        assert fresh is not None
        await _greet(update, context, fresh, fresh=outcome == BindOutcome.BOUND)
        return
    messages = {
        InviteOutcome.UNKNOWN: "start.invite_unknown",
        InviteOutcome.EXPIRED: "start.invite_expired",
        InviteOutcome.USED: "start.invite_used",
        BindOutcome.CADRE_TAKEN: "start.cadre_taken",
        BindOutcome.ACCOUNT_TAKEN: "start.account_taken",
        BindOutcome.INACTIVE: "start.not_on_roster",
    }
    await reply(update, w.t(messages[outcome]))


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
    d = deps(context)
    phone = normalise_phone(shared.phone_number or "")
    cadre = await people.cadre_by_phone(d.db, phone) if phone else None
    if cadre is None or not cadre.active:
        log.info("join refused: %s is not on the roster", mask_phone(phone or "?"))
        await reply(update, w.t("start.not_on_roster"), screen.REMOVE_KEYBOARD)
        return
    outcome = await people.bind(d.db, cadre.id, w.user_id, "contact", d.now(), w.lang)
    if outcome in (BindOutcome.BOUND, BindOutcome.ALREADY):
        fresh = await who(update, context)
        assert fresh is not None
        await _greet(update, context, fresh, fresh=True)
        return
    key = "start.cadre_taken" if outcome == BindOutcome.CADRE_TAKEN else "start.account_taken"
    await reply(update, w.t(key), screen.REMOVE_KEYBOARD)


async def help_command(update: Update, context: Context) -> None:
    """/help: what the sender's role can do."""
    w = await who(update, context)
    if w is None:
        return
    if not is_private(update):
        if w.cadre is None:
            return
        await reply(update, w.t("help.group_chat"))
        return
    if w.cadre is None:
        await reply(update, w.t("help.guest"))
        return
    lines = [w.t("help.intro", role=w.role_name())]
    lines += [f"/{c.command} — {c.description}" for c in command_list(w)]
    await reply(update, "\n".join(lines), role_menu(w))


def _lang_keyboard() -> Markup:
    names = {"zh-CN": "中文", "en": "English"}
    return screen.inline(
        [[screen.button(names[lang], callbacks.encode(LANG_NS, "set", lang)) for lang in LANGUAGES]]
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
        data = callbacks.decode(query.data, LANG_NS)
        lang = data.args[0] if data.action == "set" and data.args else ""
    except callbacks.CallbackError:
        lang = ""
    if lang not in LANGUAGES:
        await query.answer(w.t("common.stale_button"), show_alert=True)
        return
    d = deps(context)
    await people.save_language(d.db, w.user_id, lang)
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
        data = callbacks.decode(query.data, MENU_NS)
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
    role = w.cadre.role if w.cadre is not None else None
    allowed = role is not None and (
        may_bind_team_chat(role) if kind == "team" else may_bind_office_chat(role)
    )
    if chat.type == "private":
        # Only those who may bind learn how; the rest hear that it is not theirs to do.
        key = f"bindchat.{kind}_in_private" if allowed else f"bindchat.{kind}_refused"
        await reply(update, w.t(key))
        return
    if w.cadre is None:
        return  # strangers in a group chat get no answer
    if not allowed or (kind == "team" and w.cadre.team_id is None):
        await reply(update, w.t(f"bindchat.{kind}_refused"))
        return
    d = deps(context)
    team_id = w.cadre.team_id if kind == "team" else None
    old = await people.bind_chat(d.db, chat.id, kind, team_id, chat.title or "", w.cadre, d.now())
    key = f"bindchat.{kind}_bound"
    text = w.t(key, team=w.cadre.team_name)
    if old is not None and old.chat_id != chat.id:
        text += "\n" + w.t("bindchat.replaced", title=old.title or str(old.chat_id))
    await reply(update, text)


async def bind_team(update: Update, context: Context) -> None:
    """/bindteam in the team's group chat: by the team leader or deputy only."""
    await _bind_chat(update, context, "team")


async def bind_office(update: Update, context: Context) -> None:
    """/bindoffice in the office chat: by an office member only."""
    await _bind_chat(update, context, "office")


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("start", start, filters=private),
        MessageHandler(filters.CONTACT & private, contact),
        CommandHandler("help", help_command),
        CommandHandler("lang", lang_command, filters=private),
        CallbackQueryHandler(lang_chosen, pattern=callbacks.pattern(LANG_NS)),
        CallbackQueryHandler(menu_pressed, pattern=rf"^{MENU_NS}:v1:(help|lang)$"),
        CommandHandler("bindteam", bind_team),
        CommandHandler("bindoffice", bind_office),
    ]


__all__ = ["handlers", "invite_payload", "Role"]
