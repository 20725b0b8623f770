"""The media files of visits and problems (media_files): noted when a photo or a voice
note is stored, then fetched by a background worker (bot/media.py) into the media
folder. A file is pending until it is saved, found too big to keep, or given up."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from typing import Any

from storage.db import Database, Row, Writer, from_text, to_text


@dataclass(frozen=True)
class Wanted:
    """A file to fetch: whose it is, which of its files, and Telegram's ids for it."""

    owner: str  # visit, problem
    owner_id: int
    kind: str  # photo, voice
    position: int
    file_id: str
    file_key: str  # file_unique_id, or file_id when none is known


@dataclass(frozen=True)
class MediaFile:
    id: int
    owner: str
    owner_id: int
    kind: str
    position: int
    file_id: str
    status: str
    attempts: int
    next_try_at: datetime
    size: int | None
    path: str | None
    error: str


def of_visit(
    visit_id: int, photos: Iterable[tuple[str, str]], voice_file_id: str | None
) -> list[Wanted]:
    """A visit's photos (file_id, file_unique_id) and voice note, as files to fetch."""
    out = [
        Wanted("visit", visit_id, "photo", i, file_id, unique or file_id)
        for i, (file_id, unique) in enumerate(photos)
    ]
    if voice_file_id:
        out.append(Wanted("visit", visit_id, "voice", 0, voice_file_id, voice_file_id))
    return out


def of_problem(problem_id: int, photos: Iterable[tuple[str, str]]) -> list[Wanted]:
    return [
        Wanted("problem", problem_id, "photo", i, file_id, unique or file_id)
        for i, (file_id, unique) in enumerate(photos)
    ]


async def record(conn: Writer, files: Sequence[Wanted], now: datetime) -> None:
    """Note files to fetch, inside the caller's transaction. A file already noted for the
    same visit or problem (a correction keeps a photo) is not fetched twice."""
    if not files:
        return
    at = to_text(now)
    await conn.executemany(
        "INSERT INTO media_files (owner, owner_id, kind, position, file_id, file_key,"
        " next_try_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (owner, owner_id, kind, file_key) DO NOTHING",
        [
            (f.owner, f.owner_id, f.kind, f.position, f.file_id, f.file_key, at, at, at)
            for f in files
        ],
    )


_SELECT = (
    "SELECT id, owner, owner_id, kind, position, file_id, status, attempts, next_try_at,"
    " size, path, error FROM media_files"
)


def _file(row: Row) -> MediaFile:
    return MediaFile(
        id=row["id"],
        owner=row["owner"],
        owner_id=row["owner_id"],
        kind=row["kind"],
        position=row["position"],
        file_id=row["file_id"],
        status=row["status"],
        attempts=row["attempts"],
        next_try_at=from_text(row["next_try_at"]),
        size=row["size"],
        path=row["path"],
        error=row["error"],
    )


async def due(db: Database, now: datetime, limit: int) -> list[MediaFile]:
    """Pending files whose time has come, oldest first."""
    rows = await db.fetchall(
        _SELECT + " WHERE status = 'pending' AND next_try_at <= ? ORDER BY next_try_at, id LIMIT ?",
        (to_text(now), limit),
    )
    return [_file(r) for r in rows]


async def next_due(db: Database) -> datetime | None:
    row = await db.fetchone(
        "SELECT MIN(next_try_at) AS at FROM media_files WHERE status = 'pending'"
    )
    return from_text(row["at"]) if row and row["at"] else None


async def settle(
    db: Database,
    media_id: int,
    status: str,
    now: datetime,
    *,
    attempts: int,
    next_try_at: datetime | None = None,
    size: int | None = None,
    path: str | None = None,
    error: str = "",
) -> None:
    """The outcome of one attempt; only a pending file changes."""
    fields: dict[str, Any] = {
        "status": status,
        "attempts": attempts,
        "size": size,
        "path": path,
        "error": error[:300],
        "updated_at": to_text(now),
    }
    if next_try_at is not None:
        fields["next_try_at"] = to_text(next_try_at)
    sets = ", ".join(f"{k} = COALESCE(?, {k})" if k == "size" else f"{k} = ?" for k in fields)
    async with db.write() as conn:
        await conn.execute(
            f"UPDATE media_files SET {sets} WHERE id = ? AND status = 'pending'",
            (*fields.values(), media_id),
        )


async def of_owner(db: Database, owner: str, owner_id: int) -> list[MediaFile]:
    rows = await db.fetchall(
        _SELECT + " WHERE owner = ? AND owner_id = ? ORDER BY kind, position, id",
        (owner, owner_id),
    )
    return [_file(r) for r in rows]


