"""The bulletin's draft in the office chat (快报, 第 N 期): its buttons, and the private
dialog that takes the opening text. Every press is judged by services/bulletin_issues.py
from the presser's role as the roster has it now: only the office edits and publishes;
a press on an issue already published says so."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler

from campaign.callbacks import BULLETIN, BULLETIN_OPENING, CallbackError
from campaign.message import Message
from campaign.text import clean_text
from handlers import screen
from handlers.common import Context, pressed, who
from handlers.flow import END, Flow, Session, Step
from handlers.flow_form import EngineForm
from services import bulletin_issues as service

log = logging.getLogger(__name__)

KIND = "bulletin_opening"
TEXT = "text"


# --- the draft's buttons -------------------------------------------------------------------


async def on_press(update: Update, context: Context) -> None:
    """🌟 cases, a case picked or dropped, ↩️ back, 📤 publish."""
    query = update.callback_query
    if query is None:
        return
    w = await who(update, context)
    if w is None:
        return
    try:
        cb = BULLETIN.parse(query.data)
        number = cb.int_arg(0)
        case_id = cb.int_arg(1) if cb.action == "tog" else 0
    except CallbackError:
        await query.answer(w.t("common.stale_button"), show_alert=True)
        return
    d = w.deps
    if cb.action == "cases":
        outcome = await service.cases_view(d, w.cadre, number, w.lang)
    elif cb.action == "tog":
        outcome = await service.toggle(d, w.cadre, number, case_id, w.lang)
    elif cb.action == "back":
        outcome = await service.back(d, w.cadre, number, w.lang)
    else:
        outcome = await service.publish(d, w.cadre, number, w.lang)
    await query.answer(outcome.alert, show_alert=outcome.alert is not None)
    if outcome.view is not None:
        try:
            await screen.edit_pressed(
                context.bot, query, outcome.view.text, screen.markup_of(outcome.view)
            )
        except (BadRequest, ValueError):  # unchanged, or the message is too old to edit
            log.info("the bulletin's draft message could not be edited", exc_info=True)


# --- the opening: a private dialog -------------------------------------------------------------


@dataclass
class OpeningForm(EngineForm):
    number: int = 0


S = Session[OpeningForm]


async def on_open(update: Update, context: Context) -> object:
    """✏️ pressed (in the office chat): judged first, then asked in private."""
    p = await pressed(update, context, BULLETIN, lambda cb: cb.int_arg(0))
    if p is None:
        return END
    w, number, query = p.w, p.value, p.query
    d = w.deps
    refusal = await service.may_edit_opening(d, p.cadre, number, w.lang)
    if refusal is not None:
        await query.answer(refusal, show_alert=True)
        return END
    form = OpeningForm(number)
    return await FLOW.open_in_private(update, context, w, TEXT, form, texts="bulletin.opening")


async def ask(s: S) -> Message:
    text = s.t("ask", number=s.form.number, max=service.MAX_OPENING)
    return Message(text, ((s.cancel_button(),),))


async def typed(s: S) -> object:
    text = clean_text(s.message.text or "")
    if not text:
        return await s.go(TEXT, note=s.t("empty"))
    if len(text) > service.MAX_OPENING:
        return await s.go(TEXT, note=s.t("too_long", length=len(text), max=service.MAX_OPENING))
    said, view = await service.set_opening(
        s.d, s.cadre, s.form.number, text, s.w.lang, draft_id=s.draft.id
    )
    if view is None:
        await s.drop()
    await s.say(Message(said))
    return END


FLOW: Flow[OpeningForm] = Flow(
    kind=KIND,
    ns=BULLETIN_OPENING,
    texts="bulletin.opening",
    load=OpeningForm.load,
    steps=[Step(TEXT, ask, text=typed, hint="text_please")],
    entries=[CallbackQueryHandler(on_open, pattern=BULLETIN.pattern("open"))],
    per_chat=False,
    number=lambda n: f"No.{n}",
)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    return [
        FLOW.conversation(),
        FLOW.stale_handler(),
        CallbackQueryHandler(on_press, pattern=BULLETIN.pattern("cases", "tog", "back", "pub")),
    ]
