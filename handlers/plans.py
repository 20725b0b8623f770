"""Work plans (工作计划): /plan [period] lists the items by role; a listed item's button
opens its card; the card's 进展 / 完成 open a progress report, a leader's ➕ / ✏️ an
item, both on the step engine in the presser's private chat (handlers/plan_steps.py).
Every press is judged again by services/plans.py: a forged or stale button changes
nothing."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from campaign import plans as rules
from campaign.callbacks import PLAN, Callback, CallbackError
from campaign.periods import EXAMPLES, PeriodError, parse_period
from campaign.text import ECHO_LIMIT, shorten
from handlers import screen
from handlers.common import Context, pressed, reply, require_cadre
from handlers.flow import END
from handlers.plan_steps import (
    MONTH,
    NOTE,
    REASON,
    SUMMARY,
    TITLE,
    ItemForm,
    ProgressForm,
    item_flow,
    progress_flow,
)
from services import plans

log = logging.getLogger(__name__)


async def plan_command(update: Update, context: Context) -> None:
    """/plan [period]: the items of my role's scope due in the period (this month)."""
    w = await require_cadre(update, context)
    if w is None or w.cadre is None:
        return
    today = w.deps.local_now().date()
    text = " ".join(context.args or []).strip()
    if text:
        try:
            period = parse_period(text, today)
        except PeriodError:
            echo = shorten(text, ECHO_LIMIT)
            await reply(update, w.t("plans.list.bad_period", text=echo, examples=EXAMPLES))
            return
    else:
        period = rules.default_period(today)
    message = await plans.plan_list(w.deps, w.cadre, w.lang, period)
    await reply(update, message.text, screen.markup_of(message) if message.buttons else None)


async def show_card(update: Update, context: Context) -> None:
    """pln:show:<item>: the item's card, if the presser may see it."""
    p = await pressed(update, context, PLAN, lambda cb: cb.int_arg(0))
    if p is None:
        return
    shown = await plans.card(p.w.deps, p.cadre, p.w.lang, p.value)
    if shown.message is None:
        await p.query.answer(shown.refusal, show_alert=True)
        return
    await p.query.answer()
    markup = screen.markup_of(shown.message) if shown.message.buttons else None
    chat = update.effective_chat
    assert chat is not None
    await screen.send(context.bot, chat.id, shown.message.text, markup)


def _item_and_flag(cb: Callback) -> tuple[int, bool]:
    item_id, completes = cb.int_arg(0), cb.int_arg(1)
    if completes not in (0, 1):
        raise CallbackError("done is 0 or 1")
    return item_id, bool(completes)


async def progress_entry(update: Update, context: Context) -> object:
    """pln:prg:<item>:<done>: an owner reports progress (0) or completion (1)."""
    p = await pressed(update, context, PLAN, _item_and_flag)
    if p is None:
        return END
    w = p.w
    (item_id, completes) = p.value
    item, refusal = await plans.reportable(w.deps, p.cadre, w.lang, item_id)
    if item is None:
        await p.query.answer(refusal, show_alert=True)
        return END
    form = ProgressForm(
        item_id=item.id,
        code=item.code,
        title=item.title,
        unit=item.unit,
        has_target=item.target is not None,
        completes=completes,
    )
    return await PROGRESS.open_in_private(update, context, w, NOTE, form, texts="plans")


async def item_entry(update: Update, context: Context) -> object:
    """pln:add (a new item of my unit) or pln:ed:<item> (change one of my unit's)."""
    p = await pressed(
        update, context, PLAN, lambda cb: cb.int_arg(0) if cb.action in ("ed", "cx") else None
    )
    if p is None:
        return END
    w, c, cb, item_id, query = p.w, p.cadre, p.cb, p.value, p.query
    if item_id is None:
        unit = rules.own_unit(c.role, c.team_id, c.group_id)
        if unit is None:
            await query.answer(w.t("plans.refused.not_your_unit"), show_alert=True)
            return END
        name = c.group_name if unit.group_id is not None else c.team_name
        form = ItemForm(team_id=unit.team_id, group_id=unit.group_id, unit_name=name)
        return await ITEM.open_in_private(update, context, w, TITLE, form, texts="plans")
    item, refusal = await plans.editable(w.deps, c, w.lang, item_id)
    if item is None:
        await query.answer(refusal, show_alert=True)
        return END
    form = ItemForm(
        item_id=item.id,
        team_id=item.team_id,
        group_id=item.group_id,
        unit_name=item.group_name or item.team_name,
        title=item.title,
        measure=item.measure,
        kind=item.kind,
        month=item.month,
        due=item.due_date.isoformat(),
        owners=[o.id for o in item.owners],
        code=item.code,
        editing=True,
    )
    if cb.action == "cx":
        return await ITEM.open_in_private(update, context, w, REASON, form, texts="plans")
    step = SUMMARY if form.month else MONTH
    return await ITEM.open_in_private(update, context, w, step, form, texts="plans")


PROGRESS = progress_flow([CallbackQueryHandler(progress_entry, pattern=PLAN.pattern("prg"))])
ITEM = item_flow([CallbackQueryHandler(item_entry, pattern=PLAN.pattern("add", "ed", "cx"))])


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/plan, the two dialogs (they own their entry buttons), their buttons outside a
    dialog, and the card button."""
    return [
        CommandHandler("plan", plan_command, filters=filters.UpdateType.MESSAGE),
        PROGRESS.conversation(),
        ITEM.conversation(),
        PROGRESS.stale_handler(),
        ITEM.stale_handler(),
        CallbackQueryHandler(show_card, pattern=PLAN.pattern("show")),
    ]
