"""The short private dialog a card button that needs words opens (a note, what was done,
why not, the reason for sending up or handing down, the department), on the step engine
(handlers/flow.py).

The button may be pressed in a team or office chat, but team chats run in privacy mode,
so the words are asked in the presser's private chat: the flow is keyed by the person
alone (``Flow(per_chat=False)``), its draft sits in their private chat, and a restart
resumes it from that draft. The press is judged before anything is asked and judged
again when the words arrive (services/problems.py), since the problem may move meanwhile.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import CallbackQueryHandler

from campaign.callbacks import CARD, CARD_DIALOG
from campaign.ladder import MAX_NAME, MAX_NOTE, Action, told_day_ok
from campaign.message import Message
from campaign.periods import PeriodError, parse_day
from campaign.problem_cards import WORD_ACTIONS, number, read_press
from campaign.text import clean_text
from handlers.common import Context, require_cadre
from handlers.flow import END, Flow, Session, Step, Stop
from handlers.flow_form import EngineForm
from services import drafts, problems
from services.problems import ActRequest

log = logging.getLogger(__name__)

KIND = "problem_action"  # the draft kind and the ConversationHandler name

# Steps of the dialog.
TEXT = "text"  # the note, what was done, why not, the reason, the department
WHO = "who"  # explain: who told the people
WHEN = "when"  # explain: on which day

_PROMPTS: dict[Action, str] = {
    Action.NOTE: "ask_note",
    Action.SOLVE: "ask_solve",
    Action.EXPLAIN: "ask_explain",
    Action.ESCALATE: "ask_escalate",
    Action.HAND_DOWN: "ask_hand_down",
    Action.ASSIGN: "ask_department",
}
_LIMITS: dict[Action, int] = {Action.ASSIGN: MAX_NAME}


@dataclass
class ActForm(EngineForm):
    """What the dialog's draft holds: the press, and the words given so far."""

    problem_id: int = 0
    action: str = ""
    level: str = ""  # the level the card was made for
    origin: int | None = None  # the chat the button was pressed in
    text: str | None = None
    by: str | None = None  # explain: who told the people
    on: str | None = None  # explain: the day (ISO)


S = Session[ActForm]


def t(s: S, key: str, /, **values: Any) -> str:
    return s.w.t(f"problems.act.{key}", **values)


# --- entering: a card button that needs words ------------------------------------------


async def on_text_action(update: Update, context: Context) -> object:
    """Judged first (a refused press opens nothing), then asked in private."""
    query = update.callback_query
    assert query is not None
    w = await require_cadre(update, context)
    if w is None or w.cadre is None:
        return END
    press = read_press(query.data)
    if press is None or press.action is None or press.action is Action.CLAIM:
        await query.answer(w.t("common.stale_button"), show_alert=True)
        return END
    d = w.deps
    chat_id = update.effective_chat.id if update.effective_chat else None
    request = ActRequest(press.problem_id, w.cadre, press.action, press.level, chat_id, w.lang)
    judged = await problems.check(d, request)
    if not judged.ok:
        await query.answer(judged.text, show_alert=True)
        return END
    if await drafts.other_open(d.db, w.user_id, w.user_id, KIND) is not None:
        # Text typed in private goes to one flow at a time: finish the other one first.
        await query.answer(w.t("problems.act.busy"), show_alert=True)
        return END
    form = ActForm(press.problem_id, str(press.action), press.level, chat_id)
    draft = await drafts.start(
        d.db, KIND, w.cadre.id, w.user_id, w.user_id, TEXT, form.dump(), d.now()
    )
    s = FLOW.session(update, context, w, draft, form)
    s.answered = True  # the press is answered below, once it is known how the ask went
    try:
        state = await s.go(TEXT)
    except (Forbidden, BadRequest) as exc:
        log.info("could not open a private dialog with a presser: %s", exc)
        await drafts.cancel(d.db, draft.id, d.now())
        await query.answer(w.t("problems.act.open_private_first"), show_alert=True)
        return END
    except Stop as stop:
        return stop.state
    await query.answer(None if chat_id == w.user_id else w.t("problems.act.see_private"))
    return state


