"""One rule for the places a cadre works at: logging a visit and raising a problem agree
for every role and every place, including households reached through their village and
groups that were closed."""

from __future__ import annotations

from storage import people, problems, visits
from storage.db import Database
from tests.factories import CADRES, Seed, seed_roster


async def _agree(db: Database, seed: Seed) -> dict[str, set[str]]:
    """For each cadre, the places both flows let them pick (asserting they agree)."""
    found: dict[str, set[str]] = {}
    for key, *_ in CADRES:
        cadre = await people.cadre_by_id(db, seed.cadres[key])
        assert cadre is not None
        picks = set()
        for name, place_id in seed.places.items():
            for_visit = await visits.place_in_scope(db, cadre, place_id) is not None
            for_problem = await problems.place_in_scope(db, cadre, place_id) is not None
            assert for_visit == for_problem, (key, name)
            if for_visit:
                picks.add(name)
        found[key] = picks
    return found


async def test_visits_and_problems_agree_on_every_place(db: Database) -> None:
    seed = await seed_roster(db)
    async with db.write() as conn:  # a household filed under its village only
        await conn.execute("UPDATE places SET group_id = NULL WHERE id = ?", (seed.places["h1"],))
    found = await _agree(db, seed)
    assert found["cadre1"] == found["leader1"] == {"v1", "c1", "e1", "h1"}
    assert found["cadre3"] == {"v2"}
    assert found["captain1"] == found["deputy1"] == {"v1", "v2", "c1", "e1", "h1"}
    assert found["captain2"] == found["cadre4"] == {"v3", "e2"}
    assert found["office1"] == found["inspector1"] == set()
    async with db.write() as conn:  # a closed group's places leave the team's list
        await conn.execute("UPDATE groups SET active = 0 WHERE id = ?", (seed.groups["G2"],))
        await conn.execute("UPDATE places SET active = 0 WHERE id = ?", (seed.places["e1"],))
    found = await _agree(db, seed)
    assert found["captain1"] == {"v1", "c1", "h1"}


async def test_a_picked_place_has_the_households_its_list_showed(db: Database) -> None:
    seed = await seed_roster(db)
    for key in ("cadre1", "captain1", "cadre4"):
        cadre = await people.cadre_by_id(db, seed.cadres[key])
        assert cadre is not None
        for place in await visits.places_for(db, cadre):
            picked = await visits.place_in_scope(db, cadre, place.id)
            assert picked == place, (key, place.name)
