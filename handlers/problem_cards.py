"""Buttons on problem cards, wherever the card is (team chat, office chat, a leader's
private chat), and the short private dialog an action that needs words opens.

Every press is judged again from the database (campaign/ladder.py ``judge``): the
presser's role and scope, the level the card was made for, the problem's status now.
A refused press gets a short alert and changes nothing; a press on an outdated card
says what happened and by whom. Claiming needs no words and is done at once; a note,
solving, explaining, sending up, handing down and naming a department ask for text in
the presser's private chat, because team chats run in privacy mode.
"""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta
from typing import Any

from telegram import Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.ext._utils.types import ConversationKey

from campaign import callbacks
from campaign.ladder import (
    MAX_NAME,
    MAX_NOTE,
    Action,
    Verdict,
    clean_text,
    judge,
    may_act,
)
from campaign.problem_cards import CARD_NS, SHOW_WORD, WORD_ACTIONS, Renderer, number
from campaign.roles import Role
from campaign.vocabulary import LEVELS
from handlers import screen
from handlers.common import Context, Who, deps, reply
from handlers.problem_common import State, member, quiet_per_message, renderer
from handlers.screen import Button
from storage import drafts, problem_flow, problems
from storage.drafts import Draft
from storage.problem_flow import ActOutcome, actor_of
from storage.problems import Problem

log = logging.getLogger(__name__)

KIND = "problem_action"  # the draft kind and the ConversationHandler name
NS = "pra"  # buttons inside the dialog

# Steps of the dialog.
TEXT = "text"  # the note, what was done, why not, the reason, the department
WHO = "who"  # explain: who told the people
WHEN = "when"  # explain: on which day
STEPS = (TEXT, WHO, WHEN)

_PROMPTS: dict[Action, str] = {
    Action.NOTE: "problems.act.ask_note",
    Action.SOLVE: "problems.act.ask_solve",
    Action.EXPLAIN: "problems.act.ask_explain",
    Action.ESCALATE: "problems.act.ask_escalate",
    Action.HAND_DOWN: "problems.act.ask_hand_down",
    Action.ASSIGN: "problems.act.ask_department",
}
_LIMITS: dict[Action, int] = {Action.ASSIGN: MAX_NAME}
_ALERT_MAX = 190


