"""督办 in the chat: the button under /ledger and /overdue (services/urge.py judges and
records each press; a forged, stale or repeated press is refused with its reason)."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from campaign.callbacks import URGE
from handlers import screen
from handlers.common import Context, Who, is_private, pressed, reply
from services import urge


async def on_urge(update: Update, context: Context) -> None:
    """督办 P-N: the owner is told at once; the answer says what happened."""
    p = await pressed(update, context, URGE, lambda cb: cb.int_arg(0))
    if p is None:
        return
    w, problem_id, query = p.w, p.value, p.query
    chat_id = update.effective_chat.id if update.effective_chat else None
    outcome = await urge.urge(w.deps, p.cadre, problem_id, chat_id, w.lang)
    await query.answer(outcome.text, show_alert=True)


async def offer(update: Update, w: Who, overdue_only: bool) -> None:
    """The 督办 buttons after /ledger or /overdue, in private, for who may urge."""
    if w.cadre is None or not is_private(update):
        return
    message = await urge.offer(w.deps, w.cadre, w.lang, overdue_only)
    if message is not None:
        await reply(update, message.text, screen.markup_of(message))


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    return [CallbackQueryHandler(on_urge, pattern=URGE.pattern())]
