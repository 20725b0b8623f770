"""Call-backs (回访) and the watch list at the chat edge, on the step engine
(handlers/flow.py), both held in the presser's private chat (``per_chat=False``):

- the call-back dialog: a press on the ask's 满意 / 基本满意 / 不满意 (or on 记录 in the
  group leader's list, which asks for the answer first) asks how the people were
  reached, then a note; services/problem_callbacks.record judges and records it;
- the reopen dialog: 重新办理 on /ledger's watch list, or "can now" on the monthly
  question, asks why and reopens the problem;
- the monthly question's other answers (still cannot, solved meanwhile): one press.

Every press is judged before anything is asked and judged again when the words arrive.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from campaign.callbacks import CALLBACK, WATCH, CallbackError
from campaign.ladder import MAX_NOTE
from campaign.message import Message
from campaign.problem_callbacks import REACHES, RESULTS
from campaign.problem_cards import number
from campaign.text import clean_text
from handlers.common import Context, pressed, require_cadre
from handlers.flow import END, Flow, Session, Step
from handlers.flow_form import EngineForm
from services import drafts
from services import problem_callbacks as service
from services.problem_callbacks import RecordRequest, ReopenRequest

log = logging.getLogger(__name__)

KIND = "problem_callback"  # the call-back dialog's draft kind and conversation name
REOPEN_KIND = "problem_reopen"

RESULT = "result"
HOW = "how"
NOTE = "note"
WHY = "why"


@dataclass
class CallbackForm(EngineForm):
    callback_id: int = 0
    problem_id: int = 0
    result: str | None = None
    reach: str | None = None
    origin: int | None = None


@dataclass
class ReopenForm(EngineForm):
    problem_id: int = 0
    cause: str = "ledger"
    origin: int | None = None


def _chat_id(update: Update) -> int | None:
    return update.effective_chat.id if update.effective_chat else None


# --- the call-back dialog ---------------------------------------------------------------


async def on_answer(update: Update, context: Context) -> object:
    """满意 / 基本满意 / 不满意 on the ask (or 记录 on the leader's list)."""
    p = await pressed(update, context, CALLBACK, lambda cb: cb.int_arg(0))
    if p is None:
        return END
    w, cb, callback_id, query = p.w, p.cb, p.value, p.query
    result = cb.args[1] if cb.action == "ans" else None
    if result is not None and result not in RESULTS:
        await query.answer(w.t("common.stale_button"), show_alert=True)
        return END
    judged = await service.check_record(w.deps, p.cadre, callback_id, w.lang)
    if not judged.ok:
        await query.answer(judged.text, show_alert=True)
        return END
    form = CallbackForm(callback_id, judged.problem_id or 0, result, origin=_chat_id(update))
    return await CALLBACK_FLOW.open_in_private(
        update, context, w, HOW if result else RESULT, form, texts="callbacks"
    )


CS = Session[CallbackForm]


async def ask_callback(s: CS) -> Message:
    f = s.form
    pid = number(f.problem_id)
    cancel = (s.cancel_button(),)
    if s.draft.step == RESULT:
        picks = tuple(s.button(s.w.t(f"callbacks.result.{r}"), "res", r) for r in RESULTS)
        return Message(s.t("ask_result", number=pid), (picks, cancel))
    result = s.w.t(f"callbacks.result.{f.result}")
    if s.draft.step == HOW:
        picks = tuple(s.button(s.w.t(f"callbacks.reach.{r}"), "how", r) for r in REACHES)
        return Message(s.t("ask_how", number=pid, result=result), (picks, cancel))
    skip = s.button(s.t("skip"), "skip")
    return Message(s.t("ask_note", number=pid, result=result, max=MAX_NOTE), ((skip,), cancel))


async def result_pressed(s: CS) -> object:
    assert s.cb is not None
    if s.cb.args[1] not in RESULTS:
        await s.answer(s.w.t("common.stale_button"), alert=True)
        return None
    s.form.result = s.cb.args[1]
    return await s.go(HOW)


async def how_pressed(s: CS) -> object:
    assert s.cb is not None
    if s.cb.args[1] not in REACHES:
        await s.answer(s.w.t("common.stale_button"), alert=True)
        return None
    s.form.reach = s.cb.args[1]
    return await s.go(NOTE)


async def _gave_way(s: Session[Any]) -> bool:
    """Another flow started after this dialog: text typed now is not for it."""
    if await drafts.other_open(s.d.db, s.w.user_id, s.w.user_id, s.flow.kind, after_id=s.draft.id):
        await s.drop()
        await s.say(Message(s.t("dropped_for_other")))
        return True
    return False


async def _words(s: Session[Any]) -> str | None:
    text = clean_text(s.message.text or "")
    if not text:
        await s.go(s.draft.step, note=s.t("empty"))
        return None
    if len(text) > MAX_NOTE:
        await s.go(s.draft.step, note=s.t("too_long", length=len(text), max=MAX_NOTE))
        return None
    return text


async def note_typed(s: CS) -> object:
    if await _gave_way(s):
        return END
    text = await _words(s)
    if text is None:
        return None
    return await _record(s, text)


async def skip_pressed(s: CS) -> object:
    return await _record(s, "")


async def _record(s: CS, note: str) -> object:
    f = s.form
    if f.result is None or f.reach is None:  # cannot happen: the steps come in order
        return await s.go(RESULT)
    outcome = await service.record(
        s.d,
        RecordRequest(
            callback_id=f.callback_id,
            cadre=s.cadre,
            result=f.result,
            reach=f.reach,
            note=note,
            lang=s.w.lang,
            chat_id=f.origin,
            draft_id=s.draft.id,
        ),
    )
    await (s.show if s.cb is not None else s.say)(Message(outcome.text))
    return END


CALLBACK_FLOW: Flow[CallbackForm] = Flow(
    kind=KIND,
    ns=CALLBACK,
    texts="callbacks.flow",
    load=CallbackForm.load,
    steps=[
        Step(RESULT, ask_callback, buttons={"res": result_pressed}, hint="use_buttons"),
        Step(HOW, ask_callback, buttons={"how": how_pressed}, hint="use_buttons"),
        Step(
            NOTE, ask_callback, buttons={"skip": skip_pressed}, text=note_typed, hint="text_please"
        ),
    ],
    entries=[CallbackQueryHandler(on_answer, pattern=CALLBACK.pattern("ans", "rec"))],
    per_chat=False,
    number=number,
)


# --- the reopen dialog and the watch list's presses ---------------------------------------


def _watch_press(data: str | None) -> tuple[str, int] | None:
    try:
        cb = WATCH.parse(data)
        return cb.action, cb.int_arg(0)
    except CallbackError:
        return None


async def on_reopen(update: Update, context: Context) -> object:
    """重新办理 on /ledger's watch list, or "can now" on the monthly question."""
    query = update.callback_query
    assert query is not None
    w = await require_cadre(update, context)
    if w is None or w.cadre is None:
        return END
    press = _watch_press(query.data)
    if press is None:
        await query.answer(w.t("common.stale_button"), show_alert=True)
        return END
    action, problem_id = press
    cause = "watch" if action == "can" else "ledger"
    req = ReopenRequest(problem_id, w.cadre, cause, w.lang, chat_id=_chat_id(update))
    judged = await service.check_reopen(w.deps, req)
    if not judged.ok:
        await query.answer(judged.text, show_alert=True)
        return END
    form = ReopenForm(problem_id, cause, _chat_id(update))
    return await REOPEN_FLOW.open_in_private(update, context, w, WHY, form, texts="callbacks")


RS = Session[ReopenForm]


async def ask_why(s: RS) -> Message:
    pid = number(s.form.problem_id)
    return Message(s.t("ask_why", number=pid, max=MAX_NOTE), ((s.cancel_button(),),))


async def why_typed(s: RS) -> object:
    if await _gave_way(s):
        return END
    text = await _words(s)
    if text is None:
        return None
    f = s.form
    outcome = await service.reopen(
        s.d,
        ReopenRequest(
            f.problem_id, s.cadre, f.cause, s.w.lang, text, chat_id=f.origin, draft_id=s.draft.id
        ),
    )
    await s.say(Message(outcome.text))
    return END


REOPEN_FLOW: Flow[ReopenForm] = Flow(
    kind=REOPEN_KIND,
    ns=WATCH,
    texts="callbacks.reopen_flow",
    load=ReopenForm.load,
    steps=[Step(WHY, ask_why, text=why_typed, hint="text_please")],
    entries=[CallbackQueryHandler(on_reopen, pattern=WATCH.pattern("can", "re"))],
    per_chat=False,
    number=number,
)


async def on_watch_answer(update: Update, context: Context) -> None:
    """Still cannot / solved meanwhile, on the monthly question."""
    query = update.callback_query
    assert query is not None
    w = await require_cadre(update, context)
    if w is None or w.cadre is None:
        return
    press = _watch_press(query.data)
    if press is None:
        await query.answer(w.t("common.stale_button"), show_alert=True)
        return
    action, problem_id = press
    outcome = await service.watch_answer(
        w.deps, w.cadre, problem_id, action, w.lang, _chat_id(update)
    )
    await query.answer(outcome.text, show_alert=True)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The monthly question's one-press answers first (the reopen conversation would
    take every wch press while it runs), then both dialogs and their stale buttons."""
    return [
        CallbackQueryHandler(on_watch_answer, pattern=WATCH.pattern("still", "solved")),
        CALLBACK_FLOW.conversation(),
        REOPEN_FLOW.conversation(),
        CALLBACK_FLOW.stale_handler(),
        REOPEN_FLOW.stale_handler(),
    ]
