"""The PostgreSQL backend: ``[storage] url = "postgresql://..."`` (docs/postgresql.md).

``PgDatabase`` has the interface of ``storage.db.Database`` (``write``, ``step``,
``fetchone``, ``fetchall``, ``scan``, ``sync``, ``migrate``), so storage modules and
services run on either database unchanged. SQLite keeps its own class with no layer in
between; everything PostgreSQL needs lives here:

- The driver is asyncpg (about 100 µs a statement here, half of psycopg 3's), with
  prepared statements cached per connection.
- The storage modules' SQL is SQLite's. ``translate`` rewrites it once per text (cached):
  ``?`` placeholders to ``$n``, ``INSERT OR IGNORE`` to ``ON CONFLICT DO NOTHING``,
  ``GROUP_CONCAT`` to ``string_agg``, ``LIKE`` to ``ILIKE`` (SQLite's ``LIKE`` ignores
  ASCII case), ``IFNULL`` to ``COALESCE``, ``:name`` placeholders (with a mapping of
  values) to ``$n``, SQLite's planner hints (``INDEXED BY``, unary ``+column``)
  dropped, and an INSERT into a table with an ``id``
  column gains ``RETURNING id`` for the cursor's ``lastrowid``.
- A cursor answers ``rowcount``, ``lastrowid``, ``fetchone``, ``fetchall`` and works
  with ``await`` and ``async with`` as aiosqlite's does.
- A write transaction takes a transaction-level advisory lock first: write
  transactions run one at a time across every process, as ``BEGIN IMMEDIATE`` makes
  them on SQLite, so a service's read-judge-write stays one serial step.
- Sums come back as ``int`` (PostgreSQL's ``SUM`` of a ``BIGINT`` is ``NUMERIC``).
- A conversation step is an ordinary write transaction: committed means durable.
- A clause only PostgreSQL has goes in a comment SQLite skips: ``/*PG: FOR UPDATE SKIP
  LOCKED*/`` is the clause itself here (the claims of the outbox and the inbox).
- ``notify_on_commit(channel)`` inside a write transaction sends ``NOTIFY channel`` with
  its COMMIT (one round trip; delivered only if it commits); ``listen(channel, fn)``
  calls ``fn`` in this process when any process's transaction did. The dispatcher is
  woken so (storage/outbox.py); its polling stays, as the fallback.

Schema changes are the files in ``storage/migrations_pg/``, one for each SQLite one,
with the same number and name (tests/test_pg_schema.py compares the two schemas).
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from storage.db import (
    _WRITING,
    DONE_MARK,
    Database,
    Migration,
    Row,
    carried_mark,
    discover_migrations,
    utcnow_text,
)
from storage.inbox import MARK_CTE, mark_statements

try:  # the optional extra "postgres"
    import asyncpg
except ImportError:  # pragma: no cover - only without the extra
    asyncpg = None

MIGRATIONS_PG_DIR = Path(__file__).resolve().parent / "migrations_pg"

URL_PREFIXES = ("postgresql://", "postgres://")

# Any number will do, as long as nothing else in the database takes this lock.
_WRITE_LOCK_KEY = 0x6669656C64  # "field"


def is_postgres_url(location: str | Path) -> bool:
    return str(location).startswith(URL_PREFIXES)


# --- the dialect ------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    text: str
    returns_rows: bool  # a SELECT, or a statement with RETURNING
    returns_id: bool  # RETURNING id was added for lastrowid
    names: tuple[str, ...] = ()  # ":name" placeholders, in $n order

    def args(self, params: Any) -> Sequence[Any]:
        """The values in placeholder order (a mapping for ":name" placeholders)."""
        if self.names:
            return [params[name] for name in self.names]
        return tuple(params)


_INSERT_TABLE = re.compile(r"^\s*INSERT\s+(?:OR\s+\w+\s+)?INTO\s+(\w+)", re.I)
_OR_IGNORE = re.compile(r"^(\s*INSERT)\s+OR\s+IGNORE\b", re.I)
_OR_REPLACE = re.compile(r"^\s*INSERT\s+OR\s+REPLACE\b", re.I)
_LIKE = re.compile(r"\bLIKE\b", re.I)
_IFNULL = re.compile(r"\bIFNULL\s*\(", re.I)
_GROUP_CONCAT = re.compile(r"\bGROUP_CONCAT\s*\(", re.I)
# SQLite's "+column": a unary plus that keeps the planner off an index; no-op here.
_UNARY_PLUS = re.compile(r"\b(AND|OR|WHERE|ON|NOT)\s+\+(?=[A-Za-z_])", re.I)
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
# SQLite's planner hints (INDEXED BY name, NOT INDEXED): PostgreSQL plans by itself.
_INDEXED = re.compile(r"\s+(?:INDEXED\s+BY\s+\w+|NOT\s+INDEXED)\b", re.I)
_RETURNING = re.compile(r"\bRETURNING\b", re.I)
_READS = re.compile(r"^\s*(SELECT|WITH|VALUES)\b", re.I)
# A clause for PostgreSQL alone, in a comment SQLite skips: "/*PG: FOR UPDATE*/".
_PG_ONLY = re.compile(r"/\*PG:\s*(.*?)\s*\*/", re.S)


def _split_code(sql: str) -> list[tuple[bool, str]]:
    """The text cut into (is_code, piece): literals, quoted names and comments are not code."""
    pieces: list[tuple[bool, str]] = []
    i, start, n = 0, 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch == "-" and sql.startswith("--", i):  # a comment, to the end of its line
            if i > start:
                pieces.append((True, sql[start:i]))
            j = sql.find("\n", i)
            j = n - 1 if j < 0 else j
            pieces.append((False, sql[i : j + 1]))
            i = start = j + 1
            continue
        if ch in "'\"":
            if i > start:
                pieces.append((True, sql[start:i]))
            j = i + 1
            while j < n:
                if sql[j] == ch:
                    if j + 1 < n and sql[j + 1] == ch:  # a doubled quote
                        j += 2
                        continue
                    break
                j += 1
            pieces.append((False, sql[i : j + 1]))
            i = start = j + 1
            continue
        i += 1
    if start < n:
        pieces.append((True, sql[start:]))
    return pieces


def _group_concat(sql: str) -> str:
    """``GROUP_CONCAT(x)`` / ``GROUP_CONCAT(x, sep)`` to ``string_agg((x)::text, sep)``."""
    while (m := _GROUP_CONCAT.search(sql)) is not None:
        depth, i, quote, args, arg_start = 1, m.end(), "", [], m.end()
        while depth:
            ch = sql[i]
            if quote:
                if ch == quote:
                    quote = ""
            elif ch in "'\"":
                quote = ch
            elif ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            elif ch == "," and depth == 1:
                args.append(sql[arg_start:i])
                arg_start = i + 1
            i += 1
        args.append(sql[arg_start : i - 1])
        sep = args[1].strip() if len(args) > 1 else "','"
        sql = f"{sql[: m.start()]}string_agg(({args[0].strip()})::text, {sep}){sql[i:]}"
    return sql


def translate(sql: str, id_tables: frozenset[str]) -> Query:
    """SQLite's SQL as PostgreSQL's (see the module's text), placeholders ``$n``."""
    return _translate(sql, id_tables, False)


def translate_pyformat(sql: str) -> str:
    """The same for psycopg: placeholders ``%s``, every other ``%`` doubled."""
    return _translate(sql, frozenset(), True).text


def _code(piece: str) -> str:
    piece = _PG_ONLY.sub(r"\1", _INDEXED.sub("", piece))
    return _UNARY_PLUS.sub(r"\1 ", _LIKE.sub("ILIKE", _IFNULL.sub("COALESCE(", piece)))


@lru_cache(maxsize=4096)
def _translate(sql: str, id_tables: frozenset[str], pyformat: bool) -> Query:
    if _OR_REPLACE.match(sql):
        raise ValueError(
            "INSERT OR REPLACE has no PostgreSQL form: write ON CONFLICT ... DO UPDATE"
        )
    text = sql.strip().rstrip(";")
    ignore = _OR_IGNORE.match(text) is not None
    if ignore:
        text = _OR_IGNORE.sub(r"\1", text, count=1)
    if _GROUP_CONCAT.search(text):
        text = _group_concat(text)
    out: list[str] = []
    number = 0
    names: dict[str, int] = {}

    def named(m: re.Match[str]) -> str:
        if pyformat:
            return f"%({m.group(1)})s"
        return f"${names.setdefault(m.group(1), len(names) + 1)}"

    for is_code, piece in _split_code(text):
        if pyformat:
            piece = piece.replace("%", "%%")
            if is_code:
                piece = _NAMED.sub(named, _code(piece).replace("?", "%s"))
        elif is_code:
            piece = _NAMED.sub(named, _code(piece))
            if "?" in piece:
                parts = piece.split("?")
                rebuilt = [parts[0]]
                for part in parts[1:]:
                    number += 1
                    rebuilt.append(f"${number}{part}")
                piece = "".join(rebuilt)
        out.append(piece)
    text = "".join(out)
    returns_rows = _READS.match(text) is not None or _RETURNING.search(text) is not None
    if ignore:
        text += " ON CONFLICT DO NOTHING"
    returns_id = False
    insert = _INSERT_TABLE.match(sql)
    if insert and not returns_rows and insert.group(1).lower() in id_tables:
        text += " RETURNING id"
        returns_rows = returns_id = True
    return Query(text, returns_rows, returns_id, tuple(names))


_VALUES_GROUP = re.compile(r"^(\s*INSERT\s+INTO\s.*?\bVALUES\s*)(\(.*?\))(.*)$", re.I | re.S)
_PLACEHOLDER = re.compile(r"\$(\d+)")
_DO_UPDATE = re.compile(r"\bDO\s+UPDATE\b", re.I)
_MAX_PARAMS = 32767  # PostgreSQL's limit on one statement's parameters
_CHUNK_ROWS = 512  # rows per multi-row INSERT at most (then 256, 128, ... for the rest)


@dataclass(frozen=True)
class _MultiRow:
    """``INSERT ... VALUES ($1, ..., $k) tail`` written for several rows at once."""

    head: str
    group: str
    tail: str
    width: int  # parameters per row

    @lru_cache(maxsize=64)  # noqa: B019 - few shapes, each kept for the process's life
    def text(self, rows: int) -> str:
        def shifted(by: int) -> str:
            return _PLACEHOLDER.sub(lambda m: f"${int(m.group(1)) + by}", self.group)

        groups = [shifted(r * self.width) for r in range(rows)]
        return f"{self.head}{', '.join(groups)}{self.tail}"


@lru_cache(maxsize=256)
def _multi_row_shape(text: str) -> _MultiRow | None:
    """The multi-row form of an INSERT of one ``VALUES`` group whose placeholders are
    ``$1 .. $k``, each once, all inside the group; None for anything else (and for
    ``ON CONFLICT DO UPDATE``, which may not touch one row twice in one statement)."""
    m = _VALUES_GROUP.match(text)
    if m is None or _DO_UPDATE.search(m.group(3)) or _PLACEHOLDER.search(m.group(3)):
        return None
    head, group, tail = m.groups()
    if group.count("(") != 1 or group.count(")") != 1 or "'" in group:
        return None
    numbers = [int(n) for n in _PLACEHOLDER.findall(group)]
    if not numbers or sorted(numbers) != list(range(1, len(numbers) + 1)):
        return None
    if _PLACEHOLDER.search(head):
        return None
    return _MultiRow(head, group, tail, len(numbers))


def _chunks(count: int, width: int) -> Iterator[int]:
    """Row counts for multi-row INSERTs: a few fixed sizes (each size a prepared
    statement asyncpg keeps), none beyond PostgreSQL's parameter limit."""
    size = _CHUNK_ROWS
    while size > 1 and size * width > _MAX_PARAMS:
        size //= 2
    while count:
        while size > count:
            size //= 2
        yield size
        count -= size


def _numeric(text: str) -> int | float | Decimal:
    """Sums of integers are NUMERIC in PostgreSQL: give them back as Python numbers."""
    if "." in text or "e" in text or "E" in text:
        return float(text) if text not in ("NaN",) else Decimal(text)
    return int(text)


# --- cursors and connections with aiosqlite's shape ------------------------------------


class PgCursor:
    """The answer of one statement, read like an aiosqlite cursor."""

    def __init__(self, rows: list[Any], rowcount: int, lastrowid: int | None) -> None:
        self._rows = rows
        self._at = 0
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    async def fetchone(self) -> Any:
        if self._at >= len(self._rows):
            return None
        self._at += 1
        return self._rows[self._at - 1]

    async def fetchall(self) -> list[Any]:
        rest, self._at = self._rows[self._at :], len(self._rows)
        return rest

    async def __aenter__(self) -> PgCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


class _Pending:
    """``conn.execute(...)``: awaited, or entered with ``async with``, like aiosqlite's."""

    def __init__(self, run: Awaitable[PgCursor]) -> None:
        self._run = run
        self._cursor: PgCursor | None = None

    def __await__(self) -> Generator[Any, None, PgCursor]:
        return self._run.__await__()

    async def __aenter__(self) -> PgCursor:
        self._cursor = await self._run
        return self._cursor

    async def __aexit__(self, *exc: object) -> None:
        return None


def _changed(status: str) -> int:
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


async def _run(raw: Any, query: Query, values: Any) -> PgCursor:
    params = query.args(values)
    if query.returns_rows:
        rows = list(await raw.fetch(query.text, *params))
        last = int(rows[-1][0]) if query.returns_id and rows else None
        return PgCursor([] if query.returns_id else rows, len(rows), last)
    return PgCursor([], _changed(await raw.execute(query.text, *params)), None)


class PgConn:
    """A connection with aiosqlite's calling shape, on one asyncpg connection (inside a
    transaction) or on the pool (each statement on whichever connection is free)."""

    def __init__(self, db: PgDatabase, raw: Any | None, notify: set[str] | None = None) -> None:
        self._db = db
        self._raw = raw  # None: take one from the pool for each statement
        self._notify = notify  # a transaction of its own (``write_apart``): its channels

    @property
    def in_transaction(self) -> bool:
        return bool(self._raw is not None and self._raw.is_in_transaction())

    async def run(self, sql: str, params: Any) -> PgCursor:
        query = self._db.translate(sql)
        raw = self._raw
        if raw is None and _WRITING.get():
            raw = self._db._writer
        if raw is not None:
            return await _run(raw, query, params)
        return await self._db._autocommit(query, params)

    def execute(self, sql: str, parameters: Iterable[Any] = ()) -> _Pending:
        return _Pending(self.run(sql, parameters))

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> PgCursor:
        """Many rows of one statement. An ``INSERT ... VALUES (...)`` goes as multi-row
        INSERTs (a few round trips, not one per row) and answers the true ``rowcount``
        (rows an ``ON CONFLICT DO NOTHING`` skipped are not counted), as sqlite3's
        ``executemany`` does. Any other statement goes through asyncpg's ``executemany``,
        which says nothing of the rows it changed: ``rowcount`` is then -1."""
        query = self._db.translate(sql)
        rows = [query.args(p) for p in parameters]
        if not rows:
            return PgCursor([], 0, None)
        text = query.text[: -len(" RETURNING id")] if query.returns_id else query.text
        raw = self._raw or self._db._writer
        shape = _multi_row_shape(text)
        if shape is None:
            await raw.executemany(text, rows)
            return PgCursor([], -1, None)
        changed, at = 0, 0
        for size in _chunks(len(rows), shape.width):
            values = [v for row in rows[at : at + size] for v in row]
            changed += max(_changed(await raw.execute(shape.text(size), *values)), 0)
            at += size
        return PgCursor([], changed, None)

    def notify_on_commit(self, channel: str) -> None:
        """``NOTIFY channel`` with this transaction's COMMIT (nothing if it rolls back)."""
        if self._raw is None or not self._raw.is_in_transaction():
            raise RuntimeError("notify_on_commit outside a write transaction")
        (self._db._notify if self._notify is None else self._notify).add(channel)

    async def execute_fetchall(self, sql: str, parameters: Iterable[Any] = ()) -> list[Any]:
        cur = await self.run(sql, parameters)
        return await cur.fetchall()

    async def executescript(self, script: str) -> None:
        raw = self._raw or self._db._writer
        await raw.execute(script)


# --- synchronous snapshots for reports ------------------------------------------------


class SyncRow(tuple[Any, ...]):
    """A row read by index or by name, like ``sqlite3.Row``."""

    _names: dict[str, int]

    def __new__(cls, values: Sequence[Any], names: dict[str, int]) -> SyncRow:
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_factory(cursor: Any) -> Any:
    names = {d.name: i for i, d in enumerate(cursor.description or ())}

    def make(values: Sequence[Any]) -> SyncRow:
        return SyncRow(values, names)

    return make


class SyncCursor:
    """psycopg's cursor as sqlite3's: ``row_factory = None`` asks for plain tuples."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    @property
    def row_factory(self) -> Any:
        return self._raw.row_factory

    @row_factory.setter
    def row_factory(self, factory: Any) -> None:
        from psycopg.rows import tuple_row

        self._raw.row_factory = tuple_row if factory is None else factory

    def fetchone(self) -> Any:
        return self._raw.fetchone()

    def fetchall(self) -> list[Any]:
        return list(self._raw.fetchall())

    def fetchmany(self, size: int = 1) -> list[Any]:
        return list(self._raw.fetchmany(size))

    def __iter__(self) -> Iterator[Any]:
        return iter(self._raw)


class SyncConn:
    """A psycopg connection with sqlite3's calling shape (``conn.execute(sql, params)``
    then ``fetchone``/``fetchall``), for the report modules' synchronous reads."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def execute(self, sql: str, parameters: Iterable[Any] = ()) -> Any:
        values = parameters if isinstance(parameters, Mapping) else tuple(parameters)
        return SyncCursor(self._raw.execute(translate_pyformat(sql), values))


