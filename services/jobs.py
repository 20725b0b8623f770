"""What every scheduled job shares: the message it queues, local days, and recording an
occurrence as handled in the same transaction that queues its messages.

The jobs themselves (``services/reminders.py``, ``services/bulletin.py``,
``services/housekeeping.py``) build lists of ``Outgoing``; ``scheduler/`` decides when
they are due and calls ``queue_run``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from campaign.i18n import LANGUAGES
from campaign.message import Button, Message
from campaign.text import Tr
from campaign.workcalendar import WorkCalendar
from services.runtime import Deps
from storage import jobruns, outbox
from storage.db import Connection


def outbox_files(db_path: str) -> Path:
    """Where files a job uploads through the outbox wait (beside the database); the
    nightly clean-up deletes them with their sent items. A PostgreSQL address has no
    folder to sit beside: they wait in ``data/outbox-files`` under the working folder."""
    if "://" in db_path:
        return Path("data").resolve() / "outbox-files"
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
    buttons: tuple[tuple[Button, ...], ...] = ()
    card: str | None = None  # a message kept up to date (storage.outbox.enqueue's card)
    document: Path | None = None  # a local file: sent as a document, ``text`` its caption

    def message(self) -> Message:
        return Message(
            self.text,
            self.buttons,
            photos=(str(self.photo),) if self.photo is not None else (),
            document=str(self.document) if self.document is not None else None,
        )


async def enqueue_all(conn: Connection, items: list[Outgoing], now: datetime) -> int:
    """Queue the items in the caller's transaction, in one trip to the writing thread;
    returns how many were new."""
    return await outbox.enqueue_many(
        conn,
        [
            outbox.NewItem(i.key, i.chat_id, i.message(), i.urgent, i.expires_at, i.card)
            for i in items
        ],
        now,
    )


# --- occurrences handled ----------------------------------------------------------------------


async def last_handled(d: Deps, job: str) -> datetime | None:
    """The due moment of the occurrence of ``job`` handled last (run or skipped)."""
    last = await jobruns.last_run(d.db, job)
    return last.due_at if last is not None else None


async def queue_run(
    d: Deps, job: str, due: datetime, now: datetime, items: list[Outgoing], *, once: bool = True
) -> int:
    """Queue the occurrence's messages and record it as done, in ONE transaction: both
    happen or neither (a crash halfway queues nothing and the occurrence runs again).
    ``once``: an occurrence already recorded (by another process) queues nothing."""
    async with d.db.write() as conn:
        # Claimed here: another process that ran the same occurrence first has recorded
        # it, and this one queues nothing (PostgreSQL: read the job_runs row FOR UPDATE).
        last = await jobruns.last_run(d.db, job)
        if last is not None and last.due_at >= due and once:
            return 0
        queued = await enqueue_all(conn, items, now)
        await jobruns.record_run(conn, job, due, now, "done", queued)
    return queued


async def record_skipped(d: Deps, job: str, due: datetime, now: datetime) -> None:
    """A missed occurrence that is no longer useful: recorded, so it is not tried again."""
    async with d.db.write() as conn:
        await jobruns.record_run(conn, job, due, now, "skipped", 0)


# --- days and words ------------------------------------------------------------------------


def calendar_of(d: Deps) -> WorkCalendar:
    """The work calendar from config, built once per application."""
    return d.calendar()


def lang_of(d: Deps, saved: str | None) -> str:
    """The language a person reads: the one they chose or their app spoke, else the
    campaign's."""
    return saved if saved in LANGUAGES else d.settings.campaign.language


def tr(d: Deps, lang: str) -> Tr:
    """The catalogue in one language."""

    def t(key: str, /, **values: Any) -> str:
        return d.catalog.t(lang, key, **values)

    return t


def local_day(d: Deps, moment: datetime) -> date:
    return moment.astimezone(d.settings.tz).date()


def day_bounds(d: Deps, day: date) -> tuple[datetime, datetime]:
    """A local day as aware datetimes, midnight to midnight."""
    tz = d.settings.tz
    start = datetime.combine(day, time(0, 0), tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=tz)
