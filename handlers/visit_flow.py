"""The visit conversation (走访记录): place → kinds of work → date → what was done →
optional extras → summary → submit.

The flow runs on the step engine (handlers/flow.py; its steps' questions are in
handlers/visit_session.py): every step saves the draft (its data and the step it
reaches) before it answers and returns that step's name; at start the persistence rebuilds
this conversation's state from the open drafts of kind ``visit``, so a restart continues
where the cadre was. Buttons carry the draft id: a button of a closed or replaced draft
changes nothing. A toggle button says which way it sets the toggle, so a redelivered
press does not flip it back. Any command mid-flow asks whether to drop the draft.
"""

from __future__ import annotations

import warnings
from datetime import date, datetime, timedelta
from typing import Any

from telegram import Update, Voice
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters
from telegram.warnings import PTBDeprecationWarning

from campaign.callbacks import MENU, VISIT, VISIT_LOG
from campaign.geo import valid_point
from campaign.message import Message
from campaign.periods import PeriodError, parse_day
from campaign.text import clean_text, moment_text
from campaign.visitform import Form
from campaign.visitrules import (
    MAX_PHOTOS,
    day_problem,
    parse_people,
    text_problem,
)
from campaign.vocabulary import WORK_KINDS
from handlers import visit_log
from handlers import visit_views as views
from handlers.common import Context, Who, is_private, require_cadre
from handlers.flow import Flow, Step, entry
from handlers.visit_session import (
    DATE,
    END,
    EXTRAS,
    KIND,
    KINDS,
    PLACE,
    PLAN_LINK,
    QUESTIONS,
    RESUME,
    SUMMARY,
    TEXT,
    VisitSession,
    ask_date,
    ask_extras,
    ask_kinds,
    ask_place,
    ask_plan,
    ask_resume,
    ask_summary,
    ask_text,
    card,
    day_message,
    enter_extras,
    enter_summary,
    next_after,
)
from handlers.visit_submit import plan_button, summary_button
from services import visits
from services.visits import Draft, Opened, Why

# Commands of this feature that can run right after the draft is dropped.
_RUN_AFTER_DROP = {"/my": visit_log.my_view, "/group": visit_log.group_view}


# --- entering the flow -----------------------------------------------------------------


async def _entrant(update: Update, context: Context) -> Who | None:
    """A cadre in a private chat. A pressed button is answered once, later: by the step
    shown or by the refusal."""
    if not is_private(update) or update.effective_chat is None:
        return None
    w = await require_cadre(update, context)
    return w if w is not None and w.cadre is not None else None


async def _refuse(update: Update, w: Who, opened: Opened) -> None:
    if opened.why is Why.OTHER_FLOW and opened.other is not None:
        other = opened.other
        started = moment_text(w.t, other.created_at, w.deps.settings.tz)
        text = w.t("visits.other_flow_open", flow=w.t(f"flows.{other.kind}"), at=started)
    else:
        text = visit_log.refusal(w, opened.why or Why.NOT_FOUND, opened.visit_id)
    await visit_log.tell(update, text)


async def visit_entry(update: Update, context: Context) -> object:
    """/visit or the menu button: start a visit at the place step; with a draft already
    open, carry on with it, or, if it has lain idle, ask whether to continue it."""
    w = await _entrant(update, context)
    if w is None or w.cadre is None or update.effective_chat is None:
        return None
    opened = await visits.start(w.deps, w.cadre, update.effective_chat.id, w.user_id, PLACE)
    if opened.open is not None:
        return await _offer_open(update, context, w, opened.open)
    if opened.draft is None:
        await _refuse(update, w, opened)
        return None
    s = FLOW.session(update, context, w, opened.draft, Form())
    s.cache["places"] = opened.places
    return await s.go(PLACE)


async def _offer_open(update: Update, context: Context, w: Who, draft: Draft) -> object:
    s = FLOW.session(update, context, w, draft)
    back = s.form.back if draft.step in QUESTIONS else draft.step
    idle = s.d.now() - draft.updated_at > timedelta(hours=s.d.settings.visits.draft_idle_hours)
    if idle or draft.step == RESUME:
        s.form.back = back
        return await s.go(RESUME)
    s.form.back, s.form.command = None, None
    return await s.go(back or PLACE, note=w.t("visits.continue_here"))


