"""The visit draft as it is stored in ``drafts.data``: what the cadre has given so far.

Plain JSON-able values only, so the draft row can be read back after a restart."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from campaign.visitrules import MAX_PHOTOS


@dataclass
class Form:
    # place: {"id", "name", "kind", "lat", "lon"} of the chosen place
    place: dict[str, Any] | None = None
    kinds: list[str] = field(default_factory=list)
    day: str | None = None  # ISO local date
    text: str | None = None
    voice: str | None = None  # file_id
    voice_s: int = 0
    people: int | None = None
    photos: list[list[str]] = field(default_factory=list)  # [file_id, file_unique_id]
    lat: float | None = None
    lon: float | None = None
    model: bool = False
    # where the cadre is in the flow
    editing: bool = False  # back to the summary after the step being changed
    village: int | None = None  # browsing this village's households
    page: int = 0
    query: str | None = None
    back: str | None = None  # the step to return to from a question (resume, drop?)
    command: str | None = None  # the command that interrupted the flow
    album: str | None = None  # media group of the last photo (one answer per album)
    keyboard: bool = False  # the location keyboard was shown
    # correcting an existing visit
    edit_of: int | None = None
    base: str | None = None  # the visit's updated_at when the correction began
    orig_day: str | None = None  # its date then (a date kept as it was is not re-checked)
    # the plan item the visit served (asked once at submit, when the cadre owns any open)
    plan_item: int | None = None
    plan_asked: bool = False

    @classmethod
    def load(cls, data: dict[str, Any]) -> Form:
        # Copies of the lists and the place: the draft as read stays as it was, so a
        # change is seen as one (the other values are immutable).
        form = cls(**{k: v for k, v in data.items() if k in _NAMES})
        form.place = dict(form.place) if form.place is not None else None
        form.kinds = list(form.kinds)
        form.photos = [list(p) for p in form.photos]
        return form

    def dump(self) -> dict[str, Any]:
        # Every update saves the draft; asdict's recursive deep copy showed up in the
        # profile, and the values here are plain JSON already (only the lists are copied).
        out = {f.name: getattr(self, f.name) for f in _FIELDS}
        out["place"] = dict(self.place) if self.place is not None else None
        out["kinds"] = list(self.kinds)
        out["photos"] = [list(p) for p in self.photos]
        return out

    @property
    def visit_day(self) -> date | None:
        return date.fromisoformat(self.day) if self.day else None

    @property
    def has_location(self) -> bool:
        return self.lat is not None and self.lon is not None

    @property
    def described(self) -> bool:
        return bool(self.text) or self.voice is not None

    def missing(self) -> str | None:
        """The first required field not given yet: place, kinds, date, text."""
        if self.place is None:
            return "place"
        if not self.kinds:
            return "kinds"
        if self.day is None:
            return "date"
        if not self.described:
            return "text"
        return None

    def add_photo(self, file_id: str, file_unique_id: str) -> bool | None:
        """True if added, False if already there (a photo sent twice), None if full."""
        if any(p[1] == file_unique_id for p in self.photos):
            return False
        if len(self.photos) >= MAX_PHOTOS:
            return None
        self.photos.append([file_id, file_unique_id])
        return True


_FIELDS = dataclasses.fields(Form)
_NAMES = frozenset(f.name for f in _FIELDS)
