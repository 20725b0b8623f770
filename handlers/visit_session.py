"""The visit flow's session: one update inside the conversation, with its sender, their
open draft and the button pressed; saving a step and showing its question.

The draft row is the truth: ``Session.go`` saves the draft's data and the step it
reaches before it answers, and returns that step's name for the ConversationHandler.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import ConversationHandler

from campaign import callbacks
from campaign.callbacks import Callback, CallbackError
from campaign.runtime import Deps
from campaign.visitform import Form
from campaign.visitrules import DayProblem
from handlers import screen
from handlers import visit_views as views
from handlers.common import Context, Who, require_cadre, who
from handlers.screen import Markup
from handlers.visit_views import NS
from storage import drafts, visits
from storage.drafts import Draft
from storage.people import Cadre
from storage.visits import Place

log = logging.getLogger(__name__)

KIND = "visit"  # the drafts.kind of a visit draft, and the conversation's name
PLACE = "place"
KINDS = "kinds"
DATE = "date"
TEXT = "text"
EXTRAS = "extras"
SUMMARY = "summary"
RESUME = "resume"  # an idle draft: continue it or start over?
ASK_DROP = "ask_drop"  # another command came mid-flow: drop the draft?
END = ConversationHandler.END

NEXT = {PLACE: KINDS, KINDS: DATE, DATE: TEXT, TEXT: EXTRAS, EXTRAS: SUMMARY}
NUMBER = {PLACE: 1, KINDS: 2, DATE: 3, TEXT: 4, EXTRAS: 5}
FIELD_STEPS = {"place": PLACE, "kinds": KINDS, "date": DATE, "text": TEXT, "extras": EXTRAS}
QUESTIONS = (RESUME, ASK_DROP)


class Stop(Exception):
    """Leave the handler now and return ``state`` to the ConversationHandler."""

    def __init__(self, state: object = None) -> None:
        super().__init__()
        self.state = state


@dataclass
class Session:
    """One update inside the flow: who sent it, their open draft, the parsed button."""

    update: Update
    context: Context
    w: Who
    cadre: Cadre
    draft: Draft
    form: Form
    cb: Callback | None = None
    answered: bool = False

    @property
    def d(self) -> Deps:
        return self.w.deps

    @property
    def today(self) -> date:
        return self.d.local_now().date()

    @property
    def message(self) -> Message:
        message = self.update.effective_message
        assert message is not None
        return message

    @property
    def chat_id(self) -> int:
        chat = self.update.effective_chat
        assert chat is not None
        return chat.id

    def next_after(self, step: str) -> str:
        return SUMMARY if self.form.editing else NEXT[step]

    async def answer(self, text: str | None = None, alert: bool = False) -> None:
        query = self.update.callback_query
        if query is not None and not self.answered:
            self.answered = True
            await screen.answer(self.context.bot, query.id, text, alert)

    async def say(self, text: str, markup: Markup | None = None) -> None:
        await self.answer()
        await screen.send(self.context.bot, self.chat_id, text, markup)

    async def show(self, text: str, markup: Markup | None = None) -> None:
        """Edit the message whose button was pressed; otherwise send a new one."""
        await self.answer()
        query = self.update.callback_query
        if self.cb is not None and query is not None and query.message is not None:
            try:
                await screen.edit(
                    self.context.bot, self.chat_id, query.message.message_id, text, markup
                )
                return
            except BadRequest as exc:
                if "not modified" in exc.message.lower():
                    return
                log.info("could not edit a visit message (%s); sending a new one", exc.message)
        await self.say(text, markup)

    async def persist(self, step: str) -> None:
        """Save the draft and the step it reaches (nothing to write if nothing changed)."""
        if step == SUMMARY:
            self.form.editing = True  # from the summary on, each change returns to it
        data = self.form.dump()
        if step == self.draft.step and data == self.draft.data:
            return
        if not await drafts.save(self.d.db, self.draft.id, step, data, self.d.now()):
            await self.answer(self.w.t("visits.draft_closed"), alert=True)
            raise Stop(END)
        self.draft = dataclasses.replace(self.draft, step=step, data=data)

    async def go(
        self, step: str, *, note: str | None = None, places: list[Place] | None = None
    ) -> str:
        """Save the draft at ``step``, then show that step's question."""
        entering_extras = step == EXTRAS and self.draft.step != EXTRAS
        if entering_extras:
            self.form.keyboard = True
        await self.persist(step)
        if entering_extras:
            # The location button lives on a reply keyboard, which needs its own message.
            hint = self.w.t("visits.location_hint")
            await self.say(f"{note}\n{hint}" if note else hint, views.location_keyboard(self.w))
            note = None
        text, markup = await render(self, step, places)
        await self.show(f"{note}\n\n{text}" if note else text, markup)
        return step


Step = Callable[[Session], Awaitable[object]]
Handler = Callable[[Update, Context], Coroutine[Any, Any, object]]


