"""Small things the problem handlers share: answering without re-answering a button,
turning the plain ``reply_markup`` dicts of campaign/problem_cards.py into Telegram
objects, and a renderer in the sender's language."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.warnings import PTBUserWarning

from campaign.problem_cards import Renderer
from handlers.common import Context, Who, deps, require_cadre

# What a conversation callback returns: a step name, ConversationHandler.END (-1), or
# None to stay where it is.
State = str | int | None


@contextmanager
def quiet_per_message() -> Iterator[None]:
    """Our conversations keep buttons per chat and user on purpose (the draft, not the
    message, is the truth); PTB warns about that choice at construction."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*per_message=False.*", category=PTBUserWarning)
        yield


def markup(plain: dict[str, Any] | None) -> InlineKeyboardMarkup | None:
    if not plain:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row]
            for row in plain.get("inline_keyboard", [])
        ]
    )


async def say(update: Update, text: str, **kwargs: Any) -> None:
    """Send to the chat the update came from. Unlike ``common.reply`` it never answers
    the button press: the caller already did (with a toast or an alert)."""
    message = update.effective_message
    if message is not None:
        await message.reply_text(text, **kwargs)
    elif update.effective_chat is not None:
        await update.get_bot().send_message(update.effective_chat.id, text, **kwargs)


def renderer(context: Context, w: Who) -> Renderer:
    d = deps(context)
    return Renderer(d.catalog, w.lang, d.settings.tz)


async def member(update: Update, context: Context) -> Who | None:
    """The joined sender (else they are told how to join). Their language was kept when
    they joined, so cards and notices sent to them later speak it too."""
    return await require_cadre(update, context)
