"""Plain update dicts, as Telegram sends them, without an ``update_id``.

The same dict feeds the in-process Harness (which numbers it) and the fake HTTP server
(which numbers and queues it), so a case written once runs both ways.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

from tests.fakebot import TgUser, chat_dict

Update = dict[str, Any]


class Updates:
    """Builds updates with fresh message and query ids; ``clock`` gives the unix time."""

    def __init__(self, clock: Callable[[], float] = time.time, first_id: int = 20_000_000) -> None:
        self.clock = clock
        self._message_ids = itertools.count(first_id)
        self._query_ids = itertools.count(1)

    def message(self, user: TgUser | None, chat_id: int | None = None, **fields: Any) -> Update:
        cid = chat_id if chat_id is not None else (user.id if user else 0)
        msg: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(self.clock()),
            "chat": chat_dict(cid),
        }
        if user is not None:
            msg["from"] = user.as_dict()
        msg.update(fields)
        return {"message": msg}

    def text(self, user: TgUser | None, text: str, chat_id: int | None = None) -> Update:
        fields: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0] if text.split() else text
            fields["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self.message(user, chat_id, **fields)

    def contact(
        self,
        user: TgUser,
        phone: str,
        owner_id: int | None = None,
        chat_id: int | None = None,
    ) -> Update:
        contact: dict[str, Any] = {"phone_number": phone, "first_name": user.first_name}
        owner = user.id if owner_id is None else owner_id
        if owner:
            contact["user_id"] = owner
        return self.message(user, chat_id, contact=contact)

    def callback(
        self,
        user: TgUser,
        data: str | None,
        message: dict[str, Any] | None = None,
        chat_id: int | None = None,
    ) -> Update:
        if message is None:
            cid = user.id if chat_id is None else chat_id
            message = {
                "message_id": next(self._message_ids),
                "date": int(self.clock()),
                "chat": chat_dict(cid),
                "text": "old message",
            }
        query: dict[str, Any] = {
            "id": str(next(self._query_ids)),
            "from": user.as_dict(),
            "chat_instance": f"ci{message['chat']['id']}",
            "message": message,
        }
        if data is not None:
            query["data"] = data
        return {"callback_query": query}

    def edited(self, user: TgUser, text: str, chat_id: int | None = None) -> Update:
        inner = self.text(user, text, chat_id)["message"]
        inner["edit_date"] = int(self.clock())
        return {"edited_message": inner}

    def channel_post(self, chat_id: int, text: str) -> Update:
        msg = {
            "message_id": next(self._message_ids),
            "date": int(self.clock()),
            "chat": {"id": chat_id, "type": "channel", "title": "a channel"},
            "text": text,
        }
        if text.startswith("/"):
            msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return {"channel_post": msg}


def with_id(update: Update, update_id: int) -> Update:
    return {**update, "update_id": update_id}
