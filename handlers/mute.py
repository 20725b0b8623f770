"""/mute and /unmute: a cadre pauses reminders for a few days, or resumes them."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from campaign.mute import mute_until, parse_mute
from campaign.roles import FIELD_ROLES
from handlers.common import Context, Who, deps, is_private, reply, require_cadre
from scheduler.common import fmt_date
from storage import reminders


async def _field_cadre(update: Update, context: Context) -> Who | None:
    """The sender, if a joined field cadre writing in private; otherwise say why not."""
    w = await require_cadre(update, context)
    if w is None or w.cadre is None:
        return None
    if not is_private(update):
        await reply(update, w.t("sched.mute.private_only"))
        return None
    if w.cadre.role not in FIELD_ROLES:
        await reply(update, w.t("sched.mute.not_for_role"))
        return None
    return w


async def mute(update: Update, context: Context) -> None:
    """/mute 3d: pause nudges and pace checks through the end of the third day."""
    w = await _field_cadre(update, context)
    if w is None or w.cadre is None:
        return
    d = deps(context)
    max_days = d.settings.reminders.mute_max_days
    request = parse_mute(" ".join(context.args or [])[:40], max_days)
    if request.days is None:
        await reply(update, w.t("sched.mute.usage", max=max_days))
        return
    if request.too_long:
        await reply(update, w.t("sched.mute.too_long", max=max_days))
        return
    now = d.now()
    until = mute_until(now, request.days, d.settings.tz)
    await reminders.mute(d.db, w.cadre.id, until, now)
    resume = fmt_date(d, w.lang, until.astimezone(d.settings.tz).date())
    await reply(update, w.t("sched.mute.done", days=request.days, resume=resume))


async def unmute(update: Update, context: Context) -> None:
    """/unmute: reminders come again from now on."""
    w = await _field_cadre(update, context)
    if w is None or w.cadre is None:
        return
    d = deps(context)
    ended = await reminders.unmute(d.db, w.cadre.id, d.now())
    await reply(update, w.t("sched.mute.unmuted" if ended else "sched.mute.not_muted"))


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    return [CommandHandler("mute", mute), CommandHandler("unmute", unmute)]
