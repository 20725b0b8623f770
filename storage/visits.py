"""Visits (走访日志): the places a cadre may log, writing a visit from its draft,
corrections and withdrawals with their audit trail, and the lists /my and /group show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from campaign.quotas import VisitFact
from campaign.vocabulary import WORK_KINDS
from storage import drafts, media, places, plans
from storage.db import Database, Row, Writer, escape_like, from_text, to_text
from storage.people import Cadre, audit

_KIND_ORDER = (
    "CASE s.kind WHEN 'village' THEN 0 WHEN 'community' THEN 1 WHEN 'enterprise' THEN 2 ELSE 3 END"
)


@dataclass(frozen=True)
class Place:
    id: int
    kind: str
    name: str
    village_id: int | None
    lat: float | None
    lon: float | None
    households: int = 0  # households listed under this village


@dataclass(frozen=True)
class Photo:
    file_id: str
    file_unique_id: str


@dataclass(frozen=True)
class VisitRecord:
    """What a submitted or corrected visit says."""

    place_id: int
    day: date
    kinds: tuple[str, ...]
    text: str
    voice_file_id: str | None = None
    people_met: int | None = None
    lat: float | None = None
    lon: float | None = None
    distance_km: float | None = None
    far: bool = False
    model_case: bool = False
    photos: tuple[Photo, ...] = ()
    plan_item: int | None = None  # the plan item the visit served (visit_plan_items)

    def snapshot(self) -> dict[str, Any]:
        """The fields as the audit log keeps them."""
        return {
            "place_id": self.place_id,
            "visit_date": self.day.isoformat(),
            "kinds": list(self.kinds),
            "text": self.text,
            "voice_file_id": self.voice_file_id,
            "people_met": self.people_met,
            "lat": self.lat,
            "lon": self.lon,
            "distance_km": self.distance_km,
            "far": self.far,
            "model_case": self.model_case,
            "photos": [p.file_id for p in self.photos],
        }


@dataclass(frozen=True)
class Visit:
    id: int
    cadre_id: int
    cadre_name: str
    team_id: int | None
    group_id: int | None
    place_name: str
    place_kind: str
    place_lat: float | None
    place_lon: float | None
    status: str
    created_at: datetime
    updated_at: datetime
    record: VisitRecord

    @property
    def active(self) -> bool:
        return self.status == "active"


# --- places ----------------------------------------------------------------------------


def _places_sql(scope: str, where: str) -> str:
    # The places the cadre works at (storage/places.py). Households count under their
    # village; a place's "last seen" is this cadre's most recent visit to it or to one of
    # its households, so the list starts with the places the cadre actually goes to.
    return f"""
WITH scope AS (
    SELECT p.* FROM places p WHERE {scope}
),
seen AS MATERIALIZED (  -- the cadre's last visit to each place, read once
    SELECT place_id, MAX(visit_date || ' ' || created_at) AS at FROM visits
    WHERE cadre_id = ? AND status = 'active' GROUP BY place_id
)
SELECT s.id, s.kind, s.name, s.village_id, s.lat, s.lon,
       (SELECT COUNT(*) FROM scope h WHERE h.village_id = s.id) AS households,
       (SELECT MAX(seen.at) FROM seen
         WHERE seen.place_id = s.id
            OR seen.place_id IN (SELECT h.id FROM scope h WHERE h.village_id = s.id)
       ) AS last_seen
