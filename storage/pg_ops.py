"""Operations on a PostgreSQL database: backups with pg_dump, restoring with pg_restore,
and copying a county's SQLite file into PostgreSQL (docs/postgresql.md).

Backups are pg_dump's custom format (compressed, restorable table by table), written
under a temporary name and renamed to ``fieldbot-<UTC stamp>.pgdump`` when complete, so
a half-written file never looks like a backup; the newest ``keep`` are kept.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from storage.backup import BackupError, BackupResult

PREFIX = "fieldbot-"
SUFFIX = ".pgdump"
_TOOLS_HINT = "install the PostgreSQL client programs (Debian: postgresql-client)"


def _run(args: list[str]) -> None:
    try:
        done = subprocess.run(args, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BackupError(f"{args[0]} is not installed: {_TOOLS_HINT}") from None
    if done.returncode != 0:
        raise BackupError(f"{args[0]} failed: {done.stderr.strip()[-500:]}")


def list_dumps(folder: Path) -> list[Path]:
    """Finished backups, oldest first (the stamp in the name orders them)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(f"{PREFIX}*{SUFFIX}") if p.is_file())


def dump(url: str, folder: str | Path, keep: int, now: datetime) -> BackupResult:
    """``pg_dump --format=custom`` of the whole database, while the bot runs (one
    consistent snapshot), then the oldest dumps beyond ``keep`` are removed."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    final = out / f"{PREFIX}{now.astimezone(UTC):%Y%m%dT%H%M%SZ}{SUFFIX}"
    part = final.with_name(final.name + ".part")
    started = time.monotonic()
    try:
        _run(["pg_dump", "--format=custom", "--no-owner", f"--file={part}", f"--dbname={url}"])
        os.replace(part, final)
    finally:
        part.unlink(missing_ok=True)
    removed = list_dumps(out)[:-keep] if keep > 0 else []
    for old in removed:
        old.unlink(missing_ok=True)
    return BackupResult(final, final.stat().st_size, time.monotonic() - started, removed)


# A session-level advisory lock: each running bot holds it shared (webhook processes)
# or alone (a poller); a restore takes it alone. The server lets go of it when the
# holder's connection ends, a killed process included, as the OS lets go of the file
# lock on SQLite (storage/backup.hold_database).
_HOLD_KEY = 0x6669656C65  # not the write lock's key (storage/pg.py)


@contextmanager
def hold_pg_database(url: str, *, shared: bool = False) -> Iterator[None]:
    """``storage.backup.hold_database`` for PostgreSQL: refused (BackupError) while a
    bot holds the database in a way that excludes this holder."""
    import psycopg

    try:
        conn = psycopg.connect(url, autocommit=True)
    except psycopg.Error as exc:
        raise BackupError(f"cannot reach the PostgreSQL database ({exc})") from None
    try:
        how = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
        row = conn.execute(f"SELECT {how}(%s)", (_HOLD_KEY,)).fetchone()
        if not row or not row[0]:
            raise BackupError(
                "the PostgreSQL database is in use by a running bot; stop the bot first"
            )
        yield
    finally:
        conn.close()  # releases the lock


def restore(path: str | Path, url: str) -> None:
    """Put a dump in place of the database's tables, in one transaction: either the
    whole dump is there afterwards or the database is as it was. Refused while a bot
    holds the database (``hold_pg_database``)."""
    source = Path(path)
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    _run(["pg_restore", "--list", str(source)])  # refuses what is not a pg_dump archive
    with hold_pg_database(url):
        _restore(source, url)


def _restore(source: Path, url: str) -> None:
    _run(
        [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            f"--dbname={url}",
            str(source),
        ]
    )


# --- copying a SQLite file into PostgreSQL ---------------------------------------------


@dataclass(frozen=True)
class CopyResult:
    rows: dict[str, int]  # table -> rows copied


def _convert(value: Any, family: str) -> Any:
    """SQLite keeps what it was given; PostgreSQL's columns take one type each."""
    if value is None:
        return None
    if family in ("bigint", "integer"):
        return int(value)
    if family == "double precision":
        return float(value)
    return value if isinstance(value, str) else str(value)


