"""What the problem-raising flow and the card-action dialog read and keep while they ask:
their drafts, the places a cadre may raise a problem at, the open problems already
raised at a place, and the level a new problem would start at (the ladder's rule).
Submitting lives in services/problems.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from campaign.ladder import start_level
from campaign.runtime import Deps
from storage import drafts, problems
from storage.drafts import Draft
from storage.people import Cadre
from storage.problems import Place, Problem

__all__ = [
    "Draft",
    "Duplicate",
    "Place",
    "cancel",
    "duplicates",
    "get",
    "households_of",
    "open_draft",
    "other_open",
    "place_in_scope",
    "places_for",
    "planned_level",
    "save",
    "search_places",
    "start",
]


# --- drafts -----------------------------------------------------------------------------


async def open_draft(deps: Deps, kind: str, user_id: int) -> Draft | None:
    """The open draft of this kind in the person's private chat."""
    return await drafts.open_draft(deps.db, kind, user_id, user_id)


async def start(
    deps: Deps, kind: str, cadre: Cadre, user_id: int, step: str, data: dict[str, Any]
) -> Draft:
    """A fresh draft in the person's private chat (an open one of the kind is dropped)."""
    return await drafts.start(deps.db, kind, cadre.id, user_id, user_id, step, data, deps.now())


async def save(deps: Deps, draft_id: int, step: str, data: dict[str, Any]) -> Draft | None:
    """Save what was typed and the step reached; the fresh draft, or None if it is no
    longer open."""
    if not await drafts.save(deps.db, draft_id, step, data, deps.now()):
        return None
    return await drafts.get(deps.db, draft_id)


async def get(deps: Deps, draft_id: int) -> Draft | None:
    return await drafts.get(deps.db, draft_id)


async def cancel(deps: Deps, draft_id: int) -> bool:
    return await drafts.cancel(deps.db, draft_id, deps.now())


async def other_open(deps: Deps, user_id: int, kind: str, after_id: int = 0) -> Draft | None:
    """The newest open draft of another kind in the person's private chat."""
    return await drafts.other_open(deps.db, user_id, user_id, kind, after_id)


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
