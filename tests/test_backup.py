"""Online backups, their retention, restoring one, and the nightly clean-up."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.commands import say
from campaign.schedule import NIGHTLY
from campaign.settings import Settings
from scheduler.runner import plan_by_id, run_if_due
from services.jobs import outbox_files
from services.runtime import Deps
from storage.backup import (
    BackupError,
    backup,
    check_backup,
    hold_database,
    list_backups,
    restore_file,
)
from storage.db import Database, open_database, to_text
from tests.factories import seed_roster
from tests.fakebot import FakeClock
from tests.scheduler_factories import (
    OFFICE_CHAT,
    add_problem,
    add_visit,
    bind_chat,
    local,
    make_deps,
    queued,
)


def _sidecars(path: Path) -> list[Path]:
    return [p for p in (Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


def _delete_database(path: Path) -> None:
    for p in (path, *_sidecars(path)):
        p.unlink()


async def counts(db: Database) -> dict[str, int]:
    out = {}
    for table in ("cadres", "visits", "problems", "places"):
        row = await db.fetchone(f"SELECT COUNT(*) AS n FROM {table}")
        out[table] = row["n"] if row else -1
    return out


async def fill(db: Database) -> None:
    seed = await seed_roster(db)
    for i in range(20):
        await add_visit(
            db, seed.cadres["cadre1"], date(2026, 11, 2) + timedelta(days=i % 10), seed.places["v1"]
        )
    await add_problem(db, seed.cadres["cadre1"], seed.places["v1"], deadline=local(2026, 11, 20))


async def test_backup_while_open_then_restore_after_damage(tmp_path: Path) -> None:
    path = tmp_path / "live.sqlite3"
    folder = tmp_path / "backups"
    async with open_database(path) as db:
        await fill(db)
        before = await counts(db)
        # Taken while the bot's connection is open, with data still in the WAL.
        result = await backup(path, folder, 3, local(2026, 11, 17, 2, 30))
        assert result.path.name == "fieldbot-20261116T183000Z.sqlite3"
        assert result.size > 0 and result.removed == []
        await add_visit(db, 1, date(2026, 11, 17), 1)  # written after the backup
    assert check_backup(result.path) >= 10
    assert _sidecars(result.path) == []  # one self-contained file

    path.write_bytes(b"this is not a database any more" * 100)
    aside = restore_file(result.path, path, local(2026, 11, 17, 9))
    assert aside is not None and aside.read_bytes().startswith(b"this is not")
    async with open_database(path) as db:
        assert await counts(db) == before
        assert (await db.fetchone("PRAGMA integrity_check"))[0] == "ok"  # type: ignore[index]


async def test_restore_when_the_database_is_gone(tmp_path: Path) -> None:
    path = tmp_path / "live.sqlite3"
    async with open_database(path) as db:
        await fill(db)
        before = await counts(db)
        result = await backup(path, tmp_path / "b", 3, local(2026, 11, 17, 2, 30))
    _delete_database(path)
    assert restore_file(result.path, path, local(2026, 11, 17, 9)) is None
    async with open_database(path) as db:
        assert await counts(db) == before


async def test_restore_refuses_what_is_not_a_fieldbot_backup(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_text("hello")
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    live = tmp_path / "live.sqlite3"
    live.write_text("keep me")
    for bad, message in (
        (junk, "not an SQLite database"),
        (other, "as a Fieldbot database"),
        (tmp_path / "missing.sqlite3", "does not exist"),
    ):
        with pytest.raises(BackupError, match=message):
            restore_file(bad, live, local(2026, 11, 17, 9))
    assert live.read_text() == "keep me"  # nothing was moved


async def test_retention_keeps_the_newest(tmp_path: Path) -> None:
    path = tmp_path / "live.sqlite3"
    folder = tmp_path / "backups"
    (folder).mkdir()
    (folder / "notes.txt").write_text("not a backup")
    async with open_database(path) as db:
        await fill(db)
        for day in range(1, 6):
            await backup(path, folder, 3, local(2026, 11, day, 2, 30))
        # Two within the same second do not overwrite each other.
        await backup(path, folder, 10, local(2026, 11, 5, 2, 30))
    names = [p.name for p in list_backups(folder)]
    assert names == [
        "fieldbot-20261102T183000Z.sqlite3",
        "fieldbot-20261103T183000Z.sqlite3",
        "fieldbot-20261104T183000Z.sqlite3",
        "fieldbot-20261104T183000Z-1.sqlite3",
    ]
    assert (folder / "notes.txt").exists()
    assert not list(folder.glob("*.partial"))


@pytest.mark.sqlite_only("the nightly job copies the SQLite file; PostgreSQL: pg_dump")
async def test_nightly_job_backs_up_prunes_and_keeps_count(
    settings: Settings, db: Database, clock: FakeClock
) -> None:
    s = dataclasses.replace(settings, storage=dataclasses.replace(settings.storage, backup_keep=2))
    d = make_deps(s, db, clock)
    await fill(db)
    async with db.write() as conn:
        for i, days_ago in enumerate((30, 15, 13, 1)):
            at = local(2026, 11, 17, 2, 0) - timedelta(days=days_ago)
            await conn.execute(
                "INSERT INTO processed_updates (update_id, at) VALUES (?, ?)", (i, to_text(at))
            )
    for day in (17, 18, 19):
        now = local(2026, 11, day, 2, 30)
        assert (await run_if_due(d, plan_by_id(d, NIGHTLY), now)).status == "ran"
        assert (await run_if_due(d, plan_by_id(d, NIGHTLY), now)).status == "done-before"
    assert len(list_backups(Path(s.storage.backup_dir))) == 2
    rows = await db.fetchall("SELECT update_id FROM processed_updates ORDER BY update_id")
    assert [r["update_id"] for r in rows] == [3]  # the others are over 14 days old


@pytest.mark.sqlite_only("the nightly job copies the SQLite file; PostgreSQL: pg_dump")
async def test_a_failed_nightly_backup_tells_the_office(
    settings: Settings, db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("the backup folder cannot live under a file")
    s = dataclasses.replace(
        settings, storage=dataclasses.replace(settings.storage, backup_dir=str(blocker / "b"))
    )
    d: Deps = make_deps(s, db, clock)
    seed = await seed_roster(db)
    await bind_chat(db, OFFICE_CHAT, "office", seed.cadres["office1"])
    await run_if_due(d, plan_by_id(d, NIGHTLY), local(2026, 11, 17, 2, 30))
    rows = await queued(db, "backup-failed:")
    assert [(r.key, r.chat_id) for r in rows] == [("backup-failed:2026-11-17", OFFICE_CHAT)]
    assert "备份失败" in rows[0].text


def _config(tmp_path: Path) -> Path:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[storage]\ndatabase = "{tmp_path / "db.sqlite3"}"\n'
        f'backup_dir = "{tmp_path / "backups"}"\nbackup_keep = 2\n',
        encoding="utf-8",
    )
    return cfg


async def _make_db(path: Path) -> dict[str, int]:
    async with open_database(path) as db:
        await fill(db)
        return await counts(db)


def test_cli_backup_and_restore(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    cfg = _config(tmp_path)
    before = asyncio.run(_make_db(tmp_path / "db.sqlite3"))
    assert main(["--config", str(cfg), "backup"]) == 0
    out = capsys.readouterr().out
    assert say(Settings(), "backup_written", path="", size="", seconds="")[:4] in out
    made = list_backups(tmp_path / "backups")
    assert len(made) == 1
    (tmp_path / "db.sqlite3").write_bytes(b"\0" * 4096)  # damaged
    assert main(["--config", str(cfg), "restore", str(made[0])]) == 0
    out = capsys.readouterr().out
    assert say(Settings(), "restored_next") in out and "before-restore" in out

    async def after() -> dict[str, int]:
        async with open_database(tmp_path / "db.sqlite3") as db:
            return await counts(db)

    assert asyncio.run(after()) == before
    assert main(["--config", str(cfg), "restore", str(tmp_path / "nope.sqlite3")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_restore_refuses_while_the_bot_holds_the_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Restoring under a running bot lost every visit confirmed afterwards."""
    import asyncio

    cfg = _config(tmp_path)
    asyncio.run(_make_db(tmp_path / "db.sqlite3"))
    assert main(["--config", str(cfg), "backup"]) == 0
    (made,) = list_backups(tmp_path / "backups")
    capsys.readouterr()
    with hold_database(tmp_path / "db.sqlite3"):  # what `fieldbot run` holds while it runs
        assert main(["--config", str(cfg), "restore", str(made)]) == 2
        err = capsys.readouterr().err
        assert "in use" in err and "stop the bot" in err and len(err.strip().splitlines()) == 1
        assert not list(tmp_path.glob("db.sqlite3.before-restore-*"))  # nothing moved
        with pytest.raises(BackupError, match="in use"):  # nor a second bot
            with hold_database(tmp_path / "db.sqlite3"):
                pass
    assert main(["--config", str(cfg), "restore", str(made)]) == 0  # stopped: it goes ahead


