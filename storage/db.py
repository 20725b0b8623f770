"""The database: one aiosqlite connection, every write through one transaction at a time.

WAL, foreign keys on, ``synchronous=FULL`` (reports must survive power loss) and a busy
timeout. Schema changes are the numbered SQL files in ``storage/migrations/``, applied
in order and recorded in ``schema_migrations``; they are append-only.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

Row = sqlite3.Row


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    sql: str


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
    """Datetimes are stored as UTC ISO text, so that text order is time order."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime reached storage")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def from_text(text: str) -> datetime:
    return datetime.fromisoformat(text)


class Database:
    """The one connection. ``async with db.write() as conn`` is one transaction."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._conn: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()

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
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA synchronous=FULL",
            "PRAGMA busy_timeout=5000",
        ):
            await conn.execute(pragma)
        self._conn = conn

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
            await self._conn.close()
            self._conn = None

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        async with self._write_lock:
            conn = self.conn
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            else:
                await conn.execute("COMMIT")

    async def mark_processed(self, update_id: int, now: datetime) -> None:
        """Record an update as handled, after its handler ran (so a crash before that
        makes Telegram deliver it again, and the idempotent handlers answer it again).
        The mark alone is committed without fsync (synchronous=NORMAL: it survives a
        crash of the bot, and losing it to a power cut only means handling the update
        once more); every report keeps synchronous=FULL."""
        script = (
            "PRAGMA synchronous=NORMAL;"
            "INSERT OR IGNORE INTO processed_updates (update_id, at)"
            f" VALUES ({int(update_id)}, '{to_text(now)}');"
            "PRAGMA synchronous=FULL;"
        )
        async with self._write_lock:
            await self.conn.executescript(script)

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return list(await self.conn.execute_fetchall(sql, tuple(params)))

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        rows = await self.conn.execute_fetchall(sql, tuple(params))
        for row in rows:
            return row
        return None

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


@asynccontextmanager
async def open_database(path: str | Path, migrate: bool = True) -> AsyncIterator[Database]:
    db = Database(path)
    await db.open()
    try:
        if migrate:
            await db.migrate()
        yield db
    finally:
        await db.close()
