"""Conversation state that survives a restart, read from the drafts table.

Every conversation step writes its draft and the step it reaches to the database before
it answers (see storage/drafts.py), so the database already holds the state. This
persistence only reads it back when the application starts; it stores no user, chat or
bot data of its own, and its periodic flush has nothing to write. With several
processes on one database, ``refresh_conversations`` reads the state again before each
update.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from telegram import Update
from telegram.ext import BasePersistence, ConversationHandler, PersistenceInput

from handlers.flow import conversation_key
from services import drafts
from storage.db import Database

# python-telegram-bot's own aliases for these live in a private module; same shapes.
ConversationKey = tuple[int | str, ...]
ConversationDict = dict[ConversationKey, object]
CDCData = tuple[list[tuple[str, float, dict[str, Any]]], dict[str, str]]


class DraftPersistence(BasePersistence[dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    def __init__(self, db: Database) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=False, callback_data=False
            ),
            update_interval=60,
        )
        self.db = db

    async def get_conversations(self, name: str) -> ConversationDict:
        await self.db.ensure_open()
        steps = await drafts.open_steps(self.db, name)
        return {
            conversation_key(name, chat_id, user_id): step
            for (chat_id, user_id), step in steps.items()
        }

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        # The handler already saved the draft and its step in the update's transaction.
        return None

    async def get_user_data(self) -> dict[int, dict[Any, Any]]:
        return {}

    async def get_chat_data(self) -> dict[int, dict[Any, Any]]:
        return {}

    async def get_bot_data(self) -> dict[Any, Any]:
        return {}

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def update_user_data(self, user_id: int, data: dict[Any, Any]) -> None:
        return None

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        return None

    async def update_bot_data(self, data: dict[Any, Any]) -> None:
        return None

    async def update_callback_data(self, data: CDCData) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        return None

    async def drop_user_data(self, user_id: int) -> None:
        return None

    async def refresh_user_data(self, user_id: int, user_data: dict[Any, Any]) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        return None

    async def refresh_bot_data(self, bot_data: dict[Any, Any]) -> None:
        return None

    async def flush(self) -> None:
        return None


async def refresh_conversations(
    db: Database, handlers: Iterable[ConversationHandler[Any]], update: Update
) -> None:
    """Set the conversations this update may reach to what the drafts table says now.

    With several processes on one database (webhook mode), a conversation may have
    begun, moved on or ended in another process; this process's memory of it (what
    ``get_conversations`` read at its start, and the steps it saw since) may be stale.
    One indexed read of the sender's open drafts before each update makes the
    database, not the process, hold the state (docs/processes.md)."""
    user = update.effective_user
    if user is None:
        return
    found: dict[tuple[str, tuple[int | str, ...]], str] = {}
    for kind, chat_id, step in await drafts.open_of_user(db, user.id):
        found[(kind, conversation_key(kind, chat_id, user.id))] = step
    for handler in handlers:
        name = handler.name
        if name is None:
            continue
        key = _key(handler, update)
        if key is None:  # an update without the chat or user the key needs
            continue
        # python-telegram-bot has no public way to set a conversation's state after its
        # start (persistence is read once); this dict is where it looks the state up.
        known = handler._conversations
        state = found.get((name, key))
        if state is not None:
            known[key] = state
        elif isinstance(known.get(key), str):  # a pending (non-blocking) state is left alone
            del known[key]


def _key(handler: ConversationHandler[Any], update: Update) -> tuple[int, ...] | None:
    """The key python-telegram-bot files this update's conversation under (the flows
    are never per message: handlers/flow.py)."""
    chat, user = update.effective_chat, update.effective_user
    if handler.per_message or (handler.per_chat and chat is None) or user is None:
        return None
    return ((chat.id,) if handler.per_chat and chat is not None else ()) + (user.id,)


def conversation_handlers(groups: Iterable[Iterable[object]]) -> list[ConversationHandler[Any]]:
    """The persistent conversations among the application's handlers."""
    return [
        h for group in groups for h in group if isinstance(h, ConversationHandler) and h.persistent
    ]
