"""Bulk inserts of a whole county at once: a roster, a year of visits and problems with
their history, in one transaction. Only for an empty database (``fieldbot demo-data``,
the benchmarks); rows come in as plain tuples in the tables' column order."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from storage.db import Database

Row = Sequence[object]
VisitBatch = tuple[Sequence[Row], Sequence[tuple[int, str]], Sequence[tuple[int, int, str]]]


async def has_roster(db: Database) -> bool:
    row = await db.fetchone("SELECT COUNT(*) AS n FROM teams")
    return row is not None and bool(row["n"])


async def insert_county(
    db: Database,
    *,
    teams: Sequence[Row],
    groups: Sequence[Row],
    cadres: Sequence[Row],
    places: Sequence[Row],
    visit_batches: Iterable[VisitBatch],
    problems: Sequence[Row],
    events: Sequence[Row],
    after_batch: Callable[[int], None] | None = None,
) -> None:
    """Everything in one transaction. ``after_batch(visits_so_far)`` is called after
    each batch of visits (a long import shows its progress)."""
    async with db.write(long=True) as conn:
        await conn.executemany(
            "INSERT INTO teams (id, code, name, town) VALUES (?, ?, ?, ?)", teams
        )
        await conn.executemany(
            "INSERT INTO groups (id, code, name, team_id) VALUES (?, ?, ?, ?)", groups
        )
        await conn.executemany(
            "INSERT INTO cadres (id, name, phone, role, team_id, group_id, unit, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            cadres,
        )
        await conn.executemany(
            "INSERT INTO places (id, code, kind, name, town, group_id, village_id, lat, lon)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            places,
        )
        done = 0
        for batch, kinds, photos in visit_batches:
            await conn.executemany(
                "INSERT INTO visits (id, cadre_id, team_id, group_id, place_id, visit_date, text,"
                " voice_file_id, people_met, distance_km, far, model_case, status, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                batch,
            )
            await conn.executemany("INSERT INTO visit_kinds (visit_id, kind) VALUES (?, ?)", kinds)
            await conn.executemany(
                "INSERT INTO visit_photos (visit_id, position, file_id) VALUES (?, ?, ?)", photos
            )
            done += len(batch)
            if after_batch is not None:
                after_batch(done)
        await conn.executemany(
            "INSERT INTO problems (id, reporter_id, team_id, group_id, place_id, category,"
            " description, urgent, level, status, owner_id, level_since, deadline, resolution,"
            " explained_by, explained_on, closed_at, watch, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            problems,
        )
        await conn.executemany(
            "INSERT INTO problem_events (problem_id, at, actor_id, action, from_level, to_level,"
            " note) VALUES (?, ?, ?, ?, ?, ?, ?)",
            events,
        )
