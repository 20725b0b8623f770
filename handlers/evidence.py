"""The 📎 button of a visit card, a /log and a problem's history: the bot sends the
record's photos (an album), voice note and map pin again, into the chat it was pressed
in. Every press is authorised again by services/evidence.py."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler

from campaign.callbacks import EVIDENCE
from handlers import screen
from handlers.common import Context, deps, pressed
from services import evidence


async def on_press(update: Update, context: Context) -> None:
    """📎: send the evidence, or say (in an alert) why not."""
    chat = update.effective_chat
    p = await pressed(update, context, EVIDENCE, lambda cb: cb.int_arg(0))
    if p is None:
        return
    w, cb, record_id, query = p.w, p.cb, p.value, p.query
    chat_id = chat.id if chat is not None else None
    private_chat = None if chat is None or chat.type == "private" else chat_id
    if cb.action == "v":
        opened = await evidence.of_visit(deps(context), p.cadre, record_id, w.lang, private_chat)
    else:
        opened = await evidence.of_problem(deps(context), p.cadre, record_id, w.lang)
    if not opened.messages or chat_id is None:
        await query.answer(opened.refusal or w.t("common.stale_button"), show_alert=True)
        return
    await query.answer()
    kept = opened.kept or (None,) * len(opened.messages)
    for message, copy in zip(opened.messages, kept, strict=True):
        try:
            await screen.send_message(context.bot, chat_id, message)
        except BadRequest:  # Telegram no longer knows the file id: send the kept copy
            if copy is None:
                raise
            await screen.send_message(context.bot, chat_id, copy)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    return [CallbackQueryHandler(on_press, pattern=EVIDENCE.pattern())]
