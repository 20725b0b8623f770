"""Words every message shares: cleaning what a person typed, shortening a text to fit,
and dates in the reader's language.

One home for both, so a preview on a card, a line in a reminder and an echo of what a
person typed are cut the same way, and a date reads the same in every message.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime, tzinfo

# A catalogue lookup bound to one language: ``t(key, **values)``.
Tr = Callable[..., str]

ELLIPSIS = "…"
# Telegram refuses a message text over 4096 characters; answers stay well below it.
MESSAGE_LIMIT = 4096
# The most of what a person typed that an answer repeats back to them.
ECHO_LIMIT = 64


def shorten(text: str, limit: int, *, one_line: bool = True) -> str:
    """At most ``limit`` characters, ending in "…" when cut. ``one_line`` folds every run
    of white space (new lines too) into one space first: right for previews and echoes;
    a whole message keeps its lines with ``one_line=False``."""
    if one_line:
        text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: max(1, limit - 1)].rstrip() + ELLIPSIS


def day_text(t: Tr, day: date) -> str:
    """A day without the year: 11月16日, Nov 16."""
    return t("dates.date", month=t(f"dates.m{day.month}"), day=day.day)


def moment_text(t: Tr, moment: datetime, tz: tzinfo) -> str:
    """A moment in local time without the year: 11月16日 09:30, Nov 16, 09:30."""
    local = moment.astimezone(tz)
    return t(
        "dates.datetime", month=t(f"dates.m{local.month}"), day=local.day, time=f"{local:%H:%M}"
    )


def month_name(t: Tr, month: int) -> str:
    return t(f"dates.m{month}")


def stamp(moment: datetime, tz: tzinfo) -> str:
    """A compact local time for lists and files, the same in every language: 2026-11-16 09:30."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


# Invisible characters with no place in a record: bidirectional embeddings, overrides and
# isolates can make a leader read a text in a different order than it was written;
# zero-width spaces, direction marks and a byte-order mark hide in copied text. The
# zero-width joiner stays: emoji sequences are built with it.
_INVISIBLE = frozenset(
    "\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
)
# Control, surrogate and private-use characters (new lines are kept, tabs become spaces).
_DROPPED_CATEGORIES = frozenset({"Cc", "Cs", "Co"})


def clean_text(raw: str) -> str:
    """Typed text as stored: control and invisible characters removed (new lines kept,
    tabs become spaces), line ends and blank edges trimmed, at most one empty line in a
    row. A length limit is the caller's to check; this never cuts."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    kept = [
        ch
        for ch in text
        if ch == "\n"
        or (unicodedata.category(ch) not in _DROPPED_CATEGORIES and ch not in _INVISIBLE)
    ]
    lines = [line.rstrip() for line in "".join(kept).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
