"""Raising a problem (反映问题): /problem or the menu button, step by step in private.

Place → (open problems already raised there: join one as "same problem") → category →
description → photos → urgent? → can our group solve it? → summary (Submit / change /
Cancel) → receipt with the number P-<id>. The draft row is the truth: every step saves
the data and the step it reaches before it answers, so a restart resumes where the
cadre was, and Submit closes the draft in the transaction that writes the problem.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from campaign import callbacks
from campaign.ladder import MAX_DESCRIPTION, MAX_PHOTOS, clean_text
from campaign.problem_cards import number
from campaign.roles import FIELD_ROLES
from campaign.vocabulary import PROBLEM_CATEGORIES
from handlers import problem_cards, problem_lists, screen
from handlers.common import Context, Who, deps, is_private, reply, who
from handlers.problem_common import State, member, quiet_per_message
from handlers.problem_steps import (
    CATEGORY,
    DESCRIPTION,
    DUPLICATE,
    EDIT,
    FIELDS,
    KIND,
    NS,
    PHOTOS,
    PLACE,
    SOLVABLE,
    STEP_BUTTONS,
    STEPS,
    SUMMARY,
    URGENT,
    button,
    cancel_row,
    prompt,
    two_columns,
)
from services import problem_raise, problems
from services.problem_raise import Draft
from services.problems import Joined, NewProblem

log = logging.getLogger(__name__)


async def _go(
    update: Update,
    context: Context,
    w: Who,
    draft: Draft,
    step: str,
    data: dict[str, Any],
    note: str = "",
) -> State:
    """Save the data and the step reached, then ask what that step asks."""
    fresh = await problem_raise.save(deps(context), draft.id, step, data)
    if fresh is None:
        await reply(update, w.t("problems.raise.no_draft"))
        return ConversationHandler.END
    await prompt(update, context, w, fresh, note)
    return step


def _after(step: str, data: dict[str, Any], w: Who) -> str:
    """The step after ``step`` (back to the summary when a field is being changed)."""
    if data.get("editing") and step != PLACE:
        return SUMMARY
    order = [CATEGORY, DESCRIPTION, PHOTOS, URGENT, SOLVABLE, SUMMARY]
    if step in (PLACE, DUPLICATE):
        return SUMMARY if data.get("editing") else CATEGORY
    nxt = order[order.index(step) + 1]
    if nxt == SOLVABLE and (w.cadre is None or w.cadre.group_id is None):
        return SUMMARY
    return nxt


# --- entry ---------------------------------------------------------------------------


async def _may_raise(update: Update, context: Context) -> Who | None:
    w = await member(update, context)
    if w is None or w.cadre is None:
        return None
    if w.cadre.role not in FIELD_ROLES or w.cadre.team_id is None:
        if update.callback_query is not None:
            await update.callback_query.answer(w.t("problems.raise.not_for_you"), show_alert=True)
        else:
            await reply(update, w.t("problems.raise.not_for_you"))
        return None
    return w


async def start(update: Update, context: Context) -> State:
    """/problem or the menu button: open a fresh draft and ask for the place."""
    query = update.callback_query
    if query is not None and not is_private(update):
        # A menu button only exists in private; a press in a group is forged or
        # misplaced, and a report is never typed where the group reads along.
        found = await who(update, context)
        await query.answer(
            found.t("problems.raise.private_only") if found else None, show_alert=True
        )
        return ConversationHandler.END
    w = await _may_raise(update, context)
    if w is None or w.cadre is None:
        return ConversationHandler.END
    d = deps(context)
    dialog = await problem_raise.open_draft(d, problem_cards.KIND, w.user_id)
    if dialog is not None:  # a fresh /problem means the card dialog was left behind
        await problem_raise.cancel(d, dialog.id)
    draft = await problem_raise.start(d, KIND, w.cadre, w.user_id, PLACE, {})
    if update.callback_query is not None:
        await update.callback_query.answer()
    await prompt(update, context, w, draft)
    return PLACE


async def _current(update: Update, context: Context) -> tuple[Who, Draft] | None:
    w = await member(update, context)
    if w is None:
        return None
    draft = await problem_raise.open_draft(deps(context), KIND, w.user_id)
    if draft is None:
        if update.callback_query is not None:
            await update.callback_query.answer(w.t("common.stale_button"), show_alert=True)
        else:
            await reply(update, w.t("problems.raise.no_draft"))
        return None
    return w, draft


# --- buttons -------------------------------------------------------------------------


async def on_button(update: Update, context: Context) -> State:
    """Any button of the flow: checked against the open draft and its step."""
    query = update.callback_query
    assert query is not None
    found = await _current(update, context)
    if found is None:
        return ConversationHandler.END
    w, draft = found
    try:
        cb = NS.parse(query.data)
        draft_id = cb.int_arg(0)
    except callbacks.CallbackError:
        await query.answer(w.t("common.stale_button"), show_alert=True)
        return None
    if cb.action == "cancel" and draft_id == draft.id:
        await query.answer()
        return await _cancel(update, context, w, draft)
    if draft_id != draft.id or cb.action not in STEP_BUTTONS.get(draft.step, frozenset()):
        await query.answer(w.t("problems.raise.old_button"), show_alert=True)
        if draft_id == draft.id:
            # A button of an earlier step of this report: after a crash the question of
            # the step the draft is at may never have reached the cadre; ask it again.
            await prompt(update, context, w, draft)
        return None
    await query.answer()
    data = dict(draft.data)
    arg = cb.args[1] if len(cb.args) > 1 else ""
    d = deps(context)
    assert w.cadre is not None
    if cb.action == "place":
        return await _place_chosen(update, context, w, draft, data, _int(arg))
    if cb.action == "vill":
        place = await problem_raise.place_in_scope(d, w.cadre, _int(arg))
        if place is None or place.kind != "village":
            return await _go(
                update, context, w, draft, PLACE, data, w.t("problems.raise.bad_place")
            )
        data["village"] = place.id
        return await _go(update, context, w, draft, PLACE, data)
    if cb.action == "back":
        data.pop("village", None)
        step = SUMMARY if draft.step == EDIT else PLACE
        return await _go(update, context, w, draft, step, data)
    if cb.action == "new":
        return await _go(update, context, w, draft, _after(DUPLICATE, data, w), data)
    if cb.action == "join":
        return await _join(update, context, w, draft, _int(arg))
    if cb.action == "cat":
        if arg not in PROBLEM_CATEGORIES:
            return await _go(update, context, w, draft, CATEGORY, data)
        data["category"] = arg
        return await _go(update, context, w, draft, _after(CATEGORY, data, w), data)
    if cb.action == "pdone":
        data.pop("album", None)
        return await _go(update, context, w, draft, _after(PHOTOS, data, w), data)
    if cb.action == "urg":
        data["urgent"] = arg == "1"
        return await _go(update, context, w, draft, _after(URGENT, data, w), data)
    if cb.action == "solv":
        data["solvable"] = arg == "1"
        return await _go(update, context, w, draft, _after(SOLVABLE, data, w), data)
    if cb.action == "edit":
        return await _go(update, context, w, draft, EDIT, data)
    if cb.action == "field" and arg in FIELDS:
        data["editing"] = True
        step = {
            "place": PLACE,
            "category": CATEGORY,
            "description": DESCRIPTION,
            "photos": PHOTOS,
            "urgent": URGENT,
            "solvable": SOLVABLE,
        }[arg]
        if arg == "photos":
            data["photos"] = []
        data.pop("village", None)
        return await _go(update, context, w, draft, step, data)
    if cb.action == "submit":
        return await _submit(update, context, w, draft)
    return None


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return -1


async def _place_chosen(
    update: Update, context: Context, w: Who, draft: Draft, data: dict[str, Any], place_id: int
) -> State:
    d = deps(context)
    assert w.cadre is not None
    place = await problem_raise.place_in_scope(d, w.cadre, place_id)
    if place is None:
        return await _go(update, context, w, draft, PLACE, data, w.t("problems.raise.bad_place"))
    data.pop("village", None)
    data["place_id"] = place.id
    data["place_name"] = (
        w.t("problems.card.place_in_village", place=place.name, village=place.village_name)
        if place.village_name
        else place.name
    )
    if await problem_raise.duplicates(d, place.id, w.cadre):
        return await _go(update, context, w, draft, DUPLICATE, data)
    return await _go(update, context, w, draft, _after(PLACE, data, w), data)


async def _join(update: Update, context: Context, w: Who, draft: Draft, problem_id: int) -> State:
    d = deps(context)
    assert w.cadre is not None
    candidates = await problem_raise.duplicates(d, int(draft.data["place_id"]), w.cadre)
    if problem_id not in {c.problem.id for c in candidates}:
        await prompt(update, context, w, draft, w.t("problems.raise.join_gone"))
        return None
    outcome = await problems.join_problem(
        d,
        draft_id=draft.id,
        cadre=w.cadre,
        problem_id=problem_id,
        chat_id=update.effective_chat.id if update.effective_chat else None,
        lang=w.lang,
    )
    if outcome.result is Joined.CLOSED:
        await prompt(update, context, w, draft, outcome.text)
        return None
    await _tell(update, context, w, f"join:{draft.id}", outcome.text)
    return ConversationHandler.END


async def _tell(update: Update, context: Context, w: Who, key: str, text: str) -> None:
    """The outcome of a submitted report. The press was answered already, so if sending
    fails the outgoing queue delivers it: the report is in, the cadre must learn it."""
    try:
        await reply(update, text)
    except TelegramError as exc:
        log.warning("the outcome of a report was not delivered, queued instead: %s", exc)
        await problems.queue_lost_reply(deps(context), key=key, chat_id=w.user_id, text=text)


async def _submit(update: Update, context: Context, w: Who, draft: Draft) -> State:
    d = deps(context)
    assert w.cadre is not None
    data = draft.data
    missing = [k for k in ("place_id", "category", "description") if not data.get(k)]
    if missing:
        step = {"place_id": PLACE, "category": CATEGORY, "description": DESCRIPTION}[missing[0]]
        return await _go(update, context, w, draft, step, dict(data))
    if await problem_raise.place_in_scope(d, w.cadre, int(data["place_id"])) is None:
        # The roster changed since the place was chosen (moved group, place retired).
        note = w.t("problems.raise.bad_place")
        return await _go(update, context, w, draft, PLACE, dict(data), note)
    new = NewProblem(
        place_id=int(data["place_id"]),
        category=str(data["category"]),
        description=str(data["description"]),
        urgent=bool(data.get("urgent")),
        group_can_solve=bool(data.get("solvable")),
        photos=tuple((str(f), str(u)) for f, u in data.get("photos", [])),
    )
    outcome = await problems.raise_problem(
        d,
        draft_id=draft.id,
        reporter=w.cadre,
        new=new,
        chat_id=update.effective_chat.id if update.effective_chat else None,
        lang=w.lang,
    )
    if outcome.problem_id is None:
        await reply(update, outcome.text)
    else:
        await _tell(update, context, w, f"receipt:{outcome.problem_id}", outcome.text)
    return ConversationHandler.END


async def _cancel(update: Update, context: Context, w: Who, draft: Draft) -> State:
    await problem_raise.cancel(deps(context), draft.id)
    await reply(update, w.t("problems.raise.cancelled"))
    return ConversationHandler.END


async def cancel(update: Update, context: Context) -> State:
    """/cancel: drop the draft."""
    found = await _current(update, context)
    if found is None:
        return ConversationHandler.END
    return await _cancel(update, context, *found)


# --- typed input and photos ------------------------------------------------------------


async def on_message(update: Update, context: Context) -> State:
    """Text, photos and anything else, read according to the draft's step."""
    found = await _current(update, context)
    message = update.effective_message
    if found is None or message is None:
        return ConversationHandler.END
    w, draft = found
    data = dict(draft.data)
    d = deps(context)
    assert w.cadre is not None
    if draft.step == PLACE and message.text:
        typed = clean_text(message.text)[:50]
        found_places = await problem_raise.search_places(d, w.cadre, typed)
        if not found_places:
            await prompt(update, context, w, draft, w.t("problems.raise.no_match", text=typed))
            return None
        buttons = [
            button(
                w,
                "problems.raise.place_button",
                "place",
                draft.id,
                p.id,
                name=w.t("problems.card.place_in_village", place=p.name, village=p.village_name)
                if p.village_name
                else p.name,
            )
            for p in found_places
        ]
        rows = two_columns(buttons) + [cancel_row(w, draft)]
        await reply(update, w.t("problems.raise.matches"), screen.inline(rows))
        return None
    if draft.step == DESCRIPTION:
        if not message.text:
            await prompt(update, context, w, draft, w.t("problems.raise.text_please"))
            return None
        text = clean_text(message.text)
        if not text:
            await prompt(update, context, w, draft, w.t("problems.raise.empty"))
            return None
        if len(text) > MAX_DESCRIPTION:
            await prompt(
                update,
                context,
                w,
                draft,
                w.t("problems.raise.too_long", length=len(text), max=MAX_DESCRIPTION),
            )
            return None
        data["description"] = text
        return await _go(update, context, w, draft, _after(DESCRIPTION, data, w), data)
    if draft.step == PHOTOS and message.photo:
        return await _photo(update, context, w, draft, data)
    await prompt(update, context, w, draft, w.t("problems.raise.use_buttons"))
    return None


