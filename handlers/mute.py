"""/mute and /unmute: a cadre pauses reminders for a few days, or resumes them."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from campaign.text import day_text
from handlers.common import Context, Who, deps, is_private, reply, require_cadre
from services import people
from services.people import Paused


async def _cadre_in_private(update: Update, context: Context) -> Who | None:
    """The sender, if joined and writing in private; otherwise say why not."""
    w = await require_cadre(update, context)
    if w is None or w.cadre is None:
        return None
    if not is_private(update):
        await reply(update, w.t("sched.mute.private_only"))
        return None
    return w


async def mute(update: Update, context: Context) -> None:
    """/mute 3d: pause nudges and pace checks through the end of the third day."""
    w = await _cadre_in_private(update, context)
    if w is None or w.cadre is None:
        return
    d = deps(context)
    done = await people.mute(d, w.cadre, " ".join(context.args or []))
    if done.result is Paused.DONE and done.until is not None:
        resume = day_text(w.t, done.until.astimezone(d.settings.tz).date())
        await reply(update, w.t("sched.mute.done", days=done.days, resume=resume))
    else:
        await reply(update, w.t(f"sched.mute.{done.result.value}", max=done.max_days))


async def unmute(update: Update, context: Context) -> None:
    """/unmute: reminders come again from now on."""
    w = await _cadre_in_private(update, context)
    if w is None or w.cadre is None:
        return
    result = await people.unmute(deps(context), w.cadre)
    await reply(update, w.t(f"sched.mute.{result.value}"))


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    new = filters.UpdateType.MESSAGE  # an edited /mute changes nothing
    return [
        CommandHandler("mute", mute, filters=new),
        CommandHandler("unmute", unmute, filters=new),
    ]
