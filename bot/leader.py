"""The dispatcher's lease: of several bot processes on one database, exactly one drains
the outgoing queue and runs the scheduled jobs (docs/processes.md).

Every process runs a ``Leadership``: every ``renew_seconds`` it takes or renews the
'dispatcher' row of the leases table (storage/leases.py). The holder renews it; the
others find it held and wait. When the holder dies, its row lapses ``lease_seconds``
after the last renewal and the next standby to try takes it. A leader that could not
renew in time stops counting itself leader at the moment its lease ends, before anyone
else may take it, so two never dispatch at once (as long as the clocks agree).

On PostgreSQL the lead is a session advisory lock first (``pg_try_advisory_lock`` on a
connection of its own): the server releases it the moment the holder's connection
ends, so a standby takes over at its next try (``renew_seconds``) instead of waiting
the lease out. The holder still writes the row (``leases.take_over``) at every renewal:
the dispatcher's claims read it as their fence, and the operator sees who leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta

from storage import leases
from storage.db import Database

log = logging.getLogger(__name__)


def process_name() -> str:
    """This process among the others on the database: host, pid and start time."""
    return f"{socket.gethostname()}:{os.getpid()}:{int(time.time())}"


def lock_key(name: str) -> int:
    """The session advisory lock of the lease ``name`` (PostgreSQL)."""
    return (0x6C656173 << 32) | zlib.crc32(name.encode())  # "leas", then the name's CRC


class Leadership:
    def __init__(
        self,
        db: Database,
        clock: Callable[[], datetime],
        *,
        holder: str | None = None,
        name: str = leases.DISPATCHER,
        lease_seconds: float = 6.0,
        renew_seconds: float = 2.0,
    ) -> None:
        self.db = db
        self.clock = clock
        self.holder = holder or process_name()
        self.name = name
        self.lease = timedelta(seconds=lease_seconds)
        self.renew_seconds = renew_seconds
        self.until: datetime | None = None  # our lease's end, while we hold it
        self.term = 0
        self._listeners: list[Callable[[bool], None]] = []
        self._task: asyncio.Task[None] | None = None

    def on_change(self, listener: Callable[[bool], None]) -> None:
        """``listener(leading)`` is called whenever this process gains or loses the lease."""
        self._listeners.append(listener)

    @property
    def leading(self) -> bool:
        return self.until is not None and self.clock() < self.until

    async def renew(self) -> bool:
        """Take or renew the lease once; returns whether we lead now."""
        before = self.leading
        now = self.clock()
        locked = self.db.session_locks  # PostgreSQL: the lead is a session lock
        try:
            if not locked:
                got = await leases.take(self.db, self.name, self.holder, now, now + self.lease)
            elif await self._lock(now):
                got = await leases.take_over(self.db, self.name, self.holder, now, now + self.lease)
            else:
                got = leases.Lease(self.name, "", now, 0)  # another process holds the lock
        except Exception:
            log.exception("could not renew the %s lease", self.name)
            if locked:
                self.until = None  # the lock may be gone with its connection
        else:
            if got.holder == self.holder:
                if self.until is None or got.term != self.term:
                    log.info("this process now leads (%s, term %d)", self.name, got.term)
                self.until, self.term = got.until, got.term
            else:
                if self.until is not None:
                    log.warning("the %s lease went to %s", self.name, got.holder)
                self.until = None
        after = self.leading
        if after != before:
            for listener in self._listeners:
                listener(after)
        return after

    async def _lock(self, now: datetime) -> bool:
        """PostgreSQL: hold the lead's session lock. A holder that died let it go with
        its connection; one that stopped renewing (hung) but is still connected has its
        row lapsed: its lock is broken, and taken."""
        key = lock_key(self.name)
        if await self.db.session_lock(key, self.holder):
            return True
        row = await leases.current(self.db, self.name)
        if row is None or row.holder == self.holder or row.until >= now:
            return False
        log.warning("%s stopped renewing the %s lease; taking it over", row.holder, self.name)
        await self.db.session_lock_break(key)
        return await self.db.session_lock(key, self.holder)

    async def start(self) -> None:
        if self._task is None:
            await self.renew()
            self._task = asyncio.create_task(self._run(), name=f"lease-{self.name}")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.renew_seconds)
            await self.renew()

    async def stop(self) -> None:
        """Stop renewing and give the lease up, so a standby takes over at once."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.until is not None:
            self.until = None
            for listener in self._listeners:
                listener(False)
            try:
                await leases.release(self.db, self.name, self.holder)
            except Exception:
                log.exception("could not release the %s lease", self.name)
        if self.db.session_locks:
            with contextlib.suppress(Exception):
                await self.db.session_unlock(lock_key(self.name), self.holder)
