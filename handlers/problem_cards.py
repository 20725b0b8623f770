"""Buttons on problem cards, wherever the card is (team chat, office chat, a leader's
private chat): 认领 and a list's "show"; the buttons that need words open the private
dialog of handlers/problem_dialog.py.

Every press goes to services/problems.py, which judges it (campaign/ladder.py) against
the problem as it is now and says what to answer: done, or why not.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from campaign import callbacks
from campaign.ladder import Action
from campaign.problem_cards import SHOW_WORD, read_press
from handlers import screen
from handlers.common import Context, Who, deps, reply, require_cadre
from services import problem_views, problems
from services.problems import ActRequest


def _chat_id(update: Update) -> int | None:
    return update.effective_chat.id if update.effective_chat else None


def _request(update: Update, w: Who, action: Action, problem_id: int, level: str) -> ActRequest:
    assert w.cadre is not None
    return ActRequest(problem_id, w.cadre, action, level, _chat_id(update), w.lang)


# --- claim: no words needed ------------------------------------------------------------


async def on_claim(update: Update, context: Context) -> None:
    """认领: the presser becomes the owner at this level."""
    query = update.callback_query
    assert query is not None
    w = await require_cadre(update, context)
    if w is None or w.cadre is None:
        return
    press = read_press(query.data)
    if press is None or press.action is not Action.CLAIM:
        await query.answer(w.t("common.stale_button"), show_alert=True)
        return
    outcome = await problems.act(
        deps(context), _request(update, w, Action.CLAIM, press.problem_id, press.level)
    )
    await query.answer(outcome.text, show_alert=not outcome.ok)


# --- show: a private snapshot of the card and its history --------------------------------


async def on_show(update: Update, context: Context) -> None:
    """A problem's card and history, sent to whoever asked from a list."""
    query = update.callback_query
    assert query is not None
    w = await require_cadre(update, context)
    if w is None or w.cadre is None:
        return
    press = read_press(query.data)
    if press is None:
        await query.answer(w.t("common.stale_button"), show_alert=True)
        return
    shown = await problem_views.show(deps(context), w.cadre, press.problem_id, w.lang)
    if shown.message is None:
        await query.answer(shown.refusal, show_alert=True)
        return
    await query.answer()
    await reply(update, shown.message.text, screen.markup_of(shown.message))


async def forged(update: Update, context: Context) -> None:
    """Card data no handler above understood."""
    query = update.callback_query
    if query is None:
        return
    w = await require_cadre(update, context)
    if w is not None:
        await query.answer(w.t("common.stale_button"), show_alert=True)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The card buttons that need no words (register after the dialog's conversation,
    which owns the others), then whatever card data nobody understood."""
    card = callbacks.CARD
    return [
        CallbackQueryHandler(on_claim, pattern=card.pattern("claim")),
        CallbackQueryHandler(on_show, pattern=card.pattern(SHOW_WORD)),
        CallbackQueryHandler(forged, pattern=card.pattern()),
    ]
