"""The visit conversation (走访记录): place → kinds of work → date → what was done →
optional extras → summary → submit.

The draft row is the truth. Every step saves the draft's data and the step it reaches
(storage/drafts.py) before it answers, and returns that step's name; at start the
persistence rebuilds this conversation's state from the open drafts of kind ``visit``,
so a restart continues where the cadre was. Buttons carry the draft id: a button of a
closed or replaced draft changes nothing. A toggle button says which way it sets the
toggle, so a redelivered press does not flip it back.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from telegram import (
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
    Voice,
)
from telegram.error import BadRequest
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning, PTBUserWarning

from campaign import callbacks
from campaign.callbacks import Callback, CallbackError
from campaign.geo import distance_to, is_far, valid_point
from campaign.periods import month_of
from campaign.roles import FIELD_ROLES
from campaign.runtime import Deps
from campaign.visitform import Form
from campaign.visitrules import (
    MAX_PHOTOS,
    DayProblem,
    change_right,
    clean_text,
    day_problem,
    parse_day,
    parse_people,
    text_problem,
)
from campaign.vocabulary import WORK_KINDS
from handlers import visit_log
from handlers import visit_views as views
from handlers.common import Context, Who, is_private, require_cadre, who
from handlers.visit_views import NS
from storage import drafts, visits
from storage.db import to_text
from storage.drafts import Draft
from storage.people import Cadre
from storage.visits import Photo, Place, VisitRecord

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

_NEXT = {PLACE: KINDS, KINDS: DATE, DATE: TEXT, TEXT: EXTRAS, EXTRAS: SUMMARY}
_NUMBER = {PLACE: 1, KINDS: 2, DATE: 3, TEXT: 4, EXTRAS: 5}
_FIELD_STEPS = {"place": PLACE, "kinds": KINDS, "date": DATE, "text": TEXT, "extras": EXTRAS}
_QUESTIONS = (RESUME, ASK_DROP)
# Commands of this feature that can run right after the draft is dropped.
_RUN_AFTER_DROP = {"/my": visit_log.my_view, "/group": visit_log.group_view}


class _Stop(Exception):
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
        return SUMMARY if self.form.editing else _NEXT[step]

    async def answer(self, text: str | None = None, alert: bool = False) -> None:
        query = self.update.callback_query
        if query is not None and not self.answered:
            self.answered = True
            await query.answer(text, show_alert=alert)

    async def say(
        self,
        text: str,
        markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None = None,
    ) -> None:
        await self.answer()
        await self.context.bot.send_message(self.chat_id, text, reply_markup=markup)

    async def show(self, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        """Edit the message whose button was pressed; otherwise send a new one."""
        await self.answer()
        query = self.update.callback_query
        if self.cb is not None and query is not None and query.message is not None:
            try:
                await query.edit_message_text(text, reply_markup=markup)
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
            raise _Stop(END)
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


async def _session(update: Update, context: Context) -> Session:
    """The sender and their open visit draft; a button must belong to that draft."""
    w = await who(update, context)
    if w is None or update.effective_chat is None:
        raise _Stop(None)
    d = w.deps
    query = update.callback_query
    draft = await drafts.open_draft(d.db, KIND, update.effective_chat.id, w.user_id)
    if w.cadre is None:  # removed from the roster mid-flow
        if draft is not None:
            await drafts.cancel(d.db, draft.id, d.now())
        await require_cadre(update, context)
        raise _Stop(END)
    cb = None
    if query is not None:
        try:
            cb = callbacks.decode(query.data, NS)
            draft_id = cb.int_arg(0)
        except CallbackError:
            await query.answer(w.t("common.stale_button"), show_alert=True)
            raise _Stop(None) from None
        if draft is None or draft.id != draft_id:
            await query.answer(await closed_notice(w, draft_id), show_alert=True)
            raise _Stop(None if draft is not None else END)
    if draft is None:
        await update.effective_chat.send_message(w.t("visits.draft_closed_long"))
        raise _Stop(END)
    return Session(update, context, w, w.cadre, draft, Form.load(draft.data), cb)


async def closed_notice(w: Who, draft_id: int) -> str:
    """What a button of a draft that is no longer open says when pressed."""
    old = await drafts.get(w.deps.db, draft_id)
    if old is not None and old.user_id == w.user_id and old.status == "submitted":
        return w.t("visits.already_submitted", id=old.result_id)
    return w.t("visits.draft_closed")


def step(fn: Step) -> Handler:
    """Wrap a step: load the session, run the step, return the state it reaches."""

    @functools.wraps(fn)
    async def handler(update: Update, context: Context) -> object:
        try:
            return await fn(await _session(update, context))
        except _Stop as stop:
            return stop.state

    return handler


# --- rendering each step ---------------------------------------------------------------


async def render(
    s: Session, step: str, places: list[Place] | None = None
) -> tuple[str, InlineKeyboardMarkup | None]:
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
    at = w.t("visits.at_step", n=_NUMBER[back]) if back in _NUMBER else w.t("visits.at_summary")
    return f"{f.place['name']} · {at}" if f.place else at


async def _place_view(
    s: Session, places: list[Place] | None
) -> tuple[str, InlineKeyboardMarkup | None]:
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


# --- entering the flow -----------------------------------------------------------------


async def _entrant(update: Update, context: Context) -> tuple[Who, Cadre, Draft | None] | None:
    """A field cadre in a private chat, and their open visit draft if any."""
    if not is_private(update):
        return None
    w = await require_cadre(update, context)
    if w is None or w.cadre is None or update.effective_chat is None:
        return None
    if w.cadre.role not in FIELD_ROLES:
        if update.callback_query is not None:
            await update.callback_query.answer(w.t("visits.not_field_role"), show_alert=True)
        else:
            await update.effective_chat.send_message(w.t("visits.not_field_role"))
        return None
    if update.callback_query is not None:
        await update.callback_query.answer()
    draft = await drafts.open_draft(w.deps.db, KIND, update.effective_chat.id, w.user_id)
    return w, w.cadre, draft


async def visit_entry(update: Update, context: Context) -> object:
    """/visit or the menu button: start a visit at the place step; with a draft already
    open, carry on with it, or, if it has lain idle, ask whether to continue it."""
    entrant = await _entrant(update, context)
    if entrant is None:
        return None
    w, cadre, draft = entrant
    if draft is not None:
        return await _offer_open(update, context, w, cadre, draft)
    d = w.deps
    places = await visits.places_for(d.db, cadre)
    chat = update.effective_chat
    assert chat is not None
    if not places:
        await chat.send_message(w.t("visits.no_places"))
        return None
    draft = await drafts.start(
        d.db, KIND, cadre.id, chat.id, w.user_id, PLACE, Form().dump(), d.now()
    )
    return await Session(update, context, w, cadre, draft, Form()).go(PLACE, places=places)


async def _offer_open(
    update: Update, context: Context, w: Who, cadre: Cadre, draft: Draft
) -> object:
    s = Session(update, context, w, cadre, draft, Form.load(draft.data))
    back = s.form.back if draft.step in _QUESTIONS else draft.step
    idle = s.d.now() - draft.updated_at > timedelta(hours=s.d.settings.visits.draft_idle_hours)
    try:
        if idle or draft.step == RESUME:
            s.form.back = back
            return await s.go(RESUME)
        s.form.back, s.form.command = None, None
        return await s.go(back or PLACE, note=w.t("visits.continue_here"))
    except _Stop as stop:
        return stop.state


async def edit_entry(update: Update, context: Context) -> object:
    """/visit_edit N, or ✏️ on a visit card: open a correction draft at the summary."""
    entrant = await _entrant(update, context)
    if entrant is None:
        return None
    w, cadre, draft = entrant
    chat = update.effective_chat
    assert chat is not None
    visit = await visit_log.changeable_visit(update, context, w, "visitlog.usage_edit")
    if visit is None:
        return None
    if draft is not None:
        if Form.load(draft.data).edit_of == visit.id:
            return await _offer_open(update, context, w, cadre, draft)
        await chat.send_message(w.t("visits.finish_current_first"))
        return None
    form = visit_log.form_of(visit)
    form.editing, form.edit_of = True, visit.id
    form.base, form.orig_day = to_text(visit.updated_at), form.day
    d = w.deps
    draft = await drafts.start(
        d.db, KIND, cadre.id, chat.id, w.user_id, SUMMARY, form.dump(), d.now()
    )
    return await Session(update, context, w, cadre, draft, form).go(SUMMARY)


# --- step 1: place ---------------------------------------------------------------------


@step
async def place_button(s: Session) -> object:
    """A place, a village to open, a page of places, or back to the whole list."""
    assert s.cb is not None
    f, action = s.form, s.cb.action
    if action == "pg":
        f.page = s.cb.int_arg(1)
        return await s.go(PLACE)
    if action == "top":
        f.query, f.village, f.page = None, None, 0
        return await s.go(PLACE)
    place = await visits.place_in_scope(s.d.db, s.cadre, s.cb.int_arg(1))
    if place is None:
        await s.answer(s.w.t("visits.place_gone"), alert=True)
        return None
    if action == "pl" and place.kind == "village" and place.households:
        f.village, f.page, f.query = place.id, 0, None
        return await s.go(PLACE)
    f.place = {
        "id": place.id,
        "name": place.name,
        "kind": place.kind,
        "lat": place.lat,
        "lon": place.lon,
    }
    f.village, f.query, f.page = None, None, 0
    return await s.go(s.next_after(PLACE))


@step
async def place_search(s: Session) -> object:
    """Typed text at the place step: the places whose name contains it."""
    query = clean_text(s.message.text or "").replace("\n", " ")[:40]
    s.form.query, s.form.village, s.form.page = query or None, None, 0
    return await s.go(PLACE)


# --- step 2: kinds of work -------------------------------------------------------------


@step
async def kinds_button(s: Session) -> object:
    """Set one kind on or off; Done moves on once at least one is chosen."""
    assert s.cb is not None
    f = s.form
    if s.cb.action == "kd":
        if not f.kinds:
            await s.answer(s.w.t("visits.kinds_none"), alert=True)
            return await s.go(KINDS)
        return await s.go(s.next_after(KINDS))
    kind = s.cb.args[1] if len(s.cb.args) > 1 else ""
    if kind not in WORK_KINDS:
        await s.answer(s.w.t("common.stale_button"), alert=True)
        return None
    chosen = set(f.kinds)
    if s.cb.int_arg(2):
        chosen.add(kind)
    else:
        chosen.discard(kind)
    f.kinds = [k for k in WORK_KINDS if k in chosen]
    return await s.go(KINDS)


# --- step 3: date ----------------------------------------------------------------------


@step
async def date_button(s: Session) -> object:
    """A day button (re-checked: the window moves at midnight)."""
    assert s.cb is not None
    try:
        day = datetime.strptime(s.cb.args[1], "%Y%m%d").date()
    except (IndexError, ValueError):
        await s.answer(s.w.t("common.stale_button"), alert=True)
        return None
    return await _set_day(s, day)


@step
async def date_typed(s: Session) -> object:
    """A date typed as text: 2026-11-15, 11-15, 11月15日, 昨天 ..."""
    day = parse_day(s.message.text or "", s.today)
    if day is None:
        return await s.go(DATE, note=s.w.t("visits.date_unreadable"))
    return await _set_day(s, day)


def _day_message(s: Session, problem: DayProblem) -> str:
    days = s.d.settings.visits.backfill_days
    if problem is DayProblem.FUTURE:
        return s.w.t("visits.date_future")
    earliest = views.md(s.w, s.today - timedelta(days=days))
    return s.w.t("visits.date_too_old", days=days, earliest=earliest)


async def _set_day(s: Session, day: date) -> object:
    problem = day_problem(day, s.today, s.d.settings.visits.backfill_days)
    if problem is not None:
        if s.cb is not None:
            await s.answer(_day_message(s, problem), alert=True)
            return await s.go(DATE)
        return await s.go(DATE, note=_day_message(s, problem))
    s.form.day = day.isoformat()
    return await s.go(s.next_after(DATE))


# --- step 4: what was done -------------------------------------------------------------


def _seconds(voice: Voice) -> int:
    with warnings.catch_warnings():
        # PTB 22 announces that durations become timedelta; either form is read here.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        duration: int | timedelta | None = voice.duration
    if isinstance(duration, timedelta):
        return int(duration.total_seconds())
    return int(duration or 0)


def _text_error(s: Session, text: str) -> str | None:
    limit = s.d.settings.visits.max_text_chars
    problem = text_problem(text, limit)
    if problem is None:
        return None
    return s.w.t(f"visits.text_{problem.value}", count=len(text), limit=limit)


@step
async def text_typed(s: Session) -> object:
    """The text of what was done: cleaned, checked, kept."""
    text = clean_text(s.message.text or "")
    error = _text_error(s, text)
    if error is not None:
        await s.say(error)
        return None
    s.form.text = text
    return await s.go(s.next_after(TEXT), note=s.w.t("visits.extras_text_saved"))


@step
async def text_voice(s: Session) -> object:
    """A voice note answers "what was done"; its caption, if any, is kept as text."""
    voice = s.message.voice
    assert voice is not None
    s.form.voice, s.form.voice_s = voice.file_id, _seconds(voice)
    caption = clean_text(s.message.caption or "")
    if caption and _text_error(s, caption) is None:
        s.form.text = caption
    return await s.go(s.next_after(TEXT), note=s.w.t("visits.voice_kept"))


@step
async def text_photo(s: Session) -> object:
    """A photo where the text is expected: keep it, and its caption, if it is a fit
    text, answers the step; otherwise ask for the text again."""
    caption = clean_text(s.message.caption or "")
    error = _text_error(s, caption) if caption else None
    if caption and error is None:
        note = _add_photo(s)
        s.form.text = caption
        return await s.go(s.next_after(TEXT), note=note)
    note = _add_photo(s, need_text=error is None)
    await s.persist(TEXT)
    if error is not None or note is not None:
        await s.say(error or note or "")
    return TEXT


@step
async def keep_text(s: Session) -> object:
    """While correcting: keep the text as it is."""
    if not s.form.described:
        return await s.go(TEXT)
    return await s.go(SUMMARY)


# --- step 5: optional extras -----------------------------------------------------------


@step
async def extras_typed(s: Session) -> object:
    """A number typed at the extras step is the number of people met."""
    people = parse_people(s.message.text or "")
    if people is None:
        await s.say(s.w.t("visits.extras_hint"))
        return None
    s.form.people = people
    return await s.go(EXTRAS, note=s.w.t("visits.people_saved", people=people))


@step
async def extras_button(s: Session) -> object:
    """Model case on/off, remove photos or location, or on to the summary."""
    assert s.cb is not None
    f, action = s.form, s.cb.action
    here = s.draft.step
    if action == "mc":
        f.model = bool(s.cb.int_arg(1))
    elif action == "cp":
        f.photos, f.album = [], None
    elif action == "cl":
        f.lat, f.lon = None, None
    elif action == "nx":
        here = SUMMARY
    return await s.go(here)


def _add_photo(s: Session, need_text: bool = False) -> str | None:
    """Keep the photo; what to tell the cadre (None: stay quiet inside an album)."""
    message = s.message
    largest = message.photo[-1]
    added = s.form.add_photo(largest.file_id, largest.file_unique_id)
    album = message.media_group_id
    same_album = album is not None and album == s.form.album
    s.form.album = album
    if added is None:
        return s.w.t("visits.photo_limit", limit=MAX_PHOTOS)
    if same_album:
        return None
    if need_text:
        return s.w.t("visits.photo_kept_need_text", count=len(s.form.photos))
    if album is not None:
        return s.w.t("visits.album_kept")
    return s.w.t("visits.photo_kept", count=len(s.form.photos))


@step
async def keep_media(s: Session) -> object:
    """A photo, location or voice note at any step: keep it with the draft, and ask the
    step's question again."""
    message, f = s.message, s.form
    note: str | None
    if message.photo:
        note = _add_photo(s)
    elif message.location is not None:
        lat, lon = message.location.latitude, message.location.longitude
        if not valid_point(lat, lon):
            return None
        f.lat, f.lon = lat, lon
        note = views.location_note(s.w, f, s.d.settings)
    elif message.voice is not None:
        f.voice, f.voice_s = message.voice.file_id, _seconds(message.voice)
        note = s.w.t("visits.voice_kept")
    else:
        return None
    here = s.draft.step
    if note is None:
        await s.persist(here)
        return here
    return await s.go(here, note=note)