async def load_session(update: Update, context: Context) -> Session:
    """The sender and their open visit draft; a button must belong to that draft."""
    w = await who(update, context)
    if w is None or update.effective_chat is None:
        raise Stop(None)
    d = w.deps
    query = update.callback_query
    draft = await drafts.open_draft(d.db, KIND, update.effective_chat.id, w.user_id)
    if w.cadre is None:  # removed from the roster mid-flow
        if draft is not None:
            await drafts.cancel(d.db, draft.id, d.now())
        await require_cadre(update, context)
        raise Stop(END)
    cb = None
    if query is not None:
        try:
            cb = callbacks.decode(query.data, NS)
            draft_id = cb.int_arg(0)
        except CallbackError:
            await query.answer(w.t("common.stale_button"), show_alert=True)
            raise Stop(None) from None
        if draft is None or draft.id != draft_id:
            await tell_closed(update, w, draft_id)
            raise Stop(None if draft is not None else END)
    if draft is None:
        await update.effective_chat.send_message(w.t("visits.draft_closed_long"))
        raise Stop(END)
    return Session(update, context, w, w.cadre, draft, Form.load(draft.data), cb)


async def closed_notice(w: Who, draft_id: int) -> str:
    """What a button of a draft that is no longer open says when pressed."""
    old = await drafts.get(w.deps.db, draft_id)
    if old is not None and old.user_id == w.user_id and old.status == "submitted":
        return w.t("visits.already_submitted", id=old.result_id)
    return w.t("visits.draft_closed")


async def tell_closed(update: Update, w: Who, draft_id: int) -> None:
    """Answer a press on a closed draft's button. When that draft became a visit, the
    receipt is said in the chat too: after a crash the press comes again, its alert may
    no longer be shown (Telegram takes one answer per press), and the cadre must still
    learn that the visit is in."""
    old = await drafts.get(w.deps.db, draft_id)
    text = await closed_notice(w, draft_id)
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    submitted = old is not None and old.user_id == w.user_id and old.status == "submitted"
    if submitted and update.effective_chat is not None:
        await update.effective_chat.send_message(text)


def step(fn: Step) -> Handler:
    """Wrap a step: load the session, run the step, return the state it reaches."""

    @functools.wraps(fn)
    async def handler(update: Update, context: Context) -> object:
        try:
            return await fn(await load_session(update, context))
        except Stop as stop:
            return stop.state

    return handler


# --- rendering each step ---------------------------------------------------------------


async def render(
    s: Session, step: str, places: list[Place] | None = None
) -> tuple[str, Markup | None]:
    w, f, did, settings = s.w, s.form, s.draft.id, s.d.settings
    if step == PLACE:
        return await _place_view(s, places)
    if step == KINDS:
        return w.t("visits.step_kinds"), views.kinds_keyboard(w, did, f.kinds)
    if step == DATE:
        days = settings.visits.backfill_days
        return w.t("visits.step_date", days=days), views.date_keyboard(w, did, s.today, days)
    if step == TEXT:
        return views.text_prompt(w, did, f, settings.visits.max_text_chars)
    if step == EXTRAS:
        return views.extras_prompt(w, did, f)
    if step == SUMMARY:
        return views.summary_text(w, f, settings, s.today), views.summary_keyboard(w, did, f)
    if step == RESUME:
        when = views.when(w, s.draft.created_at, settings)
        if f.edit_of:
            text = w.t("visits.resume_edit", id=f.edit_of, time=when)
        else:
            text = w.t("visits.resume", time=when, where=_where(w, f))
        buttons = (("visits.resume_continue", "res"), ("visits.resume_restart", "new"))
        return text, views.two_buttons(w, did, *buttons)
    if step == ASK_DROP:
        buttons = (("visits.ask_drop_keep", "keep"), ("visits.ask_drop_drop", "drop"))
        text = w.t("visits.ask_drop", command=f.command or "")
        return text, views.two_buttons(w, did, *buttons)
    raise ValueError(step)


def _where(w: Who, f: Form) -> str:
    back = f.back or PLACE
    at = w.t("visits.at_step", n=NUMBER[back]) if back in NUMBER else w.t("visits.at_summary")
    return f"{f.place['name']} · {at}" if f.place else at


async def _place_view(s: Session, places: list[Place] | None) -> tuple[str, Markup | None]:
    w, f, db = s.w, s.form, s.d.db
    if f.query:
        found = await visits.search_places(db, s.cadre, f.query)
        key = "visits.step_place_search" if found else "visits.search_none"
        return w.t(key, query=f.query), views.place_keyboard(w, s.draft.id, found, f)
    if f.village is not None:
        village = await visits.place_in_scope(db, s.cadre, f.village)
        if village is not None:
            households = await visits.places_for(db, s.cadre, village_id=village.id)
            text = w.t("visits.step_place_village", village=village.name)
            return text, views.place_keyboard(w, s.draft.id, households, f, village)
    if places is None:
        places = await visits.places_for(db, s.cadre)
    return w.t("visits.step_place"), views.place_keyboard(w, s.draft.id, places, f)


def day_message(s: Session, problem: DayProblem) -> str:
    days = s.d.settings.visits.backfill_days
    if problem is DayProblem.FUTURE:
        return s.w.t("visits.date_future")
    earliest = views.md(s.w, s.today - timedelta(days=days))
    return s.w.t("visits.date_too_old", days=days, earliest=earliest)


async def finish(s: Session, card_title: str, message: str) -> None:
    """The summary card keeps its content without buttons; the outcome follows as a new
    message, which also takes the location keyboard away."""
    text = "\n".join([card_title, "", *views.summary_lines(s.w, s.form, s.d.settings, s.today)])
    await s.show(text, None)
    await s.say(message, screen.REMOVE_KEYBOARD if s.form.keyboard else None)
