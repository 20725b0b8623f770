"""What every job shares: the message it queues, the work calendar, local days, dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from campaign.i18n import LANGUAGES
from campaign.runtime import Deps
from campaign.workcalendar import WorkCalendar
from storage import outbox


def outbox_files(db_path: str) -> Path:
    """Where files a job uploads through the outbox wait (beside the database); the
    nightly clean-up deletes them with their sent items."""
    return Path(db_path).resolve().parent / "outbox-files"


@dataclass(frozen=True)
class Outgoing:
    """One message a job wants sent. ``key`` is stable for the occurrence it belongs to,
    so queueing it again (a restart, a catch-up, two triggers at once) queues nothing."""

    key: str
    chat_id: int
    text: str
    urgent: bool = False
    expires_at: datetime | None = None  # pointless after this: dropped, not sent late
    photo: Path | None = None  # a local PNG: sent as a photo, ``text`` its caption

    @property
    def method(self) -> str:
        return "sendPhoto" if self.photo is not None else "sendMessage"

    def payload(self) -> dict[str, Any]:
        if self.photo is not None:
            return {
                "photo": {"path": str(self.photo), "filename": self.photo.name},
                "caption": self.text,
            }
        return {"text": self.text}


async def enqueue_all(conn: aiosqlite.Connection, items: list[Outgoing], now: datetime) -> int:
    """Queue the items in the caller's transaction; returns how many were new."""
    new = 0
    for item in items:
        new += await outbox.enqueue(
            conn,
            key=item.key,
            chat_id=item.chat_id,
            payload=item.payload(),
            method=item.method,
            now=now,
            urgent=item.urgent,
            expires_at=item.expires_at,
        )
    return new


def calendar_of(deps: Deps) -> WorkCalendar:
    """The work calendar from config, built once per application."""
    return deps.calendar()


def lang_of(deps: Deps, saved: str | None) -> str:
    return saved if saved in LANGUAGES else deps.settings.campaign.language


def local_day(deps: Deps, moment: datetime) -> date:
    return moment.astimezone(deps.settings.tz).date()


def day_bounds(deps: Deps, day: date) -> tuple[datetime, datetime]:
    """A local day as aware datetimes, midnight to midnight."""
    tz = deps.settings.tz
    start = datetime.combine(day, time(0, 0), tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=tz)


def fmt_date(deps: Deps, lang: str, day: date) -> str:
    month = deps.catalog.t(lang, f"sched.dates.m{day.month}")
    return deps.catalog.t(lang, "sched.dates.date", month=month, day=day.day)


def fmt_datetime(deps: Deps, lang: str, moment: datetime) -> str:
    local = moment.astimezone(deps.settings.tz)
    month = deps.catalog.t(lang, f"sched.dates.m{local.month}")
    return deps.catalog.t(
        lang, "sched.dates.datetime", month=month, day=local.day, time=f"{local:%H:%M}"
    )


def excerpt(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
