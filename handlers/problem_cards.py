"""Buttons on problem cards, wherever the card is (team chat, office chat, a leader's
private chat), and the short private dialog an action that needs words opens.

Every press goes to services/problems.py, which judges it (campaign/ladder.py) against
the problem as it is now and says what to answer: done, or why not. Claiming needs no
words and is done at once; a note, solving, explaining, sending up, handing down and
naming a department ask for text in the presser's private chat, because team chats run
in privacy mode.

The dialog is a conversation of the presser's private chat. A press in a team chat
cannot enter it there (the conversation is keyed by chat and user), so the press only
opens the dialog's draft and asks in private; the conversation's entry points then
resume it from that draft, which is also what makes a restart resume it.
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

from campaign import callbacks
from campaign.ladder import MAX_NAME, MAX_NOTE, Action, clean_text
from campaign.problem_cards import SHOW_WORD, WORD_ACTIONS, number, read_press
from handlers import screen
from handlers.common import Context, Who, deps, reply, who
from handlers.fallback import nothing_to_cancel, unknown_private
from handlers.problem_common import State, member, quiet_per_message
from services import problem_raise, problem_views, problems
from services.problem_raise import Draft
from services.problems import ActRequest

log = logging.getLogger(__name__)

KIND = "problem_action"  # the draft kind and the ConversationHandler name
DIALOG = callbacks.CARD_DIALOG

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


def _chat_id(update: Update) -> int | None:
    return update.effective_chat.id if update.effective_chat else None


def _request(update: Update, w: Who, action: Action, problem_id: int, level: str) -> ActRequest:
    assert w.cadre is not None
    return ActRequest(problem_id, w.cadre, action, level, _chat_id(update), w.lang)


# --- claim: no words needed ------------------------------------------------------------


async def on_claim(update: Update, context: Context) -> None:
    """认领: the presser becomes the owner at this level."""
    query = update.callback_query
    assert query is not None
    w = await member(update, context)
    if w is None or w.cadre is None:
        return
    press = read_press(query.data)
    if press is None or press.action is not Action.CLAIM:
        await query.answer(w.t("common.stale_button"), show_alert=True)
        return
    outcome = await problems.act(
        deps(context), _request(update, w, Action.CLAIM, press.problem_id, press.level)
    )
    await query.answer(outcome.text, show_alert=not outcome.ok)


# --- show: a private snapshot of the card and its history --------------------------------


async def on_show(update: Update, context: Context) -> None:
    """A problem's card and history, sent to whoever asked from a list."""
    query = update.callback_query
    assert query is not None
    w = await member(update, context)
    if w is None or w.cadre is None:
        return
    press = read_press(query.data)
    if press is None:
        await query.answer(w.t("common.stale_button"), show_alert=True)
        return
    shown = await problem_views.show(deps(context), w.cadre, press.problem_id, w.lang)
    if shown.message is None:
        await query.answer(shown.refusal, show_alert=True)
        return
    await query.answer()
    await reply(update, shown.message.text, screen.markup_of(shown.message))


# --- the dialog: text actions ----------------------------------------------------------


async def on_text_action(update: Update, context: Context) -> None:
    """A card button that needs words: judged first, then asked in the presser's private
    chat (the dialog's draft remembers the press)."""
    query = update.callback_query
    assert query is not None
    w = await member(update, context)
    if w is None or w.cadre is None:
        return
    press = read_press(query.data)
    if press is None or press.action is None or press.action is Action.CLAIM:
        await query.answer(w.t("common.stale_button"), show_alert=True)
        return
    d = deps(context)
    outcome = await problems.check(
        d, _request(update, w, press.action, press.problem_id, press.level)
    )
    if not outcome.ok:
        await query.answer(outcome.text, show_alert=True)
        return
    if await problem_raise.other_open(d, w.user_id, KIND) is not None:
        # Text typed in private goes to one flow at a time: finish the other one first.
        await query.answer(w.t("problems.act.busy"), show_alert=True)
        return
    data = {
        "problem_id": press.problem_id,
        "action": str(press.action),
        "level": press.level,
        "origin": _chat_id(update),
    }
    draft = await problem_raise.start(d, KIND, w.cadre, w.user_id, TEXT, data)
    try:
        await _ask(context, w, draft)
    except (Forbidden, BadRequest) as exc:
        log.info("could not open a private dialog with a presser: %s", exc)
        await problem_raise.cancel(d, draft.id)
        await query.answer(w.t("problems.act.open_private_first"), show_alert=True)
        return
    private = _chat_id(update) == w.user_id
    await query.answer(None if private else w.t("problems.act.see_private"))


