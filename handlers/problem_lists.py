"""/problems: the problems I raised or joined. /ledger: the open problems a leader owns
at their level, overdue first, and the watch list of explained ones."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from campaign.problem_cards import number, show_data
from campaign.roles import FIELD_ROLES
from handlers import screen
from handlers.common import Context, Who, deps, reply
from handlers.problem_common import member, renderer
from handlers.screen import Markup
from storage import problems
from storage.problems import Problem

_BUTTONS = 10


def _show_buttons(items: list[Problem]) -> Markup | None:
    buttons = [screen.button(number(p.id), show_data(p.id)) for p in items[:_BUTTONS]]
    if not buttons:
        return None
    return screen.inline(screen.rows(buttons, 5))


async def my_problems(update: Update, context: Context) -> None:
    """/problems: every problem I raised or joined, open ones first."""
    w = await member(update, context)
    if w is None or w.cadre is None:
        return
    if w.cadre.role not in FIELD_ROLES:
        await reply(update, w.t("problems.raise.not_for_you"))
        return
    d = deps(context)
    items = await problems.mine(d.db, w.cadre.id)
    if not items:
        await reply(update, w.t("problems.mine.none"))
        return
    r = renderer(context, w)
    now = d.now()
    lines = [w.t("problems.mine.head", count=len(items))]
    lines += [r.line(p.view(), now) for p in items]
    lines.append(w.t("problems.list.tap_number"))
    await reply(update, "\n".join(lines), _show_buttons(items))


async def ledger(update: Update, context: Context) -> None:
    """/ledger: the open problems at my level, earliest deadline (overdue) first."""
    w = await member(update, context)
    if w is None or w.cadre is None:
        return
    d = deps(context)
    items = await problems.ledger(d.db, w.cadre)
    if items is None:
        await reply(update, w.t("problems.ledger.not_for_you"))
        return
    r = renderer(context, w)
    now = d.now()
    level = _level_name(w)
    overdue = sum(1 for p in items if now >= p.deadline)
    lines = [
        w.t("problems.ledger.head", level=level, count=len(items), overdue=overdue)
        if items
        else w.t("problems.ledger.empty", level=level)
    ]
    lines += [r.line(p.view(), now) for p in items]
    watch = await problems.watch_list(d.db, w.cadre)
    if watch:
        lines.append(w.t("problems.ledger.watch_head", count=len(watch)))
        lines += [r.line(p.view(), now) for p in watch]
    if items or watch:
        lines.append(w.t("problems.list.tap_number"))
    await reply(update, "\n".join(lines)[:4000], _show_buttons(items + watch))


def _level_name(w: Who) -> str:
    assert w.cadre is not None
    if w.cadre.role.value == "group_leader":
        return w.cadre.group_name
    if w.cadre.role.value == "office":
        return w.t("levels.office")
    return w.cadre.team_name


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("problems", my_problems, filters=private),
        CommandHandler("ledger", ledger, filters=private),
    ]
