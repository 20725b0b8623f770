"""From the ledger's rows to what campaign/problem_cards.py renders: a problem as a
``CardView``, an event as an ``EventView``, and a renderer in a reader's language. Here,
not in storage/, so that the storage floor knows nothing of how a card looks."""

from __future__ import annotations

from campaign.problem_cards import CardView, EventView, Renderer
from services.runtime import Deps
from storage.problems import Event, Problem


def renderer(deps: Deps, lang: str) -> Renderer:
    return Renderer(deps.catalog, lang, deps.settings.tz)


def event_view(e: Event) -> EventView:
    return EventView(e.action, e.actor_name, e.at, e.note, e.from_level, e.to_level)


def card_view(p: Problem, last: Event | None = None, urged: tuple[str, ...] = ()) -> CardView:
    """The problem as its card shows it (``last``: the newest event, shown under it;
    ``urged``: who urged it, once per urge)."""
    return CardView(
        id=p.id,
        category=p.category,
        urgent=p.urgent,
        place_name=p.place_name,
        place_kind=p.place_kind,
        village_name=p.village_name,
        group_name=p.group_name,
        team_name=p.team_name,
        reporter_name=p.reporter_name,
        reporters=p.reporters,
        description=p.description,
        photos=p.photos,
        level=p.level,
        status=p.status,
        owner_name=p.owner_name,
        department=p.department,
        created_at=p.created_at,
        deadline=p.deadline,
        resolution=p.resolution,
        explained_by=p.explained_by,
        explained_on=p.explained_on,
        closed_at=p.closed_at,
        last=event_view(last) if last else None,
        urged=urged,
    )