# --- step 6: summary -------------------------------------------------------------------


@step
async def summary_button(s: Session) -> object:
    """Submit, change one field, or set the model-case mark."""
    assert s.cb is not None
    if s.cb.action == "ok":
        return await _submit(s)
    if s.cb.action == "mc":
        s.form.model = bool(s.cb.int_arg(1))
        return await s.go(SUMMARY)
    target = _FIELD_STEPS.get(s.cb.args[1] if len(s.cb.args) > 1 else "")
    if target is None:
        await s.answer(s.w.t("common.stale_button"), alert=True)
        return None
    s.form.editing = True
    if target == PLACE:
        s.form.query, s.form.village, s.form.page = None, None, 0
    return await s.go(target)


async def _resolve_place(s: Session, visit: visits.Visit | None) -> Place | None:
    """The chosen place as it is now: in the cadre's scope, or (when correcting) the
    place the visit already had, even if the roster has moved it since."""
    assert s.form.place is not None
    place_id = int(s.form.place["id"])
    place = await visits.place_in_scope(s.d.db, s.cadre, place_id)
    if place is None and visit is not None and visit.record.place_id == place_id:
        place = Place(
            place_id, visit.place_kind, visit.place_name, None, visit.place_lat, visit.place_lon
        )
    return place


async def _submit(s: Session) -> object:
    w, f, d = s.w, s.form, s.d
    missing = f.missing()
    if missing is not None:
        await s.answer(
            w.t("visits.missing_field", field=w.t(f"visits.field_{missing}")), alert=True
        )
        return await s.go(_FIELD_STEPS[missing])
    if s.cadre.role not in FIELD_ROLES:
        await s.answer(w.t("visits.not_field_role"), alert=True)
        return None
    visit = await visits.get(d.db, f.edit_of) if f.edit_of else None
    if f.edit_of and (visit is None or not visit.active or to_text(visit.updated_at) != f.base):
        return await _close(s, w.t("visits.edit_conflict", id=f.edit_of))
    place = await _resolve_place(s, visit)
    if place is None:
        await s.answer(w.t("visits.place_gone"), alert=True)
        f.place = None
        return await s.go(PLACE)
    day = f.visit_day
    assert day is not None
    problem = day_problem(day, s.today, d.settings.visits.backfill_days)
    if problem is not None and f.day != f.orig_day:
        await s.answer(_day_message(s, problem), alert=True)
        return await s.go(DATE)
    km = distance_to(place.lat, place.lon, f.lat, f.lon)
    record = VisitRecord(
        place_id=place.id,
        day=day,
        kinds=tuple(k for k in WORK_KINDS if k in f.kinds),
        text=f.text or "",
        voice_file_id=f.voice,
        people_met=f.people,
        lat=f.lat,
        lon=f.lon,
        distance_km=km,
        far=is_far(km, d.settings.visits.far_km),
        model_case=f.model,
        photos=tuple(Photo(p[0], p[1]) for p in f.photos),
    )
    if visit is not None:
        return await _save_correction(s, visit, record)
    visit_id = await visits.submit(
        d.db, draft_id=s.draft.id, cadre=s.cadre, record=record, now=d.now()
    )
    if visit_id is None:
        await s.answer(await closed_notice(w, s.draft.id), alert=True)
        return END
    month = month_of(day)
    count = await visits.count_between(d.db, s.cadre.id, month.start, month.end)
    quota = d.settings.quotas.monthly_visits
    lines = [
        w.t(
            "visits.receipt",
            id=visit_id,
            count=count,
            quota=quota,
            month=views.month_label(w, month),
        )
    ]
    if record.far:
        lines.append(w.t("visits.receipt_far", km=f"{km:.1f}"))
    if count >= quota and month.start <= s.today < month.end:
        lines.append(w.t("visits.receipt_done"))
    await _finish(s, w.t("visits.submitted_card", id=visit_id), "\n".join(lines))
    return END