# Report connections kept open between reports, per address: a new connection is a
# new server process (several milliseconds of both sides' CPU), and a /summary reads
# several snapshots one after the other. At most this many idle ones are kept.
REPORT_CONNECTIONS_KEPT = 4
_idle: dict[str, list[Any]] = {}
_idle_lock = threading.Lock()


def _kept_connection(url: str) -> Any:
    with _idle_lock:
        kept = _idle.get(url)
        return kept.pop() if kept else None


def _report_connection(url: str) -> Any:
    import psycopg
    from psycopg.adapt import Loader

    class NumericLoader(Loader):
        def load(self, data: Any) -> Any:
            return _numeric(bytes(data).decode())

    raw = psycopg.connect(url, row_factory=_row_factory)
    raw.adapters.register_loader("numeric", NumericLoader)
    return raw


def _give_back(url: str, raw: Any) -> None:
    with _idle_lock:
        kept = _idle.setdefault(url, [])
        if not raw.closed and len(kept) < REPORT_CONNECTIONS_KEPT:
            kept.append(raw)
            return
    raw.close()


def close_report_connections(url: str | None = None) -> None:
    """Close the kept report connections to ``url`` (None: to every address), before
    its database is dropped, or at a shutdown."""
    with _idle_lock:
        urls = list(_idle) if url is None else [url]
        kept = [raw for u in urls for raw in _idle.pop(u, [])]
    for raw in kept:
        raw.close()


