"""The media worker: downloads the photos and voice notes of visits and problems into
the media folder ([media] in the config), off the update path.

The visit conversation only notes a file to fetch, in the transaction that stores the
visit (storage/media.py). This worker, started and stopped with the application like the
dispatcher of the outgoing queue, takes the files whose time has come one at a time,
with a pause between two, so a cadre's next step never waits behind a download. For each
it asks Telegram how big the file is (getFile) and downloads it only within the cap.
A failed download is tried again later, waiting twice as long each time, and given up
after ``max_attempts``; nothing but the file's own row changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from telegram import Bot
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application

from campaign import media as rules
from services.runtime import DEPS_KEY, Deps
from storage import media
from storage.media import MediaFile

log = logging.getLogger(__name__)

FETCHER_KEY = "fieldbot.media"
BATCH = 20  # files taken per pass
STOP_GRACE = 20.0  # seconds a stop waits for the download in hand
_TOO_BIG = "file is too big"  # Telegram's getFile refusal over 20 MB


@dataclass
class FetchReport:
    outcomes: dict[int, str] = field(default_factory=dict)  # media id -> status after

    def ids(self, status: str) -> list[int]:
        return [i for i, s in self.outcomes.items() if s == status]


class MediaFetcher:
    def __init__(self, deps: Deps, bot: Bot) -> None:
        self.deps = deps
        self.bot = bot
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()

    @property
    def folder(self) -> Path | None:
        s = self.deps.settings
        where = s.media.folder_for(s.storage.database)
        return Path(where) if where else None

    @property
    def enabled(self) -> bool:
        return self.deps.settings.media.download and self.folder is not None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if self.running or not self.enabled:
            return
        self._stopping = False
        self._wake.clear()
        self._task = asyncio.create_task(self._run(), name="fieldbot-media")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        try:  # the file in hand is finished and recorded
            await asyncio.wait_for(task, timeout=STOP_GRACE)
        except TimeoutError:  # cut short: the file stays pending and is fetched next time
            log.warning("the media worker did not stop in %.0f s; cancelled", STOP_GRACE)

    async def _run(self) -> None:
        s = self.deps.settings.media
        while not self._stopping:
            fetched = 0
            try:
                fetched = len((await self.fetch_due(pause=s.pause_seconds)).outcomes)
            except Exception:
                log.exception("the media worker failed a pass; trying again later")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._wake.wait(), timeout=s.pause_seconds if fetched else s.poll_seconds
                )

    async def fetch_due(self, now: datetime | None = None, pause: float = 0.0) -> FetchReport:
        """Fetch the files due at ``now`` (default: the clock), one at a time."""
        report = FetchReport()
        folder = self.folder
        if folder is None:
            return report
        async with self._lock:
            due = await media.due(self.deps.db, now or self.deps.now(), BATCH)
            for i, item in enumerate(due):
                if self._stopping:
                    break
                if i and pause:
                    await asyncio.sleep(pause)
                report.outcomes[item.id] = await self._fetch(item, folder, now)
        return report

    async def _fetch(self, item: MediaFile, folder: Path, now: datetime | None) -> str:
        s = self.deps.settings.media
        cap = s.cap_bytes
        at = now or self.deps.now()
        try:
            found = await self.bot.get_file(item.file_id)
            if rules.over_cap(found.file_size, cap):
                return await self._settle(item, rules.TOO_BIG, at, size=found.file_size)
            data = bytes(await found.download_as_bytearray())
        except BadRequest as exc:
            if _TOO_BIG in str(exc).lower():
                return await self._settle(item, rules.TOO_BIG, at)
            return await self._failed(item, at, exc)
        except (TelegramError, OSError) as exc:
            return await self._failed(item, at, exc)
        if len(data) > cap:  # Telegram said less than it sent
            return await self._settle(item, rules.TOO_BIG, at, size=len(data))
        relative = rules.relative_path(item.owner, item.owner_id, item.kind, item.position, item.id)
        try:
            await asyncio.to_thread(_write, folder / relative, data)
        except OSError as exc:
            return await self._failed(item, at, exc)
        return await self._settle(item, rules.SAVED, at, size=len(data), path=relative)

    async def _settle(
        self,
        item: MediaFile,
        status: str,
        at: datetime,
        *,
        size: int | None = None,
        path: str | None = None,
    ) -> str:
        await media.settle(
            self.deps.db, item.id, status, at, attempts=item.attempts + 1, size=size, path=path
        )
        return status

    async def _failed(self, item: MediaFile, at: datetime, exc: BaseException) -> str:
        s = self.deps.settings.media
        retry = rules.after_failure(
            item.attempts, at, max_attempts=s.max_attempts, retry_seconds=s.retry_seconds
        )
        status = rules.FAILED if retry.gave_up else rules.PENDING
        error = f"{type(exc).__name__}: {exc}"
        log.warning("media file %s: %s (attempt %s)", item.id, error, retry.attempts)
        await media.settle(
            self.deps.db,
            item.id,
            status,
            at,
            attempts=retry.attempts,
            next_try_at=retry.at,
            error=error,
        )
        return status


def _write(path: Path, data: bytes) -> None:
    """Whole or not at all: a crash mid-write leaves no half file under the final name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    with open(part, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(part, path)


def install_media_fetcher(app: Application) -> MediaFetcher:  # type: ignore[type-arg]
    fetcher = MediaFetcher(app.bot_data[DEPS_KEY], app.bot)
    app.bot_data[FETCHER_KEY] = fetcher
    return fetcher


def media_fetcher_of(app: Application) -> MediaFetcher:  # type: ignore[type-arg]
    value = app.bot_data[FETCHER_KEY]
    assert isinstance(value, MediaFetcher)
    return value