async def _save_correction(s: Session, visit: visits.Visit, record: VisitRecord) -> object:
    w, d = s.w, s.d
    right = change_right(
        actor_id=s.cadre.id,
        actor_role=s.cadre.role,
        actor_group_id=s.cadre.group_id,
        owner_id=visit.cadre_id,
        visit_group_id=visit.group_id,
        created_at=visit.created_at,
        now=d.now(),
        window_hours=d.settings.visits.edit_window_hours,
    )
    if right is None:
        hours = d.settings.visits.edit_window_hours
        return await _close(s, w.t("visits.edit_window_closed", id=visit.id, hours=hours))
    saved = await visits.amend(
        d.db, draft_id=s.draft.id, visit=visit, actor=s.cadre, record=record, now=d.now()
    )
    if not saved:
        return await _close(s, w.t("visits.edit_conflict", id=visit.id))
    log.info("visit %s corrected by cadre %s (%s)", visit.id, s.cadre.id, right.value)
    await _finish(s, w.t("visits.edit_saved", id=visit.id), w.t("visits.edit_saved", id=visit.id))
    return END


async def _close(s: Session, message: str) -> object:
    """Give up the draft (it can no longer be saved) and say why."""
    await drafts.cancel(s.d.db, s.draft.id, s.d.now())
    await _finish(s, s.w.t("visits.cancelled_card"), message)
    return END


