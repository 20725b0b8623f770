"""What the bot says, as plain values: the seam between the rules and a chat channel.

Services speak of messages (text, buttons, a photo, a document, a voice note, a map pin)
and of who receives them, never of a chat library. The channel's edge turns a ``Message``
into its own form: the Telegram edge into Bot API JSON (``handlers/screen.py``), a second
channel (WeCom) into its cards. A button carries callback data built by ``campaign/callbacks.py``.

The outgoing queue stores messages with ``to_json`` (versioned), so what waits in the
database is in no channel's terms either; each channel's sender reads it back with
``from_json``.
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
    # A channel's own file reference (Telegram: a file_id or URL), or the absolute path
    # of a local file to upload.
    photos: tuple[str, ...] = ()
    document: str | None = None  # a local file path to upload; ``text`` its caption
    ask: Ask | None = None
    ask_label: str = ""
    silent: bool = False  # deliver without a sound (quiet hours)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    voice: str | None = None  # a voice note: a file reference as for ``photos``
    location: tuple[float, float] | None = None  # a map pin: (latitude, longitude)

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
            self.voice,
            self.location,
        )


def grid(buttons: Sequence[Button], width: int = 2) -> tuple[tuple[Button, ...], ...]:
    """Buttons laid out ``width`` to a row."""
    return tuple(tuple(buttons[i : i + width]) for i in range(0, len(buttons), width))


def column(buttons: Iterable[Button]) -> tuple[tuple[Button, ...], ...]:
    return tuple((b,) for b in buttons)


# --- as stored: the outgoing queue keeps messages in this form -------------------------------

# Bumped when the stored form changes; ``from_json`` reads every version it knows, so rows
# queued by an older release still go out after an upgrade.
JSON_VERSION = 1


def to_json(message: Message) -> dict[str, Any]:
    """The message as plain JSON for the outgoing queue, in no channel's terms. Fields at
    their default are left out; ``extra`` is the sender's own and is not stored."""
    out: dict[str, Any] = {"v": JSON_VERSION, "text": message.text}
    if message.buttons:
        out["buttons"] = [[[b.text, b.data] for b in row] for row in message.buttons]
    if message.photos:
        out["photos"] = list(message.photos)
    if message.document is not None:
        out["document"] = message.document
    if message.ask is not None:
        out["ask"] = message.ask.value
        out["ask_label"] = message.ask_label
    if message.silent:
        out["silent"] = True
    if message.voice is not None:
        out["voice"] = message.voice
    if message.location is not None:
        out["location"] = list(message.location)
    return out


def is_json(value: object) -> bool:
    """True for what ``to_json`` wrote (a channel's own JSON never has a ``v``)."""
    return isinstance(value, dict) and isinstance(value.get("v"), int)


def from_json(value: dict[str, Any]) -> Message:
    """The message ``to_json`` stored; ValueError for a version this release cannot read."""
    version = value.get("v")
    if version != JSON_VERSION:
        raise ValueError(f"a stored message of version {version!r}; this release reads 1")
    ask = value.get("ask")
    pin = value.get("location")
    return Message(
        text=str(value.get("text", "")),
        buttons=tuple(
            tuple(Button(str(text), str(data)) for text, data in row)
            for row in value.get("buttons", ())
        ),
        photos=tuple(str(p) for p in value.get("photos", ())),
        document=str(value["document"]) if value.get("document") is not None else None,
        ask=Ask(ask) if ask is not None else None,
        ask_label=str(value.get("ask_label", "")),
        silent=bool(value.get("silent", False)),
        voice=str(value["voice"]) if value.get("voice") is not None else None,
        location=(float(pin[0]), float(pin[1])) if pin is not None else None,
    )