@dataclass(frozen=True)
class SavedFile:
    """A saved file with where it belongs, for the export."""

    id: int
    owner: str
    owner_id: int
    kind: str
    position: int
    path: str
    size: int | None
    day: date
    team_id: int | None
    team_name: str
    group_id: int | None
    group_name: str
    cadre_id: int
    cadre_name: str


_SAVED_SQL = """
SELECT m.id, m.owner, m.owner_id, m.kind, m.position, m.path, m.size,
       v.visit_date AS day, v.team_id, COALESCE(t.name, '') AS team_name,
       v.group_id, COALESCE(g.name, '') AS group_name, v.cadre_id, c.name AS cadre_name
FROM media_files m
JOIN visits v ON m.owner = 'visit' AND v.id = m.owner_id
JOIN cadres c ON c.id = v.cadre_id
LEFT JOIN teams t ON t.id = v.team_id
LEFT JOIN groups g ON g.id = v.group_id
WHERE m.status = 'saved' AND v.status = 'active' AND v.visit_date >= ? AND v.visit_date < ?
  AND (m.file_id = v.voice_file_id OR EXISTS (
      SELECT 1 FROM visit_photos ph WHERE ph.visit_id = v.id AND ph.file_id = m.file_id))
UNION ALL
SELECT m.id, m.owner, m.owner_id, m.kind, m.position, m.path, m.size,
       p.created_at AS day, p.team_id, COALESCE(t.name, '') AS team_name,
       p.group_id, COALESCE(g.name, '') AS group_name, p.reporter_id, c.name AS cadre_name
FROM media_files m
JOIN problems p ON m.owner = 'problem' AND p.id = m.owner_id
JOIN cadres c ON c.id = p.reporter_id
LEFT JOIN teams t ON t.id = p.team_id
LEFT JOIN groups g ON g.id = p.group_id
WHERE m.status = 'saved' AND p.created_at >= ? AND p.created_at < ?
  AND EXISTS (SELECT 1 FROM problem_photos ph WHERE ph.problem_id = p.id AND ph.file_id = m.file_id)
ORDER BY team_name, group_name, cadre_name, day, owner, owner_id, kind, position
"""


def _day(text: str, tz: tzinfo) -> date:
    """A visit's local date, or the local date a problem was raised (stored in UTC)."""
    if len(text) == 10:
        return date.fromisoformat(text)
    return from_text(text).astimezone(tz).date()


async def saved_between(db: Database, start: date, end: date, tz: tzinfo) -> list[SavedFile]:
    """Saved files of visits dated, and problems raised, in [start, end) (local dates)."""
    first = to_text(datetime.combine(start, time(), tz))
    last = to_text(datetime.combine(end, time(), tz))
    rows = await db.fetchall(_SAVED_SQL, (start.isoformat(), end.isoformat(), first, last))
    return [
        SavedFile(
            id=r["id"],
            owner=r["owner"],
            owner_id=r["owner_id"],
            kind=r["kind"],
            position=r["position"],
            path=r["path"],
            size=r["size"],
            day=_day(str(r["day"]), tz),
            team_id=r["team_id"],
            team_name=r["team_name"],
            group_id=r["group_id"],
            group_name=r["group_name"],
            cadre_id=r["cadre_id"],
            cadre_name=r["cadre_name"],
        )
        for r in rows
    ]


async def problem_photos(db: Database, problem_id: int) -> list[str]:
    rows = await db.fetchall(
        "SELECT file_id FROM problem_photos WHERE problem_id = ? ORDER BY position",
        (problem_id,),
    )
    return [str(r["file_id"]) for r in rows]


async def visits_with_evidence(
    db: Database, cadre_id: int, start: date, end: date, limit: int
) -> list[int]:
    """The cadre's active visits dated in [start, end) with a photo, voice or location,
    in date order (as the log lists them)."""
    rows = await db.fetchall(
        "SELECT v.id FROM visits v WHERE v.cadre_id = ? AND v.status = 'active'"
        " AND v.visit_date >= ? AND v.visit_date < ? AND (v.voice_file_id IS NOT NULL"
        " OR v.lat IS NOT NULL OR EXISTS (SELECT 1 FROM visit_photos p WHERE p.visit_id = v.id))"
        " ORDER BY v.visit_date, v.id LIMIT ?",
        (cadre_id, start.isoformat(), end.isoformat(), limit),
    )
    return [int(r["id"]) for r in rows]
