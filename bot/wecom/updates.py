"""WeCom callbacks as Telegram updates, so every handler of the core serves WeCom as it is.

- text: a message (a leading "/" is a command); digits answering a menu that was offered
  as numbered lines (more than a card's 6 buttons): the press of that button;
- a card's button (``template_card_event``): a callback query whose data is the button's
  key (the callback data it was built from) on the message the card shows; its response
  code is kept, so the answer can update that card once;
- a menu click: the command its key names;
- location, image, voice: a message with a location, a photo or a voice note whose file
  id is the media id (the media itself was fetched as it arrived);
- the first message of a member mapped to a roster phone and not bound yet is preceded
  by the member's own contact, so the core's join binds them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from bot.wecom.bridge import bot_user, chat_dict
from campaign.phones import contact_phone
from storage import wecom
from storage.db import Database

_QUERIES: Iterator[int] = itertools.count(1)

HANDLED = ("text", "image", "voice", "location", "card_press", "menu_click")


def user_dict(internal_id: int, userid: str) -> dict[str, Any]:
    return {"id": internal_id, "is_bot": False, "first_name": userid, "language_code": "zh-hans"}


def _message(
    update_id: int, internal_id: int, userid: str, now: datetime, message_id: int, **fields: Any
) -> dict[str, Any]:
    msg = {
        "message_id": message_id,
        "date": int(now.timestamp()),
        "chat": {"id": internal_id, "type": "private", "first_name": userid},
        "from": user_dict(internal_id, userid),
        **fields,
    }
    return {"update_id": update_id, "message": msg}


def contact_update(
    update_id: int, internal_id: int, userid: str, phone: str, now: datetime
) -> dict[str, Any]:
    """The member's own contact, as Telegram sends it when they share it to join."""
    contact = {
        "phone_number": (contact_phone(phone) or phone).removeprefix("+"),
        "first_name": userid,
        "user_id": internal_id,
    }
    return _message(update_id, internal_id, userid, now, abs(update_id), contact=contact)


def _text_fields(text: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"text": text}
    if text.startswith("/"):
        command = text.split()[0]
        fields["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return fields


def _shown_message(shown: wecom.Shown) -> dict[str, Any]:
    out: dict[str, Any] = {
        "message_id": shown.id,
        "date": int(shown.sent_at.timestamp()),
        "chat": chat_dict(shown.chat_id),
        "from": bot_user(),
        "text": shown.text or "·",
    }
    if shown.markup:
        out["reply_markup"] = shown.markup
    return out


def _query(
    update_id: int, internal_id: int, userid: str, data: str, shown: wecom.Shown
) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            # The presser rides in the id: an answer with text is sent to them.
            "id": f"wq:{userid}:{next(_QUERIES)}",
            "from": user_dict(internal_id, userid),
            "chat_instance": f"wc{shown.chat_id}",
            "data": data,
            "message": _shown_message(shown),
        },
    }


async def numbered_press(
    db: Database, internal_id: int, text: str
) -> tuple[str, wecom.Shown] | None:
    """The button a typed number chooses, when the newest message the member got is a
    menu offered as numbered lines (so a number typed for anything else stays text)."""
    stripped = text.strip()
    if not stripped.isdigit() or len(stripped) > 3:
        return None
    menu = await wecom.last_shown(db, internal_id)
    if menu is None or not menu.numbered or menu.markup is None:
        return None
    choices = [
        b["callback_data"]
        for row in menu.markup.get("inline_keyboard", [])
        for b in row
        if b.get("callback_data")
    ]
    n = int(stripped)
    if not 1 <= n <= len(choices):
        return None
    return str(choices[n - 1]), menu


async def update_of(
    db: Database,
    inbound: dict[str, Any],
    update_id: int,
    internal_id: int,
    now: datetime,
) -> dict[str, Any] | None:
    """The update a callback is to the core; None when it is nothing to handle (a press
    on a card we never sent, a kind the core does not read)."""
    userid = str(inbound["user_id"])
    kind = inbound["kind"]
    mid = abs(update_id)  # unique, increasing: good as the member's message id

    def message(**fields: Any) -> dict[str, Any]:
        return _message(update_id, internal_id, userid, now, mid, **fields)

    if kind == "text":
        text = str(inbound.get("text") or "")
        pressed = await numbered_press(db, internal_id, text)
        if pressed is not None:
            return _query(update_id, internal_id, userid, pressed[0], pressed[1])
        return message(**_text_fields(text))
    if kind == "menu_click":
        key = str(inbound.get("event_key") or "")
        return message(**_text_fields(key)) if key.startswith("/") else None
    if kind == "card_press":
        task = await wecom.task(db, str(inbound.get("task_id") or ""))
        if task is None or task.user_id != userid:
            return None
        code = inbound.get("response_code")
        if code:
            await wecom.set_code(db, task.task_id, str(code), now)
        shown = await wecom.shown(db, task.message_id)
        if shown is None:
            return None
        return _query(update_id, internal_id, userid, str(inbound.get("event_key") or ""), shown)
    if kind == "location":
        where = {"latitude": inbound.get("latitude"), "longitude": inbound.get("longitude")}
        return message(location=where)
    media_id = str(inbound.get("media_id") or "")
    if kind == "image" and media_id:
        photo = {"file_id": media_id, "file_unique_id": media_id, "width": 0, "height": 0}
        return message(photo=[photo])
    if kind == "voice" and media_id:
        return message(voice={"file_id": media_id, "file_unique_id": media_id, "duration": 1})
    return None