def _short(text: str, limit: int = _ALERT_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _parse(data: str | None) -> tuple[str, int, str] | None:
    """(action word, problem id, card level) of a card button; None if forged."""
    try:
        cb = callbacks.decode(data, CARD_NS)
        problem_id = cb.int_arg(0)
    except callbacks.CallbackError:
        return None
    level = cb.args[1] if len(cb.args) > 1 else ""
    if cb.action == SHOW_WORD and len(cb.args) == 1:
        return cb.action, problem_id, ""
    if cb.action not in WORD_ACTIONS or len(cb.args) != 2 or level not in LEVELS:
        return None
    return cb.action, problem_id, level


def refusal(w: Who, r: Renderer, outcome: ActOutcome, button_level: str) -> str:
    """Why nothing changed, for an alert: who may act, or what happened and by whom."""
    p = outcome.problem
    if p is None:
        return w.t("problems.act.not_found")
    if outcome.verdict is Verdict.NOT_ALLOWED:
        level = button_level if button_level in LEVELS else p.level
        where = p.group_name if level == "group" else p.team_name
        return w.t(f"problems.act.not_allowed_{level}", where=where or "-")
    what = r.event(outcome.event.view()) if outcome.event else r.status(p.view())
    key = {
        Verdict.MOVED: "problems.act.moved",
        Verdict.CLOSED: "problems.act.closed",
        Verdict.ALREADY_CLAIMED: "problems.act.already_claimed",
    }.get(outcome.verdict, "problems.act.not_now")
    return _short(w.t(key, number=number(p.id), event=what, level=r.level(p.level)))


async def _judge_press(
    update: Update, context: Context, w: Who, action: Action, problem_id: int, level: str
) -> ActOutcome:
    """The verdict on a press, read from the database now (nothing is written)."""
    d = deps(context)
    assert w.cadre is not None
    problem = await problems.get(d.db, problem_id)
    if problem is None:
        return ActOutcome(Verdict.NOT_ALLOWED, None, None)
    verdict = judge(
        actor_of(w.cadre),
        action,
        level,
        problem.level,
        problem.status,
        problem.team_id,
        problem.group_id,
    )
    why: tuple[str, ...] = ()
    if verdict is Verdict.MOVED:
        why = ("escalate", "auto_escalate", "hand_down")
    elif verdict is Verdict.CLOSED:
        why = ("solve", "explain")
    elif verdict is Verdict.ALREADY_CLAIMED:
        why = ("claim",)
    found = await problems.last_event(d.db, problem_id, why) if why else None
    return ActOutcome(verdict, problem, found)


def _chat_id(update: Update) -> int | None:
    return update.effective_chat.id if update.effective_chat else None


def _done_text(w: Who, r: Renderer, outcome: ActOutcome) -> str:
    assert outcome.problem is not None and outcome.event is not None
    return w.t(
        f"problems.act.done_{outcome.event.action}",
        number=number(outcome.problem.id),
        level=r.level(outcome.problem.level),
        department=outcome.problem.department or "",
    )


# --- claim: no words needed ------------------------------------------------------------


async def on_claim(update: Update, context: Context) -> None:
    """认领: the presser becomes the owner at this level."""
    query = update.callback_query
    assert query is not None
    w = await member(update, context)
    if w is None or w.cadre is None:
        return
    parsed = _parse(query.data)
    if parsed is None:
        await query.answer(w.t("common.stale_button"), show_alert=True)
        return
    _, problem_id, level = parsed
    d = deps(context)
    r = renderer(context, w)
    outcome = await problem_flow.act(
        d.db,
        d.settings,
        d.catalog,
        problem_id=problem_id,
        actor=w.cadre,
        action=Action.CLAIM,
        button_level=level,
        chat_id=_chat_id(update),
        now=d.now(),
    )
    if outcome.verdict is not Verdict.OK:
        await query.answer(refusal(w, r, outcome, level), show_alert=True)
        return
    await query.answer(_short(_done_text(w, r, outcome)))


# --- show: a private snapshot of the card and its history --------------------------------


async def _may_view(context: Context, w: Who, p: Problem) -> bool:
    assert w.cadre is not None
    if w.cadre.role in (Role.OFFICE, Role.INSPECTOR):
        return True
    if await problems.is_reporter(deps(context).db, p.id, w.cadre.id):
        return True
    actor = actor_of(w.cadre)
    return any(may_act(actor, level, p.team_id, p.group_id) for level in LEVELS)


async def on_show(update: Update, context: Context) -> None:
    """A problem's card and history, sent to whoever asked from a list."""
    query = update.callback_query
    assert query is not None
    w = await member(update, context)
    if w is None or w.cadre is None:
        return
    parsed = _parse(query.data)
    d = deps(context)
    problem = await problems.get(d.db, parsed[1]) if parsed else None
    if problem is None:
        await query.answer(w.t("problems.act.not_found"), show_alert=True)
        return
    if not await _may_view(context, w, problem):
        await query.answer(w.t("common.not_allowed"), show_alert=True)
        return
    await query.answer()
    r = renderer(context, w)
    history = await problems.events(d.db, problem.id)
    actionable = may_act(actor_of(w.cadre), problem.level, problem.team_id, problem.group_id)
    view = problem.view(history[-1] if history else None)
    payload = r.card_payload(view, d.now(), actionable=actionable)
    lines = [r.event(e.view()) for e in history[-10:]]
    text = payload["text"] + "\n\n" + w.t("problems.act.history") + "\n" + "\n".join(lines)
    await reply(update, text[:4000], payload.get("reply_markup"))


# --- the dialog: text actions ----------------------------------------------------------


class PrivateDialog(ConversationHandler):  # type: ignore[type-arg]
    """A conversation held in the presser's private chat although it is entered from a
    button in any chat: a card press in a team chat keys the conversation to the
    presser's private chat, where the next text they type answers it. (The key is the
    same ``(chat, user)`` pair the draft row holds, so a restart rebuilds it.)"""

    def _get_key(self, update: Update) -> ConversationKey:
        user = update.effective_user
        if update.callback_query is not None and user is not None:
            return (user.id, user.id)
        return super()._get_key(update)


async def on_text_action(update: Update, context: Context) -> State:
    """A card button that needs words: judge it, then ask in the presser's private chat."""
    query = update.callback_query
    assert query is not None
    w = await member(update, context)
    if w is None or w.cadre is None:
        return None
    parsed = _parse(query.data)
    if parsed is None:
        await query.answer(w.t("common.stale_button"), show_alert=True)
        return None
    word, problem_id, level = parsed
    action = WORD_ACTIONS[word]
    r = renderer(context, w)
    outcome = await _judge_press(update, context, w, action, problem_id, level)
    if outcome.verdict is not Verdict.OK:
        await query.answer(refusal(w, r, outcome, level), show_alert=True)
        return None
    d = deps(context)
    if await drafts.other_open(d.db, w.user_id, w.user_id, KIND) is not None:
        # Text typed in private goes to one flow at a time: finish the other one first.
        await query.answer(w.t("problems.act.busy"), show_alert=True)
        return None
    data = {
        "problem_id": problem_id,
        "action": str(action),
        "level": level,
        "origin": _chat_id(update),
    }
    draft = await drafts.start(d.db, KIND, w.cadre.id, w.user_id, w.user_id, TEXT, data, d.now())
    try:
        await _ask(context, w, draft)
    except (Forbidden, BadRequest) as exc:
        log.info("could not open a private dialog with a presser: %s", exc)
        await drafts.cancel(d.db, draft.id, d.now())
        await query.answer(w.t("problems.act.open_private_first"), show_alert=True)
        return ConversationHandler.END
    private = update.effective_chat is not None and update.effective_chat.id == w.user_id
    await query.answer(None if private else w.t("problems.act.see_private"))
    return TEXT


async def _ask(context: Context, w: Who, draft: Draft, note: str = "") -> None:
    """Send the dialog's question for the draft's step to the presser's private chat."""
    data = draft.data
    action = Action(data["action"])
    pid = number(int(data["problem_id"]))
    cancel = screen.button(
        w.t("problems.act.cancel_button"), callbacks.encode(NS, "cancel", draft.id)
    )
    rows: list[list[Button]] = []
    if draft.step == WHO:
        text = w.t("problems.act.ask_who", number=pid)
    elif draft.step == WHEN:
        text = w.t("problems.act.ask_when", number=pid)
        rows.append(
            [
                screen.button(w.t("problems.act.today"), callbacks.encode(NS, "day", draft.id, 0)),
                screen.button(
                    w.t("problems.act.yesterday"), callbacks.encode(NS, "day", draft.id, 1)
                ),
            ]
        )
    else:
        text = w.t(_PROMPTS[action], number=pid, max=_LIMITS.get(action, MAX_NOTE))
    rows.append([cancel])
    if note:
        text = note + "\n" + text
    await screen.send(context.bot, w.user_id, text, screen.inline(rows))


async def _dialog_draft(update: Update, context: Context) -> tuple[Who, Draft] | None:
    w = await member(update, context)
    if w is None:
        return None
    d = deps(context)
    draft = await drafts.open_draft(d.db, KIND, w.user_id, w.user_id)
    if draft is None:
        if update.callback_query is not None:
            await update.callback_query.answer(w.t("common.stale_button"), show_alert=True)
        else:
            await reply(update, w.t("common.not_understood"))
        return None
    if update.callback_query is None and await drafts.other_open(
        d.db, w.user_id, w.user_id, KIND, after_id=draft.id
    ):
        # Another flow started after this dialog: this text is not for the dialog.
        await drafts.cancel(d.db, draft.id, d.now())
        await reply(update, w.t("problems.act.dropped_for_other", number=_pid(draft)))
        return None
    return w, draft


def _pid(draft: Draft) -> str:
    return number(int(draft.data.get("problem_id", 0)))


async def on_dialog_text(update: Update, context: Context) -> State:
    """The words the dialog asked for."""
    found = await _dialog_draft(update, context)
    message = update.effective_message
    if found is None or message is None:
        return ConversationHandler.END
    w, draft = found
    d = deps(context)
    if not message.text:
        await _ask(context, w, draft, w.t("problems.act.text_please"))
        return None
    data = dict(draft.data)
    action = Action(data["action"])
    text = clean_text(message.text)
    if draft.step == WHEN:
        day = parse_day(text, d.local_now().date())
        if day is None:
            await _ask(context, w, draft, w.t("problems.act.bad_day"))
            return None
        data["on"] = day.isoformat()
        return await _finish(update, context, w, draft, data)
    limit = MAX_NAME if draft.step == WHO else _LIMITS.get(action, MAX_NOTE)
    if not text:
        await _ask(context, w, draft, w.t("problems.act.empty"))
        return None
    if len(text) > limit:
        await _ask(context, w, draft, w.t("problems.act.too_long", length=len(text), max=limit))
        return None
    if action is Action.EXPLAIN and draft.step == TEXT:
        data["text"] = text
        await drafts.save(d.db, draft.id, WHO, data, d.now())
        return await _reask(context, w, draft.id, WHO)
    if action is Action.EXPLAIN and draft.step == WHO:
        data["by"] = text
        await drafts.save(d.db, draft.id, WHEN, data, d.now())
        return await _reask(context, w, draft.id, WHEN)
    data["text"] = text
    return await _finish(update, context, w, draft, data)


async def _reask(context: Context, w: Who, draft_id: int, step: str) -> State:
    fresh = await drafts.get(deps(context).db, draft_id)
    assert fresh is not None
    await _ask(context, w, fresh)
    return step


def parse_day(text: str, today: date) -> date | None:
    """A day the people were told: 2026-11-15, 11-15, 11月15日, 11/15; not in the future,
    not more than a year back."""
    t = text.strip()
    m = re.fullmatch(r"(?:(\d{4})[-/.年])?\s*(\d{1,2})[-/.月]\s*(\d{1,2})日?", t)
    if not m:
        return None
    year = int(m.group(1)) if m.group(1) else today.year
    try:
        day = date(year, int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
    if not m.group(1) and day > today:
        day = day.replace(year=year - 1) if not (day.month == 2 and day.day == 29) else day
    if day > today or day < today - timedelta(days=366):
        return None
    return day


async def on_dialog_button(update: Update, context: Context) -> State:
    """Today / yesterday (explain) and Cancel."""
    query = update.callback_query
    assert query is not None
    found = await _dialog_draft(update, context)
    if found is None:
        return ConversationHandler.END
    w, draft = found
    try:
        cb = callbacks.decode(query.data, NS)
        draft_id = cb.int_arg(0)
    except callbacks.CallbackError:
        draft_id = -1
        cb = None
    if cb is None or draft_id != draft.id:
        await query.answer(w.t("common.stale_button"), show_alert=True)
        return None
    d = deps(context)
    if cb.action == "cancel":
        await query.answer()
        await drafts.cancel(d.db, draft.id, d.now())
        await reply(update, w.t("problems.act.cancelled"))
        return ConversationHandler.END
    if cb.action == "day" and draft.step == WHEN and cb.args[1:] in (("0",), ("1",)):
        await query.answer()
        data = dict(draft.data)
        data["on"] = (d.local_now().date() - timedelta(days=int(cb.args[1]))).isoformat()
        return await _finish(update, context, w, draft, data)
    await query.answer(w.t("common.stale_button"), show_alert=True)
    return None


async def _finish(
    update: Update, context: Context, w: Who, draft: Draft, data: dict[str, Any]
) -> State:
    """Apply the action, judged again now: the problem may have moved meanwhile."""
    d = deps(context)
    assert w.cadre is not None
    action = Action(data["action"])
    origin = data.get("origin")
    outcome = await problem_flow.act(
        d.db,
        d.settings,
        d.catalog,
        problem_id=int(data["problem_id"]),
        actor=w.cadre,
        action=action,
        button_level=str(data["level"]),
        chat_id=int(origin) if origin is not None else None,
        now=d.now(),
        note=str(data.get("text", "")),
        explained_by=data.get("by"),
        explained_on=data.get("on"),
        department=data.get("text") if action is Action.ASSIGN else None,
        draft_id=draft.id,
    )
    r = renderer(context, w)
    if outcome.duplicate:
        text = w.t("problems.act.already_done")
    elif outcome.verdict is Verdict.OK:
        text = _done_text(w, r, outcome)
    else:
        text = refusal(w, r, outcome, str(data["level"]))
    await context.bot.send_message(w.user_id, text)
    return ConversationHandler.END


async def on_dialog_other(update: Update, context: Context) -> State:
    """A photo, a sticker ...: the dialog wants words."""
    found = await _dialog_draft(update, context)
    if found is None:
        return ConversationHandler.END
    w, draft = found
    await _ask(context, w, draft, w.t("problems.act.text_please"))
    return None


async def dialog_cancel(update: Update, context: Context) -> State:
    """/cancel in the dialog."""
    found = await _dialog_draft(update, context)
    if found is not None:
        w, draft = found
        d = deps(context)
        await drafts.cancel(d.db, draft.id, d.now())
        await reply(update, w.t("problems.act.cancelled"))
    return ConversationHandler.END


_TEXT_WORDS = "|".join(re.escape(w) for w, a in WORD_ACTIONS.items() if a is not Action.CLAIM)


def dialog() -> ConversationHandler[Any]:
    private = filters.ChatType.PRIVATE
    in_step: list[BaseHandler[Any, Any, Any]] = [
        MessageHandler(private & filters.TEXT & ~filters.COMMAND, on_dialog_text),
        CallbackQueryHandler(on_dialog_button, pattern=callbacks.pattern(NS)),
        MessageHandler(private & ~filters.COMMAND & ~filters.StatusUpdate.ALL, on_dialog_other),
    ]
    with quiet_per_message():
        return PrivateDialog(
            entry_points=[
                CallbackQueryHandler(on_text_action, pattern=rf"^{CARD_NS}:v1:({_TEXT_WORDS}):")
            ],
            states={step: list(in_step) for step in STEPS},
            fallbacks=[CommandHandler("cancel", dialog_cancel, filters=private)],
            name=KIND,
            persistent=True,
            per_chat=True,
            per_user=True,
            per_message=False,
            allow_reentry=True,
        )


async def stale_dialog_button(update: Update, context: Context) -> None:
    query = update.callback_query
    if query is None:
        return
    w = await member(update, context)
    if w is not None:
        await query.answer(w.t("problems.act.dialog_over"), show_alert=True)


async def forged(update: Update, context: Context) -> None:
    """Card data no handler above understood."""
    query = update.callback_query
    if query is None:
        return
    w = await member(update, context)
    if w is not None:
        await query.answer(w.t("common.stale_button"), show_alert=True)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    return [
        CallbackQueryHandler(on_claim, pattern=rf"^{CARD_NS}:v1:claim:"),
        CallbackQueryHandler(on_show, pattern=rf"^{CARD_NS}:v1:{SHOW_WORD}:"),
        CallbackQueryHandler(stale_dialog_button, pattern=callbacks.pattern(NS)),
        CallbackQueryHandler(forged, pattern=callbacks.pattern(CARD_NS)),
    ]
