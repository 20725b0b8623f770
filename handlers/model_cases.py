"""Selecting model cases (典型): /cases lists the flagged visits (the office's report,
handlers/reports.py) and, for the office in a private chat, a "select" button for each
not yet selected. A press opens a short dialog on the step engine: a title, a write-up,
confirm. services/model_cases.py judges the press and, again, the selection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from campaign.callbacks import CASES
from campaign.message import Message
from campaign.periods import Period, PeriodError, month_of, parse_period
from campaign.text import clean_text, shorten
from handlers import reports, screen
from handlers.common import Context, is_private, pressed, reply, who
from handlers.flow import END, Flow, Session, Step, Stop
from handlers.flow_form import EngineForm
from services import drafts
from services import model_cases as service

KIND = "model_case"
TITLE = "title"
WRITEUP = "writeup"
CONFIRM = "confirm"


@dataclass
class CaseForm(EngineForm):
    visit_id: int = 0
    title: str | None = None
    writeup: str | None = None


S = Session[CaseForm]


# --- /cases: the report, then the office's buttons ---------------------------------------


async def cases(update: Update, context: Context) -> None:
    """/cases [period]: the flagged visits (the report); the office, in private, also
    gets a button to select each one not selected yet."""
    await reports.cases(update, context)
    w = await who(update, context)
    if w is None or w.cadre is None or not is_private(update):
        return
    if not service.may_select(w.cadre):
        return
    period = _period_in(list(context.args or [])[:8], w.deps.local_now().date())
    found = await service.candidates(w.deps, w.cadre, period)
    if not found:
        return
    buttons = [
        [
            screen.button(
                w.t(
                    "model_cases.pick",
                    cadre=v.cadre_name,
                    place=shorten(v.place_name, 12),
                    date=f"{v.visit_date.month}-{v.visit_date.day}",
                ),
                CASES.build("pick", v.visit_id),
            )
        ]
        for v in found
    ]
    await reply(update, w.t("model_cases.choose"), screen.inline(buttons))


def _period_in(words: list[str], today: date) -> Period:
    """The period the report read from ``[period] [team]`` (either order); this month
    when there is none."""
    for k in range(len(words), 0, -1):
        for part in (words[:k], words[len(words) - k :]):
            try:
                return parse_period(" ".join(part), today)
            except PeriodError:
                continue
    return month_of(today)


# --- the dialog --------------------------------------------------------------------------


async def on_pick(update: Update, context: Context) -> object:
    """ "Select" pressed: judged first (only the office, a flagged visit not selected
    yet); then the title is asked."""
    p = await pressed(update, context, CASES, lambda cb: cb.int_arg(0))
    if p is None or update.effective_chat is None:
        return END
    w, visit_id, query = p.w, p.value, p.query
    d = w.deps
    judged = await service.pick(d, p.cadre, visit_id)
    if judged.visit is None:
        await query.answer(w.t(f"model_cases.{judged.refusal}"), show_alert=True)
        return END
    chat_id = update.effective_chat.id
    if await drafts.other_open(d.db, chat_id, w.user_id, KIND) is not None:
        await query.answer(w.t("model_cases.busy"), show_alert=True)
        return END
    form = CaseForm(visit_id=visit_id)
    draft = await drafts.start(
        d.db, KIND, p.cadre.id, chat_id, w.user_id, TITLE, form.dump(), d.now()
    )
    s = FLOW.session(update, context, w, draft, form)
    s.cache["visit"] = judged.visit
    s.answered = True
    await query.answer()
    try:
        return await s.go(TITLE)
    except Stop as stop:
        return stop.state


async def ask(s: S) -> Message:
    cancel = (s.cancel_button(),)
    if s.draft.step == TITLE:
        visit = s.cache.get("visit")
        head = ""
        if visit is not None:
            head = s.t(
                "visit",
                cadre=visit.cadre_name,
                place=visit.place_name,
                date=visit.visit_date.isoformat(),
                text=shorten(visit.text, 300),
            )
            head += "\n\n"
        return Message(head + s.t("ask_title", max=service.MAX_TITLE), (cancel,))
    if s.draft.step == WRITEUP:
        return Message(s.t("ask_writeup", max=service.MAX_WRITEUP), (cancel,))
    ok = s.button(s.t("confirm_ok"), "ok")
    summary = s.t("confirm", title=s.form.title or "", writeup=s.form.writeup or "")
    return Message(summary, ((ok,), cancel))


async def _typed(s: S, limit: int) -> str | None:
    text = clean_text(s.message.text or "")
    if not text:
        await s.go(s.draft.step, note=s.t("empty"))
        return None
    if len(text) > limit:
        await s.go(s.draft.step, note=s.t("too_long", length=len(text), max=limit))
        return None
    return text


async def title_typed(s: S) -> object:
    text = await _typed(s, service.MAX_TITLE)
    if text is None:
        return None
    s.form.title = text
    return await s.go(WRITEUP)


async def writeup_typed(s: S) -> object:
    text = await _typed(s, service.MAX_WRITEUP)
    if text is None:
        return None
    s.form.writeup = text
    return await s.go(CONFIRM)


async def confirmed(s: S) -> object:
    """✅ pressed: the service judges again and records it, closing the draft."""
    f = s.form
    outcome = await service.select(
        s.d,
        service.SelectRequest(
            s.cadre, f.visit_id, f.title or "", f.writeup or "", s.draft.id, s.w.lang
        ),
    )
    await s.answer()
    await s.show(Message(outcome.text))
    return END


FLOW: Flow[CaseForm] = Flow(
    kind=KIND,
    ns=CASES,
    texts="model_cases.dialog",
    load=CaseForm.load,
    steps=[
        Step(TITLE, ask, text=title_typed, hint="text_please"),
        Step(WRITEUP, ask, text=writeup_typed, hint="text_please"),
        Step(CONFIRM, ask, buttons={"ok": confirmed}, hint="use_buttons"),
    ],
    entries=[CallbackQueryHandler(on_pick, pattern=CASES.pattern("pick"))],
    number=lambda n: f"#{n}",
)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    new = filters.UpdateType.MESSAGE  # an edited command is not asked again
    return [
        FLOW.conversation(),
        FLOW.stale_handler(),
        CommandHandler("cases", cases, filters=new),
    ]