async def edit_entry(update: Update, context: Context) -> object:
    """/visit_edit N, or ✏️ on a visit card: open a correction draft at the summary."""
    w = await _entrant(update, context)
    if w is None or w.cadre is None or update.effective_chat is None:
        return None
    visit_id = visit_log.visit_id_of(update, context)
    opened = await visits.start_amend(
        w.deps, w.cadre, update.effective_chat.id, w.user_id, visit_id, SUMMARY
    )
    if opened.why is Why.UNNAMED:
        pressed = update.callback_query is not None
        key = "common.stale_button" if pressed else "visitlog.usage_edit"
        await visit_log.tell(update, w.t(key))
        return None
    if opened.open is not None:
        return await _offer_open(update, context, w, opened.open)
    if opened.draft is None:
        await _refuse(update, w, opened)
        return None
    return await FLOW.session(update, context, w, opened.draft, opened.form).go(SUMMARY)


# --- step 1: place ---------------------------------------------------------------------


async def place_button(s: VisitSession) -> object:
    """A place, a village to open, a page of places, or back to the whole list."""
    assert s.cb is not None
    f, action = s.form, s.cb.action
    if action == "pg":
        f.page = s.cb.int_arg(1)
        return await s.go(PLACE)
    if action == "top":
        f.query, f.village, f.page = None, None, 0
        return await s.go(PLACE)
    place = await visits.place_in_scope(s.d, s.cadre, s.cb.int_arg(1))
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
    return await s.go(next_after(s, PLACE))


async def place_search(s: VisitSession) -> object:
    """Typed text at the place step: the places whose name contains it."""
    query = clean_text(s.message.text or "").replace("\n", " ")[:40]
    s.form.query, s.form.village, s.form.page = query or None, None, 0
    return await s.go(PLACE)


# --- step 2: kinds of work -------------------------------------------------------------


async def kinds_button(s: VisitSession) -> object:
    """Set one kind on or off; Done moves on once at least one is chosen."""
    assert s.cb is not None
    f = s.form
    if s.cb.action == "kd":
        if not f.kinds:
            await s.answer(s.w.t("visits.kinds_none"), alert=True)
            return await s.go(KINDS)
        return await s.go(next_after(s, KINDS))
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


async def date_button(s: VisitSession) -> object:
    """A day button (re-checked: the window moves at midnight)."""
    assert s.cb is not None
    try:
        day = datetime.strptime(s.cb.args[1], "%Y%m%d").date()
    except (IndexError, ValueError):
        await s.answer(s.w.t("common.stale_button"), alert=True)
        return None
    return await _set_day(s, day)


async def date_typed(s: VisitSession) -> object:
    """A date typed as text: 2026-11-15, 11-15, 11月15日, 昨天 ..."""
    try:
        day = parse_day(s.message.text or "", s.today)
    except PeriodError:
        return await s.go(DATE, note=s.w.t("visits.date_unreadable"))
    return await _set_day(s, day)


async def _set_day(s: VisitSession, day: date) -> object:
    problem = day_problem(day, s.today, s.d.settings.visits.backfill_days)
    if problem is not None:
        if s.cb is not None:
            await s.answer(day_message(s, problem), alert=True)
            return await s.go(DATE)
        return await s.go(DATE, note=day_message(s, problem))
    s.form.day = day.isoformat()
    return await s.go(next_after(s, DATE))


# --- step 4: what was done -------------------------------------------------------------


def _seconds(voice: Voice) -> int:
    with warnings.catch_warnings():
        # PTB 22 announces that durations become timedelta; either form is read here.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        duration: int | timedelta | None = voice.duration
    if isinstance(duration, timedelta):
        return int(duration.total_seconds())
    return int(duration or 0)


def _text_error(s: VisitSession, text: str) -> str | None:
    limit = s.d.settings.visits.max_text_chars
    problem = text_problem(text, limit)
    if problem is None:
        return None
    return s.w.t(f"visits.text_{problem.value}", count=len(text), limit=limit)


async def text_typed(s: VisitSession) -> object:
    """The text of what was done: cleaned, checked, kept."""
    text = clean_text(s.message.text or "")
    error = _text_error(s, text)
    if error is not None:
        await s.say(Message(error))
        return None
    s.form.text = text
    return await s.go(next_after(s, TEXT), note=s.w.t("visits.extras_text_saved"))


async def text_voice(s: VisitSession) -> object:
    """A voice note answers "what was done"; its caption, if any, is kept as text."""
    voice = s.message.voice
    assert voice is not None
    s.form.voice, s.form.voice_s = voice.file_id, _seconds(voice)
    caption = clean_text(s.message.caption or "")
    if caption and _text_error(s, caption) is None:
        s.form.text = caption
    return await s.go(next_after(s, TEXT), note=s.w.t("visits.voice_kept"))


