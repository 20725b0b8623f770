"""/parked: the office sees what the queue could not send, and who cannot be reached,
and may send a parked item again or declare a chat reachable again."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from campaign import callbacks
from handlers import screen
from handlers.common import Context, Who, is_private, reply, require_cadre, who
from handlers.screen import Markup
from services import outbox
from services.outbox import Reachable, Retried

log = logging.getLogger(__name__)


async def render(w: Who) -> tuple[str, Markup | None]:
    """The office's list, as the service words it, with its buttons."""
    message = await outbox.listing(w.deps, w.lang)
    return message.text, screen.markup_of(message)


async def parked_command(update: Update, context: Context) -> None:
    """/parked: office only, in a private chat."""
    w = await require_cadre(update, context)
    if w is None or w.cadre is None:
        return
    if not outbox.may_manage(w.cadre):
        await reply(update, w.t("common.not_allowed"))
        return
    if not is_private(update):
        await reply(update, w.t("parked.private_only"))
        return
    text, markup = await render(w)
    await reply(update, text, markup)


def _chat_arg(data: callbacks.Callback) -> int:
    """A chat id: negative for groups, so not ``int_arg``."""
    try:
        value = int(data.args[0])
    except (IndexError, ValueError):
        raise callbacks.CallbackError("no chat id") from None
    if value == 0 or abs(value) > 2**62:
        raise callbacks.CallbackError("chat id out of range")
    return value


async def _answer(w: Who, data: callbacks.Callback) -> str:
    d = w.deps
    if data.action == "retry":
        item_id = data.int_arg(0)
        done = await outbox.retry(d, w.cadre, item_id)
        if done.result is Retried.REQUEUED:
            return w.t("parked.requeued", id=item_id)
        if done.result is Retried.NOT_FOUND:
            return w.t("parked.not_found")
        if done.result is Retried.NOT_ALLOWED:
            return w.t("common.not_allowed")
        return w.t("parked.already", id=item_id, status=w.t(f"parked.status.{done.status}"))
    chat_id = _chat_arg(data)
    result, label = await outbox.declare_reachable(d, w.cadre, chat_id)
    if result is Reachable.NOT_ALLOWED:
        return w.t("common.not_allowed")
    key = "parked.cleared" if result is Reachable.CLEARED else "parked.not_unreachable"
    return w.t(key, chat=outbox.chat_name(w.t, label, chat_id))


async def pressed(update: Update, context: Context) -> None:
    """A retry or reachable-again button: re-authorised (office only) on every press."""
    query = update.callback_query
    w = await who(update, context)
    if query is None or w is None:
        return
    try:
        data = callbacks.PARKED.parse(query.data)
        if data.action == "retry":
            data.int_arg(0)
        else:
            _chat_arg(data)
    except callbacks.CallbackError:
        await query.answer(w.t("common.stale_button"), show_alert=True)
        return
    if not outbox.may_manage(w.cadre):
        await query.answer(w.t("common.not_allowed"), show_alert=True)
        return
    await query.answer(await _answer(w, data), show_alert=True)
    text, markup = await render(w)
    try:
        await screen.edit_pressed(context.bot, query, text, markup)
    except (TelegramError, ValueError):  # the list did not change, or the message is gone
        log.debug("the /parked list was not refreshed", exc_info=True)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    return [
        CommandHandler("parked", parked_command, filters=filters.UpdateType.MESSAGE),
        CallbackQueryHandler(pressed, pattern=callbacks.PARKED.pattern()),
    ]
