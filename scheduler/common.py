"""The jobs' shared words, for the scheduler modules that still name them here.

Their home is ``services/jobs.py`` (messages, days) and ``campaign/text.py`` (dates,
shortening); ``scheduler/deadlines.py`` imports them from here until it moves too.
"""

from __future__ import annotations

from datetime import date, datetime

from campaign.text import day_text, moment_text, shorten
from services.jobs import (
    Outgoing,
    calendar_of,
    day_bounds,
    enqueue_all,
    lang_of,
    local_day,
    outbox_files,
    tr,
)
from services.runtime import Deps

__all__ = [
    "Outgoing",
    "calendar_of",
    "day_bounds",
    "enqueue_all",
    "excerpt",
    "fmt_date",
    "fmt_datetime",
    "lang_of",
    "local_day",
    "outbox_files",
]


def fmt_date(deps: Deps, lang: str, day: date) -> str:
    return day_text(tr(deps, lang), day)


def fmt_datetime(deps: Deps, lang: str, moment: datetime) -> str:
    return moment_text(tr(deps, lang), moment, deps.settings.tz)


def excerpt(text: str, limit: int = 60) -> str:
    return shorten(text, limit)
