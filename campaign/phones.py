"""Phone numbers: one canonical form (``+8613812345678``) so that a roster number and a
shared contact meet.

The two sources are read differently. The roster is typed by the county: a cadre's
number is a mainland mobile (eleven digits, ``1[3-9]``), often without a country code,
sometimes through a spreadsheet that made it a float. A contact shared in Telegram
carries the account's number in international form without the "+": ``13051234567``
there is a +1 305 number, never the mainland 130 5123 4567.

``phonenumbers`` would know every country's ranges, but only mainland mobiles may bind,
and that is one pattern; the package's size and yearly metadata updates buy nothing here.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-().\u00a0\u3000]")
_WIDE = str.maketrans("０１２３４５６７８９＋", "0123456789+")
# What a number cell becomes in a CSV saved by Excel: 13800000101.0 or 1.3800000101E+10.
_FLOAT = re.compile(r"(?P<int>\d+)\.0+|(?P<lead>\d)\.(?P<rest>\d+)[eE]\+?(?P<exp>\d+)")
_MAINLAND_MOBILE = re.compile(r"\+861[3-9]\d{9}")


def _from_float(text: str) -> str:
    """The digits of a spreadsheet float; 1.38E+10 is left as it is (not a number),
    since Excel's display rounded its other digits away."""
    m = _FLOAT.fullmatch(text)
    if m is None:
        return text
    if m["int"]:
        return m["int"]
    if len(m["rest"]) != int(m["exp"]):
        return text
    return m["lead"] + m["rest"]


def normalise_phone(raw: str) -> str | None:
    """Return the canonical form (``+8613812345678``), or None when it is not a number.

    Mainland numbers come in as ``138 1234 5678``, ``+86-138-1234-5678``, ``8613812345678``
    or ``008613812345678``; a landline with its area code (``0571-88888888``) as
    ``+8657188888888``; other countries keep their own code with a leading ``+``.
    """
    text = str(raw).strip().translate(_WIDE)
    text = _SEPARATORS.sub("", _from_float(text))
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
    if text.startswith("0") and 10 <= len(text) <= 12:  # area code, trunk 0 dropped
        return "+86" + text[1:]
    if 7 <= len(text) <= 15:
        return "+" + text
    return None


def mainland_mobile(raw: str) -> str | None:
    """A roster phone in canonical form, or None unless it is a mainland mobile."""
    phone = normalise_phone(raw)
    return phone if phone is not None and _MAINLAND_MOBILE.fullmatch(phone) else None


def contact_phone(raw: str) -> str | None:
    """A shared contact's number: international digits, read as "+" and the digits."""
    text = _SEPARATORS.sub("", str(raw).strip().translate(_WIDE)).removeprefix("+")
    if not text.isdigit() or not 7 <= len(text) <= 15:
        return None
    return "+" + text


def mask_phone(phone: str) -> str:
    """For logs and lists: keep the country code and the last four digits."""
    if len(phone) <= 4:
        return "*" * len(phone)
    head = phone[:3] if phone.startswith("+") else ""
    return head + "*" * (len(phone) - len(head) - 4) + phone[-4:]
