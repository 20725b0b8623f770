"""The database: a connection on the event loop's thread for the short reads, the
conversation steps and the statements of write transactions; an aiosqlite connection
whose thread does what must not hold up the loop: the fsync that makes writes durable,
long transactions and long scans. One write transaction at a time.

WAL, foreign keys on, ``synchronous=FULL`` (reports must survive power loss) and a busy
timeout. Schema changes are the numbered SQL files in ``storage/migrations/``, applied
in order and recorded in ``schema_migrations``; they are append-only.

Where the time of an update goes: each call into aiosqlite's thread costs a thread
hand-over (about 80 µs on the 2-core machines), far more than an indexed read. So:

- ``fetchone``/``fetchall`` read on the loop's connection, which sees every committed
  write (WAL). Inside ``write()`` they read through the writing connection instead, so
  a transaction sees its own rows. Long scans (scheduler sweeps) use ``scan``, which
  stays off the loop.
- A conversation step is one statement on the loop's connection, committed at once
  without waiting for the disk (``write_step``). It survives a crash of the bot at
  once, and a power cut after the next ``sync()``, which writes the marks of the
  handled updates in one durable transaction: its fsync covers every step written
  before it. The bot confirms updates to Telegram only after that, so an update whose
  step could still be lost to a power cut is delivered again (bot/runner.py): one
  fsync per batch of updates, not one per step.
- A write transaction (``write()``) runs its statements on the loop's connection too,
  without a hand-over each, and commits there without fsync; then one trip to a thread
  makes it durable (``sync()``, shared by every transaction that committed meanwhile:
  group commit). So a transaction costs one trip, however many
  statements it has. Other tasks' reads while it is open go to the writing thread's
  connection, which sees only committed rows. A long transaction (an import, a purge)
  asks for the writing thread (``write(long=True)``) so the loop keeps answering, and
  so does one that finds the file locked by another process (a CLI tool).
- ``sync()`` writes the marks on the loop's connection too, then fsyncs the WAL file in
  a thread: what synchronous=FULL does at a commit, for every commit so far. Only the
  loop's connection writes, so its page cache stays valid; a commit by the other
  connection would make it drop the whole cache and read every page again. The writing
  thread checkpoints the WAL into the database file when enough has been written
  (``_CHECKPOINT_CHANGES``), in a task the sync does not wait for, holding the write
  lock as SQLite's checkpoint inside the thread's commit did before.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import aiosqlite

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

Row = sqlite3.Row
# The connection a write transaction hands out; services name it by this, not by the driver.
Connection = aiosqlite.Connection

# Set while the current task is inside ``Database.write()``: its reads must see the
# transaction's own rows, so they go through the connection it writes on ("thread": the
# writing thread's; "loop": the loop's own).
_WRITING: ContextVar[str | None] = ContextVar("fieldbot_db_writing", default=None)


@dataclass
class DoneMark:
    """The webhook update the current task is handling (bot/webhook.py ``InboxWorker``),
    for a database that writes its done-mark inside the first write transaction the
    handler commits (``Database.marks_with_writes``, PostgreSQL): the step and "this
    update is handled" are then one commit, so an update whose step committed is never
    handled again, and the mark costs no transaction of its own. Handlers know nothing
    of it; only the task that set it may carry it (a task the handler started may not).
    """

    update_id: int
    chat_id: int | None
    done_at: str  # inbox.done_at (storage/inbox.precise_text)
    seen_at: str  # processed_updates.at (to_text)
    owner: object = None  # the task handling the update
    state: str = "open"  # "open" -> "carried" (a commit took it) | "closed" (handler over)

    def carry(self, task: object) -> bool:
        """Whether a write committing now in ``task`` takes the mark along."""
        if self.state != "open" or task is not self.owner:
            return False
        self.state = "carried"
        return True

    def give_back(self) -> None:
        """The commit that carried it failed: the next one (or the worker) marks it."""
        if self.state == "carried":
            self.state = "open"

    def close(self) -> bool:
        """The handler is over: True when no write carried the mark (the worker must
        mark the update done itself)."""
        carried = self.state == "carried"
        self.state = "closed"
        return not carried


DONE_MARK: ContextVar[DoneMark | None] = ContextVar("fieldbot_done_mark", default=None)


def carried_mark() -> DoneMark | None:
    """The done-mark a write committing now in this task must carry, if any (taken)."""
    mark = DONE_MARK.get()
    if mark is None:
        return None
    try:
        task: object = asyncio.current_task()
    except RuntimeError:
        return None
    return mark if mark.carry(task) else None


MARKS_PER_SYNC = 100  # handled updates noted before a sync is forced (a getUpdates batch)
# Marks written by one INSERT: two variables each, well inside SQLite's limit (32,766).
_MARKS_PER_STATEMENT = 1000
# What ``sync()`` writes into the file's header when it has no mark to write: any write
# commits with an fsync of the WAL, which covers every commit before it.
_SYNC_BEACON = 0
# Rows the loop's connection changes (triggers' included) between two checkpoints of the
# WAL by the writing thread. A step changes a row and writes two or three pages, a
# Submit about ten rows and twenty pages: 500 rows are about SQLite's own automatic
# checkpoint (1,000 pages), which the writing thread's commits did before.
_CHECKPOINT_CHANGES = 500


class WalFile:
    """The database's WAL file, opened to fsync it from a thread: the frames the loop's
    connection committed without fsync reach the disk, in the order SQLite wrote them.
    The file is opened again when it is not the one at its path any more (every
    connection closed, and a new one created it again); the folder is then synced once,
    as SQLite does for a file it creates, so the file's name survives a power cut."""

    def __init__(self, db_path: str) -> None:
        self.path = db_path + "-wal"
        self._fd: int | None = None
        self._inode: tuple[int, int] | None = None
        # Two syncs may flush at once (a Submit's and the periodic one), each in a thread
        # of its own: one must not close the descriptor the other is syncing.
        self._lock = threading.Lock()

    def flush(self) -> None:
        """fsync the WAL (in a thread: it waits for the disk)."""
        with self._lock:
            self._flush()

    def _flush(self) -> None:
        found = os.stat(self.path)
        if self._fd is None or self._inode != (found.st_dev, found.st_ino):
            self._close()
            self._fd = os.open(self.path, os.O_RDONLY)
            opened = os.fstat(self._fd)
            self._inode = (opened.st_dev, opened.st_ino)
            folder = os.open(os.path.dirname(self.path) or ".", os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
        os.fsync(self._fd)

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd, self._inode = None, None


class StepConn:
    """The loop's connection inside ``Database.step()``, with aiosqlite's calling shape
    (``await conn.execute(...)``), so one storage helper serves both kinds of write.
    Nothing here waits: the transaction is open on the connection other tasks read from,
    so no other task may run until it ends."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, parameters: Iterable[Any] = ()) -> sqlite3.Cursor:
        return self._conn.execute(sql, tuple(parameters))

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        return self._conn.executemany(sql, parameters)


class LoopCursor:
    """A sqlite3 cursor read like an aiosqlite one (``await cur.fetchone()``)."""

    __slots__ = ("_cur",)

    def __init__(self, cur: sqlite3.Cursor) -> None:
        self._cur = cur

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cur.lastrowid

    async def fetchone(self) -> Row | None:
        found: Row | None = self._cur.fetchone()
        return found

    async def fetchall(self) -> list[Row]:
        return self._cur.fetchall()

    async def __aenter__(self) -> LoopCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cur.close()


class _LoopResult:
    """``conn.execute(...)`` inside a loop transaction: awaited, or entered with
    ``async with``, as aiosqlite's. The statement has run when this exists."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: LoopCursor) -> None:
        self._cursor = cursor

    def __await__(self) -> Generator[Any, None, LoopCursor]:
        return self._now().__await__()

    async def _now(self) -> LoopCursor:
        return self._cursor

    async def __aenter__(self) -> LoopCursor:
        return self._cursor

    async def __aexit__(self, *exc: object) -> None:
        await self._cursor.__aexit__(*exc)


class LoopConn:
    """The loop's connection inside ``Database.write()``, with aiosqlite's calling shape
    (``await conn.execute(...)``, ``async with conn.execute(...) as cur``,
    ``executemany``, ``execute_fetchall``). Every statement runs at once on the loop's
    thread: no hand-over."""

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    def execute(self, sql: str, parameters: Iterable[Any] = ()) -> _LoopResult:
        return _LoopResult(LoopCursor(self._conn.execute(sql, tuple(parameters))))

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> LoopCursor:
        return LoopCursor(self._conn.executemany(sql, parameters))

    async def execute_fetchall(self, sql: str, parameters: Iterable[Any] = ()) -> list[Row]:
        return self._conn.execute(sql, tuple(parameters)).fetchall()


# What a storage helper that writes inside the caller's transaction takes.
Writer = aiosqlite.Connection | StepConn | LoopConn


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    sql: str


def _begin_without_waiting(here: sqlite3.Connection) -> bool:
    """BEGIN IMMEDIATE on the loop's connection, or False at once if another process (a
    CLI tool, a backup) holds the file's write lock: the loop must not wait for it, the
    writing thread can. (The loop's connection has no busy timeout: it never waits.)"""
    try:
        here.execute("BEGIN IMMEDIATE")
        return True
    except sqlite3.OperationalError as e:
        if not _busy(e):
            raise
        return False


def _busy(e: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY: another connection holds a lock this one would have to wait for."""
    return e.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _insert_marks(here: sqlite3.Connection, marks: list[tuple[int, str]]) -> None:
    """The marks, one statement each: one cached statement, where a statement of many
    rows would be a new text for each batch size and push the steps' statements out of
    the connection's cache."""
    here.executemany("INSERT OR IGNORE INTO processed_updates (update_id, at) VALUES (?, ?)", marks)


def discover_migrations(folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    found: list[Migration] = []
    for path in sorted(folder.glob("*.sql")):
        m = _MIGRATION_NAME.match(path.name)
        if not m:
            raise RuntimeError(f"migration file {path.name} is not named NNNN_name.sql")
        found.append(Migration(int(m.group(1)), m.group(2), path.read_text(encoding="utf-8")))
    numbers = [m.number for m in found]
    if len(set(numbers)) != len(numbers):
        raise RuntimeError("two migrations share a number")
    return found


def escape_like(text: str) -> str:
    """Make typed text match literally inside ``LIKE ? ESCAPE '\\'``."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def utcnow_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def to_text(moment: datetime) -> str:
    """Datetimes are stored as UTC ISO text, so that text order is time order.

    An update writes the same second two or three times (the step, the handled mark):
    the text of the last second is remembered (``isoformat`` with its keyword is
    ~1.6 µs, the check ~0.3)."""
    global _LAST_TEXT
    if moment.tzinfo is not UTC:
        if moment.tzinfo is None:
            raise ValueError("naive datetime reached storage")
        moment = moment.astimezone(UTC)
    second = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    last = _LAST_TEXT
    if last[0] == second:
        return last[1]
    text = moment.isoformat(timespec="seconds")
    _LAST_TEXT = (second, text)  # one tuple: a reader on another thread sees a pair
    return text


_LAST_TEXT: tuple[tuple[int, ...], str] = ((), "")


def from_text(text: str) -> datetime:
    return datetime.fromisoformat(text)


class Database:
    """The database of one bot process. ``async with db.write() as conn`` is one durable
    transaction (one trip to aiosqlite's thread); ``step``/``write_step`` write a
    conversation step on the loop's connection; ``sync`` makes everything so far durable."""

    # Whether every step is durable at its commit, so nothing waits for a ``sync``
    # (bot/webhook.py): PostgreSQL. SQLite's steps commit without fsync (``sync``).
    durable_steps = False
    # Whether a webhook update's done-mark rides in the handler's first write (``DoneMark``):
    # PostgreSQL (storage/pg.py). SQLite's webhook processes mark updates done after.
    marks_with_writes = False
    # Whether a lead is held by a session lock that dies with its process's connection
    # (``session_lock``; bot/leader.py): PostgreSQL. On SQLite the lease row alone decides.
    session_locks = False

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._conn: aiosqlite.Connection | None = None
        self._here: sqlite3.Connection | None = None  # the loop's: short reads, steps
        self._write_lock = asyncio.Lock()
        self._marks: list[tuple[int, str]] = []  # handled updates not yet written
        self._unsynced = False  # a step was committed without fsync since the last sync
        # Group commit: transactions committed on the loop are numbered; ``_durable`` is
        # the last number an fsync is known to cover, ``_flushing`` the fsync under way.
        self._committed = 0
        self._durable = 0
        self._flushing: asyncio.Future[None] | None = None
        # Set when the file is in WAL mode on a POSIX system: sync() then writes on the
        # loop's connection and fsyncs this file (else it commits on the writing thread).
        self._wal: WalFile | None = None
        self._checkpointed_at = 0  # the loop connection's total_changes at the last one
        self._checkpoint: asyncio.Task[None] | None = None  # one under way, if any

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    async def open(self) -> None:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            async with conn.execute("PRAGMA journal_mode=WAL") as cur:
                mode = await cur.fetchone()
            for pragma in (
                "PRAGMA foreign_keys=ON",
                "PRAGMA synchronous=FULL",
                "PRAGMA busy_timeout=5000",
            ):
                await conn.execute(pragma)
        except BaseException:
            # e.g. "file is not a database": without closing, aiosqlite's worker thread
            # stays alive and the process never exits after the error is reported
            await conn.close()
            raise
        self._conn = conn
        if self.path != ":memory:":  # a second connection to :memory: is another database
            here = sqlite3.connect(self.path, isolation_level=None)
            here.row_factory = sqlite3.Row
            for pragma in (
                "PRAGMA foreign_keys=ON",
                "PRAGMA synchronous=NORMAL",  # its writes are steps; sync() makes them durable
                "PRAGMA wal_autocheckpoint=0",  # never checkpoint (fsync) on the loop
                # Never wait on the loop for another process's lock (a CLI tool's import):
                # a statement that would wait goes to the writing thread instead.
                "PRAGMA busy_timeout=0",
            ):
                here.execute(pragma)
            self._here = here
            if mode is not None and str(mode[0]).lower() == "wal" and os.name == "posix":
                self._wal = WalFile(self.path)
                self._checkpointed_at = here.total_changes

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    async def ensure_open(self) -> None:
        """Open and migrate if not open yet (the application may need the database before
        its post_init hook runs, e.g. to restore conversations)."""
        if self._conn is None:
            await self.open()
            await self.migrate()

    async def close(self) -> None:
        if self._conn is not None:
            try:
                await self.sync()
                if self._checkpoint is not None:
                    await self._checkpoint
            finally:
                if self._here is not None:
                    self._here.close()
                    self._here = None
                if self._wal is not None:
                    self._wal.close()
                    self._wal = None
                await self._conn.close()
                self._conn = None

    @asynccontextmanager
    async def write(
        self, *, long: bool = False, durable: bool = True
    ) -> AsyncIterator[aiosqlite.Connection]:
        """One transaction: committed when the block ends, rolled back if it raises, and
        durable when this returns.

        It runs on the loop's connection, each statement without a thread hand-over, and
        commits without fsync; one trip to the writing thread then makes it durable,
        shared with every transaction committed meanwhile. ``long``: an import or a
        purge, run on the writing thread so the loop keeps answering. ``durable=False``:
        committed, and durable at the next ``sync()`` (a batch that syncs once at its
        end: the scheduler's climb of overdue problems)."""
        here = None if long else self._here
        if here is not None:
            async with self._write_lock:
                if not _begin_without_waiting(here):
                    here = None
                else:
                    token = _WRITING.set("loop")
                    try:
                        try:
                            yield cast(aiosqlite.Connection, LoopConn(here))
                        except BaseException:
                            here.execute("ROLLBACK")
                            raise
                        else:
                            here.execute("COMMIT")
                    finally:
                        _WRITING.reset(token)
                    self._unsynced = True
                    self._committed += 1
                    number = self._committed
        if here is None:
            async with self._thread_write() as conn:
                yield conn
            return
        if durable:
            await self._made_durable(number)

    @asynccontextmanager
    async def _thread_write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One transaction on the writing thread: a trip per statement, fsync on COMMIT."""
        async with self._write_lock:
            conn = self.conn
            token = _WRITING.set("thread")
            try:
                await conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    await conn.execute("ROLLBACK")
                    raise
                else:
                    await conn.execute("COMMIT")
            finally:
                _WRITING.reset(token)

    async def _made_durable(self, number: int) -> None:
        """Wait until an fsync covers loop transaction ``number``: join the one under way
        if it started after that commit, else start one (it covers every commit so far)."""
        while self._durable < number:
            if self._flushing is not None:
                await asyncio.shield(self._flushing)
                continue
            flushing = self._flushing = asyncio.get_running_loop().create_future()
            covers = self._committed
            # Always write: a sync() already under way may have taken the "unsynced"
            # flag without its fsync having happened yet.
            self._unsynced = True
            try:
                await self.sync()
                self._durable = max(self._durable, covers)
            except Exception as e:
                flushing.set_exception(e)
                flushing.exception()  # retrieved here; each waiter raises it too
                raise
            finally:
                self._flushing = None
                if not flushing.done():  # cancelled: the waiters start their own
                    flushing.set_result(None)

    async def write_one(self, sql: str, params: Iterable[Any] = ()) -> int:
        """One statement in its own durable transaction (``write()``'s durability);
        returns the number of rows it changed. PostgreSQL runs it in autocommit, one
        round trip, outside the queue of write transactions (storage/pg.py)."""
        async with self.write() as conn:
            return int((await conn.execute(sql, tuple(params))).rowcount)

    async def write_step(self, sql: str, params: Iterable[Any] = ()) -> int:
        """One statement as a conversation step (see ``step``): committed at once on the
        loop's connection without fsync; returns the number of rows it changed.

        It survives a crash of the bot at once, and a power cut after the next
        ``sync()``, before which its update is not confirmed to Telegram. Reports,
        problems and everything the bot sends use ``write()``."""
        values = tuple(params)
        if self._here is None:  # :memory: has one connection
            async with self.write() as conn:
                return (await conn.execute(sql, values)).rowcount
        async with self._write_lock:  # see step(); one statement commits by itself
            try:
                changed = self._here.execute(sql, values).rowcount
            except sqlite3.OperationalError as e:
                if not _busy(e):
                    raise
                changed = -1  # another process holds the lock: nothing was written
        if changed < 0:  # the writing thread waits for it; the loop does not
            async with self.write() as conn:
                return (await conn.execute(sql, values)).rowcount
        self._unsynced = True
        return changed

    @asynccontextmanager
    async def step(self, *, marks: bool = False) -> AsyncIterator[Writer]:
        """The statements of a conversation step, in one transaction on the loop's
        connection (no thread hand-over), committed without fsync. The write lock keeps
        it out of any open transaction of the writing thread, so it never waits for
        SQLite's lock while holding up the loop; while another process holds that lock
        (a CLI tool), the step is a transaction of ``write()``, whose thread waits for
        it. The block must not wait for anything
        else (no Bot API call): see ``StepConn``. A report whose receipt is shown right
        after calls ``sync()`` before showing it, and passes ``marks``: the handled
        updates' marks are written in this transaction, so that the sync's fsync is all
        that is left to do (not a transaction of their own)."""
        here = self._here
        if here is not None:
            await self._write_lock.acquire()
            try:
                began = _begin_without_waiting(here)
            except BaseException:
                self._write_lock.release()
                raise
            if not began:  # another process holds the lock: the writing thread waits
                self._write_lock.release()
                here = None
        if here is None:  # that, or :memory: (one connection): a transaction of write()
            async with self.write() as conn:
                yield conn
            return
        try:
            try:
                yield StepConn(here)
                carried = list(self._marks) if marks else []
                if carried:
                    _insert_marks(here, carried)
            except BaseException:
                here.execute("ROLLBACK")
                raise
            else:
                here.execute("COMMIT")
                del self._marks[: len(carried)]  # those noted meanwhile come after them
        finally:
            self._write_lock.release()
        self._unsynced = True

    def write_apart(self, lock: int | None) -> AbstractAsyncContextManager[Any]:
        """A write transaction for bookkeeping no service reads (the webhook inbox's,
        storage/inbox.py). SQLite: an ordinary one (``write``); PostgreSQL's does not
        queue behind the services' transactions and takes the advisory lock ``lock``."""
        return self.write()

    def session_write(self) -> AbstractAsyncContextManager[Any]:
        """The lead's renewal (storage/leases.take_over). SQLite: an ordinary write
        transaction; PostgreSQL's runs on the session lock's own connection."""
        return self.write()

    async def session_lock(self, key: int, owner: str) -> bool:
        """Hold the session lock ``key`` for ``owner`` (only where ``session_locks``)."""
        raise NotImplementedError("session locks are PostgreSQL's (storage/pg.py)")

    async def session_unlock(self, key: int, owner: str) -> None:
        """Let go of ``key`` if ``owner`` holds it (nothing to let go without session locks)."""

    async def session_lock_break(self, key: int) -> None:
        """Free ``key`` from a holder that stopped renewing (only where ``session_locks``)."""
        raise NotImplementedError("session locks are PostgreSQL's (storage/pg.py)")

    def note_processed(self, update_id: int, now: datetime) -> None:
        """Remember that an update was handled; ``sync()`` writes it. Until then a crash
        only means the update is delivered and handled again, which every handler
        takes calmly (a step asked again, a report never made twice)."""
        self._marks.append((int(update_id), to_text(now)))

    @property
    def pending_marks(self) -> int:
        return len(self._marks)

    async def listen(self, channel: str, fn: Callable[[], None]) -> None:
        """PostgreSQL calls ``fn`` when another process's transaction NOTIFYs
        ``channel`` (storage/pg.py). SQLite has no such thing: whoever listens polls."""

    async def unlisten(self, channel: str, fn: Callable[[], None]) -> None:
        """Stop calling ``fn`` for ``channel`` (nothing to stop on SQLite)."""

    async def sync(self) -> None:
        """Write the noted update marks and make them durable, with every step and
        transaction committed before (``write_step``, ``step``, ``write``): one fsync of
        the WAL, in one trip to a thread, since WAL frames reach the disk in order."""
        if self._conn is None or (not self._marks and not self._unsynced):
            return
        marks, self._marks = self._marks, []
        self._unsynced = False
        try:
            if self._wal is None or not await self._sync_on_loop(marks):
                await self._sync_on_thread(marks)
        except BaseException:
            self._marks[:0] = marks
            self._unsynced = True
            raise

    async def _sync_on_loop(self, marks: list[tuple[int, str]]) -> bool:
        """The marks committed on the loop's connection, then the WAL fsynced in a
        thread, and checkpointed by the writing thread when due. False when another
        process holds the file's write lock (nothing written: the writing thread waits
        for it instead) or the WAL file is not found (the writing thread's commit, with
        the marks again, makes everything durable)."""
        here, wal = self._here, self._wal
        assert here is not None and wal is not None
        if marks:
            async with self._write_lock:
                if not _begin_without_waiting(here):
                    return False
                try:
                    _insert_marks(here, marks)
                except BaseException:
                    here.execute("ROLLBACK")
                    raise
                here.execute("COMMIT")
        try:
            await asyncio.to_thread(wal.flush)
        except FileNotFoundError:  # no WAL at its path: a commit of SQLite's own does it
            log.warning("no WAL file at %s; making the writes durable on the thread", wal.path)
            return False
        checkpointing = self._checkpoint is not None and not self._checkpoint.done()
        if here.total_changes - self._checkpointed_at >= _CHECKPOINT_CHANGES and not checkpointing:
            self._checkpointed_at = here.total_changes
            self._checkpoint = asyncio.create_task(self._checkpoint_wal(), name="wal-checkpoint")
        return True

    async def _checkpoint_wal(self) -> None:
        """Copy the WAL's pages into the database file, on the writing thread, in a task
        of its own: the sync that made it due does not wait for it. It holds the write
        lock, as SQLite's own checkpoint at a commit did, so that no step writes while it
        runs and the next one starts the WAL over from its beginning; with steps writing
        meanwhile it would never be copied to the end and would grow without bound.
        SQLite refuses it while that connection has a statement open (a cursor being
        read); it is then due again at the next sync."""
        try:
            async with self._write_lock:
                await self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as e:
            self._checkpointed_at -= _CHECKPOINT_CHANGES
            log.info("WAL checkpoint put off: %s", e)

    async def _sync_on_thread(self, marks: list[tuple[int, str]]) -> None:
        """The marks in one ``synchronous=FULL`` transaction of the writing thread: its
        fsync covers every commit before it, and it checkpoints the WAL by itself."""
        conn = self.conn
        async with self._write_lock:
            # One statement is one transaction by itself (autocommit): one trip to the
            # writing thread and one fsync for a whole batch of marks.
            for start in range(0, max(len(marks), 1), _MARKS_PER_STATEMENT):
                chunk = marks[start : start + _MARKS_PER_STATEMENT]
                if chunk:
                    await conn.execute(
                        "INSERT OR IGNORE INTO processed_updates (update_id, at) VALUES "
                        + ", ".join(["(?, ?)"] * len(chunk)),
                        [value for mark in chunk for value in mark],
                    )
                else:  # commits without a mark: rewriting the file's header (a
                    # page of the WAL, no row of any table) carries the fsync
                    await conn.execute(f"PRAGMA user_version = {_SYNC_BEACON}")

    def _reads_here(self) -> bool:
        """Whether a read of the current task goes to the loop's connection: yes inside
        its own loop transaction (it sees its rows), no inside a thread transaction,
        and no while another task's loop transaction is open there (its rows are not
        committed: the writing thread's connection sees only what is)."""
        here, writing = self._here, _WRITING.get()
        if here is None or writing == "thread":
            return False
        return writing == "loop" or not here.in_transaction

    def _cursor_here(self, sql: str, values: tuple[Any, ...]) -> sqlite3.Cursor | None:
        """A short read on the loop's connection, its first row read; None when it is the
        writing thread's to make: inside that thread's transaction, beside another
        task's open loop transaction, or while it would wait (a read in WAL mode waits
        for nobody, except while SQLite recovers the WAL of a process that died)."""
        if not self._reads_here():
            return None
        assert self._here is not None
        try:
            return self._here.execute(sql, values)
        except sqlite3.OperationalError as e:
            if not _busy(e) or _WRITING.get() == "loop":
                raise
            return None

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """A short read (an indexed lookup): on the loop's thread, no hand-over."""
        values = tuple(params)
        cur = self._cursor_here(sql, values)
        if cur is not None:
            return cur.fetchall()
        return list(await self.conn.execute_fetchall(sql, values))

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        values = tuple(params)
        cur = self._cursor_here(sql, values)
        if cur is not None:
            found: Row | None = cur.fetchone()
            return found
        rows = list(await self.conn.execute_fetchall(sql, values))
        return rows[0] if rows else None

    async def scan(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """A long read (a sweep over the campaign): on the writing thread, so the loop
        keeps answering cadres meanwhile."""
        return list(await self.conn.execute_fetchall(sql, tuple(params)))

    async def migrate(self, migrations: list[Migration] | None = None) -> list[int]:
        """Apply the migrations not yet recorded; returns the numbers applied."""
        migrations = discover_migrations() if migrations is None else migrations
        conn = self.conn
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        applied = {r["number"] for r in await self.fetchall("SELECT number FROM schema_migrations")}
        done: list[int] = []
        for m in migrations:
            if m.number in applied:
                continue
            async with self._write_lock:
                # executescript commits on its own; wrap the file in one transaction.
                script = (
                    f"BEGIN IMMEDIATE;\n{m.sql}\n;"
                    f"INSERT INTO schema_migrations VALUES"
                    f" ({m.number}, '{m.name}', '{utcnow_text()}');\nCOMMIT;"
                )
                try:
                    await conn.executescript(script)
                except Exception:
                    if conn.in_transaction:
                        await conn.execute("ROLLBACK")
                    raise
            log.info("applied migration %04d_%s", m.number, m.name)
            done.append(m.number)
        return done


def database_for(location: str | Path) -> Database:
    """The database a setting names: a ``postgresql://`` address ([storage] url, the
    optional extra ``postgres``: storage/pg.py) or an SQLite file."""
    if str(location).startswith(("postgresql://", "postgres://")):
        from storage.pg import PgDatabase  # noqa: PLC0415  (only with the extra)

        return PgDatabase(str(location))
    return Database(location)


@asynccontextmanager
async def open_database(path: str | Path, migrate: bool = True) -> AsyncIterator[Database]:
    db = database_for(path)
    await db.open()
    try:
        if migrate:
            await db.migrate()
        yield db
    finally:
        await db.close()
