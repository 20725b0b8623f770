"""The database layer: reads on the loop through their own connection, steps committed
in one trip, update marks written in batches by ``sync``."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from telegram.error import NetworkError
from telegram.request import HTTPXRequest

from bot.runner import ConfirmWhenHandled
from storage.db import Database

NOW = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)


async def _synchronous(db: Database) -> int:
    row = (await db.scan("PRAGMA synchronous"))[0]  # the writing connection's setting
    return int(row[0])


def _another_process_writes(db: Database) -> Callable[[], None]:
    """Another connection (a CLI tool) holds the file's write lock, having written update
    1 ('other'); the call returned commits it and lets go."""
    other = sqlite3.connect(db.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO processed_updates (update_id, at) VALUES (1, 'other')")

    def release() -> None:
        other.execute("COMMIT")
        other.close()

    return release


@pytest.mark.sqlite_only("PRAGMA synchronous: how SQLite makes steps durable")
async def test_marks_are_written_once_by_sync_and_leave_full_sync(db: Database) -> None:
    db.note_processed(5, NOW)
    db.note_processed(5, NOW)
    assert db.pending_marks == 2
    assert await db.fetchall("SELECT * FROM processed_updates") == []
    await db.sync()
    assert db.pending_marks == 0
    rows = await db.fetchall("SELECT update_id, at FROM processed_updates")
    assert [tuple(r) for r in rows] == [(5, "2026-11-16T01:00:00+00:00")]
    assert await _synchronous(db) == 2  # FULL for every report


@pytest.mark.sqlite_only("PRAGMA synchronous and SQLite's own error text")
async def test_a_step_is_one_statement_committed_at_once(db: Database) -> None:
    await db.write_step("INSERT INTO processed_updates (update_id, at) VALUES (7, 'x')")
    changed = await db.write_step("UPDATE processed_updates SET at = 'y' WHERE update_id > 0")
    assert changed == 1
    row = await db.fetchone("SELECT at FROM processed_updates WHERE update_id = 7")
    assert row is not None and row["at"] == "y"  # the loop's reader sees it at once
    assert await _synchronous(db) == 2
    await db.sync()  # no mark yet: the fsync of the WAL still covers the steps
    assert [r[0] for r in await db.fetchall("SELECT update_id FROM processed_updates")] == [7]


async def test_reads_inside_a_write_see_its_rows_and_others_do_not(db: Database) -> None:
    inside = asyncio.Event()
    release = asyncio.Event()
    seen_inside: list[int] = []

    async def writer() -> None:
        async with db.write() as conn:
            await conn.execute("INSERT INTO processed_updates (update_id, at) VALUES (9, 'z')")
            seen_inside.append(len(await db.fetchall("SELECT * FROM processed_updates")))
            inside.set()
            await release.wait()

    task = asyncio.create_task(writer())
    await inside.wait()
    assert seen_inside == [1]
    assert await db.fetchall("SELECT * FROM processed_updates") == []  # not committed yet
    release.set()
    await task
    assert len(await db.fetchall("SELECT * FROM processed_updates")) == 1


@pytest.mark.sqlite_only("PRAGMA synchronous: how SQLite makes steps durable")
async def test_a_failed_step_leaves_full_sync(db: Database) -> None:
    try:
        await db.write_step("INSERT INTO no_such_table VALUES (1)")
    except Exception as exc:
        assert "no_such_table" in str(exc)
    else:
        raise AssertionError("the bad statement passed")
    assert await _synchronous(db) == 2


@pytest.mark.sqlite_only("PRAGMA synchronous and SQLite's own error text")
async def test_a_step_of_several_statements_is_all_or_nothing(db: Database) -> None:
    async with db.step() as conn:
        await conn.execute("INSERT INTO processed_updates (update_id, at) VALUES (11, 'a')")
        await conn.executemany(
            "INSERT INTO processed_updates (update_id, at) VALUES (?, ?)", [(12, "b"), (13, "c")]
        )
    assert len(await db.fetchall("SELECT * FROM processed_updates")) == 3
    try:
        async with db.step() as conn:
            await conn.execute("INSERT INTO processed_updates (update_id, at) VALUES (14, 'd')")
            await conn.execute("INSERT INTO processed_updates (update_id, at) VALUES (11, 'e')")
    except Exception as exc:
        assert "UNIQUE" in str(exc)
    else:
        raise AssertionError("a duplicate key passed")
    assert len(await db.fetchall("SELECT * FROM processed_updates")) == 3  # 14 rolled back
    await db.sync()
    assert await _synchronous(db) == 2


@pytest.mark.sqlite_only("the loop's step transaction (PostgreSQL's sync writes the marks)")
async def test_a_step_with_marks_writes_them_in_its_transaction_and_only_then(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Submit's step carries the marks: its commit writes them with the report, so
    that its sync has only the fsync left; a step rolled back leaves them pending."""
    db.note_processed(31, NOW)
    db.note_processed(32, NOW)
    try:
        async with db.step(marks=True) as conn:
            await conn.execute("INSERT INTO processed_updates (update_id, at) VALUES (1, 'a')")
            raise RuntimeError("the report was refused")
    except RuntimeError:
        pass
    assert db.pending_marks == 2
    assert await db.fetchall("SELECT * FROM processed_updates") == []
    async with db.step(marks=True) as conn:
        await conn.execute("INSERT INTO processed_updates (update_id, at) VALUES (1, 'a')")
    db.note_processed(33, NOW)  # handled after that step: the next sync writes it
    ids = [r[0] for r in await db.fetchall("SELECT update_id FROM processed_updates")]
    assert sorted(ids) == [1, 31, 32]
    assert db.pending_marks == 1
    await db.sync()
    ids = [r[0] for r in await db.fetchall("SELECT update_id FROM processed_updates")]
    assert sorted(ids) == [1, 31, 32, 33] and db.pending_marks == 0


