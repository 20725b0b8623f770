"""The two dialects' migrations reach the same schema: tables, columns (type family,
NOT NULL, primary key), explicit indexes (columns, unique, partial) and triggers,
introspected from a migrated SQLite file and a migrated PostgreSQL database. And the
PostgreSQL dialect translates the storage modules' SQLite SQL as documented."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from storage.db import MIGRATIONS_DIR, discover_migrations, open_database
from storage.pg import MIGRATIONS_PG_DIR, _chunks, _multi_row_shape, translate
from tests.pgtest import PG_SKIP_REASON, PG_URL, pg_scratch, pg_template

Schema = dict[str, Any]

_FAMILY = {
    "integer": "integer",
    "bigint": "integer",
    "text": "text",
    "real": "real",
    "double precision": "real",
    "blob": "blob",
    "bytea": "blob",
}


def _family(declared: str) -> str:
    return _FAMILY.get(declared.strip().lower(), declared.lower())


def sqlite_schema(path: Path) -> Schema:
    conn = sqlite3.connect(path)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        columns = {
            t: sorted(
                (r[1], _family(r[2]), bool(r[3]) or r[5] > 0, r[5] > 0)
                for r in conn.execute(f"PRAGMA table_info({t})")
            )
            for t in tables
        }
        indexes = {}
        for name, table, sql in conn.execute(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ):
            cols = [r[2] for r in conn.execute(f"PRAGMA index_info({name})")]
            indexes[name] = (table, tuple(cols), "UNIQUE" in sql.upper(), " WHERE " in sql.upper())
        triggers = sorted(
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        )
    finally:
        conn.close()
    return {"tables": tables, "columns": columns, "indexes": indexes, "triggers": triggers}


async def pg_schema(url: str) -> Schema:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        tables = [
            r[0]
            for r in await conn.fetch(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
            )
        ]
        pk = {
            (r[0], r[1])
            for r in await conn.fetch(
                "SELECT k.table_name, k.column_name FROM information_schema.key_column_usage k"
                " JOIN information_schema.table_constraints c"
                " ON c.constraint_name = k.constraint_name AND c.table_name = k.table_name"
                " WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = 'public'"
            )
        }
        columns: dict[str, list[tuple[str, str, bool, bool]]] = {t: [] for t in tables}
        for r in await conn.fetch(
            "SELECT table_name, column_name, data_type, is_nullable"
            " FROM information_schema.columns WHERE table_schema = 'public'"
        ):
            if r[0] in columns:
                key = (r[0], r[1]) in pk
                columns[r[0]].append((r[1], _family(r[2]), r[3] == "NO", key))
        columns = {t: sorted(c) for t, c in columns.items()}
        indexes = {}
        for r in await conn.fetch(
            "SELECT i.relname, t.relname, x.indisunique, x.indpred IS NOT NULL,"
            " ARRAY(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY AS k(n, o)"
            "       JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.n ORDER BY k.o)"
            " FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
            " JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace s ON s.oid = t.relnamespace"
            " WHERE s.nspname = 'public'"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)"
        ):
            indexes[r[0]] = (r[1], tuple(r[4]), bool(r[2]), bool(r[3]))
        triggers = sorted(
            {
                r[0]
                for r in await conn.fetch(
                    "SELECT trigger_name FROM information_schema.triggers"
                    " WHERE trigger_schema = 'public'"
                )
            }
        )
    finally:
        await conn.close()
    return {"tables": tables, "columns": columns, "indexes": indexes, "triggers": triggers}


def test_each_sqlite_migration_has_its_postgresql_twin() -> None:
    sqlite_names = [(m.number, m.name) for m in discover_migrations(MIGRATIONS_DIR)]
    pg_names = [(m.number, m.name) for m in discover_migrations(MIGRATIONS_PG_DIR)]
    assert pg_names == sqlite_names


@pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)
async def test_both_dialects_reach_the_same_schema(tmp_path: Path) -> None:
    async with open_database(tmp_path / "s.sqlite3"):
        pass
    lite = sqlite_schema(tmp_path / "s.sqlite3")
    template = await pg_template(PG_URL)
    async with pg_scratch(PG_URL, template, "schema_check") as url:
        pg = await pg_schema(url)
    assert pg["tables"] == lite["tables"]
    for table in lite["tables"]:
        assert pg["columns"][table] == lite["columns"][table], table
    assert pg["indexes"] == lite["indexes"]
    assert pg["triggers"] == lite["triggers"]


@pytest.mark.parametrize(
    ("sqlite", "postgresql"),
    [
        ("SELECT a FROM t WHERE b = ? AND c = '?'", "SELECT a FROM t WHERE b = $1 AND c = '?'"),
        (
            "INSERT OR IGNORE INTO plan_owners (item_id, cadre_id) VALUES (?, ?)",
            "INSERT INTO plan_owners (item_id, cadre_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        ),
        (
            "SELECT GROUP_CONCAT(c.name, '、') FROM c",
            "SELECT string_agg((c.name)::text, '、') FROM c",
        ),
        (
            "SELECT (SELECT group_concat(m.kind || ':' || m.id) FROM m) FROM v",
            "SELECT (SELECT string_agg((m.kind || ':' || m.id)::text, ',') FROM m) FROM v",
        ),
        (
            "SELECT 1 FROM t WHERE n LIKE ? ESCAPE '\\'",
            "SELECT 1 FROM t WHERE n ILIKE $1 ESCAPE '\\'",
        ),
        ("SELECT IFNULL(a, 0) FROM t", "SELECT COALESCE(a, 0) FROM t"),
        (
            "INSERT INTO problems (title) VALUES (?)",
            "INSERT INTO problems (title) VALUES ($1) RETURNING id",
        ),
        (
            "SELECT n FROM visits INDEXED BY visits_report_cadre WHERE a > ? AND +status = 'x'",
            "SELECT n FROM visits WHERE a > $1 AND status = 'x'",
        ),
        ("SELECT a -- it's\n FROM t WHERE b = ?", "SELECT a -- it's\n FROM t WHERE b = $1"),
        (
            "SELECT x::text FROM t WHERE a > :now AND b = :now",
            "SELECT x::text FROM t WHERE a > $1 AND b = $1",
        ),
    ],
)
def test_the_dialect_translates_sqlite_isms(sqlite: str, postgresql: str) -> None:
    assert translate(sqlite, frozenset({"problems"})).text == postgresql


def test_insert_or_replace_is_refused_with_its_portable_form() -> None:
    with pytest.raises(ValueError, match="ON CONFLICT"):
        translate("INSERT OR REPLACE INTO t VALUES (?)", frozenset())


def test_many_rows_go_as_multi_row_inserts_of_a_few_fixed_sizes() -> None:
    text = translate("INSERT OR IGNORE INTO k (a, b) VALUES (?, ?)", frozenset()).text
    shape = _multi_row_shape(text)
    assert shape is not None and shape.width == 2
    assert shape.text(2) == "INSERT INTO k (a, b) VALUES ($1, $2), ($3, $4) ON CONFLICT DO NOTHING"
    assert list(_chunks(1000, 9)) == [512, 256, 128, 64, 32, 8]
    assert max(_chunks(5000, 100)) * 100 <= 32767  # PostgreSQL's parameter limit
    assert sum(_chunks(5000, 100)) == 5000


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO k (a, b) VALUES (?, ?) ON CONFLICT (a) DO UPDATE SET b = excluded.b",
        "INSERT INTO k (a, b) VALUES (CAST(? AS BIGINT), ?)",
        "INSERT INTO k (a, b) VALUES (?, 'x') ON CONFLICT (a) DO NOTHING",
        "UPDATE k SET b = ? WHERE a = ?",
    ],
)
def test_other_statements_are_not_made_multi_row(sql: str) -> None:
    assert _multi_row_shape(translate(sql, frozenset()).text) is None
