"""Visits (走访记录): start one, submit it, amend (correct) it, withdraw it.

Each use case reads through ``storage/``, judges once with the rules in ``campaign/``
(who may log and change a visit, which days may be logged, how far from the place is
too far, the monthly quota) and writes; it returns an outcome value that says what
happened or why nothing did (``Why``), which the chat edge renders. The visit flow's
steps (handlers/visit_flow.py) keep only the draft's form between the use cases.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import Enum

from campaign.geo import distance_to, is_far
from campaign.periods import Period, month_of
from campaign.roles import FIELD_ROLES
from campaign.visitform import Form
from campaign.visitrules import ChangeRight, DayProblem, change_right, day_problem, may_view
from campaign.vocabulary import WORK_KINDS
from services import quotas
from services.runtime import Deps
from storage import drafts, visits
from storage import plans as plan_store
from storage.db import to_text
from storage.drafts import Draft
from storage.people import Cadre
from storage.plans import Item as PlanItem
from storage.visits import Photo, Place, Visit, VisitRecord

__all__ = ["Cadre", "Draft", "Place", "Visit"]

log = logging.getLogger(__name__)

KIND = "visit"  # the drafts.kind of a visit draft


class Why(Enum):
    """Why a use case did nothing (or, for ``EDIT_CONFLICT`` and ``WINDOW_CLOSED``,
    gave the correction draft up)."""

    NOT_FIELD_ROLE = "not_field_role"  # office staff and inspectors log no visits
    UNNAMED = "unnamed"  # no visit named (a command without a number)
    OTHER_FLOW = "other_flow"  # another report is being typed in this chat
    NO_PLACES = "no_places"  # the cadre is linked to no place
    NOT_FOUND = "not_found"  # no such visit, or not one the sender may see
    WITHDRAWN = "withdrawn"  # the visit was withdrawn
    CANNOT_CHANGE = "cannot_change"  # the correction window closed, and no leader
    FINISH_CURRENT = "finish_current"  # another visit draft is open
    MISSING = "missing"  # a required field is not given yet
    PLACE_GONE = "place_gone"  # the place left the cadre's scope
    DAY = "day"  # the date is outside the days that may be logged
    EDIT_CONFLICT = "edit_conflict"  # the visit changed since the correction began
    WINDOW_CLOSED = "window_closed"  # the right to correct lapsed while correcting
    CLOSED = "closed"  # the draft was already submitted or cancelled


# --- what the flow shows ----------------------------------------------------------------


async def places_for(d: Deps, cadre: Cadre, village_id: int | None = None) -> list[Place]:
    """The places the cadre may pick, most recently visited first (or one village's
    households)."""
    return await visits.places_for(d.db, cadre, village_id)


async def search_places(d: Deps, cadre: Cadre, query: str) -> list[Place]:
    return await visits.search_places(d.db, cadre, query)


async def place_in_scope(d: Deps, cadre: Cadre, place_id: int) -> Place | None:
    return await visits.place_in_scope(d.db, cadre, place_id)


def form_of(visit: Visit) -> Form:
    """A visit as a draft form: for its card, and as the start of a correction."""
    r = visit.record
    return Form(
        place={
            "id": r.place_id,
            "name": visit.place_name,
            "kind": visit.place_kind,
            "lat": visit.place_lat,
            "lon": visit.place_lon,
        },
        kinds=list(r.kinds),
        day=r.day.isoformat(),
        text=r.text or None,
        voice=r.voice_file_id,
        people=r.people_met,
        photos=[[p.file_id, p.file_unique_id] for p in r.photos],
        lat=r.lat,
        lon=r.lon,
        model=r.model_case,
    )


# --- start a visit, or a correction -----------------------------------------------------


@dataclass(frozen=True)
class Opened:
    """A visit draft opened (``draft``), an open one to carry on with (``open``), or why
    neither."""

    why: Why | None = None
    draft: Draft | None = None
    open: Draft | None = None
    other: Draft | None = None  # Why.OTHER_FLOW: the other report's draft
    places: list[Place] = field(default_factory=list)  # the place step's list, read once
    visit_id: int | None = None  # a correction's visit, for the refusals that name it
    form: Form | None = None  # a correction's form


async def open_draft(d: Deps, chat_id: int, user_id: int) -> Draft | None:
    return await drafts.open_draft(d.db, KIND, chat_id, user_id)


async def start(d: Deps, cadre: Cadre, chat_id: int, user_id: int, first_step: str) -> Opened:
    """/visit: the open visit draft if there is one; else a new draft at ``first_step``."""
    if cadre.role not in FIELD_ROLES:
        return Opened(Why.NOT_FIELD_ROLE)
    here = await drafts.open_here(d.db, chat_id, user_id)
    draft = next((x for x in here if x.kind == KIND), None)
    if draft is not None:
        return Opened(open=draft)
    if here:
        # Text goes to one flow at a time; the other report keeps what was typed.
        return Opened(Why.OTHER_FLOW, other=here[0])
    places = await visits.places_for(d.db, cadre)
    if not places:
        return Opened(Why.NO_PLACES)
    draft = await drafts.start(
        d.db, KIND, cadre.id, chat_id, user_id, first_step, Form().dump(), d.now()
    )
    return Opened(draft=draft, places=places)


async def restart(d: Deps, cadre: Cadre, old: Draft, first_step: str) -> Opened:
    """Start over: a fresh draft in place of ``old`` (which is cancelled)."""
    places = await visits.places_for(d.db, cadre)
    if not places:
        await drafts.cancel(d.db, old.id, d.now())
        return Opened(Why.NO_PLACES)
    draft = await drafts.start(
        d.db, KIND, cadre.id, old.chat_id, old.user_id, first_step, Form().dump(), d.now()
    )
    return Opened(draft=draft, places=places)


async def start_amend(
    d: Deps, cadre: Cadre, chat_id: int, user_id: int, visit_id: int | None, step: str
) -> Opened:
    """/visit_edit N: a correction draft at ``step`` holding the visit as it is; the open
    correction of the same visit to carry on with; or why not."""
    if cadre.role not in FIELD_ROLES:
        return Opened(Why.NOT_FIELD_ROLE)
    if visit_id is None:
        return Opened(Why.UNNAMED)
    change = await changeable(d, cadre, visit_id)
    if change.why is not None or change.visit is None:
        return Opened(change.why, visit_id=visit_id)
    visit = change.visit
    draft = await drafts.open_draft(d.db, KIND, chat_id, user_id)
    if draft is not None:
        if Form.load(draft.data).edit_of == visit.id:
            return Opened(open=draft, visit_id=visit.id)
        return Opened(Why.FINISH_CURRENT, visit_id=visit.id)
    form = form_of(visit)
    form.editing, form.edit_of = True, visit.id
    form.base, form.orig_day = to_text(visit.updated_at), form.day
    draft = await drafts.start(d.db, KIND, cadre.id, chat_id, user_id, step, form.dump(), d.now())
    return Opened(draft=draft, visit_id=visit.id, form=form)


async def cancel(d: Deps, draft_id: int) -> bool:
    return await drafts.cancel(d.db, draft_id, d.now())


# --- submit a visit, or save a correction -----------------------------------------------


@dataclass(frozen=True)
class Submitted:
    """A visit written (``visit_id``; ``corrected`` for a correction), or why not."""

    why: Why | None = None
    visit_id: int | None = None
    corrected: bool = False
    missing: str | None = None  # Why.MISSING: the first field not given
    day: DayProblem | None = None  # Why.DAY
    far_km: float | None = None  # the visit was logged this far from its place (flagged)
    count: int = 0  # the cadre's visits in the visit's month, this one included
    quota: int = 0  # the monthly quota
    month: Period | None = None
    quota_done: bool = False  # this visit fills the current month's quota


async def submit(d: Deps, cadre: Cadre, draft_id: int, form: Form, today: date) -> Submitted:
    """Submit the draft's visit (or save its correction): checked again as it is now,
    written with the draft's closing in one transaction, so a second Submit writes
    nothing. A correction that can no longer be saved gives its draft up."""
    missing = form.missing()
    if missing is not None:
        return Submitted(Why.MISSING, missing=missing)
    if cadre.role not in FIELD_ROLES:
        return Submitted(Why.NOT_FIELD_ROLE)
    visit = await visits.get(d.db, form.edit_of) if form.edit_of else None
    changed = visit is None or not visit.active or to_text(visit.updated_at) != form.base
    if form.edit_of and changed:
        await drafts.cancel(d.db, draft_id, d.now())
        return Submitted(Why.EDIT_CONFLICT, visit_id=form.edit_of)
    place = await _resolve_place(d, cadre, form, visit)
    if place is None:
        return Submitted(Why.PLACE_GONE)
    day = form.visit_day
    assert day is not None
    problem = day_problem(day, today, d.settings.visits.backfill_days)
    if problem is not None and form.day != form.orig_day:  # a date kept as it was stays
        return Submitted(Why.DAY, day=problem)
    record = _record(d, form, place, day)
    if form.plan_item is not None and visit is None:
        served = await plan_candidates(d, cadre, place.id, record.kinds, day)
        if form.plan_item in {i.id for i in served}:  # still the cadre's and open
            record = dataclasses.replace(record, plan_item=form.plan_item)
    if visit is not None:
        return await _amend(d, cadre, draft_id, visit, record)
    visit_id = await visits.submit(
        d.db,
        draft_id=draft_id,
        cadre=cadre,
        record=record,
        now=d.now(),
        keep_files=d.settings.media.download,
    )
    if visit_id is None:
        return Submitted(Why.CLOSED)
    month = month_of(day)
    count = await visits.count_between(d.db, cadre.id, month.start, month.end)
    quota = (await quotas.for_cadre(d, cadre)).monthly_visits
    return Submitted(
        visit_id=visit_id,
        far_km=record.distance_km if record.far else None,
        count=count,
        quota=quota,
        month=month,
        quota_done=count >= quota and month.start <= today < month.end,
    )


async def _resolve_place(d: Deps, cadre: Cadre, form: Form, visit: Visit | None) -> Place | None:
    """The chosen place as it is now: in the cadre's scope, or (when correcting) the
    place the visit already had, even if the roster has moved it since."""
    assert form.place is not None
    place_id = int(form.place["id"])
    place = await visits.place_in_scope(d.db, cadre, place_id)
    if place is None and visit is not None and visit.record.place_id == place_id:
        place = Place(
            place_id, visit.place_kind, visit.place_name, None, visit.place_lat, visit.place_lon
        )
    return place


def _record(d: Deps, form: Form, place: Place, day: date) -> VisitRecord:
    km = distance_to(place.lat, place.lon, form.lat, form.lon)
    return VisitRecord(
        place_id=place.id,
        day=day,
        kinds=tuple(k for k in WORK_KINDS if k in form.kinds),
        text=form.text or "",
        voice_file_id=form.voice,
        people_met=form.people,
        lat=form.lat,
        lon=form.lon,
        distance_km=km,
        far=is_far(km, d.settings.visits.far_km),
        model_case=form.model,
        photos=tuple(Photo(p[0], p[1]) for p in form.photos),
    )


async def _amend(
    d: Deps, cadre: Cadre, draft_id: int, visit: Visit, record: VisitRecord
) -> Submitted:
    right = right_of(d, cadre, visit)
    if right is None:
        await drafts.cancel(d.db, draft_id, d.now())
        return Submitted(Why.WINDOW_CLOSED, visit_id=visit.id)
    saved = await visits.amend(
        d.db,
        draft_id=draft_id,
        visit=visit,
        actor=cadre,
        record=record,
        now=d.now(),
        keep_files=d.settings.media.download,
    )
    if not saved:
        await drafts.cancel(d.db, draft_id, d.now())
        return Submitted(Why.EDIT_CONFLICT, visit_id=visit.id)
    log.info("visit %s corrected by cadre %s (%s)", visit.id, cadre.id, right.value)
    return Submitted(visit_id=visit.id, corrected=True)


# --- who may see and change a visit; withdrawing it ------------------------------------


def right_of(d: Deps, cadre: Cadre, visit: Visit) -> ChangeRight | None:
    """The cadre's right to change this visit now, from the roster as it is now."""
    return change_right(
        actor_id=cadre.id,
        actor_role=cadre.role,
        actor_group_id=cadre.group_id,
        owner_id=visit.cadre_id,
        visit_group_id=visit.group_id,
        created_at=visit.created_at,
        now=d.now(),
        window_hours=d.settings.visits.edit_window_hours,
    )