async def _ask(context: Context, w: Who, draft: Draft, note: str = "") -> None:
    """Send the dialog's question for the draft's step to the presser's private chat."""
    data = draft.data
    action = Action(data["action"])
    pid = number(int(data["problem_id"]))
    cancel = screen.button(w.t("problems.act.cancel_button"), DIALOG.build("cancel", draft.id))
    rows: list[list[screen.Button]] = []
    if draft.step == WHO:
        text = w.t("problems.act.ask_who", number=pid)
    elif draft.step == WHEN:
        text = w.t("problems.act.ask_when", number=pid)
        rows.append(
            [
                screen.button(w.t("problems.act.today"), DIALOG.build("day", draft.id, 0)),
                screen.button(w.t("problems.act.yesterday"), DIALOG.build("day", draft.id, 1)),
            ]
        )
    else:
        text = w.t(_PROMPTS[action], number=pid, max=_LIMITS.get(action, MAX_NOTE))
    rows.append([cancel])
    if note:
        text = note + "\n" + text
    await screen.send(context.bot, w.user_id, text, screen.inline(rows))


async def _dialog_draft(update: Update, context: Context) -> tuple[Who, Draft] | None:
    """The presser and their open dialog; None (after saying so) when there is none or
    another flow was started after it."""
    w = await member(update, context)
    if w is None:
        return None
    d = deps(context)
    draft = await problem_raise.open_draft(d, KIND, w.user_id)
    if draft is None:
        if update.callback_query is not None:
            await update.callback_query.answer(w.t("problems.act.dialog_over"), show_alert=True)
        else:
            await unknown_private(update, context)
        return None
    if update.callback_query is None and await problem_raise.other_open(
        d, w.user_id, KIND, after_id=draft.id
    ):
        # Another flow started after this dialog: this text is not for the dialog.
        await problem_raise.cancel(d, draft.id)
        await reply(update, w.t("problems.act.dropped_for_other", number=_pid(draft)))
        return None
    return w, draft


def _pid(draft: Draft) -> str:
    return number(int(draft.data.get("problem_id", 0)))


async def on_dialog_text(update: Update, context: Context) -> State:
    """The words the dialog asked for (or, with no dialog open, stray text)."""
    found = await _dialog_draft(update, context)
    message = update.effective_message
    if found is None or message is None:
        return ConversationHandler.END
    w, draft = found
    d = deps(context)
    if not message.text:
        await _ask(context, w, draft, w.t("problems.act.text_please"))
        return draft.step
    data = dict(draft.data)
    action = Action(data["action"])
    text = clean_text(message.text)
    if draft.step == WHEN:
        day = parse_day(text, d.local_now().date())
        if day is None:
            await _ask(context, w, draft, w.t("problems.act.bad_day"))
            return draft.step
        data["on"] = day.isoformat()
        return await _finish(update, context, w, draft, data)
    limit = MAX_NAME if draft.step == WHO else _LIMITS.get(action, MAX_NOTE)
    if not text:
        await _ask(context, w, draft, w.t("problems.act.empty"))
        return draft.step
    if len(text) > limit:
        await _ask(context, w, draft, w.t("problems.act.too_long", length=len(text), max=limit))
        return draft.step
    if action is Action.EXPLAIN and draft.step in (TEXT, WHO):
        data["text" if draft.step == TEXT else "by"] = text
        step = WHO if draft.step == TEXT else WHEN
        fresh = await problem_raise.save(d, draft.id, step, data)
        if fresh is None:
            return ConversationHandler.END
        await _ask(context, w, fresh)
        return step
    data["text"] = text
    return await _finish(update, context, w, draft, data)


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
        cb = DIALOG.parse(query.data)
        draft_id = cb.int_arg(0)
    except callbacks.CallbackError:
        await query.answer(w.t("common.stale_button"), show_alert=True)
        return draft.step
    if draft_id != draft.id:
        await query.answer(w.t("common.stale_button"), show_alert=True)
        return draft.step
    d = deps(context)
    if cb.action == "cancel":
        await query.answer()
        await problem_raise.cancel(d, draft.id)
        await reply(update, w.t("problems.act.cancelled"))
        return ConversationHandler.END
    if cb.action == "day" and draft.step == WHEN and cb.args[1] in ("0", "1"):
        await query.answer()
        data = dict(draft.data)
        data["on"] = (d.local_now().date() - timedelta(days=int(cb.args[1]))).isoformat()
        return await _finish(update, context, w, draft, data)
    await query.answer(w.t("common.stale_button"), show_alert=True)
    return draft.step


