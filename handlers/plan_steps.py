"""The plan conversations on the step engine (handlers/flow.py), both held in the
presser's private chat whatever chat the card was in:

- a progress report (进展 / 完成) on an item one owns: note → number towards the
  measure (when the item has one) → photos → summary → receipt;
- a leader's item (add, or change one of the unit's): title → measure → kind → month →
  owners → summary (change a field / submit).

The services (services/plans.py) judge again at submit: owner, leader, month, owners.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from campaign import plans as rules
from campaign.callbacks import PLAN_ITEM, PLAN_PROGRESS
from campaign.message import Button, Message, grid
from campaign.periods import PeriodError, parse_day
from campaign.text import clean_text, shorten
from campaign.vocabulary import WORK_KINDS
from handlers.flow import END, Flow, Session, Step
from handlers.flow_form import EngineForm
from services import plans

PROGRESS_KIND = "plan_progress"
ITEM_KIND = "plan_item"
USE_BUTTONS = "use_buttons"

# --- a progress report -----------------------------------------------------------------

NOTE = "note"
AMOUNT = "amount"
PHOTOS = "photos"
CONFIRM = "confirm"


@dataclass
class ProgressForm(EngineForm):
    item_id: int = 0
    code: str = ""
    title: str = ""
    unit: str = ""
    has_target: bool = False
    completes: bool = False
    note: str | None = None
    amount: float | None = None
    photos: list[str] = field(default_factory=list)
    album: str | None = None


P = Session[ProgressForm]


def _cancel_row(s: Session[Any]) -> tuple[Button, ...]:
    return (s.cancel_button(),)


async def ask_note(s: P) -> Message:
    key = "ask_done_note" if s.form.completes else "ask_note"
    text = s.t(key, code=s.form.code, title=shorten(s.form.title, 40), max=rules.MAX_NOTE)
    return Message(text, (_cancel_row(s),))


async def note_typed(s: P) -> object:
    text = clean_text(s.message.text or "")
    if not text:
        return await s.go(NOTE, note=s.t("empty"))
    if len(text) > rules.MAX_NOTE:
        return await s.go(NOTE, note=s.t("too_long", length=len(text), max=rules.MAX_NOTE))
    s.form.note = text
    return await s.go(AMOUNT if s.form.has_target else PHOTOS)


async def ask_amount(s: P) -> Message:
    skip = s.button(s.t("skip_button"), "skip")
    return Message(s.t("ask_amount", unit=s.form.unit), ((skip,), _cancel_row(s)))


async def amount_typed(s: P) -> object:
    target, _ = rules.parse_measure(clean_text(s.message.text or ""))
    if target is None:
        return await s.go(AMOUNT, note=s.t("not_a_number"))
    s.form.amount = target
    return await s.go(PHOTOS)


async def amount_skipped(s: P) -> object:
    s.form.amount = None
    return await s.go(PHOTOS)


async def ask_photos(s: P) -> Message:
    count = len(s.form.photos)
    key = "photos_done_button" if count else "skip_button"
    done = s.button(s.t(key, count=count), "pdone")
    return Message(s.t("ask_photos", max=rules.MAX_PHOTOS), ((done,), _cancel_row(s)))


async def photo_sent(s: P) -> object:
    f = s.form
    biggest = s.message.photo[-1]
    album = s.message.media_group_id
    same_album = album is not None and f.album == album
    if len(f.photos) >= rules.MAX_PHOTOS:
        if not same_album:
            await s.say(Message(s.t("photos_full", max=rules.MAX_PHOTOS)))
        return None
    if biggest.file_id not in f.photos:
        f.photos.append(biggest.file_id)
    f.album = album
    if same_album:
        await s.persist(PHOTOS)
        return PHOTOS
    return await s.go(PHOTOS, note=s.t("photo_saved", count=len(f.photos)))


async def photos_done(s: P) -> object:
    s.form.album = None
    return await s.go(CONFIRM)


async def ask_confirm(s: P) -> Message:
    f = s.form
    amount = rules.number_text(f.amount)
    text = s.t(
        "summary_done" if f.completes else "summary",
        code=f.code,
        title=shorten(f.title, 40),
        note=f.note or "",
        amount=s.t("summary_amount", amount=amount, unit=f.unit) if amount else "",
        photos=len(f.photos),
    )
    ok = s.button(s.t("submit_button"), "ok")
    return Message(text, ((ok, s.cancel_button()),))


async def submit_progress(s: P) -> object:
    f = s.form
    if not f.note:
        return await s.go(NOTE)
    outcome = await plans.report_progress(
        s.d,
        cadre=s.cadre,
        lang=s.w.lang,
        draft_id=s.draft.id,
        item_id=f.item_id,
        note=f.note,
        amount=f.amount,
        photos=f.photos,
        completes=f.completes,
    )
    await s.show(Message(outcome.text))
    return END


def progress_flow(entries: list[Any]) -> Flow[ProgressForm]:
    """The progress report, entered through ``entries`` (handlers/plans.py)."""
    return Flow(
        kind=PROGRESS_KIND,
        ns=PLAN_PROGRESS,
        texts="plans.progress",
        load=ProgressForm.load,
        steps=[
            Step(NOTE, ask_note, text=note_typed, hint="text_please"),
            Step(
                AMOUNT,
                ask_amount,
                buttons={"skip": amount_skipped},
                text=amount_typed,
                hint="not_a_number",
            ),
            Step(
                PHOTOS,
                ask_photos,
                buttons={"pdone": photos_done},
                photo=photo_sent,
                hint=USE_BUTTONS,
            ),
            Step(CONFIRM, ask_confirm, buttons={"ok": submit_progress}, hint=USE_BUTTONS),
        ],  # fmt: skip
        entries=entries,
        per_chat=False,
    )


# --- a leader's item -------------------------------------------------------------------

TITLE = "title"
MEASURE = "measure"
KIND = "kind"
MONTH = "month"
OWNERS = "owners"
SUMMARY = "summary"
REASON = "reason"  # cancelling an item: why
_ORDER = [TITLE, MEASURE, KIND, MONTH, OWNERS, SUMMARY]
FIELDS = (TITLE, MEASURE, KIND, MONTH, OWNERS)
MONTH_BUTTONS = 6


@dataclass
class ItemForm(EngineForm):
    item_id: int | None = None
    team_id: int = 0
    group_id: int | None = None
    unit_name: str = ""
    title: str | None = None
    measure: str = ""
    kind: str | None = None
    month: str | None = None
    due: str | None = None  # YYYY-MM-DD when a day was typed
    owners: list[int] = field(default_factory=list)
    code: str = ""
    editing: bool = False


Q = Session[ItemForm]


def route(s: Q, step: str) -> str:
    if s.form.editing:
        return SUMMARY
    return _ORDER[_ORDER.index(step) + 1]


async def ask_title(s: Q) -> Message:
    text = s.t("ask_title", unit=s.form.unit_name, max=rules.MAX_TITLE)
    return Message(text, (_cancel_row(s),))


async def title_typed(s: Q) -> object:
    text = clean_text(s.message.text or "")
    if not text:
        return await s.go(TITLE, note=s.t("empty"))
    if len(text) > rules.MAX_TITLE:
        return await s.go(TITLE, note=s.t("too_long", length=len(text), max=rules.MAX_TITLE))
    s.form.title = text
    return await s.forward()


async def ask_measure(s: Q) -> Message:
    skip = s.button(s.t("skip_button"), "skip")
    return Message(s.t("ask_measure", max=rules.MAX_MEASURE), ((skip,), _cancel_row(s)))


async def measure_typed(s: Q) -> object:
    text = clean_text(s.message.text or "")
    if len(text) > rules.MAX_MEASURE:
        return await s.go(MEASURE, note=s.t("too_long", length=len(text), max=rules.MAX_MEASURE))
    s.form.measure = text
    return await s.forward()


async def measure_skipped(s: Q) -> object:
    s.form.measure = ""
    return await s.forward()


async def ask_kind(s: Q) -> Message:
    picks = [s.button(s.w.t(f"kinds.{k}"), "kind", k) for k in WORK_KINDS]
    none = s.button(s.t("no_kind_button"), "kind", "none")
    return Message(s.t("ask_kind"), (*grid(picks), (none,), _cancel_row(s)))


async def kind_pressed(s: Q) -> object:
    assert s.cb is not None
    choice = s.cb.args[1]
    if choice != "none" and choice not in WORK_KINDS:
        return await s.go(KIND)
    s.form.kind = None if choice == "none" else choice
    return await s.forward()


def _months_offered(s: Q) -> list[str]:
    window = plans.months(s.d)
    month = rules.month_of(s.today)
    out: list[str] = []
    while len(out) < MONTH_BUTTONS and month <= window.last:
        if window.holds(month):
            out.append(month)
        month = rules.next_month(month)
    return out


async def ask_month(s: Q) -> Message:
    picks = [s.button(m, "mon", m.replace("-", "")) for m in _months_offered(s)]
    window = plans.months(s.d)
    text = s.t("ask_month", first=window.first, last=window.last)
    return Message(text, (*grid(picks, 3), _cancel_row(s)))


async def month_pressed(s: Q) -> object:
    assert s.cb is not None
    raw = s.cb.args[1]
    month = f"{raw[:4]}-{raw[4:]}" if len(raw) == 6 and raw.isdigit() else ""
    window = plans.months(s.d)
    if not month or not window.holds(month):
        note = s.t("month_outside", month=month or raw, first=window.first, last=window.last)
        return await s.go(MONTH, note=note)
    s.form.month, s.form.due = month, None
    return await s.forward()


async def month_typed(s: Q) -> object:
    """A typed due day (12月20日, 2026-12-20): its month, and that day as the due date."""
    window = plans.months(s.d)
    try:
        day = parse_day(s.message.text or "", s.today)
    except PeriodError:
        return await s.go(MONTH, note=s.t("bad_day"))
    month = rules.month_of(day)
    if not window.holds(month):
        note = s.t("month_outside", month=month, first=window.first, last=window.last)
        return await s.go(MONTH, note=note)
    s.form.month, s.form.due = month, day.isoformat()
    return await s.forward()


async def ask_owners(s: Q) -> Message:
    unit = rules.Unit(s.form.team_id, s.form.group_id)
    picks = [
        s.button(("✅ " if m.id in s.form.owners else "") + m.name, "own", m.id)
        for m in await plans.members(s.d, unit)
    ]
    done = s.button(s.t("owners_done_button", count=len(s.form.owners)), "odone")
    return Message(s.t("ask_owners"), (*grid(picks, 3), (done,), _cancel_row(s)))


async def owner_pressed(s: Q) -> object:
    assert s.cb is not None
    cadre_id = s.cb.int_arg(1)
    unit = rules.Unit(s.form.team_id, s.form.group_id)
    if cadre_id not in {m.id for m in await plans.members(s.d, unit)}:
        return await s.go(OWNERS, note=s.t("owner_outside"))
    if cadre_id in s.form.owners:
        s.form.owners.remove(cadre_id)
    elif len(s.form.owners) < rules.MAX_OWNERS:
        s.form.owners.append(cadre_id)
    return await s.go(OWNERS)


async def owners_done(s: Q) -> object:
    if not s.form.owners:
        return await s.go(OWNERS, note=s.t("no_owner"))
    return await s.forward()


async def _summary_text(s: Q) -> str:
    f = s.form
    unit = rules.Unit(f.team_id, f.group_id)
    names = {m.id: m.name for m in await plans.members(s.d, unit)}
    return s.t(
        "summary",
        unit=f.unit_name,
        title=f.title or "",
        measure=f.measure or "—",
        kind=s.w.t(f"kinds.{f.kind}") if f.kind else "—",
        month=f.month or "",
        due=f.due or rules.month_end(f.month).isoformat() if f.month else "",
        owners="、".join(names.get(o, "?") for o in f.owners),
    )


async def ask_summary(s: Q) -> Message:
    ok = s.button(s.t("submit_button"), "ok")
    fields_ = [s.button(s.t(f"field_{f}"), "field", f) for f in FIELDS]
    return Message(await _summary_text(s), (*grid(fields_, 3), (ok, s.cancel_button())))


async def field_pressed(s: Q) -> object:
    assert s.cb is not None
    name = s.cb.args[1]
    if name not in FIELDS:
        return await s.go(SUMMARY)
    s.form.editing = True
    return await s.go(name)


async def ask_reason(s: Q) -> Message:
    text = s.t("ask_reason", code=s.form.code, title=shorten(s.form.title or "", 40))
    return Message(text, (_cancel_row(s),))


async def reason_typed(s: Q) -> object:
    """The reason typed: the service cancels the item (judged again there)."""
    reason = clean_text(s.message.text or "")
    if not reason:
        return await s.go(REASON, note=s.t("empty"))
    if len(reason) > rules.MAX_MEASURE:
        return await s.go(REASON, note=s.t("too_long", length=len(reason), max=rules.MAX_MEASURE))
    assert s.form.item_id is not None
    outcome = await plans.cancel_item(
        s.d,
        cadre=s.cadre,
        lang=s.w.lang,
        draft_id=s.draft.id,
        item_id=s.form.item_id,
        reason=reason,
    )
    await s.say(Message(outcome.text))
    return END


async def submit_item(s: Q) -> object:
    f = s.form
    for name in (TITLE, MONTH, OWNERS):
        value = {TITLE: f.title, MONTH: f.month, OWNERS: f.owners}[name]
        if not value:
            return await s.go(name)
    assert f.title is not None and f.month is not None
    due = rules.parse_date(f.due) if f.due else None
    outcome = await plans.save_item(
        s.d,
        cadre=s.cadre,
        lang=s.w.lang,
        draft_id=s.draft.id,
        item_id=f.item_id,
        new=plans.Draft(f.title, f.measure, f.kind, f.month, due, tuple(f.owners)),
    )
    await s.show(Message(outcome.text))
    return END


def item_flow(entries: list[Any]) -> Flow[ItemForm]:
    """A leader's item, entered through ``entries`` (handlers/plans.py)."""
    return Flow(
        kind=ITEM_KIND,
        ns=PLAN_ITEM,
        texts="plans.edit",
        load=ItemForm.load,
        steps=[
            Step(TITLE, ask_title, text=title_typed, hint="text_please"),
            Step(
                MEASURE,
                ask_measure,
                buttons={"skip": measure_skipped},
                text=measure_typed,
                hint="text_please",
            ),
            Step(KIND, ask_kind, buttons={"kind": kind_pressed}, hint=USE_BUTTONS),
            Step(
                MONTH, ask_month, buttons={"mon": month_pressed}, text=month_typed, hint=USE_BUTTONS
            ),
            Step(
                OWNERS,
                ask_owners,
                buttons={"own": owner_pressed, "odone": owners_done},
                hint=USE_BUTTONS,
            ),
            Step(REASON, ask_reason, text=reason_typed, hint="text_please"),
            Step(
                SUMMARY,
                ask_summary,
                buttons={"ok": submit_item, "field": field_pressed},
                hint=USE_BUTTONS,
            ),
        ],  # fmt: skip
        entries=entries,
        route=route,
        per_chat=False,
    )
