"""/rank [period] [cadre|group|team|unit]: the assessment ranking (考核) for the asker's
scope. Judged and rendered by ``services.assessment.rank_for``; this only reads the
words and shows the outcome."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from campaign.assessment import Level, parse_level
from campaign.periods import EXAMPLES, Period, PeriodError, month_of, parse_period
from campaign.reporting import split_text
from campaign.text import ECHO_LIMIT, shorten
from handlers.common import Context, deps, is_private, reply, who
from services import assessment as service

MAX_ARG_WORDS = 8
MAX_ARG_CHARS = 120


def read_args(args: list[str], today: Any) -> tuple[Period, Level | None] | None:
    """(period, level) from ``[period] [level]`` in either order; None if unreadable."""
    words = list(args)
    level: Level | None = None
    for i in (len(words) - 1, 0):
        if words and 0 <= i < len(words) and (found := parse_level(words[i])) is not None:
            level = found
            del words[i]
            break
    text = " ".join(words).strip()
    if not text:
        return month_of(today), level
    try:
        return parse_period(text, today), level
    except PeriodError:
        return None


async def rank(update: Update, context: Context) -> None:
    """/rank [period] [level]: a ranking of cadres, groups, teams or sending units."""
    w = await who(update, context)
    if w is None:
        return
    private = is_private(update)
    if w.cadre is None:
        if private:
            await reply(update, w.t("start.not_joined"))
        return
    args = list(context.args or [])
    text = " ".join(args)
    d = deps(context)
    read = None
    if len(args) <= MAX_ARG_WORDS and len(text) <= MAX_ARG_CHARS:
        read = read_args(args, d.local_now().date())
    if read is None:
        echo = shorten(text, ECHO_LIMIT)
        await reply(update, w.t("assessment.rank.bad_args", text=echo, examples=EXAMPLES))
        return
    period, level = read
    chat = update.effective_chat
    chat_id = None if private or chat is None else chat.id
    outcome = await service.rank_for(d, w.cadre, w.lang, chat_id, period, level)
    if outcome.refused:
        if private:
            await reply(update, w.t("assessment.rank.refused"))
        return
    if outcome.outside:
        await reply(update, w.t("assessment.rank.outside"))
        return
    for chunk in split_text(outcome.text):
        await reply(update, chunk)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    new = filters.UpdateType.MESSAGE  # an edited command is not asked again
    return [CommandHandler("rank", rank, filters=new)]