async def _photo(
    update: Update, context: Context, w: Who, draft: Draft, data: dict[str, Any]
) -> State:
    message = update.effective_message
    assert message is not None and message.photo
    biggest = message.photo[-1]
    photos: list[list[str]] = [list(p) for p in data.get("photos", [])]
    album = message.media_group_id
    same_album = album is not None and data.get("album") == album
    if len(photos) >= MAX_PHOTOS:
        if not same_album:
            await reply(update, w.t("problems.raise.photos_full", max=MAX_PHOTOS))
        return None
    if all(u != biggest.file_unique_id for _, u in photos):
        photos.append([biggest.file_id, biggest.file_unique_id])
    data["photos"] = photos
    data["album"] = album
    fresh = await problem_raise.save(deps(context), draft.id, PHOTOS, data)
    if fresh is None:
        return ConversationHandler.END
    if same_album:
        return PHOTOS  # one answer per album, not one per picture
    await prompt(update, context, w, fresh, w.t("problems.raise.photo_saved", count=len(photos)))
    return PHOTOS


async def stale_button(update: Update, context: Context) -> None:
    """A button of the flow pressed after it ended: say whether it was submitted."""
    query = update.callback_query
    if query is None:
        return
    w = await who(update, context)
    if w is None:
        return
    text = w.t("common.stale_button")
    try:
        cb = NS.parse(query.data)
        draft = await problem_raise.get(deps(context), cb.int_arg(0))
    except callbacks.CallbackError:
        draft = None
    if (
        draft is not None
        and draft.user_id == w.user_id
        and draft.status == "submitted"
        and draft.result_id is not None
    ):
        text = w.t("problems.raise.already_submitted", number=number(draft.result_id))
        # Said in the chat too: after a crash the press comes again and its alert may
        # no longer be shown; the cadre must still learn the problem is in.
        if update.effective_chat is not None:
            await update.effective_chat.send_message(text)
    elif draft is not None and draft.user_id == w.user_id and draft.status == "cancelled":
        text = w.t("problems.raise.was_cancelled")
    await query.answer(text, show_alert=True)


