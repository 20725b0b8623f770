"""The export's visit rows come from one statement (kinds, photo counts and kept
evidence files grouped once, not looked up row by row): the same rows, in the same
order, as asking for each visit's kinds, photos and files on their own."""

from __future__ import annotations

from datetime import date

from campaign.periods import parse_period
from campaign.reporting import Scope, VisitRow
from storage import report_rows
from storage.db import Database
from storage.reports import reading
from tests.factories import Seed
from tests.report_factories import add_visit, november


def _reference(db_path: str, scope: Scope, period_text: str) -> list[tuple[object, ...]]:
    """Kinds, photo count and saved files of each active visit, one query per visit."""
    period = parse_period(period_text, date(2026, 11, 16))
    out: list[tuple[object, ...]] = []
    with reading(db_path) as conn:
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM visits WHERE status = 'active' AND visit_date >= ?"
                " AND visit_date < ? ORDER BY visit_date, id",
                (period.start.isoformat(), period.end.isoformat()),
            )
        ]
        for i in ids:
            kinds = tuple(
                r[0]
                for r in conn.execute(
                    "SELECT kind FROM visit_kinds WHERE visit_id = ? ORDER BY kind", (i,)
                )
            )
            photos = conn.execute(
                "SELECT COUNT(*) FROM visit_photos WHERE visit_id = ?", (i,)
            ).fetchone()[0]
            files = tuple(
                sorted(
                    (r[0], r[1])
                    for r in conn.execute(
                        "SELECT m.kind, m.id FROM media_files m JOIN visits v ON v.id = m.owner_id"
                        " WHERE m.owner = 'visit' AND m.owner_id = ? AND m.status = 'saved'"
                        " AND (m.file_id = v.voice_file_id OR m.file_id IN"
                        " (SELECT file_id FROM visit_photos WHERE visit_id = v.id))",
                        (i,),
                    )
                )
            )
            out.append((i, kinds, photos, files))
    return out


def _rows(db_path: str, scope: Scope, period_text: str) -> list[VisitRow]:
    period = parse_period(period_text, date(2026, 11, 16))
    with reading(db_path) as conn:
        return list(report_rows.visit_rows(conn, scope, period))


async def _save_media(db: Database, visit_id: int, kind: str, file_id: str, status: str) -> int:
    async with db.write() as conn:
        cur = await conn.execute(
            "INSERT INTO media_files (owner, owner_id, kind, file_id, file_key, status,"
            " next_try_at, created_at, updated_at)"
            " VALUES ('visit', ?, ?, ?, ?, ?, '2026-11-16T00:00:00+00:00',"
            " '2026-11-16T00:00:00+00:00', '2026-11-16T00:00:00+00:00')",
            (visit_id, kind, file_id, file_id, status),
        )
        return int(cur.lastrowid or 0)


async def test_visit_rows_match_row_by_row_lookups(db: Database, seed: Seed) -> None:
    data = await november(db, seed)
    c, p = seed.cadres, seed.places
    many = await add_visit(
        db,
        c["cadre2"],
        p["v1"],
        date(2026, 11, 7),
        ("survey", "policy", "service"),
        photos=3,
        voice=True,
    )
    kept = [
        await _save_media(db, many, "photo", f"ph{many}-0", "saved"),
        await _save_media(db, many, "voice", "voice-file", "saved"),
    ]
    await _save_media(db, many, "photo", f"ph{many}-1", "pending")  # not kept yet
    v4 = data.visits["v4"]
    await _save_media(db, v4, "photo", "no-longer-on-the-visit", "saved")

    rows = _rows(str(db.path), Scope.everything(), "2026-11")
    ref = _reference(str(db.path), Scope.everything(), "2026-11")
    assert [(r.id, r.kinds, r.photos, r.files) for r in rows] == ref
    by_id = {r.id: r for r in rows}
    assert by_id[many].kinds == ("policy", "service", "survey")
    assert by_id[many].photos == 3
    assert by_id[many].files == tuple(sorted((("photo", kept[0]), ("voice", kept[1]))))
    assert by_id[v4].photos == 2 and by_id[v4].files == ()
    assert data.visits["v7"] not in by_id  # withdrawn
    assert data.visits["v8"] not in by_id  # October
    assert [r.visit_date for r in rows] == sorted(r.visit_date for r in rows)