async def _finish(s: Session, card_title: str, message: str) -> None:
    """The summary card keeps its content without buttons; the outcome follows as a new
    message, which also takes the location keyboard away."""
    text = "\n".join([card_title, "", *views.summary_lines(s.w, s.form, s.d.settings, s.today)])
    await s.show(text, None)
    await s.say(message, ReplyKeyboardRemove() if s.form.keyboard else None)


# --- questions: resume an idle draft, drop it for another command ----------------------


@step
async def resume_button(s: Session) -> object:
    """Continue the idle draft where it was, or start a new one."""
    assert s.cb is not None
    if s.cb.action == "res":
        back, s.form.back = s.form.back or PLACE, None
        return await s.go(back)
    d = s.d
    places = await visits.places_for(d.db, s.cadre)
    if not places:
        await drafts.cancel(d.db, s.draft.id, d.now())
        await s.show(s.w.t("visits.no_places"))
        return END
    draft = await drafts.start(
        d.db, KIND, s.cadre.id, s.chat_id, s.w.user_id, PLACE, Form().dump(), d.now()
    )
    fresh = Session(s.update, s.context, s.w, s.cadre, draft, Form(), s.cb, s.answered)
    return await fresh.go(PLACE, places=places)


@step
async def other_command(s: Session) -> object:
    """Another command mid-flow: ask whether to drop the draft for it."""
    text = s.message.text or ""
    s.form.command = text.split()[0].split("@")[0][:40] if text else "/"
    if s.draft.step not in _QUESTIONS:
        s.form.back = s.draft.step
    return await s.go(ASK_DROP)


