"""How a visit reads in the reader's language: its place, kinds and day, the labels of
a month and a quarter, and the summary lines that the visit flow's last step and a
visit's card share.

Pure: a catalogue lookup bound to one language (``campaign.text.Tr``) in, words out, so
the chat edge (handlers/visit_views.py) and the services (services/visit_log.py) say a
visit the same way. Dates use the shared formats of campaign/text.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from campaign.geo import distance_to, is_far
from campaign.periods import Period
from campaign.settings import Settings
from campaign.text import Tr, day_text
from campaign.visitform import Form


def day_label(t: Tr, day: date, today: date) -> str:
    """A day a visit may be dated: 今天 11月16日, 昨天 11月15日, 11月14日 周六."""
    md = day_text(t, day)
    if day == today:
        return t("visits.day_today", md=md)
    if (today - day).days == 1:
        return t("visits.day_yesterday", md=md)
    return t("visits.day_other", md=md, weekday=t(f"visits.weekdays.{day.weekday()}"))


def month_label(t: Tr, period: Period) -> str:
    return t("visits.month_label", year=period.start.year, month=period.start.month)


def quarter_label(t: Tr, period: Period) -> str:
    quarter = (period.start.month - 1) // 3 + 1
    return t("visits.quarter_label", year=period.start.year, quarter=quarter)


def kinds_text(t: Tr, kinds: Sequence[str]) -> str:
    return t("visits.separator").join(t(f"kinds.{k}") for k in kinds)


def place_name(t: Tr, name: str, kind: str) -> str:
    return f"{t(f'visits.place_icons.{kind}')} {name}"


def yes_no(t: Tr, value: bool) -> str:
    return t("visits.yes") if value else t("visits.no")


def summary_lines(t: Tr, form: Form, settings: Settings, today: date) -> list[str]:
    """What a visit record says, one line a field: the flow's summary and a visit's card."""
    none = t("visits.none")
    place = place_name(t, form.place["name"], form.place["kind"]) if form.place else none
    day = form.visit_day
    lines = [
        t("visits.summary_place", place=place),
        t("visits.summary_kinds", kinds=kinds_text(t, form.kinds) if form.kinds else none),
        t("visits.summary_date", date=day_label(t, day, today) if day else none),
        t(
            "visits.summary_text",
            text=form.text or (t("visits.summary_voice_only") if form.voice else none),
        ),
    ]
    if form.voice and form.voice_s:
        lines.append(t("visits.summary_voice", seconds=form.voice_s))
    elif form.voice:  # a stored visit keeps the voice note, not its length
        lines.append(t("visits.summary_voice_kept"))
    people = t("visits.summary_people_n", people=form.people) if form.people is not None else none
    lines.append(t("visits.summary_people", people=people))
    lines.append(t("visits.summary_photos", count=len(form.photos)))
    lines.append(t("visits.summary_location", location=_location_text(t, form, settings)))
    lines.append(t("visits.summary_model", model=yes_no(t, form.model)))
    return lines


def _location_text(t: Tr, form: Form, settings: Settings) -> str:
    if not form.has_location:
        return t("visits.location_none")
    place = form.place or {}
    km = distance_to(place.get("lat"), place.get("lon"), form.lat, form.lon)
    if km is None:
        return t("visits.location_set")
    far = is_far(km, settings.visits.far_km)
    return t("visits.summary_distance_far" if far else "visits.summary_distance", km=f"{km:.1f}")
