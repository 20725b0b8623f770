"""/problems: the problems I raised or joined. /ledger: the open problems a leader owns
at their level, overdue first, and the watch list of explained ones
(services/problem_views.py reads and renders both)."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from handlers import screen
from handlers.common import Context, deps, reply, require_cadre
from services import problem_views, urge


async def my_problems(update: Update, context: Context) -> None:
    """/problems: every problem I raised or joined, open ones first."""
    w = await require_cadre(update, context)
    if w is None or w.cadre is None:
        return
    message = await problem_views.mine(deps(context), w.cadre, w.lang)
    await reply(update, message.text, screen.markup_of(message))


async def ledger(update: Update, context: Context) -> None:
    """/ledger: the open problems at my level, earliest deadline (overdue) first."""
    w = await require_cadre(update, context)
    if w is None or w.cadre is None:
        return
    message = await problem_views.ledger(deps(context), w.cadre, w.lang)
    message = await urge.with_offer(deps(context), w.cadre, message, w.lang)
    await reply(update, message.text, screen.markup_of(message))


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return [
        CommandHandler("problems", my_problems, filters=private),
        CommandHandler("ledger", ledger, filters=private),
    ]
