"""/rank [period] [cadre|group|team|unit]: the assessment ranking (考核) for the asker's
scope. Judged and rendered by ``services.assessment.rank_for``; this only reads the
words and shows the outcome."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class RankArgs:
    period: Period
    level: Level | None
    unit: str = ""  # /rank [period] 单位 NAME: that sending unit's cadres


def read_args(args: list[str], today: Any) -> RankArgs | None:
    """``[period] [level]`` in either order, or ``[period] 单位 NAME``; None if
    unreadable."""
    words = list(args)
    level: Level | None = None
    unit = ""
    # A unit's name after 单位: the words before it are the period.
    at = next((i for i, word in enumerate(words) if parse_level(word) is Level.UNIT), None)
    if at is not None and at + 1 < len(words) and not (at == 0 and _is_period(words[1:], today)):
        level, unit = Level.UNIT, " ".join(words[at + 1 :])
        words = words[:at]
    else:
        for i in (len(words) - 1, 0):
            if words and 0 <= i < len(words) and (found := parse_level(words[i])) is not None:
                level = found
                del words[i]
                break
    text = " ".join(words).strip()
    if not text:
        return RankArgs(month_of(today), level, unit)
    try:
        return RankArgs(parse_period(text, today), level, unit)
    except PeriodError:
        return None


def _is_period(words: list[str], today: Any) -> bool:
    try:
        parse_period(" ".join(words), today)
    except PeriodError:
        return False
    return True


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
    chat = update.effective_chat
    chat_id = None if private or chat is None else chat.id
    outcome = await service.rank_for(
        d, w.cadre, w.lang, chat_id, read.period, read.level, unit=read.unit
    )
    if outcome.refused:
        if private:
            await reply(update, w.t("assessment.rank.refused"))
        return
    if outcome.outside:
        await reply(update, w.t("assessment.rank.outside"))
        return
    if outcome.no_unit:
        await reply(update, outcome.text)
        return
    for chunk in split_text(outcome.text):
        await reply(update, chunk)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    new = filters.UpdateType.MESSAGE  # an edited command is not asked again
    return [CommandHandler("rank", rank, filters=new)]
