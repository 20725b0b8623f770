"""Which places a cadre works at: one rule for the visit log and the problem ledger.

A place belongs to a group directly, or (a household) through its village. A cadre
works at the active places of their own group; a team leader or deputy without a group,
at those of every active group of their team. Others work at no place.
"""

from __future__ import annotations

from typing import Any

from campaign.roles import TEAM_LEADERS
from storage.people import Cadre


def scope_where(cadre: Cadre, p: str = "p") -> tuple[str, tuple[Any, ...]] | None:
    """A condition on the place named ``p`` in the query that holds for the places this
    cadre works at, with its parameters; None when there are none."""
    if cadre.group_id is not None:
        groups, params = "?", (cadre.group_id,)
    elif cadre.role in TEAM_LEADERS and cadre.team_id is not None:
        groups, params = "SELECT id FROM groups WHERE team_id = ? AND active = 1", (cadre.team_id,)
    else:
        return None
    # COALESCE(p.group_id, v.group_id) IN (groups), written so that SQLite can use the
    # indexes on places(group_id) and places(village_id): this runs on every step.
    return (
        f"{p}.active = 1 AND ({p}.group_id IN ({groups}) OR ({p}.group_id IS NULL AND"
        f" {p}.village_id IN (SELECT id FROM places WHERE group_id IN ({groups}))))",
        params + params,
    )
