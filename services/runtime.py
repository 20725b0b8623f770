"""What every handler and job reaches: the database, the settings, the catalogue, a clock,
and the few things one running application shares between updates.

The clock is injected so that tests never wait for real time; it returns aware UTC.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from campaign.i18n import Catalog, default_catalog
from campaign.settings import Settings
from campaign.workcalendar import WorkCalendar

if TYPE_CHECKING:  # only the type is named here: opening the database is bot/'s work
    from storage.db import Database

DEPS_KEY = "fieldbot.deps"


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deps:
    settings: Settings
    db: Database
    catalog: Catalog = field(default_factory=default_catalog)
    clock: Callable[[], datetime] = system_clock
    # The application opened the database itself (and closes it at shutdown); a caller
    # that passed its own database (tests, the command line) closes it.
    owns_db: bool = False
    # Workbooks and charts being built off the update path, by the asker's Telegram id:
    # one at a time per person, and awaited before shutdown.
    report_jobs: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    # One heavy report (workbook, chart) at a time: each takes a core for seconds.
    heavy_reports: asyncio.Lock = field(default_factory=asyncio.Lock)
    # One job run at a time: a daily trigger and the sweep's catch-up may fire together.
    job_runs: asyncio.Lock = field(default_factory=asyncio.Lock)
    _calendar: WorkCalendar | None = field(default=None, repr=False)

    def now(self) -> datetime:
        return self.clock()

    def local_now(self) -> datetime:
        return self.clock().astimezone(self.settings.tz)

    def calendar(self) -> WorkCalendar:
        """The work calendar from config, built once per application (it caches)."""
        if self._calendar is None:
            r = self.settings.reminders
            self._calendar = WorkCalendar.from_config(r.extra_holidays, r.extra_workdays)
        return self._calendar
