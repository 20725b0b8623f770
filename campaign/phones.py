"""Phone numbers: one canonical form so that a roster number and a shared contact meet."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-().\u00a0\u3000]")


def normalise_phone(raw: str) -> str | None:
    """Return the canonical form (``+8613812345678``), or None when it is not a number.

    Mainland numbers come in as ``138 1234 5678``, ``+86-138-1234-5678``, ``8613812345678``
    or ``008613812345678``; other countries keep their own code with a leading ``+``.
    """
    text = _SEPARATORS.sub("", str(raw).strip())
    text = text.translate(str.maketrans("０１２３４５６７８９＋", "0123456789+"))
    if text.endswith(".0"):  # a number that passed through a spreadsheet float
        text = text[:-2]
    if text.startswith("00"):
        text = "+" + text[2:]
    if text.startswith("+"):
        digits = text[1:]
        if not digits.isdigit() or not 7 <= len(digits) <= 15:
            return None
        return "+" + digits
    if not text.isdigit():
        return None
    if len(text) == 11 and text.startswith("1"):
        return "+86" + text
    if len(text) == 13 and text.startswith("86"):
        return "+" + text
    if 7 <= len(text) <= 15:
        return "+" + text
    return None


def mask_phone(phone: str) -> str:
    """For logs and lists: keep the country code and the last four digits."""
    if len(phone) <= 4:
        return "*" * len(phone)
    head = phone[:3] if phone.startswith("+") else ""
    return head + "*" * (len(phone) - len(head) - 4) + phone[-4:]