async def text_photo(s: VisitSession) -> object:
    """A photo where the text is expected: keep it, and its caption, if it is a fit
    text, answers the step; otherwise ask for the text again."""
    caption = clean_text(s.message.caption or "")
    error = _text_error(s, caption) if caption else None
    if caption and error is None:
        note = _add_photo(s)
        s.form.text = caption
        return await s.go(next_after(s, TEXT), note=note)
    note = _add_photo(s, need_text=error is None)
    await s.persist(TEXT)
    if error is not None or note is not None:
        await s.say(Message(error or note or ""))
    return TEXT


async def keep_text(s: VisitSession) -> object:
    """While correcting: keep the text as it is."""
    if not s.form.described:
        return await s.go(TEXT)
    return await s.go(SUMMARY)


# --- step 5: optional extras -----------------------------------------------------------


async def extras_typed(s: VisitSession) -> object:
    """A number typed at the extras step is the number of people met."""
    people = parse_people(s.message.text or "")
    if people is None:
        # Show the step again with its buttons: after a crash the last message on screen
        # may be an earlier step's, and a hint alone would leave no Next button to tap.
        return await s.go(EXTRAS, note=s.w.t("visits.extras_hint"))
    s.form.people = people
    return await s.go(EXTRAS, note=s.w.t("visits.people_saved", people=people))


async def extras_button(s: VisitSession) -> object:
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


def _add_photo(s: VisitSession, need_text: bool = False) -> str | None:
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


async def keep_media(s: VisitSession) -> object:
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


# --- questions: resume an idle draft, drop it for another command ----------------------


async def resume_button(s: VisitSession) -> object:
    """Continue the idle draft where it was, or start a new one."""
    assert s.cb is not None
    if s.cb.action == "res":
        back, s.form.back = s.form.back or PLACE, None
        return await s.go(back)
    opened = await visits.restart(s.d, s.cadre, s.draft, PLACE)
    if opened.draft is None:
        await s.show(Message(s.w.t("visits.no_places")))
        return END
    fresh = FLOW.session(s.update, s.context, s.w, opened.draft, Form(), s.cb)
    fresh.answered, fresh.cache["places"] = s.answered, opened.places
    return await fresh.go(PLACE)


# --- the flow as the engine runs it ----------------------------------------------------

FLOW: Flow[Form] = Flow(
    kind=KIND,
    ns=VISIT,
    texts="visits",
    load=Form.load,
    steps=[
        Step(
            PLACE,
            ask_place,
            buttons=dict.fromkeys(("pl", "pv", "pg", "top"), place_button),
            text=place_search,
        ),
        Step(
            KINDS,
            ask_kinds,
            buttons=dict.fromkeys(("k", "kd"), kinds_button),
            hint="kinds_use_buttons",
        ),
        Step(DATE, ask_date, buttons={"d": date_button}, text=date_typed),
        Step(
            TEXT,
            ask_text,
            buttons={"kt": keep_text},
            text=text_typed,
            voice=text_voice,
            photo=text_photo,
        ),
        Step(
            EXTRAS,
            ask_extras,
            buttons=dict.fromkeys(("mc", "cp", "cl", "nx"), extras_button),
            text=extras_typed,
            enter=enter_extras,
            hint="extras_hint",
        ),
        Step(
            SUMMARY,
            ask_summary,
            buttons=dict.fromkeys(("ok", "ch", "mc"), summary_button),
            enter=enter_summary,
        ),
        Step(PLAN_LINK, ask_plan, buttons={"pi": plan_button}, hint="plan_use_buttons"),
        Step(
            RESUME,
            ask_resume,
            buttons=dict.fromkeys(("res", "new"), resume_button),
            hint="resume_use_buttons",
            redraw=False,
            question=True,
        ),
    ],
    entries=[
        CommandHandler("visit", entry(visit_entry), filters=filters.ChatType.PRIVATE),
        CallbackQueryHandler(entry(visit_entry), pattern=MENU.pattern("visit")),
        CommandHandler("visit_edit", entry(edit_entry), filters=filters.ChatType.PRIVATE),
        CallbackQueryHandler(entry(edit_entry), pattern=VISIT_LOG.pattern("ed")),
    ],
    media=keep_media,
    route=next_after,
    card=card,
    run_after_drop=_RUN_AFTER_DROP,
)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The conversation first (it owns /visit, /visit_edit and the flow's buttons), then
    the visit log's commands and buttons, then the flow's buttons outside the flow."""
    return [FLOW.conversation(), *visit_log.handlers(), FLOW.stale_handler()]