def test_cli_backup_without_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(_config(tmp_path)), "backup"]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.sqlite_only("the nightly job copies the SQLite file; PostgreSQL: pg_dump")
async def test_nightly_job_forgets_old_finished_outbox_items_and_their_files(
    settings: Settings, db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    d = make_deps(settings, db, clock)
    folder = outbox_files(db.path)
    folder.mkdir(parents=True, exist_ok=True)
    old_png, shared_png, outside = folder / "old.png", folder / "shared.png", tmp_path / "x.png"
    for f in (old_png, shared_png, outside):
        f.write_bytes(b"png")
    now = local(2026, 11, 17, 2, 30)
    long_ago, lately = to_text(now - timedelta(days=100)), to_text(now - timedelta(days=3))

    def photo(path: Path) -> str:
        return json.dumps({"photo": {"path": str(path), "filename": path.name}, "caption": "c"})

    text = json.dumps({"text": "t"})
    rows = [  # key, method, payload, status, sent_at
        ("old-sent", "sendMessage", text, "sent", long_ago),
        ("old-photo", "sendPhoto", photo(old_png), "sent", long_ago),
        ("old-shared", "sendPhoto", photo(shared_png), "sent", long_ago),
        ("old-outside", "sendPhoto", photo(outside), "sent", long_ago),
        ("old-superseded", "editMessageText", text, "superseded", None),
        ("old-parked", "sendMessage", text, "parked", None),
        ("pending-shared", "sendPhoto", photo(shared_png), "pending", None),
        ("new-sent", "sendMessage", text, "sent", lately),
    ]
    async with db.write() as conn:
        for key, method, payload, status, sent_at in rows:
            created = long_ago if key.startswith("old") else lately
            await conn.execute(
                "INSERT INTO outbox (key, chat_id, method, payload, not_before, status,"
                " created_at, sent_at) VALUES (?, 1, ?, ?, ?, ?, ?, ?)",
                (key, method, payload, created, status, created, sent_at),
            )
    assert (await run_if_due(d, plan_by_id(d, NIGHTLY), now)).status == "ran"
    left = await db.fetchall("SELECT key FROM outbox ORDER BY key")
    assert [r["key"] for r in left] == ["new-sent", "old-parked", "pending-shared"]
    assert not old_png.exists()
    assert shared_png.exists()  # a pending item still uploads it
    assert outside.exists()  # never delete outside the outbox's folder
