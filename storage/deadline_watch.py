"""Open problems close to their deadline, and who owns them at their current level."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, from_text, to_text


@dataclass(frozen=True)
class WatchedProblem:
    id: int
    level: str
    urgent: bool
    deadline: datetime
    team_id: int | None
    group_id: int | None
    owner_id: int | None
    category: str
    description: str
    place_name: str


@dataclass(frozen=True)
class Recipient:
    chat_id: int
    lang: str | None  # None: a group chat, or a person who never chose; use the default


async def problems_due_by(db: Database, until: datetime) -> list[WatchedProblem]:
    """Open problems whose current deadline falls before ``until``."""
    rows = await db.fetchall(
        "SELECT p.id, p.level, p.urgent, p.deadline, p.team_id, p.group_id, p.owner_id,"
        " p.category, p.description, pl.name AS place_name"
        " FROM problems p JOIN places pl ON pl.id = p.place_id"
        " WHERE p.status IN ('open', 'claimed') AND p.deadline < ? ORDER BY p.deadline, p.id",
        (to_text(until),),
    )
    return [
        WatchedProblem(
            id=r["id"],
            level=r["level"],
            urgent=bool(r["urgent"]),
            deadline=from_text(r["deadline"]),
            team_id=r["team_id"],
            group_id=r["group_id"],
            owner_id=r["owner_id"],
            category=r["category"],
            description=r["description"],
            place_name=r["place_name"],
        )
        for r in rows
    ]


_BOUND = """
SELECT b.telegram_user_id AS chat_id, p.lang FROM cadres c
JOIN telegram_bindings b ON b.cadre_id = c.id
LEFT JOIN user_prefs p ON p.telegram_user_id = b.telegram_user_id
WHERE c.active = 1 AND
"""


async def _bound(db: Database, where: str, params: tuple[object, ...]) -> list[Recipient]:
    rows = await db.fetchall(_BOUND + where + " ORDER BY c.id", params)
    return [Recipient(r["chat_id"], r["lang"]) for r in rows]


async def _chat(db: Database, where: str, params: tuple[object, ...]) -> list[Recipient]:
    """The bound chat, unless it refused us (then it is as if none was bound)."""
    row = await db.fetchone(
        f"SELECT chat_id FROM bound_chats WHERE {where}"
        " AND chat_id NOT IN (SELECT chat_id FROM unreachable_chats)",
        params,
    )
    return [Recipient(row["chat_id"], None)] if row else []


async def owners(db: Database, problem: WatchedProblem) -> list[Recipient]:
    """Who answers for the problem at its level: the group leader (or whoever claimed
    it) for the group, the team's leaders for the team, the office chat for the office.
    When nobody of the group or team has joined the bot yet, the team's chat; with no
    reachable office chat, each office member (as the problem's card does)."""
    found: list[Recipient] = []
    if problem.level == "office":
        return await _chat(db, "kind = 'office'", ()) or await _bound(db, "c.role = 'office'", ())
    if problem.level == "group":
        if problem.owner_id is not None:
            found = await _bound(db, "c.id = ?", (problem.owner_id,))
        if not found and problem.group_id is not None:
            found = await _bound(
                db, "c.group_id = ? AND c.role = 'group_leader'", (problem.group_id,)
            )
    elif problem.team_id is not None:
        found = await _bound(
            db,
            "c.team_id = ? AND c.role IN ('team_leader', 'deputy_team_leader')",
            (problem.team_id,),
        )
    if not found and problem.team_id is not None:
        found = await _chat(db, "kind = 'team' AND team_id = ?", (problem.team_id,))
    return found
