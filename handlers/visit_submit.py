"""The summary's buttons: submit a new visit or save a correction (one transaction with
the draft's closing, so a second Submit writes nothing), change a field, mark a
possible model case."""

from __future__ import annotations

import logging

from campaign.geo import distance_to, is_far
from campaign.periods import month_of
from campaign.roles import FIELD_ROLES
from campaign.visitrules import day_problem
from campaign.vocabulary import WORK_KINDS
from handlers import visit_log
from handlers import visit_views as views
from handlers.visit_session import (
    DATE,
    END,
    FIELD_STEPS,
    PLACE,
    SUMMARY,
    VisitSession,
    day_message,
)
from storage import visits
from storage.db import to_text
from storage.visits import Photo, Place, VisitRecord

log = logging.getLogger(__name__)


async def summary_button(s: VisitSession) -> object:
    """Submit, change one field, or set the model-case mark."""
    assert s.cb is not None
    if s.cb.action == "ok":
        return await _submit(s)
    if s.cb.action == "mc":
        s.form.model = bool(s.cb.int_arg(1))
        return await s.go(SUMMARY)
    target = FIELD_STEPS.get(s.cb.args[1] if len(s.cb.args) > 1 else "")
    if target is None:
        await s.answer(s.w.t("common.stale_button"), alert=True)
        return None
    s.form.editing = True
    if target == PLACE:
        s.form.query, s.form.village, s.form.page = None, None, 0
    return await s.go(target)


async def _resolve_place(s: VisitSession, visit: visits.Visit | None) -> Place | None:
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


async def _submit(s: VisitSession) -> object:
    w, f, d = s.w, s.form, s.d
    missing = f.missing()
    if missing is not None:
        await s.answer(
            w.t("visits.missing_field", field=w.t(f"visits.field_{missing}")), alert=True
        )
        return await s.go(FIELD_STEPS[missing])
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
        await s.answer(day_message(s, problem), alert=True)
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
        await s.answer(await s.flow.closed_notice(w, s.draft.id), alert=True)
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
    await s.finish(w.t("visits.submitted_card", id=visit_id), "\n".join(lines))
    return END


async def _save_correction(s: VisitSession, visit: visits.Visit, record: VisitRecord) -> object:
    w, d = s.w, s.d
    right = visit_log.right_of(w, visit)
    if right is None:
        hours = d.settings.visits.edit_window_hours
        return await _close(s, w.t("visits.edit_window_closed", id=visit.id, hours=hours))
    saved = await visits.amend(
        d.db, draft_id=s.draft.id, visit=visit, actor=s.cadre, record=record, now=d.now()
    )
    if not saved:
        return await _close(s, w.t("visits.edit_conflict", id=visit.id))
    log.info("visit %s corrected by cadre %s (%s)", visit.id, s.cadre.id, right.value)
    await s.finish(w.t("visits.edit_saved", id=visit.id), w.t("visits.edit_saved", id=visit.id))
    return END


async def _close(s: VisitSession, message: str) -> object:
    """Give up the draft (it can no longer be saved) and say why."""
    await s.drop()
    await s.finish(s.w.t("visits.cancelled_card"), message)
    return END
