"""Raising a problem (反映问题): /problem or the menu button, step by step in private, on
the step engine (handlers/flow.py; the steps are in handlers/problem_steps.py).

The draft row is the truth: every step saves the data and the step it reaches before it
answers, so a restart resumes where the cadre was; a pressed button's message is edited
into the next question; a button of a step the draft has left redraws the current one;
Submit closes the draft in the transaction that writes the problem.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from campaign.callbacks import MENU
from campaign.roles import FIELD_ROLES
from handlers import problem_dialog, problem_lists
from handlers.common import Context, Who, is_private, reply, require_cadre, who
from handlers.flow import END, Stop
from handlers.problem_cards import handlers as card_handlers
from handlers.problem_steps import KIND, PLACE, Form, flow
from services import drafts


async def _may_raise(update: Update, context: Context) -> Who | None:
    w = await require_cadre(update, context)
    if w is None or w.cadre is None:
        return None
    if w.cadre.role not in FIELD_ROLES or w.cadre.team_id is None:
        if update.callback_query is not None:
            await update.callback_query.answer(w.t("problems.raise.not_for_you"), show_alert=True)
        else:
            await reply(update, w.t("problems.raise.not_for_you"))
        return None
    return w


async def start(update: Update, context: Context) -> object:
    """/problem or the menu button: open a fresh draft and ask for the place."""
    query = update.callback_query
    if query is not None and not is_private(update):
        # The menu only exists in private; a press in a group is forged or misplaced,
        # and a report is never typed where the whole group reads along.
        found = await who(update, context)
        text = found.t("problems.raise.private_only") if found else None
        await query.answer(text, show_alert=True)
        return END
    w = await _may_raise(update, context)
    if w is None or w.cadre is None:
        return END
    d = w.deps
    dialog = await drafts.open_draft(d.db, problem_dialog.KIND, w.user_id, w.user_id)
    if dialog is not None:  # a fresh /problem means the card dialog was left behind
        await drafts.cancel(d.db, dialog.id, d.now())
    draft = await drafts.start(
        d.db, KIND, w.cadre.id, w.user_id, w.user_id, PLACE, Form().dump(), d.now()
    )
    try:
        return await FLOW.session(update, context, w, draft, Form()).go(PLACE)
    except Stop as stop:
        return stop.state


FLOW = flow(
    [
        CommandHandler(
            "problem", start, filters=filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
        ),
        CallbackQueryHandler(start, pattern=MENU.pattern("problem")),
    ]
)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The whole problem ledger, in order: raising (its conversation owns /problem and
    its buttons), the card-action dialog (entered from a card button in any chat, held in
    the presser's private chat), the raising flow's buttons outside it, the card buttons
    and the lists."""
    return [
        FLOW.conversation(),
        problem_dialog.FLOW.conversation(),
        FLOW.stale_handler(),
        problem_dialog.FLOW.stale_handler(),
        *card_handlers(),
        *problem_lists.handlers(),
    ]
