"""What the bot says, as plain values: the seam between the rules and a chat channel.

Services speak of messages (text, buttons, a photo, a document) and of who receives them,
never of a chat library. The channel's edge turns a ``Message`` into its own form: the
Telegram edge into Bot API JSON (``handlers/screen.py``), a second channel (WeCom) into
its cards. A button carries callback data built by ``campaign/callbacks.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


@dataclass(frozen=True)
class Button:
    text: str
    data: str  # callback data, from a ``callbacks.Namespace``


class Ask(Enum):
    """A one-tap answer the channel asks of the person, beside the message."""

    CONTACT = "contact"  # share my phone number
    LOCATION = "location"  # share where I am
    NOTHING = "nothing"  # take away an earlier one-tap answer


@dataclass(frozen=True)
class Message:
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    photos: tuple[str, ...] = ()  # file references the channel understands
    document: str | None = None  # a file path to upload
    ask: Ask | None = None
    ask_label: str = ""
    silent: bool = False  # deliver without a sound (quiet hours)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def with_text(self, text: str) -> Message:
        return Message(
            text,
            self.buttons,
            self.photos,
            self.document,
            self.ask,
            self.ask_label,
            self.silent,
            self.extra,
        )


def grid(buttons: Sequence[Button], width: int = 2) -> tuple[tuple[Button, ...], ...]:
    """Buttons laid out ``width`` to a row."""
    return tuple(tuple(buttons[i : i + width]) for i in range(0, len(buttons), width))


def column(buttons: Iterable[Button]) -> tuple[tuple[Button, ...], ...]:
    return tuple((b,) for b in buttons)
