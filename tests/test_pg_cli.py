"""Every command that opens the database honours ``[storage] url``: the report and
demo-data commands, roster import/export, and the running bot's hold on the database
(a restore is refused while a bot holds it, as on SQLite)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from storage.backup import BackupError
from storage.pg_ops import dump as pg_dump
from storage.pg_ops import hold_pg_database, restore
from tests.pgtest import PG_SKIP_REASON, PG_URL, _admin, storage_section, with_database

pytestmark = pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)


@pytest.fixture
def pg_database() -> Iterator[str]:
    name = f"cli_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(PG_URL, f"CREATE DATABASE {name}"))
    try:
        yield with_database(PG_URL, name)
    finally:
        asyncio.run(_admin(PG_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def _config(tmp_path: Path, url: str) -> str:
    config = tmp_path / "config.toml"
    # No SQLite file anywhere: a command that still opened it would find nothing.
    config.write_text(storage_section(url), encoding="utf-8")
    return str(config)


def test_demo_data_then_reports_from_postgresql(
    tmp_path: Path, pg_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, pg_database)
    demo = ["--config", config, "demo-data", "--cadres", "40", "--places", "30"]
    assert main([*demo, "--visits", "600", "--problems", "40", "--whole-year"]) == 0
    capsys.readouterr()
    period = ["--period", "2026-11"]
    assert main(["--config", config, "report", "summary", *period]) == 0
    text = capsys.readouterr().out
    assert "2026" in text and text.strip()
    out = tmp_path / "summary.xlsx"
    assert main(["--config", config, "report", "summary", *period, "--format", "xlsx",
                 "--out", str(out)]) == 0  # fmt: skip
    assert out.stat().st_size > 0
    assert main(["--config", config, "report", "rank", "--period", "2026"]) == 0
    assert not (tmp_path / "data").exists()  # no SQLite folder made on the side


def test_roster_export_and_dry_run_from_postgresql(
    tmp_path: Path, pg_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, pg_database)
    demo = ["--config", config, "demo-data", "--cadres", "20", "--places", "10"]
    assert main([*demo, "--visits", "50", "--problems", "5", "--whole-year"]) == 0
    out = tmp_path / "roster.xlsx"
    assert main(["--config", config, "roster", "export", str(out)]) == 0
    capsys.readouterr()
    assert main(["--config", config, "roster", "import", str(out), "--dry-run"]) == 0
    assert capsys.readouterr().out.strip()


def test_a_running_bot_holds_the_database_against_a_restore(
    tmp_path: Path, pg_database: str
) -> None:
    dump = tmp_path / "any.pgdump"
    with hold_pg_database(pg_database, shared=True):
        with hold_pg_database(pg_database, shared=True):  # a second webhook process
            pass
        with pytest.raises(BackupError, match="in use by a running bot"):
            with hold_pg_database(pg_database):  # a poller, or a restore
                pass
    with hold_pg_database(pg_database):
        with pytest.raises(BackupError, match="in use by a running bot"):
            with hold_pg_database(pg_database, shared=True):
                pass
    with hold_pg_database(pg_database, shared=True):
        try:
            dump = pg_dump(pg_database, tmp_path, 1, datetime(2026, 11, 16, tzinfo=UTC)).path
        except BackupError:
            pytest.skip("pg_dump is not installed")
        with pytest.raises(BackupError, match="in use by a running bot"):
            restore(dump, pg_database)
    restore(dump, pg_database)  # nobody holds it now
