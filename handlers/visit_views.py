"""How the visit flow and the visit lists look: texts and keyboards, nothing else."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from campaign.callbacks import VISIT
from campaign.geo import distance_to, is_far
from campaign.message import Ask, Button, Message, grid
from campaign.periods import Period
from campaign.settings import Settings
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


def short(text: str, limit: int = MAX_LABEL) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- words ---------------------------------------------------------------------------


def md(w: Who, day: date) -> str:
    return w.t("visits.md", month=day.month, day=day.day)


def day_text(w: Who, day: date, today: date) -> str:
    if day == today:
        return w.t("visits.day_today", md=md(w, day))
    if (today - day).days == 1:
        return w.t("visits.day_yesterday", md=md(w, day))
    return w.t("visits.day_other", md=md(w, day), weekday=w.t(f"visits.weekdays.{day.weekday()}"))


def when(w: Who, moment: datetime, settings: Settings) -> str:
    local = moment.astimezone(settings.tz)
    return w.t(
        "visits.when_format",
        month=local.month,
        day=local.day,
        hour=local.hour,
        minute=local.minute,
    )


def month_label(w: Who, period: Period) -> str:
    return w.t("visits.month_label", year=period.start.year, month=period.start.month)


def quarter_label(w: Who, period: Period) -> str:
    return w.t(
        "visits.quarter_label", year=period.start.year, quarter=(period.start.month - 1) // 3 + 1
    )


def kinds_text(w: Who, kinds: Sequence[str]) -> str:
    return w.t("visits.separator").join(w.t(f"kinds.{k}") for k in kinds)


def place_name(w: Who, name: str, kind: str) -> str:
    return f"{w.t(f'visits.place_icons.{kind}')} {name}"


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
        keyboard.append(
            (button(short(place_name(w, itself, "village")), "pv", draft_id, village.id),)
        )
    picks = []
    for p in shown:
        label = place_name(w, p.name, p.kind) + (" ›" if p.households and village is None else "")
        picks.append(button(short(label), "pl", draft_id, p.id))
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
        button(day_text(w, d, today), "d", draft_id, d.strftime("%Y%m%d"))
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


def _yes_no(w: Who, value: bool) -> str:
    return w.t("visits.yes") if value else w.t("visits.no")


def extras_prompt(w: Who, draft_id: int, form: Form) -> Message:
    text = w.t(
        "visits.step_extras",
        people=form.people if form.people is not None else w.t("visits.none"),
        photos=len(form.photos),
        location=w.t("visits.location_set") if form.has_location else w.t("visits.location_none"),
        model=_yes_no(w, form.model),
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


def summary_lines(w: Who, form: Form, settings: Settings, today: date) -> list[str]:
    none = w.t("visits.none")
    place = place_name(w, form.place["name"], form.place["kind"]) if form.place else none
    day = form.visit_day
    lines = [
        w.t("visits.summary_place", place=place),
        w.t("visits.summary_kinds", kinds=kinds_text(w, form.kinds) if form.kinds else none),
        w.t("visits.summary_date", date=day_text(w, day, today) if day else none),
        w.t(
            "visits.summary_text",
            text=form.text or (w.t("visits.summary_voice_only") if form.voice else none),
        ),
    ]
    if form.voice and form.voice_s:
        lines.append(w.t("visits.summary_voice", seconds=form.voice_s))
    elif form.voice:  # a stored visit keeps the voice note, not its length
        lines.append(w.t("visits.summary_voice_kept"))
    people = w.t("visits.summary_people_n", people=form.people) if form.people is not None else none
    lines.append(w.t("visits.summary_people", people=people))
    lines.append(w.t("visits.summary_photos", count=len(form.photos)))
    lines.append(w.t("visits.summary_location", location=_location_text(w, form, settings)))
    lines.append(w.t("visits.summary_model", model=_yes_no(w, form.model)))
    return lines


def _location_text(w: Who, form: Form, settings: Settings) -> str:
    if not form.has_location:
        return w.t("visits.location_none")
    place = form.place or {}
    km = distance_to(place.get("lat"), place.get("lon"), form.lat, form.lon)
    if km is None:
        return w.t("visits.location_set")
    key = (
        "visits.summary_distance_far"
        if is_far(km, settings.visits.far_km)
        else "visits.summary_distance"
    )
    return w.t(key, km=f"{km:.1f}")


def summary_text(w: Who, form: Form, settings: Settings, today: date) -> str:
    title = (
        w.t("visits.summary_title_edit", id=form.edit_of)
        if form.edit_of
        else w.t("visits.summary_title")
    )
    return "\n".join([title, "", *summary_lines(w, form, settings, today)])


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
