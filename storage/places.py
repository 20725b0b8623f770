"""Which places a cadre works at: one rule for the visit log and the problem ledger.

A place belongs to a group directly, or (a household) through its village. A cadre
works at the active places of their own group; a team leader or deputy without a group,
at those of every active group of their team. Others work at no place.
"""

from __future__ import annotations

from typing import Any

from campaign.roles import TEAM_LEADERS
from storage.people import Cadre


def scope_where(cadre: Cadre) -> tuple[str, tuple[Any, ...]] | None:
    """A condition on place ``p`` (with its village LEFT JOINed as ``v``) that holds for
    the places this cadre works at, with its parameters; None when there are none."""
    group = "COALESCE(p.group_id, v.group_id)"
    if cadre.group_id is not None:
        return f"p.active = 1 AND {group} = ?", (cadre.group_id,)
    if cadre.role in TEAM_LEADERS and cadre.team_id is not None:
        return (
            f"p.active = 1 AND {group} IN (SELECT id FROM groups WHERE team_id = ? AND active = 1)",
            (cadre.team_id,),
        )
    return None


FROM = "FROM places p LEFT JOIN places v ON v.id = p.village_id"
