"""Drafts: a report being given step by step (a visit, a problem, a card's reason).

The step engine (``handlers/flow.py``) reaches the drafts table only through here, as
handlers may not import ``storage``. One open draft per kind, chat and person; every
step saves the draft's data and the step it reaches in one write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage import drafts
from storage.db import Database
from storage.drafts import Draft

__all__ = ["Draft", "cancel", "get", "open_draft", "open_steps", "other_open", "save", "start"]


async def get(db: Database, draft_id: int) -> Draft | None:
    return await drafts.get(db, draft_id)


async def open_draft(db: Database, kind: str, chat_id: int, user_id: int) -> Draft | None:
    return await drafts.open_draft(db, kind, chat_id, user_id)


async def other_open(
    db: Database, chat_id: int, user_id: int, kind: str, after_id: int = 0
) -> Draft | None:
    """This person's newest open draft of another kind in this chat: text typed in a
    chat goes to one flow at a time."""
    return await drafts.other_open(db, chat_id, user_id, kind, after_id)


async def start(
    db: Database,
    kind: str,
    cadre_id: int,
    chat_id: int,
    user_id: int,
    step: str,
    data: dict[str, Any],
    now: datetime,
) -> Draft:
    """Open a draft at ``step`` (an open one of the same kind in this chat is cancelled)."""
    return await drafts.start(db, kind, cadre_id, chat_id, user_id, step, data, now)


async def save(db: Database, draft_id: int, step: str, data: dict[str, Any], now: datetime) -> bool:
    """Save the data and the step reached; False if the draft is no longer open."""
    return await drafts.save(db, draft_id, step, data, now)


async def cancel(db: Database, draft_id: int, now: datetime) -> bool:
    return await drafts.cancel(db, draft_id, now)


async def open_steps(db: Database, kind: str) -> dict[tuple[int, int], str]:
    """(chat_id, user_id) → step of every open draft of this kind: conversation state."""
    return await drafts.open_steps(db, kind)