# --- the steps -------------------------------------------------------------------------


async def ask(s: S) -> Message:
    f = s.form
    pid = number(f.problem_id)
    cancel = (s.cancel_button(),)
    if s.draft.step == WHO:
        return Message(t(s, "ask_who", number=pid), (cancel,))
    if s.draft.step == WHEN:
        today = s.button(t(s, "today"), "day", 0)
        yesterday = s.button(t(s, "yesterday"), "day", 1)
        return Message(t(s, "ask_when", number=pid), ((today, yesterday), cancel))
    action = Action(f.action)
    text = t(s, _PROMPTS[action], number=pid, max=_LIMITS.get(action, MAX_NOTE))
    return Message(text, (cancel,))


async def _gave_way(s: S) -> bool:
    """Another flow started after this dialog: text typed now is not for the dialog."""
    if await drafts.other_open(s.d.db, s.w.user_id, s.w.user_id, KIND, after_id=s.draft.id):
        await s.drop()
        await s.say(Message(t(s, "dropped_for_other", number=number(s.form.problem_id))))
        return True
    return False


async def _checked(s: S, limit: int) -> str | None:
    """The typed words, or None after asking again (empty, too long)."""
    text = clean_text(s.message.text or "")
    if not text:
        await s.go(s.draft.step, note=t(s, "empty"))
        return None
    if len(text) > limit:
        await s.go(s.draft.step, note=t(s, "too_long", length=len(text), max=limit))
        return None
    return text


async def text_typed(s: S) -> object:
    if await _gave_way(s):
        return END
    action = Action(s.form.action)
    text = await _checked(s, _LIMITS.get(action, MAX_NOTE))
    if text is None:
        return None
    s.form.text = text
    if action is Action.EXPLAIN:
        return await s.go(WHO)
    return await _finish(s)


async def who_typed(s: S) -> object:
    if await _gave_way(s):
        return END
    text = await _checked(s, MAX_NAME)
    if text is None:
        return None
    s.form.by = text
    return await s.go(WHEN)


async def when_typed(s: S) -> object:
    if await _gave_way(s):
        return END
    try:
        day = parse_day(clean_text(s.message.text or ""), s.today)
    except PeriodError:
        return await s.go(WHEN, note=t(s, "bad_day"))
    if not told_day_ok(day, s.today):
        return await s.go(WHEN, note=t(s, "bad_day"))
    s.form.on = day.isoformat()
    return await _finish(s)


async def day_pressed(s: S) -> object:
    """Today / yesterday."""
    assert s.cb is not None
    if s.cb.args[1] not in ("0", "1"):
        await s.answer(s.w.t("common.stale_button"), alert=True)
        return None
    s.form.on = (s.today - timedelta(days=int(s.cb.args[1]))).isoformat()
    return await _finish(s)


async def _finish(s: S) -> object:
    """Apply the action; the service judges it again (the problem may have moved) and
    closes the draft with it."""
    f = s.form
    outcome = await problems.act(
        s.d,
        ActRequest(
            problem_id=f.problem_id,
            actor=s.cadre,
            action=Action(f.action),
            button_level=f.level,
            chat_id=f.origin,
            lang=s.w.lang,
            note=f.text or "",
            explained_by=f.by,
            explained_on=f.on,
            draft_id=s.draft.id,
        ),
    )
    await (s.show if s.cb is not None else s.say)(Message(outcome.text))
    return END


_TEXT_WORDS = [w for w, a in WORD_ACTIONS.items() if a is not Action.CLAIM]

FLOW: Flow[ActForm] = Flow(
    kind=KIND,
    ns=CARD_DIALOG,
    texts="problems.act",
    load=ActForm.load,
    steps=[
        Step(TEXT, ask, text=text_typed, hint="text_please"),
        Step(WHO, ask, text=who_typed, hint="text_please"),
        Step(WHEN, ask, buttons={"day": day_pressed}, text=when_typed, hint="text_please"),
    ],
    entries=[CallbackQueryHandler(on_text_action, pattern=CARD.pattern(*_TEXT_WORDS))],
    cancel="cancel",
    per_chat=False,
    number=number,
)