@step
async def drop_button(s: Session) -> object:
    """Keep the draft (back to its step) or drop it and let the command run."""
    assert s.cb is not None
    if s.cb.action == "keep":
        back, s.form.back, s.form.command = s.form.back or PLACE, None, None
        return await s.go(back)
    command = s.form.command or ""
    await drafts.cancel(s.d.db, s.draft.id, s.d.now())
    run = _RUN_AFTER_DROP.get(command)
    await s.show(
        s.w.t("visits.dropped") if run else s.w.t("visits.dropped_resend", command=command)
    )
    if s.form.keyboard:
        await s.say(s.w.t("visits.cancelled"), ReplyKeyboardRemove())
    if run is not None:
        await run(s.update, s.context, s.w)
    return END


# --- anywhere in the flow --------------------------------------------------------------


@step
async def cancel_command(s: Session) -> object:
    """/cancel: drop the draft and say so."""
    await drafts.cancel(s.d.db, s.draft.id, s.d.now())
    await s.say(s.w.t("visits.cancelled"), ReplyKeyboardRemove())
    return END


@step
async def cancel_button(s: Session) -> object:
    """❌ on any step's message."""
    await drafts.cancel(s.d.db, s.draft.id, s.d.now())
    await _finish(s, s.w.t("visits.cancelled_card"), s.w.t("visits.cancelled"))
    return END


