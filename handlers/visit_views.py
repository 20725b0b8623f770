"""How the visit flow looks: its prompts and keyboards. The words a visit is said in (its
place, kinds, day, summary) are campaign/visit_words.py, shared with the visit log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from campaign import visit_words as words
from campaign.callbacks import VISIT
from campaign.geo import distance_to, is_far
from campaign.message import Ask, Button, Message, grid
from campaign.settings import Settings
from campaign.text import shorten
from campaign.visitform import Form
from campaign.visitrules import allowed_days
from campaign.vocabulary import WORK_KINDS
from handlers.common import Who
from services.visits import Place

PAGE_SIZE = 8
MAX_LABEL = 40

Rows = tuple[tuple[Button, ...], ...]


def button(text: str, action: str, *args: object) -> Button:
    """A button of the visit flow; ``args`` start with the draft id."""
    return Button(text, VISIT.build(action, *args))


# --- step 1: place ---------------------------------------------------------------------


def place_keyboard(
    w: Who,
    draft_id: int,
    places: list[Place],
    form: Form,
    village: Place | None = None,
) -> Rows:
    page_count = max(1, -(-len(places) // PAGE_SIZE))
    page = min(max(0, form.page), page_count - 1)
    shown = places[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    keyboard: list[tuple[Button, ...]] = []
    if village is not None and page == 0:
        itself = w.t("visits.place_itself", village=village.name)
        label = shorten(words.place_name(w.t, itself, "village"), MAX_LABEL)
        keyboard.append((button(label, "pv", draft_id, village.id),))
    picks = []
    for p in shown:
        label = words.place_name(w.t, p.name, p.kind)
        label += " ›" if p.households and village is None else ""
        picks.append(button(shorten(label, MAX_LABEL), "pl", draft_id, p.id))
    keyboard += grid(picks)
    nav: list[Button] = []
    if page > 0:
        nav.append(button(w.t("visits.place_less"), "pg", draft_id, page - 1))
    if page < page_count - 1:
        nav.append(button(w.t("visits.place_more"), "pg", draft_id, page + 1))
    if nav:
        keyboard.append(tuple(nav))
    if village is not None or form.query:
        keyboard.append((button(w.t("visits.place_all"), "top", draft_id),))
    keyboard.append((button(w.t("visits.cancel"), "x", draft_id),))
    return tuple(keyboard)


# --- step 2: kinds ---------------------------------------------------------------------


def kinds_keyboard(w: Who, draft_id: int, chosen: Sequence[str]) -> Rows:
    toggles = []
    for k in WORK_KINDS:
        on = k in chosen
        label = ("✅ " if on else "▫️ ") + w.t(f"kinds.{k}")
        toggles.append(button(label, "k", draft_id, k, 0 if on else 1))
    done = button(w.t("visits.kinds_done"), "kd", draft_id)
    return grid(toggles) + ((done, button(w.t("visits.cancel"), "x", draft_id)),)


# --- step 3: date ----------------------------------------------------------------------


def date_keyboard(w: Who, draft_id: int, today: date, backfill_days: int) -> Rows:
    days = [
        button(words.day_label(w.t, d, today), "d", draft_id, d.strftime("%Y%m%d"))
        for d in allowed_days(today, backfill_days)
    ]
    return grid(days) + ((button(w.t("visits.cancel"), "x", draft_id),),)


# --- step 4: text ----------------------------------------------------------------------


def text_prompt(w: Who, draft_id: int, form: Form, limit: int) -> Message:
    text = w.t("visits.step_text", limit=limit)
    keyboard: list[tuple[Button, ...]] = []
    if form.editing and form.described:
        text += "\n\n" + w.t(
            "visits.step_text_current", text=form.text or w.t("visits.summary_voice_only")
        )
        keyboard.append((button(w.t("visits.keep_text"), "kt", draft_id),))
    keyboard.append((button(w.t("visits.cancel"), "x", draft_id),))
    return Message(text, tuple(keyboard))


# --- step 5: extras --------------------------------------------------------------------


def location_request(w: Who) -> Message:
    """The hint that comes with the reply keyboard whose button shares the location."""
    return Message(
        w.t("visits.location_hint"), ask=Ask.LOCATION, ask_label=w.t("visits.location_button")
    )


def extras_prompt(w: Who, draft_id: int, form: Form) -> Message:
    text = w.t(
        "visits.step_extras",
        people=form.people if form.people is not None else w.t("visits.none"),
        photos=len(form.photos),
        location=w.t("visits.location_set") if form.has_location else w.t("visits.location_none"),
        model=words.yes_no(w.t, form.model),
    )
    model_label = w.t("visits.model_on") if form.model else w.t("visits.model_off")
    keyboard: list[tuple[Button, ...]] = [
        (button(model_label, "mc", draft_id, 0 if form.model else 1),)
    ]
    clear: list[Button] = []
    if form.photos:
        clear.append(button(w.t("visits.extras_clear_photos"), "cp", draft_id))
    if form.has_location:
        clear.append(button(w.t("visits.extras_clear_location"), "cl", draft_id))
    if clear:
        keyboard.append(tuple(clear))
    keyboard.append(
        (
            button(w.t("visits.extras_next"), "nx", draft_id),
            button(w.t("visits.cancel"), "x", draft_id),
        )
    )
    return Message(text, tuple(keyboard))


def location_note(w: Who, form: Form, settings: Settings) -> str:
    place = form.place or {}
    km = distance_to(place.get("lat"), place.get("lon"), form.lat, form.lon)
    if km is None:
        return w.t("visits.location_no_coords") if place else w.t("visits.location_kept")
    key = "visits.location_far" if is_far(km, settings.visits.far_km) else "visits.location_near"
    return w.t(key, place=place.get("name", ""), km=f"{km:.1f}")


# --- step 6: summary -------------------------------------------------------------------


def summary_text(w: Who, form: Form, settings: Settings, today: date) -> str:
    title = (
        w.t("visits.summary_title_edit", id=form.edit_of)
        if form.edit_of
        else w.t("visits.summary_title")
    )
    return "\n".join([title, "", *words.summary_lines(w.t, form, settings, today)])


def summary_keyboard(w: Who, draft_id: int, form: Form) -> Rows:
    submit = w.t("visits.save_edit") if form.edit_of else w.t("visits.submit")
    model_label = w.t("visits.model_on") if form.model else w.t("visits.model_off")
    return (
        (button(submit, "ok", draft_id),),
        (
            button(w.t("visits.change_place"), "ch", draft_id, "place"),
            button(w.t("visits.change_kinds"), "ch", draft_id, "kinds"),
        ),
        (
            button(w.t("visits.change_date"), "ch", draft_id, "date"),
            button(w.t("visits.change_text"), "ch", draft_id, "text"),
        ),
        (button(w.t("visits.change_extras"), "ch", draft_id, "extras"),),
        (button(model_label, "mc", draft_id, 0 if form.model else 1),),
        (button(w.t("visits.cancel"), "x", draft_id),),
    )


# --- questions -------------------------------------------------------------------------


def two_buttons(w: Who, draft_id: int, first: tuple[str, str], second: tuple[str, str]) -> Rows:
    return (
        (button(w.t(first[0]), first[1], draft_id), button(w.t(second[0]), second[1], draft_id)),
    )
