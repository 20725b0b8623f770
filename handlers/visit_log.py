"""After the fact: /my (own visits and progress), /group (a group leader's list, flagged
visits first), a visit's card, and withdrawing a visit. Corrections run through the
visit conversation (handlers/visit_flow.py) from the card's ✏️ button."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from campaign.callbacks import MENU, VISIT_LOG, CallbackError
from handlers import screen
from handlers.common import Context, Who, is_private, reply, require_cadre, require_field_cadre
from services import checks as check_service
from services import visit_log as log_service
from services import visits
from services.visits import Visit, Why


async def tell(update: Update, text: str) -> None:
    """A refusal: an alert on a button (its one answer), a message after a command."""
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_chat is not None:
        await update.effective_chat.send_message(text)


def visit_id_of(update: Update, context: Context) -> int | None:
    """The visit a command (/visit_edit 12) or a visit card's button names."""
    query = update.callback_query
    try:
        if query is not None:
            return VISIT_LOG.parse(query.data).int_arg(0)
        args = context.args or []
        return int(args[0].lstrip("#")) if args else None
    except (CallbackError, ValueError):
        return None


def refusal(w: Who, why: Why, visit_id: int | None) -> str:
    """Why a visit cannot be changed, in the sender's words."""
    if why is Why.NOT_FIELD_ROLE:
        return w.t("visits.not_field_role")
    if why is Why.NOT_FOUND:
        return w.t("visitlog.not_found", id=visit_id)
    if why is Why.WITHDRAWN:
        return w.t("visitlog.already_withdrawn", id=visit_id)
    if why is Why.CANNOT_CHANGE:
        hours = w.deps.settings.visits.edit_window_hours
        return w.t("visitlog.cannot_change", id=visit_id, hours=hours)
    if why is Why.FINISH_CURRENT:
        return w.t("visits.finish_current_first")
    if why is Why.NO_PLACES:
        return w.t("visits.no_places")
    return w.t("common.stale_button")


async def changeable_visit(
    update: Update, context: Context, w: Who, usage_key: str
) -> Visit | None:
    """The visit a command or button names, if the sender may change it now; otherwise
    say why not and return None."""
    assert w.cadre is not None
    visit_id = visit_id_of(update, context)
    if visit_id is None:
        await tell(
            update, w.t(usage_key) if update.callback_query is None else w.t("common.stale_button")
        )
        return None
    change = await visits.changeable(w.deps, w.cadre, visit_id)
    if change.why is not None or change.visit is None:
        await tell(update, refusal(w, change.why or Why.NOT_FOUND, visit_id))
        return None
    return change.visit


# --- /my -------------------------------------------------------------------------------


async def my_view(update: Update, context: Context, w: Who) -> None:
    """The cadre's progress this month and quarter, and their latest visits."""
    assert w.cadre is not None and update.effective_chat is not None
    message = await log_service.my_view(w.deps, w.cadre, w.lang)
    await reply(update, message.text, screen.markup_of(message))


async def my_command(update: Update, context: Context) -> None:
    """/my or the menu button."""
    if not is_private(update):
        return
    w = await require_field_cadre(update, context, "visits.not_field_role")
    if w is None:
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
    await my_view(update, context, w)


# --- /group ----------------------------------------------------------------------------


async def group_view(
    update: Update, context: Context, w: Who, page: int = 0, edit: bool = False
) -> None:
    """A group leader's visits of the last days: flagged (far) ones first. ``edit``:
    turn the page in the message whose button was pressed."""
    assert w.cadre is not None
    message = await log_service.group_view(w.deps, w.cadre, page, w.lang)
    if message is None:
        if edit:
            await tell(update, w.t("visitlog.group_only"))
        elif update.effective_chat is not None:  # after a command, or after a dropped draft
            await update.effective_chat.send_message(w.t("visitlog.group_only"))
        return
    text, markup = message.text, screen.markup_of(message)
    query = update.callback_query
    if edit and query is not None and query.message is not None:
        await query.answer()
        await screen.edit_pressed(context.bot, query, text, markup)
    elif update.effective_chat is not None:
        await reply(update, text, markup)


async def group_command(update: Update, context: Context) -> None:
    """/group: the group's visits, first page."""
    w = await require_cadre(update, context)
    if w is None or not is_private(update):
        return
    await group_view(update, context, w)


# --- buttons ---------------------------------------------------------------------------


async def log_button(update: Update, context: Context) -> None:
    """A page of /group, a visit's card, or the withdraw question and its answers.
    Every press is authorised again from the database."""
    query = update.callback_query
    w = await require_cadre(update, context)
    if query is None or w is None:
        return
    try:
        cb = VISIT_LOG.parse(query.data)
        arg = cb.int_arg(0)
    except CallbackError:
        await query.answer(w.t("common.stale_button"), show_alert=True)
        return
    if cb.action == "gp":
        await group_view(update, context, w, arg, edit=True)
        return
    if cb.action not in ("sh", "wd", "wy", "wn"):
        await query.answer(w.t("common.stale_button"), show_alert=True)
        return
    assert w.cadre is not None
    visit = await visits.viewable(w.deps, w.cadre, arg)
    if visit is None:
        await query.answer(w.t("visitlog.not_yours"), show_alert=True)
        return
    if cb.action == "sh":
        await query.answer()
        shown = await check_service.visit_card(w.deps, w.cadre, visit, w.lang)
        if update.effective_chat is not None:
            await reply(update, shown.text, screen.markup_of(shown))
        return
    if cb.action == "wn":
        await query.answer()
        shown = log_service.card(w.deps, w.cadre, visit, w.lang)
        await screen.edit_pressed(context.bot, query, shown.text, screen.markup_of(shown))
        return
    if cb.action == "wd":
        if await changeable_visit(update, context, w, "visitlog.usage_withdraw") is None:
            return
        await query.answer()
        question = log_service.withdraw_question(w.deps, visit, w.lang)
        await screen.edit_pressed(context.bot, query, question.text, screen.markup_of(question))
        return
    change = await visits.withdraw(w.deps, w.cadre, visit.id)
    if change.why is not None:
        await tell(update, refusal(w, change.why, visit.id))
        return
    await query.answer()
    key = "visitlog.withdrawn" if change.done else "visitlog.already_withdrawn"
    await screen.edit_pressed(context.bot, query, w.t(key, id=visit.id))


async def withdraw_command(update: Update, context: Context) -> None:
    """/visit_withdraw N: ask before withdrawing."""
    if not is_private(update) or update.effective_chat is None:
        return
    w = await require_field_cadre(update, context, "visits.not_field_role")
    if w is None:
        return
    visit = await changeable_visit(update, context, w, "visitlog.usage_withdraw")
    if visit is None:
        return
    question = log_service.withdraw_question(w.deps, visit, w.lang)
    await reply(update, question.text, screen.markup_of(question))


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("my", my_command, filters=private),
        CallbackQueryHandler(my_command, pattern=MENU.pattern("my")),
        CommandHandler("group", group_command, filters=private),
        CommandHandler("visit_withdraw", withdraw_command, filters=private),
        CallbackQueryHandler(log_button, pattern=VISIT_LOG.pattern()),
    ]
