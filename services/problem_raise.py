"""What the problem-raising flow reads while it asks: the places a cadre may raise a
problem at, the open problems already raised at a place, and the level a new problem
would start at (the ladder's rule). Its drafts go through services/drafts.py; submitting
and joining live in services/problems.py."""

from __future__ import annotations

from dataclasses import dataclass

from campaign.ladder import start_level
from campaign.runtime import Deps
from storage import problems
from storage.people import Cadre
from storage.problems import Place, Problem

__all__ = [
    "Duplicate",
    "Place",
    "duplicates",
    "households_of",
    "place_in_scope",
    "places_for",
    "planned_level",
    "search_places",
]


# --- places and duplicates --------------------------------------------------------------


async def places_for(deps: Deps, cadre: Cadre) -> list[Place]:
    return await problems.places_for(deps.db, cadre)


async def households_of(deps: Deps, cadre: Cadre, village_id: int) -> list[Place]:
    return await problems.households_of(deps.db, cadre, village_id)


async def search_places(deps: Deps, cadre: Cadre, text: str) -> list[Place]:
    return await problems.search_places(deps.db, cadre, text)


async def place_in_scope(deps: Deps, cadre: Cadre, place_id: int) -> Place | None:
    """The place if this cadre may raise a problem there (a forged button is refused)."""
    return await problems.place_in_scope(deps.db, cadre, place_id)


@dataclass(frozen=True)
class Duplicate:
    problem: Problem
    mine: bool  # the cadre already raised or joined it


async def duplicates(deps: Deps, place_id: int, cadre: Cadre) -> list[Duplicate]:
    """Open problems already raised at a place, newest first: candidates to join."""
    found = await problems.open_at_place(deps.db, place_id)
    return [Duplicate(p, await problems.is_reporter(deps.db, p.id, cadre.id)) for p in found]


async def planned_level(deps: Deps, cadre: Cadre, group_can_solve: bool) -> str:
    """Where the problem would start if submitted now."""
    has_leader = await problems.group_has_leader(deps.db, cadre.group_id)
    return start_level(group_can_solve, cadre.group_id is not None, has_leader)
