"""Small things the problem handlers share: the conversation state type, PTB's
per-message warning, the joined sender. They answer with ``handlers.common.reply`` and
plain JSON keyboards (handlers/screen.py)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from telegram import Update
from telegram.warnings import PTBUserWarning

from handlers.common import Context, Who, require_cadre

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


async def member(update: Update, context: Context) -> Who | None:
    """The joined sender (else they are told how to join). Their language was kept when
    they joined, so cards and notices sent to them later speak it too."""
    return await require_cadre(update, context)
