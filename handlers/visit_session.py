"""The visit flow's steps as the step engine (handlers/flow.py) sees them: their names,
what each asks, where each goes next, and how a closed draft's card looks.

The draft row is the truth: the engine saves the draft's data and the step it reaches
before it answers, and a restart rebuilds the conversation from the open drafts.
"""

from __future__ import annotations

from datetime import timedelta

from campaign import visit_words as words
from campaign.callbacks import VISIT
from campaign.message import Button, Message
from campaign.text import day_text, moment_text, shorten
from campaign.visitform import Form
from campaign.visitrules import DayProblem
from handlers import visit_views as views
from handlers.common import Who
from handlers.flow import ASK_DROP, END, Session, Stop
from services import visits
from services.visits import Place

__all__ = ["ASK_DROP", "END", "Stop"]

KIND = visits.KIND  # the drafts.kind of a visit draft, and the conversation's name
PLACE = "place"
KINDS = "kinds"
DATE = "date"
TEXT = "text"
EXTRAS = "extras"
SUMMARY = "summary"
RESUME = "resume"  # an idle draft: continue it or start over?
PLAN_LINK = "plan"  # at submit: which plan item did the visit serve? (optional)

NEXT = {PLACE: KINDS, KINDS: DATE, DATE: TEXT, TEXT: EXTRAS, EXTRAS: SUMMARY}
NUMBER = {PLACE: 1, KINDS: 2, DATE: 3, TEXT: 4, EXTRAS: 5}
FIELD_STEPS = {"place": PLACE, "kinds": KINDS, "date": DATE, "text": TEXT, "extras": EXTRAS}
QUESTIONS = (RESUME, ASK_DROP)

VisitSession = Session[Form]


def next_after(s: VisitSession, step: str) -> str:
    """The step after ``step``: the summary while a field is being changed."""
    return SUMMARY if s.form.editing else NEXT[step]


# --- what each step asks ----------------------------------------------------------------


async def ask_place(s: VisitSession) -> Message:
    """The places of the cadre's scope (a search's hits, or one village's households)."""
    w, f, d, did = s.w, s.form, s.d, s.draft.id
    if f.query:
        found = await visits.search_places(d, s.cadre, f.query)
        key = "visits.step_place_search" if found else "visits.search_none"
        return Message(w.t(key, query=f.query), views.place_keyboard(w, did, found, f))
    if f.village is not None:
        village = await visits.place_in_scope(d, s.cadre, f.village)
        if village is not None:
            households = await visits.places_for(d, s.cadre, village_id=village.id)
            text = w.t("visits.step_place_village", village=village.name)
            return Message(text, views.place_keyboard(w, did, households, f, village))
    places: list[Place] | None = s.cache.pop("places", None)
    if places is None:
        places = await visits.places_for(d, s.cadre)
    return Message(w.t("visits.step_place"), views.place_keyboard(w, did, places, f))


async def ask_kinds(s: VisitSession) -> Message:
    return Message(s.t("step_kinds"), views.kinds_keyboard(s.w, s.draft.id, s.form.kinds))


async def ask_date(s: VisitSession) -> Message:
    days = s.d.settings.visits.backfill_days
    keyboard = views.date_keyboard(s.w, s.draft.id, s.today, days)
    return Message(s.t("step_date", days=days), keyboard)


async def ask_text(s: VisitSession) -> Message:
    return views.text_prompt(s.w, s.draft.id, s.form, s.d.settings.visits.max_text_chars)


async def ask_extras(s: VisitSession) -> Message:
    return views.extras_prompt(s.w, s.draft.id, s.form)


def enter_extras(s: VisitSession) -> Message:
    """The location button lives on a reply keyboard, which needs its own message."""
    s.form.keyboard = True
    return views.location_request(s.w)


async def ask_summary(s: VisitSession) -> Message:
    text = views.summary_text(s.w, s.form, s.d.settings, s.today)
    return Message(text, views.summary_keyboard(s.w, s.draft.id, s.form))


def enter_summary(s: VisitSession) -> None:
    s.form.editing = True  # from the summary on, each change returns to it


async def ask_resume(s: VisitSession) -> Message:
    w, f = s.w, s.form
    when = moment_text(w.t, s.draft.created_at, s.d.settings.tz)
    if f.edit_of:
        text = w.t("visits.resume_edit", id=f.edit_of, time=when)
    else:
        text = w.t("visits.resume", time=when, where=_where(w, f))
    buttons = (("visits.resume_continue", "res"), ("visits.resume_restart", "new"))
    return Message(text, views.two_buttons(w, s.draft.id, *buttons))


def _where(w: Who, f: Form) -> str:
    back = f.back or PLACE
    at = w.t("visits.at_step", n=NUMBER[back]) if back in NUMBER else w.t("visits.at_summary")
    return f"{f.place['name']} · {at}" if f.place else at


# --- around the steps -------------------------------------------------------------------


def card(s: VisitSession, title: str) -> str:
    """A closed draft's card: its title over the summary, without buttons."""
    return "\n".join([title, "", *words.summary_lines(s.w.t, s.form, s.d.settings, s.today)])


def day_message(s: VisitSession, problem: DayProblem) -> str:
    days = s.d.settings.visits.backfill_days
    if problem is DayProblem.FUTURE:
        return s.w.t("visits.date_future")
    earliest = day_text(s.w.t, s.today - timedelta(days=days))
    return s.w.t("visits.date_too_old", days=days, earliest=earliest)


async def ask_plan(s: VisitSession) -> Message:
    """At submit, once: which of my open plan items did this visit serve?"""
    f = s.form
    assert f.place is not None and f.visit_day is not None
    items = await visits.plan_candidates(s.d, s.cadre, int(f.place["id"]), f.kinds, f.visit_day)
    picks = [
        Button(s.w.t("plans.visit.item_button", code=i.code, title=shorten(i.title, 24)),
               VISIT.build("pi", s.draft.id, i.id))
        for i in items
    ]  # fmt: skip
    none = Button(s.w.t("plans.visit.none_button"), VISIT.build("pi", s.draft.id, 0))
    return Message(s.w.t("plans.visit.ask"), (*((p,) for p in picks), (none,)))