FROM scope s
WHERE {where}
ORDER BY last_seen DESC NULLS LAST, {_KIND_ORDER}, s.name, s.id
"""


def _place(row: Row) -> Place:
    return Place(
        id=row["id"],
        kind=row["kind"],
        name=row["name"],
        village_id=row["village_id"],
        lat=row["lat"],
        lon=row["lon"],
        households=row["households"],
    )


async def _places(db: Database, cadre: Cadre, where: str, params: tuple[Any, ...]) -> list[Place]:
    scope = places.scope_where(cadre)
    if scope is None:
        return []
    condition, sparams = scope
    rows = await db.fetchall(_places_sql(condition, where), (*sparams, cadre.id, *params))
    return [_place(r) for r in rows]


async def places_for(db: Database, cadre: Cadre, village_id: int | None = None) -> list[Place]:
    """The places a cadre may pick, most recently visited first. Without ``village_id``:
    the top level (villages, communities, enterprises and households whose village is not
    listed); with it: that village's households."""
    if village_id is not None:
        return await _places(db, cadre, "s.village_id = ?", (village_id,))
    return await _places(
        db,
        cadre,
        "s.kind != 'household' OR s.village_id IS NULL"
        " OR s.village_id NOT IN (SELECT id FROM scope)",
        (),
    )


async def search_places(db: Database, cadre: Cadre, query: str, limit: int = 12) -> list[Place]:
    """Places in the cadre's scope whose name contains ``query`` (households included)."""
    found = await _places(db, cadre, "s.name LIKE ? ESCAPE '\\'", (f"%{escape_like(query)}%",))
    return found[:limit]


async def place_in_scope(db: Database, cadre: Cadre, place_id: int) -> Place | None:
    """The place if this cadre may log a visit there now (no ranking: one place)."""
    scope, households = places.scope_where(cadre), places.scope_where(cadre, "h")
    if scope is None or households is None:
        return None
    row = await db.fetchone(
        "SELECT p.id, p.kind, p.name, p.village_id, p.lat, p.lon,"
        f" (SELECT COUNT(*) FROM places h WHERE h.village_id = p.id AND {households[0]})"
        f" AS households FROM places p WHERE {scope[0]} AND p.id = ?",
        (*households[1], *scope[1], place_id),
    )
    return _place(row) if row else None


# --- writing ---------------------------------------------------------------------------


class _DraftClosed(Exception):
    """The draft was closed before this write: roll the transaction back."""


async def _write_children(
    conn: Writer, visit_id: int, record: VisitRecord, replace: bool = False
) -> None:
    if replace:
        await conn.execute("DELETE FROM visit_kinds WHERE visit_id = ?", (visit_id,))
        await conn.execute("DELETE FROM visit_photos WHERE visit_id = ?", (visit_id,))
    await conn.executemany(
        "INSERT INTO visit_kinds (visit_id, kind) VALUES (?, ?)",
        [(visit_id, k) for k in record.kinds],
    )
    if record.photos:
        await conn.executemany(
            "INSERT INTO visit_photos (visit_id, position, file_id, file_unique_id)"
            " VALUES (?, ?, ?, ?)",
            [(visit_id, i, p.file_id, p.file_unique_id) for i, p in enumerate(record.photos)],
        )


def _files_of(visit_id: int, record: VisitRecord) -> list[media.Wanted]:
    photos = [(p.file_id, p.file_unique_id) for p in record.photos]
    return media.of_visit(visit_id, photos, record.voice_file_id)


def _fields(record: VisitRecord) -> tuple[Any, ...]:
    return (
        record.place_id,
        record.day.isoformat(),
        record.text,
        record.voice_file_id,
        record.people_met,
        record.lat,
        record.lon,
        record.distance_km,
        int(record.far),
        int(record.model_case),
    )