@pytest.mark.sqlite_only("SQLite's WAL file")
async def test_a_submit_s_sync_is_an_fsync_and_no_transaction_of_its_own(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storage.db

    db.note_processed(41, NOW)
    async with db.step(marks=True) as conn:
        await conn.execute("INSERT INTO processed_updates (update_id, at) VALUES (1, 'a')")
    statements: list[str] = []
    assert db._here is not None
    db._here.set_trace_callback(statements.append)
    flushed: list[bool] = []
    real = storage.db.WalFile.flush
    monkeypatch.setattr(
        storage.db.WalFile, "flush", lambda self: flushed.append(True) or real(self)
    )
    try:
        await db.sync()
    finally:
        db._here.set_trace_callback(None)
    assert statements == [] and flushed == [True]


@pytest.mark.sqlite_only("PRAGMA synchronous: how SQLite makes steps durable")
async def test_a_poll_confirms_a_batch_only_after_its_writes_are_on_disk(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    order: list[str] = []

    async def network(self: object, url: str, *args: object, **kwargs: object) -> tuple[int, bytes]:
        order.append("poll")
        return 200, b'{"ok": true, "result": []}'

    monkeypatch.setattr(HTTPXRequest, "do_request", network)
    request = ConfirmWhenHandled()
    request.queue = asyncio.Queue()
    db.note_processed(21, NOW)

    async def settle() -> None:
        order.append("sync")
        await db.sync()

    request.settle = settle
    await request.do_request("https://example.invalid/botT/getUpdates", "POST")
    assert order == ["sync", "poll"]
    assert await db.fetchone("SELECT 1 FROM processed_updates WHERE update_id = 21")

    async def broken() -> None:
        raise sqlite3.OperationalError("disk I/O error")

    request.settle = broken
    order.clear()
    with pytest.raises(NetworkError):  # python-telegram-bot retries these, with a back-off
        await request.do_request("https://example.invalid/botT/getUpdates", "POST")
    assert order == []  # nothing confirmed: Telegram keeps the batch


async def test_a_sync_writes_more_marks_than_one_statement_holds(db: Database) -> None:
    for update_id in range(2500):
        db.note_processed(update_id, NOW)
    await db.sync()
    assert db.pending_marks == 0
    row = await db.fetchone("SELECT COUNT(*) AS n FROM processed_updates")
    assert row is not None and row["n"] == 2500


def test_a_file_that_is_not_a_database_is_refused_and_the_process_can_exit(
    tmp_path: Path,
) -> None:
    """Opening a text file must raise, and must not leave aiosqlite's worker thread
    running: before, the error was printed and the process then hung at exit."""
    import subprocess
    import sys

    path = tmp_path / "notes.sqlite"
    path.write_text("not a database\n")
    script = (
        "import asyncio, sqlite3\n"
        "from storage.db import Database\n"
        "async def main():\n"
        f"    db = Database({str(path)!r})\n"
        "    try:\n"
        "        await db.open()\n"
        "    except sqlite3.DatabaseError:\n"
        "        print('refused')\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "refused", done.stderr
    assert path.read_text() == "not a database\n"


# --- write transactions: statements on the loop, one trip to the writing thread ---------


class _Trips:
    """Counts the hand-overs to a thread: calls into aiosqlite's writing thread, and
    fsyncs of the WAL sent to a thread of the loop's pool."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import aiosqlite.core

        self.n = 0
        real = aiosqlite.core.Connection._execute
        real_to_thread = asyncio.to_thread

        async def counted(conn: object, fn: object, *args: object, **kwargs: object) -> object:
            self.n += 1
            return await real(conn, fn, *args, **kwargs)  # type: ignore[arg-type]

        async def to_thread(fn: Any, *args: object, **kwargs: object) -> object:
            self.n += 1
            return await real_to_thread(fn, *args, **kwargs)

        monkeypatch.setattr(aiosqlite.core.Connection, "_execute", counted)
        monkeypatch.setattr(asyncio, "to_thread", to_thread)


@pytest.mark.sqlite_only("trips to aiosqlite's thread")
async def test_a_write_transaction_is_one_trip_to_the_writing_thread(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    trips = _Trips(monkeypatch)
    async with db.write() as conn:
        for i in range(1, 6):
            await conn.execute(
                "INSERT INTO processed_updates (update_id, at) VALUES (?, 'a')", (i,)
            )
        async with conn.execute("SELECT COUNT(*) FROM processed_updates") as cur:
            row = await cur.fetchone()
        assert row is not None and row[0] == 5  # its own rows
        many = await conn.executemany(
            "UPDATE processed_updates SET at = ? WHERE update_id = ?", [("b", 1), ("c", 2)]
        )
        assert many.rowcount == 2
        assert len(await conn.execute_fetchall("SELECT * FROM processed_updates")) == 5
    assert trips.n == 1  # the fsync, after five inserts, two reads and an update
    rows = await db.scan("SELECT update_id FROM processed_updates WHERE update_id > 0")
    assert len(rows) == 5  # the writing thread's connection sees them committed


@pytest.mark.sqlite_only("trips to aiosqlite's thread")
async def test_transactions_committed_together_share_one_fsync(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    trips = _Trips(monkeypatch)

    async def one(i: int) -> None:
        async with db.write() as conn:
            await conn.execute(
                "INSERT INTO processed_updates (update_id, at) VALUES (?, 'x')", (i,)
            )

    await asyncio.gather(*(one(i) for i in range(1, 21)))
    rows = await db.fetchall("SELECT update_id FROM processed_updates WHERE update_id > 0")
    assert sorted(r[0] for r in rows) == list(range(1, 21))
    assert trips.n < 20  # group commit: a flush covers every transaction committed before it


async def test_a_failed_write_transaction_leaves_nothing(db: Database) -> None:
    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        async with db.write() as conn:
            await conn.execute("INSERT INTO processed_updates (update_id, at) VALUES (3, 'a')")
            await conn.execute("INSERT INTO processed_updates (update_id, at) VALUES (3, 'b')")
    assert await db.fetchall("SELECT * FROM processed_updates WHERE update_id = 3") == []
    async with db.write() as conn:  # the connection is usable again
        await conn.execute("INSERT INTO processed_updates (update_id, at) VALUES (3, 'c')")
    assert [r[0] for r in await db.fetchall("SELECT at FROM processed_updates")] == ["c"]


@pytest.mark.sqlite_only("the file's lock held by another SQLite connection")
async def test_a_write_waits_off_the_loop_while_another_process_holds_the_file(
    db: Database,
) -> None:
    release = _another_process_writes(db)  # a CLI tool's import
    done = asyncio.Event()

    async def writer() -> None:
        async with db.write() as conn:
            await conn.execute("INSERT INTO processed_updates (update_id, at) VALUES (2, 'us')")
        done.set()

    task = asyncio.create_task(writer())
    for _ in range(5):  # the loop is free: the writer waits on the writing thread
        await asyncio.sleep(0)
    assert not done.is_set()
    assert await db.fetchall("SELECT * FROM processed_updates WHERE update_id > 0") == []
    release()
    await task
    rows = await db.fetchall("SELECT update_id, at FROM processed_updates WHERE update_id > 0")
    assert [tuple(r) for r in rows] == [(1, "other"), (2, "us")]


@pytest.mark.sqlite_only("another process holding SQLite's write lock")
async def test_steps_wait_off_the_loop_while_another_process_holds_the_file(
    db: Database,
) -> None:
    """A CLI tool's import holds the write lock: a cadre's step does not hold up the loop
    (every other cadre's update) until it ends, it waits on the writing thread."""
    release = _another_process_writes(db)
    db.note_processed(5, NOW)
    done: list[str] = []

    async def one_statement() -> None:
        changed = await db.write_step(
            "INSERT INTO processed_updates (update_id, at) VALUES (2, 'step')"
        )
        done.append(f"write_step {changed}")

    async def several() -> None:
        async with db.step(marks=True) as conn:
            await conn.execute("INSERT INTO processed_updates (update_id, at) VALUES (3, 'a')")
            await conn.execute("INSERT INTO processed_updates (update_id, at) VALUES (4, 'b')")
        done.append("step")

    started = asyncio.get_running_loop().time()
    tasks = [asyncio.create_task(one_statement()), asyncio.create_task(several())]
    for _ in range(20):  # the loop is free: reads answer meanwhile
        await asyncio.sleep(0)
        assert await db.fetchall("SELECT * FROM processed_updates WHERE update_id > 0") == []
    assert asyncio.get_running_loop().time() - started < 1.0  # nobody waited on the loop
    assert done == []
    release()
    await asyncio.gather(*tasks)
    assert sorted(done) == ["step", "write_step 1"]
    # The steps went the thread's way, as durable transactions: their sync wrote the mark.
    ids = [r[0] for r in await db.fetchall("SELECT update_id FROM processed_updates")]
    assert sorted(ids) == [1, 2, 3, 4, 5] and db.pending_marks == 0


async def test_a_batch_of_transactions_not_yet_durable_is_made_so_by_sync(db: Database) -> None:
    for i in range(1, 4):
        async with db.write(durable=False) as conn:
            await conn.execute(
                "INSERT INTO processed_updates (update_id, at) VALUES (?, 'x')", (i,)
            )
    rows = await db.fetchall("SELECT update_id FROM processed_updates WHERE update_id > 0")
    assert [r[0] for r in rows] == [1, 2, 3]  # committed: every reader sees them
    await db.sync()
    rows = await db.scan("SELECT update_id FROM processed_updates WHERE update_id > 0")
    assert [r[0] for r in rows] == [1, 2, 3]


async def test_a_long_transaction_runs_on_the_writing_thread(db: Database) -> None:
    async with db.write(long=True) as conn:
        await conn.executemany(
            "INSERT INTO processed_updates (update_id, at) VALUES (?, 'x')",
            [(i,) for i in range(1, 501)],
        )
    row = await db.fetchone("SELECT COUNT(*) FROM processed_updates WHERE update_id > 0")
    assert row is not None and row[0] == 500


# --- sync: marks on the loop's connection, the WAL fsynced in a thread -----------------


def _data_version(db: Database) -> int:
    """Changes when another connection commits: the loop's connection then drops its
    page cache and reads every page again."""
    here = db._here
    assert here is not None
    return int(here.execute("PRAGMA data_version").fetchone()[0])


@pytest.mark.sqlite_only("SQLite's WAL file and its page cache")
async def test_sync_commits_the_marks_before_the_wal_is_fsynced_and_keeps_the_cache(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    import storage.db

    wal = db.path + "-wal"
    synced: list[tuple[int, int]] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        found = os.fstat(fd)
        if os.path.samestat(found, os.stat(wal)):
            # what the fsync covers is committed already: another connection sees it
            other = sqlite3.connect(db.path)
            try:
                seen = other.execute("SELECT COUNT(*) FROM processed_updates").fetchone()[0]
            finally:
                other.close()
            synced.append((found.st_ino, seen))
        real_fsync(fd)

    monkeypatch.setattr(storage.db.os, "fsync", fsync)
    before = _data_version(db)
    await db.write_step("INSERT INTO processed_updates (update_id, at) VALUES (1, 'step')")
    db.note_processed(2, NOW)
    db.note_processed(3, NOW)
    await db.sync()
    assert synced == [(os.stat(wal).st_ino, 3)]
    assert _data_version(db) == before  # no other connection wrote: the cache stays
    await db.sync()  # nothing new: no fsync
    assert len(synced) == 1


@pytest.mark.sqlite_only("SQLite's WAL file")
async def test_the_wal_is_checkpointed_by_the_writing_thread_as_it_grows(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storage.db

    monkeypatch.setattr(storage.db, "_CHECKPOINT_CHANGES", 20)
    big = "x" * 3000  # about a page a row
    for i in range(1, 401):
        await db.write_step("INSERT INTO processed_updates (update_id, at) VALUES (?, ?)", (i, big))
        if i % 10 == 0:
            await db.sync()
    # Without checkpoints the WAL holds every one of the 400 pages; with them it is
    # started again from its beginning once the database file has its pages.
    other = sqlite3.connect(db.path)
    try:
        busy, frames, done = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert busy == 0 and frames < 400  # 2,800 without
        assert other.execute("SELECT COUNT(*) FROM processed_updates").fetchone()[0] == 400
    finally:
        other.close()


@pytest.mark.sqlite_only("the file's lock held by another SQLite connection")
async def test_a_sync_waits_off_the_loop_while_another_process_holds_the_file(
    db: Database,
) -> None:
    release = _another_process_writes(db)  # a CLI tool's import
    db.note_processed(2, NOW)
    task = asyncio.create_task(db.sync())
    for _ in range(5):  # the loop is free: the marks wait on the writing thread
        await asyncio.sleep(0)
    assert not task.done()
    release()
    await task
    rows = await db.fetchall("SELECT update_id FROM processed_updates ORDER BY update_id")
    assert [r[0] for r in rows] == [1, 2]
    assert db.pending_marks == 0


@pytest.mark.sqlite_only("SQLite's WAL file")
async def test_a_failed_fsync_keeps_the_marks_for_the_next_sync(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    import storage.db

    real_fsync = os.fsync

    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    db.note_processed(8, NOW)
    monkeypatch.setattr(storage.db.os, "fsync", broken)
    with pytest.raises(OSError):
        await db.sync()
    assert db.pending_marks == 1  # not known to be on the disk: written again next time
    monkeypatch.setattr(storage.db.os, "fsync", real_fsync)
    await db.sync()
    assert db.pending_marks == 0
    rows = await db.fetchall("SELECT update_id FROM processed_updates")
    assert [r[0] for r in rows] == [8]


@pytest.mark.sqlite_only("SQLite's WAL file")
async def test_steps_commit_while_a_sync_waits_for_the_disk(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow fsync (a cloud disk: 5-20 ms) holds up only the sync that asked for it, not
    the other cadres' steps: the write lock is not held while the disk works."""
    import threading

    import storage.db

    disk = threading.Event()
    real_flush = storage.db.WalFile.flush

    def slow_flush(wal: storage.db.WalFile) -> None:
        disk.wait(10)
        real_flush(wal)

    monkeypatch.setattr(storage.db.WalFile, "flush", slow_flush)
    db.note_processed(1, NOW)
    syncing = asyncio.create_task(db.sync())
    await asyncio.sleep(0.05)
    assert not syncing.done()
    changed = await asyncio.wait_for(
        db.write_step("INSERT INTO processed_updates (update_id, at) VALUES (2, 'step')"), 5
    )
    assert changed == 1
    async with db.step() as conn:
        await conn.execute("INSERT INTO processed_updates (update_id, at) VALUES (3, 'step')")
    disk.set()
    await syncing
    rows = await db.fetchall("SELECT update_id FROM processed_updates ORDER BY update_id")
    assert [r[0] for r in rows] == [1, 2, 3]


@pytest.mark.sqlite_only("SQLite's WAL file")
async def test_a_sync_without_a_wal_file_at_its_path_commits_on_the_writing_thread(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storage.db

    def missing(wal: storage.db.WalFile) -> None:
        raise FileNotFoundError(wal.path)

    monkeypatch.setattr(storage.db.WalFile, "flush", missing)
    db.note_processed(4, NOW)
    await db.sync()
    assert db.pending_marks == 0
    rows = await db.scan("SELECT update_id FROM processed_updates")
    assert [r[0] for r in rows] == [4]


@pytest.mark.sqlite_only("SQLite's WAL checkpoint")
async def test_the_sync_that_makes_a_checkpoint_due_does_not_wait_for_it(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checkpoint copies pages and fsyncs the database file (milliseconds on a cloud
    disk): the Submit whose sync made it due shows its receipt without waiting. Steps
    wait for it (it holds the write lock, so that the WAL can start over after it)."""
    import aiosqlite.core

    import storage.db

    monkeypatch.setattr(storage.db, "_CHECKPOINT_CHANGES", 5)
    disk = asyncio.Event()
    checkpoints: list[str] = []
    real = aiosqlite.core.Connection.execute

    async def slow(conn: Any, sql: str, *args: Any) -> Any:
        if sql.startswith("PRAGMA wal_checkpoint"):
            checkpoints.append(sql)
            await disk.wait()
        return await real(conn, sql, *args)

    monkeypatch.setattr(aiosqlite.core.Connection, "execute", slow)
    for i in range(1, 7):
        await db.write_step("INSERT INTO processed_updates (update_id, at) VALUES (?, 's')", (i,))
    await asyncio.wait_for(db.sync(), 5)  # returns with the checkpoint still under way
    await asyncio.sleep(0)
    assert checkpoints == ["PRAGMA wal_checkpoint(PASSIVE)"]
    step = asyncio.create_task(
        db.write_step("INSERT INTO processed_updates (update_id, at) VALUES (7, 's')")
    )
    await asyncio.sleep(0.05)
    assert not step.done()  # behind the checkpoint
    disk.set()
    assert await asyncio.wait_for(step, 5) == 1
    db.note_processed(8, NOW)
    await asyncio.wait_for(db.sync(), 5)
    rows = await db.fetchall("SELECT update_id FROM processed_updates ORDER BY update_id")
    assert [r[0] for r in rows] == list(range(1, 9))


@pytest.mark.sqlite_only("SQLite's WAL checkpoint")
async def test_a_checkpoint_refused_beside_an_open_cursor_is_tried_again_later(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite refuses a checkpoint on a connection with a statement still being read
    (a reminder sweep's cursor): the sync still succeeds, and the next one checkpoints."""
    import storage.db

    monkeypatch.setattr(storage.db, "_CHECKPOINT_CHANGES", 5)
    for i in range(1, 51):
        await db.write_step("INSERT INTO processed_updates (update_id, at) VALUES (?, 'r')", (i,))
    async with db.conn.execute("SELECT update_id FROM processed_updates") as cur:
        assert await cur.fetchone() is not None  # the statement stays open, rows remain
        db.note_processed(100, NOW)
        await db.sync()
        task = db._checkpoint
        assert task is not None
        await task  # refused by SQLite, put off without an error
        assert db._here is not None
        assert db._here.total_changes - db._checkpointed_at >= storage.db._CHECKPOINT_CHANGES
    db.note_processed(101, NOW)
    await db.sync()
    task = db._checkpoint
    assert task is not None
    await task
    assert db._here.total_changes - db._checkpointed_at < storage.db._CHECKPOINT_CHANGES
    other = sqlite3.connect(db.path)
    try:  # everything is in the database file: nothing left to copy
        busy, frames, done = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert busy == 0 and frames == done
    finally:
        other.close()


def _wal_descriptors(db_path: str) -> int:
    """Descriptors of this process open on the database's WAL file (Linux's /proc)."""
    import os

    wal = os.path.realpath(db_path + "-wal")
    found = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            found += os.readlink(f"/proc/self/fd/{fd}") == wal
        except OSError:
            continue
    return found


@pytest.mark.sqlite_only("SQLite's WAL file")
@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux's /proc")
async def test_syncs_at_once_share_one_descriptor_of_the_wal(db: Database) -> None:
    """A Submit's sync and the periodic one can flush at the same moment, each in a
    thread: neither may close the other's descriptor or leave one of its own behind."""
    sqlites = _wal_descriptors(db.path)  # SQLite's own connections; ours opens at a sync
    syncs = []
    for i in range(1, 41):  # each sync starts while the one before waits for its fsync
        await db.write_step("INSERT INTO processed_updates (update_id, at) VALUES (?, 's')", (i,))
        db.note_processed(1000 + i, NOW)
        syncs.append(asyncio.create_task(db.sync()))
        await asyncio.sleep(0)
    await asyncio.gather(*syncs)
    assert _wal_descriptors(db.path) == sqlites + 1
    row = await db.fetchone("SELECT COUNT(*) AS n FROM processed_updates")
    assert row is not None and row["n"] == 80


def test_moments_are_stored_as_utc_text_to_the_second() -> None:
    """``to_text`` remembers the last second's text: a moment of another second, zone or
    microsecond never gets it."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from storage.db import to_text

    shanghai = datetime(2026, 11, 16, 9, 0, 0, 999_999, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert to_text(shanghai) == "2026-11-16T01:00:00+00:00"
    assert to_text(shanghai.astimezone(UTC)) == "2026-11-16T01:00:00+00:00"
    assert to_text(shanghai + timedelta(microseconds=1)) == "2026-11-16T01:00:01+00:00"
    assert to_text(shanghai) == "2026-11-16T01:00:00+00:00"
    assert to_text(datetime(2026, 11, 16, 1, 0, tzinfo=ZoneInfo("Europe/London"))) == (
        "2026-11-16T01:00:00+00:00"
    )
    assert to_text(datetime(2026, 11, 17, 1, 0, tzinfo=UTC)) == "2026-11-17T01:00:00+00:00"
    with pytest.raises(ValueError, match="naive"):
        to_text(datetime(2026, 11, 16, 1, 0))
