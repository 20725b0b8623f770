"""What every handler and job reaches: the database, the settings, the catalogue, a clock.

The clock is injected so that tests never wait for real time; it returns aware UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from campaign.i18n import Catalog, default_catalog
from campaign.settings import Settings
from campaign.workcalendar import WorkCalendar

if TYPE_CHECKING:  # storage sits beside campaign; only its type is named here
    from storage.db import Database

DEPS_KEY = "fieldbot.deps"
_CALENDAR_KEY = "fieldbot.calendar"


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deps:
    settings: Settings
    db: Database
    catalog: Catalog = field(default_factory=default_catalog)
    clock: Callable[[], datetime] = system_clock
    extra: dict[str, Any] = field(default_factory=dict)

    def now(self) -> datetime:
        return self.clock()

    def local_now(self) -> datetime:
        return self.clock().astimezone(self.settings.tz)

    def calendar(self) -> WorkCalendar:
        """The work calendar from config, built once per application (it caches)."""
        cal = self.extra.get(_CALENDAR_KEY)
        if not isinstance(cal, WorkCalendar):
            r = self.settings.reminders
            cal = WorkCalendar.from_config(r.extra_holidays, r.extra_workdays)
            self.extra[_CALENDAR_KEY] = cal
        return cal