async def ignore_edit(update: Update, context: Context) -> State:
    """An edited message changes nothing in a draft (the new text must be sent again)."""
    return None


def conversation() -> ConversationHandler[Any]:
    private = filters.ChatType.PRIVATE
    fresh = filters.UpdateType.MESSAGE
    in_step: list[BaseHandler[Any, Any, Any]] = [
        CallbackQueryHandler(on_button, pattern=NS.pattern()),
        # An edit is never new input: an old message edited mid-report changes nothing.
        MessageHandler(filters.UpdateType.EDITED_MESSAGE & private, ignore_edit),
        MessageHandler(fresh & private & ~filters.COMMAND & ~filters.StatusUpdate.ALL, on_message),
    ]
    with quiet_per_message():
        return ConversationHandler(
            entry_points=[
                CommandHandler("problem", start, filters=private & fresh),
                CallbackQueryHandler(start, pattern=callbacks.MENU.pattern("problem")),
            ],
            states={step: list(in_step) for step in STEPS},
            fallbacks=[CommandHandler("cancel", cancel, filters=private & fresh)],
            name=KIND,
            persistent=True,
            per_chat=True,
            per_user=True,
            per_message=False,
            allow_reentry=True,
        )


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The whole problem ledger, in order: raising, the card-action dialog (it never
    starts while another flow is open and gives way to one started after it), card
    buttons and the lists."""
    return [
        conversation(),
        problem_cards.dialog(),
        CallbackQueryHandler(stale_button, pattern=NS.pattern()),
        *problem_cards.handlers(),
        *problem_lists.handlers(),
    ]