def _may_view(cadre: Cadre, visit: Visit) -> bool:
    return may_view(
        actor_id=cadre.id,
        actor_role=cadre.role,
        actor_group_id=cadre.group_id,
        actor_team_id=cadre.team_id,
        owner_id=visit.cadre_id,
        visit_group_id=visit.group_id,
        visit_team_id=visit.team_id,
    )


async def viewable(d: Deps, cadre: Cadre, visit_id: int) -> Visit | None:
    """The visit, if the cadre may see it."""
    visit = await visits.get(d.db, visit_id)
    return visit if visit is not None and _may_view(cadre, visit) else None


@dataclass(frozen=True)
class Change:
    """A visit the cadre may change now (``visit``, ``right``), or why not; after a
    withdrawal, ``done`` says whether this press withdrew it."""

    why: Why | None = None
    visit: Visit | None = None
    right: ChangeRight | None = None
    done: bool = False


async def changeable(d: Deps, cadre: Cadre, visit_id: int) -> Change:
    visit = await viewable(d, cadre, visit_id)
    if visit is None:
        return Change(Why.NOT_FOUND)
    if not visit.active:
        return Change(Why.WITHDRAWN, visit)
    right = right_of(d, cadre, visit)
    if right is None:
        return Change(Why.CANNOT_CHANGE, visit)
    return Change(visit=visit, right=right)


async def withdraw(d: Deps, cadre: Cadre, visit_id: int) -> Change:
    """Withdraw the visit (the row stays; counts leave it out). ``done`` is False when
    it was withdrawn or changed meanwhile."""
    change = await changeable(d, cadre, visit_id)
    if change.why is not None or change.visit is None:
        return change
    done = await visits.withdraw(d.db, change.visit, cadre, d.now())
    return Change(visit=change.visit, right=change.right, done=done)


async def plan_candidates(
    d: Deps, cadre: Cadre, place_id: int, kinds: Sequence[str], day: date
) -> list[PlanItem]:
    """The cadre's open plan items a visit at the place, of these kinds, could serve
    (asked once at submit; none: nothing asked)."""
    return await plan_store.open_for_visit(d.db, cadre.id, place_id, kinds, day)
