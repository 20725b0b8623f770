"""After the fact: /my (own visits and progress), /group (a group leader's list, flagged
visits first), a visit's card, and withdrawing a visit. Corrections run through the
visit conversation (handlers/visit_flow.py) from the card's ✏️ button."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from campaign.callbacks import MENU, VISIT_LOG, CallbackError
from campaign.quotas import Progress
from campaign.visitrules import ChangeRight
from handlers import screen
from handlers import visit_views as views
from handlers.common import Context, Who, is_private, reply, require_cadre, require_field_cadre
from handlers.screen import Button, Markup
from services import visit_log as log_service
from services import visits
from services.visit_log import GROUP_DAYS, GROUP_PAGE
from services.visits import Visit, Why


def _button(text: str, action: str, *args: object) -> Button:
    return screen.button(text, VISIT_LOG.build(action, *args))


def _today(w: Who) -> date:
    return w.deps.local_now().date()


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


# --- lines and cards -------------------------------------------------------------------


def visit_line(w: Who, visit: Visit, today: date, with_cadre: bool = False) -> str:
    r = visit.record
    day = views.md(w, r.day)
    place = views.place_name(w, visit.place_name, visit.place_kind)
    if not visit.active:
        return w.t("visitlog.line_withdrawn", id=visit.id, date=day, place=place)
    kinds = views.kinds_text(w, r.kinds)
    if with_cadre:
        line = w.t(
            "visitlog.line_group",
            id=visit.id,
            date=day,
            cadre=visit.cadre_name,
            place=place,
            kinds=kinds,
        )
    else:
        line = w.t("visitlog.line", id=visit.id, date=day, place=place, kinds=kinds)
    if r.far and r.distance_km is not None:
        line += " " + w.t("visitlog.line_far", km=f"{r.distance_km:.1f}")
    return line


def card(w: Who, visit: Visit) -> tuple[str, Markup | None]:
    d = w.deps
    lines = [w.t("visitlog.card_title", id=visit.id), ""]
    lines += views.summary_lines(w, visits.form_of(visit), d.settings, _today(w))
    lines.append(w.t("visitlog.card_cadre", cadre=visit.cadre_name))
    lines.append(w.t("visitlog.card_created", time=views.when(w, visit.created_at, d.settings)))
    if not visit.active:
        lines.append(w.t("visitlog.card_status_withdrawn"))
        return "\n".join(lines), None
    assert w.cadre is not None
    right = visits.right_of(d, w.cadre, visit)
    if right is None:
        return "\n".join(lines), None
    if right is ChangeRight.OWN:
        until = visit.created_at + timedelta(hours=d.settings.visits.edit_window_hours)
        lines.append(w.t("visitlog.card_can_change_until", time=views.when(w, until, d.settings)))
    else:
        lines.append(w.t("visitlog.card_leader_can_change"))
    markup = screen.inline(
        [
            [
                _button(w.t("visitlog.edit"), "ed", visit.id),
                _button(w.t("visitlog.withdraw"), "wd", visit.id),
            ]
        ]
    )
    return "\n".join(lines), markup


def _progress_lines(w: Who, p: Progress, label: str) -> list[str]:
    t = p.tally
    lines = [
        w.t(
            "visitlog.period_line",
            period=label,
            visits=t.visits,
            visits_quota=p.visits_quota,
            days=t.days,
            days_quota=p.days_quota,
            places=t.places,
        )
    ]
    if p.done:
        lines.append(w.t("visitlog.pace_done"))
    elif p.on_pace:
        lines.append(w.t("visitlog.pace_ok"))
    else:
        lines.append(
            w.t(
                "visitlog.pace_behind",
                expected_visits=p.expected_visits,
                expected_days=p.expected_days,
            )
        )
    if t.by_kind:
        kinds = " · ".join(f"{w.t(f'kinds.{k}')} {n}" for k, n in t.by_kind.items())
        lines.append(w.t("visitlog.by_kind", kinds=kinds))
    else:
        lines.append(w.t("visitlog.by_kind_none"))
    return lines


# --- /my -------------------------------------------------------------------------------


async def my_view(update: Update, context: Context, w: Who) -> None:
    """The cadre's progress this month and quarter, and their latest visits."""
    assert w.cadre is not None and update.effective_chat is not None
    today = _today(w)
    mine = await log_service.my_progress(w.deps, w.cadre, today)
    month, whole, recent = mine.month, mine.quarter, mine.recent
    lines = [w.t("visitlog.my_title", name=w.cadre.name), ""]
    lines += _progress_lines(w, month, views.month_label(w, month.period))
    lines.append("")
    lines += _progress_lines(w, whole, views.quarter_label(w, whole.period))
    lines.append("")
    if recent:
        lines.append(w.t("visitlog.recent_title"))
        lines += [visit_line(w, v, today) for v in recent]
    else:
        lines.append(w.t("visitlog.recent_none"))
    markup = screen.inline([[_button(f"#{v.id}", "sh", v.id) for v in recent]]) if recent else None
    await reply(update, "\n".join(lines), markup)


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
    cadre = w.cadre
    today = _today(w)
    found = await log_service.group_page(w.deps, cadre, today, page)
    if found is None:
        if edit:
            await tell(update, w.t("visitlog.group_only"))
        elif update.effective_chat is not None:  # after a command, or after a dropped draft
            await update.effective_chat.send_message(w.t("visitlog.group_only"))
        return
    pages = max(1, -(-found.total // GROUP_PAGE))
    if found.total == 0:
        text = w.t("visitlog.group_empty", group=cadre.group_name, days=GROUP_DAYS)
        markup = None
    else:
        lines = [
            w.t(
                "visitlog.group_title",
                group=cadre.group_name,
                days=GROUP_DAYS,
                total=found.total,
                far=found.far,
            ),
            w.t("visitlog.group_page", page=page + 1, pages=pages),
            "",
        ]
        lines += [visit_line(w, v, today, with_cadre=True) for v in found.visits]
        text = "\n".join(lines)
        picks = [_button(f"#{v.id}", "sh", v.id) for v in found.visits]
        keyboard = [picks[i : i + 4] for i in range(0, len(picks), 4)]
        nav = []
        if page > 0:
            nav.append(_button(w.t("visitlog.prev"), "gp", page - 1))
        if page < pages - 1:
            nav.append(_button(w.t("visitlog.next"), "gp", page + 1))
        if nav:
            keyboard.append(nav)
        markup = screen.inline(keyboard)
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
        text, markup = card(w, visit)
        if update.effective_chat is not None:
            await reply(update, text, markup)
        return
    if cb.action == "wn":
        await query.answer()
        text, markup = card(w, visit)
        await screen.edit_pressed(context.bot, query, text, markup)
        return
    if cb.action == "wd":
        if await changeable_visit(update, context, w, "visitlog.usage_withdraw") is None:
            return
        await query.answer()
        text, markup = _withdraw_question(w, visit)
        await screen.edit_pressed(context.bot, query, text, markup)
        return
    change = await visits.withdraw(w.deps, w.cadre, visit.id)
    if change.why is not None:
        await tell(update, refusal(w, change.why, visit.id))
        return
    await query.answer()
    key = "visitlog.withdrawn" if change.done else "visitlog.already_withdrawn"
    await screen.edit_pressed(context.bot, query, w.t(key, id=visit.id))


def _withdraw_question(w: Who, visit: Visit) -> tuple[str, Markup]:
    return w.t("visitlog.withdraw_confirm", id=visit.id), screen.inline(
        [
            [
                _button(w.t("visitlog.withdraw_yes"), "wy", visit.id),
                _button(w.t("visitlog.withdraw_no"), "wn", visit.id),
            ]
        ]
    )


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
    text, markup = _withdraw_question(w, visit)
    await reply(update, text, markup)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("my", my_command, filters=private),
        CallbackQueryHandler(my_command, pattern=MENU.pattern("my")),
        CommandHandler("group", group_command, filters=private),
        CommandHandler("visit_withdraw", withdraw_command, filters=private),
        CallbackQueryHandler(log_button, pattern=VISIT_LOG.pattern()),
    ]
