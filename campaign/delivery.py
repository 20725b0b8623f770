"""Rules of the outgoing queue that need neither Telegram nor the database.

- Which Bot API methods the queue sends, and which of them are safe to repeat.
- Back-off after a failure.
- Cards: a message kept up to date by edits. Pending edits of one card collapse into
  the newest state; while the card's creating message is still unsent, they fold into it.
- Digests: when a group would get more messages than its minute allows, the surplus
  text messages are folded into one digest.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from campaign.text import shorten

SEND_MESSAGE = "sendMessage"
EDIT_TEXT = "editMessageText"
EDIT_MARKUP = "editMessageReplyMarkup"
EDIT_CAPTION = "editMessageCaption"

SENDS = frozenset({SEND_MESSAGE, "sendPhoto", "sendDocument", "sendMediaGroup"})
EDITS = frozenset({EDIT_TEXT, EDIT_MARKUP, EDIT_CAPTION})
METHODS = SENDS | EDITS

# Sending an edit twice leaves the message as sending it once did (Telegram answers
# "message is not modified"), so edits may be repeated when their outcome is unknown.
# A send repeated makes a second message: it is never repeated blindly.
IDEMPOTENT = EDITS

# The parameters of sendMessage that an editMessageText replaces.
TEXT_FIELDS = ("text", "parse_mode", "entities", "link_preview_options", "reply_markup")


def is_idempotent(method: str) -> bool:
    return method in IDEMPOTENT


def backoff(attempts: int, base: float, cap: float) -> float:
    """Seconds to wait after the ``attempts``-th failed try: base, 2·base, 4·base … cap."""
    if attempts < 1:
        return 0.0
    return float(min(cap, base * 2 ** min(attempts - 1, 30)))


def should_park(attempts: int, max_attempts: int) -> bool:
    return attempts >= max_attempts


# --- cards -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardItem:
    """One unsent queue item of a card: pending, or a parked creating message."""

    id: int
    method: str
    payload: Mapping[str, Any]
    status: str = "pending"
    urgent: bool = False


@dataclass(frozen=True)
class Rewrite:
    id: int
    method: str
    payload: dict[str, Any]
    urgent: bool


@dataclass(frozen=True)
class CardPlan:
    rewrites: list[Rewrite] = field(default_factory=list)
    superseded: list[int] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.rewrites and not self.superseded


def _apply_edit(state: dict[str, Any], edit: CardItem) -> dict[str, Any]:
    """The message's visible state after ``edit``. Telegram drops the keyboard of a text
    edit that carries none, so a text edit replaces every text field."""
    out = dict(state)
    if edit.method == EDIT_MARKUP:
        out.pop("reply_markup", None)
        if "reply_markup" in edit.payload:
            out["reply_markup"] = edit.payload["reply_markup"]
        return out
    for key in TEXT_FIELDS:
        out.pop(key, None)
        if key in edit.payload:
            out[key] = edit.payload[key]
    return out


def collapse_card(items: Sequence[CardItem]) -> CardPlan:
    """What to do with the unsent items of one card, oldest first.

    The newest creating message wins over older unsent ones; pending edits after it fold
    into it (it is sent once, showing the newest state). Without an unsent creating
    message, the pending edits collapse into the newest one, which then carries the
    merged state. Parked items other than a creating message are left alone."""
    items = sorted(items, key=lambda i: i.id)
    creates = [i for i in items if i.method == SEND_MESSAGE]
    create = creates[-1] if creates else None
    superseded = [i.id for i in creates[:-1] if i.status == "pending"]
    edits = [
        i
        for i in items
        if i.method in (EDIT_TEXT, EDIT_MARKUP)
        and i.status == "pending"
        and (create is None or i.id > create.id)
    ]
    if create is not None:
        superseded += [
            i.id
            for i in items
            if i.method in (EDIT_TEXT, EDIT_MARKUP) and i.status == "pending" and i.id < create.id
        ]
    if not edits:
        return CardPlan([], sorted(superseded))
    urgent = any(i.urgent for i in edits) or (create is not None and create.urgent)
    if create is not None:
        state = dict(create.payload)
        for e in edits:
            state = _apply_edit(state, e)
        return CardPlan(
            [Rewrite(create.id, SEND_MESSAGE, state, urgent)],
            sorted(superseded + [e.id for e in edits]),
        )
    if len(edits) == 1:
        return CardPlan([], sorted(superseded))
    carrier = edits[-1]
    texts = [e for e in edits if e.method == EDIT_TEXT]
    if texts:
        state = dict(texts[-1].payload)
        for e in edits:
            if e.id > texts[-1].id:
                state = _apply_edit(state, e)
        method = EDIT_TEXT
    else:
        state, method = dict(carrier.payload), EDIT_MARKUP
    return CardPlan(
        [Rewrite(carrier.id, method, state, urgent)],
        sorted(superseded + [e.id for e in edits[:-1]]),
    )


def edit_as_create(payload: Mapping[str, Any]) -> dict[str, Any] | None:
    """A text edit of a card that has no message of its own (it was folded into a
    digest) becomes the message that creates the card; a keyboard-only edit cannot."""
    if not payload.get("text"):
        return None
    return {k: payload[k] for k in TEXT_FIELDS if k in payload}


# --- digests ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DueItem:
    id: int
    foldable: bool
    urgent: bool = False


def foldable(method: str, payload: Mapping[str, Any]) -> bool:
    """Plain text messages may be folded into a digest; edits, photos, files may not."""
    return method == SEND_MESSAGE and bool(str(payload.get("text") or "").strip())


def plan_digest(due: Sequence[DueItem], free: int) -> tuple[list[int], list[int]]:
    """(kept, folded) ids for one group that has ``free`` sends left in its minute.

    Nothing is folded while the due items fit, or while no send is free (the digest
    itself needs one). Otherwise the digest takes the last free send: items that cannot
    be folded are kept, urgent ones are kept before others, oldest first, and the rest
    is folded, as long as that is at least two items."""
    ids = [d.id for d in due]
    if len(due) <= free or free < 1:
        return ids, []
    fixed = [d for d in due if not d.foldable]
    candidates = sorted((d for d in due if d.foldable), key=lambda d: (not d.urgent, d.id))
    room = max(0, free - 1 - len(fixed))
    fold = candidates[room:]
    if len(fold) < 2:
        return ids, []
    folded = {d.id for d in fold}
    return [i for i in ids if i not in folded], sorted(folded)


def digest_text(
    header: str, texts: Sequence[str], more: str, *, line_chars: int = 80, max_chars: int = 4000
) -> str:
    """The digest: a header, then one shortened line per folded message. ``more`` is a
    template with ``{count}`` for the lines that did not fit."""
    lines = [header]
    size = len(header)
    for n, text in enumerate(texts):
        line = f"{n + 1}. {shorten(text, line_chars)}"
        tail = more.format(count=len(texts) - n)
        if size + 1 + len(line) + 1 + len(tail) > max_chars:
            lines.append(tail)
            break
        lines.append(line)
        size += 1 + len(line)
    return "\n".join(lines)


_TAG = re.compile(r"<[^>]+>")


def plain_text(payload: Mapping[str, Any]) -> str:
    """A message's text without HTML markup, for a digest line."""
    text = str(payload.get("text") or "")
    if str(payload.get("parse_mode") or "").upper() == "HTML":
        text = html.unescape(_TAG.sub("", text))
    return text