@step
async def old_button(s: Session) -> object:
    """A button of this draft from a step it has left."""
    await s.answer(s.w.t("visits.old_step_button"), alert=True)
    return None


_HINTS = {
    KINDS: "visits.kinds_use_buttons",
    EXTRAS: "visits.extras_hint",
    RESUME: "visits.resume_use_buttons",
    ASK_DROP: "visits.ask_drop_use_buttons",
}


@step
async def unexpected(s: Session) -> object:
    """Input the step does not take: say what it does take, and ask again."""
    here = s.draft.step
    return await s.go(here, note=s.w.t(_HINTS.get(here, "visits.unexpected")))


async def ignore(update: Update, context: Context) -> None:
    """An edited message changes nothing in a draft (the new text must be sent again)."""
    return None


def conversation() -> ConversationHandler[Any]:
    private = filters.ChatType.PRIVATE
    new = filters.UpdateType.MESSAGE & private
    text = new & filters.TEXT & ~filters.COMMAND

    def buttons(callback: Handler, *actions: str) -> CallbackQueryHandler[Any, Any]:
        return CallbackQueryHandler(callback, pattern=rf"^{NS}:v1:({'|'.join(actions)}):")

    states: dict[object, list[BaseHandler[Any, Any, Any]]] = {
        PLACE: [buttons(place_button, "pl", "pv", "pg", "top"), MessageHandler(text, place_search)],
        KINDS: [buttons(kinds_button, "k", "kd")],
        DATE: [buttons(date_button, "d"), MessageHandler(text, date_typed)],
        TEXT: [
            buttons(keep_text, "kt"),
            MessageHandler(text, text_typed),
            MessageHandler(new & filters.VOICE, text_voice),
            MessageHandler(new & filters.PHOTO, text_photo),
        ],
        EXTRAS: [
            buttons(extras_button, "mc", "cp", "cl", "nx"),
            MessageHandler(text, extras_typed),
        ],
        SUMMARY: [buttons(summary_button, "ok", "ch", "mc")],
        RESUME: [buttons(resume_button, "res", "new")],
        ASK_DROP: [buttons(drop_button, "keep", "drop")],
    }
    with warnings.catch_warnings():
        # Buttons are tracked per chat on purpose: the draft id in their data, not the
        # message they sit on, says which draft they belong to.
        warnings.filterwarnings("ignore", message=".*per_message.*", category=PTBUserWarning)
        return ConversationHandler(
            entry_points=[
                CommandHandler("visit", visit_entry, filters=private),
                CallbackQueryHandler(visit_entry, pattern=r"^menu:v1:visit$"),
                CommandHandler("visit_edit", edit_entry, filters=private),
                CallbackQueryHandler(edit_entry, pattern=rf"^{visit_log.NS}:v1:ed:"),
            ],
            states=states,
            fallbacks=[
                CommandHandler("cancel", cancel_command, filters=private),
                MessageHandler(new & filters.COMMAND, other_command),
                buttons(cancel_button, "x"),
                CallbackQueryHandler(old_button, pattern=callbacks.pattern(NS)),
                MessageHandler(
                    new & (filters.PHOTO | filters.LOCATION | filters.VOICE), keep_media
                ),
                MessageHandler(new, unexpected),
                MessageHandler(filters.UpdateType.EDITED & private, ignore),
            ],
            name=KIND,
            persistent=True,
            per_chat=True,
            per_user=True,
            per_message=False,
            allow_reentry=True,
        )


async def stale_button(update: Update, context: Context) -> None:
    """A flow button pressed when no visit conversation is going on."""
    query = update.callback_query
    w = await who(update, context)
    if query is None or w is None:
        return
    try:
        draft_id = callbacks.decode(query.data, NS).int_arg(0)
    except CallbackError:
        await query.answer(w.t("common.stale_button"), show_alert=True)
        return
    await query.answer(await closed_notice(w, draft_id), show_alert=True)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The conversation first (it owns /visit, /visit_edit and the flow's buttons), then
    the visit log's commands and buttons, then the flow's buttons outside the flow."""
    return [
        conversation(),
        *visit_log.handlers(),
        CallbackQueryHandler(stale_button, pattern=callbacks.pattern(NS)),
    ]
