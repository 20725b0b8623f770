"""The nightly job: an online backup of the database, then forgetting old update ids and
old finished outbox items (with the files they uploaded)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from services import people
from services.jobs import Outgoing, local_day, outbox_files
from services.runtime import Deps
from storage import inbox, jobruns, outbox
from storage.backup import BackupError, backup_location

log = logging.getLogger(__name__)


async def nightly_items(deps: Deps, due: datetime, now: datetime) -> list[Outgoing]:
    """Back up, prune; a failed backup is told to the office chat (once a night)."""
    s = deps.settings
    out: list[Outgoing] = []
    if deps.db.path != ":memory:":
        try:
            result = await backup_location(
                deps.db.path, s.storage.backup_dir, s.storage.backup_keep, now
            )
        except (BackupError, OSError) as exc:
            log.error("nightly backup failed: %s", exc)
            office = await people.office_chat(deps)
            if office is not None:
                lang = s.campaign.language
                text = deps.catalog.t(lang, "sched.backup.failed", error=str(exc)[:300])
                key = f"backup-failed:{local_day(deps, due).isoformat()}"
                out.append(Outgoing(key, office.chat_id, text))
        else:
            log.info(
                "backup %s: %d bytes in %.2f s, %d old one(s) removed",
                result.path.name,
                result.size,
                result.seconds,
                len(result.removed),
            )
    pruned = await jobruns.prune_processed_updates(
        deps.db, now - timedelta(days=s.storage.keep_update_ids_days)
    )
    if pruned:
        log.info("forgot %d processed update id(s)", pruned)
    handled = await inbox.prune_done(deps.db, now - timedelta(days=s.storage.keep_update_ids_days))
    if handled:
        log.info("forgot %d handled webhook update(s)", handled)
    items, files = await outbox.prune(deps.db, now - timedelta(days=s.storage.keep_outbox_days))
    removed = _remove_outbox_files(deps.db.path, files)
    if items or removed:
        log.info("forgot %d finished outbox item(s) and %d uploaded file(s)", items, removed)
    return out


def _remove_outbox_files(db_path: str, files: list[str]) -> int:
    """Delete the given files, but only those inside the outbox's own folder."""
    if db_path == ":memory:":
        return 0
    folder = outbox_files(db_path)
    removed = 0
    for name in files:
        path = Path(name).resolve()
        if path.parent != folder:
            continue
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("could not delete %s: %s", path.name, exc)
    return removed
