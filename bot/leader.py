"""The dispatcher's lease: of several bot processes on one database, exactly one drains
the outgoing queue and runs the scheduled jobs (docs/processes.md).

Every process runs a ``Leadership``: every ``renew_seconds`` it takes or renews the
'dispatcher' row of the leases table (storage/leases.py). The holder renews it; the
others find it held and wait. When the holder dies, its row lapses ``lease_seconds``
after the last renewal and the next standby to try takes it. A leader that could not
renew in time stops counting itself leader at the moment its lease ends, before anyone
else may take it, so two never dispatch at once (as long as the clocks agree).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from storage import leases
from storage.db import Database

log = logging.getLogger(__name__)


def process_name() -> str:
    """This process among the others on the database: host, pid and start time."""
    return f"{socket.gethostname()}:{os.getpid()}:{int(time.time())}"


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
        try:
            got = await leases.take(self.db, self.name, self.holder, now, now + self.lease)
        except Exception:
            log.exception("could not renew the %s lease", self.name)
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