async def _finish(
    update: Update, context: Context, w: Who, draft: Draft, data: dict[str, Any]
) -> State:
    """Apply the action; the service judges it again (the problem may have moved)."""
    assert w.cadre is not None
    origin = data.get("origin")
    request = ActRequest(
        problem_id=int(data["problem_id"]),
        actor=w.cadre,
        action=Action(data["action"]),
        button_level=str(data["level"]),
        chat_id=int(origin) if origin is not None else None,
        lang=w.lang,
        note=str(data.get("text", "")),
        explained_by=data.get("by"),
        explained_on=data.get("on"),
        draft_id=draft.id,
    )
    outcome = await problems.act(deps(context), request)
    await screen.send(context.bot, w.user_id, outcome.text)
    return ConversationHandler.END


async def on_dialog_other(update: Update, context: Context) -> State:
    """A photo, a sticker ...: the dialog wants words."""
    found = await _dialog_draft(update, context)
    if found is None:
        return ConversationHandler.END
    w, draft = found
    await _ask(context, w, draft, w.t("problems.act.text_please"))
    return draft.step


async def dialog_cancel(update: Update, context: Context) -> State:
    """/cancel in the dialog (or, with none open, what the fallback says to it)."""
    w = await who(update, context)
    if w is None:
        return ConversationHandler.END
    draft = await problem_raise.open_draft(deps(context), KIND, w.user_id)
    if draft is None or w.cadre is None:
        await nothing_to_cancel(update, context)
        return ConversationHandler.END
    await problem_raise.cancel(deps(context), draft.id)
    await reply(update, w.t("problems.act.cancelled"))
    return ConversationHandler.END


async def ignore_edit(update: Update, context: Context) -> State:
    """An edited message is never an answer: editing an old message must not close a
    problem with the edited words. The dialog stays where it is."""
    return None


def dialog() -> ConversationHandler[Any]:
    """The dialog in the presser's private chat. Its entry points resume an open dialog
    draft (after a card press elsewhere, or a restart); with none open they answer as
    the fallback does, so they take nothing another handler would have taken."""
    private = filters.ChatType.PRIVATE
    fresh = filters.UpdateType.MESSAGE
    edited = filters.UpdateType.EDITED_MESSAGE & private
    in_step: list[BaseHandler[Any, Any, Any]] = [
        MessageHandler(edited, ignore_edit),
        MessageHandler(fresh & private & filters.TEXT & ~filters.COMMAND, on_dialog_text),
        CallbackQueryHandler(on_dialog_button, pattern=DIALOG.pattern()),
        MessageHandler(
            fresh & private & ~filters.COMMAND & ~filters.StatusUpdate.ALL, on_dialog_other
        ),
    ]
    cancel: BaseHandler[Any, Any, Any] = CommandHandler(
        "cancel", dialog_cancel, filters=private & fresh
    )
    with quiet_per_message():
        return ConversationHandler(
            entry_points=[*in_step, cancel],
            states={step: list(in_step) for step in STEPS},
            fallbacks=[cancel],
            name=KIND,
            persistent=True,
            per_chat=True,
            per_user=True,
            per_message=False,
            allow_reentry=True,
        )


async def forged(update: Update, context: Context) -> None:
    """Card data no handler above understood."""
    query = update.callback_query
    if query is None:
        return
    w = await member(update, context)
    if w is not None:
        await query.answer(w.t("common.stale_button"), show_alert=True)


_TEXT_WORDS = [w for w, a in WORD_ACTIONS.items() if a is not Action.CLAIM]


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The card buttons (the dialog's conversation is registered by handlers/problems.py,
    before the raising flow's stale-button catcher)."""
    card = callbacks.CARD
    return [
        CallbackQueryHandler(on_claim, pattern=card.pattern("claim")),
        CallbackQueryHandler(on_text_action, pattern=card.pattern(*_TEXT_WORDS)),
        CallbackQueryHandler(on_show, pattern=card.pattern(SHOW_WORD)),
        CallbackQueryHandler(forged, pattern=card.pattern()),
    ]
