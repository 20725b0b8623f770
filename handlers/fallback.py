"""The last word: what the bot says to input no other handler took, and to errors."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from handlers.common import Context, is_private, reply, who

log = logging.getLogger(__name__)


async def unknown_button(update: Update, context: Context) -> None:
    """A button no handler claims: forged, or from a flow that no longer exists."""
    query = update.callback_query
    if query is None:
        return
    w = await who(update, context)
    await query.answer(w.t("common.stale_button") if w else None, show_alert=True)


async def unknown_private(update: Update, context: Context) -> None:
    """Private text or media that no conversation expects: point to the menu."""
    w = await who(update, context)
    if w is None:
        return
    if w.cadre is None:
        await reply(update, w.t("start.not_joined"))
        return
    message = update.effective_message
    if message is not None and message.text and message.text.startswith("/"):
        await reply(update, w.t("common.unknown_command"))
    else:
        await reply(update, w.t("common.not_understood"))


async def edited(update: Update, context: Context) -> None:
    """An edited message is never taken as new input (a command edited into another, an
    old answer changed): in private the sender learns to send it again; groups hear
    nothing."""
    w = await who(update, context)
    if w is not None and is_private(update):
        await reply(update, w.t("common.edited_ignored"))


async def nothing_to_cancel(update: Update, context: Context) -> None:
    """/cancel with no report being typed (each flow answers its own /cancel first)."""
    w = await who(update, context)
    if w is not None:
        await reply(update, w.t("common.nothing_to_cancel"))


async def on_error(update: object, context: Context) -> None:
    log.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update) or not is_private(update):
        return
    try:
        w = await who(update, context)
        if update.callback_query is not None:
            await update.callback_query.answer(w.t("common.error") if w else None, show_alert=True)
        elif w is not None:
            await reply(update, w.t("common.error"))
    except Exception:  # the error reply itself failed; the log line above is enough
        log.warning("could not tell the user about an error", exc_info=True)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    private = filters.ChatType.PRIVATE
    return [
        # Edits that no flow claimed (a flow may answer its own) get a hint, nothing more.
        MessageHandler(filters.UpdateType.EDITED, edited),
        CommandHandler("cancel", nothing_to_cancel, filters=filters.UpdateType.MESSAGE & private),
        CallbackQueryHandler(unknown_button),
        MessageHandler(private & ~filters.StatusUpdate.ALL, unknown_private),
    ]