async def submit(
    db: Database,
    *,
    draft_id: int,
    cadre: Cadre,
    record: VisitRecord,
    now: datetime,
    keep_files: bool = False,
) -> int | None:
    """Write the visit and close its draft in one transaction; returns the visit id, or
    None when the draft was already submitted or cancelled (nothing is written).

    The statements run on the loop's connection, with the handled updates' marks, and
    ``sync()`` then makes them durable, one fsync in one trip to a thread, before the
    receipt is shown."""
    try:
        async with db.step(marks=True) as conn:
            cur = await conn.execute(
                "INSERT INTO visits (cadre_id, team_id, group_id, place_id, visit_date, text,"
                " voice_file_id, people_met, lat, lon, distance_km, far, model_case, draft_id,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (draft_id) DO NOTHING",
                (
                    cadre.id,
                    cadre.team_id,
                    cadre.group_id,
                    *_fields(record),
                    draft_id,
                    to_text(now),
                    to_text(now),
                ),
            )
            if cur.rowcount != 1:
                raise _DraftClosed
            visit_id = int(cur.lastrowid or 0)
            await _write_children(conn, visit_id, record)
            if record.plan_item is not None:
                await plans.link_visit(conn, visit_id, record.plan_item)
            if keep_files:  # fetched later by the media worker (bot/media.py)
                await media.record(conn, _files_of(visit_id, record), now)
            if not await drafts.close(conn, draft_id, "submitted", now, result_id=visit_id):
                raise _DraftClosed
    except _DraftClosed:
        return None
    await db.sync()
    return visit_id


async def amend(
    db: Database,
    *,
    draft_id: int,
    visit: Visit,
    actor: Cadre,
    record: VisitRecord,
    now: datetime,
    keep_files: bool = False,
) -> bool:
    """Replace a visit's fields from a correction draft, closing the draft and writing
    the audit entry in the same transaction. False when the draft was already closed or
    the visit changed meanwhile (withdrawn, or corrected through another draft)."""
    try:
        async with db.write() as conn:
            cur = await conn.execute(
                "UPDATE visits SET place_id = ?, visit_date = ?, text = ?, voice_file_id = ?,"
                " people_met = ?, lat = ?, lon = ?, distance_km = ?, far = ?, model_case = ?,"
                " updated_at = ? WHERE id = ? AND status = 'active' AND updated_at = ?",
                (*_fields(record), to_text(now), visit.id, to_text(visit.updated_at)),
            )
            if cur.rowcount != 1:
                raise _DraftClosed
            await _write_children(conn, visit.id, record, replace=True)
            if keep_files:
                await media.record(conn, _files_of(visit.id, record), now)
            if not await drafts.close(conn, draft_id, "submitted", now, result_id=visit.id):
                raise _DraftClosed
            await audit(
                conn,
                "visit_edit",
                actor=actor,
                subject=f"visit:{visit.id}",
                before=visit.record.snapshot(),
                after=record.snapshot(),
                at=now,
            )
    except _DraftClosed:
        return False
    return True


async def withdraw(db: Database, visit: Visit, actor: Cadre, now: datetime) -> bool:
    """Mark a visit withdrawn (the row stays; counts leave it out); False if it already
    was, or changed since ``visit`` was read."""
    async with db.write() as conn:
        cur = await conn.execute(
            "UPDATE visits SET status = 'withdrawn', updated_at = ?"
            " WHERE id = ? AND status = 'active' AND updated_at = ?",
            (to_text(now), visit.id, to_text(visit.updated_at)),
        )
        if cur.rowcount != 1:
            return False
        await audit(
            conn,
            "visit_withdraw",
            actor=actor,
            subject=f"visit:{visit.id}",
            before={"status": "active"},
            after={"status": "withdrawn"},
            at=now,
        )
    return True


# --- reading ---------------------------------------------------------------------------

_VISIT_SELECT = """
SELECT v.*, c.name AS cadre_name, p.name AS place_name, p.kind AS place_kind,
       p.lat AS place_lat, p.lon AS place_lon,
       (SELECT GROUP_CONCAT(k.kind) FROM visit_kinds k WHERE k.visit_id = v.id) AS kinds
FROM visits v
JOIN cadres c ON c.id = v.cadre_id
JOIN places p ON p.id = v.place_id
"""


def _ordered_kinds(text: str | None) -> tuple[str, ...]:
    got = set((text or "").split(","))
    return tuple(k for k in WORK_KINDS if k in got)


