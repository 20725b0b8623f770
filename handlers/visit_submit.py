"""The summary's buttons: submit a new visit or save a correction (services/visits.py
judges and writes it, with the draft's closing in one transaction, so a second Submit
writes nothing), change a field, mark a possible model case."""

from __future__ import annotations

from campaign.visit_words import month_label
from handlers.visit_session import (
    DATE,
    END,
    FIELD_STEPS,
    PLACE,
    PLAN_LINK,
    SUMMARY,
    VisitSession,
    day_message,
)
from services import visits
from services.visits import Submitted, Why


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
    s.form.plan_asked, s.form.plan_item = False, None  # the place or kinds may change
    if target == PLACE:
        s.form.query, s.form.village, s.form.page = None, None, 0
    return await s.go(target)


async def _submit(s: VisitSession) -> object:
    """Hand the draft to the service; show what it did, or go where the cadre can fix it."""
    w = s.w
    if await _ask_plan_first(s):
        return await s.go(PLAN_LINK)
    done = await visits.submit(s.d, s.cadre, s.draft.id, s.form, s.today)
    why = done.why
    if why is Why.MISSING:
        assert done.missing is not None
        field = w.t(f"visits.field_{done.missing}")
        await s.answer(w.t("visits.missing_field", field=field), alert=True)
        return await s.go(FIELD_STEPS[done.missing])
    if why is Why.NOT_FIELD_ROLE:
        await s.answer(w.t("visits.not_field_role"), alert=True)
        return None
    if why is Why.PLACE_GONE:
        await s.answer(w.t("visits.place_gone"), alert=True)
        s.form.place = None
        return await s.go(PLACE)
    if why is Why.DAY:
        assert done.day is not None
        await s.answer(day_message(s, done.day), alert=True)
        return await s.go(DATE)
    if why is Why.CLOSED:
        await s.answer(await s.flow.closed_notice(w, s.draft.id), alert=True)
        return END
    if why is Why.EDIT_CONFLICT:  # the service gave the draft up
        await s.finish(w.t("visits.cancelled_card"), w.t("visits.edit_conflict", id=done.visit_id))
        return END
    if why is Why.WINDOW_CLOSED:
        hours = s.d.settings.visits.edit_window_hours
        text = w.t("visits.edit_window_closed", id=done.visit_id, hours=hours)
        await s.finish(w.t("visits.cancelled_card"), text)
        return END
    if done.corrected:
        saved = w.t("visits.edit_saved", id=done.visit_id)
        await s.finish(saved, saved)
        return END
    await s.finish(w.t("visits.submitted_card", id=done.visit_id), _receipt(s, done))
    return END


def _receipt(s: VisitSession, done: Submitted) -> str:
    w = s.w
    assert done.month is not None
    month = month_label(w.t, done.month)
    lines = [
        w.t("visits.receipt", id=done.visit_id, count=done.count, quota=done.quota, month=month)
    ]
    if done.far_km is not None:
        lines.append(w.t("visits.receipt_far", km=f"{done.far_km:.1f}"))
    if done.quota_done:
        lines.append(w.t("visits.receipt_done"))
    return "\n".join(lines)


async def _ask_plan_first(s: VisitSession) -> bool:
    """A new visit whose cadre owns open plan items for its place or kinds: ask once
    which one it served before submitting."""
    f = s.form
    if f.plan_asked or f.edit_of or f.place is None or f.visit_day is None or not f.kinds:
        return False
    f.plan_asked = True
    found = await visits.plan_candidates(s.d, s.cadre, int(f.place["id"]), f.kinds, f.visit_day)
    return bool(found)


async def plan_button(s: VisitSession) -> object:
    """The plan item the visit served (0: none), then submit."""
    assert s.cb is not None
    chosen = s.cb.int_arg(1)
    s.form.plan_item = chosen or None
    s.form.plan_asked = True
    return await _submit(s)