@contextmanager
def reading(url: str) -> Iterator[SyncConn]:
    """One read-only snapshot (REPEATABLE READ) until the block ends, as the SQLite
    reports read one snapshot of the file. The connection is kept for the next report
    (``REPORT_CONNECTIONS_KEPT``); psycopg prepares the statements it runs often on it."""
    raw = _kept_connection(url)
    if raw is not None:
        try:  # a kept connection the server has since closed: a new one instead
            raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        except Exception:
            raw.close()
            raw = None
    if raw is None:
        raw = _report_connection(url)
        raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
    healthy = False
    try:
        yield SyncConn(raw)
        healthy = True
    finally:
        try:
            raw.rollback()
        except Exception:
            healthy = False
        if healthy:
            _give_back(url, raw)
        else:
            raw.close()


# --- the database -----------------------------------------------------------------------


async def _no_reset(_conn: Any) -> None:
    """A pooled connection goes back as it is (see ``PgDatabase.open``)."""


_STEP_UPDATE = re.compile(r"^\s*UPDATE\s", re.I)


class PgDatabase(Database):
    """``Database`` on PostgreSQL: one connection for write transactions (one at a time,
    as on SQLite), a small pool for reads."""

    # Every step is durable at its COMMIT: nothing waits for a ``sync`` (bot/webhook.py).
    durable_steps = True
    # A webhook update's done-mark rides in the handler's first write (storage/db.DoneMark).
    marks_with_writes = True
    # The lead is held by a session advisory lock (``session_lock``; bot/leader.py).
    session_locks = True

    def __init__(self, url: str, pool_size: int = 4) -> None:
        super().__init__(":memory:")
        if asyncpg is None:
            raise RuntimeError(
                "PostgreSQL needs the asyncpg package: pip install 'fieldbot[postgres]'"
            )
        self.url = url
        self.path = url  # what file-based tools (reports' snapshots, backups) are given
        self._pool_size = pool_size
        self._pool: Any = None
        self._writer: Any = None
        self._reader: Any = None  # single statements first go here (``_autocommit``)
        self._reader_lock = asyncio.Lock()
        self._id_tables: frozenset[str] = frozenset()
        self._notify: set[str] = set()  # channels to NOTIFY when this transaction commits
        self._listener: Any = None  # the connection that LISTENs (``listen``)
        self._session: Any = None  # the connection holding session locks (``session_lock``)
        self._session_locks: dict[int, str] = {}  # key: its owner in this process
        self._listening: dict[str, list[Callable[[], None]]] = {}

    # --- connections

    async def _setup(self, raw: Any) -> None:
        await raw.set_type_codec(
            "numeric", encoder=str, decoder=_numeric, schema="pg_catalog", format="text"
        )

    async def open(self) -> None:
        assert asyncpg is not None
        self._writer = await asyncpg.connect(self.url, statement_cache_size=1024)
        await self._setup(self._writer)
        self._reader = await asyncpg.connect(self.url, statement_cache_size=1024)
        await self._setup(self._reader)
        self._pool = await asyncpg.create_pool(
            self.url,
            min_size=1,
            max_size=self._pool_size,
            statement_cache_size=1024,
            init=self._setup,
            # asyncpg's default resets a connection on its way back to the pool (advisory
            # locks, cursors, LISTEN, settings): one more round trip after every read. A
            # pooled connection here only ever runs single statements in autocommit, and
            # takes no session-level lock or setting: nothing to reset.
            reset=_no_reset,
        )
        await self._load_id_tables()

    async def _load_id_tables(self) -> None:
        rows = await self._writer.fetch(
            "SELECT table_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND column_name = 'id'"
        )
        self._id_tables = frozenset(r[0] for r in rows)

    def translate(self, sql: str) -> Query:
        return translate(sql, self._id_tables)

    @property
    def pool(self) -> Any:
        if self._pool is None:
            raise RuntimeError("database is not open")
        return self._pool

    @property
    def conn(self) -> Any:  # type: ignore[override]
        """Reads on the pool; inside ``write()`` on the writing connection."""
        if self._writer is None:
            raise RuntimeError("database is not open")
        return PgConn(self, None)

    @property
    def is_open(self) -> bool:
        return self._writer is not None

    async def ensure_open(self) -> None:
        if self._writer is None:
            await self.open()
            await self.migrate()

    async def close(self) -> None:
        if self._writer is None:
            return
        try:
            await self.sync()
        finally:
            if self._listener is not None:
                listener, self._listener = self._listener, None
                self._listening.clear()
                await listener.close()
            if self._session is not None:
                session, self._session = self._session, None
                self._session_locks.clear()
                await session.close()
            await self._pool.close()
            await self._writer.close()
            if self._reader is not None:
                await self._reader.close()
            self._pool = self._writer = self._reader = None
            close_report_connections(self.url)

    # --- writing

    @asynccontextmanager
    async def write(self, *, long: bool = False, durable: bool = True) -> AsyncIterator[Any]:
        """One transaction (``Database.write``); every commit here is durable and every
        statement a round trip, so ``long`` and ``durable`` change nothing."""
        async with self._write_lock:
            raw = self._writer
            if raw is None:
                raise RuntimeError("database is not open")
            token = _WRITING.set("pg")
            self._notify.clear()
            try:
                await raw.execute(f"BEGIN; SELECT pg_advisory_xact_lock({_WRITE_LOCK_KEY})")
                try:
                    yield PgConn(self, raw)
                except BaseException:
                    self._notify.clear()
                    await raw.execute("ROLLBACK")
                    raise
                else:
                    notify = "".join(f"NOTIFY {c}; " for c in sorted(self._notify))
                    self._notify.clear()
                    mark = carried_mark()
                    if mark is None:
                        await raw.execute(f"{notify}COMMIT")
                    else:  # the update being handled is done with this commit
                        try:
                            await raw.execute(f"{mark_statements(mark)}{notify}COMMIT")
                        except BaseException:
                            mark.give_back()
                            if raw.is_in_transaction():
                                await raw.execute("ROLLBACK")
                            raise
            finally:
                _WRITING.reset(token)

    @asynccontextmanager
    async def write_apart(self, lock: int | None) -> AsyncIterator[Any]:
        """A write transaction on a pooled connection that does NOT queue for the write
        lock every other write transaction takes (``write``): it takes the advisory lock
        ``lock`` instead (None: none). For the webhook inbox's own bookkeeping (claims,
        extensions, done-marks, storage/inbox.py), whose rows no service reads or writes:
        queued behind every service's transaction across the processes, it made the
        convoy that capped the webhook processes (docs/postgresql.md, Speed)."""
        async with self.pool.acquire() as raw, self._transaction(raw, lock) as conn:
            yield conn

    @asynccontextmanager
    async def _transaction(self, raw: Any, lock: int | None) -> AsyncIterator[PgConn]:
        """BEGIN on ``raw`` (taking the transaction-level advisory lock ``lock``, None:
        none), the block, then COMMIT with the NOTIFYs it asked for, or ROLLBACK."""
        channels: set[str] = set()
        begin = "BEGIN" if lock is None else f"BEGIN; SELECT pg_advisory_xact_lock({lock})"
        await raw.execute(begin)
        try:
            yield PgConn(self, raw, channels)
        except BaseException:
            await raw.execute("ROLLBACK")
            raise
        else:
            notify = "".join(f"NOTIFY {c}; " for c in sorted(channels))
            await raw.execute(f"{notify}COMMIT")

    # --- session locks (the dispatcher's leadership, bot/leader.py)

    async def session_lock(self, key: int, owner: str) -> bool:
        """Hold the session advisory lock ``key`` for ``owner`` on a connection of its
        own: True while ``owner`` holds it (taken now, or still held: the connection is
        checked with one round trip), False when another session, or another owner in
        this process, holds it. The server releases it the moment this process's
        connection ends, SIGKILL included."""
        assert asyncpg is not None
        held = self._session_locks.get(key)
        if held is not None and self._session is not None:
            if held != owner:
                return False
            try:
                await self._session.fetchval("SELECT 1")
                return True
            except Exception:  # the connection is gone, and the lock with it
                await self._drop_session()
        if self._session is None:
            self._session = await asyncpg.connect(self.url, statement_cache_size=0)
        try:
            got = bool(await self._session.fetchval("SELECT pg_try_advisory_lock($1)", key))
        except Exception:
            await self._drop_session()
            raise
        if got:
            self._session_locks[key] = owner
        return got

    @asynccontextmanager
    async def session_write(self) -> AsyncIterator[Any]:
        """A write transaction on the session-lock connection (the lead's renewal): it
        takes the write lock every write transaction takes, so it is ordered against
        the dispatcher's fenced claims in every process, but it does not queue behind
        this process's own writers. A leader sending a fan-out records each outcome in a
        transaction of its own, hundreds of them queued at once: a renewal behind them
        came later than the lease, and a standby took the lead from a live leader."""
        raw = self._session
        if raw is None:
            raise RuntimeError("no session-lock connection (session_lock first)")
        async with self._transaction(raw, _WRITE_LOCK_KEY) as conn:
            yield conn

    async def session_unlock(self, key: int, owner: str) -> None:
        if self._session is None or self._session_locks.get(key) != owner:
            return
        del self._session_locks[key]
        try:
            await self._session.execute(f"SELECT pg_advisory_unlock({int(key)})")
        except Exception:
            await self._drop_session()

    async def session_lock_break(self, key: int) -> None:
        """Free ``key`` from a holder that stopped renewing but whose connection lives on
        (a hung process): in this process, let go of it; in another, end the server
        process that holds it (``pg_terminate_backend``: the role's own sessions)."""
        held = self._session_locks.get(key)
        if held is not None:
            await self.session_unlock(key, held)
            return
        # The timeout (PostgreSQL 14+): wait, up to 5 s, until that process has ended
        # and the lock is free, so the caller's next try finds it free.
        await self.fetchall(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_locks WHERE locktype = 'advisory'"
            " AND granted AND objsubid = 1 AND classid = ? AND objid = ?",
            (key >> 32, key & 0xFFFFFFFF),
        )

    async def _drop_session(self) -> None:
        session, self._session = self._session, None
        self._session_locks.clear()
        if session is not None:
            session.terminate()

    # --- LISTEN / NOTIFY

    async def listen(self, channel: str, fn: Callable[[], None]) -> None:
        """Call ``fn`` (on this loop) whenever a transaction that asked to NOTIFY
        ``channel`` commits, in any process. Best effort: if the listening connection
        is lost, ``fn`` is not called until the database is opened again, so whoever
        listens also polls."""
        assert asyncpg is not None
        if not channel.isidentifier():
            raise ValueError(f"not a channel name: {channel!r}")
        if self._listener is None:
            self._listener = await asyncpg.connect(self.url, statement_cache_size=0)
        callbacks = self._listening.setdefault(channel, [])
        if not callbacks:
            await self._listener.add_listener(channel, self._notified)
        callbacks.append(fn)

    async def unlisten(self, channel: str, fn: Callable[[], None]) -> None:
        callbacks = self._listening.get(channel, [])
        if fn in callbacks:
            callbacks.remove(fn)
        if not callbacks and self._listener is not None and channel in self._listening:
            del self._listening[channel]
            if not self._listener.is_closed():
                await self._listener.remove_listener(channel, self._notified)

    def _notified(self, _conn: Any, _pid: int, channel: str, _payload: str) -> None:
        for fn in list(self._listening.get(channel, ())):
            fn()

    async def write_step(self, sql: str, params: Iterable[Any] = ()) -> int:
        """One statement of a conversation step (a draft saved): one round trip, in
        autocommit on a pooled connection, durable when it returns. It takes neither the
        process's writing connection nor the write lock every other write transaction
        queues for: one statement is atomic by itself, its row locks order it against a
        transaction writing the same row, and its WHERE is judged again on the row as
        that transaction left it (a draft closed meanwhile is not saved: 0 rows)."""
        if _WRITING.get():  # inside this task's write transaction: part of it
            return (await PgConn(self, self._writer).run(sql, tuple(params))).rowcount
        values = tuple(params)
        mark = carried_mark()
        if mark is None:
            return (await self._autocommit(self.translate(sql), values)).rowcount
        if not _STEP_UPDATE.match(sql):  # a transaction carries the mark at its COMMIT
            mark.give_back()
            async with self.write() as conn:
                return int((await conn.execute(sql, values)).rowcount)
        # The update being handled is marked done by the same statement.
        marked = (mark.done_at, mark.update_id, mark.seen_at, mark.chat_id, *values)
        try:
            # The statement's own rows are counted, not the WITH clause's RETURNING.
            query = replace(self.translate(MARK_CTE + sql), returns_rows=False)
            return (await self._autocommit(query, marked)).rowcount
        except BaseException:
            mark.give_back()
            raise

    async def write_one(self, sql: str, params: Iterable[Any] = ()) -> int:
        """One statement, durable when it returns (a commit here waits for the server's
        WAL flush, as every commit does): the same path as ``write_step``."""
        return await self.write_step(sql, params)

    async def _autocommit(self, query: Query, params: Any) -> PgCursor:
        """One statement on its own: on the reading connection when it is free (the
        common case, no pool's bookkeeping: about half the client's CPU of a pooled
        statement), else on whichever pooled connection is."""
        if self._reader is not None and not self._reader_lock.locked():
            async with self._reader_lock:
                return await _run(self._reader, query, params)
        async with self.pool.acquire() as pooled:
            return await _run(pooled, query, params)

    @asynccontextmanager
    async def step(self, *, marks: bool = False) -> AsyncIterator[Any]:
        """A durable write transaction (``marks``: they are written by ``sync``)."""
        async with self.write() as conn:
            yield conn

    def note_processed(self, update_id: int, now: datetime) -> None:
        """As ``Database.note_processed``, except for the webhook update this task is
        handling (``DoneMark``): its done-mark records it as processed already, in the
        handler's write or in the worker's mark (bot/webhook.py)."""
        mark = DONE_MARK.get()
        if mark is not None and mark.update_id == update_id:
            return
        super().note_processed(update_id, now)

    async def sync(self) -> None:
        """Write the noted update marks (steps are durable when they commit)."""
        if self._writer is None or not self._marks:
            self._unsynced = False
            return
        marks, self._marks = self._marks, []
        self._unsynced = False
        try:
            async with self._write_lock:
                await self._writer.executemany(
                    "INSERT INTO processed_updates (update_id, at) VALUES ($1, $2)"
                    " ON CONFLICT DO NOTHING",
                    marks,
                )
        except BaseException:
            self._marks[:0] = marks
            raise

    # --- reading

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        cur = await PgConn(self, None).run(sql, params)
        return cast(list[Row], await cur.fetchall())

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def scan(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return await self.fetchall(sql, params)

    # --- schema

    async def migrate(self, migrations: list[Migration] | None = None) -> list[int]:
        migrations = discover_migrations(MIGRATIONS_PG_DIR) if migrations is None else migrations
        raw = self._writer
        if raw is None:
            raise RuntimeError("database is not open")
        done: list[int] = []
        async with self._write_lock:
            async with raw.transaction():
                # One process migrates at a time; the others wait and find nothing to do.
                await raw.execute(f"SELECT pg_advisory_xact_lock({_WRITE_LOCK_KEY})")
                await raw.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " number BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
                )
                applied = {r[0] for r in await raw.fetch("SELECT number FROM schema_migrations")}
                for m in migrations:
                    if m.number in applied:
                        continue
                    await raw.execute(m.sql)
                    await raw.execute(
                        "INSERT INTO schema_migrations VALUES ($1, $2, $3)",
                        m.number,
                        m.name,
                        utcnow_text(),
                    )
                    done.append(m.number)
        await self._load_id_tables()
        return done