def _visit(row: Row, photos: tuple[Photo, ...] = ()) -> Visit:
    record = VisitRecord(
        place_id=row["place_id"],
        day=date.fromisoformat(row["visit_date"]),
        kinds=_ordered_kinds(row["kinds"]),
        text=row["text"],
        voice_file_id=row["voice_file_id"],
        people_met=row["people_met"],
        lat=row["lat"],
        lon=row["lon"],
        distance_km=row["distance_km"],
        far=bool(row["far"]),
        model_case=bool(row["model_case"]),
        photos=photos,
    )
    return Visit(
        id=row["id"],
        cadre_id=row["cadre_id"],
        cadre_name=row["cadre_name"],
        team_id=row["team_id"],
        group_id=row["group_id"],
        place_name=row["place_name"],
        place_kind=row["place_kind"],
        place_lat=row["place_lat"],
        place_lon=row["place_lon"],
        status=row["status"],
        created_at=from_text(row["created_at"]),
        updated_at=from_text(row["updated_at"]),
        record=record,
    )


async def get(db: Database, visit_id: int) -> Visit | None:
    row = await db.fetchone(_VISIT_SELECT + " WHERE v.id = ?", (visit_id,))
    if row is None:
        return None
    photos = await db.fetchall(
        "SELECT file_id, file_unique_id FROM visit_photos WHERE visit_id = ? ORDER BY position",
        (visit_id,),
    )
    return _visit(row, tuple(Photo(p["file_id"], p["file_unique_id"]) for p in photos))


async def recent_for_cadre(db: Database, cadre_id: int, limit: int = 5) -> list[Visit]:
    """The cadre's newest visits, withdrawn ones included (they are shown as such)."""
    rows = await db.fetchall(
        _VISIT_SELECT + " WHERE v.cadre_id = ? ORDER BY v.visit_date DESC, v.id DESC LIMIT ?",
        (cadre_id, limit),
    )
    return [_visit(r) for r in rows]


async def facts_for(db: Database, cadre_id: int, start: date, end: date) -> list[VisitFact]:
    """The cadre's active visits dated in [start, end), for quota arithmetic."""
    rows = await db.fetchall(
        "SELECT v.visit_date, v.place_id,"
        " (SELECT GROUP_CONCAT(k.kind) FROM visit_kinds k WHERE k.visit_id = v.id) AS kinds"
        " FROM visits v WHERE v.cadre_id = ? AND v.status = 'active'"
        " AND v.visit_date >= ? AND v.visit_date < ?",
        (cadre_id, start.isoformat(), end.isoformat()),
    )
    return [
        VisitFact(date.fromisoformat(r["visit_date"]), r["place_id"], _ordered_kinds(r["kinds"]))
        for r in rows
    ]


async def count_between(db: Database, cadre_id: int, start: date, end: date) -> int:
    """How many active visits the cadre has dated in [start, end)."""
    found = await db.fetchall(
        "SELECT COUNT(*) AS n FROM visits WHERE cadre_id = ? AND status = 'active'"
        " AND visit_date >= ? AND visit_date < ?",
        (cadre_id, start.isoformat(), end.isoformat()),
    )
    return int(found[0]["n"])


@dataclass(frozen=True)
class GroupPage:
    visits: list[Visit]
    total: int
    far: int


async def group_page(
    db: Database, group_id: int, since: date, offset: int, limit: int
) -> GroupPage:
    """A group's active visits dated from ``since``: flagged (far) ones first, then the
    newest."""
    counts = await db.fetchone(
        "SELECT COUNT(*) AS total, COALESCE(SUM(far), 0) AS far FROM visits"
        " WHERE group_id = ? AND status = 'active' AND visit_date >= ?",
        (group_id, since.isoformat()),
    )
    rows = await db.fetchall(
        _VISIT_SELECT + " WHERE v.group_id = ? AND v.status = 'active' AND v.visit_date >= ?"
        " ORDER BY v.far DESC, v.visit_date DESC, v.id DESC LIMIT ? OFFSET ?",
        (group_id, since.isoformat(), limit, offset),
    )
    return GroupPage(
        [_visit(r) for r in rows],
        int(counts["total"]) if counts else 0,
        int(counts["far"]) if counts else 0,
    )
