"""Small things the problem handlers share: sending without re-answering a button, and
a renderer in the sender's language. Keyboards are plain Bot API dicts
(handlers/screen.py), as campaign/problem_cards.py builds them for the outbox."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from telegram import Update
from telegram.warnings import PTBUserWarning

from campaign.problem_cards import Renderer
from handlers import screen
from handlers.common import Context, Who, deps, require_cadre
from handlers.screen import Markup

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


async def say(update: Update, text: str, markup: Markup | None = None) -> None:
    """Send to the chat the update came from. Unlike ``common.reply`` it never answers
    the button press: the caller already did (with a toast or an alert). The problem
    flows talk in private chats only (team chats get cards, through the outbox)."""
    if update.effective_chat is not None:
        await screen.send(update.get_bot(), update.effective_chat.id, text, markup)


def renderer(context: Context, w: Who) -> Renderer:
    d = deps(context)
    return Renderer(d.catalog, w.lang, d.settings.tz)


async def member(update: Update, context: Context) -> Who | None:
    """The joined sender (else they are told how to join). Their language was kept when
    they joined, so cards and notices sent to them later speak it too."""
    return await require_cadre(update, context)
