"""Operations on PostgreSQL: `fieldbot copy-db` from a county's SQLite file, and
`fieldbot backup` / `restore` through pg_dump / pg_restore."""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from storage.db import open_database
from storage.pg_ops import MIGRATION_ROWS, copy_sqlite, dump, list_dumps, restore
from tests.factories import seed_roster
from tests.pgtest import PG_SKIP_REASON, PG_URL, _admin, with_database

pytestmark = pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)

NOW = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)


async def _empty_database() -> tuple[str, str]:
    name = f"ops_{uuid.uuid4().hex[:10]}"
    await _admin(PG_URL, f"CREATE DATABASE {name}")
    return name, with_database(PG_URL, name)


async def _counts(location: str) -> dict[str, int]:
    async with open_database(location) as db:
        return {
            t: int((await db.fetchone(f"SELECT COUNT(*) AS n FROM {t}"))["n"])  # type: ignore[index]
            for t in ("teams", "groups", "cadres", "places", "audit_log")
        }


async def test_copy_db_brings_every_row_and_new_ids_follow_the_copied_ones(
    tmp_path: Path,
) -> None:
    lite = tmp_path / "county.sqlite3"
    async with open_database(lite) as db:
        seed = await seed_roster(db)
    name, url = await _empty_database()
    try:
        result = await copy_sqlite(lite, url)
        assert result.rows["cadres"] == len(seed.cadres)
        assert await _counts(url) == await _counts(str(lite))
        async with open_database(url) as db:
            async with db.write() as conn:
                cur = await conn.execute(
                    "INSERT INTO teams (code, name, town) VALUES ('T-NEW', '新队', '')"
                )
            assert cur.lastrowid == max(seed.teams.values()) + 1
        with pytest.raises(Exception, match="not empty"):
            await copy_sqlite(lite, url)
    finally:
        await _admin(PG_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def test_only_the_known_tables_hold_rows_after_migrating() -> None:
    """copy-db treats a migrated database as empty when only MIGRATION_ROWS' tables
    hold rows: a migration that fills another table must be named there."""
    name, url = await _empty_database()
    try:
        async with open_database(url) as db:
            tables = await db.fetchall(
                "SELECT table_name AS t FROM information_schema.tables WHERE table_schema ="
                " current_schema() AND table_type = 'BASE TABLE'"
            )
            filled = {
                r["t"]
                for r in tables
                if r["t"] != "schema_migrations"
                and await db.fetchone(f"SELECT 1 AS x FROM {r['t']} LIMIT 1") is not None
            }
        assert filled == set(MIGRATION_ROWS)
    finally:
        await _admin(PG_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump is not installed")
async def test_backup_then_restore_after_damage(tmp_path: Path) -> None:
    name, url = await _empty_database()
    try:
        async with open_database(url) as db:
            await seed_roster(db)
        before = await _counts(url)
        result = dump(url, tmp_path / "backups", 2, NOW)
        assert result.path.name == "fieldbot-20261116T010000Z.pgdump"
        assert list_dumps(tmp_path / "backups") == [result.path]
        async with open_database(url) as db:
            async with db.write() as conn:
                await conn.execute("DELETE FROM audit_log")
        assert (await _counts(url))["audit_log"] == 0
        restore(result.path, url)
        assert await _counts(url) == before
    finally:
        await _admin(PG_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_restore_refuses_what_is_not_a_dump(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.pgdump"
    junk.write_text("not a dump")
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\nurl = "{PG_URL}"\n')
    assert main(["--config", str(config), "restore", str(junk)]) == 2
    assert "pg_restore failed" in capsys.readouterr().err


async def _migrate_twice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    import asyncio

    name, url = await _empty_database()
    try:
        config = tmp_path / "config.toml"
        config.write_text(f'[storage]\nurl = "{url}"\nbackup_dir = "{tmp_path / "b"}"\n')
        said = []
        for _ in range(2):
            code = await asyncio.to_thread(main, ["--config", str(config), "migrate"])
            assert code == 0
            said.append(capsys.readouterr().out.strip())
        return said
    finally:
        await _admin(PG_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def test_migrate_applies_every_postgresql_migration_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from campaign.i18n import default_catalog
    from storage.db import discover_migrations
    from storage.pg import MIGRATIONS_PG_DIR

    first, second = await _migrate_twice(tmp_path, capsys)
    t = default_catalog().t
    assert first == t("zh-CN", "cli.migrated", count=len(discover_migrations(MIGRATIONS_PG_DIR)))
    assert second == t("zh-CN", "cli.up_to_date")
