"""Online backups with SQLite's backup API, their retention, and restoring one.

A backup is taken through a separate ``sqlite3`` connection while the bot keeps
running (WAL: readers do not block the writer), written under a temporary name,
checked, switched to a single self-contained file (no ``-wal``) and only then renamed
to ``fieldbot-<UTC stamp>.sqlite3``, so a half-written file never looks like a backup.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: no lock, as before
    fcntl = None  # type: ignore[assignment]

PREFIX = "fieldbot-"
SUFFIX = ".sqlite3"
_HEADER = b"SQLite format 3\x00"


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message is meant for a person."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    seconds: float
    removed: list[Path] = field(default_factory=list)


def backup_name(now: datetime) -> str:
    return f"{PREFIX}{now.astimezone(UTC):%Y%m%dT%H%M%SZ}{SUFFIX}"


def _order(path: Path) -> tuple[str, int]:
    """The UTC stamp, then the counter of a second backup within the same second."""
    stamp, _, n = path.name[len(PREFIX) : -len(SUFFIX)].partition("-")
    return stamp, int(n) if n.isdigit() else 0


def list_backups(folder: Path) -> list[Path]:
    """Finished backups, oldest first."""
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.glob(f"{PREFIX}*{SUFFIX}") if p.is_file()), key=_order)


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy(source: Path, dest: Path) -> None:
    """Copy a database page by page through the backup API into a single file."""
    src = sqlite3.connect(str(source), timeout=30)
    try:
        dst = sqlite3.connect(str(dest))
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
            result = dst.execute("PRAGMA quick_check").fetchone()[0]
            if result != "ok":
                raise BackupError(f"the copy of {source} failed its check: {result}")
        finally:
            dst.close()
    finally:
        src.close()
    with open(dest, "rb+") as fh:
        os.fsync(fh.fileno())


def backup_file(source: str | Path, folder: str | Path, keep: int, now: datetime) -> BackupResult:
    """Back up ``source`` into ``folder`` and keep only the newest ``keep`` backups."""
    started = time.perf_counter()
    src = Path(source)
    if not src.is_file():
        raise BackupError(f"database {src} does not exist")
    out_dir = Path(folder)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / backup_name(now)
    n = 1
    while final.exists():  # two backups within one second (nightly and on demand)
        final = out_dir / f"{backup_name(now)[: -len(SUFFIX)]}-{n}{SUFFIX}"
        n += 1
    partial = final.with_name(final.name + ".partial")
    try:
        _copy(src, partial)
        os.replace(partial, final)
        _fsync_dir(out_dir)
    finally:
        partial.unlink(missing_ok=True)
    removed: list[Path] = []
    backups = list_backups(out_dir)
    for old in backups[: max(len(backups) - max(keep, 1), 0)]:
        old.unlink()
        removed.append(old)
    return BackupResult(final, final.stat().st_size, time.perf_counter() - started, removed)


async def backup(source: str | Path, folder: str | Path, keep: int, now: datetime) -> BackupResult:
    """``backup_file`` off the event loop, so the bot keeps answering meanwhile."""
    return await asyncio.to_thread(backup_file, source, folder, keep, now)


def check_backup(path: str | Path) -> int:
    """That ``path`` is a sound Fieldbot database; returns its migration level."""
    p = Path(path)
    if not p.is_file():
        raise BackupError(f"{p} does not exist")
    with open(p, "rb") as fh:
        if fh.read(len(_HEADER)) != _HEADER:
            raise BackupError(f"{p} is not an SQLite database")
    try:
        conn = sqlite3.connect(f"file:{p.resolve()}?mode=ro", uri=True)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchone()[0]
            if result != "ok":
                raise BackupError(f"{p} is damaged: {result}")
            row = conn.execute("SELECT MAX(number) FROM schema_migrations").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{p} cannot be read as a Fieldbot database: {exc}") from None
    if row is None or row[0] is None:
        raise BackupError(f"{p} has no migrations recorded; not a Fieldbot database")
    return int(row[0])


@contextmanager
def hold_database(database: str | Path, *, shared: bool = False) -> Iterator[None]:
    """Hold the database for one process: the running bot holds it, and a restore (or a
    second bot) refuses while it is held. An OS lock on ``<database>.lock``, so a killed
    bot releases it at once. ``shared``: several webhook processes hold it together
    (docs/processes.md); a restore or a polling bot is still refused."""
    lock = Path(f"{database}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
            except BlockingIOError:
                raise BackupError(
                    f"database {database} is in use by a running bot; stop the bot first"
                ) from None
        yield
    finally:
        os.close(fd)  # releases the lock


def restore_file(backup_path: str | Path, target: str | Path, now: datetime) -> Path | None:
    """Put a backup in place of the database at ``target``; refused while a bot holds it
    (``hold_database``), since what the bot writes afterwards would vanish.

    The current database, with its ``-wal`` and ``-shm`` files, is moved aside first
    (never deleted); returns where it went, or None if there was none."""
    check_backup(backup_path)
    with hold_database(target):
        return _restore(backup_path, target, now)


def _restore(backup_path: str | Path, target: str | Path, now: datetime) -> Path | None:
    dest = Path(target)
    dest.parent.mkdir(parents=True, exist_ok=True)
    stamp = f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    aside = dest.with_name(f"{dest.name}.before-restore-{stamp}")
    moved = False
    for suffix in ("", "-wal", "-shm"):
        current = Path(f"{dest}{suffix}")
        if current.exists():
            # A stale -wal beside the restored file would be replayed into it.
            os.replace(current, Path(f"{aside}{suffix}"))
            moved = moved or suffix == ""
    incoming = dest.with_name(dest.name + ".restoring")
    try:
        _copy(Path(backup_path), incoming)
        os.replace(incoming, dest)
        _fsync_dir(dest.parent)
    finally:
        incoming.unlink(missing_ok=True)
    return aside if moved else None


async def backup_location(
    location: str | Path, folder: str | Path, keep: int, now: datetime
) -> BackupResult:
    """The nightly backup of either engine: SQLite's backup API for a file, pg_dump for
    a ``postgresql://`` address (storage/pg_ops.py)."""
    if str(location).startswith(("postgresql://", "postgres://")):
        from storage.pg_ops import dump

        return await asyncio.to_thread(dump, str(location), folder, keep, now)
    return await backup(location, folder, keep, now)
