"""PostgreSQL for the tests: FIELDBOT_TEST_PG names a server where databases may be
created (``postgresql://postgres@127.0.0.1:5432/postgres``); .ci/run starts one and sets
it. Each test gets its own database, copied from a template migrated once per run."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

PG_URL = os.environ.get("FIELDBOT_TEST_PG", "")
PG_SKIP_REASON = (
    "PostgreSQL: FIELDBOT_TEST_PG is not set (a postgresql:// address of a server where "
    "the tests may create databases; .ci/run starts one and sets it)"
)
TEMPLATE = f"fieldbot_template_{os.getpid()}"


def with_database(url: str, name: str) -> str:
    """The same server address, naming another database."""
    base, _, query = url.partition("?")
    base = re.sub(r"(//[^/]*)(/[^/]*)?$", rf"\1/{name}", base)
    return f"{base}?{query}" if query else base


async def _admin(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def pg_template(url: str) -> str:
    """A database with every migration applied, to copy for each test."""
    from storage.db import open_database

    await _admin(url, f"DROP DATABASE IF EXISTS {TEMPLATE}")
    await _admin(url, f"CREATE DATABASE {TEMPLATE}")
    async with open_database(with_database(url, TEMPLATE)):
        pass
    return TEMPLATE


@asynccontextmanager
async def pg_scratch(url: str, template: str, name: str) -> AsyncIterator[str]:
    """A fresh database copied from the template, dropped afterwards."""
    await _admin(url, f"CREATE DATABASE {name} TEMPLATE {template}")
    try:
        yield with_database(url, name)
    finally:
        from storage.pg import close_report_connections

        close_report_connections(with_database(url, name))  # kept for reports
        await _admin(url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def storage_section(location: str) -> str:
    """A config file's ``[storage]`` section for the database the ``db`` fixture opened
    (its ``path``: the SQLite file, or the PostgreSQL address)."""
    if location.startswith(("postgresql://", "postgres://")):
        return f'[storage]\nurl = "{location}"\n'
    return f'[storage]\ndatabase = "{Path(location).as_posix()}"\n'
