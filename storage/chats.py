"""The group chats bound to a team or the office, all at once (menus set at start)."""

from __future__ import annotations

from storage.db import Database
from storage.people import BoundChat


async def bound_chats(db: Database) -> list[BoundChat]:
    rows = await db.fetchall(
        "SELECT chat_id, kind, team_id, title FROM bound_chats ORDER BY chat_id"
    )
    return [BoundChat(r["chat_id"], r["kind"], r["team_id"], r["title"]) for r in rows]
