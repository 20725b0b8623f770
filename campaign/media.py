"""Rules for the evidence kept off the chat platform: where a downloaded file lives, when
a failed download is tried again, and how exported folders are named.

Every path is made from ids and fixed words; a name from the roster (a team, a group, a
cadre) only ever becomes one folder name, cleaned of anything a file system treats
specially.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

OWNERS = ("visit", "problem")
KINDS = ("photo", "voice")
_EXTENSION = {"photo": "jpg", "voice": "ogg"}

PENDING = "pending"
SAVED = "saved"
TOO_BIG = "too_big"
FAILED = "failed"

MAX_NAME = 40  # characters of a roster name kept in a folder name


def relative_path(owner: str, owner_id: int, kind: str, position: int, media_id: int) -> str:
    """The file's place under the media folder: ``visits/12/photo-0-345.jpg``."""
    if owner not in OWNERS or kind not in KINDS:
        raise ValueError(f"no evidence of {owner!r}/{kind!r}")
    if owner_id < 0 or position < 0 or media_id < 0:
        raise ValueError("ids are not negative")
    return f"{owner}s/{owner_id}/{kind}-{position}-{media_id}.{_EXTENSION[kind]}"


def export_name(owner: str, owner_id: int, kind: str, media_id: int) -> str:
    """A file's name in an export (and in the workbook's column): ``visit-12-photo-345.jpg``,
    unique in the whole export; ``index.xlsx`` says which folder holds it."""
    if owner not in OWNERS or kind not in KINDS:
        raise ValueError(f"no evidence of {owner!r}/{kind!r}")
    return f"{owner}-{owner_id}-{kind}-{media_id}.{_EXTENSION[kind]}"


def over_cap(size: int | None, cap_bytes: int) -> bool:
    """Telegram said how big the file is, and it is more than we keep."""
    return size is not None and size > cap_bytes


@dataclass(frozen=True)
class Retry:
    """What a failed download becomes: tried again at ``at``, or given up (``at`` None)."""

    attempts: int
    at: datetime | None

    @property
    def gave_up(self) -> bool:
        return self.at is None


def after_failure(
    attempts_before: int, now: datetime, *, max_attempts: int, retry_seconds: float
) -> Retry:
    """One more failed attempt: wait twice as long each time (at most a day), and give
    up after ``max_attempts``."""
    attempts = attempts_before + 1
    if attempts >= max_attempts:
        return Retry(attempts, None)
    wait = min(retry_seconds * 2 ** (attempts - 1), 86400.0)
    return Retry(attempts, now + timedelta(seconds=wait))


_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def folder_name(ref_id: int | None, name: str | None) -> str:
    """One exported folder's name: ``12-城关镇工作队``. Separators, control characters,
    leading dots and trailing spaces go; an empty or missing name leaves the id alone."""
    clean = unicodedata.normalize("NFC", name or "")
    clean = "".join(ch for ch in clean if unicodedata.category(ch)[0] != "C")
    clean = _UNSAFE.sub("_", clean).strip().lstrip(".").strip()[:MAX_NAME].rstrip(" .")
    head = str(ref_id) if ref_id is not None else "0"
    return f"{head}-{clean}" if clean else head