def _open_sqlite(path: str | Path) -> tuple[sqlite3.Connection, int]:
    """The file, read-only, and its migration level."""
    if not os.path.isfile(path):
        raise BackupError(f"{path} is not a file")
    uri = f"file:{os.path.abspath(path)}?mode=ro"
    lite = sqlite3.connect(uri, uri=True, check_same_thread=False)
    try:
        level = int(lite.execute("SELECT MAX(number) FROM schema_migrations").fetchone()[0])
    except (sqlite3.DatabaseError, TypeError) as exc:
        lite.close()
        raise BackupError(f"{path} is not a Fieldbot database ({exc})") from None
    return lite, level


# Tables the migrations themselves fill (0023: the people generation's counter): an
# empty, migrated database has rows there; the copy replaces them with the file's.
# tests/test_pg_ops.py checks that no other table has rows after migrating.
MIGRATION_ROWS = frozenset({"cache_generations"})


async def copy_sqlite(sqlite_file: str | Path, url: str) -> CopyResult:
    """Copy every table of a SQLite database (at the newest migration) into an empty,
    migrated PostgreSQL database, in one transaction, then move each ``id`` sequence
    past the copied ids. Needs a role that may set ``session_replication_role`` (the
    database's superuser): foreign keys and triggers are not checked during the copy,
    since the rows are copied as they are, derived tables included."""
    import asyncpg

    from storage.db import open_database

    source = sqlite_file
    lite, level = await asyncio.to_thread(_open_sqlite, sqlite_file)
    async with open_database(url) as target:  # migrates an empty database first
        newest = await target.fetchone("SELECT MAX(number) AS n FROM schema_migrations")
        if newest is None or newest["n"] != level:
            lite.close()
            raise BackupError(
                f"{source} is at migration {level}, PostgreSQL at"
                f" {newest['n'] if newest else None}: run `fieldbot migrate` on the file first"
            )
    conn = await asyncpg.connect(url)
    copied: dict[str, int] = {}
    try:
        tables = [
            r[0]
            for r in await conn.fetch(
                "SELECT table_name FROM information_schema.tables WHERE table_schema ="
                " current_schema() AND table_type = 'BASE TABLE' AND table_name <>"
                " 'schema_migrations' ORDER BY 1"
            )
        ]
        for table in tables:
            if table in MIGRATION_ROWS:
                continue
            if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})"):
                raise BackupError(f"the PostgreSQL database is not empty ({table} has rows)")
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            for table in tables:
                if table in MIGRATION_ROWS:  # the file's own rows replace the migration's
                    await conn.execute(f"DELETE FROM {table}")
                cols = await conn.fetch(
                    "SELECT column_name, data_type FROM information_schema.columns"
                    " WHERE table_schema = current_schema() AND table_name = $1"
                    " ORDER BY ordinal_position",
                    table,
                )
                names = [c[0] for c in cols]
                families = [c[1] for c in cols]
                cur = lite.execute(f"SELECT {', '.join(names)} FROM {table}")
                count = 0
                while batch := cur.fetchmany(5000):
                    records = [
                        tuple(_convert(v, f) for v, f in zip(row, families, strict=True))
                        for row in batch
                    ]
                    await conn.copy_records_to_table(table, records=records, columns=names)
                    count += len(records)
                copied[table] = count
                if "id" in names:
                    await conn.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                        f" COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                    )
        # Planner statistics now, not whenever autovacuum comes round: the reports'
        # first month summary on a copied county takes a third less with them.
        await conn.execute("ANALYZE")
    finally:
        lite.close()
        await conn.close()
    return CopyResult(copied)


def copy_sqlite_sync(sqlite_file: str | Path, url: str) -> CopyResult:
    return asyncio.run(copy_sqlite(sqlite_file, url))
